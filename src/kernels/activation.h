/* The activation functions, shared by dense and conv2d (fused into their output) and by the
 * activation and softmax ops.
 *
 *   activation_forward(ACT_RELU, ACTIVATION_LEAKY_ALPHA, y, rows, cols);          // in place
 *   activation_backward(ACT_RELU, alpha, z, dy, dz, rows, cols, false);            // dz = dy*f'(z)
 *
 * Data is (rows, cols) row-major; every function but softmax is elementwise, softmax is taken
 * over each row (the last axis: channels of an NHWC image, or the features of a vector).
 * Backward takes the pre-activation z, the one value every activation's derivative can be
 * computed from; gelu is the tanh approximation 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3))).
 */
#ifndef ACTIVATION_H
#define ACTIVATION_H

#include <stdbool.h>
#include <stddef.h>

/* Every activation; spec/spec_schema.c names them in this order. */
enum activation_kind { ACT_LINEAR, ACT_RELU, ACT_LEAKY_RELU, ACT_SIGMOID, ACT_TANH, ACT_GELU, ACT_SOFTMAX, ACT_COUNT };

/* The leaky_relu slope when the activation is fused into dense or conv2d. */
#define ACTIVATION_LEAKY_ALPHA 0.01f

/* true when backward needs the pre-activation (everything but linear). */
bool activation_needs_input(int act);
/* x = f(x), in place; x is (rows, cols). */
void activation_forward(int act, float alpha, float *x, size_t rows, size_t cols);
/* dz = dy * f'(z) (or dz += ... when accumulate); z, dy, dz are (rows, cols); dz may alias dy
 * when not accumulating. */
void activation_backward(int act, float alpha, const float *z, const float *dy, float *dz,
                         size_t rows, size_t cols, bool accumulate);
/* Forward FLOPs per element, roughly, for the layer table. */
double activation_flops(int act);

#endif
