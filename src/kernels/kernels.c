#include "kernels/kernels.h"

#include <stdlib.h>
#include <string.h>

#include "core/ns_util.h"
#include "kernels/isa_loops.h"

/* Below roughly this many multiply-adds (or elements) a parallel region costs more than it
 * saves. The choice never changes results, only speed. */
enum { KERNELS_PARALLEL_MIN = 1 << 15 };

/* The caller's thread count as a num_threads clause takes it (at least 1). */
static int kernels_threads(int threads)
{
    return threads < 1 ? 1 : threads;
}

/* ---- sliding windows ---- */

bool kernels_window_init(struct kernels_window *g, int in_h, int in_w, int channels,
                         int k_h, int k_w, int stride_h, int stride_w, int dil_h, int dil_w,
                         int pad_mode, int pad_h, int pad_w)
{
    memset(g, 0, sizeof *g);
    g->in_h = in_h;
    g->in_w = in_w;
    g->channels = channels;
    g->k_h = k_h;
    g->k_w = k_w;
    g->stride_h = stride_h;
    g->stride_w = stride_w;
    g->dil_h = dil_h;
    g->dil_w = dil_w;
    int span_h = (k_h - 1) * dil_h + 1, span_w = (k_w - 1) * dil_w + 1;
    if (pad_mode == KERNELS_PAD_SAME) {
        g->out_h = (in_h + stride_h - 1) / stride_h;
        g->out_w = (in_w + stride_w - 1) / stride_w;
        int total_h = (g->out_h - 1) * stride_h + span_h - in_h;
        int total_w = (g->out_w - 1) * stride_w + span_w - in_w;
        total_h = total_h > 0 ? total_h : 0;
        total_w = total_w > 0 ? total_w : 0;
        g->pad_top = total_h / 2;
        g->pad_bottom = total_h - g->pad_top;
        g->pad_left = total_w / 2;
        g->pad_right = total_w - g->pad_left;
        return true;
    }
    if (pad_mode == KERNELS_PAD_EXPLICIT) {
        g->pad_top = g->pad_bottom = pad_h;
        g->pad_left = g->pad_right = pad_w;
    }
    int padded_h = in_h + g->pad_top + g->pad_bottom, padded_w = in_w + g->pad_left + g->pad_right;
    if (span_h > padded_h || span_w > padded_w)
        return false;
    g->out_h = (padded_h - span_h) / stride_h + 1;
    g->out_w = (padded_w - span_w) / stride_w + 1;
    return true;
}

void kernels_im2col(const struct kernels_cpu *cpu, const struct kernels_window *g, int n, const float *in, float *col)
{
    const size_t ch = (size_t)g->channels;
    const size_t kcols = (size_t)g->k_h * (size_t)g->k_w * ch;
    const long rows = (long)n * g->out_h;
    const double work = (double)rows * g->out_w * (double)kcols;
#pragma omp parallel for schedule(static) if (work >= KERNELS_PARALLEL_MIN) num_threads(kernels_threads(cpu->threads))
    for (long r = 0; r < rows; r++) {
        int s = (int)(r / g->out_h), oy = (int)(r % g->out_h);
        const float *img = in + (size_t)s * (size_t)g->in_h * (size_t)g->in_w * ch;
        for (int ox = 0; ox < g->out_w; ox++) {
            float *dst = col + ((size_t)r * (size_t)g->out_w + (size_t)ox) * kcols;
            for (int ky = 0; ky < g->k_h; ky++) {
                int iy = oy * g->stride_h + ky * g->dil_h - g->pad_top;
                for (int kx = 0; kx < g->k_w; kx++) {
                    int ix = ox * g->stride_w + kx * g->dil_w - g->pad_left;
                    float *d = dst + ((size_t)ky * (size_t)g->k_w + (size_t)kx) * ch;
                    if (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w)
                        memset(d, 0, ch * sizeof *d);
                    else
                        memcpy(d, img + ((size_t)iy * (size_t)g->in_w + (size_t)ix) * ch,
                               ch * sizeof *d);
                }
            }
        }
    }
}

/* Rows of (sample, row) pairs a thread takes at a time: few enough per batch to share out, many
 * enough that the parallel loop's bookkeeping stays small. */
