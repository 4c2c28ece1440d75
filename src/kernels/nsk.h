/* nsk.h: netspec's shared kernels. One C99 source for two readers: the netspec runtime
 * includes it, and `netspec emit` copies it verbatim into every emitted classifier, so both
 * run the same text and agree bit for bit.
 *
 * THE ARITHMETIC CONTRACT
 * - Every dot product (dense, convolution) is a chain of fused multiply-adds with C99 fmaf
 *   semantics over k in order 0, 1, ..., K-1 starting from +0.0f: acc = fmaf(a_k, b_k, acc).
 *   Then, in this order: + bias (one float add), then the activation.
 * - A convolution is the dot product over its im2col row: taps in (ky, kx, c) order. Taps in the
 *   padding count as fmaf(0.0f, w, acc) and are computed, not skipped: a chain can reach -0
 *   (a negative product that underflows to -0, added to +0), and fmaf(0, w, -0) is +0 for
 *   w > 0, so skipping would change that bit.
 * - No other contraction: every multiply whose result is added is written fmaf; every other
 *   expression is plain, separately rounded IEEE single precision. A compiler that contracts
 *   a*b+c on its own (GCC's default in GNU C mode, -march=native) finds nothing left to
 *   contract, and the one unfused multiply-then-subtract (nsk_normalize, the runtime's input
 *   preprocessing) goes through a volatile so it cannot be fused.
 * - Transcendentals are nsk_expf, nsk_logf, nsk_tanhf, nsk_sigmoidf (and the gelu built on
 *   nsk_tanhf), made of + - * /, fmaf, sqrtf and bit operations only: no libm call but fmaf
 *   and sqrtf, both correctly rounded everywhere, so the C library never changes a bit.
 *   Largest error against the exact value over all 2^32 floats: nsk_expf 0.98 ulp, nsk_logf
 *   1.13 ulp, nsk_tanhf 1.56 ulp, nsk_sigmoidf 2.41 ulp (tests/test_ops.c asserts 1, 1.5, 2
 *   and 2.5 on a dense sweep); overflow, underflow, infinities and NaN behave as C99 says for
 *   expf, logf and tanhf.
 * - Results therefore depend on nothing but the inputs: not the thread count, the instruction
 *   set, the compiler or its flags, the C library or the CPU architecture. The one condition:
 *   IEEE single precision evaluated as float (not in a wider type: SSE on x86, not x87) and no
 *   -ffast-math (or -Ofast), which licenses the compiler to rewrite all of the above.
 *
 * Everything here is static and prefixed nsk_; the file needs only the headers below. The
 * loops run innermost over output channels (contiguous in NHWC) so compilers vectorise them,
 * and the math functions are branch-free so loops calling them vectorise too.
 */
#ifndef NSK_H
#define NSK_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- bits ---- */

