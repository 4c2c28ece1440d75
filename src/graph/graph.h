/* The execution graph: the spec's layers lowered to op nodes, wired, shaped and planned. It is
 * the one plan that exec, emit, checkpoints and the memory estimate read.
 *
 *   struct graph *g = graph_build(ctx, spec, input_shape, class_count);  // NULL + diag on error
 *   if (!graph_check_output(ctx, spec, g, class_count)) ...               // output vs data, loss
 *   const struct graph_plan *p = &g->plan[GRAPH_INFERENCE];
 *   for (size_t s = 0; s < g->node_count; s++) { int i = g->order[s]; ... g->nodes[i] ... }
 *   float *out = act + batch * p->act_offset[g->output_node];           // act: batch * act_floats
 *
 * graph_build resolves `from:` names to node indices (errors located at the name), records a
 * topological execution order, infers shapes, counts parameters and FLOPs, marks which nodes
 * need gradients and plans memory. One layer is one node (an op's `activation:` is fused).
 *
 * Buffers, all per sample unless said otherwise, each one flat allocation that its user owns:
 * - parameters: g->param_floats; node i's tensor t starts at nodes[i].tensor_offset[t].
 *   Gradients and optimizer state use the same layout (owned by train/).
 * - activations: plan.act_floats; node i's output is (N, out_size) row-major at
 *   N * plan.act_offset[i]. Buffers are shared where lifetimes do not overlap, so an output
 *   is only valid during its lifetime (inference: until its last consumer ran; training:
 *   until the last backward that reads it). The output node's output is valid until the next
 *   forward.
 * - saved (training): g->saved_floats; node i's at N * nodes[i].saved_offset.
 * - activation gradients (training): plan.grad_floats; node i's at N * plan.grad_offset[i]
 *   (GRAPH_NO_BUFFER when nothing reads it). Ops accumulate into them with +=, so the executor
 *   zeroes node i's gradient just before the backward of node plan.grad_start[i] runs.
 * - scratch: graph_scratch_floats(g, N), shared by every op in turn.
 * Everything graph_build returns lives in ctx->arena (owned by the ctx, freed with it).
 */
#ifndef GRAPH_H
#define GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ns_ctx.h"
#include "ops/op.h"
#include "spec/spec.h"

enum graph_mode { GRAPH_INFERENCE, GRAPH_TRAINING, GRAPH_MODE_COUNT };

#define GRAPH_NO_BUFFER SIZE_MAX

/* Where each node's output (and, in training, its output's gradient) lives. */
struct graph_plan {
    size_t act_floats;   /* per sample: the activation buffer */
    size_t *act_offset;  /* (node_count) per-sample offset of node i's output */
    size_t grad_floats;  /* per sample: the activation-gradient buffer (training; 0 otherwise) */
    size_t *grad_offset; /* (node_count) or GRAPH_NO_BUFFER */
    int *grad_start;     /* (node_count) node whose backward first accumulates into it, or -1 */
};

struct graph {
    size_t node_count;
    struct op_node *nodes;
    int *order;             /* (node_count) topological execution order: forward runs it first
                               to last, backward last to first */
    bool *needs_grad;       /* (node_count) a trainable tensor is at or upstream of the node,
                               so its backward must run */
    struct spec_shape input_shape;
    size_t input_size;      /* floats per sample */
    int class_count;
    int output_node;        /* the last node: the model's output */
    size_t param_floats;    /* all tensors, trainable or not */
    size_t trainable_params;
    size_t activation_floats; /* per sample, the sum of all node outputs (unplanned) */
    size_t saved_floats;      /* per sample, all nodes */
    double flops;             /* forward, per sample */
    struct graph_plan plan[GRAPH_MODE_COUNT];
};

struct graph *graph_build(struct ns_ctx *ctx, const struct spec *spec, struct spec_shape input, int class_count);

/* The largest scratch any node asks for at `batch` samples (floats, not per sample). */
size_t graph_scratch_floats(const struct graph *g, int batch);

/* Checks the model's output against the data and the loss: a vector, as wide as the classes
 * (or 1 for regression and for binary cross-entropy on two classes). False + located diag. */
bool graph_check_output(struct ns_ctx *ctx, const struct spec *spec, const struct graph *g,
                        int class_count);

#endif
