#include "train/trainset.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ns_util.h"
#include "data/data_folder.h"
#include "data/data_load.h"
#include "ops/op.h"
#include "train/init.h"

bool trainset_load(struct ns_ctx *ctx, const struct spec *spec, int class_count, struct trainset *out)
{
    const struct spec_data *d = &spec->data;
    struct trainset ts;
    memset(&ts, 0, sizeof ts);
    ts.seed = (uint64_t)spec->seed;
    ts.threads = ctx->threads;
    ts.isa = ctx->isa;
    ts.regression = d->format == DATA_CSV && d->task == TASK_REGRESSION;
    ts.class_count = ts.regression ? 0 : class_count;
    struct data_load dl;
    if (!data_load_spec(&ctx->diag, spec, ctx->threads, &dl))
        return false;
    ts.train = dl.train;
    ts.validation = dl.validation;
    ts.test = dl.test;
    ts.shape = dl.shape;
    ts.skipped = dl.skipped;
    ts.sample_size = dl.train.sample_size;
    if (d->format == DATA_IMAGE_FOLDER) {
        ts.has_validation = d->split.validation > 0 || d->validation_folder;
        ts.has_test = d->split.test > 0 || d->test_folder;
    } else {
        ts.has_validation = d->validation > 0;
        ts.has_test = d->format == DATA_IDX ? d->test.node != NULL : d->test_csv != NULL;
    }
    if (!ts.regression && dl.class_count > class_count) {
        ns_diag_add(&ctx->diag, NS_ERR_DATA, spec_node_loc(d->node), NULL,
                    "the data has %d classes but the model was built for %d", dl.class_count, class_count);
        trainset_free(&ts);
        return false;
    }
    if (!ts.regression) {
        ts.class_names = ns_xcalloc((size_t)(class_count > 0 ? class_count : 1), sizeof *ts.class_names);
        for (int c = 0; c < class_count; c++) {
            const char *name = NULL;
            if ((size_t)c < d->classes.count)
                name = d->classes.names[c];
            else if (ts.train.class_names && c < ts.train.class_count)
                name = ts.train.class_names[c];
            ts.class_names[c] = name ? ns_xstrdup(name) : ns_asprintf("%d", c);
        }
    }
    if (!data_prep_for_training(&ctx->diag, spec, &ts.train, &ts.norm, &ts.augment)) {
        trainset_free(&ts);
        return false;
    }
    *out = ts;
    return true;
}

static bool same_shape(struct spec_shape a, struct spec_shape b)
{
    if (a.rank != b.rank)
        return false;
    for (int i = 0; i < a.rank; i++)
        if (a.dims[i] != b.dims[i])
            return false;
    return true;
}

bool trainset_load_other(struct ns_ctx *ctx, const struct spec *spec, const struct spec_shape *shape,
                         int class_count, const char *const *class_names, const struct data_csv_layout *csv,
                         const struct data_prep_norm *norm, const char *path, const char *labels,
                         struct trainset *out)
{
    const struct spec_data *d = &spec->data;
    struct trainset ts;
    memset(&ts, 0, sizeof ts);
    ts.seed = (uint64_t)spec->seed;
    ts.threads = ctx->threads;
    ts.isa = ctx->isa;
    ts.regression = d->format == DATA_CSV && d->task == TASK_REGRESSION;
    ts.class_count = ts.regression ? 0 : class_count;
    if (!data_load_other(&ctx->diag, spec, ctx->threads, path, labels, class_names, ts.class_count, csv, &ts.test))
        return false;
    ts.has_test = true;
    ts.skipped = ts.test.skipped;
    if (!same_shape(ts.test.shape, *shape)) {
        char have[48], want[48];
        op_shape_format(&ts.test.shape, have);
        op_shape_format(shape, want);
        ns_diag_add(&ctx->diag, NS_ERR_DATA, (struct ns_loc){path, 0, 0, 0},
                    "give data of the kind the run was trained on",
                    "the samples of \"%s\" are %s but the model takes %s", path, have, want);
        trainset_free(&ts);
        return false;
    }
    ts.shape = *shape;
    ts.sample_size = ts.test.sample_size;
    if (!ts.regression) {
        ts.class_names = ns_xcalloc((size_t)(class_count > 0 ? class_count : 1), sizeof *ts.class_names);
        for (int c = 0; c < class_count; c++)
            ts.class_names[c] = ns_xstrdup(class_names[c]);
    }
    data_prep_norm_copy(norm, &ts.norm);
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
    data_prep_norm_free(&ts->norm);
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
    data_prep_gather(ts->threads, ds, index, n, &ts->norm, augment ? &ts->augment : NULL, key, x);
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
        data_folder_opts_from_spec(spec, ctx->threads, &o);
        const char *roots[3] = {d->root, d->validation_folder, d->test_folder};
        for (int r = 0; r < 3; r++) {
            if (!roots[r])
                continue;
            if (r > 0) { /* listed as found: loading matches the classes */
                o.root = roots[r];
                o.class_count = 0;
                o.classes = NULL;
                o.class_nodes = NULL;
            }
            struct data_folder_index idx;
            if (!data_folder_scan(&ctx->diag, &o, false, &idx))
                return false;
            for (size_t i = 0; i < idx.count; i++)
                add_file(out, idx.paths[i]);
            data_folder_index_free(&idx);
        }
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

static const char *absolute(struct ns_ctx *ctx, const char *path)
{
    if (!path)
        return NULL;
    char *real = realpath(path, NULL);
    if (real) {
        const char *kept = ns_arena_strdup(&ctx->arena, real);
        free(real);
        return kept;
    }
    /* A missing file is reported by the loader; its path becomes absolute all the same. */
    if (path[0] == '/')
        return path;
    char *cwd = getcwd(NULL, 0);
    if (!cwd)
        return path;
    const char *kept = ns_arena_printf(&ctx->arena, "%s/%s", cwd, path);
    free(cwd);
    return kept;
}

void trainset_absolute_paths(struct ns_ctx *ctx, struct spec *spec)
{
    struct spec_data *d = &spec->data;
    d->train.images = absolute(ctx, d->train.images);
    d->train.labels = absolute(ctx, d->train.labels);
    d->test.images = absolute(ctx, d->test.images);
    d->test.labels = absolute(ctx, d->test.labels);
    d->root = absolute(ctx, d->root);
    d->validation_folder = absolute(ctx, d->validation_folder);
    d->test_folder = absolute(ctx, d->test_folder);
    d->train_csv = absolute(ctx, d->train_csv);
    d->test_csv = absolute(ctx, d->test_csv);
}
