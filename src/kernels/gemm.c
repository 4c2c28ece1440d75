/* The SGEMM driver: GotoBLAS-style blocking around one micro-kernel per ISA.
 *
 * For each (k block, n block), op(B) is packed once into micro-panels shared by all threads
 * (or read in place when its panels are whole rows close together: the conv and dense
 * weights); tasks then cut C into (m block, n sub-block) tiles. A task reads a plain op(A) in
 * place (packing it measured slower: its micro-panels stay in L1), or copies its im2col rows
 * straight from the NHWC images (implicit im2col, no column buffer), then runs the
 * micro-kernel over its tile. A chain that spans several k blocks leaves its partial sum in C
 * (a float stored and reloaded exactly) and continues from it, so blocking, tiling and
 * threads change speed, never bits. The epilogue (bias, saved copy, activation) runs on a tile
 * right after its last k block, while the tile is still in cache; bias and relu with nothing
 * saved (a relu layer's forward) are done by the micro-kernels in registers as they store.
 */
#include "kernels/gemm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "config.h"
#include "core/ns_util.h"
#include "kernels/activation.h"
#include "kernels/gemm_micro.h"
#include "kernels/isa_loops.h"

/* Below this many multiply-adds a parallel region costs more than it saves (speed only). */
enum { GEMM_PARALLEL_MIN = 1 << 15 };
/* An im2col block takes all of a window's taps when they are at most this many (the depth of
 * a forward, the rows of a weight gradient), so its rows are copied whole (speed only). */
enum { GEMM_WINDOW_WHOLE = 384 };
_Static_assert((int)GEMM_WINDOW_WHOLE >= (int)GEMM_MC_MAX && (int)GEMM_WINDOW_WHOLE >= (int)GEMM_KC_MAX,
               "the workspace's A block");
/* split_k chunks run in parallel only while each thread's partial result (m, n) is this small;
 * larger outputs have tiles enough to share out instead. */
enum { GEMM_PARTIAL_MAX = 1 << 16 };
/* A forward's im2col block is at most this many floats (32 KiB), so its rows are written to
 * and read back from L1: whole windows of 288 taps made 128-row blocks of 147 KiB, copied into
 * L2 (speed only). */
enum { GEMM_IM2COL_L1_FLOATS = 8192 };

/* ---- the portable micro-kernel: plain C with fmaf, any platform ---- */

enum { PORTABLE_MR = 4, PORTABLE_NR = 16 };

static void gemm_micro_portable(int kc, const float *restrict a, size_t a_rs, size_t a_ks, const float *restrict bp,
                                size_t b_ks, float *restrict c, size_t ldc, int rows, int cols, enum gemm_mode mode,
                                const struct gemm_finish *finish)
{
    float acc[PORTABLE_MR][PORTABLE_NR];
    for (int r = 0; r < PORTABLE_MR; r++)
        for (int j = 0; j < PORTABLE_NR; j++)
            acc[r][j] = mode == GEMM_CONTINUE && r < rows && j < cols ? c[(size_t)r * ldc + (size_t)j] : 0.0f;
    for (int k = 0; k < kc; k++) {
        const float *b = bp + (size_t)k * b_ks;
        for (int r = 0; r < PORTABLE_MR; r++) {
            float ar = r < rows ? a[(size_t)r * a_rs + (size_t)k * a_ks] : 0.0f;
            for (int j = 0; j < cols; j++)
                acc[r][j] = fmaf(ar, b[j], acc[r][j]);
        }
    }
    for (int r = 0; r < rows; r++) {
        float *cr = c + (size_t)r * ldc;
        for (int j = 0; j < cols; j++) {
            float v = mode == GEMM_ADD ? cr[j] + acc[r][j] : acc[r][j];
            if (finish && finish->bias)
                v = v + finish->bias[j];
            if (finish && finish->relu)
                v = v > 0.0f ? v : 0.0f;
            cr[j] = v;
        }
    }
}

void gemm_store_transposed_portable(const float *restrict tile, size_t tile_ld, int rows, int cols, float *restrict c,
                                    size_t ldc, bool add)
{
    for (int j = 0; j < cols; j++) {
        float *cj = c + (size_t)j * ldc;
        for (int r = 0; r < rows; r++)
            cj[r] = add ? cj[r] + tile[(size_t)r * tile_ld + (size_t)j] : tile[(size_t)r * tile_ld + (size_t)j];
    }
}

