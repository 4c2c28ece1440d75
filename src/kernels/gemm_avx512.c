/* The AVX-512 micro-kernel: a (GEMM_AVX512_MR, 32) tile of C in 2 * MR zmm accumulators.
 * Each lane is one element of C; per k it takes one fused multiply-add (vfmadd231ps, the
 * same operation as fmaf), so each element's chain runs k = 0, 1, ... in order exactly as the
 * portable kernel's. Columns past `cols` are masked off, rows past `rows` not stored. */
#include <immintrin.h>
#include <stdbool.h>

#include "config.h"
#include "kernels/gemm_micro.h"

#if !defined(__AVX512F__) || !defined(__FMA__)
#error "gemm_avx512.c must be compiled with -mavx512f -mfma"
#endif

#ifndef GEMM_AVX512_MR
#define GEMM_AVX512_MR 8
#endif
enum { MR = GEMM_AVX512_MR, NR = 32 };

#define UNROLL _Pragma("GCC unroll 32")

/* The body, inlined twice so each of A's layouts gets constant strides where it can. */
static inline __attribute__((always_inline)) void
micro_body(int kc, const float *restrict a, size_t a_rs, size_t a_ks, bool k_major, const float *restrict bp,
           size_t b_ks, float *restrict c, size_t ldc, int rows, int cols, enum gemm_mode mode)
{
    __mmask16 m0 = cols >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cols) - 1u);
    __mmask16 m1 = cols >= 32 ? (__mmask16)0xFFFF : cols > 16 ? (__mmask16)((1u << (cols - 16)) - 1u) : 0;
    __m512 acc0[MR], acc1[MR];
    UNROLL
    for (int r = 0; r < MR; r++) {
        acc0[r] = _mm512_setzero_ps();
        acc1[r] = _mm512_setzero_ps();
    }
    if (mode == GEMM_CONTINUE) {
        UNROLL
        for (int r = 0; r < MR; r++)
            if (r < rows) {
                acc0[r] = _mm512_maskz_loadu_ps(m0, c + (size_t)r * ldc);
                acc1[r] = _mm512_maskz_loadu_ps(m1, c + (size_t)r * ldc + 16);
            }
    }
    if (k_major) {
        _Pragma("GCC unroll 4")
        for (int k = 0; k < kc; k++) {
            __m512 b0 = _mm512_loadu_ps(bp), b1 = _mm512_loadu_ps(bp + 16);
            UNROLL
            for (int r = 0; r < MR; r++) {
                __m512 ar = _mm512_set1_ps(a[r]);
                acc0[r] = _mm512_fmadd_ps(ar, b0, acc0[r]);
                acc1[r] = _mm512_fmadd_ps(ar, b1, acc1[r]);
            }
            a += a_ks;
            bp += b_ks;
        }
    } else {
        const float *row[MR];
        UNROLL
        for (int r = 0; r < MR; r++)
            row[r] = a + (size_t)r * a_rs;
        _Pragma("GCC unroll 4")
        for (int k = 0; k < kc; k++) {
            __m512 b0 = _mm512_loadu_ps(bp), b1 = _mm512_loadu_ps(bp + 16);
            UNROLL
            for (int r = 0; r < MR; r++) {
                __m512 ar = _mm512_set1_ps(row[r][k]);
                acc0[r] = _mm512_fmadd_ps(ar, b0, acc0[r]);
                acc1[r] = _mm512_fmadd_ps(ar, b1, acc1[r]);
            }
            bp += b_ks;
        }
    }
    UNROLL
    for (int r = 0; r < MR; r++) {
        if (r >= rows)
            break;
        float *cr = c + (size_t)r * ldc;
        __m512 v0 = acc0[r], v1 = acc1[r];
        if (mode == GEMM_ADD) {
            v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, cr), v0);
            v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, cr + 16), v1);
        }
        _mm512_mask_storeu_ps(cr, m0, v0);
        _mm512_mask_storeu_ps(cr + 16, m1, v1);
    }
}

static void gemm_micro_avx512(int kc, const float *restrict a, size_t a_rs, size_t a_ks, const float *restrict bp,
                              size_t b_ks, float *restrict c, size_t ldc, int rows, int cols, enum gemm_mode mode)
{
    if (a_rs == 1)
        micro_body(kc, a, 1, a_ks, true, bp, b_ks, c, ldc, rows, cols, mode);
    else
        micro_body(kc, a, a_rs, 1, false, bp, b_ks, c, ldc, rows, cols, mode);
}

const struct gemm_tiles gemm_tiles_avx512 = {
    .mr = MR, .nr = NR, .mc = 16 * MR > GEMM_MC_MAX ? GEMM_MC_MAX / MR * MR : 16 * MR, .kc = 256, .nc = 512,
    .micro = gemm_micro_avx512};
