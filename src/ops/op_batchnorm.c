/* batchnorm: per channel of an image (over batch, height and width) or per feature of a vector
 * (over the batch), y = gamma * (x - mean) / sqrt(var + eps) + beta. Training uses the batch's
 * statistics (biased variance) and moves the running ones:
 * running = momentum * running + (1 - momentum) * batch (running_var takes the unbiased
 * variance). Evaluation uses the running statistics. Backward recomputes the batch statistics
 * from the input with the same code, so they are bit-identical to forward's. */
#include <stddef.h>
#include <stdlib.h>

#include "core/ns_util.h"
#include "ops/op_emit.h"
#include "ops/ops.h"
#include "kernels/kernels.h"
#include "kernels/nsk.h"

struct batchnorm_params {
    double momentum;
    double eps;
};

enum { BN_GAMMA, BN_BETA, BN_MEAN, BN_VAR };

#define P struct batchnorm_params
static const struct schema_field batchnorm_fields[] = {
    {.key = "momentum", .type = SCHEMA_FLOAT, .offset = offsetof(P, momentum), .def = "0.9", .min = 0, .max = 1,
     .doc = "running = momentum * running + (1 - momentum) * batch statistic, once per training batch"},
    {.key = "eps", .type = SCHEMA_FLOAT, .offset = offsetof(P, eps), .def = "1e-05", .min = 0, .max = 1,
     .min_exclusive = true, .doc = "added to the variance before the square root"},
};
#undef P
static const struct schema_section batchnorm_schema = {
    .name = "batchnorm", .fields = batchnorm_fields, .field_count = SCHEMA_COUNT(batchnorm_fields),
    .has_node = false};

static bool batchnorm_shape(struct op_shape_args *args, struct ns_diag *diag)
{
    (void)diag;
    const struct spec_shape *in = &args->inputs[0];
    size_t rows, cols;
    op_shape_rows_cols(in, &rows, &cols);
    args->output = *in;
    args->tensor_count = 4;
    args->tensors[BN_GAMMA] = op_constant_tensor("gamma", cols, 1.0, true);
    args->tensors[BN_BETA] = op_constant_tensor("beta", cols, 0.0, true);
    args->tensors[BN_MEAN] = op_constant_tensor("running_mean", cols, 0.0, false);
    args->tensors[BN_VAR] = op_constant_tensor("running_var", cols, 1.0, false);
    args->flops = 2.0 * (double)op_shape_size(in);
    args->saved_floats = 0;
    return true;
}

/* mean and inv_std (cols each): from the batch when batch_stats, else the running ones. */
static void batchnorm_stats(const struct op_run_args *args, bool batch_stats, size_t rows, size_t cols,
                            float *mean, float *var, float *inv_std)
{
    const struct batchnorm_params *p = args->node->params;
    if (batch_stats) {
        kernels_col_moments(&args->cpu, rows, cols, args->inputs[0], mean, var);
    } else {
        for (size_t c = 0; c < cols; c++) {
            mean[c] = args->tensors[BN_MEAN][c];
            var[c] = args->tensors[BN_VAR][c];
        }
    }
    for (size_t c = 0; c < cols; c++)
        inv_std[c] = nsk_batchnorm_inv_std(var[c], (float)p->eps);
}

