#include "graph/graph.h"

#include <string.h>

#include "core/ns_util.h"

static void shape_chain_hint(struct ns_diag *diag, const struct graph *g, size_t upto)
{
    /* A shape error is easier to fix when the user sees how the shape got there. */
    if (!diag->count)
        return;
    struct ns_buf chain = {0};
    char text[48];
    op_shape_format(&g->input_shape, text);
    ns_buf_printf(&chain, "shapes: input %s", text);
    for (size_t i = 0; i < upto; i++) {
        op_shape_format(&g->nodes[i].out_shape, text);
        ns_buf_printf(&chain, " -> %s %s", g->nodes[i].name, text);
    }
    ns_diag_hint(diag, "%s", chain.data);
    ns_buf_free(&chain);
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
    g->output_node = (int)g->node_count - 1;
    size_t act = 0, saved = 0, params = 0;
    for (size_t i = 0; i < g->node_count; i++) {
        const struct spec_layer *layer = &model->layers[i];
        struct op_node *node = &g->nodes[i];
        node->index = (int)i;
        node->name = layer->name;
        node->layer = layer;
        node->op = op_find(layer->type->name);
        node->params = layer->params;
        node->input_count = layer->input_count;
        struct op_shape_args args = {.params = layer->params, .layer = layer,
                                     .input_count = layer->input_count, .class_count = class_count};
        for (int k = 0; k < layer->input_count; k++) {
            int from = layer->input_layers[k];
            node->inputs[k] = from < 0 ? OP_MODEL_INPUT : from;
            node->in_shapes[k] = from < 0 ? input : g->nodes[from].out_shape;
            node->in_sizes[k] = op_shape_size(&node->in_shapes[k]);
            args.inputs[k] = node->in_shapes[k];
        }
        size_t before = ctx->diag.count;
        if (!node->op->shape(&args, &ctx->diag)) {
            if (ctx->diag.count > before)
                shape_chain_hint(&ctx->diag, g, i);
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
        node->act_offset = act;
        act += node->out_size;
        node->saved_offset = saved;
        saved += node->saved_floats;
        g->trainable_params += node->param_count;
        g->flops += node->flops;
    }
    g->param_floats = params;
    g->activation_floats = act;
    g->saved_floats = saved;
    return g;
}
