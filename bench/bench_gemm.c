/* SGEMM throughput: netspec's kernels_gemm against OpenBLAS cblas_sgemm on the GEMMs of the
 * reference CNN (conv 3x3x32 valid relu on 28x28x1 -> maxpool 2 -> conv 3x3x64 relu ->
 * maxpool 2 -> dense 128 relu -> dense 10, batch 64): forward, weight gradient (dW = X^T dZ,
 * split_k as training runs it) and input gradient (dX = dZ W^T), plus a square one. Samples of
 * the two libraries alternate, so machine noise hits both alike; GFLOP/s are medians.
 *
 *   bench/run.sh gemm [THREADS]                builds and runs this
 *   bench_gemm [--threads N] [--isa NAME] [--samples N] [--shape NAME] [--json]
 *
 * --json prints one JSON object per shape (one per line) instead of the table.
 */
#include <cblas.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/gemm.h"
#include "kernels/kernels_cpu.h"

/* OpenBLAS's own introspection (not in every cblas.h). */
char *openblas_get_corename(void);
char *openblas_get_config(void);
void openblas_set_num_threads(int threads);

struct shape {
    const char *name;
    int m, n, k;
    bool trans_a, trans_b, accumulate, split_k;
    bool in_training; /* false: listed for completeness, training never runs it */
};

static const struct shape shapes[] = {
    {"conv1 fwd", 64 * 26 * 26, 32, 9, false, false, false, false, true},
    {"conv2 fwd", 64 * 11 * 11, 64, 288, false, false, false, false, true},
    {"dense1 fwd", 64, 128, 1600, false, false, false, false, true},
    {"dense2 fwd", 64, 10, 128, false, false, false, false, true},
    {"conv1 dW", 9, 32, 64 * 26 * 26, true, false, false, true, true},
    {"conv2 dW", 288, 64, 64 * 11 * 11, true, false, false, true, true},
    {"dense1 dW", 1600, 128, 64, true, false, false, true, true},
    {"dense2 dW", 128, 10, 64, true, false, false, true, true},
    {"conv1 dX", 64 * 26 * 26, 9, 32, false, true, false, false, false},
    {"conv2 dX", 64 * 11 * 11, 288, 64, false, true, false, false, true},
    {"dense1 dX", 64, 1600, 128, false, true, true, false, true},
    {"dense2 dX", 64, 128, 10, false, true, true, false, true},
    {"square 1024", 1024, 1024, 1024, false, false, false, false, false},
};

/* On one thread, the process's CPU time: the machine is shared (other builds, benchmarks), and
 * time spent descheduled is not the kernel's. On more, wall time. */
static clockid_t bench_clock = CLOCK_MONOTONIC;

