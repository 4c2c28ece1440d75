/* netspec eval: a trained run's loss, accuracy, per-class accuracy and confusion matrix. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/ns_file.h"
#include "core/ns_util.h"
#include "graph/graph.h"
#include "train/loop.h"
#include "run/run_dir.h"

static const char usage[] = "netspec eval RUN_DIR [--split test|validation | --data PATH [--labels PATH]] [--json] "
                            "[--allow-data-change] [--isa NAME]";

void cmd_eval_help(void)
{
    printf("usage: %s\n\n"
           "Evaluates the model in RUN_DIR (made by `netspec train`) on its test split (default)\n"
           "or its validation split: loss, accuracy, per-class accuracy and the confusion\n"
           "matrix (rows: true class, columns: predicted), or mse and rmse for regression.\n"
           "The data files must match the SHA-256 the run recorded in manifest.json.\n"
           "The report is also written to RUN_DIR/eval_SPLIT.json.\n"
           "With --data it scores other data of the kind the run was trained on instead: a folder\n"
           "with a sub-folder per class (classes matched by name; a class missing or extra is an\n"
           "error), an IDX images file with --labels, or a CSV file with the run's columns. The\n"
           "run's own data is then not read, and the report is only printed.\n"
           "Exit status: 0 ok, 2 usage error, 3 data error (missing or changed data),\n"
           "5 the report cannot be written.\n\n"
           "options:\n"
           "      --split NAME          test (default) or validation\n"
           "      --data PATH           evaluate on this folder (image_folder runs), IDX images file\n"
           "                            (idx runs) or CSV file (csv runs) instead\n"
           "      --labels PATH         the IDX labels file that goes with --data (idx runs)\n"
           "      --json                print JSON with the keys loss, accuracy, per_class, confusion\n"
           "      --allow-data-change   evaluate even when the data differs from the manifest\n"
           CLI_ISA_HELP,
           usage);
}

struct eval_args {
    const char *run_dir;
    const char *split;
    bool split_given;
    const char *data;   /* --data: other data instead of the run's split */
    const char *labels; /* --labels: its IDX labels */
    bool json;
    bool allow_data_change;
};

static bool parse_args(struct ns_ctx *ctx, int argc, char **argv, struct eval_args *a)
{
    memset(a, 0, sizeof *a);
    a->split = "test";
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *v;
        bool missing = false;
        int isa;
        if ((v = cli_option_value(argc, argv, &i, NULL, "--data", &missing))) {
            a->data = v;
        } else if ((v = cli_option_value(argc, argv, &i, NULL, "--labels", &missing))) {
            a->labels = v;
        } else if (missing) {
            cli_usage_error(ctx, usage, "%s needs a path", arg);
            return false;
        } else if (!strcmp(arg, "--json")) {
            a->json = true;
        } else if (!strcmp(arg, "--allow-data-change")) {
            a->allow_data_change = true;
        } else if ((isa = cli_isa_option(ctx, usage, argc, argv, &i)) != 0) {
            if (isa < 0)
                return false;
        } else if (!strcmp(arg, "--split") || !strncmp(arg, "--split=", 8)) {
            if (arg[7] == '=') {
                a->split = arg + 8;
            } else if (i + 1 < argc) {
                a->split = argv[++i];
            } else {
                cli_usage_error(ctx, usage, "--split needs test or validation");
                return false;
            }
            if (strcmp(a->split, "test") != 0 && strcmp(a->split, "validation") != 0) {
                cli_usage_error(ctx, usage, "--split is test or validation, not \"%s\"", a->split);
                return false;
            }
            a->split_given = true;
        } else if (!cli_take_argument(ctx, usage, arg, &a->run_dir)) {
            return false;
        }
    }
    if (!a->run_dir) {
        cli_usage_error(ctx, usage, "no run directory given");
        return false;
    }
    if (a->data && a->split_given) {
        cli_usage_error(ctx, usage, "--split names a part of the run's own data and --data other data: give one");
        return false;
    }
    if (a->labels && !a->data) {
        cli_usage_error(ctx, usage, "--labels is the labels file of --data IMAGES (idx runs): give --data too");
        return false;
    }
    return true;
}

