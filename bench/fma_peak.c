/* The machine's single-precision FMA peak, measured: independent fused multiply-add chains
 * held in registers, no memory traffic, so the only limit is how many FMAs the cores retire
 * per cycle. bench/bench.py divides training and inference FLOP rates by it.
 *
 *   fma_peak ITERATIONS
 *
 * prints one line of JSON: {"variants": {"avx512": {"1": GF, "2": GF}, "avx2": {...}},
 * "best": "avx512", "peak_1t": GF, "peak_2t": GF, "cores": N}; a variant the CPU lacks is
 * absent. Each figure is the best of several runs: noise from other processes only ever
 * lowers a peak, so the maximum is the estimate, not the median.
 *
 * Enough chains to cover the FMA latency times the FMA ports (Zen 4: 4 cycles x 2 ports,
 * Intel since Skylake: 4 x 2) with room to spare: 16 for AVX-512 (32 zmm registers), 12 for
 * AVX2 (16 ymm registers, two hold the constants).
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define FMA_PEAK_X86 1
#endif

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Each returns a sum of its accumulators so the compiler cannot drop the chains; the
 * multiplier just under 1 and the small addend keep every value normal and finite. The
 * chains start from different values the compiler cannot see (seed is read from a volatile),
 * or it would notice they are identical and compute one. */
static float opaque_seed(void)
{
    static const volatile float seed = 0.5f;
    return seed;
}

#ifdef FMA_PEAK_X86
__attribute__((target("avx512f"))) static float chains_avx512(long iterations)
{
    __m512 m = _mm512_set1_ps(0.9999999f), a = _mm512_set1_ps(1e-7f);
    float s0 = opaque_seed();
    __m512 c0 = _mm512_set1_ps(s0), c1 = _mm512_set1_ps(s0 * 2), c2 = _mm512_set1_ps(s0 * 3);
    __m512 c3 = _mm512_set1_ps(s0 * 4), c4 = _mm512_set1_ps(s0 * 5), c5 = _mm512_set1_ps(s0 * 6);
    __m512 c6 = _mm512_set1_ps(s0 * 7), c7 = _mm512_set1_ps(s0 * 8), c8 = _mm512_set1_ps(s0 * 9);
    __m512 c9 = _mm512_set1_ps(s0 * 10), c10 = _mm512_set1_ps(s0 * 11), c11 = _mm512_set1_ps(s0 * 12);
    __m512 c12 = _mm512_set1_ps(s0 * 13), c13 = _mm512_set1_ps(s0 * 14), c14 = _mm512_set1_ps(s0 * 15);
    __m512 c15 = _mm512_set1_ps(s0 * 16);
    for (long i = 0; i < iterations; i++) {
        c0 = _mm512_fmadd_ps(c0, m, a);
        c1 = _mm512_fmadd_ps(c1, m, a);
        c2 = _mm512_fmadd_ps(c2, m, a);
        c3 = _mm512_fmadd_ps(c3, m, a);
        c4 = _mm512_fmadd_ps(c4, m, a);
        c5 = _mm512_fmadd_ps(c5, m, a);
        c6 = _mm512_fmadd_ps(c6, m, a);
        c7 = _mm512_fmadd_ps(c7, m, a);
        c8 = _mm512_fmadd_ps(c8, m, a);
        c9 = _mm512_fmadd_ps(c9, m, a);
        c10 = _mm512_fmadd_ps(c10, m, a);
        c11 = _mm512_fmadd_ps(c11, m, a);
        c12 = _mm512_fmadd_ps(c12, m, a);
        c13 = _mm512_fmadd_ps(c13, m, a);
        c14 = _mm512_fmadd_ps(c14, m, a);
        c15 = _mm512_fmadd_ps(c15, m, a);
    }
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c0, c1), _mm512_add_ps(c2, c3)),
                             _mm512_add_ps(_mm512_add_ps(c4, c5), _mm512_add_ps(c6, c7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c8, c9), _mm512_add_ps(c10, c11)),
                                       _mm512_add_ps(_mm512_add_ps(c12, c13), _mm512_add_ps(c14, c15))));
    return _mm512_reduce_add_ps(s);
}
enum { AVX512_FLOPS_PER_ITERATION = 16 * 16 * 2 };