enum { KERNELS_ROW_BLOCK = 8 };

void kernels_col2im_add(const struct kernels_cpu *cpu, const struct kernels_window *g, int n, const float *col, float *d_in,
                        bool fresh)
{
    const size_t kcols = (size_t)g->k_h * (size_t)g->k_w * (size_t)g->channels;
    const long rows = (long)n * g->in_h;
    const long blocks = (rows + KERNELS_ROW_BLOCK - 1) / KERNELS_ROW_BLOCK;
    const double work = (double)n * g->out_h * g->out_w * (double)kcols;
    const struct isa_loops *loops = isa_loops_pick(cpu);
#pragma omp parallel for schedule(static) if (work >= KERNELS_PARALLEL_MIN) num_threads(kernels_threads(cpu->threads))
    for (long b = 0; b < blocks; b++) {
        long r0 = b * KERNELS_ROW_BLOCK;
        loops->col2im_rows(g, r0, r0 + KERNELS_ROW_BLOCK < rows ? r0 + KERNELS_ROW_BLOCK : rows, col, d_in, fresh);
    }
}

/* ---- pooling ---- */

static int32_t get_index(const void *base, size_t at)
{
    int32_t v;
    memcpy(&v, (const char *)base + at * sizeof v, sizeof v);
    return v;
}

void kernels_transpose(const struct kernels_cpu *cpu, size_t rows, size_t cols, const float *in, float *out)
{
    (void)cpu; /* a weight matrix: too small to share out */
    enum { BLOCK = 8 };
    for (size_t r0 = 0; r0 < rows; r0 += BLOCK)
        for (size_t c0 = 0; c0 < cols; c0 += BLOCK) {
            size_t r1 = r0 + BLOCK < rows ? r0 + BLOCK : rows, c1 = c0 + BLOCK < cols ? c0 + BLOCK : cols;
            for (size_t c = c0; c < c1; c++)
                for (size_t r = r0; r < r1; r++)
                    out[c * rows + r] = in[r * cols + c];
        }
}

bool kernels_maxpool_is_2x2(const struct kernels_window *g)
{
    return g->k_h == 2 && g->k_w == 2 && g->stride_h == 2 && g->stride_w == 2 && g->dil_h == 1 && g->dil_w == 1
           && g->pad_top == 0 && g->pad_left == 0 && g->pad_bottom == 0 && g->pad_right == 0;
}

void kernels_maxpool_forward(const struct kernels_cpu *cpu, const struct kernels_window *g, int n, const float *in, float *out,
                             void *saved)
{
    const size_t out_size = (size_t)g->out_h * (size_t)g->out_w * (size_t)g->channels;
    const long rows = (long)n * g->out_h;
    const long blocks = (rows + KERNELS_ROW_BLOCK - 1) / KERNELS_ROW_BLOCK;
    const double work = (double)n * (double)out_size * g->k_h * g->k_w;
    const struct isa_loops *loops = isa_loops_pick(cpu);
    const bool two = kernels_maxpool_is_2x2(g);
#pragma omp parallel for schedule(static) if (work >= KERNELS_PARALLEL_MIN) num_threads(kernels_threads(cpu->threads))
    for (long b = 0; b < blocks; b++) {
        long r0 = b * KERNELS_ROW_BLOCK, r1 = r0 + KERNELS_ROW_BLOCK < rows ? r0 + KERNELS_ROW_BLOCK : rows;
        if (two)
            loops->maxpool2x2_rows(g, r0, r1, in, out, saved);
        else
            loops->maxpool_rows(g, r0, r1, in, out, saved);
    }
}

