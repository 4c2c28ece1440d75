/* The one way netspec writes a file: whole or not at all. */
#include "core/ns_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
        ns_diag_add(diag, NS_ERR_DATA, loc, NULL, "cannot write %s: %s", tmp, strerror(errno));
        free(tmp);
        return false;
    }
    bool ok = fwrite(data, 1, len, f) == len;
    ok = fflush(f) == 0 && ok;
    ok = fsync(fileno(f)) == 0 && ok;
    int err = errno;
    ok = fclose(f) == 0 && ok;
    if (!ok) {
        ns_diag_add(diag, NS_ERR_DATA, loc, NULL, "cannot write %s: %s", tmp, strerror(err ? err : errno));
        unlink(tmp);
        free(tmp);
        return false;
    }
    if (rename(tmp, path) != 0) {
        ns_diag_add(diag, NS_ERR_DATA, loc, NULL, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
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
