/* A trained run loaded back from its directory: the one path `eval` and `predict` share, so
 * both see the model exactly as training left it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/model.h"
#include "core/ns_util.h"
#include "data/data_folder.h"
#include "graph/graph.h"
#include "train/checkpoint.h"
#include "core/ns_file.h"
#include "core/ns_sha256.h"
#include "spec/spec_size.h"

/* Listed classes in list order, else a folder's sorted sub-folders, else the label numbers:
 * the names trainset_load gives the same run. */
static bool class_names(struct ns_ctx *ctx, struct model *run)
{
    const struct spec_data *d = &run->spec->data;
    int k = run->info.class_count;
    run->class_names = ns_xcalloc((size_t)(k > 0 ? k : 1), sizeof *run->class_names);
    struct data_folder_index idx;
    bool scanned = false;
    if (!d->classes.count && d->format == DATA_IMAGE_FOLDER) {
        struct data_folder_opts o;
        data_folder_opts_from_spec(run->spec, ctx->threads, &o);
        if (!data_folder_scan(&ctx->diag, &o, false, &idx))
            return false;
        scanned = true;
    }
    for (int c = 0; c < k; c++) {
        const char *name = NULL;
        if ((size_t)c < d->classes.count)
            name = d->classes.names[c];
        else if (scanned && c < idx.class_count)
            name = idx.class_names[c];
        run->class_names[c] = name ? ns_xstrdup(name) : ns_asprintf("%d", c);
    }
    if (scanned)
        data_folder_index_free(&idx);
    return true;
}

/* Reads model.yaml (written by train). False without a diag when the run predates it; with
 * a diag when it is damaged. */
static bool read_model_info(struct ns_ctx *ctx, const char *run_dir, struct model *run, bool *present)
{
    char *path = ns_path_join(run_dir, "model.yaml");
    *present = access(path, F_OK) == 0;
    bool ok = false;
    const struct spec_node *root = *present ? spec_tree_load_file(ctx, path) : NULL;
    const struct spec_node *input = spec_tree_get(root, "input");
    const struct spec_node *classes = spec_tree_get(root, "classes");
    if (root && input && classes && input->kind == SPEC_SEQ && classes->kind == SPEC_SEQ &&
        (input->count == 1 || input->count == 3)) {
        run->info.input.rank = (int)input->count;
        ok = true;
        for (size_t i = 0; i < input->count; i++) {
            const struct spec_node *d = input->items[i];
            run->info.input.dims[i] = d->kind == SPEC_SCALAR ? atoi(d->text) : 0;
            ok &= run->info.input.dims[i] > 0;
        }
        run->info.class_count = (int)classes->count;
        run->class_names = ns_xcalloc(classes->count + 1, sizeof *run->class_names);
        for (size_t c = 0; c < classes->count; c++) {
            const struct spec_node *n = classes->items[c];
            run->class_names[c] = ns_xstrdup(n->kind == SPEC_SCALAR ? n->text : "?");
        }
    }
    if (*present && !ok && !ns_diag_has_errors(&ctx->diag))
        ns_diag_add(&ctx->diag, NS_ERR_DATA, (struct ns_loc){path, 0, 0, 0}, NULL,
                    "damaged run file: expected `input: [...]` and `classes: [...]`");
    /* Runs made before model.yaml recorded the preprocessing take it from their spec. */
    const struct spec_node *norm = spec_tree_get(root, "normalize"), *csv = spec_tree_get(root, "csv");
    if (ok && norm)
        ok = data_prep_norm_from_yaml(&ctx->diag, path, norm, run->info.input, &run->norm);
    else if (ok)
        ok = data_prep_from_spec(&ctx->diag, run->spec, run->info.input, &run->norm, &(struct data_prep_augment){0});
    if (ok && csv)
        ok = data_csv_layout_from_yaml(&ctx->diag, path, csv, &run->csv);
    if (ok && run->csv && !run->csv->regression) {
        /* The classes are model.yaml's own list; labels of other files are read against it. */
        run->csv->class_count = run->info.class_count;
        if (run->csv->label_names) {
            run->csv->class_names = ns_xcalloc((size_t)run->info.class_count + 1, sizeof *run->csv->class_names);
            for (int c = 0; c < run->info.class_count; c++)
                run->csv->class_names[c] = ns_xstrdup(run->class_names[c]);
        }
    }
    if (ok && run->csv && run->csv->input_size != dataset_shape_size(run->info.input)) {
        ns_diag_add(&ctx->diag, NS_ERR_DATA, (struct ns_loc){path, csv->line, csv->col, 1}, NULL,
                    "damaged run file: `csv:` describes %zu inputs, `input:` %zu", run->csv->input_size,
                    dataset_shape_size(run->info.input));
        ok = false;
    }
    free(path);
    return ok;
}

