#include "data/data_load.h"

#include <stdlib.h>
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
    struct data_csv_opts o;
    data_csv_opts_from_spec(spec, &o);
    struct dataset all = {0};
    /* Regular files only, refused before the CSV reader opens them (a FIFO would block it). */
    if (!data_check_input(diag, spec_field_loc(spec, d->node, "train"), d->train_csv)
        || (d->test_csv && !data_check_input(diag, spec_field_loc(spec, d->node, "test"), d->test_csv))
        || !data_csv_load(diag, spec_field_loc(spec, d->node, "train"), d->train_csv, &o, &all))
        return false;
    if (d->test_csv) {
        /* The test file is read as the training file was: its columns by name, its categories
         * and classes. */
        o.layout = all.csv;
        if (!data_csv_load(diag, spec_field_loc(spec, d->node, "test"), d->test_csv, &o, &out->test)) {
            dataset_free(&all);
            return false;
        }
        set_class_names(&out->test, &d->classes);
    }
    set_class_names(&all, &d->classes);
    const double f[2] = {1 - d->validation, d->validation};
    split_into(&all, f, 2, data_load_split_key(spec), (struct dataset *const[]){&out->train, &out->validation});
    if (d->missing == MISSING_FILL_MEAN && out->train.csv)
        return data_csv_fill_missing(diag, spec_field_loc(spec, d->node, "missing"), out->train.csv, &out->train,
                                     (struct dataset *const[]){&out->validation, &out->test}, 2);
    return true;
}

enum { HINT_CLASSES = 8 };

/* "a, b, c" (the first HINT_CLASSES names, then "..."), for hints. */
static char *class_list(const char *const *names, int count)
{
    struct ns_buf b = {0};
    ns_buf_puts(&b, "");
    for (int c = 0; c < count && c < HINT_CLASSES; c++)
        ns_buf_printf(&b, "%s%s", c ? ", " : "", names[c]);
    if (count > HINT_CLASSES)
        ns_buf_puts(&b, ", ...");
    return b.data;
}

/* The class folders of `root` against the model's classes, by name: a class without a folder
 * and a folder that is no class are both errors (at `loc`, else at the folder). */
static bool match_classes(struct ns_diag *diag, const struct data_folder_opts *like, const char *root,
                          struct ns_loc loc, const char *what, const char *const *names, int count)
{
    struct data_folder_opts o = *like;
    o.root = root;
    o.root_loc = loc;
    o.class_count = 0;
    o.classes = NULL;
    o.class_locs = NULL;
    o.class_nodes = NULL;
    struct data_folder_index found;
    if (!data_folder_scan(diag, &o, false, &found))
        return false;
    bool ok = true;
    char *known = class_list(names, count);
    for (int c = 0; c < count; c++) {
        bool present = false;
        for (int f = 0; f < found.class_count && !present; f++)
            present = strcmp(found.class_names[f], names[c]) == 0;
        if (!present) {
            data_error(diag, loc, root, NULL, "the %s \"%s\" has no sub-folder for class \"%s\"", what, root,
                       names[c]);
            ns_diag_hint(diag, "classes are matched by name: every class the model knows (%s) needs a "
                               "sub-folder of images there", known);
            ok = false;
        }
    }
    for (int f = 0; f < found.class_count; f++) {
        bool known_class = false;
        for (int c = 0; c < count && !known_class; c++)
            known_class = strcmp(found.class_names[f], names[c]) == 0;
        if (!known_class) {
            const char *best = ns_closest(found.class_names[f], names, (size_t)count);
            data_error(diag, loc, root, NULL, "the %s \"%s\" has a sub-folder \"%s\", which is not one of the "
                       "model's classes", what, root, found.class_names[f]);
            if (best)
                ns_diag_hint(diag, "did you mean \"%s\"? the model knows %s", best, known);
            else
                ns_diag_hint(diag, "the model knows %s: move the folder out, or train with that class", known);
            ok = false;
        }
    }
    free(known);
    data_folder_index_free(&found);
    return ok;
}

/* The options for a folder laid out like the training folder, labelled in the model's class
 * order. */
static struct data_folder_opts folder_like(const struct data_folder_opts *like, const char *root, struct ns_loc loc,
                                           const char *const *names, int count)
{
    struct data_folder_opts o = *like;
    o.root = root;
    o.root_loc = loc;
    o.class_count = (size_t)count;
    o.classes = names;
    o.class_locs = NULL;
    o.class_nodes = NULL;
    return o;
}

