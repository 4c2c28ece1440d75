#include "graph/graph_plan.h"

#include <stdlib.h>

#include "core/ns_util.h"
#include "kernels/activation.h"

/* A buffer to place: its size and the steps during which it holds a value (inclusive).
 * Steps: forward of the node at order position s is step s; its backward is 2n-1-s. */
struct live {
    size_t size, start, end;
    size_t offset;
    int node;
};

static int by_size_then_start(const void *pa, const void *pb)
{
    const struct live *a = pa, *b = pb;
    if (a->size != b->size)
        return a->size > b->size ? -1 : 1;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return a->node - b->node;
}

static int by_offset(const void *pa, const void *pb)
{
    const struct live *a = *(const struct live *const *)pa, *b = *(const struct live *const *)pb;
    if (a->offset != b->offset)
        return a->offset < b->offset ? -1 : 1;
    return a->node - b->node;
}

/* Greedy placement, largest first, each at the lowest offset clear of every placed buffer
 * whose lifetime overlaps its own. Deterministic: the plan depends on the graph only.
 * Returns the buffer's total size. */
static size_t place(struct live *bufs, size_t count)
{
    qsort(bufs, count, sizeof *bufs, by_size_then_start);
    const struct live **busy = ns_xcalloc(count ? count : 1, sizeof *busy);
    size_t total = 0;
    for (size_t i = 0; i < count; i++) {
        size_t nbusy = 0;
        for (size_t j = 0; j < i; j++)
            if (bufs[j].start <= bufs[i].end && bufs[i].start <= bufs[j].end)
                busy[nbusy++] = &bufs[j];
        qsort(busy, nbusy, sizeof *busy, by_offset);
        size_t offset = 0;
        for (size_t j = 0; j < nbusy; j++) {
            if (busy[j]->offset >= offset + bufs[i].size)
                break; /* fits in the gap before busy[j] */
            size_t end = busy[j]->offset + busy[j]->size;
            offset = end > offset ? end : offset;
        }
        bufs[i].offset = offset;
        total = offset + bufs[i].size > total ? offset + bufs[i].size : total;
    }
    free(busy);
    return total;
}

static void mark_needs_grad(struct graph *g)
{
    for (size_t s = 0; s < g->node_count; s++) {
        int i = g->order[s];
        const struct op_node *node = &g->nodes[i];
        bool need = false;
        for (int t = 0; t < node->tensor_count; t++)
            need = need || node->tensors[t].trainable;
        /* In order, so every input is settled before its consumers. */
        for (int k = 0; k < node->input_count; k++)
            need = need || (node->inputs[k] != OP_MODEL_INPUT && g->needs_grad[node->inputs[k]]);
        g->needs_grad[i] = need;
    }
}

static void plan_mode(struct ns_ctx *ctx, struct graph *g, enum graph_mode mode, const size_t *pos)
{
    size_t n = g->node_count;
    struct graph_plan *p = &g->plan[mode];
    p->act_offset = ns_arena_array(&ctx->arena, size_t, n);
    p->grad_offset = ns_arena_array(&ctx->arena, size_t, n);
    p->grad_start = ns_arena_array(&ctx->arena, int, n);
    struct live *acts = ns_xcalloc(n ? n : 1, sizeof *acts);
    struct live *grads = ns_xcalloc(n ? n : 1, sizeof *grads);
    size_t grad_count = 0;
    bool training = mode == GRAPH_TRAINING;
    for (size_t i = 0; i < n; i++) {
        struct live *a = &acts[i];
        a->node = (int)i;
        a->size = g->nodes[i].out_size;
        a->start = a->end = pos[i];
        size_t back_self = 2 * n - 1 - pos[i];
        /* The output is read by the loss after the forward, and returned to the caller. */
        if ((int)i == g->output_node)
            a->end = training ? back_self : n;
        /* A backward reads its node's inputs and output. */
        if (training && g->needs_grad[i] && back_self > a->end)
            a->end = back_self;
        p->grad_offset[i] = GRAPH_NO_BUFFER;
        p->grad_start[i] = -1;
        /* The output's gradient is the loss's, passed in by the caller. */
        if (training && g->needs_grad[i] && (int)i != g->output_node) {
            /* A node no one reads still runs its backward on a zero gradient. */
            grads[grad_count] = (struct live){.size = g->nodes[i].out_size, .start = back_self,
                                              .end = back_self, .node = (int)i};
            p->grad_start[i] = (int)i;
            grad_count++;
        }
    }
    for (size_t c = 0; c < n; c++) {
        const struct op_node *node = &g->nodes[c];
        size_t back_c = 2 * n - 1 - pos[c];
        for (int k = 0; k < node->input_count; k++) {
            int from = node->inputs[k];
            if (from == OP_MODEL_INPUT)
                continue;
            struct live *a = &acts[from];
            a->end = pos[c] > a->end ? pos[c] : a->end;
            if (training && g->needs_grad[c] && back_c > a->end)
                a->end = back_c;
            if (!training || !g->needs_grad[from])
                continue;
            /* The first backward to accumulate into it starts the gradient's lifetime. */
            for (size_t j = 0; j < grad_count; j++)
                if (grads[j].node == from && back_c < grads[j].start) {
                    grads[j].start = back_c;
                    p->grad_start[from] = (int)c;
                }
        }
    }
    p->act_floats = place(acts, n);
    for (size_t i = 0; i < n; i++)
        p->act_offset[acts[i].node] = acts[i].offset;
    p->grad_floats = place(grads, grad_count);
    for (size_t j = 0; j < grad_count; j++)
        p->grad_offset[grads[j].node] = grads[j].offset;
    free(acts);
    free(grads);
}

/* A relu output read by a maxpool alone: the maxpool's backward applies relu's gradient while
 * it writes its input gradient, which saves the producer a pass over memory. The result is the
 * same select (x > 0 ? g : 0) on the same values, so the bits do not change. */
static void plan_fusions(struct graph *g)
{
    int *readers = ns_xcalloc(g->node_count ? g->node_count : 1, sizeof *readers);
    for (size_t i = 0; i < g->node_count; i++)
        for (int k = 0; k < g->nodes[i].input_count; k++)
            if (g->nodes[i].inputs[k] != OP_MODEL_INPUT)
                readers[g->nodes[i].inputs[k]]++;
    for (size_t i = 0; i < g->node_count; i++) {
        struct op_node *consumer = &g->nodes[i];
        if (!consumer->op->masks_relu_input || consumer->input_count != 1 || consumer->inputs[0] == OP_MODEL_INPUT)
            continue;
        struct op_node *producer = &g->nodes[consumer->inputs[0]];
        if (readers[producer->index] != 1 || producer->index == g->output_node || !producer->op->output_activation
            || producer->op->output_activation(producer) != ACT_RELU)
            continue;
        consumer->relu_mask_input = true;
        producer->output_grad_masked = true;
    }
    free(readers);
}

void graph_plan_build(struct ns_ctx *ctx, struct graph *g)
{
    mark_needs_grad(g);
    plan_fusions(g);
    size_t *pos = ns_xcalloc(g->node_count ? g->node_count : 1, sizeof *pos);
    for (size_t s = 0; s < g->node_count; s++)
        pos[g->order[s]] = s;
    for (int mode = 0; mode < GRAPH_MODE_COUNT; mode++)
        plan_mode(ctx, g, (enum graph_mode)mode, pos);
    free(pos);
}
