/* The text of struct isa_loops (kernels/isa_loops.h), compiled once per ISA: the including
 * file defines ISA_LOOPS_NAME, the name of its struct. Each row of activations.def becomes its
 * scalar functions and, for elementwise rows, one forward and one backward loop, so every
 * function's loop is its own and the simple ones vectorise. */
#ifndef ISA_LOOPS_NAME
#error "define ISA_LOOPS_NAME (the struct's name) before including isa_loops_body.h"
#endif

#include <stdint.h>
#include <string.h>

#include "kernels/isa_loops.h"
#include "kernels/nsk.h"

/* A stored gradient goes straight out (each element reads and writes only its own index, so dz
 * may alias z or dy); an added one is formed in a stack block first, so both loops vectorise. */
enum { ACT_BLOCK = 256 };

#define ACTIVATION(name, ID, identity, flops, init, forward, gradient)                           \
    static inline float activation_f_##name(float x, float alpha) forward                        \
    static inline float activation_g_##name(float z, float dy, float alpha) gradient             \
    static void activation_forward_##name(float alpha, float *x, size_t begin, size_t end)        \
    {                                                                                             \
        _Pragma("omp simd") for (size_t i = begin; i < end; i++)                                  \
            x[i] = activation_f_##name(x[i], alpha);                                              \
    }                                                                                             \
    static void activation_backward_##name(float alpha, const float *z, const float *dy,          \
                                           float *dz, size_t begin, size_t end, bool accumulate)  \
    {                                                                                             \
        if (!accumulate) {                                                                        \
            _Pragma("omp simd") for (size_t i = begin; i < end; i++)                              \
                dz[i] = activation_g_##name(z[i], dy[i], alpha);                                  \
            return;                                                                               \
        }                                                                                         \
        float g[ACT_BLOCK];                                                                       \
        for (size_t b0 = begin; b0 < end; b0 += ACT_BLOCK) {                                      \
            size_t len = end - b0 < ACT_BLOCK ? end - b0 : ACT_BLOCK;                             \
            const float *zb = z + b0, *db = dy + b0;                                              \
            _Pragma("omp simd") for (size_t i = 0; i < len; i++)                                  \
                g[i] = activation_g_##name(zb[i], db[i], alpha);                                  \
            float *out = dz + b0;                                                                 \
            _Pragma("omp simd") for (size_t i = 0; i < len; i++)                                  \
                out[i] += g[i];                                                                   \
        }                                                                                         \
    }
#define ACTIVATION_ROW(name, ID, flops, init, forward, gradient)                                 \
    static void activation_f_##name(float *x, size_t cols) forward                               \
    static void activation_g_##name(const float *z, const float *dy, float *dz, size_t cols,     \
                                    bool accumulate) gradient
#include "kernels/activations.def"
#undef ACTIVATION
#undef ACTIVATION_ROW

static void isa_affine_rows(const float *x, const float *scale, const float *shift, size_t rows, size_t cols,
                            float *y)
{
    nsk_affine_cols(x, scale, shift, rows, cols, y);
}

/* The input pixel index o with o * stride + kpos * dil - pad == i, or -1. */
static inline int isa_window_source(int i, int kpos, int stride, int dil, int pad, int out)
{
    int t = i + pad - kpos * dil;
    if (stride != 1) {
        if (t < 0 || t % stride != 0)
            return -1;
        t /= stride;
    }
    return t >= 0 && t < out ? t : -1;
}

/* Each input pixel adds its taps in (ky, kx) order, whatever the loop nest: ky outermost here so
 * that a whole row of the column buffer is walked at once. */
