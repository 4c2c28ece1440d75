/* Optimizers over the flat parameter buffer: sgd (momentum, nesterov, L2 weight decay), adam
 * and adamw (decoupled weight decay).
 *
 *   size_t count;
 *   struct optim_tensor *t = optim_tensors_from_graph(g, &count);
 *   struct optim o;
 *   optim_init(&o, &spec->optimizer, g->param_floats, t, count);   // copies t
 *   optim_step(&o, &cpu, params, grads, lr);                       // once per batch
 *   optim_free(&o); free(t);
 *
 * Only trainable tensors move; weight decay touches tensors named "weight" only (never biases
 * or batchnorm parameters). The optimizer owns its state (m, v: the parameter layout; NULL when
 * the method keeps none) and counts its steps; checkpoints save both.
 * sgd (as PyTorch): g += wd w; b = momentum b + g; g = nesterov ? g + momentum b : b; w -= lr g.
 * adam/adamw: the schema documents weight_decay as decoupled for both (w -= lr wd w, before the
 * step); adam defaults to 0 and adamw to 0.01. m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * w -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps).
 * Every element is updated on its own, in float with scalars prepared in double (plain IEEE
 * operations, no fused multiply-add), so the result does not depend on how the parameters are
 * split across threads (fixed chunks of OPTIM_CHUNK) nor on the vector width (4, 8 or 16).
 * Every stored value (w, m, v, the momentum buffer) below FLT_MIN in magnitude is flushed to +0: subnormal
 * state slows some CPUs several-fold and carries no weight change (optim.c says why).
 */
#ifndef OPTIM_H
#define OPTIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "graph/graph.h"
#include "kernels/kernels_cpu.h"
#include "spec/spec.h"

struct optim_tensor {
    size_t offset, size; /* in the flat parameter buffer */
    bool decay;          /* weight decay applies ("weight" tensors) */
};

/* Parameters per unit of parallel work: a constant, so the split never depends on the thread
 * count (it could not change a result anyway: elements are independent). */
enum { OPTIM_CHUNK = 4096 };

struct optim_chunk {
    size_t tensor;      /* index in optim.tensors */
    size_t begin, size; /* floats within that tensor */
};

struct optim {
    int type; /* enum spec_optimizer_type */
    double momentum, weight_decay, beta1, beta2, eps;
    bool nesterov;
    size_t param_floats;
    size_t tensor_count;
    struct optim_tensor *tensors; /* owned; trainable tensors only */
    size_t chunk_count;
    struct optim_chunk *chunks;   /* owned; the tensors cut into pieces of OPTIM_CHUNK at most */
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
/* One update of params from grads (both (param_floats)) at learning rate lr, on up to
 * cpu->threads OpenMP threads with cpu->isa's vectors (the context's); the result is the same
 * on any thread count and ISA. */
void optim_step(struct optim *o, const struct kernels_cpu *cpu, float *params, const float *grads, double lr);

#endif
