#include "graph/graph.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/ns_util.h"
#include "graph/graph_plan.h"

static void shape_chain_hint(struct ns_diag *diag, const struct graph *g, size_t upto)
{
    /* A shape error is easier to fix when the user sees how the shape got there. */
    if (!diag->count)
        return;
    struct ns_buf chain = {0};
    char text[48];
    op_shape_format(&g->input_shape, text);
    ns_buf_printf(&chain, "shapes: input %s", text);
    for (size_t s = 0; s < upto; s++) {
        const struct op_node *node = &g->nodes[g->order[s]];
        op_shape_format(&node->out_shape, text);
        ns_buf_printf(&chain, " -> %s %s", node->name, text);
    }
    ns_diag_hint(diag, "%s", chain.data);
    ns_buf_free(&chain);
}

static void error_at(struct ns_ctx *ctx, const struct spec_node *node, const char *hint,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void error_at(struct ns_ctx *ctx, const struct spec_node *node, const char *hint,
                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ns_diag_vadd(&ctx->diag, NS_ERR_SPEC, spec_node_loc(node), hint, fmt, ap);
    va_end(ap);
}

/* Layer names must be unique for `from:` to mean one thing. */
static bool check_names(struct ns_ctx *ctx, const struct spec_model *model)
{
    bool ok = true;
    for (size_t i = 0; i < model->layer_count; i++) {
        const struct spec_layer *layer = &model->layers[i];
        for (size_t j = 0; layer->name && j < i; j++)
            if (model->layers[j].name && !strcmp(model->layers[j].name, layer->name)) {
                const struct spec_node *at = spec_tree_get(layer->params_node, "name");
                error_at(ctx, at ? at : layer->node, NULL,
                         "layer name \"%s\" is already used by layer %zu", layer->name, j);
                ok = false;
            }
    }
    return ok;
}

/* One `from:` name to a node index: -1 for the model input, -2 when it names nothing. */
static int find_layer(const struct spec_model *model, const char *want)
{
    if (!strcmp(want, "input"))
        return -1;
    for (size_t j = 0; j < model->layer_count; j++)
        if (model->layers[j].name && !strcmp(model->layers[j].name, want))
            return (int)j;
    return -2;
}

/* `from:` names resolved to node indices; without `from:` a layer reads the one before.
 * Layers run in the order written, so a name must be of an earlier layer (or "input"). */
static bool wire(struct ns_ctx *ctx, const struct spec_model *model, struct graph *g)
{
    bool ok = check_names(ctx, model);
    for (size_t i = 0; i < model->layer_count; i++) {
        const struct spec_layer *layer = &model->layers[i];
        struct op_node *node = &g->nodes[i];
        if (!layer->from.count) {
            node->input_count = 1;
            node->inputs[0] = i == 0 ? OP_MODEL_INPUT : (int)i - 1;
            continue;
        }
        /* spec validation bounds the count by the op's arity (at most OP_MAX_INPUTS). */
        node->input_count = (int)layer->from.count;
        for (size_t k = 0; k < layer->from.count; k++) {
            const char *want = layer->from.names[k];
            int found = find_layer(model, want);
            if (found == -2) {
                const char **names = ns_xcalloc(i + 2, sizeof *names);
                size_t n_names = 0;
                for (size_t j = 0; j < i; j++)
                    if (model->layers[j].name)
                        names[n_names++] = model->layers[j].name;
                names[n_names++] = "input";
                const char *near = ns_closest(want, names, n_names);
                char *hint = near ? ns_asprintf("did you mean \"%s\"?", near)
                                  : ns_asprintf("name a layer before this one, or \"input\"");
                error_at(ctx, layer->from.nodes[k], hint, "from: \"%.60s\" names no layer", want);
                free(hint);
                free(names);
                ok = false;
            } else if (found >= (int)i) {
                error_at(ctx, layer->from.nodes[k], "layers run in order; move this layer after it",
                         "from: \"%s\" names layer %d, which is not before layer %zu", want, found, i);
                ok = false;
            }
            node->inputs[k] = found < 0 ? OP_MODEL_INPUT : found;
        }
    }
    return ok;
}

/* Kahn's algorithm, lowest index first among the ready nodes: the written order whenever it
 * is already topological (wire() makes sure it is), and one fixed order in any case. */
static bool order_nodes(struct ns_ctx *ctx, struct graph *g)
{
    size_t n = g->node_count;
    int *pending = ns_xcalloc(n ? n : 1, sizeof *pending);
    bool *done = ns_xcalloc(n ? n : 1, sizeof *done);
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < g->nodes[i].input_count; k++)
            pending[i] += g->nodes[i].inputs[k] != OP_MODEL_INPUT;
    size_t placed = 0;
    while (placed < n) {
        size_t next = n;
        for (size_t i = 0; i < n && next == n; i++)
            if (!done[i] && pending[i] == 0)
                next = i;
        if (next == n)
            break;
        done[next] = true;
        g->order[placed++] = (int)next;
        for (size_t c = 0; c < n; c++)
            for (int k = 0; k < g->nodes[c].input_count; k++)
                pending[c] -= g->nodes[c].inputs[k] == (int)next;
    }
    free(pending);
    free(done);
    if (placed < n)
        ns_diag_add(&ctx->diag, NS_ERR_INTERNAL, (struct ns_loc){0}, NULL,
                    "the model's layers form a cycle");
    return placed == n;
}