void kernels_maxpool_backward(const struct kernels_cpu *cpu, const struct kernels_window *g, int n,
                              const struct kernels_maxpool_grad *a)
{
    const size_t ch = (size_t)g->channels;
    const size_t in_size = (size_t)g->in_h * (size_t)g->in_w * ch;
    const size_t out_size = (size_t)g->out_h * (size_t)g->out_w * ch;
    const double work = (double)n * (double)in_size;
    if (kernels_maxpool_is_2x2(g)) {
        /* Windows do not overlap: each output row owns the input rows it covers. */
        const long rows = (long)n * g->out_h;
        const long blocks = (rows + KERNELS_ROW_BLOCK - 1) / KERNELS_ROW_BLOCK;
        const struct isa_loops *loops = isa_loops_pick(cpu);
#pragma omp parallel for schedule(static) if (work >= KERNELS_PARALLEL_MIN) num_threads(kernels_threads(cpu->threads))
        for (long b = 0; b < blocks; b++) {
            long r0 = b * KERNELS_ROW_BLOCK, r1 = r0 + KERNELS_ROW_BLOCK < rows ? r0 + KERNELS_ROW_BLOCK : rows;
            loops->maxpool2x2_backward_rows(g, r0, r1, a);
        }
        return;
    }
    /* Windows of one sample may overlap, so one thread owns a whole sample and adds its
     * outputs in order. */
#pragma omp parallel for schedule(static) if (work >= KERNELS_PARALLEL_MIN) num_threads(kernels_threads(cpu->threads))
    for (int s = 0; s < n; s++) {
        float *d = a->d_in + (size_t)s * in_size;
        if (a->fresh)
            memset(d, 0, in_size * sizeof *d);
        for (size_t o = 0; o < out_size; o++) {
            size_t at = (size_t)s * out_size + o;
            d[get_index(a->saved, at)] += a->d_out[at];
        }
        if (a->relu_mask) {
            const float *x = a->in + (size_t)s * in_size;
            for (size_t i = 0; i < in_size; i++)
                d[i] = x[i] > 0.0f ? d[i] : 0.0f;
        }
    }
}

static int window_count(const struct kernels_window *g, int oy, int ox)
{
    int count = 0;
    for (int ky = 0; ky < g->k_h; ky++) {
        int iy = oy * g->stride_h + ky * g->dil_h - g->pad_top;
        if (iy < 0 || iy >= g->in_h)
            continue;
        for (int kx = 0; kx < g->k_w; kx++) {
            int ix = ox * g->stride_w + kx * g->dil_w - g->pad_left;
            if (ix >= 0 && ix < g->in_w)
                count++;
        }
    }
    return count;
}

void kernels_avgpool_forward(const struct kernels_cpu *cpu, const struct kernels_window *g, int n, const float *in, float *out)
{
    const size_t ch = (size_t)g->channels;
    const size_t in_size = (size_t)g->in_h * (size_t)g->in_w * ch;
    const size_t out_size = (size_t)g->out_h * (size_t)g->out_w * ch;
    const long rows = (long)n * g->out_h;
    const double work = (double)n * (double)out_size * g->k_h * g->k_w;
#pragma omp parallel for schedule(static) if (work >= KERNELS_PARALLEL_MIN) num_threads(kernels_threads(cpu->threads))
    for (long r = 0; r < rows; r++) {
        int s = (int)(r / g->out_h), oy = (int)(r % g->out_h);
        const float *img = in + (size_t)s * in_size;
        for (int ox = 0; ox < g->out_w; ox++) {
            float *o = out + (size_t)s * out_size + ((size_t)oy * (size_t)g->out_w + (size_t)ox) * ch;
            for (size_t c = 0; c < ch; c++)
                o[c] = 0.0f;
            for (int ky = 0; ky < g->k_h; ky++) {
                int iy = oy * g->stride_h + ky * g->dil_h - g->pad_top;
                if (iy < 0 || iy >= g->in_h)
                    continue;
                for (int kx = 0; kx < g->k_w; kx++) {
                    int ix = ox * g->stride_w + kx * g->dil_w - g->pad_left;
                    if (ix < 0 || ix >= g->in_w)
                        continue;
                    const float *src = img + ((size_t)iy * (size_t)g->in_w + (size_t)ix) * ch;
#pragma omp simd
                    for (size_t c = 0; c < ch; c++)
                        o[c] += src[c];
                }
            }
            float inv = 1.0f / (float)window_count(g, oy, ox);
            for (size_t c = 0; c < ch; c++)
                o[c] *= inv;
        }
    }
}