static void isa_col2im_rows(const struct kernels_window *g, long r0, long r1, const float *col, float *d_in)
{
    const int ch = g->channels;
    const size_t kcols = (size_t)g->k_h * (size_t)g->k_w * (size_t)ch;
    for (long r = r0; r < r1; r++) {
        long s = r / g->in_h;
        int iy = (int)(r % g->in_h);
        const float *scol = col + (size_t)s * (size_t)g->out_h * (size_t)g->out_w * kcols;
        float *drow = d_in + (size_t)r * (size_t)g->in_w * (size_t)ch;
        for (int ky = 0; ky < g->k_h; ky++) {
            int oy = isa_window_source(iy, ky, g->stride_h, g->dil_h, g->pad_top, g->out_h);
            if (oy < 0)
                continue;
            const float *srow = scol + (size_t)oy * (size_t)g->out_w * kcols + (size_t)ky * (size_t)g->k_w * (size_t)ch;
            for (int ix = 0; ix < g->in_w; ix++) {
                float *d = drow + (size_t)ix * (size_t)ch;
                for (int kx = 0; kx < g->k_w; kx++) {
                    int ox = isa_window_source(ix, kx, g->stride_w, g->dil_w, g->pad_left, g->out_w);
                    if (ox < 0)
                        continue;
                    const float *src = srow + (size_t)ox * kcols + (size_t)kx * (size_t)ch;
                    _Pragma("omp simd") for (int c = 0; c < ch; c++)
                        d[c] += src[c];
                }
            }
        }
    }
}

enum { POOL_CBLOCK = 256 };

/* Max over each window, channels innermost in blocks held in local arrays so the
 * compare-and-select vectorises; the first maximum in scan order wins ties (strictly
 * greater), and its flat index within the sample goes to argmax (when not NULL). */
static void isa_maxpool_rows(const struct kernels_window *g, long r0, long r1, const float *in, float *out,
                             void *argmax)
{
    const int ch = g->channels;
    const size_t in_size = (size_t)g->in_h * (size_t)g->in_w * (size_t)ch;
    const size_t out_size = (size_t)g->out_h * (size_t)g->out_w * (size_t)ch;
    float best[POOL_CBLOCK];
    int32_t best_at[POOL_CBLOCK];
    for (long r = r0; r < r1; r++) {
        long s = r / g->out_h;
        int oy = (int)(r % g->out_h);
        const float *img = in + (size_t)s * in_size;
        for (int ox = 0; ox < g->out_w; ox++) {
            size_t o = (size_t)s * out_size + ((size_t)oy * (size_t)g->out_w + (size_t)ox) * (size_t)ch;
            for (int c0 = 0; c0 < ch; c0 += POOL_CBLOCK) {
                const int cn = ch - c0 < POOL_CBLOCK ? ch - c0 : POOL_CBLOCK;
                bool first = true;
                for (int ky = 0; ky < g->k_h; ky++) {
                    int iy = oy * g->stride_h + ky * g->dil_h - g->pad_top;
                    if (iy < 0 || iy >= g->in_h)
                        continue;
                    for (int kx = 0; kx < g->k_w; kx++) {
                        int ix = ox * g->stride_w + kx * g->dil_w - g->pad_left;
                        if (ix < 0 || ix >= g->in_w)
                            continue;
                        const int32_t at = (int32_t)(((size_t)iy * (size_t)g->in_w + (size_t)ix) * (size_t)ch + (size_t)c0);
                        const float *src = img + at;
                        if (first) {
                            _Pragma("omp simd") for (int c = 0; c < cn; c++) {
                                best[c] = src[c];
                                best_at[c] = at + c;
                            }
                            first = false;
                            continue;
                        }
                        _Pragma("omp simd") for (int c = 0; c < cn; c++) {
                            float v = src[c], b = best[c];
                            /* A mask rather than a second select: GCC vectorises this form. */
                            int32_t take = -(int32_t)(v > b);
                            best_at[c] = ((at + c) & take) | (best_at[c] & ~take);
                            best[c] = v > b ? v : b;
                        }
                    }
                }
                memcpy(out + o + (size_t)c0, best, (size_t)cn * sizeof *best);
                if (argmax)
                    memcpy((char *)argmax + (o + (size_t)c0) * sizeof(int32_t), best_at, (size_t)cn * sizeof(int32_t));
            }
        }
    }
}

const struct isa_loops ISA_LOOPS_NAME = {
    .activations = {
#define ACTIVATION(name, ID, identity, flops, init, forward, gradient)                           \
        {activation_forward_##name, activation_backward_##name, NULL, NULL},
#define ACTIVATION_ROW(name, ID, flops, init, forward, gradient)                                 \
        {NULL, NULL, activation_f_##name, activation_g_##name},
#include "kernels/activations.def"
#undef ACTIVATION
#undef ACTIVATION_ROW
    },
    .affine_rows = isa_affine_rows,
    .col2im_rows = isa_col2im_rows,
    .maxpool_rows = isa_maxpool_rows,
};
