/* Which OpenBLAS kernel set runs, and how fast it is: bench/bench.py runs this once per
 * OPENBLAS_CORETYPE candidate and gives bench_gemm the fastest, because OpenBLAS's own
 * detection can pick a poor kernel set for a CPU newer than its release (AMD Zen 4 with
 * AVX-512 in OpenBLAS 0.3.21, for one).
 *
 *   OPENBLAS_CORETYPE=SkylakeX openblas_core REPS
 *
 * prints one line of JSON: {"core": "...", "config": "...", "gflops": ...}, the median
 * GFLOP/s of a 512 x 512 x 512 single-thread SGEMM over REPS runs.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { SIZE = 512 };

static double now_seconds(void)
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

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 9;
    if (reps < 1)
        reps = 1;
    openblas_set_num_threads(1);
    float *a = malloc(sizeof *a * SIZE * SIZE), *b = malloc(sizeof *b * SIZE * SIZE), *c = malloc(sizeof *c * SIZE * SIZE);
    double *times = malloc(sizeof *times * (size_t)reps);
    if (!a || !b || !c || !times)
        abort();
    for (size_t i = 0; i < (size_t)SIZE * SIZE; i++) {
        a[i] = (float)((i * 7919u) % 1000u) / 1000.0f - 0.5f;
        b[i] = (float)((i * 104729u) % 1000u) / 1000.0f - 0.5f;
    }
    for (int r = -1; r < reps; r++) {
        double t0 = now_seconds();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, SIZE, SIZE, SIZE, 1.0f, a, SIZE, b, SIZE, 0.0f, c, SIZE);
        if (r >= 0)
            times[r] = now_seconds() - t0;
    }
    qsort(times, (size_t)reps, sizeof *times, compare_doubles);
    printf("{\"core\": \"%s\", \"config\": \"%s\", \"gflops\": %.2f}\n", openblas_get_corename(), openblas_get_config(),
           2.0 * SIZE * SIZE * SIZE / times[reps / 2] / 1e9);
    free(a);
    free(b);
    free(c);
    free(times);
    return 0;
}