__attribute__((target("avx2,fma"))) static float chains_avx2(long iterations)
{
    __m256 m = _mm256_set1_ps(0.9999999f), a = _mm256_set1_ps(1e-7f);
    float s0 = opaque_seed();
    __m256 c0 = _mm256_set1_ps(s0), c1 = _mm256_set1_ps(s0 * 2), c2 = _mm256_set1_ps(s0 * 3);
    __m256 c3 = _mm256_set1_ps(s0 * 4), c4 = _mm256_set1_ps(s0 * 5), c5 = _mm256_set1_ps(s0 * 6);
    __m256 c6 = _mm256_set1_ps(s0 * 7), c7 = _mm256_set1_ps(s0 * 8), c8 = _mm256_set1_ps(s0 * 9);
    __m256 c9 = _mm256_set1_ps(s0 * 10), c10 = _mm256_set1_ps(s0 * 11), c11 = _mm256_set1_ps(s0 * 12);
    for (long i = 0; i < iterations; i++) {
        c0 = _mm256_fmadd_ps(c0, m, a);
        c1 = _mm256_fmadd_ps(c1, m, a);
        c2 = _mm256_fmadd_ps(c2, m, a);
        c3 = _mm256_fmadd_ps(c3, m, a);
        c4 = _mm256_fmadd_ps(c4, m, a);
        c5 = _mm256_fmadd_ps(c5, m, a);
        c6 = _mm256_fmadd_ps(c6, m, a);
        c7 = _mm256_fmadd_ps(c7, m, a);
        c8 = _mm256_fmadd_ps(c8, m, a);
        c9 = _mm256_fmadd_ps(c9, m, a);
        c10 = _mm256_fmadd_ps(c10, m, a);
        c11 = _mm256_fmadd_ps(c11, m, a);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(c0, c1), _mm256_add_ps(c2, c3)),
                             _mm256_add_ps(_mm256_add_ps(c4, c5), _mm256_add_ps(c6, c7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(c8, c9), _mm256_add_ps(c10, c11)));
    float lanes[8];
    _mm256_storeu_ps(lanes, s);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7];
}
enum { AVX2_FLOPS_PER_ITERATION = 12 * 8 * 2 };
#endif

/* Only without x86 vector units: scalar fmaf chains, the portable floor (aarch64 compilers
 * turn these into fmadd; a NEON probe would be the next step there). On x86-64 without -mfma
 * fmaf is a library call, far below the hardware, so it is never used there. */
static float chains_scalar(long iterations)
{
    float c[8];
    for (int j = 0; j < 8; j++)
        c[j] = opaque_seed() * (float)(j + 1);
    for (long i = 0; i < iterations; i++)
        for (int j = 0; j < 8; j++)
            c[j] = fmaf(c[j], 0.9999999f, 1e-7f);
    return c[0] + c[1] + c[2] + c[3] + c[4] + c[5] + c[6] + c[7];
}
enum { SCALAR_FLOPS_PER_ITERATION = 8 * 2 };

typedef float (*chains_fn)(long);

/* GFLOP/s of `threads` threads each running the chains, best of `runs`. */
static double measure(chains_fn fn, int flops_per_iteration, long iterations, int threads, int runs)
{
    double best = 0;
    volatile float sink = 0;
    for (int r = 0; r < runs; r++) {
        double t0 = now_seconds();
        float sum = 0;
#pragma omp parallel num_threads(threads) reduction(+ : sum)
        sum += fn(iterations);
        double seconds = now_seconds() - t0;
        sink = sink + sum;
        double gf = (double)threads * (double)iterations * flops_per_iteration / seconds / 1e9;
        if (gf > best)
            best = gf;
    }
    (void)sink;
    return best;
}

int main(int argc, char **argv)
{
    long iterations = argc > 1 ? atol(argv[1]) : 20000000L;
    if (iterations < 1) {
        fprintf(stderr, "usage: fma_peak ITERATIONS\n");
        return 2;
    }
    int cores = omp_get_num_procs();
    int max_threads = cores < 2 ? cores : 2;
    struct variant {
        const char *name;
        chains_fn fn;
        int flops;
        int supported;
    } variants[3];
    int count = 0;
#ifdef FMA_PEAK_X86
    __builtin_cpu_init();
    variants[count++] = (struct variant){"avx512", chains_avx512, AVX512_FLOPS_PER_ITERATION,
                                         __builtin_cpu_supports("avx512f")};
    variants[count++] = (struct variant){"avx2", chains_avx2, AVX2_FLOPS_PER_ITERATION,
                                         __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")};
#endif
    int have_vector = 0;
    for (int v = 0; v < count; v++)
        have_vector |= variants[v].supported;
    variants[count++] = (struct variant){"scalar", chains_scalar, SCALAR_FLOPS_PER_ITERATION, !have_vector};

    double peak[3] = {0}; /* indexed by threads */
    const char *best = "none";
    printf("{\"cores\": %d, \"variants\": {", cores);
    int printed = 0;
    for (int v = 0; v < count; v++) {
        if (!variants[v].supported)
            continue;
        /* Scalar code runs 1/8 to 1/16 the FLOPs per instruction: scale its work down so it
         * takes about as long as the vector variants. */
        long iters = variants[v].flops < 64 ? iterations * 8 : iterations;
        printf("%s\"%s\": {", printed++ ? ", " : "", variants[v].name);
        for (int t = 1; t <= max_threads; t++) {
            double gf = measure(variants[v].fn, variants[v].flops, iters, t, 5);
            printf("%s\"%d\": %.2f", t > 1 ? ", " : "", t, gf);
            if (t == 1 && gf > peak[1]) {
                peak[1] = gf;
                best = variants[v].name;
            }
            if (t == 2 && gf > peak[2])
                peak[2] = gf;
        }
        printf("}");
    }
    printf("}, \"best\": \"%s\", \"peak_1t\": %.2f, \"peak_2t\": %.2f}\n", best, peak[1], peak[2]);
    return 0;
}