static gemm_micro_fn *const portable_rows[] = {NULL, gemm_micro_portable, gemm_micro_portable, gemm_micro_portable,
                                               gemm_micro_portable};
_Static_assert(sizeof portable_rows / sizeof *portable_rows == PORTABLE_MR + 1, "one kernel per height");

const struct gemm_tiles gemm_tiles_portable = {.mr = PORTABLE_MR, .nr = PORTABLE_NR, .mc = 64, .kc = 256, .nc = 512,
                                              .micro_rows = portable_rows, .partial_b_in_place = true,
                                              .store_transposed = gemm_store_transposed_portable};

/* The tiles of isa for an output n wide; an ISA this CPU cannot run falls back to the
 * portable kernel (same bits) rather than die on an illegal instruction. */
static const struct gemm_tiles *gemm_pick(enum kernels_isa isa, int n)
{
    isa = kernels_isa_resolve(isa);
    (void)n; /* read by the x86 tiles only */
    if (!kernels_isa_supported(isa))
        return &gemm_tiles_portable;
    switch (isa) {
#if defined(NETSPEC_HAVE_X86_KERNELS)
    case KERNELS_ISA_AVX512:
        return n <= 16 ? &gemm_tiles_avx512_narrow : &gemm_tiles_avx512;
    case KERNELS_ISA_AVX2:
        return &gemm_tiles_avx2;
#endif
    default:
        return &gemm_tiles_portable;
    }
}

static int round_up(int x, int to)
{
    return (x + to - 1) / to * to;
}

static int min_int(int a, int b)
{
    return a < b ? a : b;
}

/* ---- packing ---- */

/* Where a task's micro-kernels find op(A)'s rows [i0, i0 + mc) at columns [p0, p0 + kc): the
 * micro-panel of rows ir.. starts at base + ir * step, its element (r, k) at [r * rs + k * ks]. */
struct a_block {
    const float *base;
    size_t step, rs, ks;
};

/* Fills ap as the block needs. A matrix is read in place: a micro-panel is mr rows by at most
 * kc columns, which stays in L1 across the B panels, and measured faster than packing it.
 * im2col rows are copied as runs from the images into a row-major block (forward) or a
 * k-major one (weight gradient). */
static void prepare_a(const struct isa_loops *loops, const struct gemm_args *g, int i0, int mc, int p0, int kc,
                      float *ap, struct a_block *blk)
{
    if (g->a_window && !g->trans_a) {
        loops->im2col_rows(g->a_window, g->a, i0, mc, p0, kc, ap, (size_t)kc);
        *blk = (struct a_block){.base = ap, .step = (size_t)kc, .rs = (size_t)kc, .ks = 1};
    } else if (g->a_window) {
        loops->im2col_rows(g->a_window, g->a, p0, kc, i0, mc, ap, (size_t)mc);
        *blk = (struct a_block){.base = ap, .step = 1, .rs = 1, .ks = (size_t)mc};
    } else {
        size_t rs = g->trans_a ? 1 : (size_t)g->lda, ks = g->trans_a ? (size_t)g->lda : 1;
        *blk = (struct a_block){.base = g->a + (size_t)i0 * rs + (size_t)p0 * ks, .step = rs, .rs = rs, .ks = ks};
    }
}

/* bp: one micro-panel (kc, nr) of op(B): columns [j0, j0 + cols) at rows [p0, p0 + kc),
 * columns past `cols` zero. A transposed B is a transposed copy, the tiles' own. */
static void pack_b_panel(const struct gemm_tiles *t, const struct gemm_args *g, int p0, int kc, int j0, int cols,
                         float *bp)
{
    const int nr = t->nr;
    if (!g->trans_b) {
        for (int k = 0; k < kc; k++) {
            float *d = bp + (size_t)k * (size_t)nr;
            memcpy(d, g->b + (size_t)(p0 + k) * (size_t)g->ldb + (size_t)j0, (size_t)cols * sizeof *d);
            for (int j = cols; j < nr; j++)
                d[j] = 0.0f;
        }
        return;
    }
    t->store_transposed(g->b + (size_t)j0 * (size_t)g->ldb + (size_t)p0, (size_t)g->ldb, cols, kc, bp, (size_t)nr,
                        false);
    for (int k = 0; k < kc && cols < nr; k++)
        for (int j = cols; j < nr; j++)
            bp[(size_t)k * (size_t)nr + (size_t)j] = 0.0f;
}

