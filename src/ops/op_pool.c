/* The keys and shape rule maxpool2d and avgpool2d share. */
#include <stddef.h>
#include <stdio.h>

#include "ops/ops.h"

#define P struct op_pool_params
#define POOL_FIELDS(what)                                                                          \
    {.key = "size", .type = SCHEMA_PAIR, .offset = offsetof(P, size), .def = "2", .min = 1, .max = 1024,          \
     .doc = "window size: N or [height, width]; each output is the " what " of one window"},                    \
    {.key = "stride", .type = SCHEMA_PAIR, .offset = offsetof(P, stride), .def = "auto", .auto_ok = true,        \
     .min = 1, .max = 1024, .doc = "step between windows: N or [height, width]; auto = size (no overlap)"},      \
    {.key = "padding", .type = SCHEMA_PADDING, .offset = offsetof(P, padding), .def = "valid", .min = 0,        \
     .max = 1024, .doc = "valid (drop what does not fill a window), same (output = ceil(input / stride)), or "   \
     "N or [height, width] on each side; padding never enters the " what}
static const struct schema_field pool_max_fields[] = {POOL_FIELDS("maximum")};
static const struct schema_field pool_avg_fields[] = {POOL_FIELDS("average")};
#undef POOL_FIELDS
#undef P

const struct schema_section op_pool_schema_max = {
    .name = "maxpool2d", .fields = pool_max_fields, .field_count = SCHEMA_COUNT(pool_max_fields), .has_node = false};
const struct schema_section op_pool_schema_avg = {
    .name = "avgpool2d", .fields = pool_avg_fields, .field_count = SCHEMA_COUNT(pool_avg_fields), .has_node = false};

static bool pool_window(const struct op_pool_params *p, const struct spec_shape *in,
                        struct kernels_window *g)
{
    int sh = p->stride.h == SPEC_AUTO ? p->size.h : p->stride.h;
    int sw = p->stride.w == SPEC_AUTO ? p->size.w : p->stride.w;
    return kernels_window_init(g, in->dims[0], in->dims[1], in->dims[2], p->size.h, p->size.w, sh, sw,
                               1, 1, p->padding.mode, p->padding.h, p->padding.w);
}

void op_pool_window(const struct op_node *node, struct kernels_window *g)
{
    pool_window(node->params, &node->in_shapes[0], g);
}

bool op_pool_shape(struct op_shape_args *args, struct ns_diag *diag, const char *op_name,
                   bool keep_argmax)
{
    const struct op_pool_params *p = args->params;
    const struct spec_shape *in = &args->inputs[0];
    char in_text[48];
    op_shape_format(in, in_text);
    if (in->rank != 3) {
        op_shape_error(args, diag, op_name, NULL, "pooling works on images; it cannot follow flatten or dense",
                       "%s needs an image input [height, width, channels], but its input is %s", op_name,
                       in_text);
        return false;
    }
    if (p->padding.mode == SPEC_PAD_EXPLICIT && (p->padding.h >= p->size.h || p->padding.w >= p->size.w)) {
        op_shape_error(args, diag, op_name, "padding", "padding must be smaller than the window",
                       "padding [%d, %d] would leave windows with nothing but padding (size [%d, %d])",
                       p->padding.h, p->padding.w, p->size.h, p->size.w);
        return false;
    }
    struct kernels_window g;
    if (!pool_window(p, in, &g)) {
        op_shape_error(args, diag, op_name, "size",
                       "use padding: same, a smaller size, or fewer pooling layers before this one",
                       "window [%d, %d] is larger than its input %s", p->size.h, p->size.w, in_text);
        return false;
    }
    args->output = (struct spec_shape){.rank = 3, .dims = {g.out_h, g.out_w, in->dims[2]}};
    args->tensor_count = 0;
    size_t out_size = op_shape_size(&args->output);
    args->flops = (double)out_size * p->size.h * p->size.w;
    args->saved_floats = keep_argmax ? out_size : 0;
    return true;
}
