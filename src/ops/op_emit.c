#include "ops/op_emit.h"

#include <stdio.h>

#include "core/ns_util.h"
#include "kernels/activation.h"
#include "spec/spec.h"

/* activation.c's gelu constants, written the same way so they round to the same floats. */
static const float emit_gelu_c = 0.7978845608028654f;
static const float emit_gelu_k = 0.044715f;

const char *op_emit_float(float v, char out[OP_EMIT_FLOAT_MAX])
{
    snprintf(out, OP_EMIT_FLOAT_MAX, "%af", (double)v);
    return out;
}

const char *op_emit_double(double v, char out[OP_EMIT_FLOAT_MAX])
{
    snprintf(out, OP_EMIT_FLOAT_MAX, "%a", v);
    return out;
}

void op_emit_scratch(const struct op_emit_args *a, size_t floats)
{
    if (floats > a->state->scratch_floats)
        a->state->scratch_floats = floats;
}

void op_emit_tensor(const struct op_emit_args *a, const char *var, int tensor, const char *shape)
{
    ns_buf_printf(a->out, "    const float *%s = %s_params + %zu; /* %s */\n", var, a->prefix,
                  a->node->tensor_offset[tensor], shape);
}

void op_emit_copy(const struct op_emit_args *a, const char *src, const char *dst, size_t n)
{
    ns_buf_printf(a->out,
                  "    for (size_t i = 0; i < %zu; i++)\n"
                  "        %s[i] = %s[i];\n",
                  n, dst, src);
}

void op_emit_matmul(const struct op_emit_args *a, const char *src, int tensor, const char *dst,
                   size_t rows, size_t k, size_t n)
{
    /* Row by row, and within a row k-outer over every output: each output still sums its own
     * terms in k order from 0, the order kernels_sgemm keeps, while the inner loop runs along
     * contiguous weights. */
    struct ns_buf *o = a->out;
    ns_buf_printf(o, "    {\n        const float *w = %s_params + %zu; /* (%zu, %zu) */\n", a->prefix,
                  a->node->tensor_offset[tensor], k, n);
    ns_buf_printf(o,
                  "        for (size_t r = 0; r < %zu; r++) {\n"
                  "            const float *s = %s + r * %zu;\n"
                  "            float *d = %s + r * %zu;\n"
                  "            for (size_t j = 0; j < %zu; j++)\n"
                  "                d[j] = 0.0f;\n"
                  "            for (size_t p = 0; p < %zu; p++) {\n"
                  "                const float sp = s[p];\n"
                  "                const float *wp = w + p * %zu;\n"
                  "                for (size_t j = 0; j < %zu; j++)\n"
                  "                    d[j] += sp * wp[j];\n"
                  "            }\n"
                  "        }\n"
                  "    }\n",
                  rows, src, k, dst, n, n, k, n, n);
}

void op_emit_bias_add(const struct op_emit_args *a, const char *dst, int tensor, size_t rows, size_t cols)
{
    ns_buf_printf(a->out,
                  "    {\n"
                  "        const float *b = %s_params + %zu; /* (%zu) */\n"
                  "        for (size_t r = 0; r < %zu; r++)\n"
                  "            for (size_t c = 0; c < %zu; c++)\n"
                  "                %s[r * %zu + c] += b[c];\n"
                  "    }\n",
                  a->prefix, a->node->tensor_offset[tensor], cols, rows, cols, dst, cols);
}