/* --data must be what the run's format reads: a folder for image folders, a file otherwise,
 * and --labels exactly for IDX. */
static bool check_data_kind(struct ns_ctx *ctx, const struct spec *spec, const struct eval_args *a)
{
    const struct spec_data *d = &spec->data;
    struct stat st;
    bool exists = stat(a->data, &st) == 0, folder = exists && S_ISDIR(st.st_mode);
    struct ns_loc at = {a->data, 0, 0, 0};
    if (d->format == DATA_IMAGE_FOLDER) {
        if (a->labels) {
            cli_usage_error(ctx, usage, "--labels is for idx runs; in an image folder the sub-folders are the labels");
            return false;
        }
        if (exists && !folder) {
            ns_diag_add(&ctx->diag, NS_ERR_DATA, at, "give a folder with one sub-folder of images per class",
                        "\"%s\" is not a folder, but %s was trained on an image folder", a->data, a->run_dir);
            return false;
        }
        return true;
    }
    const char *kind = d->format == DATA_IDX ? "IDX files" : "a CSV file";
    if (d->format == DATA_IDX && !a->labels) {
        cli_usage_error(ctx, usage, "%s was trained on IDX files: give --data IMAGES --labels LABELS", a->run_dir);
        return false;
    }
    if (d->format == DATA_CSV && a->labels) {
        cli_usage_error(ctx, usage, "--labels is for idx runs; a csv run reads its label column \"%s\" from --data",
                        d->label_column);
        return false;
    }
    if (folder) {
        ns_diag_add(&ctx->diag, NS_ERR_DATA, at,
                    d->format == DATA_IDX ? "give --data IMAGES --labels LABELS (IDX files, .gz or not)"
                                          : "give a CSV file with the run's columns",
                    "\"%s\" is a folder, but %s was trained on %s", a->data, a->run_dir, kind);
        return false;
    }
    return true;
}

/* The data must be what the run was trained on, or the figures describe something else. */
static bool check_data(struct ns_ctx *ctx, const struct spec *spec, const struct eval_args *a)
{
    struct run_dir_file *old = NULL, *now = NULL;
    size_t old_count = 0, now_count = 0;
    struct trainset_files list;
    if (!run_dir_read_manifest_files(ctx, a->run_dir, &old, &old_count))
        return false;
    bool ok = trainset_list_files(ctx, spec, &list);
    if (ok) {
        ok = run_dir_hash_files(&ctx->diag, &list, &now, &now_count);
        trainset_files_free(&list);
    }
    if (ok) {
        struct ns_buf why = {0};
        if (!run_dir_compare_files(old, old_count, now, now_count, &why)) {
            if (a->allow_data_change) {
                fprintf(stderr, "netspec: warning: the data differs from the run's manifest "
                                "(--allow-data-change):\n%s", why.data);
            } else {
                /* One line per file, without the trailing newline. */
                if (why.len && why.data[why.len - 1] == '\n')
                    why.data[--why.len] = '\0';
                ns_diag_add(&ctx->diag, NS_ERR_DATA, (struct ns_loc){a->run_dir, 0, 0, 0},
                            "restore the data the run was trained on, or pass --allow-data-change",
                            "the data differs from what %s was trained on:\n  %s", a->run_dir, why.data);
                ok = false;
            }
        }
        ns_buf_free(&why);
    }
    run_dir_files_free(old, old_count);
    run_dir_files_free(now, now_count);
    return ok;
}

