/* gemm_store_transposed_fn in AVX registers, for the x86 kernels (gemm_avx2.c, gemm_avx512.c
 * include it; both are compiled with AVX enabled). Each 8 x 8 block is read as 8 row vectors,
 * transposed in registers (unpack, shuffle, lane permute) and written as 8 column vectors, each
 * a contiguous run of C. The scalar loop it replaces read the tile with a stride: in dense1 dX
 * (the swapped GEMM's transposed tiles) it cost a third of the micro-kernel's time, and as the
 * transposed pack of B a third of it in dense2 dX. Edges go to the portable loop; copies and
 * adds are the same operations in any order, so the bits are too. */
#ifndef GEMM_TRANSPOSE_X86_H
#define GEMM_TRANSPOSE_X86_H

#include <immintrin.h>
#include <stdbool.h>
#include <stddef.h>

#include "kernels/gemm_micro.h"

static inline __attribute__((always_inline)) void transpose_block_8x8(const float *restrict src, size_t src_ld, float *restrict dst, size_t dst_ld,
                                       bool add)
{
    __m256 r[8], t[8], u[8];
    for (int i = 0; i < 8; i++)
        r[i] = _mm256_loadu_ps(src + (size_t)i * src_ld);
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        __m256 lo = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20), hi = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
        float *d_lo = dst + (size_t)i * dst_ld, *d_hi = dst + (size_t)(i + 4) * dst_ld;
        if (add) {
            lo = _mm256_add_ps(_mm256_loadu_ps(d_lo), lo);
            hi = _mm256_add_ps(_mm256_loadu_ps(d_hi), hi);
        }
        _mm256_storeu_ps(d_lo, lo);
        _mm256_storeu_ps(d_hi, hi);
    }
}

static void gemm_store_transposed_x86(const float *restrict tile, size_t tile_ld, int rows, int cols,
                                      float *restrict c, size_t ldc, bool add)
{
    const int rows8 = rows / 8 * 8, cols8 = cols / 8 * 8;
    for (int r0 = 0; r0 < rows8; r0 += 8)
        for (int j0 = 0; j0 < cols8; j0 += 8)
            transpose_block_8x8(tile + (size_t)r0 * tile_ld + (size_t)j0, tile_ld, c + (size_t)j0 * ldc + (size_t)r0,
                                ldc, add);
    if (cols8 < cols)
        gemm_store_transposed_portable(tile + cols8, tile_ld, rows, cols - cols8, c + (size_t)cols8 * ldc, ldc, add);
    if (rows8 < rows)
        gemm_store_transposed_portable(tile + (size_t)rows8 * tile_ld, tile_ld, rows - rows8, cols8, c + rows8, ldc,
                                       add);
}

#endif