static void batchnorm_forward(const struct op_run_args *args)
{
    const struct op_node *node = args->node;
    const struct batchnorm_params *p = node->params;
    size_t rows, cols;
    op_shape_rows_cols(&node->in_shapes[0], &rows, &cols);
    rows *= (size_t)args->batch;
    bool batch_stats = args->training && rows > 0;
    float *buf = ns_xmalloc(5 * cols * sizeof *buf);
    float *mean = buf, *var = buf + cols, *inv_std = buf + 2 * cols, *scale = buf + 3 * cols,
          *shift = buf + 4 * cols;
    batchnorm_stats(args, batch_stats, rows, cols, mean, var, inv_std);
    /* The emitted C folds the running statistics with the same function. */
    nsk_batchnorm_fold(args->tensors[BN_GAMMA], args->tensors[BN_BETA], mean, var, (float)p->eps, cols, scale,
                       shift);
    kernels_col_affine(&args->cpu, rows, cols, args->inputs[0], scale, shift, args->output);
    if (batch_stats) {
        double unbias = rows > 1 ? (double)rows / (double)(rows - 1) : 1.0;
        float *rm = args->tensors[BN_MEAN], *rv = args->tensors[BN_VAR];
        for (size_t c = 0; c < cols; c++) {
            rm[c] = (float)(p->momentum * rm[c] + (1.0 - p->momentum) * mean[c]);
            rv[c] = (float)(p->momentum * rv[c] + (1.0 - p->momentum) * var[c] * unbias);
        }
    }
    free(buf);
}

static void batchnorm_backward(const struct op_run_args *args)
{
    const struct op_node *node = args->node;
    size_t rows, cols;
    op_shape_rows_cols(&node->in_shapes[0], &rows, &cols);
    rows *= (size_t)args->batch;
    /* Forward already moved the running statistics; the batch ones are recomputed, and in
     * evaluation mode the running ones are constants. */
    bool batch_stats = args->training && rows > 0;
    float *buf = ns_xmalloc(5 * cols * sizeof *buf);
    float *mean = buf, *var = buf + cols, *inv_std = buf + 2 * cols;
    float *d_gamma = args->d_tensors[BN_GAMMA] ? args->d_tensors[BN_GAMMA] : buf + 3 * cols;
    float *d_beta = args->d_tensors[BN_BETA] ? args->d_tensors[BN_BETA] : buf + 4 * cols;
    batchnorm_stats(args, batch_stats, rows, cols, mean, var, inv_std);
    kernels_batchnorm_backward(&args->cpu, rows, cols, args->inputs[0], args->d_output, mean, inv_std,
                               args->tensors[BN_GAMMA], batch_stats, d_gamma, d_beta, args->d_inputs[0]);
    for (int t = BN_MEAN; t <= BN_VAR; t++)
        for (size_t c = 0; args->d_tensors[t] && c < cols; c++)
            args->d_tensors[t][c] = 0.0f;
    free(buf);
}

/* Inference with the running statistics, as batchnorm_forward: nsk_batchnorm_fold into
 * scratch, then nsk_affine_cols (kernels_col_affine's fmaf(x, scale, shift)). */
static void batchnorm_emit(const struct op_emit_args *args)
{
    const struct op_node *node = args->node;
    const struct batchnorm_params *p = node->params;
    size_t rows, cols;
    op_shape_rows_cols(&node->in_shapes[0], &rows, &cols);
    char eps[OP_EMIT_FLOAT_MAX];
    op_emit_tensor(args, "gamma", BN_GAMMA, "channels");
    op_emit_tensor(args, "beta", BN_BETA, "channels");
    op_emit_tensor(args, "mean", BN_MEAN, "channels");
    op_emit_tensor(args, "var", BN_VAR, "channels");
    op_emit_scratch(args, 2 * cols);
    ns_buf_printf(args->out,
                  "    nsk_batchnorm_fold(gamma, beta, mean, var, %s, %zu, scratch, scratch + %zu);\n"
                  "    nsk_affine_cols(in[0], scratch, scratch + %zu, %zu, %zu, out);\n",
                  op_emit_float((float)p->eps, eps), cols, cols, cols, rows, cols);
}

const struct op_def op_batchnorm = {
    .layer = {
        .name = "batchnorm",
        .doc = "batch normalisation per channel (images) or per feature (vectors), with learned scale and shift",
        .param_schema = &batchnorm_schema,
        .param_size = sizeof(struct batchnorm_params),
        .min_inputs = 1,
        .max_inputs = 1,
        .check = op_check_none,
    },
    .shape = batchnorm_shape,
    .scratch_floats = op_scratch_none,
    .forward = batchnorm_forward,
    .backward = batchnorm_backward,
    .emit_c = batchnorm_emit,
};