/* ---- the epilogue ---- */

static bool gemm_has_activation(const struct gemm_args *g)
{
    const struct activation_info *a = activation_info(g->activation);
    return a && !a->identity;
}

static bool gemm_elementwise_activation(const struct gemm_args *g)
{
    return gemm_has_activation(g) && !activation_info(g->activation)->per_row;
}

static bool gemm_has_epilogue(const struct gemm_args *g)
{
    return !g->split_k && (g->bias || g->saved || gemm_elementwise_activation(g));
}

/* The epilogue the kernels can do as they store (gemm_finish): bias and relu, nothing saved,
 * the tiles stored in place. *f set when they can. */
static bool gemm_finish_in_kernels(bool c_transposed, const struct gemm_args *g, struct gemm_finish *f)
{
    if (!gemm_has_epilogue(g) || g->saved || g->accumulate || c_transposed)
        return false;
    bool relu = gemm_has_activation(g) && g->activation == ACT_RELU;
    if (gemm_has_activation(g) && !relu)
        return false;
    *f = (struct gemm_finish){.bias = g->bias, .relu = relu};
    return true;
}

/* bias, saved copy and elementwise activation on C's rows [i0, i0 + rows), columns
 * [j0, j0 + cols), finished. */
static void gemm_epilogue(const struct gemm_args *g, const struct kernels_cpu *serial, int i0, int rows, int j0,
                          int cols)
{
    bool act = gemm_elementwise_activation(g);
    /* Whole rows of a dense C are one block: one activation call for the tile. */
    bool whole = j0 == 0 && cols == g->n && g->ldc == g->n;
    for (int r = 0; r < rows; r++) {
        float *crow = g->c + (size_t)(i0 + r) * (size_t)g->ldc + (size_t)j0;
        if (g->bias) {
            const float *bias = g->bias + j0;
#pragma omp simd
            for (int j = 0; j < cols; j++)
                crow[j] = crow[j] + bias[j];
        }
        if (g->saved)
            memcpy(g->saved + (size_t)(i0 + r) * (size_t)g->ldc + (size_t)j0, crow, (size_t)cols * sizeof *crow);
        if (act && !whole)
            activation_forward(serial, g->activation, g->activation_alpha, crow, 1, (size_t)cols);
    }
    if (act && whole)
        activation_forward(serial, g->activation, g->activation_alpha, g->c + (size_t)i0 * (size_t)g->ldc,
                           (size_t)rows, (size_t)cols);
}

/* ---- the plan ---- */

struct gemm_plan {
    const struct gemm_tiles *t;
    const struct isa_loops *loops; /* the im2col copies */
    int threads;
    int kcb;        /* k block: the whole of k when accumulating, GEMM_K_CHUNK when split */
    int ncb;        /* n block, a multiple of nr */
    int mcb, nsub;  /* a task's tile of C: (mcb, nsub), multiples of mr and nr */
    bool chunked;   /* split_k chunks run in parallel, each into its own partial result */
    bool c_transposed; /* the swapped problem of gemm_swapped: tiles go to C transposed */
    size_t shared_floats, a_floats, thread_floats;
};

