/* The training loop: epochs of shuffled batches, validation, early stopping, checkpoints.
 *
 *   struct loop_config cfg = {.spec = spec, .g = g, .data = &ts, .checkpoint_path = "runs/x/model.nsm"};
 *   struct loop_hooks hooks = {.user = me, .batch = on_batch, .epoch = on_epoch};
 *   enum loop_status s = loop_run(ctx, &cfg, &st, &hooks);   // st: fresh or from checkpoint_read
 *
 * Epoch e visits the training set in the order data_split_permutation(key(seed, "shuffle", e));
 * dropout draws from key(seed, "dropout", e) and augmentation from key(seed, "augment", e), each
 * per sample id. So the run is a pure function of (spec, data, seed) and a checkpoint taken
 * between any two batches resumes to the same bytes. Between batches the loop polls
 * ctx->stop_requested; when set it writes a checkpoint at the current batch and returns
 * LOOP_INTERRUPTED. A non-finite batch loss is an NS_ERR_DIVERGED error naming the epoch and
 * batch (LOOP_FAILED); the last checkpoint is left alone.
 * Checkpoints go to checkpoint_path every train.checkpoint_every epochs, on interrupt and at
 * the end. The hooks see progress (batch) and each finished epoch (before its checkpoint); an
 * error the epoch hook adds to ctx->diag (its files could not be written) ends the run with
 * LOOP_FAILED before that epoch's checkpoint.
 * With early stopping, every epoch that improves the watched metric is also written to
 * best.nsm beside checkpoint_path, before model.nsm, and with restore_best the run's last
 * checkpoint (finished) holds the best epoch's weights: from memory, or from best.nsm when
 * that epoch was trained before a resume.
 */
#ifndef LOOP_H
#define LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ns_ctx.h"
#include "graph/graph.h"
#include "runtime/exec.h"
#include "spec/spec.h"
#include "train/loss.h"
#include "train/train_state.h"
#include "train/trainset.h"

struct loop_config {
    const struct spec *spec;
    const struct graph *g;
    const struct trainset *data;
    const char *checkpoint_path; /* NULL: no checkpoints */
};

struct loop_batch_info {
    int epoch, epochs;   /* 0-based epoch */
    int batch, batches;  /* batches done in this epoch, of batches */
    double loss;         /* mean loss of the epoch so far */
    double seconds;      /* since this epoch (or its resumed part) started */
    size_t samples;      /* trained in that time */
};

struct loop_epoch_info {
    int epoch, epochs;   /* the finished epoch, 0-based */
    const struct train_epoch *stats;
    bool has_validation, regression;
    double seconds;      /* wall time of the epoch (this session's part), with validation */
    double images_per_s; /* training samples per second */
    bool stopping_early; /* early stopping ends the run after this epoch */
    int restored_epoch;  /* the run ends with this epoch's weights (restore_best), 0-based; -1: the last's */
};

struct loop_hooks {
    void *user;
    void (*batch)(void *user, const struct loop_batch_info *info);
    void (*epoch)(void *user, const struct loop_epoch_info *info);
};

enum loop_status { LOOP_FINISHED, LOOP_INTERRUPTED, LOOP_FAILED };

enum loop_status loop_run(struct ns_ctx *ctx, const struct loop_config *cfg, struct train_state *st,
                          const struct loop_hooks *hooks);

/* Metrics of a model on a data set (inference mode), on ts->threads threads (the context's,
 * recorded by trainset_load): ex is set to that count. */
struct loop_eval {
    size_t count;
    double loss;        /* mean per-sample loss */
    double accuracy;    /* classification */
    double mse, rmse;   /* regression */
    int class_count;
    uint64_t *confusion; /* (class_count, class_count) [true][predicted], owned; NULL for regression */
};
void loop_evaluate(const struct graph *g, struct exec *ex, float *params, const struct trainset *ts,
                   const struct dataset *ds, const struct loss_config *lc, struct loop_eval *out);
void loop_eval_free(struct loop_eval *e);
/* Monotonic seconds, for progress and throughput (never stored in a checkpoint). */
double loop_now(void);

#endif
