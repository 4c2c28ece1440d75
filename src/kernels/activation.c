#include "kernels/activation.h"

#include "kernels/isa_loops.h"
#include "kernels/nsk.h"

/* Below this many elements a parallel region costs more than it saves. */
enum { ACT_PARALLEL_MIN = 1 << 15 };
/* Elements per parallel chunk; a fixed split, so the work per element never depends on it. */
enum { ACT_CHUNK = 1 << 14 };
/* The row's forward body, kept as text for the emitter. */
#define ACTIVATION_TEXT(...) #__VA_ARGS__

static const struct activation_info activation_table[] = {
#define ACTIVATION(name, ID, identity, flops, init, forward, gradient)                           \
    {#name, identity, false, flops, ACTIVATION_INIT_##init, ACTIVATION_TEXT(forward)},
#define ACTIVATION_ROW(name, ID, flops, init, forward, gradient)                                 \
    {#name, false, true, flops, ACTIVATION_INIT_##init, ACTIVATION_TEXT(forward)},
#include "kernels/activations.def"
#undef ACTIVATION
#undef ACTIVATION_ROW
};

_Static_assert(sizeof activation_table / sizeof *activation_table == ACT_COUNT,
               "activation_table must hold one row per line of activations.def");

const struct activation_info *activation_info(int act)
{
    return act >= 0 && act < ACT_COUNT ? &activation_table[act] : NULL;
}

bool activation_needs_input(int act)
{
    const struct activation_info *a = activation_info(act);
    return a && !a->identity;
}

bool activation_saves_input(int act)
{
    return activation_needs_input(act) && act != ACT_RELU;
}

double activation_flops(int act)
{
    const struct activation_info *a = activation_info(act);
    return a ? a->flops : 0;
}

void activation_softmax_row(float *x, size_t cols)
{
    nsk_softmax_row(x, cols);
}

void activation_forward(const struct kernels_cpu *cpu, int act, float alpha, float *x, size_t rows, size_t cols)
{
    size_t n = rows * cols;
    const struct activation_info *a = activation_info(act);
    if (!a || a->identity || n == 0)
        return;
    const struct activation_impl *f = &isa_loops_pick(cpu)->activations[act];
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
    const struct activation_impl *f = &isa_loops_pick(cpu)->activations[act];
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
