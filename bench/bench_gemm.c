/* SGEMM throughput: netspec's deterministic kernel against OpenBLAS cblas_sgemm, same shapes,
 * same threads, one run, GFLOP/s side by side and their ratio. The shapes are the GEMMs of
 * specs/fashion_cnn.yaml and specs/fashion_mlp.yaml at batch 64/128, plus a square one.
 *
 *   bench/run.sh gemm        (builds this against build/release/libnetspec.a and -lopenblas)
 */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/kernels.h"

struct shape {
    const char *what;
    int m, n, k;
};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median seconds of `reps` timed runs of one GEMM, after a warm-up. */
static double time_gemm(int threads, int use_blas, const struct shape *s, const float *a, const float *b, float *c, int reps)
{
    double times[15];
    for (int r = -1; r < reps; r++) {
        double t0 = now();
        if (use_blas)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->m, s->n, s->k, 1.0f, a, s->k, b,
                        s->n, 0.0f, c, s->n);
        else
            kernels_sgemm(&(const struct kernels_cpu){.threads = threads, .isa = KERNELS_ISA_AUTO}, false, false, s->m,
                          s->n, s->k, 1.0f, a, s->k, b, s->n, 0.0f, c, s->n);
        if (r >= 0)
            times[r] = now() - t0;
    }
    qsort(times, (size_t)reps, sizeof *times, compare_doubles);
    return times[reps / 2];
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : omp_get_num_procs();
    openblas_set_num_threads(threads);
    static const struct shape shapes[] = {
        {"cnn conv2 fwd (64*14*14 x 64 x 288)", 64 * 14 * 14, 64, 288},
        {"cnn conv1 fwd (64*28*28 x 32 x 9)", 64 * 28 * 28, 32, 9},
        {"cnn dense fwd (64 x 128 x 3136)", 64, 128, 3136},
        {"mlp dense1 fwd (128 x 256 x 784)", 128, 256, 784},
        {"square 1024", 1024, 1024, 1024},
    };
    printf("SGEMM, %d thread%s, median of 11 runs\n", threads, threads == 1 ? "" : "s");
    printf("%-40s %12s %12s %8s\n", "shape (m x n x k)", "netspec", "OpenBLAS", "ratio");
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const struct shape *s = &shapes[i];
        float *a = malloc(sizeof(float) * (size_t)s->m * (size_t)s->k);
        float *b = malloc(sizeof(float) * (size_t)s->k * (size_t)s->n);
        float *c = malloc(sizeof(float) * (size_t)s->m * (size_t)s->n);
        for (size_t j = 0; j < (size_t)s->m * (size_t)s->k; j++)
            a[j] = (float)((j * 7919) % 1000) / 1000.0f - 0.5f;
        for (size_t j = 0; j < (size_t)s->k * (size_t)s->n; j++)
            b[j] = (float)((j * 104729) % 1000) / 1000.0f - 0.5f;
        double flops = 2.0 * s->m * s->n * s->k;
        double ours = flops / time_gemm(threads, 0, s, a, b, c, 11) / 1e9;
        double blas = flops / time_gemm(threads, 1, s, a, b, c, 11) / 1e9;
        printf("%-40s %9.1f GF %9.1f GF %7.2fx\n", s->what, ours, blas, ours / blas);
        free(a);
        free(b);
        free(c);
    }
    return 0;
}
