/* Inference speed of the netspec runtime on a trained run, as bench/bench.py measures it:
 * images/s at batch 256 and the latency of one image, both through the library's own
 * executor (the inference plan eval and predict use), timed inside this process so model
 * loading and data reading are left out.
 *
 *   runtime_infer RUN_DIR THREADS BATCH_REPS LATENCY_REPS
 *
 * prints one line of JSON: {"threads":..,"batch":256,"batch_img_s":..,"latency_us":..}.
 * Both figures are medians over the repetitions, after one untimed warm-up, because other
 * processes on the machine make single timings noisy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/ns_ctx.h"
#include "model/model.h"
#include "runtime/exec.h"

enum { BENCH_BATCH = 256 };

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

/* Median seconds of one exec_forward over n rows. */
static double time_forward(struct exec *ex, float *params, const float *x, int n, int reps)
{
    const struct exec_run run = {.training = false};
    double *times = malloc(sizeof *times * (size_t)reps);
    if (!times)
        abort();
    (void)exec_forward(ex, params, x, n, &run);
    for (int r = 0; r < reps; r++) {
        double t0 = now_seconds();
        (void)exec_forward(ex, params, x, n, &run);
        times[r] = now_seconds() - t0;
    }
    double m = median(times, reps);
    free(times);
    return m;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: runtime_infer RUN_DIR THREADS BATCH_REPS LATENCY_REPS\n");
        return 2;
    }
    int threads = atoi(argv[2]), batch_reps = atoi(argv[3]), latency_reps = atoi(argv[4]);
    if (threads < 1 || batch_reps < 1 || latency_reps < 1) {
        fprintf(stderr, "runtime_infer: THREADS, BATCH_REPS and LATENCY_REPS must be at least 1\n");
        return 2;
    }
    struct ns_ctx ctx;
    ns_ctx_init(&ctx);
    struct model m;
    if (!model_load(&ctx, argv[1], &m)) {
        ns_diag_print(&ctx.diag, stderr, false);
        ns_ctx_free(&ctx);
        return 1;
    }
    size_t in = m.g->input_size;
    float *x = malloc(sizeof *x * in * BENCH_BATCH);
    if (!x)
        abort();
    /* Pixel-like values in [0, 1]: the speed does not depend on them, but denormals or
     * all-zero inputs could make it look better than real data would. */
    for (size_t i = 0; i < in * BENCH_BATCH; i++)
        x[i] = (float)((i * 7919u) % 256u) / 255.0f;

    struct exec *batch_ex = exec_new_mode(m.g, BENCH_BATCH, GRAPH_INFERENCE);
    exec_set_threads(batch_ex, threads);
    double batch_s = time_forward(batch_ex, m.st.params, x, BENCH_BATCH, batch_reps);
    exec_free(batch_ex);

    /* A one-row executor, as a server answering single requests would hold. */
    struct exec *one_ex = exec_new_mode(m.g, 1, GRAPH_INFERENCE);
    exec_set_threads(one_ex, threads);
    double one_s = time_forward(one_ex, m.st.params, x, 1, latency_reps);
    exec_free(one_ex);

    printf("{\"threads\": %d, \"batch\": %d, \"batch_img_s\": %.1f, \"latency_us\": %.2f}\n", threads, BENCH_BATCH,
           BENCH_BATCH / batch_s, 1e6 * one_s);
    free(x);
    model_free(&m);
    ns_ctx_free(&ctx);
    return 0;
}
