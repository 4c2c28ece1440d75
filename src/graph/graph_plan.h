/* The memory plan graph_build makes (graph.h describes what it holds): which nodes need
 * gradients, and where each activation and activation gradient lives.
 *
 *   graph_plan_build(ctx, g);   // after shapes: fills g->needs_grad and g->plan[]
 *
 * Called by graph_build only; the plan's arrays live in ctx->arena with the graph.
 */
#ifndef GRAPH_PLAN_H
#define GRAPH_PLAN_H

#include "graph/graph.h"

void graph_plan_build(struct ns_ctx *ctx, struct graph *g);

#endif
