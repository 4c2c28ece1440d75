/* The model: a spec made concrete against its data (input shape, classes, graph), built for
 * training or loaded back, with its weights, from a run directory.
 *
 *   struct model_info info; struct graph *g;
 *   if (!model_prepare(ctx, spec, &info, &g)) ...        // check, train: data headers + graph
 *   struct model m;
 *   if (!model_load(ctx, "runs/x", &m)) ...               // eval, predict, emit
 *   ... m.g, m.st.params, m.class_names ...
 *   model_free(&m);
 *
 * spec and graph live in ctx's arena; the rest belongs to the model.
 */
#ifndef MODEL_H
#define MODEL_H

#include <stdbool.h>

#include "core/ns_ctx.h"
#include "data/data_csv.h"
#include "data/data_prep.h"
#include "graph/graph.h"
#include "spec/spec.h"
#include "train/train_state.h"

/* What training needs in memory, in bytes, from the graph's training plan, the spec and the
 * data headers (model_memory.c documents each term and how it was measured). */
struct model_memory {
    double data_peak;   /* loading: every sample as floats, plus the copies splitting makes */
    double data_held;   /* training: every split as stored (bytes or floats), labels */
    double parameters;  /* parameters, gradients, optimizer state, the checkpoint being written */
    double activations; /* the executor's planned buffers at batch_size, batch and eval buffers */
    double baseline;    /* the process before it allocates: code, libraries, OpenMP threads */
    double total;       /* baseline + max(data_peak, data_held + parameters + activations) */
    double limit;       /* runtime.max_memory, or its automatic share of physical memory */
    int batch_size;
};
/* What `check` and `train` learn from the data files' headers without loading them. */
struct model_info {
    struct spec_shape input; /* per-sample shape the model sees */
    int class_count;         /* 0 for regression */
    char summary[512];       /* one line for people: counts, classes, shape */
    size_t held_samples;     /* samples in memory while training: every split of every file */
    size_t copied_samples;   /* samples the loader copies out while the whole file is still held */
    struct model_memory memory; /* filled by model_prepare */
};
/* Reads the headers of the spec's data files (fast: no full decode) and checks them against
 * the spec (model.input, classes). False + diag (exit 3, or 2 for a spec mismatch). */
bool model_probe_data(struct ns_ctx *ctx, const struct spec *spec, struct model_info *info);

void model_memory_estimate(const struct spec *spec, const struct model_info *info, const struct graph *g,
                           struct model_memory *out);
/* runtime.max_memory in bytes; auto = MODEL_MEMORY_AUTO_SHARE of physical memory. */
double model_memory_limit(const struct spec *spec);
/* A located spec error when the estimate is above the limit (raised by model_prepare). */
bool model_memory_check(struct ns_ctx *ctx, const struct spec *spec, const struct model_memory *mem);

/* Threads for the runtime: `requested` (--threads) when > 0, else runtime.threads, else all
 * cores; sets ctx->threads (the one place the count lives: executors, ops, kernels and data
 * loaders are handed it; OpenMP's global count is never set) and returns it. */
int model_choose_threads(struct ns_ctx *ctx, int requested, const struct spec *spec);
/* model_probe_data, graph_build, graph_check_output, model_memory_estimate and
 * model_memory_check in one step (check, train): nothing is allocated for training and no run
 * directory exists yet when it fails. The estimate is left in info->memory. */
bool model_prepare(struct ns_ctx *ctx, const struct spec *spec, struct model_info *info,
                       struct graph **g);

/* A trained run loaded back from RUN_DIR (eval, predict):
 *
 *   struct model run;
 *   if (!model_load(ctx, "runs/x", &run)) return ns_diag_code(&ctx->diag);
 *   ... exec_forward(ex, run.st.params, x, n, &(struct exec_run){.training = false}) ...
 *   model_free(&run);
 *
 * Reads spec.resolved.yaml, chooses the threads from it, probes the data headers and builds
 * the graph as training did (model_prepare), then reads model.nsm. A directory without
 * spec.resolved.yaml is an NS_ERR_SPEC error; a damaged model.nsm an NS_ERR_DATA one. spec and
 * g live in ctx's arena; the rest is the run's. */
struct model {
    struct spec *spec;
    struct graph *g;
    struct model_info info;
    struct train_state st; /* st.params: the trained weights */
    char **class_names;    /* (info.class_count) owned: listed, folder names, or "0", "1", ... */
    struct data_prep_norm norm;   /* the preprocessing training applied (model.yaml, else the spec) */
    struct data_csv_layout *csv;  /* owned: how CSV rows become inputs (model.yaml); NULL for images */
};
bool model_load(struct ns_ctx *ctx, const char *run_dir, struct model *out);
/* model.nsm's recorded SHA-256 of spec.resolved.yaml and model.yaml against the files in
 * run_dir: an NS_ERR_DATA error naming the file that differs. model_load calls it first. */
bool model_verify_binding(struct ns_ctx *ctx, const char *run_dir);
void model_free(struct model *run);

#endif
