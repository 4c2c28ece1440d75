/* The activation functions, shared by dense and conv2d (fused into their output), by the
 * activation and softmax ops, by `netspec predict` and, as C text, by the emitted classifier.
 *
 *   activation_forward(cpu, ACT_RELU, ACTIVATION_LEAKY_ALPHA, y, rows, cols);   // in place
 *   activation_backward(cpu, ACT_RELU, alpha, z, dy, dz, rows, cols, false);   // dz = dy*f'(z)
 *   const struct activation_info *a = activation_info(ACT_GELU);   // flops, init, C text
 *
 * kernels/activations.def is the one list: each row gives a function's forward, gradient,
 * FLOPs, default initializer and the C text of its forward, and everything here is generated
 * from it; nothing else switches on an activation. Data is (rows, cols) row-major; every
 * function but softmax is elementwise, softmax is taken over each row (the last axis: channels
 * of an NHWC image, or the features of a vector). Backward takes the pre-activation z, the one
 * value every derivative can be computed from. `cpu` carries the caller's thread count (the
 * context's; below 1 counts as 1); results do not depend on it. The table is static and read-only: nothing to free.
 */
#ifndef ACTIVATION_H
#define ACTIVATION_H

#include <stdbool.h>
#include <stddef.h>

#include "kernels/kernels_cpu.h"

/* Every activation, in the order of activations.def (spec/spec_schema.c names them so). */
enum activation_kind {
#define ACTIVATION(name, ID, identity, flops, init, forward, gradient) ACT_##ID,
#define ACTIVATION_ROW(name, ID, flops, init, forward, gradient) ACT_##ID,
#include "kernels/activations.def"
#undef ACTIVATION
#undef ACTIVATION_ROW
    ACT_COUNT
};

/* The weight initializer a layer gets from its activation when it says `init: auto`. */
enum activation_init {
    ACTIVATION_INIT_GLOROT, /* glorot_uniform */
    ACTIVATION_INIT_HE,     /* he_normal: relu-like functions */
};

/* The leaky_relu slope when the activation is fused into dense or conv2d. */
#define ACTIVATION_LEAKY_ALPHA 0.01f

/* One row of activations.def. */
struct activation_info {
    const char *name;         /* as the spec writes it: "leaky_relu" */
    bool identity;            /* linear: forward and backward have nothing to do */
    bool per_row;             /* softmax: a function of the whole row, not of each element */
    double flops;             /* forward FLOPs per element, roughly, for the layer table */
    enum activation_init init;
    /* The C text of the forward's body: of `float f(float x, float alpha)` or, per_row, of
     * `void f(float *x, size_t cols)`. The runtime compiles the same text (see the .def). */
    const char *forward_c;
};

/* The row of act; NULL when act is not an activation. */
const struct activation_info *activation_info(int act);

/* true when backward needs the pre-activation (everything but linear). */
bool activation_needs_input(int act);
/* true when a layer must save the pre-activation for backward; false when the gradient can be
 * computed from the layer's output instead (relu: relu(z) > 0 exactly when z > 0, NaN and -0
 * included, so its gradient from the output is the same bits). Saves a copy of every relu
 * layer's output in training (memory and a pass over it). */
bool activation_saves_input(int act);
/* x = f(x), in place; x is (rows, cols). */
void activation_forward(const struct kernels_cpu *cpu, int act, float alpha, float *x, size_t rows, size_t cols);
/* dz = dy * f'(z) (or dz += ... when accumulate); z, dy, dz are (rows, cols); dz may alias dy
 * when not accumulating. */
void activation_backward(const struct kernels_cpu *cpu, int act, float alpha, const float *z, const float *dy, float *dz,
                         size_t rows, size_t cols, bool accumulate);
/* Forward FLOPs per element, roughly, for the layer table. */
double activation_flops(int act);
/* The softmax of one row x (cols), in place: the runtime's, predict's and the emitted code's. */
void activation_softmax_row(float *x, size_t cols);

#endif
