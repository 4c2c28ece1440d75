/* The AVX-512 micro-kernels: tiles of C in zmm accumulators. Each lane is one element of C; per k it takes one fused multiply-add (vfmadd231ps, the
 * same operation as fmaf), so each element's chain runs k = 0, 1, ... in order exactly as the
 * portable kernel's. Columns past `cols` are masked off, rows past `rows` not stored. */
#include <immintrin.h>
#include <stdbool.h>

#include "config.h"
#include "kernels/gemm_micro.h"
#include "kernels/gemm_transpose_x86.h"

#if !defined(__AVX512F__) || !defined(__FMA__)
#error "gemm_avx512.c must be compiled with -mavx512f -mfma"
#endif

/* Two tiles: (8, 32) in 16 accumulators, and for outputs at most 16 wide (a classifier's few
 * classes) (16, 16), which wastes fewer lanes. */
enum { WIDE_MR = 8, NARROW_MR = 16, MR_MAX = 16 };

#define UNROLL _Pragma("GCC unroll 32")

/* The body, inlined once per tile and layout of A so that the tile and A's constant strides
 * are compile-time constants; nv: zmm vectors per row of the tile (2: 32 columns, 1: 16). */
static inline __attribute__((always_inline)) void
micro_body(int mr, int nv, int kc, const float *restrict a, size_t a_rs, size_t a_ks, bool k_major,
           const float *restrict bp, size_t b_ks, float *restrict c, size_t ldc, int rows, int cols,
           enum gemm_mode mode, const struct gemm_finish *finish)
{
    __mmask16 m0 = cols >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cols) - 1u);
    __mmask16 m1 = cols >= 32 ? (__mmask16)0xFFFF : cols > 16 ? (__mmask16)((1u << (cols - 16)) - 1u) : 0;
    __m512 acc0[MR_MAX], acc1[MR_MAX];
    UNROLL
    for (int r = 0; r < mr; r++) {
        acc0[r] = _mm512_setzero_ps();
        acc1[r] = _mm512_setzero_ps();
    }
    if (mode == GEMM_CONTINUE) {
        UNROLL
        for (int r = 0; r < mr; r++)
            if (r < rows) {
                acc0[r] = _mm512_maskz_loadu_ps(m0, c + (size_t)r * ldc);
                if (nv == 2)
                    acc1[r] = _mm512_maskz_loadu_ps(m1, c + (size_t)r * ldc + 16);
            }
    }
    /* C's lines are fetched while the chains run: with a short k (an input gradient's 64),
     * waiting for them at the store is a tenth of the tile's time. */
    UNROLL
    for (int r = 0; r < mr; r++)
        if (r < rows) {
            _mm_prefetch((const char *)(c + (size_t)r * ldc), _MM_HINT_T0);
            if (nv == 2)
                _mm_prefetch((const char *)(c + (size_t)r * ldc + 16), _MM_HINT_T0);
        }
    const float *row[MR_MAX];
    UNROLL
    for (int r = 0; r < mr; r++)
        row[r] = a + (size_t)r * a_rs;
    _Pragma("GCC unroll 4")
    for (int k = 0; k < kc; k++) {
        /* Masked: B read in place may end at `cols` (a masked load does not fault). */
        __m512 b0 = _mm512_maskz_loadu_ps(m0, bp), b1 = nv == 2 ? _mm512_maskz_loadu_ps(m1, bp + 16) : b0;
        UNROLL
        for (int r = 0; r < mr; r++) {
            __m512 ar = _mm512_set1_ps(k_major ? a[r] : row[r][k]);
            acc0[r] = _mm512_fmadd_ps(ar, b0, acc0[r]);
            if (nv == 2)
                acc1[r] = _mm512_fmadd_ps(ar, b1, acc1[r]);
        }
        if (k_major)
            a += a_ks;
        bp += b_ks;
    }
    const bool add_bias = finish && finish->bias, relu = finish && finish->relu;
    const __m512 bias0 = add_bias ? _mm512_maskz_loadu_ps(m0, finish->bias) : _mm512_setzero_ps();
    const __m512 bias1 = add_bias && nv == 2 ? _mm512_maskz_loadu_ps(m1, finish->bias + 16) : _mm512_setzero_ps();
    UNROLL
    for (int r = 0; r < mr; r++) {
        if (r >= rows)
            break;
        float *cr = c + (size_t)r * ldc;
        __m512 v0 = acc0[r];
        if (mode == GEMM_ADD)
            v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, cr), v0);
        if (add_bias)
            v0 = _mm512_add_ps(v0, bias0);
        if (relu) /* x > 0 ? x : 0: NaN and -0 become +0 */
            v0 = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v0, _mm512_setzero_ps(), _CMP_GT_OQ), v0);
        _mm512_mask_storeu_ps(cr, m0, v0);
        if (nv == 2) {
            __m512 v1 = acc1[r];
            if (mode == GEMM_ADD)
                v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, cr + 16), v1);
            if (add_bias)
                v1 = _mm512_add_ps(v1, bias1);
            if (relu)
                v1 = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v1, _mm512_setzero_ps(), _CMP_GT_OQ), v1);
            _mm512_mask_storeu_ps(cr + 16, m1, v1);
        }
    }
}

