/* avgpool2d: the mean of each window, per channel; padded positions are not counted. */
#include "ops/op_emit.h"
#include "ops/ops.h"
#include "kernels/kernels.h"

static bool avgpool2d_shape(struct op_shape_args *args, struct ns_diag *diag)
{
    return op_pool_shape(args, diag, "avgpool2d", false);
}

static void avgpool2d_forward(const struct op_run_args *args)
{
    struct kernels_window g;
    op_pool_window(args->node, &g);
    kernels_avgpool_forward(&args->cpu, &g, args->batch, args->inputs[0], args->output);
}

static void avgpool2d_backward(const struct op_run_args *args)
{
    if (!args->d_inputs[0])
        return;
    struct kernels_window g;
    op_pool_window(args->node, &g);
    kernels_avgpool_backward(&args->cpu, &g, args->batch, args->d_output, args->d_inputs[0]);
}

static void avgpool2d_emit(const struct op_emit_args *args)
{
    struct kernels_window g;
    op_pool_window(args->node, &g);
    op_emit_avgpool(args, &g, "in[0]", "out");
}

const struct op_def op_avgpool2d = {
    .layer = {
        .name = "avgpool2d",
        .doc = "mean over each window, per channel (padding is not counted)",
        .param_schema = &op_pool_schema_avg,
        .param_size = sizeof(struct op_pool_params),
        .min_inputs = 1,
        .max_inputs = 1,
        .check = op_check_none,
    },
    .shape = avgpool2d_shape,
    .scratch_floats = op_scratch_none,
    .forward = avgpool2d_forward,
    .backward = avgpool2d_backward,
    .emit_c = avgpool2d_emit,
};
