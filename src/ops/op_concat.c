/* concat: joins two or more inputs along the last axis: channels of images with the same
 * height and width, or features of vectors. In NHWC each pixel's channels are contiguous, so
 * an image is (pixels, channels) and a vector is (1, features): one copy loop serves both. */
#include <stdio.h>
#include <string.h>

#include "core/ns_util.h"
#include "ops/op_emit.h"
#include "ops/ops.h"

static bool concat_shape(struct op_shape_args *args, struct ns_diag *diag)
{
    if (args->input_count < 2) {
        op_shape_error(args, diag, "concat", "from", "list the layers to join: `from: [a, b]`",
                       "concat needs at least 2 inputs, but has %d", args->input_count);
        return false;
    }
    const struct spec_shape *first = &args->inputs[0];
    int total = 0;
    for (int i = 0; i < args->input_count; i++) {
        const struct spec_shape *s = &args->inputs[i];
        bool fits = s->rank == first->rank
                    && (s->rank != 3 || (s->dims[0] == first->dims[0] && s->dims[1] == first->dims[1]));
        if (!fits) {
            char a[48], b[48];
            op_shape_format(first, a);
            op_shape_format(s, b);
            op_shape_error(args, diag, "concat", "from",
                           "images are joined along channels and need the same height and width; vectors join vectors",
                           "input %d has shape %s, which cannot be joined to input 1's %s", i + 1, b, a);
            return false;
        }
        total += s->dims[s->rank - 1];
    }
    args->output = *first;
    args->output.dims[first->rank - 1] = total;
    args->tensor_count = 0;
    args->flops = 0;
    args->saved_floats = 0;
    return true;
}

static void concat_forward(const struct op_run_args *args)
{
    const struct op_node *node = args->node;
    size_t pixels, cols;
    op_shape_rows_cols(&node->out_shape, &pixels, &cols);
    size_t rows = pixels * (size_t)args->batch;
    size_t offset = 0;
    for (int i = 0; i < node->input_count; i++) {
        size_t c = node->in_sizes[i] / pixels;
        for (size_t r = 0; r < rows; r++)
            memcpy(args->output + r * cols + offset, args->inputs[i] + r * c, c * sizeof(float));
        offset += c;
    }
}

static void concat_backward(const struct op_run_args *args)
{
    const struct op_node *node = args->node;
    size_t pixels, cols;
    op_shape_rows_cols(&node->out_shape, &pixels, &cols);
    size_t rows = pixels * (size_t)args->batch;
    size_t offset = 0;
    for (int i = 0; i < node->input_count; i++) {
        size_t c = node->in_sizes[i] / pixels;
        float *dx = args->d_inputs[i];
        for (size_t r = 0; dx && r < rows; r++)
            for (size_t e = 0; e < c; e++)
                dx[r * c + e] += args->d_output[r * cols + offset + e];
        offset += c;
    }
}

static void concat_emit(const struct op_emit_args *args)
{
    const struct op_node *node = args->node;
    size_t pixels, cols;
    op_shape_rows_cols(&node->out_shape, &pixels, &cols);
    size_t offset = 0;
    for (int i = 0; i < node->input_count; i++) {
        size_t c = node->in_sizes[i] / pixels;
        ns_buf_printf(args->out,
                      "    for (size_t r = 0; r < %zu; r++)\n"
                      "        for (size_t e = 0; e < %zu; e++)\n"
                      "            out[r * %zu + %zu + e] = in[%d][r * %zu + e];\n",
                      pixels, c, cols, offset, i, c);
        offset += c;
    }
}

const struct op_def op_concat = {
    .layer = {
        .name = "concat",
        .doc = "joins the layers named in from: along channels (images of equal height and width) or features",
        .param_schema = NULL,
        .param_size = 0,
        .min_inputs = 2,
        .max_inputs = OP_MAX_INPUTS,
        .check = op_check_none,
    },
    .shape = concat_shape,
    .scratch_floats = op_scratch_none,
    .forward = concat_forward,
    .backward = concat_backward,
    .emit_c = concat_emit,
};