static void gemm_make_plan(const struct gemm_tiles *t, int threads, const struct gemm_args *g, struct gemm_plan *p)
{
    memset(p, 0, sizeof *p);
    p->t = t;
    double work = (double)g->m * g->n * (g->k > 0 ? g->k : 1);
    p->threads = threads < 1 || work < GEMM_PARALLEL_MIN ? 1 : threads;
    if (g->split_k)
        p->kcb = min_int(g->k, GEMM_K_CHUNK);
    else if (g->accumulate)
        p->kcb = g->k; /* one block: c + acc needs the whole chain before touching c */
    else if (g->a_window && g->k <= GEMM_WINDOW_WHOLE)
        p->kcb = g->k; /* whole im2col rows: copied as window rows, no segment bookkeeping */
    else
        p->kcb = min_int(g->k, t->kc);
    p->kcb = p->kcb < 1 ? 1 : p->kcb;
    p->ncb = min_int(round_up(g->n, t->nr), t->nc);
    p->mcb = min_int(round_up(g->m, t->mr), t->mc);
    if (g->a_window && !g->trans_a) {
        int fit = GEMM_IM2COL_L1_FLOATS / p->kcb / t->mr * t->mr;
        p->mcb = min_int(p->mcb, fit < t->mr ? t->mr : fit);
    }
    if (g->a_window && g->trans_a && g->m <= GEMM_WINDOW_WHOLE)
        p->mcb = round_up(g->m, t->mr); /* the same for a weight gradient's taps */
    p->nsub = p->ncb;
    int chunks = (g->k + GEMM_K_CHUNK - 1) / GEMM_K_CHUNK;
    long micro_tiles = (long)((g->m + t->mr - 1) / t->mr) * ((g->n + t->nr - 1) / t->nr);
    /* An im2col weight gradient goes by chunks too: cut into tiles, each tile would copy its
     * own im2col rows, the same rows again for every column block. */
    p->chunked = g->split_k && p->threads > 1 && chunks > 1
                 && (micro_tiles < 4L * p->threads || (g->a_window && g->trans_a))
                 && (size_t)g->m * (size_t)g->n <= GEMM_PARTIAL_MAX;
    if (!p->chunked && p->threads > 1) {
        /* Smaller tiles until every thread has a few. */
        for (;;) {
            long tasks = (long)((g->m + p->mcb - 1) / p->mcb) * ((min_int(g->n, p->ncb) + p->nsub - 1) / p->nsub);
            if (tasks >= 4L * p->threads)
                break;
            bool m_can = p->mcb > t->mr, n_can = p->nsub > t->nr;
            if (m_can && (!n_can || p->mcb / t->mr >= p->nsub / t->nr))
                p->mcb = round_up(p->mcb / 2, t->mr);
            else if (n_can)
                p->nsub = round_up(p->nsub / 2, t->nr);
            else
                break;
        }
    }
    p->a_floats = (size_t)round_up(p->mcb, t->mr) * (size_t)p->kcb;
    size_t b_floats = (size_t)p->kcb * (size_t)p->ncb;
    if (p->chunked) {
        p->shared_floats = 0;
        p->thread_floats = p->a_floats + b_floats + (size_t)g->m * (size_t)g->n;
    } else {
        p->shared_floats = b_floats;
        p->thread_floats = p->a_floats;
    }
}

size_t kernels_gemm_workspace_floats(int threads)
{
    threads = threads < 1 ? 1 : threads;
    size_t b = (size_t)GEMM_KC_MAX * GEMM_NC_MAX;
    size_t a = (size_t)GEMM_WINDOW_WHOLE * GEMM_WINDOW_WHOLE;
    return b + (size_t)threads * (a + b + GEMM_PARTIAL_MAX);
}

static int gemm_thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* Where the micro-kernels find the B panels of a k block: panel q (columns jb + q * nr ..)
 * at base + q * step, its row k at + k * ks. */
struct b_block {
    const float *base;
    size_t step, ks;
    int jb;
};

/* B is read in place when every panel of the block is whole (or the kernels can read a partial
 * one) and its rows are near each other in memory (far apart, they would fight over the same
 * cache sets); else packed. */
static bool b_in_place(const struct gemm_tiles *t, const struct gemm_args *g, int ncj)
{
    return !g->trans_b && (ncj % t->nr == 0 || t->partial_b_in_place) && g->ldb <= 8 * t->nr;
}

/* The B panels of columns [jc, jc + ncj) at rows [p0, p0 + kc): B itself, or packed into bp
 * (panels [first, last) of them, so threads can share the packing out). */
static struct b_block b_block_at(const struct gemm_tiles *t, const struct gemm_args *g, int jc, int ncj, int p0, int kc,
                                 float *bp)
{
    if (b_in_place(t, g, ncj))
        return (struct b_block){.base = g->b + (size_t)p0 * (size_t)g->ldb + (size_t)jc, .step = (size_t)t->nr,
                                .ks = (size_t)g->ldb, .jb = jc};
    return (struct b_block){.base = bp, .step = (size_t)kc * (size_t)t->nr, .ks = (size_t)t->nr, .jb = jc};
}

/* The micro-kernels over one task's tile (rows [i0, i0 + mc), columns [j0, j0 + nc)) for
 * the k block [p0, p0 + kc) whose B panels `b` holds. */
