/* The executor: a graph's forward pass over a batch, and its backward pass in reverse order.
 *
 *   struct exec *ex = exec_new(g, batch_size);
 *   exec_set_threads(ex, ctx->threads);                        // else the kernels use 1 thread
 *   exec_set_isa(ex, ctx->isa);                                // else the best the CPU has
 *   struct exec_run run = {.training = true, .rng_key = key, .sample_ids = ids};
 *   const float *out = exec_forward(ex, params, x, n, &run);   // (n, output size)
 *   exec_backward(ex, params, d_out, grads);                   // grads (param_floats): batch sums
 *   exec_free(ex);
 *
 * The executor owns the activation, saved, activation-gradient and scratch buffers, each
 * allocated once from the graph's plan (graph.h) for max_batch samples; the caller owns
 * parameters and gradients (the flat layout of graph.h). exec_new follows the training plan
 * (forward and backward); exec_new_mode(g, n, GRAPH_INFERENCE) the smaller forward-only plan. It runs the nodes one after another: parallelism lives inside
 * the ops and kernels, which are deterministic, so results never depend on the thread count.
 * The thread count is the executor's (op_run_args.threads hands it to every op and kernel);
 * nothing reads or sets OpenMP's global count.
 */
#ifndef EXEC_H
#define EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "graph/graph.h"

struct exec_run {
    bool training;              /* dropout active, batchnorm on batch statistics */
    uint64_t rng_key;           /* (seed, stream "dropout", epoch) mixed; ops add node and sample */
    const uint32_t *sample_ids; /* (n) global index of each row, or NULL (= row number) */
};

struct exec;

struct exec *exec_new(const struct graph *g, int max_batch);
/* GRAPH_INFERENCE: forward only (exec_backward must not be called). */
struct exec *exec_new_mode(const struct graph *g, int max_batch, enum graph_mode mode);
void exec_free(struct exec *ex);
/* The OpenMP threads the ops and kernels may use from now on (below 1: 1; the default is 1);
 * the caller passes its context's ctx->threads. Results do not depend on it. */
void exec_set_threads(struct exec *ex, int threads);
/* The kernels' instruction set (enum kernels_isa; the default and KERNELS_ISA_AUTO: the best
 * this CPU has); the caller passes its context's ctx->isa. Results do not depend on it. */
void exec_set_isa(struct exec *ex, int isa);
int exec_max_batch(const struct exec *ex);
/* Runs every node on x (n, g->input_size), n <= max_batch. params is not const: a training
 * forward updates non-trainable tensors (running statistics). Returns the output node's
 * activations (n, out_size), valid until the next call. */
const float *exec_forward(struct exec *ex, float *params, const float *x /* (n, input size) */, int n,
                          const struct exec_run *run);
/* Backpropagates d_output (n, out_size) through the last forward (same n and run). Every
 * trainable tensor's slot in grads is overwritten with its gradient summed over the batch;
 * slots of non-trainable tensors are left as they are. */
void exec_backward(struct exec *ex, float *params, const float *d_output, float *grads);

#endif
