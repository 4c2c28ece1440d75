#include "train/trainset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ns_util.h"
#include "data/data_csv.h"
#include "data/data_folder.h"
#include "data/data_idx.h"
#include "data/data_split.h"
#include "train/init.h"

static bool is_regression(const struct spec *spec)
{
    return spec->data.format == DATA_CSV && spec->data.task == TASK_REGRESSION;
}

static void folder_opts(struct ns_ctx *ctx, const struct spec *spec, struct data_folder_opts *o,
                        struct ns_loc **locs)
{
    const struct spec_data *d = &spec->data;
    memset(o, 0, sizeof *o);
    o->root = d->root;
    o->root_loc = spec_field_loc(spec, d->node, "root");
    o->class_count = d->classes.count;
    o->classes = d->classes.names;
    *locs = NULL;
    if (d->classes.count) {
        *locs = ns_xcalloc(d->classes.count, sizeof **locs);
        for (size_t i = 0; i < d->classes.count; i++)
            (*locs)[i] = d->classes.nodes ? spec_node_loc(d->classes.nodes[i]) : o->root_loc;
        o->class_locs = *locs;
    }
    o->height = d->image.size.h;
    o->width = d->image.size.w;
    o->channels = d->image.channels;
    o->skip_unreadable = d->on_error == ON_ERROR_SKIP;
    o->threads = ctx->threads;
}

/* Splits `all` by fractions into the parts given (NULL = not wanted). */
static bool split_into(struct ns_ctx *ctx, const struct spec *spec, const struct dataset *all,
                       const double *fractions, int parts, struct dataset *out[])
{
    struct data_split s;
    uint64_t key = init_stream_key((uint64_t)spec->seed, "split", 0);
    if (!data_split_stratified(all->labels, all->count, all->class_count, fractions, parts, key, &s)) {
        ns_diag_add(&ctx->diag, NS_ERR_INTERNAL, (struct ns_loc){0}, NULL,
                    "cannot split %zu samples into %d parts", all->count, parts);
        return false;
    }
    for (int p = 0; p < parts; p++)
        if (out[p])
            dataset_subset(all, s.index[p], s.count[p], out[p]);
    data_split_free(&s);
    return true;
}

static bool load_idx(struct ns_ctx *ctx, const struct spec *spec, int class_count, unsigned parts,
                     struct trainset *ts)
{
    const struct spec_data *d = &spec->data;
    ts->has_validation = d->validation > 0;
    ts->has_test = d->test.node != NULL;
    if (parts & (TRAINSET_TRAIN | TRAINSET_VALIDATION)) {
        struct dataset all = {0};
        if (!data_idx_load(&ctx->diag, spec_field_loc(spec, d->train.node, "images"), d->train.images,
                           spec_field_loc(spec, d->train.node, "labels"), d->train.labels, class_count,
                           &all))
            return false;
        all.class_count = class_count;
        bool ok = true;
        if (ts->has_validation) {
            double f[2] = {1.0 - d->validation, d->validation};
            struct dataset *out[2] = {&ts->train, &ts->validation};
            ok = split_into(ctx, spec, &all, f, 2, out);
            dataset_free(&all);
        } else {
            ts->train = all;
        }
        if (!ok)
            return false;
    }
    if ((parts & TRAINSET_TEST) && ts->has_test) {
        if (!data_idx_load(&ctx->diag, spec_field_loc(spec, d->test.node, "images"), d->test.images,
                           spec_field_loc(spec, d->test.node, "labels"), d->test.labels, class_count,
                           &ts->test))
            return false;
        ts->test.class_count = class_count;
    }
    return true;
}

static bool load_csv(struct ns_ctx *ctx, const struct spec *spec, int class_count, unsigned parts,
                     struct trainset *ts)
{
    const struct spec_data *d = &spec->data;
    struct data_csv_opts opts = {.label_column = d->label_column,
                                 .label_loc = spec_field_loc(spec, d->node, "label_column"),
                                 .regression = ts->regression,
                                 .class_count = ts->regression ? 0 : class_count};
    ts->has_validation = d->validation > 0;
    ts->has_test = d->test_csv != NULL;
    if (parts & (TRAINSET_TRAIN | TRAINSET_VALIDATION)) {
        struct dataset all = {0};
        if (!data_csv_load(&ctx->diag, spec_field_loc(spec, d->node, "train"), d->train_csv, &opts, &all))
            return false;
        if (!ts->regression)
            all.class_count = class_count;
        bool ok = true;
        if (ts->has_validation) {
            double f[2] = {1.0 - d->validation, d->validation};
            struct dataset *out[2] = {&ts->train, &ts->validation};
            ok = split_into(ctx, spec, &all, f, 2, out);
            dataset_free(&all);
        } else {
            ts->train = all;
        }
        if (!ok)
            return false;
    }
    if ((parts & TRAINSET_TEST) && ts->has_test) {
        if (!data_csv_load(&ctx->diag, spec_field_loc(spec, d->node, "test"), d->test_csv, &opts, &ts->test))
            return false;
        if (!ts->regression)
            ts->test.class_count = class_count;
    }
    return true;
}

static bool load_folder(struct ns_ctx *ctx, const struct spec *spec, struct trainset *ts)
{
    const struct spec_data *d = &spec->data;
    struct data_folder_opts o;
    struct ns_loc *locs;
    folder_opts(ctx, spec, &o, &locs);
    struct dataset all = {0};
    bool ok = data_folder_load(&ctx->diag, &o, &all);
    free(locs);
    if (!ok)
        return false;
    ts->has_validation = d->split.validation > 0;
    ts->has_test = d->split.test > 0;
    double f[3] = {d->split.train, d->split.validation, d->split.test};
    struct dataset *out[3] = {&ts->train, &ts->validation, &ts->test};
    ok = split_into(ctx, spec, &all, f, 3, out);
    if (ok && all.class_names && !d->classes.count) {
        ts->class_names = ns_xcalloc((size_t)all.class_count, sizeof *ts->class_names);
        for (int c = 0; c < all.class_count; c++)
            ts->class_names[c] = ns_xstrdup(all.class_names[c]);
    }
    dataset_free(&all);
    return ok;
}

