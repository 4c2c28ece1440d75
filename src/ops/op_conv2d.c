/* conv2d: y = act(conv(x, W) + b) on NHWC images. W is (k_h, k_w, in_c, filters) row-major, so
 * with im2col rows of (ky, kx, c) the batch is one SGEMM
 * (batch*out_h*out_w, k_h*k_w*in_c) x (k_h*k_w*in_c, filters), written straight into the NHWC
 * output. The forward and the weight gradient read the im2col matrix straight from the images
 * (kernels_gemm packs it: no column buffer); the input gradient goes through a column buffer
 * and col2im, a chunk of samples at a time so the buffer stays bounded. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op_emit.h"
#include "ops/ops.h"
#include "kernels/activation.h"
#include "kernels/gemm.h"
#include "kernels/kernels.h"

struct conv2d_params {
    int filters;
    struct spec_pair kernel;
    struct spec_pair stride;
    struct spec_padding padding;
    struct spec_pair dilation;
    int activation; /* enum activation_kind */
    bool use_bias;
    int init;       /* enum spec_init */
};

#define P struct conv2d_params
static const struct schema_field conv2d_fields[] = {
    {.key = "filters", .type = SCHEMA_INT, .offset = offsetof(P, filters), .required = true, .min = 1, .max = 1 << 16,
     .doc = "output channels"},
    {.key = "kernel", .type = SCHEMA_PAIR, .offset = offsetof(P, kernel), .required = true, .min = 1, .max = 1024,
     .doc = "window size: N or [height, width]"},
    {.key = "stride", .type = SCHEMA_PAIR, .offset = offsetof(P, stride), .def = "1", .min = 1, .max = 1024,
     .doc = "step between windows: N or [height, width]"},
    {.key = "padding", .type = SCHEMA_PADDING, .offset = offsetof(P, padding), .def = "valid", .min = 0, .max = 1024,
     .doc = "valid (none), same (output = ceil(input / stride); extra row/column at the bottom/right), or zeros on each side: N or [height, width]"},
    {.key = "dilation", .type = SCHEMA_PAIR, .offset = offsetof(P, dilation), .def = "1", .min = 1, .max = 1024,
     .doc = "spacing between kernel taps: N or [height, width]"},
    {.key = "activation", .type = SCHEMA_ENUM, .offset = offsetof(P, activation), .def = "linear",
     .names = spec_activation_names, SCHEMA_NO_RANGE, .doc = "applied to the output (softmax: over channels)"},
    {.key = "use_bias", .type = SCHEMA_BOOL, .offset = offsetof(P, use_bias), .def = "true", SCHEMA_NO_RANGE,
     .doc = "add a learned bias per filter"},
    {.key = "init", .type = SCHEMA_ENUM, .offset = offsetof(P, init), .def = "auto", .names = spec_init_names,
     SCHEMA_NO_RANGE, .doc = "weight initialiser; auto = he_normal after relu-like activations, else glorot_uniform"},
};
#undef P
static const struct schema_section conv2d_schema = {
    .name = "conv2d", .fields = conv2d_fields, .field_count = SCHEMA_COUNT(conv2d_fields), .has_node = false};

/* The im2col buffer holds at most this many floats (one chunk of samples; at least one). */
enum { CONV_COL_BUDGET = 1 << 17 };

static bool conv2d_window(const struct conv2d_params *p, const struct spec_shape *in,
                          struct kernels_window *g)
{
    return kernels_window_init(g, in->dims[0], in->dims[1], in->dims[2], p->kernel.h, p->kernel.w,
                               p->stride.h, p->stride.w, p->dilation.h, p->dilation.w,
                               p->padding.mode, p->padding.h, p->padding.w);
}

