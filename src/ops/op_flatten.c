/* flatten: [h, w, c] -> [h*w*c]. NHWC is already flat in memory, so forward is a copy and
 * backward an add; a vector input passes through unchanged. */
#include <string.h>

#include "ops/op_emit.h"
#include "ops/ops.h"

static bool flatten_shape(struct op_shape_args *args, struct ns_diag *diag)
{
    (void)diag;
    size_t size = op_shape_size(&args->inputs[0]);
    args->output = (struct spec_shape){.rank = 1, .dims = {(int)size, 0, 0}};
    args->tensor_count = 0;
    args->flops = 0;
    args->saved_floats = 0;
    return true;
}

void op_same_values_forward(const struct op_run_args *args)
{
    size_t n = (size_t)args->batch * args->node->out_size;
    if (n && args->output != args->inputs[0])
        memcpy(args->output, args->inputs[0], n * sizeof *args->output);
}

void op_same_values_backward(const struct op_run_args *args)
{
    float *dx = args->d_inputs[0];
    if (!dx)
        return;
    size_t n = (size_t)args->batch * args->node->out_size;
    if (args->d_inputs_fresh[0]) {
        for (size_t i = 0; i < n; i++)
            dx[i] = 0.0f + args->d_output[i]; /* the bits of adding into zeros */
        return;
    }
    for (size_t i = 0; i < n; i++)
        dx[i] += args->d_output[i];
}

void op_same_values_emit(const struct op_emit_args *args)
{
    op_emit_copy(args, "in[0]", "out", args->node->out_size);
}

const struct op_def op_flatten = {
    .layer = {
        .name = "flatten",
        .doc = "[height, width, channels] -> [height*width*channels], to go from images to dense layers",
        .param_schema = NULL,
        .param_size = 0,
        .min_inputs = 1,
        .max_inputs = 1,
        .check = op_check_none,
    },
    .shape = flatten_shape,
    .scratch_floats = op_scratch_none,
    .forward = op_same_values_forward,
    .backward = op_same_values_backward,
    .fills_fresh_gradients = true,
    .emit_c = op_same_values_emit,
};
