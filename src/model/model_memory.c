/* How much memory training takes, estimated before anything is allocated, from the graph's
 * training plan, the spec and the data headers; and the runtime.max_memory limit.
 *
 * Each term follows an allocation the code makes (file named), so the estimate moves with
 * the code instead of with a fudge factor. Measured against peak RSS (`/usr/bin/time -v
 * netspec train SPEC --set train.epochs=1 --threads 2`) on specs/fashion_mlp.yaml and
 * specs/fashion_cnn.yaml: see MODEL_MEMORY_BASELINE and the README.
 */
#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/ns_util.h"
#include "spec/spec_size.h"

/* The process before training allocates anything: code, libc, zlib, libyaml, libgomp, the
 * spec tree and graph (ctx arena), OpenMP thread stacks and the GEMM packing buffers of two
 * threads (kernels.c, about 370 KiB each). Measured: `netspec check` peaks at 3.0 MiB, and
 * loading Fashion-MNIST peaks 3.2 MiB above the data terms below. */
#define MODEL_MEMORY_BASELINE (4.0 * 1048576.0)
/* runtime.max_memory: auto: the share of physical memory (sysconf) training may take. The
 * rest is for the system and whatever else runs beside it. */
#define MODEL_MEMORY_AUTO_SHARE 0.8
#define MODEL_MEMORY_AUTO_TEXT "80%"

/* Bytes per stored input value: pixels stay bytes, CSV cells are floats (dataset.h). */
static double model_memory_value_bytes(const struct spec *spec)
{
    return spec->data.format == DATA_CSV ? sizeof(float) : 1.0;
}

void model_memory_estimate(const struct spec *spec, const struct model_info *info, const struct graph *g,
                           struct model_memory *out)
{
    const double f = sizeof(float);
    *out = (struct model_memory){0};
    out->batch_size = spec->train.batch_size;
    double batch = spec->train.batch_size > 0 ? spec->train.batch_size : 1;
    /* data/ (dataset.h): one byte per pixel for IDX and image folders, one float per CSV
     * cell, and an int32 label (or float target) per sample. Splitting (data_load.c) copies
     * validation (and a folder's test) out of the whole file before the training part shrinks
     * in place, with index arrays of 2 size_t per sample. */
    double sample = (double)g->input_size * model_memory_value_bytes(spec) + 4.0;
    out->data_held = (double)info->held_samples * sample;
    out->data_peak = (double)(info->held_samples + info->copied_samples) * sample
                     + (double)info->held_samples * 2.0 * sizeof(size_t);
    /* train/: parameters, gradients (loop.c), optimizer state (optim.c: SGD with momentum
     * keeps one copy, Adam two), and checkpoint_write's buffer of parameters and state. */
    double p = (double)g->param_floats * f;
    double states = spec->optimizer.type == OPT_SGD ? (spec->optimizer.momentum > 0 ? 1 : 0) : 2;
    out->parameters = p * (2 + states) + p * (1 + states);
    /* runtime/exec.c: the training plan's buffers for batch_size samples (the same executor
     * evaluates validation; the test evaluation's executor comes after it is freed). loop.c:
     * the batch's inputs, output gradients, labels, and the shuffle permutation;
     * loop_evaluate's input batch. */
    const struct graph_plan *plan = &g->plan[GRAPH_TRAINING];
    double out_size = (double)g->nodes[g->output_node].out_size;
    out->activations = batch * (double)(plan->act_floats + plan->grad_floats + g->saved_floats) * f
                       + (double)graph_scratch_floats(g, (int)batch) * f
                       + batch * ((double)g->input_size * 2 + out_size) * f + batch * 16.0
                       + (double)info->held_samples * sizeof(size_t);
    out->baseline = MODEL_MEMORY_BASELINE;
    /* Two peaks: loading (the data alone, before training allocates), then training (the
     * data after the split, and everything else). */
    double training = out->data_held + out->parameters + out->activations;
    out->total = out->baseline + (out->data_peak > training ? out->data_peak : training);
    out->limit = model_memory_limit(spec);
}

double model_memory_limit(const struct spec *spec)
{
    if (spec->runtime.max_memory > 0)
        return (double)spec->runtime.max_memory;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0)
        return 1e300; /* unknown: no automatic limit */
    return MODEL_MEMORY_AUTO_SHARE * (double)pages * (double)page;
}

bool model_memory_check(struct ns_ctx *ctx, const struct spec *spec, const struct model_memory *mem)
{
    if (mem->total <= mem->limit)
        return true;
    char need[SPEC_SIZE_TEXT_MAX], limit[SPEC_SIZE_TEXT_MAX], part[SPEC_SIZE_TEXT_MAX];
    spec_size_format(mem->total, need);
    spec_size_format(mem->limit, limit);
    bool written = spec->runtime.node && spec_tree_find(spec->runtime.node, "max_memory") >= 0;
    double data = mem->data_peak > mem->data_held ? mem->data_peak : mem->data_held;
    char *hint;
    struct ns_loc loc;
    if (data >= mem->activations && data >= mem->parameters) {
        spec_size_format(data, part);
        hint = ns_asprintf("the data set dominates: it is held as %s (%s); train on fewer or "
                           "smaller samples, or raise runtime.max_memory",
                           spec->data.format == DATA_CSV ? "floats" : "bytes", part);
        loc = spec_node_loc(spec->data.node);
    } else if (mem->activations >= mem->parameters) {
        spec_size_format(mem->activations, part);
        hint = ns_asprintf("activations at batch %d dominate (%s); lower train.batch_size, or raise "
                           "runtime.max_memory", mem->batch_size, part);
        loc = spec_field_loc(spec, spec->train.node, "batch_size");
    } else {
        spec_size_format(mem->parameters, part);
        hint = ns_asprintf("parameters, gradients and optimizer state dominate (%s); use fewer or "
                           "smaller layers, or raise runtime.max_memory", part);
        loc = spec_node_loc(spec->model.node);
    }
    if (written)
        loc = spec_field_loc(spec, spec->runtime.node, "max_memory");
    else if (!loc.file)
        loc = spec_node_loc(spec->model.node);
    ns_diag_add(&ctx->diag, NS_ERR_SPEC, loc, hint,
                "training needs about %s, more than runtime.max_memory (%s%s)", need, limit,
                written ? "" : ", " MODEL_MEMORY_AUTO_TEXT " of physical memory");
    free(hint);
    return false;
}
