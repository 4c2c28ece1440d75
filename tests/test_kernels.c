/* The SGEMM kernels against the arithmetic contract: every ISA this CPU runs, on 1, 2 and 3
 * threads, gives results memcmp-equal to a plain triple loop of fmaf chains in k order
 * (ragged edges, every transpose, accumulate, implicit im2col, the epilogue, split_k); and
 * whole training runs give the same model.nsm bytes on every ISA and thread count. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ns_util.h"
#include "kernels/activation.h"
#include "kernels/gemm.h"
#include "kernels/kernels.h"
#include "kernels/kernels_cpu.h"
#include "kernels/rng.h"

#include "test_util.h"

/* ---- helpers ---- */

struct trng {
    uint64_t key, n;
};

static float trand(struct trng *r, float lo, float hi)
{
    return lo + (hi - lo) * rng_uniform(r->key, r->n++);
}

static float *falloc(size_t n)
{
    return ns_xcalloc(n ? n : 1, sizeof(float));
}

static float *frand(struct trng *r, size_t n)
{
    float *p = falloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = trand(r, -1.0f, 1.0f);
    return p;
}

/* The ISAs this CPU runs; says so loudly about the ones it cannot test. */
static int supported_isas(enum kernels_isa out[KERNELS_ISA_COUNT])
{
    static const enum kernels_isa all[] = {KERNELS_ISA_PORTABLE, KERNELS_ISA_AVX2, KERNELS_ISA_AVX512};
    static bool warned;
    int n = 0;
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        if (kernels_isa_supported(all[i]))
            out[n++] = all[i];
        else if (!warned)
            fprintf(stderr, "\n*** test_kernels: this CPU or build cannot run the %s kernels: NOT TESTED ***\n",
                    kernels_isa_name(all[i]));
    }
    warned = true;
    return n;
}

/* op(A)[i][p] as the contract reads it, im2col included (taps (ky, kx, c), zeros in the
 * padding), computed independently of the kernels. */
static float ref_a(const struct gemm_args *g, int i, int p)
{
    int row = g->trans_a ? p : i, col = g->trans_a ? i : p;
    if (!g->a_window)
        return g->a[(size_t)row * (size_t)g->lda + (size_t)col];
    const struct kernels_window *w = g->a_window;
    int positions = w->out_h * w->out_w, s = row / positions, pos = row % positions;
    int oy = pos / w->out_w, ox = pos % w->out_w;
    int c = col % w->channels, kx = col / w->channels % w->k_w, ky = col / w->channels / w->k_w;
    int iy = oy * w->stride_h + ky * w->dil_h - w->pad_top, ix = ox * w->stride_w + kx * w->dil_w - w->pad_left;
    if (iy < 0 || iy >= w->in_h || ix < 0 || ix >= w->in_w)
        return 0.0f;
    return g->a[(((size_t)s * (size_t)w->in_h + (size_t)iy) * (size_t)w->in_w + (size_t)ix) * (size_t)w->channels
                + (size_t)c];
}

static float ref_b(const struct gemm_args *g, int p, int j)
{
    return g->trans_b ? g->b[(size_t)j * (size_t)g->ldb + (size_t)p] : g->b[(size_t)p * (size_t)g->ldb + (size_t)j];
}

/* The contract, literally: fmaf chains from +0 over k in order (over each GEMM_K_CHUNK when
 * split, folded in order), then c + acc, + bias, saved, the activation. */
static void gemm_reference(const struct gemm_args *g)
{
    for (int i = 0; i < g->m; i++) {
        float *crow = g->c + (size_t)i * (size_t)g->ldc;
        for (int j = 0; j < g->n; j++) {
            float v;
            if (g->split_k) {
                v = g->accumulate ? crow[j] : 0.0f;
                for (int p0 = 0; p0 < g->k; p0 += GEMM_K_CHUNK) {
                    float acc = 0.0f;
                    for (int p = p0; p < g->k && p < p0 + GEMM_K_CHUNK; p++)
                        acc = fmaf(ref_a(g, i, p), ref_b(g, p, j), acc);
                    v = p0 == 0 && !g->accumulate ? acc : v + acc;
                }
            } else {
                float acc = 0.0f;
                for (int p = 0; p < g->k; p++)
                    acc = fmaf(ref_a(g, i, p), ref_b(g, p, j), acc);
                v = g->accumulate ? crow[j] + acc : acc;
                if (g->bias)
                    v = v + g->bias[j];
                if (g->saved)
                    g->saved[(size_t)i * (size_t)g->ldc + (size_t)j] = v;
            }
            crow[j] = v;
        }
        if (!g->split_k)
            activation_forward(&(struct kernels_cpu){.threads = 1, .isa = KERNELS_ISA_PORTABLE}, g->activation,
                               g->activation_alpha, crow, 1, (size_t)g->n);
    }
}