static double now(void)
{
    struct timespec t;
    clock_gettime(bench_clock, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct operands {
    float *a, *b, *c;
    int lda, ldb, ldc;
};

static void run_once(bool blas, const struct shape *s, struct operands *o, const struct kernels_cpu *cpu,
                     const struct gemm_workspace *work)
{
    if (blas) {
        cblas_sgemm(CblasRowMajor, s->trans_a ? CblasTrans : CblasNoTrans, s->trans_b ? CblasTrans : CblasNoTrans,
                    s->m, s->n, s->k, 1.0f, o->a, o->lda, o->b, o->ldb, s->accumulate ? 1.0f : 0.0f, o->c, o->ldc);
        return;
    }
    struct gemm_args g = {.m = s->m, .n = s->n, .k = s->k, .a = o->a, .lda = o->lda, .trans_a = s->trans_a,
                          .b = o->b, .ldb = o->ldb, .trans_b = s->trans_b, .c = o->c, .ldc = o->ldc,
                          .accumulate = s->accumulate, .split_k = s->split_k};
    kernels_gemm(cpu, work, &g);
}

/* Seconds per call: the median over `samples` samples of `reps` calls each. */
static void measure(const struct shape *s, struct operands *o, const struct kernels_cpu *cpu,
                    const struct gemm_workspace *work, int samples, double out[2])
{
    double flops = 2.0 * s->m * s->n * s->k;
    /* Enough calls per sample for ~20 ms at 50 GFLOP/s, so the clock's resolution vanishes. */
    int reps = (int)(1e9 / flops) + 1;
    double *t[2] = {calloc((size_t)samples, sizeof(double)), calloc((size_t)samples, sizeof(double))};
    for (int which = 0; which < 2; which++)
        run_once(which, s, o, cpu, work); /* warm-up: caches, pages, OpenBLAS's threads */
    for (int i = 0; i < samples; i++)
        for (int which = 0; which < 2; which++) {
            double t0 = now();
            for (int r = 0; r < reps; r++)
                run_once(which, s, o, cpu, work);
            t[which][i] = (now() - t0) / reps;
        }
    for (int which = 0; which < 2; which++) {
        qsort(t[which], (size_t)samples, sizeof(double), compare_doubles);
        out[which] = t[which][samples / 2];
        free(t[which]);
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_gemm [--threads N] [--isa auto|portable|avx2|avx512] [--samples N] [--shape NAME] [--json]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int threads = 1, samples = 7;
    bool json = false;
    const char *only = NULL;
    enum kernels_isa isa = KERNELS_ISA_AUTO;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--shape") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--samples") == 0 && i + 1 < argc)
            samples = atoi(argv[++i]);
        else if (strcmp(argv[i], "--isa") == 0 && i + 1 < argc) {
            if (!kernels_isa_parse(argv[++i], &isa))
                usage();
        } else
            usage();
    }
    threads = threads < 1 ? 1 : threads;
    bench_clock = threads == 1 ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC;
    samples = samples < 1 ? 1 : samples;
    isa = kernels_isa_resolve(isa);
    if (!kernels_isa_supported(isa)) {
        fprintf(stderr, "bench_gemm: this CPU cannot run %s\n", kernels_isa_name(isa));
        return 2;
    }
    openblas_set_num_threads(threads);
    struct kernels_cpu cpu = {.threads = threads, .isa = isa};
    struct gemm_workspace work = {.count = kernels_gemm_workspace_floats(threads)};
    work.floats = malloc(work.count * sizeof *work.floats);
    const char *core = openblas_get_corename();
    if (!json) {
        printf("SGEMM, %d thread%s, netspec %s vs OpenBLAS (%s; %s), median of %d samples (%s)\n", threads,
               threads == 1 ? "" : "s", kernels_isa_name(isa), core, openblas_get_config(), samples,
               threads == 1 ? "process CPU time" : "wall time");
        printf("%-12s %7s %5s %6s %3s %-5s %10s %10s %7s\n", "shape", "m", "n", "k", "op", "flags", "netspec",
               "OpenBLAS", "ratio");
    }
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const struct shape *s = &shapes[i];
        if (only && strcmp(only, s->name) != 0)
            continue;
        struct operands o = {.lda = s->trans_a ? s->m : s->k, .ldb = s->trans_b ? s->k : s->n, .ldc = s->n};
        size_t a_n = (size_t)s->m * (size_t)s->k, b_n = (size_t)s->k * (size_t)s->n, c_n = (size_t)s->m * (size_t)s->n;
        o.a = malloc(a_n * sizeof *o.a);
        o.b = malloc(b_n * sizeof *o.b);
        o.c = calloc(c_n, sizeof *o.c);
        for (size_t j = 0; j < a_n; j++)
            o.a[j] = (float)((j * 7919) % 1000) / 1000.0f - 0.5f;
        for (size_t j = 0; j < b_n; j++)
            o.b[j] = (float)((j * 104729) % 1000) / 1000.0f - 0.5f;
        double sec[2];
        measure(s, &o, &cpu, &work, samples, sec);
        double flops = 2.0 * s->m * s->n * s->k;
        double ours = flops / sec[0] / 1e9, blas = flops / sec[1] / 1e9;
        char flags[8];
        snprintf(flags, sizeof flags, "%s%s%s%s", s->trans_a ? "A" : "", s->trans_b ? "B" : "",
                 s->accumulate ? "+" : "", s->split_k ? "s" : "");
        if (json)
            printf("{\"bench\": \"gemm\", \"shape\": \"%s\", \"m\": %d, \"n\": %d, \"k\": %d, \"trans_a\": %s, "
                   "\"trans_b\": %s, \"accumulate\": %s, \"split_k\": %s, \"in_training\": %s, \"threads\": %d, "
                   "\"isa\": \"%s\", \"netspec_gflops\": %.2f, \"openblas_gflops\": %.2f, \"ratio\": %.3f, "
                   "\"openblas_core\": \"%s\"}\n",
                   s->name, s->m, s->n, s->k, s->trans_a ? "true" : "false", s->trans_b ? "true" : "false",
                   s->accumulate ? "true" : "false", s->split_k ? "true" : "false",
                   s->in_training ? "true" : "false", threads, kernels_isa_name(isa), ours, blas, ours / blas, core);
        else
            printf("%-12s %7d %5d %6d %3s %-5s %7.1f GF %7.1f GF %6.2fx%s\n", s->name, s->m, s->n, s->k,
                   s->trans_a ? "AT" : s->trans_b ? "BT" : "", flags, ours, blas, ours / blas,
                   s->in_training ? "" : "  (not in training)");
        fflush(stdout);
        free(o.a);
        free(o.b);
        free(o.c);
    }
    if (!json)
        printf("flags: A/B transposed, + accumulate (beta 1), s split_k (fixed k chunks of %d)\n", GEMM_K_CHUNK);
    free(work.floats);
    return 0;
}
