/* The AVX2 + FMA micro-kernel: a (6, 16) tile of C in 12 ymm accumulators, one lane per
 * element of C, one vfmadd231ps (the same operation as fmaf) per element and k, k in order:
 * the same bits as the portable and AVX-512 kernels. Columns past `cols` are masked off, rows
 * past `rows` not stored. */
#include <immintrin.h>
#include <stdbool.h>

#include "config.h"
#include "kernels/gemm_micro.h"
#include "kernels/gemm_transpose_x86.h"

#if !defined(__AVX2__) || !defined(__FMA__)
#error "gemm_avx2.c must be compiled with -mavx2 -mfma"
#endif

enum { MR = 6, NR = 16 };

#define UNROLL _Pragma("GCC unroll 16")

static __m256i lane_mask(int cols)
{
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(cols), lanes);
}

static inline __attribute__((always_inline)) void
micro_body(int mr, int kc, const float *restrict a, size_t a_rs, size_t a_ks, bool k_major, const float *restrict bp,
           size_t b_ks, float *restrict c, size_t ldc, int rows, int cols, enum gemm_mode mode,
           const struct gemm_finish *finish)
{
    __m256i m0 = lane_mask(cols), m1 = lane_mask(cols - 8);
    /* Masked stores are microcoded and slow on some CPUs (AMD): whole tiles use plain ones. */
    const bool full = cols == NR;
    __m256 acc0[MR], acc1[MR];
    UNROLL
    for (int r = 0; r < mr; r++) {
        acc0[r] = _mm256_setzero_ps();
        acc1[r] = _mm256_setzero_ps();
    }
    if (mode == GEMM_CONTINUE) {
        UNROLL
        for (int r = 0; r < mr; r++)
            if (r < rows) {
                acc0[r] = full ? _mm256_loadu_ps(c + (size_t)r * ldc) : _mm256_maskload_ps(c + (size_t)r * ldc, m0);
                acc1[r] = full ? _mm256_loadu_ps(c + (size_t)r * ldc + 8)
                               : _mm256_maskload_ps(c + (size_t)r * ldc + 8, m1);
            }
    }
    const float *row[MR];
    UNROLL
    for (int r = 0; r < mr; r++)
        row[r] = a + (size_t)r * a_rs;
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8);
        UNROLL
        for (int r = 0; r < mr; r++) {
            __m256 ar = _mm256_broadcast_ss(k_major ? a + r : row[r] + k);
            acc0[r] = _mm256_fmadd_ps(ar, b0, acc0[r]);
            acc1[r] = _mm256_fmadd_ps(ar, b1, acc1[r]);
        }
        if (k_major)
            a += a_ks;
        bp += b_ks;
    }
    const bool add_bias = finish && finish->bias, relu = finish && finish->relu;
    const __m256 zero = _mm256_setzero_ps();
    const __m256 bias0 = !add_bias ? zero : full ? _mm256_loadu_ps(finish->bias) : _mm256_maskload_ps(finish->bias, m0);
    const __m256 bias1 = !add_bias ? zero
                         : full    ? _mm256_loadu_ps(finish->bias + 8)
                                   : _mm256_maskload_ps(finish->bias + 8, m1);
    UNROLL
    for (int r = 0; r < mr; r++) {
        if (r >= rows)
            break;
        float *cr = c + (size_t)r * ldc;
        __m256 v0 = acc0[r], v1 = acc1[r];
        if (mode == GEMM_ADD) {
            v0 = _mm256_add_ps(full ? _mm256_loadu_ps(cr) : _mm256_maskload_ps(cr, m0), v0);
            v1 = _mm256_add_ps(full ? _mm256_loadu_ps(cr + 8) : _mm256_maskload_ps(cr + 8, m1), v1);
        }
        if (add_bias) {
            v0 = _mm256_add_ps(v0, bias0);
            v1 = _mm256_add_ps(v1, bias1);
        }
        if (relu) { /* x > 0 ? x : 0: NaN and -0 become +0 */
            v0 = _mm256_and_ps(v0, _mm256_cmp_ps(v0, zero, _CMP_GT_OQ));
            v1 = _mm256_and_ps(v1, _mm256_cmp_ps(v1, zero, _CMP_GT_OQ));
        }
        if (full) {
            _mm256_storeu_ps(cr, v0);
            _mm256_storeu_ps(cr + 8, v1);
            continue;
        }
        _mm256_maskstore_ps(cr, m0, v0);
        _mm256_maskstore_ps(cr + 8, m1, v1);
    }
}

/* One function per tile height, so a ragged last row panel runs only the rows it has. */
#define MICRO(name, mr)                                                                                       \
    static void name(int kc, const float *restrict a, size_t a_rs, size_t a_ks, const float *restrict bp,     \
                     size_t b_ks, float *restrict c, size_t ldc, int rows, int cols, enum gemm_mode mode,      \
                     const struct gemm_finish *finish)                                                        \
    {                                                                                                         \
        if (a_rs == 1)                                                                                        \
            micro_body(mr, kc, a, 1, a_ks, true, bp, b_ks, c, ldc, rows, cols, mode, finish);                 \
        else                                                                                                  \
            micro_body(mr, kc, a, a_rs, 1, false, bp, b_ks, c, ldc, rows, cols, mode, finish);                \
    }
MICRO(rows_1, 1)
MICRO(rows_2, 2)
MICRO(rows_3, 3)
MICRO(rows_4, 4)
MICRO(rows_5, 5)
MICRO(rows_6, 6)

static gemm_micro_fn *const by_rows[] = {NULL, rows_1, rows_2, rows_3, rows_4, rows_5, rows_6};
_Static_assert(sizeof by_rows / sizeof *by_rows == MR + 1, "one kernel per height");

const struct gemm_tiles gemm_tiles_avx2 = {
    .mr = MR, .nr = NR, .mc = 16 * MR, .kc = 256, .nc = 512, .micro_rows = by_rows,
    .store_transposed = gemm_store_transposed_x86};
