/* Files written whole or not at all, and paths.
 *
 *   ns_file_write_atomic(diag, "runs/x/model.nsm", data, len);  // tmp, fsync, rename, dir fsync
 *   char *p = ns_path_join("runs/x", "metrics.csv");             // malloc'd
 *
 * Every file netspec writes goes through ns_file_write_atomic, or ns_file_replace for the files
 * of a training run: a crash or a full disk leaves the previous version (or nothing), never
 * half a file. A failure is an NS_ERR_OUTPUT error naming the path and the system's reason.
 */
#ifndef NS_FILE_H
#define NS_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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
/* Inputs: every file netspec reads where a file is expected (a spec, an extends target,
 * model.nsm and the other run files, data files, images) must be a regular file (symlinks
 * followed). A FIFO, device, socket or directory is refused before it is opened for reading,
 * so a FIFO without a writer cannot hang netspec and /dev/zero is never read for ever. The
 * functions report failures as an int: an errno value (EFBIG: larger than the limit), or one
 * of these for what stands at the path instead of a file. */
enum {
    NS_FILE_ERR_DIR = -1,
    NS_FILE_ERR_FIFO = -2,
    NS_FILE_ERR_DEVICE = -3,
    NS_FILE_ERR_SOCKET = -4,
};
/* The reason as text: strerror's, or "not a regular file (a FIFO)". Not for worker threads
 * (strerror): they keep the int and the main thread formats it. */
const char *ns_file_strerror(int err);
/* 0 when path names a regular file (its size in *size when not NULL), else the reason. */
int ns_file_check_input(const char *path, uint64_t *size);
/* Opens a regular file for reading without blocking on anything else: a descriptor, or -1
 * with the reason in *err. ns_file_fopen_input is the same as a stdio stream. */
int ns_file_open_input(const char *path, uint64_t *size, int *err);
FILE *ns_file_fopen_input(const char *path, uint64_t *size, int *err);
/* The whole regular file, NUL-terminated (malloc'd), `*len` its size when not NULL; at most
 * `max` bytes (0 = no limit), else NULL with EFBIG before anything is read. */
char *ns_file_read_input(const char *path, size_t max, size_t *len, int *err);

/* A path as it may be shown in a message: bytes that are not printable UTF-8 (control
 * characters, invalid sequences) become \xNN, a backslash \\; malloc'd. */
char *ns_path_printable(const char *path);
/* True when the bytes are valid UTF-8 with no control characters (nor U+FFFE, U+FFFF): a
 * name that may enter a run directory's YAML and JSON files and the emitted C. */
bool ns_text_is_clean_utf8(const char *text);

/* "DIR/NAME" (malloc'd); no doubled slash. */
char *ns_path_join(const char *dir, const char *name);

#endif
