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

char *ns_path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir);
    return ns_asprintf("%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name);
}
