/* The emitted counterparts of the runtime's kernels, for the ops' emit_c functions. Each helper
 * writes C99 statements that compute what the kernel computes, value for value and in the
 * same order, for one sample, mostly calls of the kernels of kernels/nsk.h, which the emitted
 * file carries verbatim. Nothing written here may multiply and then add outside fmaf (the
 * arithmetic contract in nsk.h): the emitted file may meet a contracting compiler.
 *
 *   static void conv2d_emit(const struct op_emit_args *args)   // in op_conv2d.c
 *   {
 *       op_emit_conv2d(args, &g, "in[0]", 0, 1, "out", filters);   // nsk_conv2d(...);
 *       op_emit_activation(args, p->activation, ACTIVATION_LEAKY_ALPHA, "out", positions, filters);
 *   }
 *
 * An op's emit_c writes the body of
 *   static void PREFIX_nodeI(const float *const *in, float *out, float *scratch)
 * where in[k] is the sample's input k (node->in_sizes[k] floats), out the node's output
 * (node->out_size floats, never overlapping an input), scratch the workspace the body asked
 * for with op_emit_scratch, and PREFIX_params the flat parameter array of graph.h (tensor t of
 * the node starts at node->tensor_offset[t]). The body may declare variables; helpers wrap
 * what they write in braces so their names never collide.
 */
#ifndef OP_EMIT_H
#define OP_EMIT_H

#include <stddef.h>

#include "ops/op.h"
#include "kernels/activation.h"
#include "kernels/kernels.h"

/* The bit of `helpers` saying the emitted file must define activation act's function, because
 * some body calls it: PREFIX_NAME(x, alpha) for an elementwise one, PREFIX_NAME_row(x, cols)
 * for softmax. */
#define OP_EMIT_HELPER(act) (1u << (act))
enum {
    OP_EMIT_HELPER_SIGMOID = OP_EMIT_HELPER(ACT_SIGMOID),
    OP_EMIT_HELPER_SOFTMAX = OP_EMIT_HELPER(ACT_SOFTMAX),
};
_Static_assert(ACT_COUNT <= 32, "one helper bit per activation");

/* What the bodies written so far need from the file around them (owned by emit.c). */
struct op_emit_state {
    size_t scratch_floats; /* of the node being written */
    unsigned helpers;      /* OP_EMIT_HELPER_* bits of every node so far */
};

enum { OP_EMIT_FLOAT_MAX = 48 };

/* v as an exact C float literal: a hex float with an f suffix ("-0x1.8p+1f"). v must be finite. */
const char *op_emit_float(float v, char out[OP_EMIT_FLOAT_MAX]);
/* v as an exact C double literal ("0x1.4f8b588e368f1p-17"). v must be finite. */
const char *op_emit_double(double v, char out[OP_EMIT_FLOAT_MAX]);

/* The body uses `floats` floats of scratch. */
void op_emit_scratch(const struct op_emit_args *a, size_t floats);
/* `const float *VAR = PREFIX_params + offset;` for the node's tensor t, with a shape comment. */
void op_emit_tensor(const struct op_emit_args *a, const char *var, int tensor, const char *shape);
/* dst[0..n) = src[0..n). */
void op_emit_copy(const struct op_emit_args *a, const char *src, const char *dst, size_t n);
/* dst (n_out) = src (n_in) W (n_in, n_out) + B through nsk_dense, W and B the node's tensors
 * `weight` and `bias` (bias < 0: none): each output a fmaf chain in input order from +0, then
 * + bias, as kernels_sgemm and kernels_bias_add compute it. */
void op_emit_dense(const struct op_emit_args *a, const char *src, int weight, int bias, const char *dst,
                   size_t n_in, size_t n_out);
/* dst = the convolution of the image src with the node's tensors `weight` (k_h, k_w, channels,
 * filters) and `bias` (< 0: none) over window g, through nsk_conv2d: per output a fmaf chain
 * over the taps in (ky, kx, c) order, the runtime's im2col + SGEMM order. */
void op_emit_conv2d(const struct op_emit_args *a, const struct kernels_window *g, const char *src, int weight,
                    int bias, const char *dst, size_t filters);
/* x (rows, cols) = f(x) in place, as activation_forward (softmax per row). */
void op_emit_activation(const struct op_emit_args *a, int act, float alpha, const char *x, size_t rows,
                       size_t cols);
/* nsk_maxpool, as kernels_maxpool_forward: the first valid tap, then v > best ? v : best in
 * (ky, kx) order. */
void op_emit_maxpool(const struct op_emit_args *a, const struct kernels_window *g, const char *src,
                    const char *dst);
/* nsk_avgpool, as kernels_avgpool_forward: (0 + the valid taps in (ky, kx) order) *
 * (1.0f / count). */
void op_emit_avgpool(const struct op_emit_args *a, const struct kernels_window *g, const char *src,
                    const char *dst);

/* The definitions of the functions in `helpers` (OP_EMIT_HELPER bits), as static functions
 * PREFIX_sigmoid(x, alpha), PREFIX_softmax_row(x, cols), ...: the text of each activation's
 * forward in kernels/activations.def, the very formula the runtime compiles. */
void op_emit_helpers(struct ns_buf *out, const char *prefix, unsigned helpers);

#endif