/* Runs g on every supported ISA and 1, 2, 3 threads (on 2, with a workspace too) and
 * compares C and saved, padding columns included, with the reference. C starts as c0. */
static void check_gemm(const struct gemm_args *proto, const float *c0, size_t c_n, const char *what)
{
    float *ref = falloc(c_n), *ref_saved = falloc(c_n), *c = falloc(c_n), *saved = falloc(c_n);
    struct gemm_args g = *proto;
    memcpy(ref, c0, c_n * sizeof *ref);
    g.c = ref;
    g.saved = proto->saved ? ref_saved : NULL;
    gemm_reference(&g);
    enum kernels_isa isas[KERNELS_ISA_COUNT];
    int isa_count = supported_isas(isas);
    for (int ii = 0; ii < isa_count; ii++)
        for (int threads = 1; threads <= 3; threads++)
            for (int with_work = 0; with_work < (threads == 2 ? 2 : 1); with_work++) {
                struct kernels_cpu cpu = {.threads = threads, .isa = isas[ii]};
                struct gemm_workspace work = {0};
                if (with_work) {
                    work.count = kernels_gemm_workspace_floats(threads);
                    work.floats = falloc(work.count);
                }
                memcpy(c, c0, c_n * sizeof *c);
                memset(saved, 0, c_n * sizeof *saved);
                g.c = c;
                g.saved = proto->saved ? saved : NULL;
                kernels_gemm(&cpu, with_work ? &work : NULL, &g);
                bool same = memcmp(c, ref, c_n * sizeof *c) == 0 && memcmp(saved, ref_saved, c_n * sizeof *c) == 0;
                CU_ASSERT(same);
                if (!same)
                    fprintf(stderr, "\n%s: m %d n %d k %d ta %d tb %d acc %d split %d im2col %d: %s, %d threads differ\n",
                            what, g.m, g.n, g.k, g.trans_a, g.trans_b, g.accumulate, g.split_k, g.a_window != NULL,
                            kernels_isa_name(isas[ii]), threads);
                free(work.floats);
            }
    free(ref);
    free(ref_saved);
    free(c);
    free(saved);
}

/* ---- plain matrices ---- */

static void test_gemm_shapes(void)
{
    /* Ragged against every tile size (4x16, 6x16, 8x32, 16x16), k across block boundaries. */
    static const int sizes[][3] = {{1, 1, 1},    {7, 13, 5},   {33, 17, 300}, {97, 65, 257}, {130, 270, 3},
                                   {5, 300, 40}, {64, 10, 128}, {13, 33, 513}, {200, 31, 520}, {25, 47, 0},
                                   /* n >= 4m with B transposed: computed as C^T = B A^T (gemm_swapped) */
                                   {64, 1600, 128}, {2, 130, 300}};
    struct trng r = {.key = 42};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        int m = sizes[s][0], n = sizes[s][1], k = sizes[s][2];
        for (int combo = 0; combo < 8; combo++) {
            bool ta = combo & 1, tb = combo & 2, acc = combo & 4;
            /* Leading dimensions wider than the matrices, to catch stride mistakes. */
            int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 1;
            size_t a_n = (size_t)(ta ? k : m) * (size_t)lda, b_n = (size_t)(tb ? n : k) * (size_t)ldb;
            size_t c_n = (size_t)m * (size_t)ldc;
            float *a = frand(&r, a_n), *b = frand(&r, b_n), *c0 = frand(&r, c_n);
            struct gemm_args g = {.m = m, .n = n, .k = k, .a = a, .lda = lda, .trans_a = ta, .b = b, .ldb = ldb,
                                  .trans_b = tb, .ldc = ldc, .accumulate = acc};
            check_gemm(&g, c0, c_n, "plain");
            free(a);
            free(b);
            free(c0);
        }
    }
}

