/* dropout: in training each element is kept with probability 1 - rate and scaled by
 * 1 / (1 - rate) (inverted dropout, so evaluation is the identity). The mask of an element is
 * a pure function of (rng_key, node, sample id, element): it does not depend on the batch
 * composition or on threads, and a repeated forward with the same key repeats it. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/ns_util.h"
#include "ops/op_emit.h"
#include "ops/ops.h"
#include "kernels/rng.h"

struct dropout_params {
    double rate;
};

static const struct schema_field dropout_fields[] = {
    {.key = "rate", .type = SCHEMA_FLOAT, .offset = offsetof(struct dropout_params, rate), .required = true,
     .min = 0, .max = 1, .min_exclusive = false,
     .doc = "fraction of inputs set to zero in training, in [0, 1); `- dropout: 0.3` is short for {rate: 0.3}"},
};
static const struct schema_section dropout_schema = {
    .name = "dropout", .fields = dropout_fields, .field_count = SCHEMA_COUNT(dropout_fields), .has_node = false};

/* The schema's range is inclusive; 1 itself is refused here. */
static bool dropout_check(const void *params, const struct spec_layer *layer, struct ns_diag *diag)
{
    const struct dropout_params *p = params;
    if (p->rate < 1.0)
        return true;
    char label[OP_LABEL_MAX];
    op_layer_label(layer, "dropout", label);
    ns_diag_add(diag, NS_ERR_SPEC, op_key_loc(layer, "rate"), "use a rate below 1, such as 0.5",
                "%s: rate must be below 1 (a rate of 1 drops every input)", label);
    return false;
}

static bool dropout_shape(struct op_shape_args *args, struct ns_diag *diag)
{
    (void)diag;
    args->output = args->inputs[0];
    args->tensor_count = 0;
    size_t size = op_shape_size(&args->inputs[0]);
    args->flops = (double)size;
    args->saved_floats = size;
    return true;
}

/* The multiplier of every element of row r: 0 or 1 / (1 - rate). */
static void dropout_mask_row(const struct op_run_args *args, const struct dropout_params *p, int r,
                             float *mask)
{
    size_t size = args->node->out_size;
    float rate = (float)p->rate;
    float scale = (float)(1.0 / (1.0 - p->rate));
    uint64_t id = args->sample_ids ? args->sample_ids[r] : (uint64_t)r;
    uint64_t key = rng_mix(rng_mix(args->rng_key, (uint64_t)args->node->index), id);
    for (size_t e = 0; e < size; e++)
        mask[e] = rng_uniform(key, e) < rate ? 0.0f : scale;
}

static void dropout_forward(const struct op_run_args *args)
{
    const struct dropout_params *p = args->node->params;
    size_t size = args->node->out_size;
    size_t n = (size_t)args->batch * size;
    if (!args->training) {
        if (n > 0 && args->output != args->inputs[0])
            memcpy(args->output, args->inputs[0], n * sizeof *args->output);
        return;
    }
    float *row_mask = args->saved ? NULL : ns_xmalloc(size * sizeof *row_mask);
    for (int r = 0; r < args->batch; r++) {
        float *mask = args->saved ? args->saved + (size_t)r * size : row_mask;
        dropout_mask_row(args, p, r, mask);
        const float *x = args->inputs[0] + (size_t)r * size;
        float *y = args->output + (size_t)r * size;
        for (size_t e = 0; e < size; e++)
            y[e] = x[e] * mask[e];
    }
    free(row_mask);
}

static void dropout_backward(const struct op_run_args *args)
{
    const struct dropout_params *p = args->node->params;
    float *dx = args->d_inputs[0];
    if (!dx)
        return;
    size_t size = args->node->out_size;
    size_t n = (size_t)args->batch * size;
    if (!args->training) {
        for (size_t i = 0; i < n; i++)
            dx[i] += args->d_output[i];
        return;
    }
    /* Without the saved mask, the same key regenerates it. */
    float *row_mask = args->saved ? NULL : ns_xmalloc(size * sizeof *row_mask);
    for (int r = 0; r < args->batch; r++) {
        const float *mask = row_mask;
        if (args->saved)
            mask = args->saved + (size_t)r * size;
        else
            dropout_mask_row(args, p, r, row_mask);
        const float *dy = args->d_output + (size_t)r * size;
        float *d = dx + (size_t)r * size;
        for (size_t e = 0; e < size; e++)
            d[e] += dy[e] * mask[e];
    }
    free(row_mask);
}

/* Inference: the identity. */
static void dropout_emit(const struct op_emit_args *args)
{
    op_emit_copy(args, "in[0]", "out", args->node->out_size);
}

const struct op_def op_dropout = {
    .layer = {
        .name = "dropout",
        .doc = "in training, zero each input with probability rate and scale the rest by 1/(1-rate); identity otherwise",
        .param_schema = &dropout_schema,
        .param_size = sizeof(struct dropout_params),
        .shorthand_key = "rate",
        .min_inputs = 1,
        .max_inputs = 1,
        .check = dropout_check,
    },
    .shape = dropout_shape,
    .scratch_floats = op_scratch_none,
    .forward = dropout_forward,
    .backward = dropout_backward,
    .emit_c = dropout_emit,
};
