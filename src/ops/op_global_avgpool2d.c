/* global_avgpool2d: [h, w, c] -> [c], the mean of each channel over the whole image. It is
 * average pooling with one window the size of the image. */
#include "ops/op_emit.h"
#include "ops/ops.h"
#include "kernels/kernels.h"

static bool global_avgpool2d_shape(struct op_shape_args *args, struct ns_diag *diag)
{
    const struct spec_shape *in = &args->inputs[0];
    if (in->rank != 3) {
        char in_text[48];
        op_shape_format(in, in_text);
        op_shape_error(args, diag, "global_avgpool2d", NULL, "it averages each channel of an image; drop it for vector data",
                       "global_avgpool2d needs an image input [height, width, channels], but its input is %s",
                       in_text);
        return false;
    }
    args->output = (struct spec_shape){.rank = 1, .dims = {in->dims[2], 0, 0}};
    args->tensor_count = 0;
    args->flops = (double)op_shape_size(in);
    args->saved_floats = 0;
    return true;
}

static void global_window(const struct op_node *node, struct kernels_window *g)
{
    const struct spec_shape *in = &node->in_shapes[0];
    kernels_window_init(g, in->dims[0], in->dims[1], in->dims[2], in->dims[0], in->dims[1], 1, 1, 1, 1,
                        SPEC_PAD_VALID, 0, 0);
}

static void global_avgpool2d_forward(const struct op_run_args *args)
{
    struct kernels_window g;
    global_window(args->node, &g);
    kernels_avgpool_forward(&args->cpu, &g, args->batch, args->inputs[0], args->output);
}

static void global_avgpool2d_backward(const struct op_run_args *args)
{
    if (!args->d_inputs[0])
        return;
    struct kernels_window g;
    global_window(args->node, &g);
    kernels_avgpool_backward(&args->cpu, &g, args->batch, args->d_output, args->d_inputs[0]);
}

static void global_avgpool2d_emit(const struct op_emit_args *args)
{
    struct kernels_window g;
    global_window(args->node, &g);
    op_emit_avgpool(args, &g, "in[0]", "out");
}

const struct op_def op_global_avgpool2d = {
    .layer = {
        .name = "global_avgpool2d",
        .doc = "mean of each channel over the whole image: [height, width, channels] -> [channels]",
        .param_schema = NULL,
        .param_size = 0,
        .min_inputs = 1,
        .max_inputs = 1,
        .check = op_check_none,
    },
    .shape = global_avgpool2d_shape,
    .scratch_floats = op_scratch_none,
    .forward = global_avgpool2d_forward,
    .backward = global_avgpool2d_backward,
    .emit_c = global_avgpool2d_emit,
};
