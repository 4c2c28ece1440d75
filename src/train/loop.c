#include "train/loop.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/ns_file.h"
#include "core/ns_util.h"
#include "data/data_split.h"
#include "runtime/thread_tuner.h"
#include "train/checkpoint.h"
#include "train/init.h"
#include "train/sched.h"

double loop_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static bool stop_requested(const struct ns_ctx *ctx)
{
    return ctx->stop_requested && *ctx->stop_requested;
}

void loop_eval_free(struct loop_eval *e)
{
    free(e->confusion);
    memset(e, 0, sizeof *e);
}

void loop_evaluate(const struct graph *g, struct exec *ex, float *params, const struct trainset *ts,
                   const struct dataset *ds, const struct loss_config *lc, struct loop_eval *out)
{
    memset(out, 0, sizeof *out);
    /* The trainset holds the context's thread count; an executor its caller made without one
     * (exec_new alone) still runs on it. */
    exec_set_threads(ex, ts->threads);
    exec_set_isa(ex, ts->isa);
    int k = (int)g->nodes[g->output_node].out_size;
    int cap = exec_max_batch(ex);
    out->count = ds->count;
    out->class_count = lc->regression ? 0 : ts->class_count;
    if (!lc->regression && out->class_count > 0)
        out->confusion = ns_xcalloc((size_t)out->class_count * (size_t)out->class_count,
                                    sizeof *out->confusion);
    float *x = ns_xmalloc((size_t)cap * g->input_size * sizeof *x + 1);
    int32_t *labels = ns_xmalloc((size_t)cap * sizeof *labels);
    float *targets = ns_xmalloc((size_t)cap * sizeof *targets);
    uint32_t *ids = ns_xmalloc((size_t)cap * sizeof *ids);
    size_t *index = ns_xmalloc((size_t)cap * sizeof *index);
    double loss = 0, sq = 0;
    size_t correct = 0;
    for (size_t start = 0; start < ds->count; start += (size_t)cap) {
        size_t m = ds->count - start < (size_t)cap ? ds->count - start : (size_t)cap;
        for (size_t i = 0; i < m; i++)
            index[i] = start + i;
        trainset_gather(ts, ds, index, m, false, 0, x, labels, targets, ids);
        struct exec_run run = {.training = false, .rng_key = 0, .sample_ids = ids};
        const float *y = exec_forward(ex, params, x, (int)m, &run);
        /* Samples are summed one by one in index order, whatever the batch split. */
        for (size_t i = 0; i < m; i++) {
            const float *row = y + i * (size_t)k;
            loss += loss_sample(lc, k, row, labels[i], targets[i], 0.0f, NULL);
            if (lc->regression) {
                for (int j = 0; j < k; j++) {
                    double e = (double)row[j] - (double)targets[i];
                    sq += e * e / k;
                }
                continue;
            }
            int pred = loss_predict(lc, k, row);
            correct += pred == labels[i];
            if (out->confusion && labels[i] >= 0 && labels[i] < out->class_count && pred >= 0
                && pred < out->class_count)
                out->confusion[(size_t)labels[i] * (size_t)out->class_count + (size_t)pred]++;
        }
    }
    double n = (double)ds->count;
    out->loss = ds->count ? loss / n : NAN;
    out->accuracy = ds->count && !lc->regression ? (double)correct / n : NAN;
    out->mse = ds->count && lc->regression ? sq / n : NAN;
    out->rmse = sqrt(out->mse);
    free(x);
    free(labels);
    free(targets);
    free(ids);
    free(index);
}

/* Updates the early-stopping state with this epoch's validation; true when the run stops.
 * *improved: this epoch is the new best. */
static bool early_stop_update(const struct spec_early_stopping *es, struct train_state *st, int epoch,
                              const struct train_epoch *e, bool *improved_out)
{
    *improved_out = false;
    if (es->patience <= 0 || isnan(e->val_loss))
        return false;
    bool higher_better = es->metric == METRIC_VAL_ACCURACY;
    double value = higher_better ? e->val_metric : e->val_loss;
    bool improved = st->es_best_epoch < 0
                    || (higher_better ? value > st->es_best + es->min_delta : value < st->es_best - es->min_delta);
    *improved_out = improved;
    if (improved) {
        st->es_best = value;
        st->es_best_epoch = epoch;
        st->es_bad_epochs = 0;
        return false;
    }
    st->es_bad_epochs++;
    return st->es_bad_epochs >= es->patience;
}

struct loop_buffers {
    struct exec *ex;
    float *x, *d_out, *grads;
    int32_t *labels;
    float *targets;
    uint32_t *ids;
    size_t *perm;
};

