/* The implicit im2col of the GEMM driver (kernels/gemm.c): rows of the im2col matrix copied
 * straight from NHWC images into a GEMM's A block. Included by isa_loops_body.h, so the copies
 * are compiled once per ISA and move as many bytes per instruction as its registers hold; they
 * copy values, so every ISA gives the same block. */
#ifndef ISA_IM2COL_H
#define ISA_IM2COL_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "kernels/kernels.h"

static inline int isa_min_int(int a, int b)
{
    return a < b ? a : b;
}

/* A row of the im2col matrix: its sample and output position. */
struct im2col_row {
    long s;
    int oy, ox;
};

static struct im2col_row im2col_row_at(const struct kernels_window *w, long row)
{
    long positions = (long)w->out_h * w->out_w;
    int pos = (int)(row % positions);
    return (struct im2col_row){.s = row / positions, .oy = pos / w->out_w, .ox = pos % w->out_w};
}

static void im2col_row_next(const struct kernels_window *w, struct im2col_row *r)
{
    if (++r->ox == w->out_w) {
        r->ox = 0;
        if (++r->oy == w->out_h) {
            r->oy = 0;
            r->s++;
        }
    }
}

/* A column of the im2col matrix: its tap (ky, kx, c). */
struct im2col_tap {
    int ky, kx, c;
};

static struct im2col_tap im2col_tap_at(const struct kernels_window *w, int tap)
{
    int rem = tap % (w->k_w * w->channels);
    return (struct im2col_tap){.ky = tap / (w->k_w * w->channels), .kx = rem / w->channels, .c = rem % w->channels};
}

/* Runs are mostly a few floats (one channel, a 3-pixel window row) to a few hundred (a window
 * row of many channels): fixed-size copies that the compiler inlines, as wide as the ISA's
 * registers, beat a call to memcpy. With AVX-512 a run's last partial vector is one masked
 * load and store (masked-off lanes are neither read nor written, so nothing past the run is
 * touched): a first layer's 3-float runs took a scalar loop each. */
static inline __attribute__((always_inline)) void copy_run(float *dst, const float *src, int n)
{
    if (n > 256) {
        memcpy(dst, src, (size_t)n * sizeof *dst);
        return;
    }
    for (; n >= 16; n -= 16, dst += 16, src += 16)
        memcpy(dst, src, 16 * sizeof *dst);
#if defined(__AVX512F__)
    if (n > 0) {
        __mmask16 lanes = (__mmask16)((1u << n) - 1u);
        _mm512_mask_storeu_ps(dst, lanes, _mm512_maskz_loadu_ps(lanes, src));
    }
    return;
#endif
    for (; n >= 8; n -= 8, dst += 8, src += 8)
        memcpy(dst, src, 8 * sizeof *dst);
    for (; n >= 4; n -= 4, dst += 4, src += 4)
        memcpy(dst, src, 4 * sizeof *dst);
    for (; n > 0; n--)
        *dst++ = *src++;
}

/* The pending run [*run, + *run_len) grows by n floats at src when they follow it in memory;
 * otherwise it is copied out to *dst and a new one starts at src. */
static inline __attribute__((always_inline)) void run_add(const float **run, int *run_len, float **dst,
                                                          const float *src, int n)
{
    if (*run_len && *run + *run_len == src) {
        *run_len += n;
        return;
    }
    if (*run_len) {
        copy_run(*dst, *run, *run_len);
        *dst += *run_len;
    }
    *run = src;
    *run_len = n;
}

/* dst[0 .. count) = the im2col matrix's row r from column (tap) t on, read from the images
 * `in`: taps (ky, kx, c) with c fastest, zeros in the padding. Taps next to each other in the
 * image (a pixel's channels; a window row's pixels when dil_w is 1) are copied as one run. */
static void im2col_segment(const struct kernels_window *w, const float *in, struct im2col_row r,
                           struct im2col_tap t, int count, float *dst)
{
    const int ch = w->channels;
    const float *img = in + (size_t)r.s * (size_t)w->in_h * (size_t)w->in_w * (size_t)ch;
    const int y0 = r.oy * w->stride_h - w->pad_top, x0 = r.ox * w->stride_w - w->pad_left;
    int ky = t.ky, kx = t.kx, c = t.c;
    const float *run = NULL;
    int run_len = 0;
    /* The window's pixels in each of its rows lie side by side when dil_w is 1. */
    const int span = w->k_w * ch;
    const bool row_inside = w->dil_w == 1 && x0 >= 0 && x0 + w->k_w <= w->in_w;
    while (count > 0) {
        int iy_fast = y0 + ky * w->dil_h;
        if (row_inside && kx == 0 && c == 0 && count >= span && iy_fast >= 0 && iy_fast < w->in_h) {
            run_add(&run, &run_len, &dst, img + ((size_t)iy_fast * (size_t)w->in_w + (size_t)x0) * (size_t)ch, span);
            count -= span;
            ky++;
            continue;
        }
        int take = isa_min_int(ch - c, count);
        int iy = y0 + ky * w->dil_h, ix = x0 + kx * w->dil_w;
        if (iy < 0 || iy >= w->in_h || ix < 0 || ix >= w->in_w) {
            if (run_len) {
                copy_run(dst, run, run_len);
                dst += run_len;
                run_len = 0;
            }
            memset(dst, 0, (size_t)take * sizeof *dst);
            dst += take;
        } else {
            run_add(&run, &run_len, &dst, img + ((size_t)iy * (size_t)w->in_w + (size_t)ix) * (size_t)ch + (size_t)c,
                    take);
        }
        count -= take;
        c = 0;
        if (++kx == w->k_w) {
            kx = 0;
            ky++;
        }
    }
    if (run_len)
        copy_run(dst, run, run_len);
}

/* Rows [row0, row0 + rows) of the im2col matrix, columns [tap0, tap0 + count), row r at
 * dst + r * stride. Whole rows whose window lies inside the image (the common case) are k_h
 * copies of k_w * channels floats each, done here without im2col_segment's bookkeeping, which
 * cost more than the copies for small windows (3 floats a run for a 3x3 kernel on 1 channel). */
static void isa_im2col_rows(const struct kernels_window *w, const float *in, long row0, int rows, int tap0, int count,
                        float *dst, size_t stride)
{
    const int ch = w->channels, span = w->k_w * ch;
    const bool whole = tap0 == 0 && count == w->k_h * span && w->dil_w == 1;
    const size_t image = (size_t)w->in_h * (size_t)w->in_w * (size_t)ch;
    struct im2col_row row = im2col_row_at(w, row0);
    struct im2col_tap tap = im2col_tap_at(w, tap0);
    for (int r = 0; r < rows; r++, im2col_row_next(w, &row)) {
        float *d = dst + (size_t)r * stride;
        const int y0 = row.oy * w->stride_h - w->pad_top, x0 = row.ox * w->stride_w - w->pad_left;
        if (whole && x0 >= 0 && x0 + w->k_w <= w->in_w && y0 >= 0 && y0 + (w->k_h - 1) * w->dil_h < w->in_h) {
            const float *src = in + (size_t)row.s * image + ((size_t)y0 * (size_t)w->in_w + (size_t)x0) * (size_t)ch;
            const size_t row_step = (size_t)w->dil_h * (size_t)w->in_w * (size_t)ch;
            for (int ky = 0; ky < w->k_h; ky++, d += span, src += row_step)
                copy_run(d, src, span);
        } else {
            im2col_segment(w, in, row, tap, count, d);
        }
    }
}

#endif
