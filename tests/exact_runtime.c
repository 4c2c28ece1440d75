/* exact_runtime RUN_DIR INPUTS.idx COUNT [--threads N] [--isa NAME]: the netspec runtime's
 * outputs for the first COUNT images of INPUTS.idx, in exact_io.h's format, to compare with
 * exact_emitted's (the emitted C) or with this program's own output on another machine.
 *
 * The path of `netspec predict`: the run loaded (model_load), the images normalised by
 * data_prep_gather with the spec's normalisation, exec_forward in inference mode in batches
 * of train.batch_size, and the one softmax of activations.def. Runs trained with
 * cross_entropy only (their probabilities are the softmax of the logits). Exit status 0, 2
 * usage error, 3 data error, 77 when --isa names an ISA this CPU (or build) cannot run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ns_ctx.h"
#include "core/ns_util.h"
#include "data/data_prep.h"
#include "graph/graph.h"
#include "kernels/activation.h"
#include "kernels/kernels_cpu.h"
#include "model/model.h"
#include "runtime/exec.h"
#include "train/loss.h"

#include "exact_io.h"

/* The exit status for an ISA this CPU or build lacks: automake's "skipped". */
enum { EXACT_RUNTIME_ISA_MISSING = 77 };

static const char usage[] = "usage: exact_runtime RUN_DIR INPUTS.idx COUNT [--threads N] [--isa NAME]\n";

static int fail(struct ns_ctx *ctx)
{
    ns_diag_print(&ctx->diag, stderr, false);
    return ns_diag_has_errors(&ctx->diag) ? (int)ns_diag_code(&ctx->diag) : 1;
}

static int run(struct ns_ctx *ctx, const char *run_dir, const char *inputs, size_t count, int threads)
{
    struct model m;
    if (!model_load(ctx, run_dir, &m))
        return fail(ctx);
    if (threads > 0)
        ctx->threads = threads;
    const struct graph *g = m.g;
    struct spec_shape shape = g->input_shape;
    size_t k = g->nodes[g->output_node].out_size, classes = (size_t)m.info.class_count;
    if (shape.rank != 3 || m.spec->loss.type != LOSS_CROSS_ENTROPY || classes != k) {
        fprintf(stderr, "exact_runtime: %s: not an image classifier trained with cross_entropy\n", run_dir);
        model_free(&m);
        return 2;
    }
    const char *why = NULL;
    unsigned char *bytes =
        exact_read_idx(inputs, count, (size_t)shape.dims[0], (size_t)shape.dims[1], (size_t)shape.dims[2], &why);
    if (!bytes) {
        fprintf(stderr, "exact_runtime: %s: %s\n", inputs, why);
        model_free(&m);
        return 3;
    }
    struct data_prep_norm norm;
    struct data_prep_augment unused_augment;
    if (!data_prep_from_spec(&ctx->diag, m.spec, shape, &norm, &unused_augment)) {
        free(bytes);
        model_free(&m);
        return fail(ctx);
    }
    struct dataset all = {.count = count, .shape = shape, .sample_size = dataset_shape_size(shape)};
    all.x = ns_xmalloc((count ? count : 1) * all.sample_size * sizeof *all.x);
    for (size_t i = 0; i < count * all.sample_size; i++)
        all.x[i] = (float)bytes[i];
    free(bytes);

    int cap = m.spec->train.batch_size > 0 ? m.spec->train.batch_size : 64;
    struct exec *ex = exec_new_mode(g, cap, GRAPH_INFERENCE);
    exec_set_threads(ex, ctx->threads);
    exec_set_isa(ex, ctx->isa);
    float *x = ns_xmalloc((size_t)cap * all.sample_size * sizeof *x);
    size_t *index = ns_xmalloc((size_t)cap * sizeof *index);
    float *p = ns_xmalloc(classes * sizeof *p);
    for (size_t start = 0; start < count; start += (size_t)cap) {
        size_t n = count - start < (size_t)cap ? count - start : (size_t)cap;
        for (size_t i = 0; i < n; i++)
            index[i] = start + i;
        data_prep_gather(ctx->threads, &all, index, n, &norm, NULL, 0, x);
        const float *y = exec_forward(ex, m.st.params, x, (int)n, &(struct exec_run){.training = false});
        for (size_t i = 0; i < n; i++) {
            const float *z = y + i * k;
            int best = 0;
            for (size_t j = 1; j < k; j++)
                if (z[j] > z[best])
                    best = (int)j;
            memcpy(p, z, classes * sizeof *p);
            activation_softmax_row(p, classes);
            exact_print(start + i, z, k, p, classes, best);
        }
    }
    exec_free(ex);
    free(x);
    free(index);
    free(p);
    free(all.x);
    data_prep_norm_free(&norm);
    model_free(&m);
    return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *pos[3];
    int npos = 0, threads = 0;
    enum kernels_isa isa = KERNELS_ISA_AUTO;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            threads = atoi(argv[++i]);
            if (threads < 1) {
                fputs(usage, stderr);
                return 2;
            }
        } else if (!strcmp(argv[i], "--isa") && i + 1 < argc) {
            if (!kernels_isa_parse(argv[++i], &isa)) {
                fprintf(stderr, "exact_runtime: --isa is auto, portable, avx2 or avx512, not \"%s\"\n", argv[i]);
                return 2;
            }
            if (!kernels_isa_supported(isa)) {
                fprintf(stderr, "exact_runtime: --isa %s: this CPU (or this build) cannot run it\n", argv[i]);
                return EXACT_RUNTIME_ISA_MISSING;
            }
        } else if (argv[i][0] == '-' || npos == 3) {
            fputs(usage, stderr);
            return 2;
        } else {
            pos[npos++] = argv[i];
        }
    }
    char *end = NULL;
    size_t count = npos == 3 ? (size_t)strtoul(pos[2], &end, 10) : 0;
    if (npos != 3 || *end || end == pos[2]) {
        fputs(usage, stderr);
        return 2;
    }
    struct ns_ctx ctx;
    ns_ctx_init(&ctx);
    ctx.isa = (int)isa;
    int rc = run(&ctx, pos[0], pos[1], count, threads);
    ns_ctx_free(&ctx);
    return rc;
}
