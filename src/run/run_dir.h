/* The run directory: what a training run leaves for people and for `eval`, `predict`, `emit`.
 *
 *   RUN/spec.resolved.yaml   the spec with every default, data paths absolute (eval reloads it)
 *   RUN/manifest.json        version, spec hashes, seed, overrides, threads, data files with
 *                            size and SHA-256, start/end time, status, command line
 *   RUN/metrics.csv          one row per epoch (header row first)
 *   RUN/curves.svg           loss and accuracy (or RMSE) per epoch, train and validation
 *   RUN/model.nsm            the checkpoint (checkpoint.h)
 *   RUN/summary.json         the final figures, test set included; eval_SPLIT.json from eval
 *
 *   struct run_dir_file *files; size_t n;
 *   run_dir_hash_files(diag, &list, &files, &n);
 *   run_dir_write_manifest(diag, run, &manifest);
 *
 * Every file is written whole through a temporary file and a rename, so a crash never leaves
 * half a file. Strings go through run_dir_json_put_string (JSON escapes).
 */
#ifndef RUN_DIR_H
#define RUN_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ns_ctx.h"
#include "core/ns_error.h"
#include "train/train_state.h"
#include "train/trainset.h"

struct ns_buf;

struct run_dir_file {
    char *path;
    uint64_t bytes;
    char sha256[65];
};

struct run_dir_manifest {
    const char *version;
    const char *name;
    const char *spec_path;
    char spec_sha256[65];     /* of the spec file as given */
    char resolved_sha256[65]; /* of spec.resolved.yaml */
    long long seed;
    const char *const *overrides;
    size_t override_count;
    int threads;
    size_t parameters;        /* trainable */
    size_t train_count, validation_count, test_count;
    const struct run_dir_file *files;
    size_t file_count;
    char start_time[32];      /* ISO 8601 UTC */
    char end_time[32];        /* "" while running */
    const char *status;       /* running, complete, interrupted, diverged, failed */
    int argc;
    const char *const *argv;
    bool resumed;
    int resumed_epoch, resumed_batch; /* 1-based epoch, batches done in it */
};

/* mkdir -p. */
bool run_dir_make(struct ns_diag *diag, const char *dir);
/* The current time as 2024-05-01T12:34:56Z. */
void run_dir_now_iso(char out[32]);

/* Size and SHA-256 of every file (an error names a file that cannot be read: NS_ERR_DATA). */
bool run_dir_hash_files(struct ns_diag *diag, const struct trainset_files *list, struct run_dir_file **out,
                       size_t *count);
void run_dir_files_free(struct run_dir_file *files, size_t count);
bool run_dir_write_manifest(struct ns_diag *diag, const char *dir, const struct run_dir_manifest *m);
/* The data files recorded in DIR/manifest.json. */
bool run_dir_read_manifest_files(struct ns_ctx *ctx, const char *dir, struct run_dir_file **out, size_t *count);
/* Compares the recorded files with the current ones; false when they differ, with one line
 * per difference appended to `why`. */
bool run_dir_compare_files(const struct run_dir_file *recorded, size_t recorded_count,
                          const struct run_dir_file *now, size_t now_count, struct ns_buf *why);

/* metrics.csv: creates it with its header, or keeps the header and the first `keep_rows` rows
 * (a resumed run rewrites the epochs after its checkpoint). */
bool run_dir_metrics_begin(struct ns_diag *diag, const char *dir, bool regression, size_t keep_rows);
bool run_dir_metrics_append(struct ns_diag *diag, const char *dir, int epoch, const struct train_epoch *e,
                           double seconds, double images_per_s);
/* curves.svg from the history. */
bool run_dir_write_curves(struct ns_diag *diag, const char *dir, const char *title,
                         const struct train_epoch *history, size_t count, bool regression);

/* JSON helpers: a quoted, escaped string; a number (null for NaN or infinity). */
void run_dir_json_put_string(struct ns_buf *out, const char *s);
void run_dir_json_put_number(struct ns_buf *out, double v);

#endif
