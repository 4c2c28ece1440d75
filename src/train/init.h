/* Parameter initialisation from the seed.
 *
 *   init_params(g, spec->seed, params);   // params: (g->param_floats)
 *
 * Every value is a pure function of (seed, stream "init", node, tensor, element) through the
 * counter-based generator in kernels/rng.h, so it does not depend on the order of the work,
 * on threads, or on other tensors' sizes. Constant tensors (biases, batchnorm) take their
 * init_value. Scales: he_normal sqrt(2 / fan_in), he_uniform limit sqrt(6 / fan_in),
 * glorot_normal sqrt(2 / (fan_in + fan_out)), glorot_uniform limit sqrt(6 / (fan_in + fan_out)),
 * lecun_normal sqrt(1 / fan_in); normals are untruncated.
 */
#ifndef INIT_H
#define INIT_H

#include <stdint.h>

#include "graph/graph.h"

/* The key of a named random stream ("init", "split", "shuffle", "dropout", "augment") at
 * `counter` (the epoch, or 0). */
uint64_t init_stream_key(uint64_t seed, const char *stream, uint64_t counter);
void init_params(const struct graph *g, uint64_t seed, float *params);
/* Fills one tensor as init_params does for tensor `tensor_key`. */
void init_tensor(const struct op_tensor_desc *desc, uint64_t tensor_key, float *out);

#endif