/* Overwriting never reads C: NaN there must not leak in. */
static void test_gemm_no_read(void)
{
    float a[2] = {1, 2}, b[2] = {3, 4}, c[1] = {NAN};
    kernels_sgemm(KERNELS_CPU_SERIAL, false, false, 1, 1, 2, a, 2, b, 1, false, c, 1);
    CU_ASSERT_EQUAL(c[0], 11.0f);
    /* The chain is fused: x = 1 + 2^-12, xx = x*x rounded = 1 + 2^-11; the chain
     * fmaf(-xx, 1, 0) then fmaf(x, x, -xx) keeps x*x's rounding error 2^-24, which a separate
     * multiply and add would lose (0). */
    float x = 1.0f + 0x1p-12f, xx = x * x;
    float a2[2] = {-xx, x}, b2[2] = {1.0f, x}, c2[1];
    enum kernels_isa isas[KERNELS_ISA_COUNT];
    int isa_count = supported_isas(isas);
    for (int i = 0; i < isa_count; i++) {
        struct kernels_cpu cpu = {.threads = 1, .isa = isas[i]};
        kernels_sgemm(&cpu, false, false, 1, 1, 2, a2, 2, b2, 1, false, c2, 1);
        CU_ASSERT_EQUAL(c2[0], 0x1p-24f);
    }
}

/* ---- the epilogue ---- */

static void test_gemm_epilogue(void)
{
    static const int acts[] = {ACT_LINEAR, ACT_RELU, ACT_LEAKY_RELU, ACT_SIGMOID, ACT_TANH, ACT_GELU, ACT_SOFTMAX};
    static const int sizes[][3] = {{64, 128, 100}, {37, 10, 300}, {300, 33, 9}, {6, 700, 20}};
    struct trng r = {.key = 9};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
        for (size_t ai = 0; ai < sizeof acts / sizeof *acts; ai++) {
            int m = sizes[s][0], n = sizes[s][1], k = sizes[s][2], ldc = n + (ai % 2);
            size_t c_n = (size_t)m * (size_t)ldc;
            float *a = frand(&r, (size_t)m * (size_t)k), *b = frand(&r, (size_t)k * (size_t)n);
            float *bias = frand(&r, (size_t)n), *c0 = frand(&r, c_n);
            struct gemm_args g = {.m = m, .n = n, .k = k, .a = a, .lda = k, .b = b, .ldb = n, .ldc = ldc,
                                  .bias = ai % 3 ? bias : NULL, .saved = ai % 2 ? NULL : c0 /* any non-NULL */,
                                  .activation = acts[ai], .activation_alpha = ACTIVATION_LEAKY_ALPHA};
            check_gemm(&g, c0, c_n, "epilogue");
            /* Bias and relu with nothing saved are done by the micro-kernels as they store
             * (gemm_finish): bias alone, relu alone, both. */
            if (acts[ai] == ACT_LINEAR || acts[ai] == ACT_RELU)
                for (int with_bias = acts[ai] == ACT_LINEAR; with_bias < 2; with_bias++) {
                    g.bias = with_bias ? bias : NULL;
                    g.saved = NULL;
                    check_gemm(&g, c0, c_n, "epilogue in the kernels");
                }
            free(a);
            free(b);
            free(bias);
            free(c0);
        }
}

/* ---- split_k: weight gradients ---- */

static void test_gemm_split_k(void)
{
    /* Small outputs (chunks in parallel) and large ones (tiles in parallel); k around the
     * chunk size and far past it. */
    static const int sizes[][3] = {{9, 32, 43 * 256 + 17}, {288, 64, 1000}, {1600, 128, 64}, {128, 10, 64},
                                   {7, 5, 256},           {7, 5, 257},      {40, 70, 2000}, {3, 3, 5000}};
    struct trng r = {.key = 77};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
        for (int acc = 0; acc < 2; acc++) {
            int m = sizes[s][0], n = sizes[s][1], k = sizes[s][2];
            float *a = frand(&r, (size_t)k * (size_t)m), *b = frand(&r, (size_t)k * (size_t)n);
            float *c0 = frand(&r, (size_t)m * (size_t)n);
            struct gemm_args g = {.m = m, .n = n, .k = k, .a = a, .lda = m, .trans_a = true, .b = b, .ldb = n,
                                  .ldc = n, .accumulate = acc, .split_k = true};
            check_gemm(&g, c0, (size_t)m * (size_t)n, "split_k");
            free(a);
            free(b);
            free(c0);
        }
}