bool trainset_load(struct ns_ctx *ctx, const struct spec *spec, int class_count, unsigned parts,
                   struct trainset *out)
{
    const struct spec_data *d = &spec->data;
    struct trainset ts;
    memset(&ts, 0, sizeof ts);
    ts.seed = (uint64_t)spec->seed;
    ts.regression = is_regression(spec);
    ts.class_count = ts.regression ? 0 : class_count;
    ts.augment.hflip = d->augment.hflip;
    ts.augment.random_crop = d->augment.random_crop;
    bool ok = false;
    switch (d->format) {
    case DATA_IDX:
        ok = load_idx(ctx, spec, class_count, parts, &ts);
        break;
    case DATA_CSV:
        ok = load_csv(ctx, spec, class_count, parts, &ts);
        break;
    case DATA_IMAGE_FOLDER:
        ok = load_folder(ctx, spec, &ts);
        break;
    }
    if (!ok) {
        trainset_free(&ts);
        return false;
    }
    const struct dataset *any = ts.train.sample_size ? &ts.train : ts.test.sample_size ? &ts.test : &ts.validation;
    ts.shape = any->shape;
    ts.sample_size = any->sample_size;
    if (!ts.regression && !ts.class_names) {
        ts.class_names = ns_xcalloc((size_t)(class_count > 0 ? class_count : 1), sizeof *ts.class_names);
        for (int c = 0; c < class_count; c++)
            ts.class_names[c] = (size_t)c < d->classes.count ? ns_xstrdup(d->classes.names[c])
                                                             : ns_asprintf("%d", c);
    }
    const struct spec_normalize *nz = &d->normalize;
    if (!data_norm_init(&ctx->diag, spec_field_loc(spec, d->node, "normalize"), ts.shape, nz->scale,
                        nz->mean.values, nz->mean.count, nz->std.values, nz->std.count, &ts.norm)) {
        trainset_free(&ts);
        return false;
    }
    if (data_augment_active(&ts.augment) && !data_augment_applies(ts.shape)) {
        ns_diag_add(&ctx->diag, NS_ERR_SPEC, spec_field_loc(spec, d->node, "augment"),
                    "remove data.augment: flips and crops need images [height, width, channels]",
                    "data.augment needs image data, but the samples are vectors");
        trainset_free(&ts);
        return false;
    }
    *out = ts;
    return true;
}

void trainset_free(struct trainset *ts)
{
    if (!ts)
        return;
    dataset_free(&ts->train);
    dataset_free(&ts->validation);
    dataset_free(&ts->test);
    if (ts->class_names) {
        for (int c = 0; c < ts->class_count; c++)
            free(ts->class_names[c]);
        free(ts->class_names);
    }
    data_norm_free(&ts->norm);
    memset(ts, 0, sizeof *ts);
}

const struct dataset *trainset_split(const struct trainset *ts, const char *name)
{
    if (!strcmp(name, "train"))
        return &ts->train;
    if (!strcmp(name, "validation"))
        return &ts->validation;
    if (!strcmp(name, "test"))
        return &ts->test;
    return NULL;
}

void trainset_gather(const struct trainset *ts, const struct dataset *ds, const size_t *index, size_t n,
                     bool augment, int epoch, float *x, int32_t *labels, float *targets, uint32_t *ids)
{
    uint64_t key = init_stream_key(ts->seed, "augment", (uint64_t)epoch);
    data_prep_gather(ds, index, n, &ts->norm, augment ? &ts->augment : NULL, key, x);
    for (size_t i = 0; i < n; i++) {
        if (labels)
            labels[i] = ds->labels ? ds->labels[index[i]] : 0;
        if (targets)
            targets[i] = ds->targets ? ds->targets[index[i]] : 0.0f;
        if (ids)
            ids[i] = (uint32_t)index[i];
    }
}

static void add_file(struct trainset_files *f, const char *path)
{
    if (!path)
        return;
    f->paths = ns_xrealloc(f->paths, (f->count + 1) * sizeof *f->paths);
    f->paths[f->count++] = ns_xstrdup(path);
}

bool trainset_list_files(struct ns_ctx *ctx, const struct spec *spec, struct trainset_files *out)
{
    const struct spec_data *d = &spec->data;
    memset(out, 0, sizeof *out);
    switch (d->format) {
    case DATA_IDX:
        add_file(out, d->train.images);
        add_file(out, d->train.labels);
        if (d->test.node) {
            add_file(out, d->test.images);
            add_file(out, d->test.labels);
        }
        return true;
    case DATA_CSV:
        add_file(out, d->train_csv);
        add_file(out, d->test_csv);
        return true;
    case DATA_IMAGE_FOLDER: {
        struct data_folder_opts o;
        struct ns_loc *locs;
        folder_opts(ctx, spec, &o, &locs);
        struct data_folder_index idx;
        bool ok = data_folder_scan(&ctx->diag, &o, false, &idx);
        free(locs);
        if (!ok)
            return false;
        for (size_t i = 0; i < idx.count; i++)
            add_file(out, idx.paths[i]);
        data_folder_index_free(&idx);
        return true;
    }
    }
    return true;
}

void trainset_files_free(struct trainset_files *files)
{
    for (size_t i = 0; i < files->count; i++)
        free(files->paths[i]);
    free(files->paths);
    memset(files, 0, sizeof *files);
}