static void gemm_tile(const struct gemm_plan *p, const struct gemm_args *g, int i0, int mc, int j0, int nc,
                      const struct b_block *b, int p0, int kc, float *ap, float *c, size_t ldc, enum gemm_mode mode,
                      const struct gemm_finish *finish)
{
    const struct gemm_tiles *t = p->t;
    struct a_block blk;
    prepare_a(p->loops, g, i0, mc, p0, kc, ap, &blk);
    for (int jr = 0; jr < nc; jr += t->nr) {
        const float *bpj = b->base + (size_t)((j0 - b->jb + jr) / t->nr) * b->step;
        int cols = min_int(t->nr, nc - jr);
        struct gemm_finish tile_finish = {
            .bias = finish && finish->bias ? finish->bias + j0 + jr : NULL, .relu = finish && finish->relu};
        for (int ir = 0; ir < mc; ir += t->mr) {
            int rows = min_int(t->mr, mc - ir);
            if (p->c_transposed) {
                /* One k block (gemm_swapped): each chain from +0 into the tile, then stored or
                 * added (c + acc) at its transposed place. */
                float tile[GEMM_MR_MAX * GEMM_NR_MAX];
                t->micro_rows[rows](kc, blk.base + (size_t)ir * blk.step, blk.rs, blk.ks, bpj, b->ks, tile,
                                    (size_t)t->nr, rows, cols, GEMM_STORE, NULL);
                t->store_transposed(tile, (size_t)t->nr, rows, cols, c + (size_t)(j0 + jr) * ldc + (size_t)(i0 + ir),
                                    ldc, mode == GEMM_ADD);
                continue;
            }
            float *cij = c + (size_t)(i0 + ir) * ldc + (size_t)(j0 + jr);
            t->micro_rows[rows](kc, blk.base + (size_t)ir * blk.step, blk.rs, blk.ks, bpj, b->ks, cij, ldc, rows,
                                cols, mode, finish ? &tile_finish : NULL);
        }
    }
}

static enum gemm_mode block_mode(const struct gemm_args *g, int block)
{
    if (g->split_k)
        return block == 0 && !g->accumulate ? GEMM_STORE : GEMM_ADD;
    if (g->accumulate)
        return GEMM_ADD;
    return block == 0 ? GEMM_STORE : GEMM_CONTINUE;
}

/* A task of gemm_tiled: one tile of C for one k block. */
struct gemm_task {
    const struct gemm_plan *p;
    const struct gemm_args *g;
    const struct kernels_cpu *serial;
    const struct b_block *b;
    float *ap;
    int jc, ncj, tiles_m, p0, kc;
    enum gemm_mode mode;
    bool epilogue;
    const struct gemm_finish *finish; /* the epilogue done by the kernels instead (last k block) */
};

static void gemm_task_run(const struct gemm_task *t, long at)
{
    const struct gemm_plan *p = t->p;
    const struct gemm_args *g = t->g;
    int i0 = (int)(at % t->tiles_m) * p->mcb, j0 = t->jc + (int)(at / t->tiles_m) * p->nsub;
    int mc = min_int(p->mcb, g->m - i0), nc = min_int(p->nsub, t->jc + t->ncj - j0);
    gemm_tile(p, g, i0, mc, j0, nc, t->b, t->p0, t->kc, t->ap, g->c, (size_t)g->ldc, t->mode, t->finish);
    if (t->epilogue)
        gemm_epilogue(g, t->serial, i0, mc, j0, nc);
}

/* One thread's share of gemm_tiled (all of it outside a parallel region: the worksharing
 * loops then run whole on the caller's thread). */