static void buffers_free(struct loop_buffers *b)
{
    exec_free(b->ex);
    free(b->x);
    free(b->d_out);
    free(b->grads);
    free(b->labels);
    free(b->targets);
    free(b->ids);
    free(b->perm);
}

static bool save(struct ns_ctx *ctx, const struct loop_config *cfg, const struct train_state *st)
{
    if (!cfg->checkpoint_path)
        return true;
    return checkpoint_write(&ctx->diag, cfg->checkpoint_path, cfg->g, st);
}

/* The best epoch's weights while early stopping watches: in memory from the moment this
 * session trains the best epoch; an epoch that was best before a resume is in best.nsm, the
 * checkpoint written beside model.nsm at the end of every epoch that improved. */
struct best_weights {
    float *params; /* (param_floats); NULL: early stopping is off */
    int epoch;     /* the epoch params holds, 0-based; -1: none yet in this session */
    char *path;    /* best.nsm; NULL without checkpoints */
};

static void best_init(struct best_weights *bw, const struct loop_config *cfg, size_t param_floats)
{
    memset(bw, 0, sizeof *bw);
    bw->epoch = -1;
    if (cfg->spec->train.early_stopping.patience <= 0)
        return;
    bw->params = ns_xmalloc((param_floats ? param_floats : 1) * sizeof *bw->params);
    if (cfg->checkpoint_path) {
        const char *slash = strrchr(cfg->checkpoint_path, '/');
        char *dir = slash ? ns_xstrndup(cfg->checkpoint_path, (size_t)(slash - cfg->checkpoint_path)) : ns_xstrdup(".");
        bw->path = ns_path_join(dir, "best.nsm");
        free(dir);
    }
}

static void best_free(struct best_weights *bw)
{
    free(bw->params);
    free(bw->path);
}

/* The epoch that just ended is the best so far: keep its weights, and its checkpoint when the
 * run has a directory, so a resumed run can still end with them. */
static bool best_keep(struct ns_ctx *ctx, const struct loop_config *cfg, struct best_weights *bw,
                      const struct train_state *st, int epoch)
{
    memcpy(bw->params, st->params, st->param_floats * sizeof *st->params);
    bw->epoch = epoch;
    return !bw->path || checkpoint_write(&ctx->diag, bw->path, cfg->g, st);
}

/* A resumed run whose best epoch was trained in an earlier session reads that epoch's weights
 * from best.nsm before it trains, so a missing file stops it at once. best.nsm may hold a
 * later epoch than model.nsm's best when a crash came between writing the two: that epoch
 * improves again when it is trained again, and best_keep replaces the file then. */
static bool best_load(struct ns_ctx *ctx, const struct loop_config *cfg, struct best_weights *bw,
                      const struct train_state *st)
{
    int want = st->es_best_epoch;
    struct ns_loc at = {bw->path, 0, 0, 0};
    struct stat sb;
    if (stat(bw->path, &sb) != 0) {
        ns_diag_add(&ctx->diag, NS_ERR_DATA, at,
                    "restore the run's best.nsm, or train the run again",
                    "%s is missing: it holds the checkpoint of epoch %d, the best so far, whose weights the run "
                    "ends with (restore_best)",
                    bw->path, want + 1);
        return false;
    }
    struct train_state best;
    train_state_blank(&best, cfg->spec, cfg->g);
    bool ok = checkpoint_read(&ctx->diag, bw->path, cfg->g, &best);
    bool later = ok && best.history_count > (size_t)want + 1;
    if (ok && ((!later && best.history_count != (size_t)want + 1) || strcmp(best.spec_sha256, st->spec_sha256) != 0
               || strcmp(best.model_sha256, st->model_sha256) != 0)) {
        ns_diag_add(&ctx->diag, NS_ERR_DATA, at,
                    "best.nsm belongs to the run directory it was trained in; restore it, or train again",
                    "%s does not hold this run's checkpoint of epoch %d, the best so far", bw->path, want + 1);
        ok = false;
    }
    if (ok && !later) {
        memcpy(bw->params, best.params, st->param_floats * sizeof *st->params);
        bw->epoch = want;
    }
    train_state_free(&best);
    return ok;
}

/* Puts the best epoch's weights into st->params (restore_best at the end of the run). */
static bool best_restore(struct ns_ctx *ctx, const struct best_weights *bw, struct train_state *st)
{
    if (bw->epoch != st->es_best_epoch) {
        ns_diag_add(&ctx->diag, NS_ERR_INTERNAL, (struct ns_loc){0}, NULL,
                    "early stopping cannot restore epoch %d: its weights were not kept", st->es_best_epoch + 1);
        return false;
    }
    memcpy(st->params, bw->params, st->param_floats * sizeof *st->params);
    return true;
}

