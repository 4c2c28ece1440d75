/* Inference speed of a classifier written by `netspec emit --prefix bench_model`, linked with
 * this file: images/s at batch 256 and the latency of one image (bench/bench.py compiles the
 * emitted file once at -O2 and once at -O3 -march=native and links each with this driver).
 *
 *   emitted_infer THREADS BATCH_REPS LATENCY_REPS
 *
 * prints one line of JSON: {"threads":..,"batch":256,"batch_img_s":..,"latency_us":..,
 * "batch_entry":"..."}.
 *
 * The batch figure uses the emitted batch entry point when bench.py found one in the header
 * and could compile a call to it (BENCH_BATCH_FN with BENCH_BATCH_FORM, the argument order);
 * otherwise it is 256 calls of the one-image bench_model_logits, and batch_entry says which.
 * With THREADS > 1 the batch is split into THREADS contiguous parts, each thread with its own
 * workspace, as the emitted header allows (no shared state). Latency is one thread always:
 * the emitted code runs one image on one thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <omp.h>

#include "bench_model.h"

enum { BENCH_BATCH = 256 };

#ifndef BENCH_BATCH_FORM
#define BENCH_BATCH_FORM 0
#endif

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

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, compare_doubles);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The workspace one call needs: the one-image size, or for the batch entry point a batch of
 * them, which covers any layout that keeps per-row activations (an unknown entry point's
 * needs cannot be read from the header, so err on the large side). */
static size_t workspace_bytes(int rows)
{
#if BENCH_BATCH_FORM
    size_t bytes = (size_t)rows * BENCH_MODEL_WORKSPACE_BYTES + BENCH_MODEL_WORKSPACE_BYTES;
#ifdef BENCH_MODEL_BATCH_WORKSPACE_BYTES
    if ((size_t)BENCH_MODEL_BATCH_WORKSPACE_BYTES(rows) > bytes)
        bytes = (size_t)BENCH_MODEL_BATCH_WORKSPACE_BYTES(rows);
#endif
    return bytes;
#else
    (void)rows;
    return BENCH_MODEL_WORKSPACE_BYTES;
#endif
}

static void run_rows(int n, const float *x, float *logits, void *workspace)
{
#if BENCH_BATCH_FORM == 1
    BENCH_BATCH_FN(n, x, logits, workspace);
#elif BENCH_BATCH_FORM == 2
    BENCH_BATCH_FN(x, n, logits, workspace);
#else
    for (int i = 0; i < n; i++)
        bench_model_logits(x + (size_t)i * BENCH_MODEL_INPUT_SIZE, logits + (size_t)i * BENCH_MODEL_OUTPUT_SIZE,
                           workspace);
#endif
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: emitted_infer THREADS BATCH_REPS LATENCY_REPS\n");
        return 2;
    }
    int threads = atoi(argv[1]), batch_reps = atoi(argv[2]), latency_reps = atoi(argv[3]);
    if (threads < 1 || threads > BENCH_BATCH || batch_reps < 1 || latency_reps < 1) {
        fprintf(stderr, "emitted_infer: THREADS (1..256), BATCH_REPS and LATENCY_REPS must be at least 1\n");
        return 2;
    }
    float *x = malloc(sizeof *x * BENCH_MODEL_INPUT_SIZE * BENCH_BATCH);
    float *logits = malloc(sizeof *logits * BENCH_MODEL_OUTPUT_SIZE * BENCH_BATCH);
    double *times = malloc(sizeof *times * (size_t)(batch_reps > latency_reps ? batch_reps : latency_reps));
    void **workspaces = calloc((size_t)threads, sizeof *workspaces);
    if (!x || !logits || !times || !workspaces)
        abort();
    int rows_per_thread = (BENCH_BATCH + threads - 1) / threads;
    for (int t = 0; t < threads; t++) {
        /* 64-byte aligned: the emitted code only needs float alignment, but a vectorised
         * build should not be penalised by a split cache line. */
        size_t bytes = (workspace_bytes(rows_per_thread) + 63) / 64 * 64;
        workspaces[t] = aligned_alloc(64, bytes);
        if (!workspaces[t])
            abort();
    }
    for (size_t i = 0; i < (size_t)BENCH_MODEL_INPUT_SIZE * BENCH_BATCH; i++)
        x[i] = (float)((i * 7919u) % 256u) / 255.0f;

    for (int r = -1; r < batch_reps; r++) {
        double t0 = now_seconds();
#pragma omp parallel for num_threads(threads) schedule(static, 1)
        for (int t = 0; t < threads; t++) {
            int first = t * rows_per_thread;
            int rows = first + rows_per_thread > BENCH_BATCH ? BENCH_BATCH - first : rows_per_thread;
            if (rows > 0)
                run_rows(rows, x + (size_t)first * BENCH_MODEL_INPUT_SIZE,
                         logits + (size_t)first * BENCH_MODEL_OUTPUT_SIZE, workspaces[t]);
        }
        if (r >= 0)
            times[r] = now_seconds() - t0;
    }
    double batch_s = median(times, batch_reps);

    for (int r = -1; r < latency_reps; r++) {
        double t0 = now_seconds();
        bench_model_logits(x, logits, workspaces[0]);
        if (r >= 0)
            times[r] = now_seconds() - t0;
    }
    double one_s = median(times, latency_reps);

#if BENCH_BATCH_FORM
#define BENCH_STR2(s) #s
#define BENCH_STR(s) BENCH_STR2(s)
    const char *entry = BENCH_STR(BENCH_BATCH_FN);
#else
    const char *entry = "bench_model_logits per image (no batch entry point)";
#endif
    printf("{\"threads\": %d, \"batch\": %d, \"batch_img_s\": %.1f, \"latency_us\": %.2f, \"batch_entry\": \"%s\", "
           "\"check\": %.6g}\n",
           threads, BENCH_BATCH, BENCH_BATCH / batch_s, 1e6 * one_s, entry, (double)logits[0]);
    for (int t = 0; t < threads; t++)
        free(workspaces[t]);
    free(workspaces);
    free(times);
    free(logits);
    free(x);
    return 0;
}