void op_emit_activation(const struct op_emit_args *a, int act, float alpha, const char *x, size_t rows,
                       size_t cols)
{
    struct ns_buf *o = a->out;
    size_t n = rows * cols;
    char lit[OP_EMIT_FLOAT_MAX];
    switch (act) {
    case ACT_LINEAR:
        return;
    case ACT_SOFTMAX:
        a->state->helpers |= OP_EMIT_HELPER_SOFTMAX;
        ns_buf_printf(o,
                      "    for (size_t r = 0; r < %zu; r++)\n"
                      "        %s_softmax_row(%s + r * %zu, %zu);\n",
                      rows, a->prefix, x, cols, cols);
        return;
    case ACT_RELU:
        ns_buf_printf(o, "    for (size_t i = 0; i < %zu; i++)\n        %s[i] = %s[i] > 0.0f ? %s[i] : 0.0f;\n",
                      n, x, x, x);
        return;
    case ACT_LEAKY_RELU:
        ns_buf_printf(o,
                      "    for (size_t i = 0; i < %zu; i++)\n        %s[i] = %s[i] > 0.0f ? %s[i] : %s * %s[i];\n",
                      n, x, x, x, op_emit_float(alpha, lit), x);
        return;
    case ACT_SIGMOID:
        a->state->helpers |= OP_EMIT_HELPER_SIGMOID;
        ns_buf_printf(o, "    for (size_t i = 0; i < %zu; i++)\n        %s[i] = %s_sigmoid(%s[i]);\n", n, x,
                      a->prefix, x);
        return;
    case ACT_TANH:
        ns_buf_printf(o, "    for (size_t i = 0; i < %zu; i++)\n        %s[i] = tanhf(%s[i]);\n", n, x, x);
        return;
    case ACT_GELU:
        a->state->helpers |= OP_EMIT_HELPER_GELU;
        ns_buf_printf(o, "    for (size_t i = 0; i < %zu; i++)\n        %s[i] = %s_gelu(%s[i]);\n", n, x,
                      a->prefix, x);
        return;
    default:
        /* A new activation without an emitted form: the emitted file will not compile. */
        ns_buf_printf(o, "#error \"activation %d has no emitted form\"\n", act);
        return;
    }
}

/* Opens a loop over every output position, with oy, ox and the output row at `row`. */
static void window_loops_open(struct ns_buf *o, const struct kernels_window *g)
{
    ns_buf_printf(o,
                  "    for (int oy = 0; oy < %d; oy++)\n"
                  "        for (int ox = 0; ox < %d; ox++) {\n",
                  g->out_h, g->out_w);
}

void op_emit_im2col(const struct op_emit_args *a, const struct kernels_window *g, const char *src,
                   const char *col)
{
    struct ns_buf *o = a->out;
    size_t ch = (size_t)g->channels, kcols = (size_t)g->k_h * (size_t)g->k_w * ch;
    ns_buf_printf(o, "    /* im2col: rows (out_h, out_w) = (%d, %d), columns (ky, kx, c) = (%d, %d, %zu) */\n",
                  g->out_h, g->out_w, g->k_h, g->k_w, ch);
    window_loops_open(o, g);
    ns_buf_printf(o,
                  "            float *dst = %s + ((size_t)oy * %d + (size_t)ox) * %zu;\n"
                  "            for (int ky = 0; ky < %d; ky++) {\n"
                  "                int iy = oy * %d + ky * %d - %d;\n"
                  "                for (int kx = 0; kx < %d; kx++) {\n"
                  "                    int ix = ox * %d + kx * %d - %d;\n"
                  "                    float *d = dst + ((size_t)ky * %d + (size_t)kx) * %zu;\n"
                  "                    if (iy < 0 || iy >= %d || ix < 0 || ix >= %d) {\n"
                  "                        for (size_t c = 0; c < %zu; c++)\n"
                  "                            d[c] = 0.0f;\n"
                  "                    } else {\n"
                  "                        const float *s = %s + ((size_t)iy * %d + (size_t)ix) * %zu;\n"
                  "                        for (size_t c = 0; c < %zu; c++)\n"
                  "                            d[c] = s[c];\n"
                  "                    }\n"
                  "                }\n"
                  "            }\n"
                  "        }\n",
                  col, g->out_w, kcols, g->k_h, g->stride_h, g->dil_h, g->pad_top, g->k_w, g->stride_w,
                  g->dil_w, g->pad_left, g->k_w, ch, g->in_h, g->in_w, ch, src, g->in_w, ch, ch);
}

/* The loops over the valid taps of the window at (oy, ox), with s the tap's channels. The
 * caller closes the two tap loops and the two window loops. */
static void window_taps_open(struct ns_buf *o, const struct kernels_window *g, const char *src)
{
    ns_buf_printf(o,
                  "            for (int ky = 0; ky < %d; ky++) {\n"
                  "                int iy = oy * %d + ky * %d - %d;\n"
                  "                if (iy < 0 || iy >= %d)\n"
                  "                    continue;\n"
                  "                for (int kx = 0; kx < %d; kx++) {\n"
                  "                    int ix = ox * %d + kx * %d - %d;\n"
                  "                    const float *s;\n"
                  "                    if (ix < 0 || ix >= %d)\n"
                  "                        continue;\n"
                  "                    s = %s + ((size_t)iy * %d + (size_t)ix) * %d;\n",
                  g->k_h, g->stride_h, g->dil_h, g->pad_top, g->in_h, g->k_w, g->stride_w, g->dil_w,
                  g->pad_left, g->in_w, src, g->in_w, g->channels);
}

