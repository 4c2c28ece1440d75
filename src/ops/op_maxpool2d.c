/* maxpool2d: the maximum of each window, per channel. Forward keeps the argmax of every output
 * (an int32 in each saved float's bytes) so backward routes the gradient to the first maximum
 * (kernels_maxpool_forward). */
#include "ops/op_emit.h"
#include "ops/ops.h"
#include "kernels/kernels.h"

static bool maxpool2d_shape(struct op_shape_args *args, struct ns_diag *diag)
{
    return op_pool_shape(args, diag, "maxpool2d", true);
}

static void maxpool2d_forward(const struct op_run_args *args)
{
    struct kernels_window g;
    op_pool_window(args->node, &g);
    kernels_maxpool_forward(&args->cpu, &g, args->batch, args->inputs[0], args->output, args->saved);
}

static void maxpool2d_backward(const struct op_run_args *args)
{
    if (!args->d_inputs[0])
        return;
    struct kernels_window g;
    op_pool_window(args->node, &g);
    struct kernels_maxpool_grad grad = {.in = args->inputs[0], .d_out = args->d_output, .saved = args->saved,
                                        .d_in = args->d_inputs[0], .fresh = args->d_inputs_fresh[0],
                                        .relu_mask = args->node->relu_mask_input};
    kernels_maxpool_backward(&args->cpu, &g, args->batch, &grad);
}

static void maxpool2d_emit(const struct op_emit_args *args)
{
    struct kernels_window g;
    op_pool_window(args->node, &g);
    op_emit_maxpool(args, &g, "in[0]", "out");
}

const struct op_def op_maxpool2d = {
    .layer = {
        .name = "maxpool2d",
        .doc = "maximum over each window, per channel (ties: the first in scan order)",
        .param_schema = &op_pool_schema_max,
        .param_size = sizeof(struct op_pool_params),
        .min_inputs = 1,
        .max_inputs = 1,
        .check = op_check_none,
    },
    .shape = maxpool2d_shape,
    .scratch_floats = op_scratch_none,
    .forward = maxpool2d_forward,
    .backward = maxpool2d_backward,
    .fills_fresh_gradients = true,
    .masks_relu_input = true,
    .emit_c = maxpool2d_emit,
};
