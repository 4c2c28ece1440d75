/* The execution graph: the spec's layers lowered to op nodes with shapes, parameter
 * tensors, FLOPs and a memory plan.
 *
 *   struct graph *g = graph_build(ctx, spec, input_shape, class_count);  // NULL + diag on error
 *   for (size_t i = 0; i < g->node_count; i++) g->nodes[i].op->forward(...);
 *
 * One layer is one node (an op's `activation:` is fused into the node). Nodes are in
 * topological order: `from:` may only name earlier layers. Parameters of all nodes are one
 * flat float buffer of g->param_floats; node i's tensor t starts at nodes[i].tensor_offset[t].
 * Gradients and optimizer state use the same layout. Activations of a batch of N samples are
 * one buffer of N * g->activation_floats; node i's output starts at N * nodes[i].act_offset
 * and is (N, nodes[i].out_size) row-major. Everything lives in ctx->arena.
 */
#ifndef GRAPH_H
#define GRAPH_H

#include <stddef.h>

#include "core/ns_ctx.h"
#include "ops/op.h"
#include "spec/spec.h"

struct graph {
    size_t node_count;
    struct op_node *nodes;
    struct spec_shape input_shape;
    size_t input_size;      /* floats per sample */
    int class_count;
    int output_node;        /* the last node: the model's output */
    size_t param_floats;    /* all tensors, trainable or not */
    size_t trainable_params;
    size_t activation_floats; /* per sample, all node outputs */
    size_t saved_floats;      /* per sample, all nodes */
    double flops;             /* forward, per sample */
};

struct graph *graph_build(struct ns_ctx *ctx, const struct spec *spec, struct spec_shape input, int class_count);

#endif
