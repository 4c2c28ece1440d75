/* activation: a standalone activation function (the same code dense and conv2d fuse). Backward
 * reads the input, so nothing is saved; softmax runs over the last axis. */
#include <stddef.h>
#include <string.h>

#include "ops/op_emit.h"
#include "ops/ops.h"
#include "kernels/activation.h"

struct activation_params {
    int type; /* enum activation_kind */
    double alpha;
};

#define P struct activation_params
static const struct schema_field activation_fields[] = {
    {.key = "type", .type = SCHEMA_ENUM, .offset = offsetof(P, type), .required = true, .names = spec_activation_names,
     SCHEMA_NO_RANGE, .doc = "the function; `- activation: relu` is short for {type: relu}"},
    {.key = "alpha", .type = SCHEMA_FLOAT, .offset = offsetof(P, alpha), .def = "0.01", .min = 0, .max = 1,
     .doc = "slope of leaky_relu below zero (fused activations use 0.01)"},
};
#undef P
static const struct schema_section activation_schema = {
    .name = "activation", .fields = activation_fields, .field_count = SCHEMA_COUNT(activation_fields),
    .has_node = false};

static bool activation_shape(struct op_shape_args *args, struct ns_diag *diag)
{
    (void)diag;
    const struct activation_params *p = args->params;
    args->output = args->inputs[0];
    args->tensor_count = 0;
    args->flops = activation_flops(p->type) * (double)op_shape_size(&args->inputs[0]);
    args->saved_floats = 0;
    return true;
}

static void activation_run_forward(const struct op_run_args *args)
{
    const struct activation_params *p = args->node->params;
    size_t rows, cols;
    op_shape_rows_cols(&args->node->out_shape, &rows, &cols);
    rows *= (size_t)args->batch;
    if (rows * cols > 0 && args->output != args->inputs[0])
        memcpy(args->output, args->inputs[0], rows * cols * sizeof *args->output);
    activation_forward(&args->cpu, p->type, (float)p->alpha, args->output, rows, cols);
}

static void activation_run_backward(const struct op_run_args *args)
{
    const struct activation_params *p = args->node->params;
    if (!args->d_inputs[0])
        return;
    size_t rows, cols;
    op_shape_rows_cols(&args->node->out_shape, &rows, &cols);
    rows *= (size_t)args->batch;
    activation_backward(&args->cpu, p->type, (float)p->alpha, args->inputs[0], args->d_output, args->d_inputs[0], rows,
                        cols, true);
}

static void activation_emit(const struct op_emit_args *args)
{
    const struct activation_params *p = args->node->params;
    size_t rows, cols;
    op_shape_rows_cols(&args->node->out_shape, &rows, &cols);
    op_emit_copy(args, "in[0]", "out", rows * cols);
    op_emit_activation(args, p->type, (float)p->alpha, "out", rows, cols);
}

const struct op_def op_activation = {
    .layer = {
        .name = "activation",
        .doc = "an activation function on its own (softmax: over the last axis)",
        .param_schema = &activation_schema,
        .param_size = sizeof(struct activation_params),
        .shorthand_key = "type",
        .min_inputs = 1,
        .max_inputs = 1,
        .check = op_check_none,
    },
    .shape = activation_shape,
    .scratch_floats = op_scratch_none,
    .forward = activation_run_forward,
    .backward = activation_run_backward,
    .emit_c = activation_emit,
};
