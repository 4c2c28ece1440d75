/* softmax over the last axis (the channels of each pixel, or the features of a vector),
 * computed stably. For classification the loss fuses its own softmax over the logits; this op
 * is for models that need probabilities inside the graph. */
#include <string.h>

#include "ops/op_emit.h"
#include "ops/ops.h"
#include "kernels/activation.h"

static bool softmax_shape(struct op_shape_args *args, struct ns_diag *diag)
{
    (void)diag;
    args->output = args->inputs[0];
    args->tensor_count = 0;
    args->flops = activation_flops(ACT_SOFTMAX) * (double)op_shape_size(&args->inputs[0]);
    args->saved_floats = 0;
    return true;
}

static void softmax_forward(const struct op_run_args *args)
{
    size_t rows, cols;
    op_shape_rows_cols(&args->node->out_shape, &rows, &cols);
    rows *= (size_t)args->batch;
    if (rows * cols > 0 && args->output != args->inputs[0])
        memcpy(args->output, args->inputs[0], rows * cols * sizeof *args->output);
    activation_forward(&args->cpu, ACT_SOFTMAX, 0.0f, args->output, rows, cols);
}

static void softmax_backward(const struct op_run_args *args)
{
    if (!args->d_inputs[0])
        return;
    size_t rows, cols;
    op_shape_rows_cols(&args->node->out_shape, &rows, &cols);
    rows *= (size_t)args->batch;
    activation_backward(&args->cpu, ACT_SOFTMAX, 0.0f, args->inputs[0], args->d_output, args->d_inputs[0], rows, cols, true);
}

static void softmax_emit(const struct op_emit_args *args)
{
    size_t rows, cols;
    op_shape_rows_cols(&args->node->out_shape, &rows, &cols);
    op_emit_copy(args, "in[0]", "out", rows * cols);
    op_emit_activation(args, ACT_SOFTMAX, 0.0f, "out", rows, cols);
}

const struct op_def op_softmax = {
    .layer = {
        .name = "softmax",
        .doc = "softmax over the last axis (channels or features)",
        .param_schema = NULL,
        .param_size = 0,
        .min_inputs = 1,
        .max_inputs = 1,
        .check = op_check_none,
    },
    .shape = softmax_shape,
    .scratch_floats = op_scratch_none,
    .forward = softmax_forward,
    .backward = softmax_backward,
    .emit_c = softmax_emit,
};
