#include "data/data_error.h"

#include <stdarg.h>
#include <stdlib.h>

#include "core/ns_file.h"

struct ns_loc data_error_loc(struct ns_loc spec_loc, const char *path)
{
    if (spec_loc.file)
        return spec_loc;
    return (struct ns_loc){path, 0, 0, 0};
}

void data_error(struct ns_diag *diag, struct ns_loc spec_loc, const char *path, const char *hint,
                const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ns_diag_vadd(diag, NS_ERR_DATA, data_error_loc(spec_loc, path), hint, fmt, ap);
    va_end(ap);
}

bool data_check_input(struct ns_diag *diag, struct ns_loc spec_loc, const char *path)
{
    int err = ns_file_check_input(path, NULL);
    if (!err)
        return true;
    char *shown = ns_path_printable(path);
    data_error(diag, spec_loc, shown, NULL, "cannot open \"%s\": %s", shown, ns_file_strerror(err));
    free(shown);
    return false;
}