static bool load_folder_like(struct ns_diag *diag, const struct data_folder_opts *like, const char *root,
                             struct ns_loc loc, const char *what, const char *const *names, int count,
                             struct dataset *out)
{
    if (!match_classes(diag, like, root, loc, what, names, count))
        return false;
    struct data_folder_opts o = folder_like(like, root, loc, names, count);
    return data_folder_load(diag, &o, out);
}

bool data_load_check_folders(struct ns_diag *diag, const struct spec *spec, size_t *validation_count,
                             size_t *test_count)
{
    const struct spec_data *d = &spec->data;
    *validation_count = *test_count = 0;
    if (d->format != DATA_IMAGE_FOLDER || (!d->test_folder && !d->validation_folder))
        return true;
    struct data_folder_opts o;
    data_folder_opts_from_spec(spec, 0, &o);
    struct data_folder_index train; /* the classes: listed, else root's sorted sub-folders */
    if (!data_folder_scan(diag, &o, false, &train))
        return false;
    const char *const *names = (const char *const *)train.class_names;
    const struct {
        const char *root, *key, *what;
        size_t *count;
    } extra[2] = {{d->validation_folder, "validation", "validation folder", validation_count},
                  {d->test_folder, "test", "test folder", test_count}};
    bool ok = true;
    for (int i = 0; i < 2; i++) {
        if (!extra[i].root)
            continue;
        struct ns_loc loc = spec_field_loc(spec, d->node, extra[i].key);
        struct data_header h;
        struct data_folder_opts fo = folder_like(&o, extra[i].root, loc, names, train.class_count);
        if (match_classes(diag, &o, extra[i].root, loc, extra[i].what, names, train.class_count) &&
            data_folder_check_opts(diag, &fo, &h))
            *extra[i].count = h.count;
        else
            ok = false;
    }
    data_folder_index_free(&train);
    return ok;
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
    /* Separate folders are loaded before the split moves `all`, whose class names they match. */
    struct dataset own[2] = {{0}, {0}};
    const char *roots[2] = {d->validation_folder, d->test_folder};
    const char *keys[2] = {"validation", "test"};
    for (int i = 0; i < 2; i++) {
        if (!roots[i])
            continue;
        char *what = ns_asprintf("%s folder", keys[i]);
        bool ok = load_folder_like(diag, &o, roots[i], spec_field_loc(spec, d->node, keys[i]), what,
                                   (const char *const *)all.class_names, all.class_count, &own[i]);
        free(what);
        if (!ok) {
            dataset_free(&own[0]);
            dataset_free(&all);
            return false;
        }
        out->skipped += own[i].skipped;
        out->ignored += own[i].ignored;
    }
    const double f[3] = {d->split.train, d->split.validation, d->split.test};
    split_into(&all, f, 3, data_load_split_key(spec),
               (struct dataset *const[]){&out->train, &out->validation, &out->test});
    struct dataset *parts[2] = {&out->validation, &out->test};
    for (int i = 0; i < 2; i++)
        if (roots[i]) {
            dataset_free(parts[i]);
            *parts[i] = own[i];
        }
    return true;
}

bool data_load_other(struct ns_diag *diag, const struct spec *spec, int threads, const char *path,
                     const char *labels, const char *const *class_names, int class_count,
                     const struct data_csv_layout *csv, struct dataset *out)
{
    const struct spec_data *d = &spec->data;
    memset(out, 0, sizeof *out);
    struct ns_loc at_file = {0}; /* file NULL: the loaders put errors at the data file */
    switch (d->format) {
    case DATA_IDX:
        return data_idx_load(diag, at_file, path, at_file, labels, class_count, out);
    case DATA_CSV: {
        struct data_csv_opts o;
        data_csv_opts_from_spec(spec, &o);
        o.label_loc = at_file;
        o.categorical_nodes = NULL;
        o.layout = csv;
        if (!csv) { /* a run that did not record its columns: the spec's options, the run's classes */
            o.class_count = o.regression ? 0 : class_count;
            o.class_names = NULL;
        }
        return data_check_input(diag, at_file, path) && data_csv_load(diag, at_file, path, &o, out)
               && (!csv || data_csv_fill_recorded(csv, out));
    }
    case DATA_IMAGE_FOLDER: {
        struct data_folder_opts o;
        data_folder_opts_from_spec(spec, threads, &o);
        return load_folder_like(diag, &o, path, at_file, "folder", class_names, class_count, out);
    }
    }
    return false;
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