/* ---- implicit im2col ---- */

static void test_gemm_im2col(void)
{
    struct geometry {
        int h, w, c, kh, kw, sh, sw, dh, dw, pad, ph, pw, filters, batch;
    };
    static const struct geometry geos[] = {
        {28, 28, 1, 3, 3, 1, 1, 1, 1, KERNELS_PAD_VALID, 0, 0, 32, 3},
        {11, 11, 32, 3, 3, 1, 1, 1, 1, KERNELS_PAD_VALID, 0, 0, 64, 2},
        {9, 7, 3, 3, 3, 1, 1, 1, 1, KERNELS_PAD_SAME, 0, 0, 5, 4},
        {10, 9, 4, 3, 2, 2, 2, 1, 1, KERNELS_PAD_SAME, 0, 0, 7, 3},
        {8, 8, 2, 3, 3, 1, 2, 2, 1, KERNELS_PAD_EXPLICIT, 2, 1, 3, 5},
        {6, 6, 40, 1, 1, 1, 1, 1, 1, KERNELS_PAD_VALID, 0, 0, 9, 2},
        /* 500 taps: more than an im2col block takes whole, so its rows are cut into k blocks */
        {12, 12, 20, 5, 5, 1, 1, 1, 1, KERNELS_PAD_SAME, 0, 0, 33, 2},
    };
    struct trng r = {.key = 5};
    for (size_t gi = 0; gi < sizeof geos / sizeof *geos; gi++) {
        const struct geometry *q = &geos[gi];
        struct kernels_window w;
        CU_ASSERT_FATAL(kernels_window_init(&w, q->h, q->w, q->c, q->kh, q->kw, q->sh, q->sw, q->dh, q->dw, q->pad,
                                            q->ph, q->pw));
        int rows = q->batch * w.out_h * w.out_w, taps = q->kh * q->kw * q->c;
        float *x = frand(&r, (size_t)q->batch * (size_t)q->h * (size_t)q->w * (size_t)q->c);
        float *wt = frand(&r, (size_t)taps * (size_t)q->filters), *bias = frand(&r, (size_t)q->filters);
        float *dz = frand(&r, (size_t)rows * (size_t)q->filters);
        size_t y_n = (size_t)rows * (size_t)q->filters, dw_n = (size_t)taps * (size_t)q->filters;
        float *y0 = frand(&r, y_n), *dw0 = frand(&r, dw_n);
        /* forward: y = relu(im2col(x) W + b), saved */
        struct gemm_args f = {.m = rows, .n = q->filters, .k = taps, .a = x, .a_window = &w, .b = wt,
                              .ldb = q->filters, .ldc = q->filters, .bias = bias, .saved = y0,
                              .activation = ACT_RELU};
        check_gemm(&f, y0, y_n, "im2col forward");
        f.saved = NULL; /* as a relu convolution runs: bias and relu in the kernels */
        check_gemm(&f, y0, y_n, "im2col forward, nothing saved");
        /* weight gradient: dW = im2col(x)^T dz, split */
        struct gemm_args d = {.m = taps, .n = q->filters, .k = rows, .a = x, .trans_a = true, .a_window = &w,
                              .b = dz, .ldb = q->filters, .ldc = q->filters, .split_k = true};
        check_gemm(&d, dw0, dw_n, "im2col dW");
        /* The implicit im2col reads what kernels_im2col writes. */
        float *col = falloc((size_t)rows * (size_t)taps), *y1 = falloc(y_n), *y2 = falloc(y_n);
        kernels_im2col(KERNELS_CPU_SERIAL, &w, q->batch, x, col);
        struct gemm_args e = {.m = rows, .n = q->filters, .k = taps, .a = col, .lda = taps, .b = wt,
                              .ldb = q->filters, .c = y1, .ldc = q->filters};
        kernels_gemm(KERNELS_CPU_SERIAL, NULL, &e);
        e.a = x;
        e.a_window = &w;
        e.c = y2;
        kernels_gemm(KERNELS_CPU_SERIAL, NULL, &e);
        CU_ASSERT_EQUAL(memcmp(y1, y2, y_n * sizeof *y1), 0);
        free(col);
        free(y1);
        free(y2);
        free(x);
        free(wt);
        free(bias);
        free(dz);
        free(y0);
        free(dw0);
    }
}

