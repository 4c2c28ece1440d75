#include "data/data_load.h"

#include <string.h>

#include "core/ns_util.h"
#include "data/data_csv.h"
#include "data/data_error.h"
#include "data/data_folder.h"
#include "data/data_idx.h"
#include "data/data_split.h"

uint64_t data_load_split_key(const struct spec *spec)
{
    return data_split_key((uint64_t)spec->seed, "split", 0);
}

void data_load_free(struct data_load *dl)
{
    if (!dl)
        return;
    dataset_free(&dl->train);
    dataset_free(&dl->validation);
    dataset_free(&dl->test);
    memset(dl, 0, sizeof *dl);
}

/* Listed class names travel with the data (predict, emit). */
static void set_class_names(struct dataset *ds, const struct spec_names *classes)
{
    if (!classes->count || ds->class_names || (size_t)ds->class_count != classes->count)
        return;
    ds->class_names = ns_xcalloc(classes->count, sizeof *ds->class_names);
    for (size_t i = 0; i < classes->count; i++)
        ds->class_names[i] = ns_xstrdup(classes->names[i]);
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

/* Cuts `all` into parts by fractions; part 0 keeps all's buffers (rows moved in place), the
 * others are copies. */
static void split_into(struct dataset *all, const double *fractions, int parts, uint64_t key,
                       struct dataset *const *out)
{
    struct data_split s;
    if (!data_split_stratified(all->labels, all->count, all->class_count, fractions, parts, key, &s)) {
        /* Unreachable with a validated spec and a checked loader; keep every sample for training
         * rather than lose data. */
        *out[0] = *all;
        memset(all, 0, sizeof *all);
        return;
    }
    for (int p = 1; p < parts; p++)
        dataset_subset(all, s.index[p], s.count[p], out[p]);
    dataset_keep(all, s.index[0], s.count[0]);
    *out[0] = *all;
    memset(all, 0, sizeof *all);
    data_split_free(&s);
}

static bool load_idx(struct ns_diag *diag, const struct spec *spec, struct data_load *out)
{
    const struct spec_data *d = &spec->data;
    int listed = (int)d->classes.count;
    struct dataset all = {0};
    if (!data_idx_load(diag, spec_field_loc(spec, d->train.node, "images"), d->train.images,
                       spec_field_loc(spec, d->train.node, "labels"), d->train.labels, listed, &all))
        return false;
    if (d->test.node) {
        struct ns_loc images_loc = spec_field_loc(spec, d->test.node, "images");
        if (!data_idx_load(diag, images_loc, d->test.images, spec_field_loc(spec, d->test.node, "labels"),
                           d->test.labels, all.class_count, &out->test)) {
            dataset_free(&all);
            return false;
        }
        if (!same_shape(out->test.shape, all.shape)) {
            ns_diag_add(diag, NS_ERR_DATA, images_loc, NULL,
                        "test images are [%d, %d, %d] but training images are [%d, %d, %d]",
                        out->test.shape.dims[0], out->test.shape.dims[1], out->test.shape.dims[2],
                        all.shape.dims[0], all.shape.dims[1], all.shape.dims[2]);
            dataset_free(&all);
            return false;
        }
        set_class_names(&out->test, &d->classes);
    }
    set_class_names(&all, &d->classes);
    const double f[2] = {1 - d->validation, d->validation};
    split_into(&all, f, 2, data_load_split_key(spec), (struct dataset *const[]){&out->train, &out->validation});
    return true;
}

static bool load_csv(struct ns_diag *diag, const struct spec *spec, struct data_load *out)
{
    const struct spec_data *d = &spec->data;
    bool regression = d->task == TASK_REGRESSION || (d->task == TASK_AUTO && spec->loss.type == LOSS_MSE);
    struct data_csv_opts o = {.label_column = d->label_column,
                              .label_loc = spec_field_loc(spec, d->node, "label_column"),
                              .regression = regression,
                              .class_count = regression ? 0 : (int)d->classes.count};
    struct dataset all = {0};
    /* Regular files only, refused before the CSV reader opens them (a FIFO would block it). */
    if (!data_check_input(diag, spec_field_loc(spec, d->node, "train"), d->train_csv)
        || (d->test_csv && !data_check_input(diag, spec_field_loc(spec, d->node, "test"), d->test_csv))
        || !data_csv_load(diag, spec_field_loc(spec, d->node, "train"), d->train_csv, &o, &all))
        return false;
    if (d->test_csv) {
        o.class_count = all.class_count;
        struct ns_loc loc = spec_field_loc(spec, d->node, "test");
        if (!data_csv_load(diag, loc, d->test_csv, &o, &out->test)) {
            dataset_free(&all);
            return false;
        }
        if (out->test.sample_size != all.sample_size) {
            ns_diag_add(diag, NS_ERR_DATA, loc, NULL, "\"%s\" has %zu features but \"%s\" has %zu", d->test_csv,
                        out->test.sample_size, d->train_csv, all.sample_size);
            dataset_free(&all);
            return false;
        }
        set_class_names(&out->test, &d->classes);
    }
    set_class_names(&all, &d->classes);
    const double f[2] = {1 - d->validation, d->validation};
    split_into(&all, f, 2, data_load_split_key(spec), (struct dataset *const[]){&out->train, &out->validation});
    return true;
}

static bool load_folder(struct ns_diag *diag, const struct spec *spec, int threads, struct data_load *out)
{
    const struct spec_data *d = &spec->data;
    struct data_folder_opts o;
    data_folder_opts_from_spec(spec, threads, &o);
    struct dataset all = {0};
    if (!data_folder_load(diag, &o, &all))
        return false;
    out->skipped = all.skipped;
    out->ignored = all.ignored;
    const double f[3] = {d->split.train, d->split.validation, d->split.test};
    split_into(&all, f, 3, data_load_split_key(spec),
               (struct dataset *const[]){&out->train, &out->validation, &out->test});
    return true;
}

bool data_load_spec(struct ns_diag *diag, const struct spec *spec, int threads, struct data_load *out)
{
    memset(out, 0, sizeof *out);
    bool ok = false;
    switch (spec->data.format) {
    case DATA_IDX:
        ok = load_idx(diag, spec, out);
        break;
    case DATA_CSV:
        ok = load_csv(diag, spec, out);
        break;
    case DATA_IMAGE_FOLDER:
        ok = load_folder(diag, spec, threads, out);
        break;
    }
    if (!ok) {
        data_load_free(out);
        return false;
    }
    out->shape = out->train.shape;
    out->class_count = out->train.class_count;
    return true;
}
