/* Where a data error goes: at the spec line that named the file when there is one (the user
 * fixes the spec or the file it names), else at the data file itself. The message always
 * names the file, so it reads the same in both places. */
#ifndef DATA_ERROR_H
#define DATA_ERROR_H

#include <stdbool.h>

#include "core/ns_error.h"

/* spec_loc when it has a file, else {path, 0, 0}. */
struct ns_loc data_error_loc(struct ns_loc spec_loc, const char *path);
/* An NS_ERR_DATA diag at data_error_loc(spec_loc, path). */
void data_error(struct ns_diag *diag, struct ns_loc spec_loc, const char *path, const char *hint,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Refuses a data path that is not a regular file (missing, a FIFO, a device, a directory)
 * with a located NS_ERR_DATA error naming it, before any loader opens it for reading. */
bool data_check_input(struct ns_diag *diag, struct ns_loc spec_loc, const char *path);

#endif