static inline uint32_t nsk_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static inline float nsk_float(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* ---- transcendentals ---- */

/* e^x. x = k ln2 + r with |r| <= ln2/2 (k from rounding x log2(e) with the 1.5 * 2^23
 * shifter, so no float-to-int conversion), e^r = 1 + r g(r) with g a degree-5 Chebyshev fit,
 * then two multiplications by powers of two (k split in halves) so results that overflow or
 * become subnormal are rounded once, as the exact value would be. */
static inline float nsk_expf(float x)
{
    const float shifter = 0x1.8p23f;
    float xc = x > 89.0f ? 89.0f : x;   /* e^89 overflows; NaN stays NaN (comparisons fail) */
    xc = xc < -104.0f ? -104.0f : xc;   /* e^-104 rounds to 0 */
    float kshift = fmaf(xc, 0x1.715476p+0f, shifter);
    float k = kshift - shifter;
    float r = fmaf(k, -0x1.62e4p-1f, xc);  /* ln2 high part: 14 bits, k * it is exact */
    r = fmaf(k, -0x1.7f7d1cp-20f, r);      /* ln2 low part */
    float g = 0x1.6d4316p-10f;
    g = fmaf(g, r, 0x1.123d82p-7f);
    g = fmaf(g, r, 0x1.5554eap-5f);
    g = fmaf(g, r, 0x1.55547cp-3f);
    g = fmaf(g, r, 0x1p-1f);
    g = fmaf(g, r, 0x1p+0f);
    float p = fmaf(g, r, 1.0f);
    /* k sits in the low mantissa bits of kshift (-151 <= k <= 129): read it back biased by
     * 512, so no negative value ever meets a conversion. */
    int32_t ki = (int32_t)((nsk_bits(kshift) - 0x4b400000u + 0x200u) & 0x3ffu) - 0x200;
    int32_t k1 = ki / 2, k2 = ki - k1;
    float s1 = nsk_float((uint32_t)(k1 + 127) << 23);
    float s2 = nsk_float((uint32_t)(k2 + 127) << 23);
    return p * s1 * s2;
}

/* log(x). x = 2^e m with sqrt(1/2) <= m < sqrt(2) (subnormals scaled by 2^23 first),
 * f = m - 1, s = f / (2 + f), log(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2)) with R a degree-4
 * fit of 2 atanh(s) - 2s, then + e ln2 in two parts. Special values are selected at the
 * end: log(+-0) = -inf, log(x < 0) = NaN, log(inf) = inf, NaN stays NaN. */
static inline float nsk_logf(float x)
{
    int tiny = x < 0x1p-126f;
    float xs = tiny ? x * 0x1p23f : x;
    uint32_t u = nsk_bits(xs) + 0x004afb0du; /* sqrt(1/2)'s bits move to 1.0's */
    float e = (float)((int32_t)(u >> 23) - 127 - (tiny ? 23 : 0));
    float m = nsk_float((u & 0x007fffffu) + 0x3f3504f3u);
    float f = m - 1.0f;
    float s = f / (2.0f + f);
    float z = s * s;
    float t = 0x1.ddcf72p-3f;
    t = fmaf(t, z, 0x1.245c40p-2f);
    t = fmaf(t, z, 0x1.9999ecp-2f);
    t = fmaf(t, z, 0x1.555556p-1f);
    float hf = 0.5f * f;
    float r = fmaf(s, fmaf(hf, f, z * t), fmaf(-hf, f, f));
    r = fmaf(e, 0x1.7f7d1cp-20f, r);
    r = fmaf(e, 0x1.62e4p-1f, r);
    const float inf = nsk_float(0x7f800000u), nan = nsk_float(0x7fc00000u);
    r = x < 0.0f ? nan : r;
    r = x == 0.0f ? -inf : r;
    r = x == inf ? inf : r;
    return x != x ? x : r;
}

/* tanh(x). |x| < 0.55: x + x^3 P(x^2), P a degree-5 fit; above, 1 - 2 / (e^(2|x|) + 1), which
 * reaches 1 near 9 and never overflows (e^(2|x|) = inf gives exactly 1). The sign is copied
 * back, so tanh(-0) = -0 and NaN stays NaN. */
static inline float nsk_tanhf(float x)
{
    uint32_t sign = nsk_bits(x) & 0x80000000u;
    float a = nsk_float(nsk_bits(x) & 0x7fffffffu);
    float z = a * a;
    float p = 0x1.4b239ap-9f;
    p = fmaf(p, z, -0x1.176410p-7f);
    p = fmaf(p, z, 0x1.657936p-6f);
    p = fmaf(p, z, -0x1.ba142ep-5f);
    p = fmaf(p, z, 0x1.111104p-3f);
    p = fmaf(p, z, -0x1.555556p-2f);
    float small = fmaf(a * z, p, a);
    float big = 1.0f - 2.0f / (nsk_expf(a + a) + 1.0f);
    float t = a < 0.55f ? small : big;
    return nsk_float(nsk_bits(t) | sign);
}

/* 1 / (1 + e^-x), as e^-|x| over 1 + e^-|x| on the negative side so e never overflows. */
static inline float nsk_sigmoidf(float x)
{
    float e = nsk_expf(-nsk_float(nsk_bits(x) & 0x7fffffffu));
    return (x >= 0.0f ? 1.0f : e) / (1.0f + e);
}

/* The tanh approximation of gelu, 0.5 x (1 + tanh(c (x + k x^3))) with c = sqrt(2/pi) =
 * 0x1.988454p-1f and k = 0.044715f = 0x1.6e4e26p-5f; x + k x^3 is one fmaf of (k x^2) x. */
static inline float nsk_geluf(float x)
{
    float inner = 0x1.988454p-1f * fmaf(0x1.6e4e26p-5f * x * x, x, x);
    return 0.5f * x * (1.0f + nsk_tanhf(inner));
}

/* The softmax of one row in place: minus the row maximum, nsk_expf, the sum left to right,
 * every value times 1 / sum. */
static inline void nsk_softmax_row(float *x, size_t cols)
{
    float m, sum = 0.0f, inv;
    size_t j;
    if (cols == 0)
        return;
    m = x[0];
    for (j = 1; j < cols; j++)
        m = x[j] > m ? x[j] : m;
    for (j = 0; j < cols; j++) {
        x[j] = nsk_expf(x[j] - m);
        sum += x[j];
    }
    inv = 1.0f / sum;
    for (j = 0; j < cols; j++)
        x[j] *= inv;
}

/* ---- one-image kernels (NHWC, row-major weights) ---- */

/* The runtime's input preprocessing (data_prep_value): (raw * scale - mean[c]) / std[c] per
 * value, c = i % channels, every operation rounded on its own (the volatile keeps a
 * contracting compiler from fusing the multiply into the subtraction). */
static inline void nsk_normalize(const float *raw, size_t n, float scale, const float *mean, const float *std,
                          size_t channels, float *x)
{
    size_t i;
    for (i = 0; i < n; i++) {
        volatile float scaled = raw[i] * scale;
        x[i] = (scaled - mean[i % channels]) / std[i % channels];
    }
}

/* Register blocks. The accumulators of a block are local arrays indexed only by the
 * innermost loop, so compilers vectorise that loop and keep the arrays in vector registers
 * for a whole chain instead of storing and reloading them at every step: 64 filters (or 32,
 * NSK_CONV_BLOCK_COLS_NARROW, when fewer are left) for each of four neighbouring output
 * positions (nsk_conv2d_block) and NSK_DENSE_BLOCK_COLS outputs of a dense layer. A block of
 * 64 reads each weight once for 16 chains where 32 would read it for 8: compilers fold the
 * weight loads into the multiply-adds, so that halves the loads per multiply-add (on an AVX-512
 * CPU, at -O3 -march=native, one image of the reference CNN went from 77 to 72 us). Blocking changes which chains run side
 * by side, never the order of the steps inside one, so any values give the same results. */
#define NSK_CONV_BLOCK_COLS 64
#define NSK_CONV_BLOCK_COLS_NARROW 32
#define NSK_DENSE_BLOCK_COLS 64

/* y (n_out) = x (n_in) W (n_in, n_out) + bias (NULL: none): each y[j] a fmaf chain over the
 * inputs in order from +0, then + bias[j]. Full blocks of NSK_DENSE_BLOCK_COLS outputs
 * accumulate in registers, the remaining outputs in y. */
static inline void nsk_dense(const float *x, const float *w, const float *bias, size_t n_in, size_t n_out, float *y)
{
    size_t j0, j, k;
    for (j0 = 0; j0 < n_out; j0 += NSK_DENSE_BLOCK_COLS) {
        if (n_out - j0 >= NSK_DENSE_BLOCK_COLS) {
            float acc[NSK_DENSE_BLOCK_COLS];
            for (j = 0; j < NSK_DENSE_BLOCK_COLS; j++)
                acc[j] = 0.0f;
            for (k = 0; k < n_in; k++) {
                const float xk = x[k];
                const float *wk = w + k * n_out + j0;
                for (j = 0; j < NSK_DENSE_BLOCK_COLS; j++)
                    acc[j] = fmaf(xk, wk[j], acc[j]);
            }
            for (j = 0; j < NSK_DENSE_BLOCK_COLS; j++)
                y[j0 + j] = bias ? acc[j] + bias[j0 + j] : acc[j];
        } else {
            float *yb = y + j0;
            const size_t width = n_out - j0;
            for (j = 0; j < width; j++)
                yb[j] = 0.0f;
            for (k = 0; k < n_in; k++) {
                const float xk = x[k];
                const float *wk = w + k * n_out + j0;
                for (j = 0; j < width; j++)
                    yb[j] = fmaf(xk, wk[j], yb[j]);
            }
            if (bias)
                for (j = 0; j < width; j++)
                    yb[j] = yb[j] + bias[j0 + j];
        }
    }
}

/* A sliding window over an NHWC image, as the runtime's kernels_window: output (oy, ox) reads
 * input rows oy * stride_h + ky * dil_h - pad_top and columns likewise. */
struct nsk_window {
    int in_h, in_w, channels;
    int k_h, k_w;
    int stride_h, stride_w;
    int dil_h, dil_w;
    int pad_top, pad_left;
    int out_h, out_w;
};

/* One output position of nsk_conv2d, filters [f0, f0 + width): the chains accumulate in out,
 * taps outside the image as fmaf(0, w, acc). Serves the border positions and the filters left over by
 * the blocks. */
static inline void nsk_conv2d_position(const struct nsk_window *g, const float *in, const float *w, const float *bias,
                                       size_t filters, size_t f0, size_t width, int oy, int ox, float *out)
{
    const size_t ch = (size_t)g->channels;
    float *o = out + ((size_t)oy * (size_t)g->out_w + (size_t)ox) * filters + f0;
    int ky, kx;
    size_t c, f;
    for (f = 0; f < width; f++)
        o[f] = 0.0f;
    for (ky = 0; ky < g->k_h; ky++) {
        int iy = oy * g->stride_h + ky * g->dil_h - g->pad_top;
        for (kx = 0; kx < g->k_w; kx++) {
            int ix = ox * g->stride_w + kx * g->dil_w - g->pad_left;
            const int inside = iy >= 0 && iy < g->in_h && ix >= 0 && ix < g->in_w;
            const float *s = inside ? in + ((size_t)iy * (size_t)g->in_w + (size_t)ix) * ch : NULL;
            const float *wt = w + ((size_t)ky * (size_t)g->k_w + (size_t)kx) * ch * filters + f0;
            for (c = 0; c < ch; c++) {
                const float sc = inside ? s[c] : 0.0f;
                const float *wc = wt + c * filters;
                for (f = 0; f < width; f++)
                    o[f] = fmaf(sc, wc[f], o[f]);
            }
        }
    }
    if (bias)
        for (f = 0; f < width; f++)
            o[f] = o[f] + bias[f0 + f];
}

/* Output positions ox .. ox + 3 of row oy, filters [f0, f0 + NSK_CONV_BLOCK_COLS) when wide,
 * else [f0, f0 + NSK_CONV_BLOCK_COLS_NARROW), every tap of the four inside the image columns
 * (the caller checks; rows are the same for all four): each weight vector loaded once for four
 * chains. Every filter loop has a fixed count, the wide half under `if (wide)`, which compilers
 * hoist out of the loops: a count that is a variable leaves them a generic loop with the
 * accumulators in memory. With no column dilation the taps (kx, c) of one kernel row are
 * contiguous in the input and the weights, so they run as one loop. */
static inline void nsk_conv2d_block(const struct nsk_window *g, const float *in, const float *w, const float *bias,
                                    size_t filters, size_t f0, int wide, int oy, int ox, float *out)
{
    const size_t ch = (size_t)g->channels;
    const size_t step = (size_t)g->stride_w * ch; /* from one position's input to the next's */
    const int runs = g->dil_w == 1 ? 1 : g->k_w;
    const size_t run_taps = g->dil_w == 1 ? (size_t)g->k_w * ch : ch;
    float a0[NSK_CONV_BLOCK_COLS], a1[NSK_CONV_BLOCK_COLS], a2[NSK_CONV_BLOCK_COLS], a3[NSK_CONV_BLOCK_COLS];
    float *o;
    int ky, r;
    size_t t, f;
    for (f = 0; f < NSK_CONV_BLOCK_COLS_NARROW; f++) {
        a0[f] = 0.0f;
        a1[f] = 0.0f;
        a2[f] = 0.0f;
        a3[f] = 0.0f;
    }
    if (wide)
        for (f = NSK_CONV_BLOCK_COLS_NARROW; f < NSK_CONV_BLOCK_COLS; f++) {
            a0[f] = 0.0f;
            a1[f] = 0.0f;
            a2[f] = 0.0f;
            a3[f] = 0.0f;
        }
    for (ky = 0; ky < g->k_h; ky++) {
        int iy = oy * g->stride_h + ky * g->dil_h - g->pad_top;
        if (iy < 0 || iy >= g->in_h) {
            /* A padding row: every tap of it is fmaf(0, w, acc), as the contract says. */
            const float *wt = w + (size_t)ky * (size_t)g->k_w * ch * filters + f0;
            for (t = 0; t < (size_t)g->k_w * ch; t++) {
                const float *wc = wt + t * filters;
                for (f = 0; f < NSK_CONV_BLOCK_COLS_NARROW; f++) {
                    a0[f] = fmaf(0.0f, wc[f], a0[f]);
                    a1[f] = fmaf(0.0f, wc[f], a1[f]);
                    a2[f] = fmaf(0.0f, wc[f], a2[f]);
                    a3[f] = fmaf(0.0f, wc[f], a3[f]);
                }
                if (wide)
                    for (f = NSK_CONV_BLOCK_COLS_NARROW; f < NSK_CONV_BLOCK_COLS; f++) {
                        a0[f] = fmaf(0.0f, wc[f], a0[f]);
                        a1[f] = fmaf(0.0f, wc[f], a1[f]);
                        a2[f] = fmaf(0.0f, wc[f], a2[f]);
                        a3[f] = fmaf(0.0f, wc[f], a3[f]);
                    }
            }
            continue;
        }
        for (r = 0; r < runs; r++) {
            int ix = ox * g->stride_w + r * g->dil_w - g->pad_left;
            const float *s = in + ((size_t)iy * (size_t)g->in_w + (size_t)ix) * ch;
            const float *wt = w + ((size_t)ky * (size_t)g->k_w + (size_t)r) * ch * filters + f0;
            for (t = 0; t < run_taps; t++) {
                const float *wc = wt + t * filters;
                const float s0 = s[t], s1 = s[step + t], s2 = s[2 * step + t], s3 = s[3 * step + t];
                for (f = 0; f < NSK_CONV_BLOCK_COLS_NARROW; f++) {
                    a0[f] = fmaf(s0, wc[f], a0[f]);
                    a1[f] = fmaf(s1, wc[f], a1[f]);
                    a2[f] = fmaf(s2, wc[f], a2[f]);
                    a3[f] = fmaf(s3, wc[f], a3[f]);
                }
                if (wide)
                    for (f = NSK_CONV_BLOCK_COLS_NARROW; f < NSK_CONV_BLOCK_COLS; f++) {
                        a0[f] = fmaf(s0, wc[f], a0[f]);
                        a1[f] = fmaf(s1, wc[f], a1[f]);
                        a2[f] = fmaf(s2, wc[f], a2[f]);
                        a3[f] = fmaf(s3, wc[f], a3[f]);
                    }
            }
        }
    }
    o = out + ((size_t)oy * (size_t)g->out_w + (size_t)ox) * filters + f0;
    for (f = 0; f < NSK_CONV_BLOCK_COLS_NARROW; f++) {
        const float b = bias ? bias[f0 + f] : 0.0f;
        o[f] = bias ? a0[f] + b : a0[f];
        o[filters + f] = bias ? a1[f] + b : a1[f];
        o[2 * filters + f] = bias ? a2[f] + b : a2[f];
        o[3 * filters + f] = bias ? a3[f] + b : a3[f];
    }
    if (wide)
        for (f = NSK_CONV_BLOCK_COLS_NARROW; f < NSK_CONV_BLOCK_COLS; f++) {
            const float b = bias ? bias[f0 + f] : 0.0f;
            o[f] = bias ? a0[f] + b : a0[f];
            o[filters + f] = bias ? a1[f] + b : a1[f];
            o[2 * filters + f] = bias ? a2[f] + b : a2[f];
            o[3 * filters + f] = bias ? a3[f] + b : a3[f];
        }
}

/* out (out_h, out_w, filters) = the convolution of in (in_h, in_w, channels) with W (k_h, k_w,
 * channels, filters) + bias (NULL: none): per output a fmaf chain over taps (ky, kx, c), then
 * + bias. Padding taps are included as fmaf(0, w, acc) (see the contract above). Four
 * neighbouring positions whose taps all lie inside the image columns go as one block
 * (nsk_conv2d_block), the rest one at a time. A row's last positions, fewer than four, go as
 * the block of its last four when that block lies inside: the positions it computes twice
 * get the same chains, so the same values, and a block is cheaper than one position at a time. */
static inline void nsk_conv2d(const struct nsk_window *g, const float *in, const float *w, const float *bias,
                              size_t filters, float *out)
{
    const int reach = (g->k_w - 1) * g->dil_w; /* the last tap's column from the first's */
    /* A narrow block pays off once its runs of taps are long enough to hide the loop around
     * them: a first layer's 3 taps of 1 channel run faster one position at a time. */
    const size_t run_taps = g->dil_w == 1 ? (size_t)g->k_w * (size_t)g->channels : (size_t)g->channels;
    const size_t narrow_min = run_taps >= 8 ? NSK_CONV_BLOCK_COLS_NARROW : NSK_CONV_BLOCK_COLS;
    int oy, ox;
    size_t f0;
    for (oy = 0; oy < g->out_h; oy++)
        for (f0 = 0; f0 < filters;) {
            const size_t left = filters - f0;
            const size_t cols = left >= NSK_CONV_BLOCK_COLS ? NSK_CONV_BLOCK_COLS
                                : left >= NSK_CONV_BLOCK_COLS_NARROW ? NSK_CONV_BLOCK_COLS_NARROW : left;
            for (ox = 0; ox < g->out_w;) {
                /* The four positions from ox, or the row's last four when fewer are left. */
                const int first = ox + 3 < g->out_w ? ox : g->out_w - 4;
                if (cols >= narrow_min && first >= 0 && first * g->stride_w - g->pad_left >= 0 &&
                    (first + 3) * g->stride_w - g->pad_left + reach < g->in_w) {
                    nsk_conv2d_block(g, in, w, bias, filters, f0, cols == NSK_CONV_BLOCK_COLS, oy, first, out);
                    ox = first + 4;
                } else {
                    nsk_conv2d_position(g, in, w, bias, filters, f0, cols, oy, ox, out);
                    ox++;
                }
            }
            f0 += cols;
        }
}

/* Max pooling per channel: the first valid tap, then v > best ? v : best over the taps in
 * (ky, kx) order; padding never wins. */
static inline void nsk_maxpool(const struct nsk_window *g, const float *in, float *out)
{
    const size_t ch = (size_t)g->channels;
    int oy, ox, ky, kx;
    size_t c;
    for (oy = 0; oy < g->out_h; oy++)
        for (ox = 0; ox < g->out_w; ox++) {
            float *o = out + ((size_t)oy * (size_t)g->out_w + (size_t)ox) * ch;
            int first = 1;
            for (ky = 0; ky < g->k_h; ky++) {
                int iy = oy * g->stride_h + ky * g->dil_h - g->pad_top;
                if (iy < 0 || iy >= g->in_h)
                    continue;
                for (kx = 0; kx < g->k_w; kx++) {
                    int ix = ox * g->stride_w + kx * g->dil_w - g->pad_left;
                    const float *s;
                    if (ix < 0 || ix >= g->in_w)
                        continue;
                    s = in + ((size_t)iy * (size_t)g->in_w + (size_t)ix) * ch;
                    if (first) {
                        for (c = 0; c < ch; c++)
                            o[c] = s[c];
                        first = 0;
                        continue;
                    }
                    for (c = 0; c < ch; c++)
                        o[c] = s[c] > o[c] ? s[c] : o[c];
                }
            }
        }
}

/* Average pooling per channel: the valid taps summed from +0 in (ky, kx) order, then times
 * 1.0f / (the number of valid taps). */
static inline void nsk_avgpool(const struct nsk_window *g, const float *in, float *out)
{
    const size_t ch = (size_t)g->channels;
    int oy, ox, ky, kx;
    size_t c;
    for (oy = 0; oy < g->out_h; oy++)
        for (ox = 0; ox < g->out_w; ox++) {
            float *o = out + ((size_t)oy * (size_t)g->out_w + (size_t)ox) * ch;
            int count = 0;
            float inv;
            for (c = 0; c < ch; c++)
                o[c] = 0.0f;
            for (ky = 0; ky < g->k_h; ky++) {
                int iy = oy * g->stride_h + ky * g->dil_h - g->pad_top;
                if (iy < 0 || iy >= g->in_h)
                    continue;
                for (kx = 0; kx < g->k_w; kx++) {
                    int ix = ox * g->stride_w + kx * g->dil_w - g->pad_left;
                    const float *s;
                    if (ix < 0 || ix >= g->in_w)
                        continue;
                    s = in + ((size_t)iy * (size_t)g->in_w + (size_t)ix) * ch;
                    count++;
                    for (c = 0; c < ch; c++)
                        o[c] += s[c];
                }
            }
            inv = 1.0f / (float)count;
            for (c = 0; c < ch; c++)
                o[c] *= inv;
        }
}

/* Batch normalisation folded into one affine map per channel:
 * inv_std = 1 / sqrtf(var + eps), scale = gamma inv_std, shift = beta - mean scale (one fmaf).
 * The runtime folds both its batch and its running statistics with this. */
static inline float nsk_batchnorm_inv_std(float var, float eps)
{
    return 1.0f / sqrtf(var + eps);
}

static inline void nsk_batchnorm_fold(const float *gamma, const float *beta, const float *mean, const float *var,
                               float eps, size_t cols, float *scale, float *shift)
{
    size_t c;
    for (c = 0; c < cols; c++) {
        scale[c] = gamma[c] * nsk_batchnorm_inv_std(var[c], eps);
        shift[c] = fmaf(-mean[c], scale[c], beta[c]);
    }
}

/* y (rows, cols) = fmaf(x, scale[c], shift[c]) per column c: batchnorm's affine map. */
static inline void nsk_affine_cols(const float *x, const float *scale, const float *shift, size_t rows, size_t cols,
                            float *y)
{
    size_t r, c;
    for (r = 0; r < rows; r++)
        for (c = 0; c < cols; c++)
            y[r * cols + c] = fmaf(x[r * cols + c], scale[c], shift[c]);
}

#endif
