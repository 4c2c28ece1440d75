/* The CPU kernels every op runs on: im2col/col2im for NHWC convolution, pooling, per-column
 * sums and batch normalisation statistics. SGEMM is in kernels/gemm.h.
 *
 *   struct kernels_window g;
 *   kernels_window_init(&g, h, w, c, kh, kw, sh, sw, dh, dw, KERNELS_PAD_SAME, 0, 0);
 *   kernels_im2col(cpu, &g, batch, x, col);
 *
 * cpu: the threads a kernel may use and its instruction set (kernels/kernels_cpu.h), the
 * caller's choice (the context's, carried by the executor and op_run_args). Kernels never
 * read or set OpenMP's global thread count.
 * Determinism: every kernel gives bit-identical results for any thread count. Work is
 * split only over independent outputs, and every sum runs in one fixed order (for SGEMM, the
 * arithmetic contract in kernels/gemm.h: one fmaf chain per output, k in order).
 *
 * What the emitted C must repeat to match bit for bit: a dense output is the fmaf chain
 * acc = fmaf(x_k, w_k, acc) from +0 over the inputs in order, then + bias, then the
 * activation; a conv2d output is the same chain over its im2col row, taps in (ky, kx, c)
 * order with taps in the padding included as fmaf(0, w, acc), then + bias, then the activation.
 */
#ifndef KERNELS_H
#define KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/kernels_cpu.h"

/* The geometry of a sliding window over an NHWC image (convolution and pooling). */
struct kernels_window {
    int in_h, in_w, channels;
    int k_h, k_w;
    int stride_h, stride_w;
    int dil_h, dil_w;
    int pad_top, pad_left, pad_bottom, pad_right;
    int out_h, out_w;
};

enum kernels_pad_mode { KERNELS_PAD_VALID, KERNELS_PAD_SAME, KERNELS_PAD_EXPLICIT };

/* Fills g; pad_mode is enum kernels_pad_mode (same: out = ceil(in / stride), the extra
 * padding goes to the bottom/right as in TensorFlow; explicit: pad_h/pad_w on both sides).
 * Returns false when the (dilated) window does not fit the padded input. */
bool kernels_window_init(struct kernels_window *g, int in_h, int in_w, int channels,
                         int k_h, int k_w, int stride_h, int stride_w, int dil_h, int dil_w,
                         int pad_mode, int pad_h, int pad_w);

/* col (n * out_h * out_w, k_h * k_w * channels): each row is one output position, its
 * columns (ky, kx, c) with c fastest; zeros where the window hangs over the padding. */
void kernels_im2col(const struct kernels_cpu *cpu, const struct kernels_window *g, int n, const float *in /* (n, H, W, C) */,
                    float *col);
/* d_in += col2im(col): the adjoint of kernels_im2col. Each input element gathers its terms in
 * (ky, kx) order, so the result does not depend on threads. fresh: d_in holds no value yet, and
 * each of its rows is zeroed just before its terms are added (the same bits as a zeroed buffer,
 * without a separate pass over memory). */
void kernels_col2im_add(const struct kernels_cpu *cpu, const struct kernels_window *g, int n, const float *col,
                        float *d_in /* (n, H, W, C) */, bool fresh);

/* out (cols, rows) = in (rows, cols) transposed, in 8x8 blocks (exact copies). */
void kernels_transpose(const struct kernels_cpu *cpu, size_t rows, size_t cols, const float *in, float *out);

/* Max pooling per channel; padding never wins. Ties: the first maximum in (ky, kx) scan order.
 * saved (n, OH, OW, C) is what training keeps for the backward, NULL when not training: for
 * each output an int32 (stored through memcpy, or through an int32_t pointer into an aligned
 * buffer, so any 4-byte-per-element buffer works): the index of its input element within the
 * sample; for a 2x2 window at stride 2 without padding (kernels_maxpool_is_2x2) the winning tap
 * (0..3 in (ky, kx) order) plus 4 when the maximum is > 0, all a fresh backward needs, so it
 * reads 4 bytes per output instead of the 16 of the window. */
bool kernels_maxpool_is_2x2(const struct kernels_window *g);
void kernels_maxpool_forward(const struct kernels_cpu *cpu, const struct kernels_window *g, int n, const float *in,
                             float *out /* (n, OH, OW, C) */, void *saved);
/* d_in += the gradient routed to each window's maximum; with fresh, d_in holds no value yet and
 * every element is written (as if it had been zeroed first). relu_mask: then d_in = in > 0 ?
 * d_in : 0, relu's gradient for an input that is a relu output (the graph's plan fuses it here). */
struct kernels_maxpool_grad {
    const float *in;     /* the forward's input (n, H, W, C) */
    const float *d_out;  /* (n, OH, OW, C) */
    const void *saved;   /* as the forward kept it; NULL for a 2x2 window: found again from in */
    float *d_in;
    bool fresh, relu_mask;
};
void kernels_maxpool_backward(const struct kernels_cpu *cpu, const struct kernels_window *g, int n,
                              const struct kernels_maxpool_grad *a);
/* Average pooling; the divisor counts only the window's elements inside the input. Each
 * output is (sum over the window in (ky, kx) order) * (1.0f / count). */
void kernels_avgpool_forward(const struct kernels_cpu *cpu, const struct kernels_window *g, int n, const float *in, float *out);
void kernels_avgpool_backward(const struct kernels_cpu *cpu, const struct kernels_window *g, int n, const float *d_out,
                              float *d_in);

/* x[r][c] += bias[c]; x is (rows, cols). */
void kernels_bias_add(const struct kernels_cpu *cpu, size_t rows, size_t cols, float *x, const float *bias);
/* Rows per chunk of the per-column sums below: each chunk is summed in row order from +0 and
 * the chunk sums are added in chunk order, so results never depend on the thread count. */
enum { KERNELS_COL_ROWS = 512 };

/* out[c] = sum of x[r][c] over r, in float, chunked as KERNELS_COL_ROWS says; x is (rows, cols). */
void kernels_col_sum(const struct kernels_cpu *cpu, size_t rows, size_t cols, const float *x, float *out);
/* Per-column mean and biased variance of x (rows, cols), accumulated in double in chunks of
 * KERNELS_COL_ROWS rows (two passes: mean, then squared deviations). */
void kernels_col_moments(const struct kernels_cpu *cpu, size_t rows, size_t cols, const float *x, float *mean, float *var);
/* y[r][c] = fmaf(x[r][c], scale[c], shift[c]) (nsk_affine_cols: batchnorm's folded map). */
void kernels_col_affine(const struct kernels_cpu *cpu, size_t rows, size_t cols, const float *x, const float *scale,
                        const float *shift, float *y);
/* Batch-normalisation backward over x (rows, cols) normalised per column with mean and
 * inv_std: d_gamma[c] = sum dy*xhat, d_beta[c] = sum dy (overwritten, double sums in chunks
 * of KERNELS_COL_ROWS rows); dx += gamma*inv_std*(dy - (d_beta + xhat*d_gamma)/rows) when
 * batch_stats (the statistics came from this batch), else dx += gamma*inv_std*dy. */
void kernels_batchnorm_backward(const struct kernels_cpu *cpu, size_t rows, size_t cols, const float *x, const float *dy,
                                const float *mean, const float *inv_std, const float *gamma,
                                bool batch_stats, float *d_gamma, float *d_beta, float *dx);

#endif
