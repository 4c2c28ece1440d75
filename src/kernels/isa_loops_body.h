/* The text of struct isa_loops (kernels/isa_loops.h), compiled once per ISA: the including
 * file defines ISA_LOOPS_NAME, the name of its struct. Each row of activations.def becomes its
 * scalar functions and, for elementwise rows, one forward and one backward loop, so every
 * function's loop is its own and the simple ones vectorise. */
#ifndef ISA_LOOPS_NAME
#error "define ISA_LOOPS_NAME (the struct's name) before including isa_loops_body.h"
#endif

#include <stdint.h>
#include <string.h>

#include "kernels/isa_im2col.h"
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
static void isa_col2im_rows(const struct kernels_window *g, long r0, long r1, const float *col, float *d_in,
                            bool fresh)
{
    const int ch = g->channels;
    const size_t kcols = (size_t)g->k_h * (size_t)g->k_w * (size_t)ch;
    for (long r = r0; r < r1; r++) {
        long s = r / g->in_h;
        int iy = (int)(r % g->in_h);
        const float *scol = col + (size_t)s * (size_t)g->out_h * (size_t)g->out_w * kcols;
        float *drow = d_in + (size_t)r * (size_t)g->in_w * (size_t)ch;
        if (fresh)
            memset(drow, 0, (size_t)g->in_w * (size_t)ch * sizeof *drow);
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

/* A 2x2 window at stride 2 without padding: the four taps in (ky, kx) order, the first maximum
 * kept (strictly greater), as isa_maxpool_rows does for any window. winners (training): each
 * output's winning tap, + 4 when the maximum is > 0 (kernels_maxpool_forward). */
static inline __attribute__((always_inline)) void isa_maxpool2x2_body(const struct kernels_window *g, long r0, long r1,
                                                                      const float *in, float *out, int32_t *winners)
{
    const int ch = g->channels;
    const size_t in_row = (size_t)g->in_w * (size_t)ch, out_row = (size_t)g->out_w * (size_t)ch;
    for (long r = r0; r < r1; r++) {
        long s = r / g->out_h;
        int oy = (int)(r % g->out_h);
        const float *top = in + ((size_t)s * (size_t)g->in_h + 2 * (size_t)oy) * in_row, *bottom = top + in_row;
        float *o = out + ((size_t)s * (size_t)g->out_h + (size_t)oy) * out_row;
        int32_t *w = winners ? winners + ((size_t)s * (size_t)g->out_h + (size_t)oy) * out_row : NULL;
        for (int ox = 0; ox < g->out_w; ox++, o += ch) {
            const float *p0 = top + 2 * (size_t)ox * (size_t)ch, *p1 = p0 + ch;
            const float *p2 = bottom + 2 * (size_t)ox * (size_t)ch, *p3 = p2 + ch;
            if (!winners) {
                _Pragma("omp simd") for (int c = 0; c < ch; c++) {
                    float m = p0[c];
                    m = p1[c] > m ? p1[c] : m;
                    m = p2[c] > m ? p2[c] : m;
                    m = p3[c] > m ? p3[c] : m;
                    o[c] = m;
                }
                continue;
            }
            /* The same comparisons; the winner is the last tap that compared greater. Integer
             * selects, the form GCC vectorises. */
            int32_t *wo = w + (size_t)ox * (size_t)ch;
            _Pragma("omp simd") for (int c = 0; c < ch; c++) {
                float m = p0[c];
                int32_t at = 0, t;
                t = -(int32_t)(p1[c] > m);
                m = p1[c] > m ? p1[c] : m;
                at = (t & 1) | (~t & at);
                t = -(int32_t)(p2[c] > m);
                m = p2[c] > m ? p2[c] : m;
                at = (t & 2) | (~t & at);
                t = -(int32_t)(p3[c] > m);
                m = p3[c] > m ? p3[c] : m;
                at = (t & 3) | (~t & at);
                o[c] = m;
                wo[c] = at | (m > 0.0f ? 4 : 0);
            }
        }
    }
}

static void isa_maxpool2x2_rows(const struct kernels_window *g, long r0, long r1, const float *in, float *out,
                                int32_t *winners)
{
    if (winners)
        isa_maxpool2x2_body(g, r0, r1, in, out, winners);
    else
        isa_maxpool2x2_body(g, r0, r1, in, out, NULL);
}

/* One input element's gradient: dy when it is its window's maximum (hit). fresh: the element
 * held no value, and 0 + dy keeps the bits of adding into a zeroed buffer (-0 becomes +0).
 * relu_mask: relu's gradient applied after, from its output x. */
static inline __attribute__((always_inline)) float isa_pool_grad(int32_t hit, float dy, float old, float x,
                                                                 bool fresh, bool relu_mask)
{
    /* Every operation unconditional and the choice an integer mask: the forms GCC vectorises. */
    float base = fresh ? 0.0f : old;
    float sum = base + dy;
    float v = hit ? sum : base;
    return relu_mask ? (x > 0.0f ? v : 0.0f) : v;
}

/* Input elements no window covers (an odd last row or column): no gradient of their own. */
static inline __attribute__((always_inline)) void isa_pool_uncovered(const float *x, float *d, size_t count,
                                                                     bool fresh, bool relu_mask)
{
    if (!fresh && !relu_mask)
        return;
    _Pragma("omp simd") for (size_t i = 0; i < count; i++)
        d[i] = isa_pool_grad(0, 0.0f, fresh ? 0.0f : d[i], x[i], fresh, relu_mask);
}

static inline __attribute__((always_inline)) void
isa_maxpool2x2_backward_body(const struct kernels_window *g, long r0, long r1, const struct kernels_maxpool_grad *a,
                             bool fresh, bool relu_mask)
{
    const int ch = g->channels;
    const size_t in_row = (size_t)g->in_w * (size_t)ch, out_row = (size_t)g->out_w * (size_t)ch;
    const size_t covered = 2 * (size_t)g->out_w * (size_t)ch;
    for (long r = r0; r < r1; r++) {
        long s = r / g->out_h;
        int oy = (int)(r % g->out_h);
        size_t at = ((size_t)s * (size_t)g->in_h + 2 * (size_t)oy) * in_row;
        const float *x0 = a->in + at, *x1 = x0 + in_row;
        float *d0 = a->d_in + at, *d1 = d0 + in_row;
        const float *dy = a->d_out + ((size_t)s * (size_t)g->out_h + (size_t)oy) * out_row;
        for (int ox = 0; ox < g->out_w; ox++, dy += ch) {
            size_t o = 2 * (size_t)ox * (size_t)ch;
            const float *xa = x0 + o, *xb = xa + ch, *xc = x1 + o, *xd = xc + ch;
            float *da = d0 + o, *db = da + ch, *dc = d1 + o, *dd = dc + ch;
            /* Integer masks for the winner (the form GCC vectorises), no branch, no
             * conditional load. */
            _Pragma("omp simd") for (int c = 0; c < ch; c++) {
                float m = xa[c];
                int32_t b_wins = -(int32_t)(xb[c] > m);
                m = xb[c] > m ? xb[c] : m;
                int32_t c_wins = -(int32_t)(xc[c] > m);
                m = xc[c] > m ? xc[c] : m;
                int32_t d_wins = -(int32_t)(xd[c] > m);
                int32_t later = c_wins | d_wins;
                float g_c = dy[c];
                da[c] = isa_pool_grad(~(b_wins | later), g_c, fresh ? 0.0f : da[c], xa[c], fresh, relu_mask);
                db[c] = isa_pool_grad(b_wins & ~later, g_c, fresh ? 0.0f : db[c], xb[c], fresh, relu_mask);
                dc[c] = isa_pool_grad(c_wins & ~d_wins, g_c, fresh ? 0.0f : dc[c], xc[c], fresh, relu_mask);
                dd[c] = isa_pool_grad(d_wins, g_c, fresh ? 0.0f : dd[c], xd[c], fresh, relu_mask);
            }
        }
        if (covered < in_row) {
            isa_pool_uncovered(x0 + covered, d0 + covered, in_row - covered, fresh, relu_mask);
            isa_pool_uncovered(x1 + covered, d1 + covered, in_row - covered, fresh, relu_mask);
        }
        if (oy == g->out_h - 1 && 2 * g->out_h < g->in_h) {
            size_t below = (size_t)(g->in_h - 2 * g->out_h) * in_row;
            isa_pool_uncovered(x1 + in_row, d1 + in_row, below, fresh, relu_mask);
        }
    }
}

/* A fresh gradient from the winners the forward kept: the input is not read at all. Each
 * element is +0 or 0 + dy as isa_pool_grad makes it: relu's mask matters only at the winner,
 * whose value is the maximum (bit 2); elsewhere the value is +0 either way. */
static inline __attribute__((always_inline)) void
isa_maxpool2x2_backward_winners(const struct kernels_window *g, long r0, long r1, const struct kernels_maxpool_grad *a,
                                bool relu_mask)
{
    const int ch = g->channels;
    const size_t in_row = (size_t)g->in_w * (size_t)ch, out_row = (size_t)g->out_w * (size_t)ch;
    const size_t covered = 2 * (size_t)g->out_w * (size_t)ch;
    const int32_t need = relu_mask ? 4 : 0;
    for (long r = r0; r < r1; r++) {
        long s = r / g->out_h;
        int oy = (int)(r % g->out_h);
        size_t at = ((size_t)s * (size_t)g->in_h + 2 * (size_t)oy) * in_row;
        float *d0 = a->d_in + at, *d1 = d0 + in_row;
        const float *dy = a->d_out + ((size_t)s * (size_t)g->out_h + (size_t)oy) * out_row;
        const int32_t *w = (const int32_t *)a->saved + ((size_t)s * (size_t)g->out_h + (size_t)oy) * out_row;
        for (int ox = 0; ox < g->out_w; ox++, dy += ch, w += ch) {
            size_t o = 2 * (size_t)ox * (size_t)ch;
            float *da = d0 + o, *db = da + ch, *dc = d1 + o, *dd = dc + ch;
            _Pragma("omp simd") for (int c = 0; c < ch; c++) {
                int32_t code = w[c];
                int32_t live = -(int32_t)((code & need) == need);
                int32_t tap = code & 3;
                float g_c = dy[c];
                da[c] = isa_pool_grad(live & -(int32_t)(tap == 0), g_c, 0.0f, 0.0f, true, false);
                db[c] = isa_pool_grad(live & -(int32_t)(tap == 1), g_c, 0.0f, 0.0f, true, false);
                dc[c] = isa_pool_grad(live & -(int32_t)(tap == 2), g_c, 0.0f, 0.0f, true, false);
                dd[c] = isa_pool_grad(live & -(int32_t)(tap == 3), g_c, 0.0f, 0.0f, true, false);
            }
        }
        if (covered < in_row) {
            memset(d0 + covered, 0, (in_row - covered) * sizeof *d0);
            memset(d1 + covered, 0, (in_row - covered) * sizeof *d1);
        }
        if (oy == g->out_h - 1 && 2 * g->out_h < g->in_h)
            memset(d1 + in_row, 0, (size_t)(g->in_h - 2 * g->out_h) * in_row * sizeof *d1);
    }
}

static void isa_maxpool2x2_backward_rows(const struct kernels_window *g, long r0, long r1,
                                         const struct kernels_maxpool_grad *a)
{
    if (a->fresh && a->saved && a->relu_mask)
        isa_maxpool2x2_backward_winners(g, r0, r1, a, true);
    else if (a->fresh && a->saved)
        isa_maxpool2x2_backward_winners(g, r0, r1, a, false);
    else if (a->fresh && a->relu_mask)
        isa_maxpool2x2_backward_body(g, r0, r1, a, true, true);
    else if (a->fresh)
        isa_maxpool2x2_backward_body(g, r0, r1, a, true, false);
    else if (a->relu_mask)
        isa_maxpool2x2_backward_body(g, r0, r1, a, false, true);
    else
        isa_maxpool2x2_backward_body(g, r0, r1, a, false, false);
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
    .im2col_rows = isa_im2col_rows,
    .col2im_rows = isa_col2im_rows,
    .maxpool_rows = isa_maxpool_rows,
    .maxpool2x2_rows = isa_maxpool2x2_rows,
    .maxpool2x2_backward_rows = isa_maxpool2x2_backward_rows,
};