static void gemm_tiled_thread(const struct gemm_plan *p, const struct gemm_args *g, const struct kernels_cpu *serial,
                              float *shared, float *per_thread)
{
    const struct gemm_tiles *t = p->t;
    const int blocks = (g->k + p->kcb - 1) / p->kcb;
    struct gemm_finish finish;
    const bool in_kernels = gemm_finish_in_kernels(p->c_transposed, g, &finish);
    const bool epilogue = gemm_has_epilogue(g) && !in_kernels;
    /* On one thread this runs outside any region of ours, and a caller's own parallel region
     * must not pick the buffer. */
    float *ap = per_thread + (size_t)(p->threads > 1 ? gemm_thread_id() : 0) * p->thread_floats;
    for (int jc = 0; jc < g->n; jc += p->ncb) {
        int ncj = min_int(p->ncb, g->n - jc);
        int panels = (ncj + t->nr - 1) / t->nr;
        int tiles_m = (g->m + p->mcb - 1) / p->mcb, tiles_n = (ncj + p->nsub - 1) / p->nsub;
        long tasks = (long)tiles_m * tiles_n;
        for (int kb = 0; kb < blocks; kb++) {
            int p0 = kb * p->kcb, kc = min_int(p->kcb, g->k - p0);
            struct b_block b = b_block_at(t, g, jc, ncj, p0, kc, shared);
            if (!b_in_place(t, g, ncj)) {
#pragma omp for schedule(static)
                for (int pi = 0; pi < panels; pi++)
                    pack_b_panel(t, g, p0, kc, jc + pi * t->nr, min_int(t->nr, ncj - pi * t->nr),
                                 shared + (size_t)pi * (size_t)kc * (size_t)t->nr);
            }
            enum gemm_mode mode = block_mode(g, kb);
            bool last = kb == blocks - 1;
            struct gemm_task task = {.p = p, .g = g, .serial = serial, .b = &b, .ap = ap, .jc = jc, .ncj = ncj,
                                     .tiles_m = tiles_m, .p0 = p0, .kc = kc, .mode = mode,
                                     .epilogue = last && epilogue, .finish = last && in_kernels ? &finish : NULL};
            if (p->threads == 1) {
                for (long at = 0; at < tasks; at++)
                    gemm_task_run(&task, at);
            } else {
#pragma omp for schedule(dynamic, 1)
                for (long at = 0; at < tasks; at++)
                    gemm_task_run(&task, at);
            }
        }
    }
}

static void gemm_tiled(const struct gemm_plan *p, const struct gemm_args *g, const struct kernels_cpu *serial,
                       float *shared, float *per_thread)
{
    /* A parallel region costs a microsecond or so even on one thread: small GEMMs skip it. */
    if (p->threads == 1) {
        gemm_tiled_thread(p, g, serial, shared, per_thread);
        return;
    }
#pragma omp parallel num_threads(p->threads)
    gemm_tiled_thread(p, g, serial, shared, per_thread);
}

/* split_k with few tiles: the threads take chunks w*T + t of wave w, each into a partial
 * (m, n), then fold the wave's partials into C in chunk order. */
static void gemm_chunked(const struct gemm_plan *p, const struct gemm_args *g, float *per_thread)
{
    const struct gemm_tiles *t = p->t;
    const int chunks = (g->k + GEMM_K_CHUNK - 1) / GEMM_K_CHUNK;
    const int threads = p->threads;
#pragma omp parallel num_threads(threads)
    {
        int tid = gemm_thread_id();
        float *ap = per_thread + (size_t)tid * p->thread_floats;
        float *bp = ap + p->a_floats;
        float *partial = bp + (size_t)p->kcb * (size_t)p->ncb;
        for (int w0 = 0; w0 < chunks; w0 += threads) {
            int chunk = w0 + tid;
            if (chunk < chunks) {
                int p0 = chunk * GEMM_K_CHUNK, kc = min_int(GEMM_K_CHUNK, g->k - p0);
                for (int jc = 0; jc < g->n; jc += p->ncb) {
                    int ncj = min_int(p->ncb, g->n - jc);
                    struct b_block b = b_block_at(t, g, jc, ncj, p0, kc, bp);
                    for (int pi = 0; !b_in_place(t, g, ncj) && pi * t->nr < ncj; pi++)
                        pack_b_panel(t, g, p0, kc, jc + pi * t->nr, min_int(t->nr, ncj - pi * t->nr),
                                     bp + (size_t)pi * (size_t)kc * (size_t)t->nr);
                    for (int i0 = 0; i0 < g->m; i0 += p->mcb)
                        gemm_tile(p, g, i0, min_int(p->mcb, g->m - i0), jc, ncj, &b, p0, kc, ap, partial,
                                  (size_t)g->n, GEMM_STORE, NULL);
                }
            }
#pragma omp barrier
            int in_wave = min_int(threads, chunks - w0);
#pragma omp for schedule(static)
            for (int i = 0; i < g->m; i++) {
                float *crow = g->c + (size_t)i * (size_t)g->ldc;
                for (int q = 0; q < in_wave; q++) {
                    const float *prow = per_thread + (size_t)q * p->thread_floats + p->a_floats
                                        + (size_t)p->kcb * (size_t)p->ncb + (size_t)i * (size_t)g->n;
                    if (w0 + q == 0 && !g->accumulate) {
                        memcpy(crow, prow, (size_t)g->n * sizeof *crow);
                    } else {
#pragma omp simd
                        for (int j = 0; j < g->n; j++)
                            crow[j] = crow[j] + prow[j];
                    }
                }
            }
        }
    }
}