struct graph *graph_build(struct ns_ctx *ctx, const struct spec *spec, struct spec_shape input,
                          int class_count)
{
    const struct spec_model *model = &spec->model;
    struct graph *g = ns_arena_new(&ctx->arena, struct graph);
    g->input_shape = input;
    g->input_size = op_shape_size(&input);
    g->class_count = class_count;
    g->node_count = model->layer_count;
    g->nodes = ns_arena_array(&ctx->arena, struct op_node, g->node_count);
    g->order = ns_arena_array(&ctx->arena, int, g->node_count);
    g->needs_grad = ns_arena_array(&ctx->arena, bool, g->node_count);
    g->output_node = (int)g->node_count - 1;
    if (!wire(ctx, model, g) || !order_nodes(ctx, g))
        return NULL;
    size_t saved = 0, params = 0;
    for (size_t s = 0; s < g->node_count; s++) {
        size_t i = (size_t)g->order[s];
        const struct spec_layer *layer = &model->layers[i];
        struct op_node *node = &g->nodes[i];
        node->index = (int)i;
        node->name = layer->name;
        node->layer = layer;
        node->op = op_find(layer->type->name);
        node->params = layer->params;
        struct op_shape_args args = {.params = layer->params, .layer = layer,
                                     .input_count = node->input_count, .class_count = class_count};
        for (int k = 0; k < node->input_count; k++) {
            int from = node->inputs[k];
            node->in_shapes[k] = from == OP_MODEL_INPUT ? input : g->nodes[from].out_shape;
            node->in_sizes[k] = op_shape_size(&node->in_shapes[k]);
            args.inputs[k] = node->in_shapes[k];
        }
        size_t before = ctx->diag.count;
        if (!node->op->shape(&args, &ctx->diag)) {
            if (ctx->diag.count > before)
                shape_chain_hint(&ctx->diag, g, s);
            return NULL; /* later shapes would only repeat this error */
        }
        node->out_shape = args.output;
        node->out_size = op_shape_size(&args.output);
        node->tensor_count = args.tensor_count;
        for (int t = 0; t < args.tensor_count; t++) {
            node->tensors[t] = args.tensors[t];
            node->tensor_offset[t] = params;
            params += args.tensors[t].size;
            if (args.tensors[t].trainable)
                node->param_count += args.tensors[t].size;
            else
                node->state_count += args.tensors[t].size;
        }
        node->flops = args.flops;
        node->saved_floats = args.saved_floats;
        node->saved_offset = saved;
        saved += node->saved_floats;
        g->activation_floats += node->out_size;
        g->trainable_params += node->param_count;
        g->flops += node->flops;
    }
    g->param_floats = params;
    g->saved_floats = saved;
    graph_plan_build(ctx, g);
    return g;
}

size_t graph_scratch_floats(const struct graph *g, int batch)
{
    size_t most = 0;
    for (size_t i = 0; i < g->node_count; i++) {
        const struct op_node *node = &g->nodes[i];
        size_t s = node->op->scratch_floats ? node->op->scratch_floats(node, batch) : 0;
        most = s > most ? s : most;
    }
    return most;
}
