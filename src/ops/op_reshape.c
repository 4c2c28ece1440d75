/* reshape: the same values read as another shape, e.g. 64 CSV pixel columns as an [8, 8, 1]
 * image so conv2d can follow. A batch row is the sample's values in NHWC order whatever the
 * shape: forward, backward and emission are flatten's (op_same_values_*). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/ns_util.h"
#include "ops/op_emit.h"
#include "ops/ops.h"

struct reshape_params {
    struct spec_shape shape;
};

static const struct schema_field reshape_fields[] = {
    {.key = "shape", .type = SCHEMA_SHAPE, .offset = offsetof(struct reshape_params, shape), .required = true,
     .min = 1, .max = 1 << 20,
     .doc = "the output shape, [height, width, channels] or [features]; it holds as many values as the input"},
};
static const struct schema_section reshape_schema = {
    .name = "reshape", .fields = reshape_fields, .field_count = SCHEMA_COUNT(reshape_fields), .has_node = false};

/* A shape of `count` values that keeps as much of `wanted` as divides evenly, for the hint. */
static void reshape_suggest(const struct spec_shape *wanted, size_t count, char out[48])
{
    size_t hw = wanted->rank == 3 ? (size_t)wanted->dims[0] * (size_t)wanted->dims[1] : 0;
    if (hw && count % hw == 0 && count / hw <= (1u << 20)) {
        struct spec_shape s = {.rank = 3, .dims = {wanted->dims[0], wanted->dims[1], (int)(count / hw)}};
        op_shape_format(&s, out);
    } else {
        struct spec_shape s = {.rank = 1, .dims = {(int)count, 0, 0}};
        op_shape_format(&s, out);
    }
}

static bool reshape_shape(struct op_shape_args *args, struct ns_diag *diag)
{
    const struct reshape_params *p = args->params;
    size_t in_size = op_shape_size(&args->inputs[0]);
    size_t out_size = op_shape_size(&p->shape);
    if (out_size != in_size) {
        char in_text[48], out_text[48], fits[48];
        op_shape_format(&args->inputs[0], in_text);
        op_shape_format(&p->shape, out_text);
        reshape_suggest(&p->shape, in_size, fits);
        char *hint = ns_asprintf("a reshape keeps every value: give a shape of %zu values, such as %s", in_size,
                                 fits);
        op_shape_error(args, diag, "reshape", "shape", hint, "shape %s holds %zu values, but its input %s holds %zu",
                       out_text, out_size, in_text, in_size);
        free(hint);
        return false;
    }
    args->output = p->shape;
    args->tensor_count = 0;
    args->flops = 0;
    args->saved_floats = 0;
    return true;
}

const struct op_def op_reshape = {
    .layer = {
        .name = "reshape",
        .doc = "the same values as another shape, e.g. [64] -> [8, 8, 1] so tabular pixels can feed conv2d",
        .param_schema = &reshape_schema,
        .param_size = sizeof(struct reshape_params),
        .min_inputs = 1,
        .max_inputs = 1,
        .check = op_check_none,
    },
    .shape = reshape_shape,
    .scratch_floats = op_scratch_none,
    .forward = op_same_values_forward,
    .backward = op_same_values_backward,
    .fills_fresh_gradients = true,
    .emit_c = op_same_values_emit,
};