/* C = A B^T with few rows of A and many of B (an input gradient dZ W^T): packing B^T would
 * transpose all of W on every call. The same chains run as C^T = B A^T instead, W read in
 * place and only A's few rows packed; fmaf(a, b, acc) is fmaf(b, a, acc), so the bits are the
 * same. Only for one k block (C is never a partial sum) and without an epilogue. */
static bool gemm_swapped(const struct gemm_args *g, struct gemm_args *out)
{
    if (!g->trans_b || g->trans_a || g->a_window || g->split_k || g->bias || g->saved || g->activation
        || g->n < 4 * g->m || (!g->accumulate && g->k > GEMM_KC_MAX))
        return false;
    *out = (struct gemm_args){.m = g->n, .n = g->m, .k = g->k, .a = g->b, .lda = g->ldb, .b = g->a, .ldb = g->lda,
                              .trans_b = true, .c = g->c, .ldc = g->ldc, .accumulate = g->accumulate};
    return true;
}

/* k == 0: every chain is +0. */
static void gemm_empty(const struct gemm_args *g, const struct kernels_cpu *serial)
{
    for (int i = 0; i < g->m; i++) {
        float *crow = g->c + (size_t)i * (size_t)g->ldc;
        for (int j = 0; j < g->n; j++)
            crow[j] = g->accumulate ? crow[j] + 0.0f : 0.0f;
    }
    if (gemm_has_epilogue(g))
        gemm_epilogue(g, serial, 0, g->m, 0, g->n);
}

void kernels_gemm(const struct kernels_cpu *cpu, const struct gemm_workspace *work, const struct gemm_args *g)
{
    if (g->m <= 0 || g->n <= 0)
        return;
    const struct kernels_cpu serial = {.threads = 1, .isa = cpu->isa};
    struct gemm_args swapped; /* g may point here below, up to the end */
    if (g->k <= 0) {
        gemm_empty(g, &serial);
    } else {
        bool swap = gemm_swapped(g, &swapped);
        struct gemm_plan p;
        gemm_make_plan(gemm_pick(cpu->isa, swap ? swapped.n : g->n), cpu->threads, swap ? &swapped : g, &p);
        p.c_transposed = swap;
        p.loops = isa_loops_pick(cpu);
        if (swap)
            g = &swapped;
        size_t need = p.shared_floats + (size_t)p.threads * p.thread_floats;
        float *owned = NULL, *space = work ? work->floats : NULL;
        if (!space || work->count < need)
            space = owned = ns_xmalloc(need * sizeof *space);
        if (p.chunked)
            gemm_chunked(&p, g, space);
        else
            gemm_tiled(&p, g, &serial, space, space + p.shared_floats);
        free(owned);
    }
    /* softmax needs whole rows, so it runs once C is complete. */
    if (!g->split_k && gemm_has_activation(g) && !gemm_elementwise_activation(g)) {
        for (int i = 0; i < g->m; i++)
            activation_forward(cpu, g->activation, g->activation_alpha, g->c + (size_t)i * (size_t)g->ldc, 1,
                               (size_t)g->n);
    }
}

void kernels_sgemm(const struct kernels_cpu *cpu, bool trans_a, bool trans_b, int m, int n, int k,
                   const float *a, int lda, const float *b, int ldb, bool accumulate, float *c, int ldc)
{
    struct gemm_args g = {.m = m, .n = n, .k = k, .a = a, .lda = lda, .trans_a = trans_a, .b = b, .ldb = ldb,
                          .trans_b = trans_b, .c = c, .ldc = ldc, .accumulate = accumulate};
    kernels_gemm(cpu, NULL, &g);
}
