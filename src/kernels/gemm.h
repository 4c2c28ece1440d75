/* SGEMM under the arithmetic contract, with implicit im2col and a fused epilogue.
 *
 *   struct gemm_args g = {.m = m, .n = n, .k = k, .a = x, .lda = k, .b = w, .ldb = n,
 *                         .c = y, .ldc = n, .bias = b, .activation = ACT_RELU};
 *   kernels_gemm(cpu, &work, &g);               // y = relu(x w + b)
 *   kernels_sgemm(cpu, false, false, m, n, k, a, k, b, n, false, c, n);   // C = A B
 *
 * Every element of C is one chain of fused multiply-adds over k in order from +0:
 * acc = 0; acc = fmaf(op(A)[i][p], op(B)[p][j], acc) for p = 0 .. k-1 (the ISA's FMA
 * instruction is the same operation). Then, in this order: c + acc when accumulating (beta 1),
 * + bias[j], a copy to `saved`, the activation. A plain triple loop with fmaf, the emitted C
 * and every ISA path give the same bits, on any thread count.
 *
 * split_k (weight gradients, whose k is the batch rows): k is cut into chunks of
 * GEMM_K_CHUNK (a constant, never derived from the thread count), each chunk one chain from +0,
 * the chunk results folded in index order: C = ((c0 + c1) + c2) + ..., or with accumulate
 * ((C + c0) + c1) + .... The chunks may run on different threads; the fold order is fixed.
 * No epilogue with split_k.
 *
 * Packing space comes from the caller's workspace (the executor owns one, sized by
 * kernels_gemm_workspace_floats); a NULL or too small workspace makes the call allocate its own.
 */
#ifndef GEMM_H
#define GEMM_H

#include <stdbool.h>
#include <stddef.h>

#include "kernels/kernels.h"
#include "kernels/kernels_cpu.h"

/* The fixed k-chunk of split_k GEMMs: part of the result's definition, like the k order. */
enum { GEMM_K_CHUNK = 256 };

struct gemm_workspace {
    float *floats;
    size_t count;
};

struct gemm_args {
    int m, n, k;
    /* op(A) (m, k): A is (m, lda), or (k, lda) when trans_a. When a_window is set, A is
     * instead the im2col matrix of the NHWC images at `a` (a_window's geometry, rows =
     * samples * out_h * out_w, columns = taps (ky, kx, c), zeros in the padding), read
     * straight from the images (no column buffer); trans_a then means op(A) = im2col^T. */
    const float *a;
    int lda;
    bool trans_a;
    const struct kernels_window *a_window;
    /* op(B) (k, n): B is (k, ldb), or (n, ldb) when trans_b. */
    const float *b;
    int ldb;
    bool trans_b;
    float *c; /* (m, ldc) */
    int ldc;
    bool accumulate; /* c = c + acc instead of c = acc (beta 1; c is not read otherwise) */
    bool split_k;
    /* The epilogue, applied to each tile of C while it is in cache. */
    const float *bias;      /* (n) or NULL */
    float *saved;           /* (m, ldc): the value before the activation, or NULL */
    int activation;         /* enum activation_kind, elementwise only (never softmax); 0 = linear */
    float activation_alpha; /* leaky_relu's slope */
};

void kernels_gemm(const struct kernels_cpu *cpu, const struct gemm_workspace *work, const struct gemm_args *g);

/* C (m, n) = op(A) op(B), or C + op(A) op(B) when accumulate; row-major, no workspace. */
void kernels_sgemm(const struct kernels_cpu *cpu, bool trans_a, bool trans_b, int m, int n, int k,
                   const float *a, int lda, const float *b, int ldb, bool accumulate, float *c, int ldc);

/* Floats of a workspace that serves every GEMM on `threads` threads without allocating,
 * except an accumulating one whose k exceeds a few hundred (it packs all of k at once). */
size_t kernels_gemm_workspace_floats(int threads);

#endif