void op_emit_maxpool(const struct op_emit_args *a, const struct kernels_window *g, const char *src,
                    const char *dst)
{
    struct ns_buf *o = a->out;
    int ch = g->channels;
    window_loops_open(o, g);
    ns_buf_printf(o,
                  "            float *d = %s + ((size_t)oy * %d + (size_t)ox) * %d;\n"
                  "            int first = 1;\n",
                  dst, g->out_w, ch);
    window_taps_open(o, g, src);
    ns_buf_printf(o,
                  "                    if (first) {\n"
                  "                        for (int c = 0; c < %d; c++)\n"
                  "                            d[c] = s[c];\n"
                  "                        first = 0;\n"
                  "                        continue;\n"
                  "                    }\n"
                  "                    for (int c = 0; c < %d; c++)\n"
                  "                        d[c] = s[c] > d[c] ? s[c] : d[c];\n"
                  "                }\n"
                  "            }\n"
                  "        }\n",
                  ch, ch);
}

void op_emit_avgpool(const struct op_emit_args *a, const struct kernels_window *g, const char *src,
                    const char *dst)
{
    struct ns_buf *o = a->out;
    int ch = g->channels;
    window_loops_open(o, g);
    ns_buf_printf(o,
                  "            float *d = %s + ((size_t)oy * %d + (size_t)ox) * %d;\n"
                  "            int count = 0;\n"
                  "            float inv;\n"
                  "            for (int c = 0; c < %d; c++)\n"
                  "                d[c] = 0.0f;\n",
                  dst, g->out_w, ch, ch);
    window_taps_open(o, g, src);
    ns_buf_printf(o,
                  "                    count++;\n"
                  "                    for (int c = 0; c < %d; c++)\n"
                  "                        d[c] += s[c];\n"
                  "                }\n"
                  "            }\n"
                  "            inv = 1.0f / (float)count;\n"
                  "            for (int c = 0; c < %d; c++)\n"
                  "                d[c] *= inv;\n"
                  "        }\n",
                  ch, ch);
}

void op_emit_helpers(struct ns_buf *out, const char *prefix, unsigned helpers)
{
    char c_lit[OP_EMIT_FLOAT_MAX], k_lit[OP_EMIT_FLOAT_MAX];
    if (helpers & OP_EMIT_HELPER_SIGMOID)
        ns_buf_printf(out,
                      "/* Both branches stay finite: exp never sees a large positive argument. */\n"
                      "static float %s_sigmoid(float x)\n"
                      "{\n"
                      "    float e;\n"
                      "    if (x >= 0.0f)\n"
                      "        return 1.0f / (1.0f + expf(-x));\n"
                      "    e = expf(x);\n"
                      "    return e / (1.0f + e);\n"
                      "}\n\n",
                      prefix);
    if (helpers & OP_EMIT_HELPER_GELU)
        ns_buf_printf(out,
                      "/* The tanh approximation 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3))). */\n"
                      "static float %s_gelu(float x)\n"
                      "{\n"
                      "    float inner = %s * (x + %s * x * x * x);\n"
                      "    return 0.5f * x * (1.0f + tanhf(inner));\n"
                      "}\n\n",
                      prefix, op_emit_float(emit_gelu_c, c_lit), op_emit_float(emit_gelu_k, k_lit));
    if (helpers & OP_EMIT_HELPER_SOFTMAX)
        ns_buf_printf(out,
                      "/* Subtracting the row maximum keeps exp from overflowing; sums run left to right. */\n"
                      "static void %s_softmax_row(float *x, size_t cols)\n"
                      "{\n"
                      "    float m = x[0], sum = 0.0f, inv;\n"
                      "    size_t j;\n"
                      "    for (j = 1; j < cols; j++)\n"
                      "        m = x[j] > m ? x[j] : m;\n"
                      "    for (j = 0; j < cols; j++) {\n"
                      "        x[j] = expf(x[j] - m);\n"
                      "        sum += x[j];\n"
                      "    }\n"
                      "    inv = 1.0f / sum;\n"
                      "    for (j = 0; j < cols; j++)\n"
                      "        x[j] *= inv;\n"
                      "}\n\n",
                      prefix);
}
