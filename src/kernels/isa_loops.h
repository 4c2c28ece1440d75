/* The kernels' loops that are compiled once per instruction set from one text
 * (kernels/isa_loops_body.h): the portable ones in isa_loops_portable.c and, on x86-64, the
 * AVX2 and AVX-512 ones in isa_loops_avx2.c and isa_loops_avx512.c, each built with its ISA's
 * flags (src/kernels/local.mk), so fmaf is one instruction there and the loops vectorise.
 * Every copy computes the same bits (the arithmetic contract, kernels/nsk.h); callers pick one
 * with isa_loops_pick:
 *
 *   const struct isa_loops *l = isa_loops_pick(cpu);
 *   l->activations[ACT_GELU].forward(alpha, x, 0, n);
 *   l->affine_rows(x, scale, shift, rows, cols, y);
 */
#ifndef ISA_LOOPS_H
#define ISA_LOOPS_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "kernels/activation.h"
#include "kernels/kernels.h"
#include "kernels/kernels_cpu.h"

/* One row of activations.def: elementwise rows fill forward and backward (over [begin, end)),
 * softmax fills the _row pair. */
struct activation_impl {
    void (*forward)(float alpha, float *x, size_t begin, size_t end);
    void (*backward)(float alpha, const float *z, const float *dy, float *dz, size_t begin,
                     size_t end, bool accumulate);
    void (*forward_row)(float *x, size_t cols);
    void (*backward_row)(const float *z, const float *dy, float *dz, size_t cols, bool accumulate);
};

struct isa_loops {
    struct activation_impl activations[ACT_COUNT];
    /* y (rows, cols) = fmaf(x, scale[c], shift[c]): nsk_affine_cols. */
    void (*affine_rows)(const float *x, const float *scale, const float *shift, size_t rows, size_t cols,
                        float *y);
    /* The GEMM's implicit im2col (kernels/isa_im2col.h): rows [row0, row0 + rows) of the im2col
     * matrix of window w over images in, columns [tap0, tap0 + count), row r at dst + r * stride. */
    void (*im2col_rows)(const struct kernels_window *w, const float *in, long row0, int rows, int tap0, int count,
                        float *dst, size_t stride);
    /* kernels_col2im_add and kernels_maxpool_forward over their rows [r0, r1): (sample, input
     * row) pairs for col2im, (sample, output row) pairs for the pooling. */
    void (*col2im_rows)(const struct kernels_window *g, long r0, long r1, const float *col, float *d_in,
                        bool fresh);
    void (*maxpool_rows)(const struct kernels_window *g, long r0, long r1, const float *in, float *out,
                         void *argmax);
    /* kernels_maxpool_forward and _backward for a 2x2 window at stride 2 (kernels_maxpool_is_2x2)
     * over (sample, output row) pairs [r0, r1); the backward writes the input rows they cover,
     * and the last output row the input rows below it that no window covers. */
    void (*maxpool2x2_rows)(const struct kernels_window *g, long r0, long r1, const float *in, float *out,
                            int32_t *winners /* NULL, or kernels_maxpool_forward's winners */);
    void (*maxpool2x2_backward_rows)(const struct kernels_window *g, long r0, long r1,
                                     const struct kernels_maxpool_grad *a);
};

extern const struct isa_loops isa_loops_portable;
extern const struct isa_loops isa_loops_avx2;
extern const struct isa_loops isa_loops_avx512;

/* The copy for cpu's ISA (resolved; an ISA this CPU or build lacks falls back to portable). */
const struct isa_loops *isa_loops_pick(const struct kernels_cpu *cpu);

#endif