/* One function per tile height, so a ragged last row panel runs only the rows it has. */
#define MICRO(name, mr, nv)                                                                                   \
    static void name(int kc, const float *restrict a, size_t a_rs, size_t a_ks, const float *restrict bp,     \
                     size_t b_ks, float *restrict c, size_t ldc, int rows, int cols, enum gemm_mode mode,      \
                     const struct gemm_finish *finish)                                                        \
    {                                                                                                         \
        if (a_rs == 1)                                                                                        \
            micro_body(mr, nv, kc, a, 1, a_ks, true, bp, b_ks, c, ldc, rows, cols, mode, finish);             \
        else                                                                                                  \
            micro_body(mr, nv, kc, a, a_rs, 1, false, bp, b_ks, c, ldc, rows, cols, mode, finish);            \
    }
MICRO(wide_1, 1, 2)
MICRO(wide_2, 2, 2)
MICRO(wide_3, 3, 2)
MICRO(wide_4, 4, 2)
MICRO(wide_5, 5, 2)
MICRO(wide_6, 6, 2)
MICRO(wide_7, 7, 2)
MICRO(wide_8, 8, 2)
MICRO(narrow_1, 1, 1)
MICRO(narrow_2, 2, 1)
MICRO(narrow_3, 3, 1)
MICRO(narrow_4, 4, 1)
MICRO(narrow_5, 5, 1)
MICRO(narrow_6, 6, 1)
MICRO(narrow_7, 7, 1)
MICRO(narrow_8, 8, 1)
MICRO(narrow_9, 9, 1)
MICRO(narrow_10, 10, 1)
MICRO(narrow_11, 11, 1)
MICRO(narrow_12, 12, 1)
MICRO(narrow_13, 13, 1)
MICRO(narrow_14, 14, 1)
MICRO(narrow_15, 15, 1)
MICRO(narrow_16, 16, 1)

static gemm_micro_fn *const wide_rows[] = {NULL, wide_1, wide_2, wide_3, wide_4, wide_5, wide_6, wide_7, wide_8};
static gemm_micro_fn *const narrow_rows[] = {NULL,      narrow_1,  narrow_2,  narrow_3,  narrow_4,  narrow_5,
                                             narrow_6,  narrow_7,  narrow_8,  narrow_9,  narrow_10, narrow_11,
                                             narrow_12, narrow_13, narrow_14, narrow_15, narrow_16};
_Static_assert(sizeof wide_rows / sizeof *wide_rows == WIDE_MR + 1, "one kernel per height");
_Static_assert(sizeof narrow_rows / sizeof *narrow_rows == NARROW_MR + 1, "one kernel per height");

const struct gemm_tiles gemm_tiles_avx512 = {.mr = WIDE_MR, .nr = 32, .mc = 16 * WIDE_MR, .kc = 256, .nc = 512,
                                            .micro_rows = wide_rows, .partial_b_in_place = true,
                                            .store_transposed = gemm_store_transposed_x86};
const struct gemm_tiles gemm_tiles_avx512_narrow = {.mr = NARROW_MR, .nr = 16, .mc = 8 * NARROW_MR, .kc = 256,
                                                   .nc = 512, .micro_rows = narrow_rows, .partial_b_in_place = true,
                                                   .store_transposed = gemm_store_transposed_x86};