/* ---- whole training runs ---- */

static const char *const cnn_spec =
    "version: 1\n"
    "name: isa_cnn\n"
    "seed: 3\n"
    "data:\n"
    "  format: idx\n"
    "  train: {images: isa-train-images.idx, labels: isa-train-labels.idx.gz}\n"
    "  validation: 0.2\n"
    "  classes: [a, b, c]\n"
    "  normalize: {scale: 0.00392156862745098}\n"
    "model:\n"
    "  layers:\n"
    "    - conv2d: {filters: 6, kernel: 3, padding: same, activation: relu}\n"
    "    - conv2d: {filters: 5, kernel: 3, stride: 2, activation: tanh}\n"
    "    - maxpool2d: {size: 2}\n"
    "    - flatten\n"
    "    - dense: {units: 20, activation: gelu}\n"
    "    - dense: {units: auto}\n"
    "loss: cross_entropy\n"
    "optimizer: {type: adam, lr: 0.01}\n"
    "train: {epochs: 2, batch_size: 40}\n";

static void test_train_isas(void)
{
    char *spec = test_util_tmp_path("isa_cnn.yaml");
    char *ti = test_util_tmp_path("isa-train-images.idx"), *tl = test_util_tmp_path("isa-train-labels.idx.gz");
    test_util_write_text(spec, cnn_spec);
    CU_ASSERT_FATAL(test_util_save_stripes(ti, tl, 200, 3, 21, NULL));
    enum kernels_isa isas[KERNELS_ISA_COUNT];
    int isa_count = supported_isas(isas);
    char *first = NULL;
    int runs = 0;
    for (int ii = 0; ii < isa_count; ii++)
        for (int threads = 1; threads <= 3; threads++) {
            char *dir = ns_asprintf("%s/isa-%s-%d", test_util_tmp(), kernels_isa_name(isas[ii]), threads);
            char *args = ns_asprintf("train %s -o %s --threads %d --isa %s", spec, dir, threads,
                                     kernels_isa_name(isas[ii]));
            struct test_util_run r = test_util_netspec(args);
            CU_ASSERT_EQUAL(r.exit_code, 0);
            if (r.exit_code)
                fprintf(stderr, "%s\n%s", r.out, r.err);
            char *model = ns_asprintf("%s/model.nsm", dir);
            if (!first) {
                first = model;
            } else {
                bool same = test_util_same_file(first, model);
                CU_ASSERT(same);
                if (!same)
                    fprintf(stderr, "\n%s differs from %s\n", model, first);
                free(model);
            }
            runs++;
            test_util_run_free(&r);
            free(args);
            free(dir);
        }
    CU_ASSERT(runs >= 3);
    free(first);
    free(spec);
    free(ti);
    free(tl);
}

static int suite_init(void)
{
    return test_util_tmp_init("kernels");
}

int main(void)
{
    static const struct test_util_case cases[] = {
        {"gemm equals the fmaf loop: shapes, transposes, accumulate", test_gemm_shapes},
        {"gemm never reads C when overwriting; chains are fused", test_gemm_no_read},
        {"gemm epilogue: bias, saved, activations", test_gemm_epilogue},
        {"gemm split_k: fixed chunks folded in order", test_gemm_split_k},
        {"gemm implicit im2col: forward and weight gradient", test_gemm_im2col},
        {"train: same model.nsm on every ISA and thread count", test_train_isas},
    };
    return test_util_main("kernels", suite_init, test_util_tmp_clean, cases, sizeof cases / sizeof *cases);
}
