/* The model built from a spec: threads, data headers, graph and the output check. */
#include "model/model.h"

#ifdef _OPENMP
#include <omp.h>
#endif

int model_choose_threads(struct ns_ctx *ctx, int requested, const struct spec *spec)
{
    int n = requested;
    if (n <= 0 && spec && spec->runtime.threads != SPEC_AUTO && spec->runtime.threads > 0)
        n = spec->runtime.threads;
#ifdef _OPENMP
    /* Only the context carries the count: OpenMP's global setting is left alone, and every
     * parallel region names its threads (num_threads) from what it was handed. */
    ctx->threads_adapt = n <= 0;
    if (n <= 0)
        n = omp_get_num_procs();
#else
    ctx->threads_adapt = false;
    n = 1;
#endif
    ctx->threads = n;
    return n;
}

bool model_prepare(struct ns_ctx *ctx, const struct spec *spec, struct model_info *info,
                       struct graph **g)
{
    if (!model_probe_data(ctx, spec, info))
        return false;
    *g = graph_build(ctx, spec, info->input, info->class_count);
    if (!*g)
        return false;
    if (!graph_check_output(ctx, spec, *g, info->class_count))
        return false;
    model_memory_estimate(spec, info, *g, &info->memory);
    return model_memory_check(ctx, spec, &info->memory);
}