static bool conv2d_shape(struct op_shape_args *args, struct ns_diag *diag)
{
    const struct conv2d_params *p = args->params;
    const struct spec_shape *in = &args->inputs[0];
    char in_text[48];
    op_shape_format(in, in_text);
    if (in->rank != 3) {
        op_shape_error(args, diag, "conv2d", NULL,
                       "conv2d cannot follow flatten or dense; for vector data use dense layers",
                       "conv2d needs an image input [height, width, channels], but its input is %s", in_text);
        return false;
    }
    struct kernels_window g;
    if (!conv2d_window(p, in, &g)) {
        char what[160];
        int span_h = (p->kernel.h - 1) * p->dilation.h + 1, span_w = (p->kernel.w - 1) * p->dilation.w + 1;
        if (p->dilation.h > 1 || p->dilation.w > 1)
            snprintf(what, sizeof what, "kernel [%d, %d] with dilation [%d, %d] (spanning [%d, %d])",
                     p->kernel.h, p->kernel.w, p->dilation.h, p->dilation.w, span_h, span_w);
        else
            snprintf(what, sizeof what, "kernel [%d, %d]", p->kernel.h, p->kernel.w);
        char padded[64] = "";
        if (p->padding.mode == SPEC_PAD_EXPLICIT)
            snprintf(padded, sizeof padded, " (padded to [%d, %d])", in->dims[0] + 2 * p->padding.h,
                     in->dims[1] + 2 * p->padding.w);
        op_shape_error(args, diag, "conv2d", "kernel",
                       "use padding: same, a smaller kernel, or fewer pooling/strided layers before this one",
                       "%s is larger than its input %s%s", what, in_text, padded);
        return false;
    }
    size_t k = (size_t)p->kernel.h * (size_t)p->kernel.w * (size_t)in->dims[2];
    size_t positions = (size_t)g.out_h * (size_t)g.out_w;
    args->output = (struct spec_shape){.rank = 3, .dims = {g.out_h, g.out_w, p->filters}};
    args->tensor_count = 0;
    args->tensors[args->tensor_count++] = (struct op_tensor_desc){
        .name = "weight", .size = k * (size_t)p->filters, .fan_in = (int)k,
        .fan_out = p->kernel.h * p->kernel.w * p->filters,
        .init = op_resolve_init(p->init, p->activation), .trainable = true};
    if (p->use_bias)
        args->tensors[args->tensor_count++] = op_constant_tensor("bias", (size_t)p->filters, 0.0, true);
    double outs = (double)positions * p->filters;
    args->flops = 2.0 * outs * (double)k + (p->use_bias ? outs : 0) + activation_flops(p->activation) * outs;
    args->saved_floats = activation_saves_input(p->activation) ? positions * (size_t)p->filters : 0;
    return true;
}

/* Everything the runs need, derived from the node. */
struct conv2d_plan {
    struct kernels_window g;
    int k;          /* k_h * k_w * in_c: the SGEMM depth */
    int positions;  /* out_h * out_w */
    int filters;
    bool direct;    /* 1x1, stride 1, no padding: the input is its own im2col */
    int chunk;      /* samples per im2col chunk */
    size_t in_size, out_size;
};

static void conv2d_plan(const struct op_node *node, int batch, struct conv2d_plan *plan)
{
    const struct conv2d_params *p = node->params;
    conv2d_window(p, &node->in_shapes[0], &plan->g);
    plan->k = plan->g.k_h * plan->g.k_w * plan->g.channels;
    plan->positions = plan->g.out_h * plan->g.out_w;
    plan->filters = p->filters;
    plan->direct = plan->g.k_h == 1 && plan->g.k_w == 1 && plan->g.stride_h == 1 && plan->g.stride_w == 1
                   && plan->g.pad_top == 0 && plan->g.pad_left == 0 && plan->g.pad_bottom == 0
                   && plan->g.pad_right == 0;
    size_t per_sample = (size_t)plan->positions * (size_t)plan->k;
    size_t chunk = per_sample ? CONV_COL_BUDGET / per_sample : 1;
    chunk = chunk < 1 ? 1 : chunk;
    plan->chunk = (int)(chunk < (size_t)batch ? chunk : (size_t)(batch > 0 ? batch : 1));
    plan->in_size = node->in_sizes[0];
    plan->out_size = node->out_size;
}

/* Backward's scratch: [dz (batch, out) when fused activation] [dcol (chunk rows, k)]
 * [W^T (filters, k)]. */
static size_t conv2d_col_floats(const struct conv2d_plan *plan)
{
    return plan->direct ? 0 : (size_t)plan->chunk * (size_t)plan->positions * (size_t)plan->k;
}

static size_t conv2d_scratch_floats(const struct op_node *node, int batch)
{
    const struct conv2d_params *p = node->params;
    struct conv2d_plan plan;
    conv2d_plan(node, batch, &plan);
    size_t dz = activation_needs_input(p->activation) ? (size_t)batch * node->out_size : 0;
    return dz + conv2d_col_floats(&plan) + (size_t)plan.k * (size_t)plan.filters;
}

static void conv2d_forward(const struct op_run_args *args)
{
    const struct op_node *node = args->node;
    const struct conv2d_params *p = node->params;
    struct conv2d_plan plan;
    conv2d_plan(node, args->batch, &plan);
    /* y = act(im2col(x) W + b), the pre-activation saved, in one GEMM with its epilogue. */
    struct gemm_args g = {.m = args->batch * plan.positions, .n = plan.filters, .k = plan.k,
                          .a = args->inputs[0], .lda = plan.k, .a_window = plan.direct ? NULL : &plan.g,
                          .b = args->tensors[0], .ldb = plan.filters, .c = args->output, .ldc = plan.filters,
                          .bias = p->use_bias ? args->tensors[1] : NULL,
                          .saved = activation_saves_input(p->activation) ? args->saved : NULL,
                          .activation = p->activation, .activation_alpha = ACTIVATION_LEAKY_ALPHA};
    kernels_gemm(&args->cpu, &args->gemm_work, &g);
}