void kernels_avgpool_backward(const struct kernels_cpu *cpu, const struct kernels_window *g, int n, const float *d_out,
                              float *d_in)
{
    const size_t ch = (size_t)g->channels;
    const size_t in_size = (size_t)g->in_h * (size_t)g->in_w * ch;
    const size_t out_size = (size_t)g->out_h * (size_t)g->out_w * ch;
#pragma omp parallel for schedule(static) if ((double)n * out_size * g->k_h * g->k_w >= KERNELS_PARALLEL_MIN) num_threads(kernels_threads(cpu->threads))
    for (int s = 0; s < n; s++) {
        float *d = d_in + (size_t)s * in_size;
        for (int oy = 0; oy < g->out_h; oy++) {
            for (int ox = 0; ox < g->out_w; ox++) {
                const float *src = d_out + (size_t)s * out_size
                                   + ((size_t)oy * (size_t)g->out_w + (size_t)ox) * ch;
                float inv = 1.0f / (float)window_count(g, oy, ox);
                for (int ky = 0; ky < g->k_h; ky++) {
                    int iy = oy * g->stride_h + ky * g->dil_h - g->pad_top;
                    if (iy < 0 || iy >= g->in_h)
                        continue;
                    for (int kx = 0; kx < g->k_w; kx++) {
                        int ix = ox * g->stride_w + kx * g->dil_w - g->pad_left;
                        if (ix < 0 || ix >= g->in_w)
                            continue;
                        float *t = d + ((size_t)iy * (size_t)g->in_w + (size_t)ix) * ch;
#pragma omp simd
                        for (size_t c = 0; c < ch; c++)
                            t[c] += src[c] * inv;
                    }
                }
            }
        }
    }
}

/* ---- per-column helpers ----
 * Sums over rows (bias gradients, batch-normalisation statistics) run over rows = batch x
 * positions, which for a convolution is tens of thousands of rows and a few dozen columns.
 * The rows are cut into chunks of KERNELS_COL_ROWS (a constant, never the thread count); each
 * chunk's sum starts from +0 and adds its rows in order, and the chunk sums are combined in
 * chunk order ((s0 + s1) + s2) + ...: the same bits on any thread count. The work is a grid of
 * (row chunk, column block) tasks, vectorised across the columns of a block. */
enum { COL_BLOCK = 64 };

struct col_grid {
    size_t rows, cols, chunks, blocks;
};

static struct col_grid col_grid(size_t rows, size_t cols)
{
    struct col_grid g = {.rows = rows, .cols = cols};
    g.chunks = rows ? (rows + KERNELS_COL_ROWS - 1) / KERNELS_COL_ROWS : 1;
    g.blocks = cols ? (cols + COL_BLOCK - 1) / COL_BLOCK : 0;
    return g;
}

/* Task t's rows [*r0, *r1) and columns [*c0, *c1). */
static void col_task(const struct col_grid *g, long t, size_t *r0, size_t *r1, size_t *c0, size_t *c1)
{
    size_t chunk = (size_t)t / g->blocks, block = (size_t)t % g->blocks;
    *r0 = chunk * KERNELS_COL_ROWS;
    *r1 = *r0 + KERNELS_COL_ROWS < g->rows ? *r0 + KERNELS_COL_ROWS : g->rows;
    *c0 = block * COL_BLOCK;
    *c1 = *c0 + COL_BLOCK < g->cols ? *c0 + COL_BLOCK : g->cols;
}

static bool col_parallel(const struct col_grid *g)
{
    return (double)g->rows * (double)g->cols >= KERNELS_PARALLEL_MIN && g->chunks * g->blocks > 1;
}

/* out[c] = part[0][c] + part[1][c] + ... in chunk order (part is (chunks, cols)). */
static void col_combine_double(const struct col_grid *g, const double *part, double *out)
{
    for (size_t c = 0; c < g->cols; c++)
        out[c] = part[c];
    for (size_t k = 1; k < g->chunks; k++) {
        const double *p = part + k * g->cols;
#pragma omp simd
        for (size_t c = 0; c < g->cols; c++)
            out[c] += p[c];
    }
}

void kernels_bias_add(const struct kernels_cpu *cpu, size_t rows, size_t cols, float *x, const float *bias)
{
    long count = (long)rows;
#pragma omp parallel for schedule(static) if ((double)rows * cols >= KERNELS_PARALLEL_MIN) num_threads(kernels_threads(cpu->threads))
    for (long r = 0; r < count; r++) {
        float *row = x + (size_t)r * cols;
#pragma omp simd
        for (size_t c = 0; c < cols; c++)
            row[c] += bias[c];
    }
}

