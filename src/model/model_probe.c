/* The bridge between a validated spec and its data files for `check` and `train`: what the
 * model's input and output must be, learned from headers alone. */
#include <stdio.h>
#include <string.h>

#include "model/model.h"
#include "core/ns_util.h"
#include "data/data_csv.h"
#include "data/data_error.h"
#include "data/data_folder.h"
#include "data/data_idx.h"
#include "data/data_load.h"
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
    info->held_samples = train.count;
    info->copied_samples = held;
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
        info->held_samples += test.count;
        n += snprintf(info->summary + n, sizeof info->summary - (size_t)n, ", %zu test", test.count);
    }
    snprintf(info->summary + n, sizeof info->summary - (size_t)n, ", %d classes, images %s",
             info->class_count, shape);
    return true;
}

static bool probe_csv(struct ns_ctx *ctx, const struct spec *spec, struct model_info *info)
{
    const struct spec_data *d = &spec->data;
    struct data_csv_opts opts;
    data_csv_opts_from_spec(spec, &opts);
    bool regression = opts.regression;
    /* Tabular files are small; loading them is the only way to count the classes. */
    struct dataset train = {0};
    if (!data_check_input(&ctx->diag, spec_field_loc(spec, d->node, "train"), d->train_csv)
        || (d->test_csv && !data_check_input(&ctx->diag, spec_field_loc(spec, d->node, "test"), d->test_csv)))
        return false;
    if (!data_csv_load(&ctx->diag, spec_field_loc(spec, d->node, "train"), d->train_csv, &opts, &train))
        return false;
    info->input = train.shape;
    info->class_count = regression ? 0 : train.class_count;
    info->held_samples = train.count;
    info->copied_samples = (size_t)((double)train.count * d->validation + 0.5);
    size_t one_hot = 0;
    for (size_t j = 0; j < train.csv->column_count; j++)
        one_hot += train.csv->columns[j].category_count ? 1 : 0;
    int n = snprintf(info->summary, sizeof info->summary, "csv, %zu training rows, %zu features", train.count,
                     train.sample_size);
    if (one_hot)
        n += snprintf(info->summary + n, sizeof info->summary - (size_t)n, " (%zu categorical column%s one-hot)",
                      one_hot, one_hot == 1 ? "" : "s");
    if (train.dropped)
        n += snprintf(info->summary + n, sizeof info->summary - (size_t)n, ", %zu rows with missing cells dropped",
                      train.dropped);
    if (d->test_csv) {
        struct dataset test = {0};
        opts.layout = train.csv;
        if (!data_csv_load(&ctx->diag, spec_field_loc(spec, d->node, "test"), d->test_csv, &opts, &test)) {
            dataset_free(&train);
            return false;
        }
        info->held_samples += test.count;
        n += snprintf(info->summary + n, sizeof info->summary - (size_t)n, ", %zu test rows", test.count);
        dataset_free(&test);
    }
    dataset_free(&train);
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
    size_t validation = 0, test = 0;
    if (!data_load_check_folders(&ctx->diag, spec, &validation, &test))
        return false;
    info->input = header.shape;
    info->class_count = header.class_count;
    info->held_samples = header.count + validation + test;
    info->copied_samples = (size_t)((double)header.count * (d->split.validation + d->split.test) + 0.5);
    char shape[48];
    op_shape_format(&header.shape, shape);
    int n = snprintf(info->summary, sizeof info->summary,
                     "image_folder, %zu images in %d classes, split %.2g/%.2g/%.2g", header.count,
                     header.class_count, d->split.train, d->split.validation, d->split.test);
    if (d->validation_folder)
        n += snprintf(info->summary + n, sizeof info->summary - (size_t)n, ", %zu validation images", validation);
    if (d->test_folder)
        n += snprintf(info->summary + n, sizeof info->summary - (size_t)n, ", %zu test images", test);
    snprintf(info->summary + n, sizeof info->summary - (size_t)n, ", resized to %s", shape);
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
    if (!ok || !spec_check_normalize(ctx, spec, info->input))
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