static void put_report_json(struct ns_buf *b, const char *name, const char *split, const char *data,
                            const struct trainset *ts, const struct loop_eval *ev)
{
    ns_buf_puts(b, "{\n  \"name\": ");
    run_dir_json_put_string(b, name);
    ns_buf_puts(b, ",\n  \"split\": ");
    run_dir_json_put_string(b, split);
    if (data) {
        ns_buf_puts(b, ",\n  \"data\": ");
        run_dir_json_put_string(b, data);
    }
    ns_buf_printf(b, ",\n  \"count\": %zu,\n  \"loss\": ", ev->count);
    run_dir_json_put_number(b, ev->loss);
    if (ts->regression) {
        ns_buf_puts(b, ",\n  \"mse\": ");
        run_dir_json_put_number(b, ev->mse);
        ns_buf_puts(b, ",\n  \"rmse\": ");
        run_dir_json_put_number(b, ev->rmse);
        ns_buf_puts(b, "\n}\n");
        return;
    }
    int k = ev->class_count;
    ns_buf_puts(b, ",\n  \"accuracy\": ");
    run_dir_json_put_number(b, ev->accuracy);
    ns_buf_puts(b, ",\n  \"classes\": [");
    for (int c = 0; c < k; c++) {
        ns_buf_puts(b, c ? ", " : "");
        run_dir_json_put_string(b, ts->class_names[c]);
    }
    ns_buf_puts(b, "],\n  \"per_class\": {");
    for (int c = 0; c < k; c++) {
        uint64_t total = 0;
        for (int p = 0; p < k; p++)
            total += ev->confusion[(size_t)c * (size_t)k + (size_t)p];
        ns_buf_puts(b, c ? ",\n    " : "\n    ");
        run_dir_json_put_string(b, ts->class_names[c]);
        ns_buf_puts(b, ": ");
        run_dir_json_put_number(b, total ? (double)ev->confusion[(size_t)c * (size_t)k + (size_t)c] / (double)total
                                        : NAN);
    }
    ns_buf_puts(b, k ? "\n  },\n  \"confusion\": [" : "},\n  \"confusion\": [");
    for (int c = 0; c < k; c++) {
        ns_buf_puts(b, c ? ",\n    [" : "\n    [");
        for (int p = 0; p < k; p++)
            ns_buf_printf(b, "%s%llu", p ? ", " : "",
                          (unsigned long long)ev->confusion[(size_t)c * (size_t)k + (size_t)p]);
        ns_buf_puts(b, "]");
    }
    ns_buf_puts(b, k ? "\n  ]\n}\n" : "]\n}\n");
}

static void print_table(const char *name, const char *split, const char *data, const struct trainset *ts,
                        const struct loop_eval *ev)
{
    if (data)
        printf("%s: %s, %zu samples\n", name, data, ev->count);
    else
        printf("%s: %s split, %zu samples\n", name, split, ev->count);
    if (ts->regression) {
        printf("  mse   %.6g\n  rmse  %.6g\n", ev->mse, ev->rmse);
        return;
    }
    int k = ev->class_count;
    printf("  loss      %.4f\n  accuracy  %.2f%%\n\nper-class accuracy:\n", ev->loss, 100 * ev->accuracy);
    int name_w = 5;
    for (int c = 0; c < k; c++) {
        int w = (int)strlen(ts->class_names[c]);
        name_w = w > name_w ? w : name_w;
    }
    int idx_w = snprintf(NULL, 0, "%d", k - 1);
    uint64_t most = 0;
    for (size_t i = 0; i < (size_t)k * (size_t)k; i++)
        most = ev->confusion[i] > most ? ev->confusion[i] : most;
    int cell_w = snprintf(NULL, 0, "%llu", (unsigned long long)most);
    cell_w = cell_w > idx_w ? cell_w : idx_w;
    for (int c = 0; c < k; c++) {
        uint64_t total = 0;
        for (int p = 0; p < k; p++)
            total += ev->confusion[(size_t)c * (size_t)k + (size_t)p];
        uint64_t right = ev->confusion[(size_t)c * (size_t)k + (size_t)c];
        if (total)
            printf("  %*d %-*s  %6.2f%%  (%llu/%llu)\n", idx_w, c, name_w, ts->class_names[c],
                   100.0 * (double)right / (double)total, (unsigned long long)right, (unsigned long long)total);
        else
            printf("  %*d %-*s       -  (no samples)\n", idx_w, c, name_w, ts->class_names[c]);
    }
    printf("\nconfusion matrix (rows: true class, columns: predicted class):\n");
    printf("  %*s %-*s ", idx_w, "", name_w, "");
    for (int p = 0; p < k; p++)
        printf(" %*d", cell_w, p);
    printf("\n");
    for (int c = 0; c < k; c++) {
        printf("  %*d %-*s ", idx_w, c, name_w, ts->class_names[c]);
        for (int p = 0; p < k; p++)
            printf(" %*llu", cell_w, (unsigned long long)ev->confusion[(size_t)c * (size_t)k + (size_t)p]);
        printf("\n");
    }
}

