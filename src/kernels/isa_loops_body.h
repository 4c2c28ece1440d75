/* The text of struct isa_loops (kernels/isa_loops.h), compiled once per ISA: the including
 * file defines ISA_LOOPS_NAME, the name of its struct. Each row of activations.def becomes its
 * scalar functions and, for elementwise rows, one forward and one backward loop, so every
 * function's loop is its own and the simple ones vectorise. */
#ifndef ISA_LOOPS_NAME
#error "define ISA_LOOPS_NAME (the struct's name) before including isa_loops_body.h"
#endif

#include <string.h>

#include "kernels/isa_loops.h"
#include "kernels/nsk.h"

/* Gradients are formed in a stack block before they are stored or added. */
enum { ACT_BLOCK = 256 };

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

static void isa_affine_rows(const float *x, const float *scale, const float *shift, size_t rows, size_t cols,
                            float *y)
{
    nsk_affine_cols(x, scale, shift, rows, cols, y);
}

const struct isa_loops ISA_LOOPS_NAME = {
    .activations = {
#define ACTIVATION(name, ID, identity, flops, init, forward, gradient)                           \
        {activation_forward_##name, activation_backward_##name, NULL, NULL},
#define ACTIVATION_ROW(name, ID, flops, init, forward, gradient)                                 \
        {NULL, NULL, activation_f_##name, activation_g_##name},
#include "kernels/activations.def"
#undef ACTIVATION
#undef ACTIVATION_ROW
    },
    .affine_rows = isa_affine_rows,
};
