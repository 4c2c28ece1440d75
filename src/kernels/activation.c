#include "kernels/activation.h"

#include <math.h>
#include <string.h>

/* Below this many elements a parallel region costs more than it saves. */
enum { ACT_PARALLEL_MIN = 1 << 15 };
/* Elements per parallel chunk; a fixed split, so the work per element never depends on it. */
enum { ACT_CHUNK = 1 << 14 };
/* Gradients are formed in a stack block before they are stored or added. */
enum { ACT_BLOCK = 256 };

/* Each row of activations.def becomes its scalar functions and, for elementwise rows, one
 * forward and one backward loop, so every function's loop is its own and the simple ones
 * vectorise. The row's forward body is also kept as text (ACTIVATION_TEXT) for the emitter. */
#define ACTIVATION_TEXT(...) #__VA_ARGS__

#define ACTIVATION(name, ID, identity, flops, init, forward, gradient)                           \
    static inline float activation_f_##name(float x, float alpha) forward                        \
    static inline float activation_g_##name(float z, float dy, float alpha) gradient             \
    static void activation_forward_##name(float alpha, float *x, size_t begin, size_t end)        \
    {                                                                                             \
        _Pragma("omp simd") for (size_t i = begin; i < end; i++)                                  \
            x[i] = activation_f_##name(x[i], alpha);                                              \
    }                                                                                             \
    static void activation_backward_##name(float alpha, const float *z, const float *dy,          \
                                           float *dz, size_t begin, size_t end, bool accumulate)  \
    {                                                                                             \
        float g[ACT_BLOCK];                                                                       \
        for (size_t b0 = begin; b0 < end; b0 += ACT_BLOCK) {                                      \
            size_t len = end - b0 < ACT_BLOCK ? end - b0 : ACT_BLOCK;                             \
            const float *zb = z + b0, *db = dy + b0;                                              \
            _Pragma("omp simd") for (size_t i = 0; i < len; i++)                                  \
                g[i] = activation_g_##name(zb[i], db[i], alpha);                                  \
            float *out = dz + b0;                                                                 \
            if (accumulate) {                                                                     \
                _Pragma("omp simd") for (size_t i = 0; i < len; i++)                              \
                    out[i] += g[i];                                                               \
            } else {                                                                              \
                memmove(out, g, len * sizeof *g);                                                 \
            }                                                                                     \
        }                                                                                         \
    }
#define ACTIVATION_ROW(name, ID, flops, init, forward, gradient)                                 \
    static void activation_f_##name(float *x, size_t cols) forward                               \
    static void activation_g_##name(const float *z, const float *dy, float *dz, size_t cols,     \
                                    bool accumulate) gradient
#include "kernels/activations.def"
#undef ACTIVATION
#undef ACTIVATION_ROW

/* The runtime's side of a row: the loops it runs. */
struct activation_impl {
    void (*forward)(float alpha, float *x, size_t begin, size_t end);
    void (*backward)(float alpha, const float *z, const float *dy, float *dz, size_t begin,
                     size_t end, bool accumulate);
    void (*forward_row)(float *x, size_t cols);
    void (*backward_row)(const float *z, const float *dy, float *dz, size_t cols, bool accumulate);
};

static const struct activation_info activation_table[] = {
#define ACTIVATION(name, ID, identity, flops, init, forward, gradient)                           \
    {#name, identity, false, flops, ACTIVATION_INIT_##init, ACTIVATION_TEXT(forward)},
#define ACTIVATION_ROW(name, ID, flops, init, forward, gradient)                                 \
    {#name, false, true, flops, ACTIVATION_INIT_##init, ACTIVATION_TEXT(forward)},
#include "kernels/activations.def"
#undef ACTIVATION
#undef ACTIVATION_ROW
};

static const struct activation_impl activation_impls[] = {
#define ACTIVATION(name, ID, identity, flops, init, forward, gradient)                           \
    {activation_forward_##name, activation_backward_##name, NULL, NULL},
#define ACTIVATION_ROW(name, ID, flops, init, forward, gradient)                                 \
    {NULL, NULL, activation_f_##name, activation_g_##name},
#include "kernels/activations.def"
#undef ACTIVATION
#undef ACTIVATION_ROW
};

_Static_assert(sizeof activation_table / sizeof *activation_table == ACT_COUNT,
               "activation_table must hold one row per line of activations.def");
_Static_assert(sizeof activation_impls / sizeof *activation_impls == ACT_COUNT,
               "activation_impls must hold one row per line of activations.def");

const struct activation_info *activation_info(int act)
{
    return act >= 0 && act < ACT_COUNT ? &activation_table[act] : NULL;
}

bool activation_needs_input(int act)
{
    const struct activation_info *a = activation_info(act);
    return a && !a->identity;
}

double activation_flops(int act)
{
    const struct activation_info *a = activation_info(act);
    return a ? a->flops : 0;
}

void activation_softmax_row(float *x, size_t cols)
{
    if (cols > 0)
        activation_f_softmax(x, cols);
}

void activation_forward(const struct kernels_cpu *cpu, int act, float alpha, float *x, size_t rows, size_t cols)
{
    size_t n = rows * cols;
    const struct activation_info *a = activation_info(act);
    if (!a || a->identity || n == 0)
        return;
    const struct activation_impl *f = &activation_impls[act];
    if (a->per_row) {
        long long r_count = (long long)rows;
#pragma omp parallel for schedule(static) if (n >= ACT_PARALLEL_MIN) num_threads(cpu->threads < 1 ? 1 : cpu->threads)
        for (long long r = 0; r < r_count; r++)
            f->forward_row(x + (size_t)r * cols, cols);
        return;
    }
    long long chunks = (long long)((n + ACT_CHUNK - 1) / ACT_CHUNK);
#pragma omp parallel for schedule(static) if (n >= ACT_PARALLEL_MIN) num_threads(cpu->threads < 1 ? 1 : cpu->threads)
    for (long long ch = 0; ch < chunks; ch++) {
        size_t begin = (size_t)ch * ACT_CHUNK;
        size_t end = begin + ACT_CHUNK < n ? begin + ACT_CHUNK : n;
        f->forward(alpha, x, begin, end);
    }
}

void activation_backward(const struct kernels_cpu *cpu, int act, float alpha, const float *z, const float *dy, float *dz,
                         size_t rows, size_t cols, bool accumulate)
{
    size_t n = rows * cols;
    const struct activation_info *a = activation_info(act);
    if (!a || n == 0)
        return;
    const struct activation_impl *f = &activation_impls[act];
    if (a->per_row) {
        long long r_count = (long long)rows;
#pragma omp parallel for schedule(static) if (n >= ACT_PARALLEL_MIN) num_threads(cpu->threads < 1 ? 1 : cpu->threads)
        for (long long r = 0; r < r_count; r++) {
            size_t o = (size_t)r * cols;
            f->backward_row(z + o, dy + o, dz + o, cols, accumulate);
        }
        return;
    }
    long long chunks = (long long)((n + ACT_CHUNK - 1) / ACT_CHUNK);
#pragma omp parallel for schedule(static) if (n >= ACT_PARALLEL_MIN) num_threads(cpu->threads < 1 ? 1 : cpu->threads)
    for (long long ch = 0; ch < chunks; ch++) {
        size_t begin = (size_t)ch * ACT_CHUNK;
        size_t end = begin + ACT_CHUNK < n ? begin + ACT_CHUNK : n;
        f->backward(alpha, z, dy, dz, begin, end, accumulate);
    }
}
