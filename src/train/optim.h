/* Optimizers over the flat parameter buffer: sgd (momentum, nesterov, L2 weight decay), adam
 * and adamw (decoupled weight decay).
 *
 *   size_t count;
 *   struct optim_tensor *t = optim_tensors_from_graph(g, &count);
 *   struct optim o;
 *   optim_init(&o, &spec->optimizer, g->param_floats, t, count);   // copies t
 *   optim_step(&o, params, grads, lr);                             // once per batch
 *   optim_free(&o); free(t);
 *
 * Only trainable tensors move; weight decay touches tensors named "weight" only (never biases
 * or batchnorm parameters). The optimizer owns its state (m, v: the parameter layout; NULL when
 * the method keeps none) and counts its steps; checkpoints save both.
 * sgd (as PyTorch): g += wd w; b = momentum b + g; g = nesterov ? g + momentum b : b; w -= lr g.
 * adam/adamw: the schema documents weight_decay as decoupled for both (w -= lr wd w, before the
 * step); adam defaults to 0 and adamw to 0.01. m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * w -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps).
 * Every element is updated on its own, in float with scalars prepared in double, so the result
 * does not depend on how the loop is split across threads.
 */
#ifndef OPTIM_H
#define OPTIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "graph/graph.h"
#include "spec/spec.h"

struct optim_tensor {
    size_t offset, size; /* in the flat parameter buffer */
    bool decay;          /* weight decay applies ("weight" tensors) */
};

struct optim {
    int type; /* enum spec_optimizer_type */
    double momentum, weight_decay, beta1, beta2, eps;
    bool nesterov;
    size_t param_floats;
    size_t tensor_count;
    struct optim_tensor *tensors; /* owned; trainable tensors only */
    float *m;                     /* (param_floats) momentum / first moment, or NULL */
    float *v;                     /* (param_floats) second moment, or NULL */
    uint64_t step;                /* steps taken */
};

/* The trainable tensors of g (malloc'd array; *count set). */
struct optim_tensor *optim_tensors_from_graph(const struct graph *g, size_t *count);
void optim_init(struct optim *o, const struct spec_optimizer *cfg, size_t param_floats,
                const struct optim_tensor *tensors, size_t tensor_count);
void optim_free(struct optim *o);
/* Floats of state in m and in v (0 when absent), for checkpoints. */
size_t optim_m_floats(const struct optim *o);
size_t optim_v_floats(const struct optim *o);
/* One update of params from grads (both (param_floats)) at learning rate lr. */
void optim_step(struct optim *o, float *params, const float *grads, double lr);

#endif
