#include "ops/op_emit.h"

#include <stdbool.h>
#include <stdio.h>

#include "core/ns_util.h"
#include "kernels/activation.h"
#include "spec/spec.h"

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
    const struct activation_info *info = activation_info(act);
    char lit[OP_EMIT_FLOAT_MAX];
    if (!info) {
        /* Not an activation at all: the emitted file will not compile, and says why. */
        ns_buf_printf(a->out, "#error \"activation %d is unknown\"\n", act);
        return;
    }
    if (info->identity)
        return;
    a->state->helpers |= OP_EMIT_HELPER(act);
    if (info->per_row)
        ns_buf_printf(a->out,
                      "    for (size_t r = 0; r < %zu; r++)\n"
                      "        %s_%s_row(%s + r * %zu, %zu);\n",
                      rows, a->prefix, info->name, x, cols, cols);
    else
        ns_buf_printf(a->out, "    for (size_t i = 0; i < %zu; i++)\n        %s[i] = %s_%s(%s[i], %s);\n",
                      rows * cols, x, a->prefix, info->name, x, op_emit_float(alpha, lit));
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

/* Writes a body of activations.def, which the preprocessor made one line, one statement a
 * line: a break after `{` and after `;` outside parentheses (so a for header stays whole), and
 * before `}`. Only whitespace changes, so the emitted function is the runtime's text. */
static void put_body(struct ns_buf *out, const char *body)
{
    int depth = 0, indent = 0;
    bool line_start = true;
    for (const char *c = body; *c; c++) {
        if (line_start && *c == ' ')
            continue;
        if (*c == '}') {
            if (!line_start)
                ns_buf_puts(out, "\n");
            indent--;
            line_start = true;
        }
        if (line_start)
            for (int i = 0; i < indent; i++)
                ns_buf_puts(out, "    ");
        ns_buf_printf(out, "%c", *c);
        line_start = false;
        depth += *c == '(' ? 1 : *c == ')' ? -1 : 0;
        if (*c == '{')
            indent++;
        if (*c == '{' || *c == '}' || (*c == ';' && depth == 0)) {
            ns_buf_puts(out, "\n");
            line_start = true;
        }
    }
    if (!line_start)
        ns_buf_puts(out, "\n");
}

void op_emit_helpers(struct ns_buf *out, const char *prefix, unsigned helpers)
{
    for (int act = 0; act < ACT_COUNT; act++) {
        const struct activation_info *info = activation_info(act);
        if (!(helpers & OP_EMIT_HELPER(act)))
            continue;
        ns_buf_printf(out, "/* %s, as netspec's kernels/activations.def writes it for the runtime. */\n",
                      info->name);
        if (info->per_row)
            ns_buf_printf(out, "static void %s_%s_row(float *x, size_t cols)\n", prefix, info->name);
        else
            ns_buf_printf(out, "static float %s_%s(float x, float alpha)\n", prefix, info->name);
        put_body(out, info->forward_c);
        ns_buf_puts(out, "\n");
    }
}