void kernels_col_sum(const struct kernels_cpu *cpu, size_t rows, size_t cols, const float *x, float *out)
{
    struct col_grid g = col_grid(rows, cols);
    if (g.blocks == 0)
        return;
    /* One chunk sums straight into out; more keep their sums apart until combined. */
    float *part = g.chunks > 1 ? ns_xmalloc(g.chunks * cols * sizeof *part) : out;
    long tasks = (long)(g.chunks * g.blocks);
#pragma omp parallel for schedule(static) if (col_parallel(&g)) num_threads(kernels_threads(cpu->threads))
    for (long t = 0; t < tasks; t++) {
        size_t r0, r1, c0, c1;
        col_task(&g, t, &r0, &r1, &c0, &c1);
        float *restrict sum = part + (r0 / KERNELS_COL_ROWS) * cols + c0;
        size_t cn = c1 - c0;
        for (size_t c = 0; c < cn; c++)
            sum[c] = 0.0f;
        for (size_t r = r0; r < r1; r++) {
            const float *restrict xr = x + r * cols + c0;
#pragma omp simd
            for (size_t c = 0; c < cn; c++)
                sum[c] += xr[c];
        }
    }
    if (part == out)
        return;
    memcpy(out, part, cols * sizeof *out);
    for (size_t k = 1; k < g.chunks; k++) {
        const float *p = part + k * cols;
#pragma omp simd
        for (size_t c = 0; c < cols; c++)
            out[c] += p[c];
    }
    free(part);
}

void kernels_col_moments(const struct kernels_cpu *cpu, size_t rows, size_t cols, const float *x, float *mean, float *var)
{
    struct col_grid g = col_grid(rows, cols);
    if (g.blocks == 0)
        return;
    double *part = ns_xmalloc(g.chunks * cols * sizeof *part);
    double *mu = ns_xmalloc(2 * cols * sizeof *mu), *sq = mu + cols;
    long tasks = (long)(g.chunks * g.blocks);
    bool parallel = col_parallel(&g);
    int threads = kernels_threads(cpu->threads);
    /* Two passes (mean, then squared deviations from it), each chunked as above. */
    for (int pass = 0; pass < 2; pass++) {
#pragma omp parallel for schedule(static) if (parallel) num_threads(threads)
        for (long t = 0; t < tasks; t++) {
            size_t r0, r1, c0, c1;
            col_task(&g, t, &r0, &r1, &c0, &c1);
            double *restrict acc = part + (r0 / KERNELS_COL_ROWS) * cols + c0;
            const double *restrict m = mu + c0;
            size_t cn = c1 - c0;
            for (size_t c = 0; c < cn; c++)
                acc[c] = 0.0;
            for (size_t r = r0; r < r1; r++) {
                const float *restrict xr = x + r * cols + c0;
                if (pass == 0) {
#pragma omp simd
                    for (size_t c = 0; c < cn; c++)
                        acc[c] += xr[c];
                } else {
#pragma omp simd
                    for (size_t c = 0; c < cn; c++) {
                        double dv = (double)xr[c] - m[c];
                        acc[c] += dv * dv;
                    }
                }
            }
        }
        if (pass == 0) {
            col_combine_double(&g, part, mu);
            for (size_t c = 0; c < cols; c++)
                mu[c] = rows ? mu[c] / (double)rows : 0.0;
        } else {
            col_combine_double(&g, part, sq);
        }
    }
    for (size_t c = 0; c < cols; c++) {
        mean[c] = (float)mu[c];
        var[c] = rows ? (float)(sq[c] / (double)rows) : 0.0f;
    }
    free(mu);
    free(part);
}

/* Elements per block of kernels_col_affine's rows. */
enum { AFFINE_BLOCK = 1 << 12 };

