/* The bridge between a validated spec and its data files for `check` and `train`: what the
 * model's input and output must be, learned from headers alone. */
#include <stdio.h>
#include <string.h>

#include "model/model.h"
#include "core/ns_util.h"
#include "data/data_csv.h"
#include "data/data_folder.h"
#include "data/data_idx.h"
#include "data/dataset.h"
#include "graph/graph.h"
#include "ops/op.h"

static bool same_shape(const struct spec_shape *a, const struct spec_shape *b)
{
    if (a->rank != b->rank)
        return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i])
            return false;
    return true;
}

static bool probe_idx(struct ns_ctx *ctx, const struct spec *spec, struct model_info *info)
{
    const struct spec_data *d = &spec->data;
    int listed = (int)d->classes.count;
    struct data_header train;
    if (!data_idx_read_header(&ctx->diag, spec_field_loc(spec, d->train.node, "images"), d->train.images,
                              spec_field_loc(spec, d->train.node, "labels"), d->train.labels, listed,
                              &train))
        return false;
    info->input = train.shape;
    info->class_count = listed ? listed : train.class_count;
    char shape[48];
    op_shape_format(&train.shape, shape);
    size_t held = (size_t)((double)train.count * d->validation + 0.5);
    int n = snprintf(info->summary, sizeof info->summary,
                     "idx, %zu training examples (%zu held out for validation)", train.count, held);
    if (d->test.node) {
        struct data_header test;
        if (!data_idx_read_header(&ctx->diag, spec_field_loc(spec, d->test.node, "images"), d->test.images,
                                  spec_field_loc(spec, d->test.node, "labels"), d->test.labels,
                                  info->class_count, &test))
            return false;
        if (!same_shape(&test.shape, &train.shape)) {
            char other[48];
            op_shape_format(&test.shape, other);
            ns_diag_add(&ctx->diag, NS_ERR_DATA, spec_field_loc(spec, d->test.node, "images"), NULL,
                        "test images are %s but training images are %s", other, shape);
            return false;
        }
        n += snprintf(info->summary + n, sizeof info->summary - (size_t)n, ", %zu test", test.count);
    }
    snprintf(info->summary + n, sizeof info->summary - (size_t)n, ", %d classes, images %s",
             info->class_count, shape);
    return true;
}

static bool probe_csv(struct ns_ctx *ctx, const struct spec *spec, struct model_info *info)
{
    const struct spec_data *d = &spec->data;
    bool regression = d->task == TASK_REGRESSION;
    struct data_csv_opts opts = {.label_column = d->label_column,
                                 .label_loc = spec_field_loc(spec, d->node, "label_column"),
                                 .regression = regression, .class_count = (int)d->classes.count};
    /* Tabular files are small; loading them is the only way to count the classes. */
    struct dataset train = {0};
    if (!data_csv_load(&ctx->diag, spec_field_loc(spec, d->node, "train"), d->train_csv, &opts, &train))
        return false;
    info->input = train.shape;
    info->class_count = regression ? 0 : train.class_count;
    int n = snprintf(info->summary, sizeof info->summary, "csv, %zu training rows, %zu features",
                     train.count, train.sample_size);
    dataset_free(&train);
    if (d->test_csv) {
        struct dataset test = {0};
        opts.class_count = info->class_count;
        if (!data_csv_load(&ctx->diag, spec_field_loc(spec, d->node, "test"), d->test_csv, &opts, &test))
            return false;
        if (!same_shape(&test.shape, &info->input)) {
            ns_diag_add(&ctx->diag, NS_ERR_DATA, spec_field_loc(spec, d->node, "test"), NULL,
                        "the test file has %zu features but the training file %zu",
                        test.sample_size, op_shape_size(&info->input));
            dataset_free(&test);
            return false;
        }
        n += snprintf(info->summary + n, sizeof info->summary - (size_t)n, ", %zu test rows", test.count);
        dataset_free(&test);
    }
    if (regression)
        snprintf(info->summary + n, sizeof info->summary - (size_t)n, ", regression on \"%s\"",
                 d->label_column);
    else
        snprintf(info->summary + n, sizeof info->summary - (size_t)n, ", %d classes",
                 info->class_count);
    return true;
}

static bool probe_folder(struct ns_ctx *ctx, const struct spec *spec, struct model_info *info)
{
    const struct spec_data *d = &spec->data;
    struct data_header header;
    if (!data_folder_check(&ctx->diag, spec, &header))
        return false;
    info->input = header.shape;
    info->class_count = header.class_count;
    char shape[48];
    op_shape_format(&header.shape, shape);
    snprintf(info->summary, sizeof info->summary,
             "image_folder, %zu images in %d classes, split %.2g/%.2g/%.2g, resized to %s",
             header.count, header.class_count, d->split.train, d->split.validation, d->split.test,
             shape);
    return true;
}

bool model_probe_data(struct ns_ctx *ctx, const struct spec *spec, struct model_info *info)
{
    memset(info, 0, sizeof *info);
    bool ok = false;
    switch (spec->data.format) {
    case DATA_IDX:
        ok = probe_idx(ctx, spec, info);
        break;
    case DATA_CSV:
        ok = probe_csv(ctx, spec, info);
        break;
    case DATA_IMAGE_FOLDER:
        ok = probe_folder(ctx, spec, info);
        break;
    }
    if (!ok)
        return false;
    const struct spec_shape *want = &spec->model.input;
    if (want->rank && !same_shape(want, &info->input)) {
        char a[48], b[48];
        op_shape_format(want, a);
        op_shape_format(&info->input, b);
        ns_diag_add(&ctx->diag, NS_ERR_SPEC, spec_field_loc(spec, spec->model.node, "input"),
                    "write `input: auto` to take the shape from the data",
                    "model.input is %s but the data's examples are %s", a, b);
        return false;
    }
    return true;
}

bool model_check_output(struct ns_ctx *ctx, const struct spec *spec, const struct graph *g,
                      const struct model_info *info)
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
    int want = info->class_count;
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
