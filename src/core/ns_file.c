/* The one way netspec writes a file: whole or not at all. */
#include "core/ns_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ns_util.h"

static void fsync_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? ns_xstrndup(path, (size_t)(slash - path)) : ns_xstrdup(".");
    if (!*dir) {
        free(dir);
        dir = ns_xstrdup("/");
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd); /* best effort: the rename is already done */
        close(fd);
    }
    free(dir);
}

bool ns_file_write_atomic(struct ns_diag *diag, const char *path, const void *data, size_t len)
{
    char *tmp = ns_asprintf("%s.tmp", path);
    struct ns_loc loc = {path, 0, 0, 0};
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        ns_diag_add(diag, NS_ERR_OUTPUT, loc, NULL, "cannot write %s: %s", tmp, strerror(errno));
        free(tmp);
        return false;
    }
    bool ok = fwrite(data, 1, len, f) == len;
    ok = fflush(f) == 0 && ok;
    ok = fsync(fileno(f)) == 0 && ok;
    int err = errno;
    ok = fclose(f) == 0 && ok;
    if (!ok) {
        ns_diag_add(diag, NS_ERR_OUTPUT, loc, NULL, "cannot write %s: %s", tmp, strerror(err ? err : errno));
        unlink(tmp);
        free(tmp);
        return false;
    }
    if (rename(tmp, path) != 0) {
        ns_diag_add(diag, NS_ERR_OUTPUT, loc, NULL, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return false;
    }
    free(tmp);
    fsync_parent(path);
    return true;
}

bool ns_file_write_text(struct ns_diag *diag, const char *path, const char *text)
{
    return ns_file_write_atomic(diag, path, text, strlen(text));
}

const char *ns_file_strerror(int err)
{
    switch (err) {
    case NS_FILE_ERR_DIR: return "not a regular file (a directory)";
    case NS_FILE_ERR_FIFO: return "not a regular file (a FIFO)";
    case NS_FILE_ERR_DEVICE: return "not a regular file (a device)";
    case NS_FILE_ERR_SOCKET: return "not a regular file (a socket)";
    default: return strerror(err > 0 ? err : EIO);
    }
}

static int input_kind(const struct stat *sb)
{
    if (S_ISREG(sb->st_mode))
        return 0;
    if (S_ISDIR(sb->st_mode))
        return NS_FILE_ERR_DIR;
    if (S_ISFIFO(sb->st_mode))
        return NS_FILE_ERR_FIFO;
    if (S_ISSOCK(sb->st_mode))
        return NS_FILE_ERR_SOCKET;
    return NS_FILE_ERR_DEVICE;
}

int ns_file_check_input(const char *path, uint64_t *size)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return errno ? errno : EIO;
    int kind = input_kind(&sb);
    if (!kind && size)
        *size = (uint64_t)sb.st_size;
    return kind;
}

int ns_file_open_input(const char *path, uint64_t *size, int *err)
{
    /* stat first so a device is never opened (opening some has effects); O_NONBLOCK so that
     * a FIFO swapped in after the stat still cannot block the open; fstat settles it. */
    int kind = ns_file_check_input(path, NULL);
    if (kind) {
        *err = kind;
        return -1;
    }
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        *err = errno ? errno : EIO;
        return -1;
    }
    struct stat sb;
    kind = fstat(fd, &sb) != 0 ? (errno ? errno : EIO) : input_kind(&sb);
    int flags = kind ? 0 : fcntl(fd, F_GETFL);
    if (!kind && (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0))
        kind = errno ? errno : EIO;
    if (kind) {
        close(fd);
        *err = kind;
        return -1;
    }
    if (size)
        *size = (uint64_t)sb.st_size;
    return fd;
}

FILE *ns_file_fopen_input(const char *path, uint64_t *size, int *err)
{
    int fd = ns_file_open_input(path, size, err);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        *err = errno ? errno : ENOMEM;
        close(fd);
    }
    return f;
}