void kernels_col_affine(const struct kernels_cpu *cpu, size_t rows, size_t cols, const float *x, const float *scale,
                        const float *shift, float *y)
{
    /* nsk_affine_cols, compiled for the caller's ISA (fmaf is one instruction there), over
     * blocks of rows: each element is one fmaf whatever the split. */
    const struct isa_loops *loops = isa_loops_pick(cpu);
    size_t block = cols ? (AFFINE_BLOCK + cols - 1) / cols : 1;
    long blocks = (long)((rows + block - 1) / block);
#pragma omp parallel for schedule(static) if ((double)rows * cols >= KERNELS_PARALLEL_MIN) num_threads(kernels_threads(cpu->threads))
    for (long b = 0; b < blocks; b++) {
        size_t r0 = (size_t)b * block, n = rows - r0 < block ? rows - r0 : block;
        loops->affine_rows(x + r0 * cols, scale, shift, n, cols, y + r0 * cols);
    }
}

void kernels_batchnorm_backward(const struct kernels_cpu *cpu, size_t rows, size_t cols, const float *x, const float *dy,
                                const float *mean, const float *inv_std, const float *gamma,
                                bool batch_stats, float *d_gamma, float *d_beta, float *dx)
{
    struct col_grid g = col_grid(rows, cols);
    if (g.blocks == 0)
        return;
    /* part: (chunks, cols) sums of dy * (x - mean), then (chunks, cols) sums of dy; the
     * coefficients: m (the mean), a, b, k, then the combined sums sxd and sb. */
    double *part = ns_xmalloc(2 * g.chunks * cols * sizeof *part), *part_b = part + g.chunks * cols;
    double *coef = ns_xmalloc(6 * cols * sizeof *coef);
    double *m = coef, *a = coef + cols, *b = coef + 2 * cols, *k = coef + 3 * cols;
    double *sxd = coef + 4 * cols, *sb = coef + 5 * cols;
    for (size_t c = 0; c < cols; c++)
        m[c] = mean[c];
    long tasks = (long)(g.chunks * g.blocks);
    bool parallel = col_parallel(&g);
    int threads = kernels_threads(cpu->threads);
#pragma omp parallel for schedule(static) if (parallel) num_threads(threads)
    for (long t = 0; t < tasks; t++) {
        size_t r0, r1, c0, c1;
        col_task(&g, t, &r0, &r1, &c0, &c1);
        size_t at = (r0 / KERNELS_COL_ROWS) * cols + c0, cn = c1 - c0;
        double *restrict s_xd = part + at, *restrict s_b = part_b + at;
        const double *restrict mc = m + c0;
        for (size_t c = 0; c < cn; c++)
            s_xd[c] = s_b[c] = 0.0;
        for (size_t r = r0; r < r1; r++) {
            const float *restrict xr = x + r * cols + c0, *restrict dr = dy + r * cols + c0;
#pragma omp simd
            for (size_t c = 0; c < cn; c++) {
                s_xd[c] += (double)dr[c] * ((double)xr[c] - mc[c]);
                s_b[c] += dr[c];
            }
        }
    }
    col_combine_double(&g, part, sxd);
    col_combine_double(&g, part_b, sb);
    /* dx = g dy - g/N (sum dy + xhat sum dy xhat), g = gamma inv_std, as a x-affine map. */
    for (size_t c = 0; c < cols; c++) {
        double inv = inv_std[c];
        double sg = sxd[c] * inv;
        d_gamma[c] = (float)sg;
        d_beta[c] = (float)sb[c];
        a[c] = (double)gamma[c] * inv;
        b[c] = batch_stats ? a[c] * sb[c] / (double)rows : 0.0;
        k[c] = batch_stats ? a[c] * sg * inv / (double)rows : 0.0;
    }
    if (dx) {
        /* Each element on its own: rows in parallel. */
        long count = (long)rows;
#pragma omp parallel for schedule(static) if ((double)rows * cols >= KERNELS_PARALLEL_MIN) num_threads(threads)
        for (long r = 0; r < count; r++) {
            const float *restrict xr = x + (size_t)r * cols, *restrict dr = dy + (size_t)r * cols;
            float *restrict o = dx + (size_t)r * cols;
#pragma omp simd
            for (size_t c = 0; c < cols; c++)
                o[c] += (float)(a[c] * dr[c] - b[c] - k[c] * ((double)xr[c] - m[c]));
        }
    }
    free(coef);
    free(part);
}
