/* The emitted counterparts of the runtime's kernels, for the ops' emit_c functions. Each helper
 * writes C99 statements that compute what the kernel computes, value for value and in the
 * same order, for one sample:
 *
 *   static void conv2d_emit(const struct op_emit_args *args)   // in op_conv2d.c
 *   {
 *       emit_c_im2col(args, &g, "in[0]", "scratch");
 *       emit_c_scratch(args, positions * k);
 *       emit_c_matmul(args, "scratch", 0, "out", positions, k, filters);
 *   }
 *
 * An op's emit_c writes the body of
 *   static void PREFIX_nodeI(const float *const *in, float *out, float *scratch)
 * where in[k] is the sample's input k (node->in_sizes[k] floats), out the node's output
 * (node->out_size floats, never overlapping an input), scratch the workspace the body asked
 * for with emit_c_scratch, and PREFIX_params the flat parameter array of graph.h (tensor t of
 * the node starts at node->tensor_offset[t]). The body may declare variables; helpers wrap
 * what they write in braces so their names never collide.
 */
#ifndef EMIT_C_H
#define EMIT_C_H

#include <stddef.h>

#include "ops/op.h"
#include "runtime/kernels.h"

/* Static helper functions the emitted file must define, because some body calls them. */
enum {
    EMIT_C_HELPER_SIGMOID = 1u << 0,
    EMIT_C_HELPER_GELU = 1u << 1,
    EMIT_C_HELPER_SOFTMAX = 1u << 2,
};

/* What the bodies written so far need from the file around them (owned by emit.c). */
struct emit_c_state {
    size_t scratch_floats; /* of the node being written */
    unsigned helpers;      /* EMIT_C_HELPER_* bits of every node so far */
};

enum { EMIT_C_FLOAT_MAX = 48 };

/* v as an exact C float literal: a hex float with an f suffix ("-0x1.8p+1f"). v must be finite. */
const char *emit_c_float(float v, char out[EMIT_C_FLOAT_MAX]);
/* v as an exact C double literal ("0x1.4f8b588e368f1p-17"). v must be finite. */
const char *emit_c_double(double v, char out[EMIT_C_FLOAT_MAX]);

/* The body uses `floats` floats of scratch. */
void emit_c_scratch(const struct op_emit_args *a, size_t floats);
/* `const float *VAR = PREFIX_params + offset;` for the node's tensor t, with a shape comment. */
void emit_c_tensor(const struct op_emit_args *a, const char *var, int tensor, const char *shape);
/* dst[0..n) = src[0..n). */
void emit_c_copy(const struct op_emit_args *a, const char *src, const char *dst, size_t n);
/* dst (rows, n) = src (rows, k) W (k, n), W the node's tensor `tensor`: each output is
 * ((0 + s0 w0) + s1 w1) + ... in k order, as kernels_sgemm sums. */
void emit_c_matmul(const struct op_emit_args *a, const char *src, int tensor, const char *dst,
                   size_t rows, size_t k, size_t n);
/* dst[r][c] += B[c] for the node's tensor B, as kernels_bias_add. */
void emit_c_bias_add(const struct op_emit_args *a, const char *dst, int tensor, size_t rows, size_t cols);
/* x (rows, cols) = f(x) in place, as activation_forward (softmax per row). */
void emit_c_activation(const struct op_emit_args *a, int act, float alpha, const char *x, size_t rows,
                       size_t cols);
/* col (out_h * out_w, k_h * k_w * channels) from the image src, as kernels_im2col: taps in
 * (ky, kx, c) order, 0 where the window hangs over the padding. */
void emit_c_im2col(const struct op_emit_args *a, const struct kernels_window *g, const char *src,
                   const char *col);
/* As kernels_maxpool_forward: the first valid tap, then v > best ? v : best in (ky, kx) order. */
void emit_c_maxpool(const struct op_emit_args *a, const struct kernels_window *g, const char *src,
                    const char *dst);
/* As kernels_avgpool_forward: (0 + the valid taps in (ky, kx) order) * (1.0f / count). */
void emit_c_avgpool(const struct op_emit_args *a, const struct kernels_window *g, const char *src,
                    const char *dst);

/* The definitions of the helpers in `helpers` (EMIT_C_HELPER_* bits), as static functions
 * named PREFIX_sigmoid, PREFIX_gelu and PREFIX_softmax_row: the formulas of activation.c. */
void emit_c_helpers(struct ns_buf *out, const char *prefix, unsigned helpers);

#endif
