/* The micro-kernels gemm.c drives, one per ISA, and their tile sizes. Internal to kernels/.
 *
 * A micro-kernel computes a tile of at most (mr, nr) elements of C from mr rows of A and a
 * B panel of nr columns, its row k at bp + k * b_ks (packed: b_ks = nr, columns past the
 * matrix zero; or B itself, b_ks = ldb, when all nr columns exist or, for tiles with
 * partial_b_in_place, when the kernel reads no column past `cols`). A's element (r, k) is
 * a[r * a_rs + k * a_ks] with either a_rs == 1 (k-major: a packed panel, a transposed matrix
 * read in place, an im2col block of taps) or a_ks == 1 (row-major: a matrix read in place, an
 * im2col block of rows); the kernel for r rows reads and writes only r rows. Each SIMD lane
 * holds one element of C and runs its k-chain in order, so every ISA
 * gives the same bits as the fmaf loop. rows/cols: how much of the tile to store. finish
 * (NULL: none) is applied to the chains before they are stored.
 */
#ifndef GEMM_MICRO_H
#define GEMM_MICRO_H

#include <stdbool.h>
#include <stddef.h>

enum gemm_mode {
    GEMM_STORE,    /* c = chain from +0 */
    GEMM_CONTINUE, /* c = chain continued from c (a partial sum of the same chain) */
    GEMM_ADD,      /* c = c + chain from +0 */
};

/* What a kernel applies to its finished chains before it stores them (GEMM_STORE or
 * GEMM_CONTINUE on the chain's last k block), in the epilogue's order: + bias[j] (one float
 * add; bias already at the tile's first column), then relu (x > 0 ? x : 0). The same
 * operations as gemm.c's epilogue, done in registers instead of a second pass over C. */
struct gemm_finish {
    const float *bias; /* NULL: none */
    bool relu;
};

typedef void gemm_micro_fn(int kc, const float *restrict a, size_t a_rs, size_t a_ks, const float *restrict bp,
                           size_t b_ks, float *restrict c, size_t ldc, int rows, int cols, enum gemm_mode mode,
                           const struct gemm_finish *finish);

/* c[j * ldc + r] = tile[r * tile_ld + j] (add: c[..] + tile[..]) for r < rows, j < cols: a
 * finished tile stored at its transposed place (gemm_swapped). Values are copied or added
 * once each, so every ISA's version gives the same bits. */
typedef void gemm_store_transposed_fn(const float *restrict tile, size_t tile_ld, int rows, int cols,
                                      float *restrict c, size_t ldc, bool add);
void gemm_store_transposed_portable(const float *restrict tile, size_t tile_ld, int rows, int cols, float *restrict c,
                                    size_t ldc, bool add);

struct gemm_tiles {
    int mr, nr; /* the micro-kernel's tile */
    int mc, kc, nc; /* A block (mc, kc) in L2, B block (kc, nc) */
    gemm_micro_fn *const *micro_rows; /* [r]: the kernel for tiles of exactly r rows, 1 <= r <= mr */
    /* The kernels read B's columns only up to `cols` (masked loads), so a last panel narrower
     * than nr (a classifier's 10 columns) can be read in place instead of packed. */
    bool partial_b_in_place;
    gemm_store_transposed_fn *store_transposed;
};

extern const struct gemm_tiles gemm_tiles_portable;
#if defined(NETSPEC_HAVE_X86_KERNELS)
extern const struct gemm_tiles gemm_tiles_avx2;
extern const struct gemm_tiles gemm_tiles_avx512;
extern const struct gemm_tiles gemm_tiles_avx512_narrow; /* for n <= 16 */
#endif

/* The largest of every ISA's sizes, for the workspace. */
enum { GEMM_MC_MAX = 192, GEMM_KC_MAX = 256, GEMM_NC_MAX = 512, GEMM_MR_MAX = 16, GEMM_NR_MAX = 32 };

#endif
