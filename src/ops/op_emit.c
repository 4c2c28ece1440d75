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

/* The node's tensor t as an expression, or "NULL" when t < 0. */
static void put_tensor_ref(const struct op_emit_args *a, int tensor)
{
    if (tensor < 0)
        ns_buf_puts(a->out, "NULL");
    else
        ns_buf_printf(a->out, "%s_params + %zu", a->prefix, a->node->tensor_offset[tensor]);
}

void op_emit_dense(const struct op_emit_args *a, const char *src, int weight, int bias, const char *dst,
                   size_t n_in, size_t n_out)
{
    ns_buf_printf(a->out, "    nsk_dense(%s, ", src);
    put_tensor_ref(a, weight);
    ns_buf_puts(a->out, ", ");
    put_tensor_ref(a, bias);
    ns_buf_printf(a->out, ", %zu, %zu, %s);\n", n_in, n_out, dst);
}

/* `static const struct nsk_window g = {...};` for the runtime's window g. */
static void put_window(struct ns_buf *o, const struct kernels_window *g)
{
    ns_buf_printf(o,
                  "    /* in (%d, %d, %d), window (%d, %d), stride (%d, %d), dilation (%d, %d), padding top %d "
                  "left %d */\n"
                  "    static const struct nsk_window g = {%d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d};\n",
                  g->in_h, g->in_w, g->channels, g->k_h, g->k_w, g->stride_h, g->stride_w, g->dil_h, g->dil_w,
                  g->pad_top, g->pad_left, g->in_h, g->in_w, g->channels, g->k_h, g->k_w, g->stride_h,
                  g->stride_w, g->dil_h, g->dil_w, g->pad_top, g->pad_left, g->out_h, g->out_w);
}

void op_emit_conv2d(const struct op_emit_args *a, const struct kernels_window *g, const char *src, int weight,
                    int bias, const char *dst, size_t filters)
{
    put_window(a->out, g);
    ns_buf_printf(a->out, "    nsk_conv2d(&g, %s, ", src);
    put_tensor_ref(a, weight);
    ns_buf_puts(a->out, ", ");
    put_tensor_ref(a, bias);
    ns_buf_printf(a->out, ", %zu, %s);\n", filters, dst);
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

void op_emit_maxpool(const struct op_emit_args *a, const struct kernels_window *g, const char *src,
                    const char *dst)
{
    put_window(a->out, g);
    ns_buf_printf(a->out, "    nsk_maxpool(&g, %s, %s);\n", src, dst);
}

void op_emit_avgpool(const struct op_emit_args *a, const struct kernels_window *g, const char *src,
                    const char *dst)
{
    put_window(a->out, g);
    ns_buf_printf(a->out, "    nsk_avgpool(&g, %s, %s);\n", src, dst);
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
