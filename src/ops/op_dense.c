/* dense: y = act(x W + b), x a flat vector. W is (in, units) row-major, so a batch is one
 * SGEMM (batch, in) x (in, units). The pre-activation is saved for backward. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op_emit.h"
#include "ops/ops.h"
#include "kernels/activation.h"
#include "kernels/gemm.h"
#include "kernels/kernels.h"

struct dense_params {
    int units;      /* SPEC_AUTO = the number of classes */
    int activation; /* enum activation_kind */
    bool use_bias;
    int init;       /* enum spec_init */
};

#define P struct dense_params
static const struct schema_field dense_fields[] = {
    {.key = "units", .type = SCHEMA_INT, .offset = offsetof(P, units), .required = true, .auto_ok = true,
     .min = 1, .max = 1 << 24, .doc = "output features; auto = the number of classes (for the last layer)"},
    {.key = "activation", .type = SCHEMA_ENUM, .offset = offsetof(P, activation), .def = "linear",
     .names = spec_activation_names, SCHEMA_NO_RANGE,
     .doc = "applied to the output; linear (none) for the last layer, whose logits the loss takes"},
    {.key = "use_bias", .type = SCHEMA_BOOL, .offset = offsetof(P, use_bias), .def = "true", SCHEMA_NO_RANGE,
     .doc = "add a learned bias per unit"},
    {.key = "init", .type = SCHEMA_ENUM, .offset = offsetof(P, init), .def = "auto", .names = spec_init_names,
     SCHEMA_NO_RANGE, .doc = "weight initialiser; auto = he_normal after relu-like activations, else glorot_uniform"},
};
#undef P
static const struct schema_section dense_schema = {
    .name = "dense", .fields = dense_fields, .field_count = SCHEMA_COUNT(dense_fields), .has_node = false};

static bool dense_shape(struct op_shape_args *args, struct ns_diag *diag)
{
    const struct dense_params *p = args->params;
    const struct spec_shape *in = &args->inputs[0];
    char in_text[48];
    op_shape_format(in, in_text);
    if (in->rank != 1) {
        char hint[160];
        snprintf(hint, sizeof hint, "`- flatten` turns %s into [%zu]; `- global_avgpool2d` into [%d]",
                 in_text, op_shape_size(in), in->rank == 3 ? in->dims[2] : 0);
        op_shape_error(args, diag, "dense", NULL, hint,
                       "dense needs a flat input; add a flatten layer before it (its input is %s)", in_text);
        return false;
    }
    int units = p->units;
    if (units == SPEC_AUTO) {
        if (args->class_count <= 0) {
            op_shape_error(args, diag, "dense", "units",
                           "write the number of outputs, or give the data's classes",
                           "units: auto means the number of classes, which is not known here");
            return false;
        }
        units = args->class_count;
    }
    if (units < 1) {
        op_shape_error(args, diag, "dense", "units", NULL, "units must be at least 1, not %d", units);
        return false;
    }
    size_t n_in = (size_t)in->dims[0];
    args->output = (struct spec_shape){.rank = 1, .dims = {units, 0, 0}};
    args->tensor_count = 0;
    args->tensors[args->tensor_count++] = (struct op_tensor_desc){
        .name = "weight", .size = n_in * (size_t)units, .fan_in = (int)n_in, .fan_out = units,
        .init = op_resolve_init(p->init, p->activation), .trainable = true};
    if (p->use_bias)
        args->tensors[args->tensor_count++] = op_constant_tensor("bias", (size_t)units, 0.0, true);
    args->flops = 2.0 * (double)n_in * units + (p->use_bias ? units : 0)
                  + activation_flops(p->activation) * units;
    args->saved_floats = activation_saves_input(p->activation) ? (size_t)units : 0;
    return true;
}

static size_t dense_scratch_floats(const struct op_node *node, int batch)
{
    const struct dense_params *p = node->params;
    return activation_needs_input(p->activation) ? (size_t)batch * node->out_size : 0;
}

static void dense_forward(const struct op_run_args *args)
{
    const struct op_node *node = args->node;
    const struct dense_params *p = node->params;
    int n_in = (int)node->in_sizes[0], units = (int)node->out_size, batch = args->batch;
    /* y (batch, units) = act(x W + b), the pre-activation saved, all in the GEMM's epilogue. */
    struct gemm_args g = {.m = batch, .n = units, .k = n_in, .a = args->inputs[0], .lda = n_in,
                          .b = args->tensors[0], .ldb = units, .c = args->output, .ldc = units,
                          .bias = p->use_bias ? args->tensors[1] : NULL,
                          .saved = activation_saves_input(p->activation) ? args->saved : NULL,
                          .activation = p->activation, .activation_alpha = ACTIVATION_LEAKY_ALPHA};
    kernels_gemm(&args->cpu, &args->gemm_work, &g);
}

static void dense_backward(const struct op_run_args *args)
{
    const struct op_node *node = args->node;
    const struct dense_params *p = node->params;
    int n_in = (int)node->in_sizes[0], units = (int)node->out_size, batch = args->batch;
    float *owned = NULL;
    const float *dz = args->d_output; /* (batch, units) */
    if (activation_needs_input(p->activation)) {
        float *buf = op_scratch(args, dense_scratch_floats(node, batch), &owned);
        activation_backward(&args->cpu, p->activation, ACTIVATION_LEAKY_ALPHA,
                            activation_saves_input(p->activation) ? args->saved : args->output, args->d_output, buf,
                            (size_t)batch, (size_t)units, false);
        dz = buf;
    }
    if (args->d_tensors[0]) { /* dW (in, units) = x^T dz, k (the batch) in fixed chunks */
        struct gemm_args g = {.m = n_in, .n = units, .k = batch, .a = args->inputs[0], .lda = n_in,
                              .trans_a = true, .b = dz, .ldb = units, .c = args->d_tensors[0], .ldc = units,
                              .split_k = true};
        kernels_gemm(&args->cpu, &args->gemm_work, &g);
    }
    if (p->use_bias && args->d_tensors[1])
        kernels_col_sum(&args->cpu, (size_t)batch, (size_t)units, dz, args->d_tensors[1]);
    if (args->d_inputs[0]) { /* dx (batch, in) += dz W^T */
        struct gemm_args g = {.m = batch, .n = n_in, .k = units, .a = dz, .lda = units, .b = args->tensors[0],
                              .ldb = units, .trans_b = true, .c = args->d_inputs[0], .ldc = n_in,
                              .accumulate = true};
        kernels_gemm(&args->cpu, &args->gemm_work, &g);
    }
    free(owned);
}

/* One sample: nsk_dense (x W, then + bias), then the activation, as dense_forward. */
static void dense_emit(const struct op_emit_args *args)
{
    const struct op_node *node = args->node;
    const struct dense_params *p = node->params;
    op_emit_dense(args, "in[0]", 0, p->use_bias ? 1 : -1, "out", node->in_sizes[0], node->out_size);
    op_emit_activation(args, p->activation, ACTIVATION_LEAKY_ALPHA, "out", 1, node->out_size);
}

const struct op_def op_dense = {
    .layer = {
        .name = "dense",
        .doc = "fully connected layer: units outputs, each a weighted sum of every input plus a bias",
        .param_schema = &dense_schema,
        .param_size = sizeof(struct dense_params),
        .min_inputs = 1,
        .max_inputs = 1,
        .check = op_check_none,
    },
    .shape = dense_shape,
    .scratch_floats = dense_scratch_floats,
    .forward = dense_forward,
    .backward = dense_backward,
    .emit_c = dense_emit,
};