int cmd_eval(struct ns_ctx *ctx, int argc, char **argv)
{
    struct eval_args a;
    if (!parse_args(ctx, argc, argv, &a))
        return 2;
    int rc;
    struct trainset ts;
    memset(&ts, 0, sizeof ts);
    struct model run;
    if (!model_load(ctx, a.run_dir, &run)) {
        rc = (int)ns_diag_code(&ctx->diag);
        goto out;
    }
    const struct spec *spec = run.spec;
    if (a.data) {
        /* Other data: the run's own files are neither checked nor read. */
        if (!check_data_kind(ctx, spec, &a) ||
            !trainset_load_other(ctx, spec, &run.info.input, run.info.class_count,
                                 (const char *const *)run.class_names, run.csv, &run.norm, a.data, a.labels,
                                 &ts)) {
            rc = (int)ns_diag_code(&ctx->diag);
            goto out;
        }
        a.split = "data";
    } else if (!check_data(ctx, spec, &a) || !trainset_load(ctx, spec, run.info.class_count, &ts)) {
        rc = (int)ns_diag_code(&ctx->diag);
        goto out;
    }
    if (ts.sample_size != run.g->input_size) {
        ns_diag_add(&ctx->diag, NS_ERR_DATA, (struct ns_loc){a.data ? a.data : a.run_dir, 0, 0, 0}, NULL,
                    "the data now gives %zu inputs per example; the model takes %zu", ts.sample_size,
                    run.g->input_size);
        rc = 3;
        goto out;
    }
    /* The preprocessing the run recorded, fitted values included, not a refit. */
    data_prep_norm_free(&ts.norm);
    data_prep_norm_copy(&run.norm, &ts.norm);
    bool want_test = !strcmp(a.split, "test") || a.data;
    const struct dataset *ds = a.data ? &ts.test : trainset_split(&ts, a.split);
    bool present = want_test ? ts.has_test : ts.has_validation;
    if (a.data && !ds->count) {
        ns_diag_add(&ctx->diag, NS_ERR_DATA, (struct ns_loc){a.data, 0, 0, 0}, NULL, "\"%s\" holds no samples",
                    a.data);
        rc = 3;
        goto out;
    }
    if (!present || !ds->count) {
        ns_diag_add(&ctx->diag, NS_ERR_SPEC, (struct ns_loc){a.run_dir, 0, 0, 0},
                    want_test ? "use --split validation" : "use --split test",
                    "the run's spec has no %s data", a.split);
        rc = 2;
        goto out;
    }
    struct loss_config lc = loss_config_from_spec(spec, ts.regression);
    struct exec *ex = exec_new_mode(run.g, spec->train.batch_size, GRAPH_INFERENCE);
    exec_set_threads(ex, ctx->threads);
    exec_set_isa(ex, ctx->isa);
    struct loop_eval ev;
    loop_evaluate(run.g, ex, run.st.params, &ts, ds, &lc, &ev);
    exec_free(ex);
    struct ns_buf json = {0};
    put_report_json(&json, spec->name, a.split, a.data, &ts, &ev);
    if (a.json)
        fputs(json.data, stdout);
    else
        print_table(spec->name, a.split, a.data, &ts, &ev);
    fflush(stdout);
    rc = 0;
    if (!a.data) { /* the run's files describe its own data only */
        char *name = ns_asprintf("eval_%s.json", a.split);
        char *out_path = ns_path_join(a.run_dir, name);
        rc = ns_file_write_text(&ctx->diag, out_path, json.data) ? 0 : (int)ns_diag_code(&ctx->diag);
        free(name);
        free(out_path);
    }
    ns_buf_free(&json);
    loop_eval_free(&ev);
out:
    model_free(&run);
    trainset_free(&ts);
    return rc;
}
