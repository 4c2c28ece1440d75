/* Everything a training run must carry across an interruption: weights, optimizer state, the
 * position (epoch, batch), the current epoch's running sums, the per-epoch history and the
 * early-stopping state. checkpoint.c writes and reads exactly this; nothing in it depends on
 * time or threads, so an interrupted and resumed run ends with the same bytes.
 *
 *   struct train_state st;
 *   train_state_init(&st, spec, g);     // fresh: parameters from the seed, zero optimizer state
 *   ... loop_run(ctx, &cfg, &st, &hooks) ...
 *   train_state_free(&st);
 */
#ifndef TRAIN_STATE_H
#define TRAIN_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "graph/graph.h"
#include "spec/spec.h"
#include "train/optim.h"

/* One finished epoch. metric = accuracy in [0, 1] for classification, RMSE for regression;
 * val_* are NaN without a validation set. lr is the rate of the epoch's last step. */
struct train_epoch {
    double train_loss, train_metric;
    double val_loss, val_metric;
    double lr;
};

struct train_state {
    uint64_t seed;
    size_t param_floats;
    float *params;             /* (param_floats) owned */
    struct optim opt;
    int epoch;                 /* the epoch in progress, 0-based; = epochs when finished */
    int batch;                 /* batches of `epoch` already done */
    double epoch_loss;         /* sum of the per-sample losses of those batches */
    uint64_t epoch_correct;    /* samples predicted right in them */
    uint64_t epoch_seen;       /* samples in them */
    size_t history_count;
    struct train_epoch *history; /* (history_count) owned */
    double es_best;            /* best value of the early-stopping metric so far */
    int es_best_epoch;         /* 0-based; -1 = none yet */
    int es_bad_epochs;         /* epochs since the best */
    bool finished;
    bool stopped_early;
    /* The run files this state belongs to: SHA-256 (hex) of the run's spec.resolved.yaml and
     * model.yaml. model.nsm records them; loading a run and --resume verify them. */
    char spec_sha256[65];
    char model_sha256[65];
};

/* A fresh run: parameters from the seed (init.h), zero optimizer state, position 0. */
void train_state_init(struct train_state *st, const struct spec *spec, const struct graph *g);
/* An empty state with the optimizer set up for g but nothing initialised (checkpoint_read fills it). */
void train_state_blank(struct train_state *st, const struct spec *spec, const struct graph *g);
void train_state_free(struct train_state *st);
void train_state_push_epoch(struct train_state *st, const struct train_epoch *e);

#endif
