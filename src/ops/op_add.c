/* add: the elementwise sum of two or more inputs of one shape (residual connections). Inputs
 * are added in their listed order. */
#include <stdio.h>
#include <string.h>

#include "core/ns_util.h"
#include "ops/op_emit.h"
#include "ops/ops.h"

static bool add_shape(struct op_shape_args *args, struct ns_diag *diag)
{
    if (args->input_count < 2) {
        op_shape_error(args, diag, "add", "from", "list the layers to add: `from: [a, b]`",
                       "add needs at least 2 inputs, but has %d", args->input_count);
        return false;
    }
    const struct spec_shape *first = &args->inputs[0];
    for (int i = 1; i < args->input_count; i++) {
        const struct spec_shape *s = &args->inputs[i];
        bool same = s->rank == first->rank;
        for (int d = 0; same && d < s->rank; d++)
            same = s->dims[d] == first->dims[d];
        if (!same) {
            char a[48], b[48];
            op_shape_format(first, a);
            op_shape_format(s, b);
            op_shape_error(args, diag, "add", "from", "add needs inputs of identical shape; concat joins different channel counts",
                           "input %d has shape %s, but input 1 has %s", i + 1, b, a);
            return false;
        }
    }
    args->output = *first;
    args->tensor_count = 0;
    args->flops = (double)(args->input_count - 1) * (double)op_shape_size(first);
    args->saved_floats = 0;
    return true;
}

static void add_forward(const struct op_run_args *args)
{
    const struct op_node *node = args->node;
    size_t n = (size_t)args->batch * node->out_size;
    float *y = args->output;
    if (n && y != args->inputs[0])
        memcpy(y, args->inputs[0], n * sizeof *y);
    for (int i = 1; i < node->input_count; i++) {
        const float *x = args->inputs[i];
        for (size_t e = 0; e < n; e++)
            y[e] += x[e];
    }
}

static void add_backward(const struct op_run_args *args)
{
    const struct op_node *node = args->node;
    size_t n = (size_t)args->batch * node->out_size;
    for (int i = 0; i < node->input_count; i++) {
        float *dx = args->d_inputs[i];
        for (size_t e = 0; dx && e < n; e++)
            dx[e] += args->d_output[e];
    }
}

/* out = in[0], then each further input added in turn, as add_forward sums. */
static void add_emit(const struct op_emit_args *args)
{
    const struct op_node *node = args->node;
    op_emit_copy(args, "in[0]", "out", node->out_size);
    for (int i = 1; i < node->input_count; i++)
        ns_buf_printf(args->out, "    for (size_t e = 0; e < %zu; e++)\n        out[e] += in[%d][e];\n",
                      node->out_size, i);
}

const struct op_def op_add = {
    .layer = {
        .name = "add",
        .doc = "elementwise sum of the layers named in from: (same shape), for residual connections",
        .param_schema = NULL,
        .param_size = 0,
        .min_inputs = 2,
        .max_inputs = OP_MAX_INPUTS,
        .check = op_check_none,
    },
    .shape = add_shape,
    .scratch_floats = op_scratch_none,
    .forward = add_forward,
    .backward = add_backward,
    .emit_c = add_emit,
};
