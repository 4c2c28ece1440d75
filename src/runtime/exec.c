#include "runtime/exec.h"

#include <stdlib.h>
#include <string.h>

#include "core/ns_util.h"
#include "kernels/gemm.h"
#include "kernels/kernels_cpu.h"

struct exec {
    const struct graph *g;
    int max_batch;
    struct kernels_cpu cpu; /* for the kernels: exec_set_threads / exec_set_isa (the context's) */
    int batch;              /* of the last forward */
    struct exec_run run;    /* of the last forward, repeated in backward */
    const float *x;         /* the last forward's input (borrowed) */
    const struct graph_plan *plan; /* the graph's plan for the mode the executor was made for */
    float *act;             /* (max_batch * plan->act_floats) */
    float *d_act;           /* (max_batch * plan->grad_floats): gradients of the node outputs */
    float *saved;           /* (max_batch * saved_floats) */
    float *scratch;         /* the largest scratch any op asks for at max_batch */
    struct gemm_workspace gemm_work; /* GEMM packing space for cpu.threads threads */
};

static float *alloc_floats(size_t n)
{
    return n ? ns_xcalloc(n, sizeof(float)) : NULL;
}

struct exec *exec_new_mode(const struct graph *g, int max_batch, enum graph_mode mode)
{
    struct exec *ex = ns_xcalloc(1, sizeof *ex);
    ex->g = g;
    ex->plan = &g->plan[mode];
    ex->max_batch = max_batch < 1 ? 1 : max_batch;
    ex->cpu.threads = 1;
    ex->cpu.isa = kernels_isa_resolve(KERNELS_ISA_AUTO);
    size_t cap = (size_t)ex->max_batch;
    ex->act = alloc_floats(cap * ex->plan->act_floats);
    ex->d_act = alloc_floats(cap * ex->plan->grad_floats);
    ex->saved = alloc_floats(cap * g->saved_floats);
    ex->scratch = alloc_floats(graph_scratch_floats(g, ex->max_batch));
    exec_set_threads(ex, 1);
    return ex;
}

struct exec *exec_new(const struct graph *g, int max_batch)
{
    return exec_new_mode(g, max_batch, GRAPH_TRAINING);
}

void exec_free(struct exec *ex)
{
    if (!ex)
        return;
    free(ex->act);
    free(ex->d_act);
    free(ex->saved);
    free(ex->scratch);
    free(ex->gemm_work.floats);
    free(ex);
}

void exec_set_threads(struct exec *ex, int threads)
{
    ex->cpu.threads = threads < 1 ? 1 : threads;
    size_t floats = kernels_gemm_workspace_floats(ex->cpu.threads);
    if (floats != ex->gemm_work.count) {
        free(ex->gemm_work.floats);
        ex->gemm_work.floats = ns_xmalloc(floats * sizeof *ex->gemm_work.floats);
        ex->gemm_work.count = floats;
    }
}

void exec_set_isa(struct exec *ex, int isa)
{
    ex->cpu.isa = kernels_isa_resolve(isa > KERNELS_ISA_AUTO && isa < KERNELS_ISA_COUNT ? (enum kernels_isa)isa
                                                                                       : KERNELS_ISA_AUTO);
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
    return ex->act + (size_t)ex->batch * ex->plan->act_offset[from];
}

static void fill_common(const struct exec *ex, const struct op_node *node, float *params,
                        struct op_run_args *args)
{
    size_t n = (size_t)ex->batch;
    args->node = node;
    args->batch = ex->batch;
    args->cpu = ex->cpu;
    args->gemm_work = ex->gemm_work;
    for (int k = 0; k < node->input_count; k++)
        args->inputs[k] = node_input(ex, node, k);
    args->output = ex->act + n * ex->plan->act_offset[node->index];
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
    for (size_t s = 0; s < g->node_count; s++) {
        const struct op_node *node = &g->nodes[g->order[s]];
        struct op_run_args args = {0};
        fill_common(ex, node, params, &args);
        node->op->forward(&args);
    }
    return ex->act + (size_t)n * ex->plan->act_offset[g->output_node];
}

void exec_backward(struct exec *ex, float *params, const float *d_output, float *grads)
{
    const struct graph *g = ex->g;
    const struct graph_plan *p = ex->plan;
    size_t n = (size_t)ex->batch;
    for (size_t s = g->node_count; s-- > 0;) {
        int i = g->order[s];
        const struct op_node *node = &g->nodes[i];
        if (!g->needs_grad[i])
            continue;
        struct op_run_args args = {0};
        fill_common(ex, node, params, &args);
        args.d_output = i == g->output_node ? d_output : ex->d_act + n * p->grad_offset[i];
        for (int k = 0; k < node->input_count; k++) {
            int from = node->inputs[k];
            bool want = from != OP_MODEL_INPUT && g->needs_grad[from];
            args.d_inputs[k] = want ? ex->d_act + n * p->grad_offset[from] : NULL;
        }
        /* Ops accumulate into their inputs' gradients (a node may feed several consumers), and
         * a gradient's buffer may have held another's: where its lifetime starts it is zeroed,
         * or handed to an op that writes it whole as fresh (once, for its first such input). */
        for (size_t j = 0; j < g->node_count; j++) {
            if (p->grad_start[j] != i)
                continue;
            int fresh_at = -1;
            for (int k = 0; node->op->fills_fresh_gradients && k < node->input_count && fresh_at < 0; k++)
                if (node->inputs[k] == (int)j)
                    fresh_at = k;
            if (fresh_at >= 0)
                args.d_inputs_fresh[fresh_at] = true;
            else
                memset(ex->d_act + n * p->grad_offset[j], 0, n * g->nodes[j].out_size * sizeof *ex->d_act);
        }
        for (int t = 0; t < node->tensor_count; t++)
            args.d_tensors[t] = node->tensors[t].trainable ? grads + node->tensor_offset[t] : NULL;
        node->op->backward(&args);
    }
}