static void conv2d_backward(const struct op_run_args *args)
{
    const struct op_node *node = args->node;
    const struct conv2d_params *p = node->params;
    int batch = args->batch;
    struct conv2d_plan plan;
    conv2d_plan(node, batch, &plan);
    float *owned = NULL;
    float *scratch = op_scratch(args, conv2d_scratch_floats(node, batch), &owned);
    size_t rows = (size_t)batch * (size_t)plan.positions;
    const float *dz = args->d_output; /* (batch, out_h, out_w, filters) */
    if (activation_needs_input(p->activation) && !node->output_grad_masked) {
        activation_backward(&args->cpu, p->activation, ACTIVATION_LEAKY_ALPHA,
                            activation_saves_input(p->activation) ? args->saved : args->output, args->d_output,
                            scratch, rows, (size_t)plan.filters, false);
        dz = scratch;
        scratch += (size_t)batch * node->out_size;
    }
    float *dw = args->d_tensors[0]; /* (k, filters) */
    float *dx = args->d_inputs[0];  /* (batch, H, W, C) */
    if (dx && plan.direct && args->d_inputs_fresh[0])
        memset(dx, 0, (size_t)batch * plan.in_size * sizeof *dx);
    if (dw) { /* dW = im2col(x)^T dz over the whole batch, k (the rows) in fixed chunks */
        struct gemm_args g = {.m = plan.k, .n = plan.filters, .k = (int)rows, .a = args->inputs[0], .lda = plan.k,
                              .trans_a = true, .a_window = plan.direct ? NULL : &plan.g, .b = dz,
                              .ldb = plan.filters, .c = dw, .ldc = plan.filters, .split_k = true};
        kernels_gemm(&args->cpu, &args->gemm_work, &g);
    }
    /* W^T once for all chunks: each GEMM would otherwise transpose W while packing it. */
    float *wt = scratch + conv2d_col_floats(&plan);
    if (dx)
        kernels_transpose(&args->cpu, (size_t)plan.k, (size_t)plan.filters, args->tensors[0], wt);
    for (int s0 = 0; dx && s0 < batch; s0 += plan.chunk) {
        int ns = batch - s0 < plan.chunk ? batch - s0 : plan.chunk;
        float *dxc = dx + (size_t)s0 * plan.in_size;
        /* dcol = dz W^T, added into dx by col2im (or straight into dx when direct). */
        struct gemm_args g = {.m = ns * plan.positions, .n = plan.k, .k = plan.filters,
                              .a = dz + (size_t)s0 * plan.out_size, .lda = plan.filters, .b = wt,
                              .ldb = plan.k, .c = plan.direct ? dxc : scratch, .ldc = plan.k,
                              .accumulate = plan.direct};
        kernels_gemm(&args->cpu, &args->gemm_work, &g);
        if (!plan.direct)
            kernels_col2im_add(&args->cpu, &plan.g, ns, scratch, dxc, args->d_inputs_fresh[0]);
    }
    if (p->use_bias && args->d_tensors[1])
        kernels_col_sum(&args->cpu, rows, (size_t)plan.filters, dz, args->d_tensors[1]);
    free(owned);
}

static int conv2d_output_activation(const struct op_node *node)
{
    return ((const struct conv2d_params *)node->params)->activation;
}

/* The forward for one sample: nsk_conv2d (the im2col + SGEMM sums, bias included), then the
 * activation. */
static void conv2d_emit(const struct op_emit_args *args)
{
    const struct op_node *node = args->node;
    const struct conv2d_params *p = node->params;
    struct conv2d_plan plan;
    conv2d_plan(node, 1, &plan);
    op_emit_conv2d(args, &plan.g, "in[0]", 0, p->use_bias ? 1 : -1, "out", (size_t)plan.filters);
    op_emit_activation(args, p->activation, ACTIVATION_LEAKY_ALPHA, "out", (size_t)plan.positions,
                      (size_t)plan.filters);
}

const struct op_def op_conv2d = {
    .layer = {
        .name = "conv2d",
        .doc = "2-D convolution over [height, width, channels] images with filters output channels",
        .param_schema = &conv2d_schema,
        .param_size = sizeof(struct conv2d_params),
        .min_inputs = 1,
        .max_inputs = 1,
        .check = op_check_none,
    },
    .shape = conv2d_shape,
    .scratch_floats = conv2d_scratch_floats,
    .forward = conv2d_forward,
    .backward = conv2d_backward,
    .fills_fresh_gradients = true,
    .output_activation = conv2d_output_activation,
    .emit_c = conv2d_emit,
};