enum loop_status loop_run(struct ns_ctx *ctx, const struct loop_config *cfg, struct train_state *st,
                          const struct loop_hooks *hooks)
{
    const struct spec *spec = cfg->spec;
    const struct graph *g = cfg->g;
    const struct trainset *ts = cfg->data;
    int epochs = spec->train.epochs, bs = spec->train.batch_size;
    size_t n = ts->train.count;
    if (n == 0) {
        ns_diag_add(&ctx->diag, NS_ERR_DATA, spec_field_loc(spec, spec->data.node, "train"), NULL,
                    "the training set is empty");
        return LOOP_FAILED;
    }
    if (spec->train.early_stopping.patience > 0 && (!ts->has_validation || ts->validation.count == 0)) {
        ns_diag_add(&ctx->diag, NS_ERR_SPEC, spec_field_loc(spec, spec->train.node, "early_stopping"),
                    "set data.validation to a fraction such as 0.1, or remove early_stopping",
                    "early stopping watches the validation set, but this spec has none");
        return LOOP_FAILED;
    }
    int batches = (int)((n + (size_t)bs - 1) / (size_t)bs);
    struct sched sc;
    sched_init(&sc, &spec->schedule, spec->optimizer.lr, epochs, batches);
    struct loss_config lc = loss_config_from_spec(spec, ts->regression);
    int k = (int)g->nodes[g->output_node].out_size;
    struct loop_buffers b = {0};
    b.ex = exec_new(g, bs);
    exec_set_threads(b.ex, ctx->threads);
    exec_set_isa(b.ex, ctx->isa);
    b.x = ns_xmalloc((size_t)bs * g->input_size * sizeof *b.x + 1);
    b.d_out = ns_xmalloc((size_t)bs * (size_t)k * sizeof *b.d_out + 1);
    b.grads = ns_xcalloc(g->param_floats + 1, sizeof *b.grads);
    b.labels = ns_xmalloc((size_t)bs * sizeof *b.labels);
    b.targets = ns_xmalloc((size_t)bs * sizeof *b.targets);
    b.ids = ns_xmalloc((size_t)bs * sizeof *b.ids);
    b.perm = ns_xmalloc(n * sizeof *b.perm);
    struct kernels_cpu cpu = {.threads = ctx->threads, .isa = (enum kernels_isa)ctx->isa};
    enum loop_status status = LOOP_FINISHED;
    size_t errors_before = ctx->diag.count;
    struct thread_tuner tuner;
    thread_tuner_init(&tuner, ctx->threads, ctx->threads_adapt);
    tuner.running_threads = ns_running_threads;
    struct best_weights best;
    best_init(&best, cfg, g->param_floats);
    bool restore_best = best.params && spec->train.early_stopping.restore_best;
    if (restore_best && best.path && st->es_best_epoch >= 0 && !st->finished && !best_load(ctx, cfg, &best, st)) {
        status = LOOP_FAILED;
        goto done;
    }

    while (!st->finished && st->epoch < epochs) {
        int e = st->epoch;
        data_split_permutation(init_stream_key(st->seed, "shuffle", (uint64_t)e), n, b.perm);
        uint64_t dropout_key = init_stream_key(st->seed, "dropout", (uint64_t)e);
        double t0 = loop_now(), train_seconds = 0;
        size_t samples = 0;
        for (int bi = st->batch; bi < batches; bi++) {
            size_t start = (size_t)bi * (size_t)bs;
            size_t m = n - start < (size_t)bs ? n - start : (size_t)bs;
            double step_t0 = loop_now(), step_wait0 = ns_sched_wait_seconds();
            cpu.threads = thread_tuner_threads(&tuner);
            exec_set_threads(b.ex, cpu.threads);
            trainset_gather(ts, &ts->train, b.perm + start, m, true, e, b.x, b.labels, b.targets, b.ids);
            struct exec_run run = {.training = true, .rng_key = dropout_key, .sample_ids = b.ids};
            const float *out = exec_forward(b.ex, st->params, b.x, (int)m, &run);
            size_t correct = 0;
            double loss = loss_batch(&lc, (int)m, k, out, ts->regression ? NULL : b.labels,
                                     ts->regression ? b.targets : NULL, 1.0f / (float)m, b.d_out, &correct);
            if (!isfinite(loss)) {
                ns_diag_add(&ctx->diag, NS_ERR_DIVERGED, (struct ns_loc){0},
                            "lower optimizer.lr, or normalise the inputs and targets (data.normalize)",
                            "training diverged: the loss is %s in epoch %d, batch %d of %d", isnan(loss) ? "NaN" : "infinite",
                            e + 1, bi + 1, batches);
                if (cfg->checkpoint_path)
                    ns_diag_hint(&ctx->diag, "%s keeps the last good checkpoint", cfg->checkpoint_path);
                status = LOOP_FAILED;
                goto done;
            }
            exec_backward(b.ex, st->params, b.d_out, b.grads);
            optim_step(&st->opt, &cpu, st->params, b.grads, sched_lr(&sc, (long long)e * batches + bi));
            double step_wait1 = ns_sched_wait_seconds();
            thread_tuner_record(&tuner, loop_now() - step_t0,
                                step_wait0 >= 0 && step_wait1 >= 0 ? step_wait1 - step_wait0 : -1, m);
            st->epoch_loss += loss;
            st->epoch_correct += correct;
            st->epoch_seen += m;
            st->batch = bi + 1;
            samples += m;
            train_seconds = loop_now() - t0;
            if (hooks && hooks->batch) {
                struct loop_batch_info info = {.epoch = e, .epochs = epochs, .batch = bi + 1, .batches = batches,
                                               .loss = st->epoch_loss / (double)st->epoch_seen,
                                               .seconds = train_seconds, .samples = samples};
                hooks->batch(hooks->user, &info);
            }
            if (stop_requested(ctx)) {
                status = save(ctx, cfg, st) ? LOOP_INTERRUPTED : LOOP_FAILED;
                goto done;
            }
        }

        struct train_epoch stats = {0};
        double seen = st->epoch_seen ? (double)st->epoch_seen : NAN;
        stats.train_loss = st->epoch_loss / seen;
        stats.train_metric = ts->regression ? sqrt(stats.train_loss) : (double)st->epoch_correct / seen;
        stats.lr = sched_lr(&sc, (long long)e * batches + batches - 1);
        stats.val_loss = stats.val_metric = NAN;
        if (ts->has_validation && ts->validation.count) {
            struct loop_eval ev;
            loop_evaluate(g, b.ex, st->params, ts, &ts->validation, &lc, &ev);
            stats.val_loss = ev.loss;
            stats.val_metric = ts->regression ? ev.rmse : ev.accuracy;
            loop_eval_free(&ev);
        }
        train_state_push_epoch(st, &stats);
        bool improved;
        bool stop_early = early_stop_update(&spec->train.early_stopping, st, e, &stats, &improved);
        st->epoch = e + 1;
        st->batch = 0;
        st->epoch_loss = 0;
        st->epoch_correct = st->epoch_seen = 0;
        st->stopped_early = stop_early;
        st->finished = stop_early || st->epoch >= epochs;
        if (improved && !best_keep(ctx, cfg, &best, st, e)) {
            status = LOOP_FAILED;
            goto done;
        }
        int restored = -1;
        if (st->finished && restore_best && st->es_best_epoch >= 0 && st->es_best_epoch != e) {
            if (!best_restore(ctx, &best, st)) {
                status = LOOP_FAILED;
                goto done;
            }
            restored = st->es_best_epoch;
        }
        if (hooks && hooks->epoch) {
            double secs = loop_now() - t0;
            struct loop_epoch_info info = {.epoch = e, .epochs = epochs, .stats = &stats,
                                           .has_validation = ts->has_validation && ts->validation.count,
                                           .regression = ts->regression, .seconds = secs,
                                           .images_per_s = train_seconds > 0 ? (double)samples / train_seconds : 0,
                                           .stopping_early = stop_early, .restored_epoch = restored};
            hooks->epoch(hooks->user, &info);
        }
        /* The hook writes the epoch's metrics: when it could not, a checkpoint of this epoch
         * would leave metrics.csv a row short for good (a resume rewrites only the epochs
         * after its checkpoint). */
        if (ctx->diag.count > errors_before) {
            status = LOOP_FAILED;
            goto done;
        }
        int every = spec->train.checkpoint_every;
        bool saved = false;
        if (st->finished || (every > 0 && st->epoch % every == 0)) {
            if (!save(ctx, cfg, st)) {
                status = LOOP_FAILED;
                goto done;
            }
            saved = true;
        }
        if (st->finished)
            break;
        if (stop_requested(ctx)) {
            status = saved || save(ctx, cfg, st) ? LOOP_INTERRUPTED : LOOP_FAILED;
            goto done;
        }
    }
done:
    best_free(&best);
    buffers_free(&b);
    return status;
}