static void sha256_of_file(const char *path, char hex[65], bool *present)
{
    uint8_t digest[32];
    int err = 0;
    *present = ns_sha256_file(path, digest, &err);
    if (*present)
        ns_sha256_hex(digest, hex);
    else
        hex[0] = '\0';
}

/* model.nsm is read whole, and before the spec says how big the model is: a file larger than
 * training could have held in memory (runtime.max_memory's automatic share) is not one. */
static bool check_model_file(struct ns_ctx *ctx, const char *path)
{
    uint64_t size = 0;
    int err = ns_file_check_input(path, &size);
    double limit = model_memory_limit(&(struct spec){.runtime.max_memory = 0});
    if (!err && (double)size <= limit)
        return true;
    char *shown = ns_path_printable(path);
    if (err)
        ns_diag_add(&ctx->diag, NS_ERR_DATA, (struct ns_loc){path, 0, 0, 0},
                    "a run's model.nsm is the file `netspec train` wrote there", "cannot read %s: %s", shown,
                    ns_file_strerror(err));
    else {
        char text[SPEC_SIZE_TEXT_MAX];
        spec_size_format(limit, text);
        ns_diag_add(&ctx->diag, NS_ERR_DATA, (struct ns_loc){path, 0, 0, 0},
                    "a run's model.nsm is the file `netspec train` wrote there",
                    "%s has %llu bytes, more than training can hold in memory here (%s)", shown,
                    (unsigned long long)size, text);
    }
    free(shown);
    return false;
}

/* model.nsm stores every parameter as 4 bytes: a file too small for the ones the spec
 * describes is refused before they (and the optimizer's state) are allocated. A crafted run
 * whose spec declares 10^8 units otherwise took gigabytes first (found by
 * tests/fuzz/fuzz_model). */
static bool model_file_holds(struct ns_ctx *ctx, const char *path, const struct graph *g)
{
    uint64_t size = 0;
    if (ns_file_check_input(path, &size) == 0 && (uint64_t)g->param_floats <= size / 4)
        return true;
    char *shown = ns_path_printable(path);
    ns_diag_add(&ctx->diag, NS_ERR_DATA, (struct ns_loc){path, 0, 0, 0},
                "the file belongs to another model: train this spec, or use the run it came from",
                "%s has %llu bytes, too few for the %zu parameters the run's spec describes (4 bytes each)", shown,
                (unsigned long long)size, g->param_floats);
    free(shown);
    return false;
}

