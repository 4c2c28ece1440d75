/* Files written whole or not at all, and paths.
 *
 *   ns_file_write_atomic(diag, "runs/x/model.nsm", data, len);  // tmp, fsync, rename, dir fsync
 *   char *p = ns_path_join("runs/x", "metrics.csv");             // malloc'd
 *
 * Every file netspec writes goes through ns_file_write_atomic, or ns_file_replace for the files
 * of a training run: a crash or a full disk leaves the previous version (or nothing), never
 * half a file. A failure is an error naming the path and the system's reason.
 */
#ifndef NS_FILE_H
#define NS_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/ns_error.h"

/* Writes len bytes to path through path.tmp, fsync and rename, then fsyncs the folder. */
bool ns_file_write_atomic(struct ns_diag *diag, const char *path, const void *data, size_t len);
bool ns_file_write_text(struct ns_diag *diag, const char *path, const char *text);
/* The writer of a run's outputs (checkpoint, curves): as ns_file_write_atomic, and also
 * the temporary PATH.tmp is created afresh (O_EXCL, O_NOFOLLOW) so that a leftover of a
 * killed run or a link planted there cannot send the bytes outside the run directory; short
 * writes and EINTR are retried; a failed folder fsync is reported (only filesystems that
 * cannot sync a folder are let through). A failure is an NS_ERR_OUTPUT error "cannot write
 * PATH: REASON" whose hint says that PATH keeps its previous version. */
bool ns_file_replace(struct ns_diag *diag, const char *path, const void *data, size_t len);
bool ns_file_replace_text(struct ns_diag *diag, const char *path, const char *text);
/* "DIR/NAME" (malloc'd); no doubled slash. */
char *ns_path_join(const char *dir, const char *name);

#endif
