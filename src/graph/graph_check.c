/* The model's output against its data and loss: the last check before a graph is usable. */
#include "graph/graph.h"

bool graph_check_output(struct ns_ctx *ctx, const struct spec *spec, const struct graph *g,
                        int class_count)
{
    const struct op_node *last = &g->nodes[g->output_node];
    const struct spec_layer *layer = last->layer;
    struct ns_loc loc = spec_field_loc(spec, layer->params_node, "units");
    if (!layer->params_node || spec_tree_find(layer->params_node, "units") < 0)
        loc = spec_node_loc(layer->node);
    char shape[48];
    op_shape_format(&last->out_shape, shape);
    if (last->out_shape.rank != 1) {
        ns_diag_add(&ctx->diag, NS_ERR_SPEC, spec_node_loc(layer->node),
                    "end the model with flatten (or global_avgpool2d) and a dense layer",
                    "the model's output is %s; it must be a vector [n]", shape);
        return false;
    }
    int outputs = last->out_shape.dims[0];
    int want = class_count;
    const char *what = "classes";
    if (spec->data.format == DATA_CSV && spec->data.task == TASK_REGRESSION) {
        want = 1;
        what = "regression target";
    } else if (spec->loss.type == LOSS_BINARY_CROSS_ENTROPY && want == 2 && outputs == 1) {
        want = 1; /* one sigmoid output for two classes */
    }
    if (outputs != want) {
        ns_diag_add(&ctx->diag, NS_ERR_SPEC, loc,
                    want > 1 ? "set `units: auto` on the last layer: it means the number of classes"
                             : NULL,
                    "the model outputs %d value%s but the data has %d %s", outputs,
                    outputs == 1 ? "" : "s", want, what);
        return false;
    }
    return true;
}