bool model_verify_binding(struct ns_ctx *ctx, const char *run_dir)
{
    static const char *const files[2] = {"spec.resolved.yaml", "model.yaml"};
    char recorded[2][65], actual[65];
    char *model_path = ns_path_join(run_dir, "model.nsm");
    bool ok = check_model_file(ctx, model_path)
              && checkpoint_read_binding(&ctx->diag, model_path, recorded[0], recorded[1]);
    for (int i = 0; ok && i < 2; i++) {
        char *path = ns_path_join(run_dir, files[i]);
        const char *hint = "the files of a run directory belong together: restore the original, or train again";
        int err = ns_file_check_input(path, NULL);
        if (err && err != ENOENT) {
            ns_diag_add(&ctx->diag, NS_ERR_DATA, (struct ns_loc){path, 0, 0, 0}, hint, "cannot read %s: %s", path,
                        ns_file_strerror(err));
            ok = false;
            free(path);
            break;
        }
        bool present;
        sha256_of_file(path, actual, &present);
        if (!present) {
            ns_diag_add(&ctx->diag, NS_ERR_DATA, (struct ns_loc){path, 0, 0, 0}, hint,
                        "%s is missing: %s records the %s it was trained with", path, model_path, files[i]);
            ok = false;
        } else if (strcmp(actual, recorded[i]) != 0) {
            ns_diag_add(&ctx->diag, NS_ERR_DATA, (struct ns_loc){path, 0, 0, 0}, hint,
                        "%s is not the %s that %s was trained with (SHA-256 %.12s..., recorded %.12s...)", path,
                        files[i], model_path, actual, recorded[i]);
            ok = false;
        }
        free(path);
    }
    free(model_path);
    return ok;
}

bool model_load(struct ns_ctx *ctx, const char *run_dir, struct model *out)
{
    memset(out, 0, sizeof *out);
    char *spec_path = ns_path_join(run_dir, "spec.resolved.yaml");
    char *model_path = ns_path_join(run_dir, "model.nsm");
    bool ok = false;
    int err = ns_file_check_input(spec_path, NULL);
    if (err) {
        char *shown = ns_path_printable(run_dir);
        if (err == ENOENT || err == ENOTDIR)
            ns_diag_add(&ctx->diag, NS_ERR_SPEC, (struct ns_loc){shown, 0, 0, 0},
                        "give the directory `netspec train` wrote (runs/NAME by default)",
                        "%s is not a run directory: it has no spec.resolved.yaml", shown);
        else
            ns_diag_add(&ctx->diag, NS_ERR_DATA, (struct ns_loc){spec_path, 0, 0, 0},
                        "give the directory `netspec train` wrote (runs/NAME by default)",
                        "cannot read %s/spec.resolved.yaml: %s", shown, ns_file_strerror(err));
        free(shown);
        goto out;
    }
    if (!model_verify_binding(ctx, run_dir))
        goto out;
    out->spec = spec_load(ctx, op_catalog(), spec_path, NULL, 0);
    if (!out->spec)
        goto out;
    model_choose_threads(ctx, 0, out->spec);
    bool has_info;
    if (read_model_info(ctx, run_dir, out, &has_info)) {
        /* The model's own record: no data file needs to be there. */
        out->g = graph_build(ctx, out->spec, out->info.input, out->info.class_count);
        if (!out->g || !graph_check_output(ctx, out->spec, out->g, out->info.class_count))
            goto out;
    } else if (has_info || !model_prepare(ctx, out->spec, &out->info, &out->g) ||
               !data_prep_from_spec(&ctx->diag, out->spec, out->info.input, &out->norm,
                                    &(struct data_prep_augment){0})) {
        goto out;
    }
    if (!model_file_holds(ctx, model_path, out->g))
        goto out;
    train_state_blank(&out->st, out->spec, out->g);
    if (!checkpoint_read(&ctx->diag, model_path, out->g, &out->st))
        goto out;
    ok = out->class_names || class_names(ctx, out);
out:
    if (!ok)
        model_free(out);
    free(spec_path);
    free(model_path);
    return ok;
}

void model_free(struct model *run)
{
    if (!run)
        return;
    train_state_free(&run->st);
    data_prep_norm_free(&run->norm);
    data_csv_layout_free(run->csv);
    if (run->class_names) {
        for (int c = 0; c < run->info.class_count; c++)
            free(run->class_names[c]);
        free(run->class_names);
    }
    memset(run, 0, sizeof *run);
}
