#include "runtime/exec.h"

#include <stdlib.h>
#include <string.h>

#include "core/ns_util.h"

struct exec {
    const struct graph *g;
    int max_batch;
    int threads;            /* for the kernels, from exec_set_threads (the context's) */
    int batch;              /* of the last forward */
    struct exec_run run;    /* of the last forward, repeated in backward */
    const float *x;         /* the last forward's input (borrowed) */
    float *act;             /* (max_batch * activation_floats) */
    float *d_act;           /* same layout: gradients of the node outputs */
    float *saved;           /* (max_batch * saved_floats) */
    float *scratch;         /* the largest scratch any op asks for at max_batch */
    size_t scratch_floats;
    bool *needs_grad;       /* (node_count) a trainable tensor is at or upstream of the node */
};

static float *alloc_floats(size_t n)
{
    return n ? ns_xcalloc(n, sizeof(float)) : NULL;
}

struct exec *exec_new(const struct graph *g, int max_batch)
{
    struct exec *ex = ns_xcalloc(1, sizeof *ex);
    ex->g = g;
    ex->max_batch = max_batch < 1 ? 1 : max_batch;
    ex->threads = 1;
    size_t cap = (size_t)ex->max_batch;
    ex->act = alloc_floats(cap * g->activation_floats);
    ex->d_act = alloc_floats(cap * g->activation_floats);
    ex->saved = alloc_floats(cap * g->saved_floats);
    ex->needs_grad = ns_xcalloc(g->node_count ? g->node_count : 1, sizeof *ex->needs_grad);
    for (size_t i = 0; i < g->node_count; i++) {
        const struct op_node *node = &g->nodes[i];
        if (node->op->scratch_floats) {
            size_t s = node->op->scratch_floats(node, ex->max_batch);
            if (s > ex->scratch_floats)
                ex->scratch_floats = s;
        }
        /* Nodes are in topological order, so inputs are settled before their consumers. */
        bool need = false;
        for (int t = 0; t < node->tensor_count; t++)
            need = need || node->tensors[t].trainable;
        for (int k = 0; k < node->input_count; k++)
            need = need || (node->inputs[k] != OP_MODEL_INPUT && ex->needs_grad[node->inputs[k]]);
        ex->needs_grad[i] = need;
    }
    ex->scratch = alloc_floats(ex->scratch_floats);
    return ex;
}

void exec_free(struct exec *ex)
{
    if (!ex)
        return;
    free(ex->act);
    free(ex->d_act);
    free(ex->saved);
    free(ex->scratch);
    free(ex->needs_grad);
    free(ex);
}

void exec_set_threads(struct exec *ex, int threads)
{
    ex->threads = threads < 1 ? 1 : threads;
}

int exec_max_batch(const struct exec *ex)
{
    return ex->max_batch;
}

static const float *node_input(const struct exec *ex, const struct op_node *node, int k)
{
    int from = node->inputs[k];
    if (from == OP_MODEL_INPUT)
        return ex->x;
    return ex->act + (size_t)ex->batch * ex->g->nodes[from].act_offset;
}

static void fill_common(const struct exec *ex, const struct op_node *node, float *params,
                        struct op_run_args *args)
{
    size_t n = (size_t)ex->batch;
    args->node = node;
    args->batch = ex->batch;
    args->threads = ex->threads;
    for (int k = 0; k < node->input_count; k++)
        args->inputs[k] = node_input(ex, node, k);
    args->output = ex->act + n * node->act_offset;
    for (int t = 0; t < node->tensor_count; t++)
        args->tensors[t] = params + node->tensor_offset[t];
    args->saved = node->saved_floats ? ex->saved + n * node->saved_offset : NULL;
    args->training = ex->run.training;
    args->rng_key = ex->run.rng_key;
    args->sample_ids = ex->run.sample_ids;
    args->scratch = ex->scratch;
}

const float *exec_forward(struct exec *ex, float *params, const float *x, int n,
                          const struct exec_run *run)
{
    const struct graph *g = ex->g;
    ex->batch = n;
    ex->run = *run;
    ex->x = x;
    for (size_t i = 0; i < g->node_count; i++) {
        const struct op_node *node = &g->nodes[i];
        struct op_run_args args = {0};
        fill_common(ex, node, params, &args);
        node->op->forward(&args);
    }
    return ex->act + (size_t)n * g->nodes[g->output_node].act_offset;
}

void exec_backward(struct exec *ex, float *params, const float *d_output, float *grads)
{
    const struct graph *g = ex->g;
    size_t n = (size_t)ex->batch;
    /* Ops accumulate into their inputs' gradients (a node may feed several consumers). */
    if (g->activation_floats)
        memset(ex->d_act, 0, n * g->activation_floats * sizeof *ex->d_act);
    for (size_t i = g->node_count; i-- > 0;) {
        const struct op_node *node = &g->nodes[i];
        if (!ex->needs_grad[i])
            continue;
        struct op_run_args args = {0};
        fill_common(ex, node, params, &args);
        args.d_output = (int)i == g->output_node ? d_output : ex->d_act + n * node->act_offset;
        for (int k = 0; k < node->input_count; k++) {
            int from = node->inputs[k];
            bool want = from != OP_MODEL_INPUT && ex->needs_grad[from];
            args.d_inputs[k] = want ? ex->d_act + n * g->nodes[from].act_offset : NULL;
        }
        for (int t = 0; t < node->tensor_count; t++)
            args.d_tensors[t] = node->tensors[t].trainable ? grads + node->tensor_offset[t] : NULL;
        node->op->backward(&args);
    }
}