char *ns_file_read_input(const char *path, size_t max, size_t *len, int *err)
{
    int dummy;
    err = err ? err : &dummy;
    uint64_t size = 0;
    int fd = ns_file_open_input(path, &size, err);
    if (fd < 0)
        return NULL;
    if (max && size > max) {
        close(fd);
        *err = EFBIG;
        return NULL;
    }
    /* The size is a hint (a file may grow, /proc reports 0): read to the end, within max. */
    size_t cap = (size_t)size + 1, n = 0;
    char *data = ns_xmalloc(cap + 1);
    for (;;) {
        if (n == cap) {
            if (max && n > max)
                break;
            cap *= 2;
            data = ns_xrealloc(data, cap + 1);
        }
        ssize_t got = read(fd, data + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            *err = errno ? errno : EIO;
            close(fd);
            free(data);
            return NULL;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    close(fd);
    if (max && n > max) {
        *err = EFBIG;
        free(data);
        return NULL;
    }
    data[n] = '\0';
    if (len)
        *len = n;
    return data;
}

/* Length of the UTF-8 sequence at p (1..4), or 0 when it is not valid UTF-8 (overlong forms,
 * surrogates and code points above U+10FFFF included). *cp gets the code point. */
static size_t utf8_sequence(const unsigned char *p, uint32_t *cp)
{
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    size_t n = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 && p[0] < 0xe0 ? 2 : 0;
    if (n == 0 || (n == 3 && p[0] > 0xef))
        return 0;
    uint32_t v = p[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (p[i] & 0x3f);
    }
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < min[n] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

/* Control characters, and the noncharacters U+FFFE and U+FFFF, which YAML cannot hold
 * either (libyaml: "control characters are not allowed"; found by tests/fuzz/fuzz_csv). */
static bool is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0xfffe || cp == 0xffff;
}

bool ns_text_is_clean_utf8(const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    while (*p) {
        uint32_t cp;
        size_t n = utf8_sequence(p, &cp);
        if (n == 0 || is_control(cp))
            return false;
        p += n;
    }
    return true;
}

char *ns_path_printable(const char *path)
{
    struct ns_buf b = {0};
    ns_buf_puts(&b, "");
    const unsigned char *p = (const unsigned char *)path;
    while (*p) {
        uint32_t cp;
        size_t n = utf8_sequence(p, &cp);
        if (n == 0 || is_control(cp)) {
            /* A C1 control is two bytes; each is shown, so the text reads back to the bytes. */
            size_t bad = n ? n : 1;
            for (size_t i = 0; i < bad; i++)
                ns_buf_printf(&b, "\\x%02x", p[i]);
            p += bad;
        } else if (*p == '\\') {
            ns_buf_puts(&b, "\\\\");
            p++;
        } else {
            ns_buf_append(&b, (const char *)p, n);
            p += n;
        }
    }
    return b.data;
}

/* ---- ns_file_replace: the run outputs' writer ---- */

static void replace_failed(struct ns_diag *diag, const char *path, const char *stale_tmp, int err, bool replaced)
{
    if (stale_tmp)
        ns_diag_add(diag, NS_ERR_OUTPUT, (struct ns_loc){path, 0, 0, 0}, NULL,
                    "cannot write %s: the %s an earlier run left cannot be removed: %s", path, stale_tmp,
                    strerror(err));
    else
        ns_diag_add(diag, NS_ERR_OUTPUT, (struct ns_loc){path, 0, 0, 0}, NULL, "cannot write %s: %s", path,
                    strerror(err));
    if (replaced)
        ns_diag_hint(diag, "%s holds the new version, but its folder could not be synced: after a power loss "
                     "it may hold the previous one", path);
    else
        ns_diag_hint(diag, "%s keeps its previous version, if it had one; free space or fix permissions, then "
                     "run again", path);
}

static bool write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len > ((size_t)1 << 30) ? (size_t)1 << 30 : len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO; /* a regular file never takes 0 bytes; do not spin on it */
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* Makes the rename durable. A folder that cannot be opened, or a filesystem that cannot sync
 * folders (EINVAL), leaves nothing to do; any other failure means the rename may not survive
 * a power loss, and the caller says so. */
static bool sync_folder_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? ns_xstrndup(path, (size_t)(slash - path)) : ns_xstrdup(".");
    int fd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0)
        return true;
    int rc;
    while ((rc = fsync(fd)) != 0 && errno == EINTR)
        ;
    int err = errno;
    close(fd);
    errno = err;
    return rc == 0 || err == EINVAL;
}

bool ns_file_replace(struct ns_diag *diag, const char *path, const void *data, size_t len)
{
    char *tmp = ns_asprintf("%s.tmp", path);
    /* A killed run leaves PATH.tmp behind; removing it (a link is removed, not followed) and
     * creating it with O_EXCL writes into a new file of our own, inside the run's folder. */
    bool ok = unlink(tmp) == 0 || errno == ENOENT;
    if (!ok) {
        replace_failed(diag, path, tmp, errno, false);
        free(tmp);
        return false;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    ok = fd >= 0 && write_all(fd, data, len);
    while (ok && fsync(fd) != 0)
        ok = errno == EINTR;
    int err = errno;
    /* close reports the write errors some filesystems (NFS) defer to it. */
    if (fd >= 0 && close(fd) != 0 && ok) {
        ok = false;
        err = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        err = errno;
    }
    if (!ok) {
        if (fd >= 0)
            unlink(tmp);
        free(tmp);
        replace_failed(diag, path, NULL, err, false);
        return false;
    }
    free(tmp);
    if (!sync_folder_of(path)) {
        replace_failed(diag, path, NULL, errno, true);
        return false;
    }
    return true;
}

bool ns_file_replace_text(struct ns_diag *diag, const char *path, const char *text)
{
    return ns_file_replace(diag, path, text, strlen(text));
}

char *ns_path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir);
    return ns_asprintf("%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name);
}
