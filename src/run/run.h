/* A training run: a spec turned into a run directory that holds everything it did.
 *
 *   struct run r;
 *   if (!run_open(ctx, &(struct run_options){.spec_path = "specs/x.yaml"}, &r)) ...  // diag
 *   enum loop_status s = run_train(ctx, &r, &hooks);   // metrics.csv, curves.svg each epoch
 *   if (s == LOOP_FINISHED) run_finish(ctx, &r, &test); // test set, summary.json, manifest
 *   else run_stop(ctx, &r, s);                         // manifest: interrupted, failed, ...
 *   run_close(&r);
 *
 * run_open does every check before it writes anything: the spec, the model and its memory
 * estimate (model_prepare), the run name and the directory. A fresh run refuses a directory
 * that holds another run, or files that are not a netspec run's; a resumed one refuses a
 * directory whose spec, model description, checkpoint or data differ from this spec's. The run
 * writes only inside its directory, every file whole (core/ns_file.h), and model.nsm records
 * the SHA-256 of spec.resolved.yaml and model.yaml so that no command pairs it with others.
 * The struct and everything it points to belongs to the run; spec and graph to ctx's arena.
 */
#ifndef RUN_H
#define RUN_H

#include <stdbool.h>
#include <stddef.h>

#include "model/model.h"
#include "run/run_dir.h"
#include "train/loop.h"
#include "train/trainset.h"

struct run_options {
    const char *spec_path;
    const char *const *sets;  /* --set overrides */
    size_t set_count;
    const char *out_dir;      /* -o; NULL = runs/NAME (then runs/NAME-2, ...) */
    bool resume;              /* continue the run in out_dir */
    int threads;              /* 0 = runtime.threads, else all cores */
    int argc;                 /* the command line, for the manifest */
    const char *const *argv;
};

struct run {
    struct spec *spec;
    struct graph *g;
    struct model_info info;
    char *dir;
    char *model_path;   /* DIR/model.nsm */
    char *resolved;     /* the text of spec.resolved.yaml */
    bool resumed;
    struct trainset data;
    struct train_state st;
    struct run_dir_file *files;
    size_t file_count;
    struct run_dir_manifest manifest;
    const char **argv;
    double started;     /* loop_now() when training began */
    void *ui_user;      /* the caller's epoch hook, called after the run has written its files */
    void (*ui_epoch)(void *user, const struct loop_epoch_info *info);
    bool write_failed;
};

bool run_open(struct ns_ctx *ctx, const struct run_options *opts, struct run *r);
/* Trains from where the state is; hooks->epoch is called after metrics.csv and curves.svg. */
enum loop_status run_train(struct ns_ctx *ctx, struct run *r, const struct loop_hooks *hooks);
/* The test set's figures (when there is one: *has_test), summary.json, manifest "complete". */
bool run_finish(struct ns_ctx *ctx, struct run *r, struct loop_eval *test, bool *has_test);
/* Whether the manifest says "complete": false for a run killed after its last checkpoint but
 * before run_finish wrote its summary and manifest (run_train then trains nothing, and
 * run_finish writes them). */
bool run_is_complete(const struct run *r);
/* The manifest after a run that did not finish: status "interrupted", "paused", "diverged" or
 * "failed". */
bool run_stop(struct ns_ctx *ctx, struct run *r, const char *status);
void run_close(struct run *r);

#endif
