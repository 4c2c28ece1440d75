/* netspec predict: classify image files, or the rows of a CSV file, with a trained run,
 * preprocessed as in training. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/ns_file.h"
#include "core/ns_util.h"
#include "data/data_csv.h"
#include "data/data_folder.h"
#include "data/data_prep.h"
#include "graph/graph.h"
#include "kernels/activation.h"
#include "runtime/exec.h"
#include "train/loss.h"
#include "run/run_dir.h"

static const char usage[] = "netspec predict RUN_DIR FILE... [--top K] [--json] [-o FILE.csv] [--isa NAME]";

enum { DEFAULT_TOP = 5 };

void cmd_predict_help(void)
{
    printf("usage: %s\n\n"
           "Classifies image files (PNG, JPEG, BMP, PGM/PPM) with the model in RUN_DIR (made by\n"
           "`netspec train`): each image is converted to the run's channels, resized to its input\n"
           "size and normalised exactly as in training, and the model runs in inference mode\n"
           "(batchnorm running statistics, no dropout). Prints each file's K most likely classes\n"
           "with their probabilities (softmax; sigmoid for binary_cross_entropy; for a model\n"
           "trained with mse, the output values as scores).\n"
           "A FILE of - reads more paths from standard input, one per line.\n"
           "For a run trained on CSV data, FILE is one CSV file (.gz or not; - = standard input)\n"
           "whose rows hold the training columns, by name, in any order; the label column and\n"
           "other columns may be there and are not read. Each row is encoded as the run recorded\n"
           "(categories one-hot, missing cells filled when the run used fill_mean) and\n"
           "normalised as in training; predict prints its line, class and probability (the value\n"
           "for regression). The probabilities equal eval's bit for bit.\n"
           "The run's model.yaml gives the input shape, the classes and the preprocessing, so\n"
           "the training data need not be there. Files or rows that cannot be read are reported\n"
           "at the end with their place and the reason; the others are still predicted. Paths\n"
           "are printed as text (control characters and bytes that are not UTF-8 as \\xNN).\n"
           "Exit status: 0 ok, 2 usage error, 3 data error (an unreadable image, row or run),\n"
           "5 an output (-o, standard output) cannot be written.\n\n"
           "options:\n"
           "      --top K     the K most likely classes per file (default %d; any K above the\n"
           "                  number of classes prints them all) or per CSV row (default 1)\n"
           "      --json      print a JSON list: [{\"file\": ..., \"top\": [{\"class\": ...,\n"
           "                  \"probability\": ...}, ...]}, ...] (\"score\" for mse runs); for CSV\n"
           "                  rows [{\"line\": N, \"class\": ..., \"probability\": ...,\n"
           "                  \"probabilities\": {CLASS: ..., ...}}, ...], or {\"line\": N, \"value\": ...}\n"
           "                  for regression; each number reads back (as a double, then a float)\n"
           "                  to the exact float computed\n"
           "  -o, --output FILE.csv\n"
           "                  CSV runs: write the input rows with the columns predicted and\n"
           "                  probability (predicted alone for regression) added, in the input's\n"
           "                  delimiter; rows that could not be read get empty cells\n"
           CLI_ISA_HELP,
           usage, DEFAULT_TOP);
}

struct predict_args {
    const char *run_dir;
    int top;
    bool top_given;
    bool json;
    const char *output; /* -o: CSV runs */
    size_t file_count;
    char **files; /* (file_count) owned; `-` already replaced by the lines of stdin */
};

static void args_free(struct predict_args *a)
{
    for (size_t i = 0; i < a->file_count; i++)
        free(a->files[i]);
    free(a->files);
    memset(a, 0, sizeof *a);
}

static void add_file(struct predict_args *a, const char *path, size_t len)
{
    a->files = ns_xrealloc(a->files, (a->file_count + 1) * sizeof *a->files);
    a->files[a->file_count++] = ns_xstrndup(path, len);
}

/* One path per line; blank lines are skipped and a CR before the newline dropped, so lists
 * written on any system work. Everything else on the line is part of the path. */
static void read_stdin_list(struct predict_args *a)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        size_t len = (size_t)n;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (len)
            add_file(a, line, len);
    }
    free(line);
}

/* Images: the "-" placeholder becomes the paths on standard input, in its place. */
static void expand_stdin(struct predict_args *a)
{
    struct predict_args listed = {0};
    for (size_t i = 0; i < a->file_count; i++) {
        if (!strcmp(a->files[i], "-"))
            read_stdin_list(&listed);
        else
            add_file(&listed, a->files[i], strlen(a->files[i]));
        free(a->files[i]);
    }
    free(a->files);
    a->files = listed.files;
    a->file_count = listed.file_count;
}

/* Any whole number from 1: more than the classes prints them all, however many more. */
static bool parse_top(const char *text, int *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end || v < 1 || (errno && errno != ERANGE))
        return false;
    *out = v > INT_MAX || errno == ERANGE ? INT_MAX : (int)v;
    return true;
}

static bool parse_args(struct ns_ctx *ctx, int argc, char **argv, struct predict_args *a)
{
    memset(a, 0, sizeof *a);
    a->top = DEFAULT_TOP;
    bool stdin_read = false, any_file = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *v;
        bool missing = false;
        int isa;
        if (!strcmp(arg, "--json")) {
            a->json = true;
        } else if ((isa = cli_isa_option(ctx, usage, argc, argv, &i)) != 0) {
            if (isa < 0)
                return false;
        } else if (!strcmp(arg, "--top") || !strncmp(arg, "--top=", 6)) {
            v = arg[5] == '=' ? arg + 6 : i + 1 < argc ? argv[++i] : NULL;
            if (!v) {
                cli_usage_error(ctx, usage, "--top needs a number");
                return false;
            }
            a->top_given = true;
            if (!parse_top(v, &a->top)) {
                cli_usage_error(ctx, usage, "--top needs a whole number of at least 1, not \"%s\"", v);
                return false;
            }
        } else if (!strcmp(arg, "-") && a->run_dir) {
            if (stdin_read) {
                cli_usage_error(ctx, usage, "- (standard input) is given twice");
                return false;
            }
            /* Paths of images, or the rows of a CSV file: the run decides (expand_stdin). */
            stdin_read = any_file = true;
            add_file(a, arg, 1);
        } else if ((v = cli_option_value(argc, argv, &i, "-o", "--output", &missing))) {
            a->output = v;
        } else if (missing) {
            cli_usage_error(ctx, usage, "%s needs a file name", arg);
            return false;
        } else if (arg[0] == '-' && arg[1]) {
            cli_usage_error(ctx, usage, "unknown option \"%s\"", arg);
            return false;
        } else if (!a->run_dir) {
            a->run_dir = arg;
        } else {
            any_file = true;
            add_file(a, arg, strlen(arg));
        }
    }
    if (!a->run_dir) {
        cli_usage_error(ctx, usage, "no run directory given");
        return false;
    }
    if (!any_file) {
        cli_usage_error(ctx, usage, "no image files given (use - to read their paths from standard input)");
        return false;
    }
    return true;
}

/* What the outputs mean to a person: probabilities, or plain scores for an mse run. */
enum output_kind { OUT_SOFTMAX, OUT_SIGMOID, OUT_SCORE };

/* Per-class values of one output row, in float, by the runtime's own functions: the one
 * softmax of kernels/activations.def (the emitted classifier runs its text), the sigmoid per
 * output (one output: class 1 is sigmoid(z), class 0 is 1 - that, as the emitted code has it),
 * or the outputs themselves. So these are the emitted classifier's probabilities bit for bit. */
static void class_values(enum output_kind kind, int k, int classes, const float *z /* (k) */,
                         float *p /* (classes) */)
{
    if (kind == OUT_SIGMOID && k == 1) {
        float s = z[0];
        activation_forward(KERNELS_CPU_SERIAL, ACT_SIGMOID, 0.0f, &s, 1, 1);
        p[0] = 1.0f - s;
        p[1] = s;
        return;
    }
    for (int j = 0; j < classes; j++)
        p[j] = z[j];
    if (kind == OUT_SOFTMAX)
        activation_softmax_row(p, (size_t)k);
    else if (kind == OUT_SIGMOID)
        activation_forward(KERNELS_CPU_SERIAL, ACT_SIGMOID, 0.0f, p, 1, (size_t)classes);
}

/* The `top` best classes, highest value first, the lower class index first on a tie (as
 * loss_predict's argmax). order: (top). */
static void rank_classes(const float *p, int classes, int top, int *order)
{
    bool *used = ns_xcalloc((size_t)classes, sizeof *used);
    for (int r = 0; r < top; r++) {
        int best = -1;
        for (int c = 0; c < classes; c++)
            if (!used[c] && (best < 0 || p[c] > p[best]))
                best = c;
        used[best] = true;
        order[r] = best;
    }
    free(used);
}

struct predictor {
    const struct model *run;
    enum output_kind kind;
    int k;          /* model outputs per sample */
    int classes;    /* classes named in the output */
    int top;
    bool json;
    int name_width; /* the longest class name, for aligned text */
    size_t printed; /* files printed so far (JSON commas) */
    float *p;       /* (classes) scratch */
    int *order;     /* (top) scratch */
};

static void print_one(struct predictor *pr, const char *file, const float *z /* (k) */)
{
    class_values(pr->kind, pr->k, pr->classes, z, pr->p);
    rank_classes(pr->p, pr->classes, pr->top, pr->order);
    char *const *names = pr->run->class_names;
    /* A path is echoed as text: control characters and bytes that are not UTF-8 as \xNN. */
    char *shown = ns_path_printable(file);
    if (!pr->json) {
        printf("%s\n", shown);
        free(shown);
        for (int r = 0; r < pr->top; r++) {
            int c = pr->order[r];
            if (pr->kind == OUT_SCORE)
                printf("  %-*s  %10.4f\n", pr->name_width, names[c], (double)pr->p[c]);
            else
                printf("  %-*s  %6.2f%%\n", pr->name_width, names[c], 100 * (double)pr->p[c]);
        }
        pr->printed++;
        return;
    }
    struct ns_buf b = {0};
    ns_buf_puts(&b, pr->printed ? ",\n  {\"file\": " : "\n  {\"file\": ");
    run_dir_json_put_string(&b, ns_text_is_clean_utf8(file) ? file : shown);
    free(shown);
    ns_buf_puts(&b, ", \"top\": [");
    for (int r = 0; r < pr->top; r++) {
        int c = pr->order[r];
        ns_buf_puts(&b, r ? ", {\"class\": " : "{\"class\": ");
        run_dir_json_put_string(&b, names[c]);
        ns_buf_puts(&b, pr->kind == OUT_SCORE ? ", \"score\": " : ", \"probability\": ");
        run_dir_json_put_number(&b, (double)pr->p[c]); /* reads back as the exact float */
        ns_buf_puts(&b, "}");
    }
    ns_buf_puts(&b, "]}");
    fputs(b.data, stdout);
    ns_buf_free(&b);
    pr->printed++;
}

/* Decodes files[0..n) into raw (n, sample) slots; a file that fails is reported in the diag
 * and left out. Returns how many decoded; kept[i] = the file of slot i. */
static size_t decode_batch(struct ns_ctx *ctx, char *const *files, size_t n, struct spec_shape shape,
                           float *raw /* (n, h, w, c) */, size_t *kept)
{
    size_t sample = dataset_shape_size(shape), good = 0;
    for (size_t i = 0; i < n; i++) {
        /* An error with no spec place is reported at the image file itself. */
        if (data_folder_load_image(&ctx->diag, (struct ns_loc){0}, files[i], shape.dims[0], shape.dims[1],
                                   shape.dims[2], raw + good * sample))
            kept[good++] = i;
    }
    return good;
}

static int predict_files(struct ns_ctx *ctx, const struct predict_args *a, const struct model *run)
{
    const struct spec *spec = run->spec;
    const struct graph *g = run->g;
    struct spec_shape shape = g->input_shape;
    if (shape.rank != 3 || !run->info.class_count) {
        ns_diag_add(&ctx->diag, NS_ERR_SPEC, (struct ns_loc){a->run_dir, 0, 0, 0},
                    "train the run again with this netspec: its model.yaml then records the CSV columns",
                    "%s was not trained on images, and it does not record the CSV columns it was trained on",
                    a->run_dir);
        return 2;
    }
    if (a->output) {
        cli_usage_error(ctx, usage, "-o writes CSV rows with their predictions; %s classifies images",
                        a->run_dir);
        return 2;
    }
    const struct data_prep_norm *norm = &run->norm;
    struct predictor pr = {.run = run, .top = a->top, .json = a->json};
    pr.k = (int)g->nodes[g->output_node].out_size;
    pr.classes = run->info.class_count;
    pr.kind = spec->loss.type == LOSS_BINARY_CROSS_ENTROPY ? OUT_SIGMOID
              : spec->loss.type == LOSS_MSE                ? OUT_SCORE
                                                           : OUT_SOFTMAX;
    if (pr.top > pr.classes)
        pr.top = pr.classes;
    for (int c = 0; c < pr.classes; c++) {
        int w = (int)strlen(run->class_names[c]);
        pr.name_width = w > pr.name_width ? w : pr.name_width;
    }
    pr.p = ns_xcalloc((size_t)pr.classes, sizeof *pr.p);
    pr.order = ns_xcalloc((size_t)pr.top, sizeof *pr.order);

    /* Batches as large as eval's, so a file costs what a sample costs there. */
    int cap = spec->train.batch_size > 0 ? spec->train.batch_size : 64;
    struct exec *ex = exec_new_mode(g, cap, GRAPH_INFERENCE);
    exec_set_threads(ex, ctx->threads);
    exec_set_isa(ex, ctx->isa);
    struct dataset batch = {.shape = shape, .sample_size = dataset_shape_size(shape)};
    batch.x = ns_xmalloc((size_t)cap * batch.sample_size * sizeof *batch.x);
    float *x = ns_xmalloc((size_t)cap * batch.sample_size * sizeof *x); /* (cap, h, w, c) */
    size_t *kept = ns_xmalloc((size_t)cap * sizeof *kept);
    size_t *index = ns_xmalloc((size_t)cap * sizeof *index);
    for (int i = 0; i < cap; i++)
        index[i] = (size_t)i;
    if (a->json)
        fputs("[", stdout);
    for (size_t start = 0; start < a->file_count; start += (size_t)cap) {
        size_t m = a->file_count - start < (size_t)cap ? a->file_count - start : (size_t)cap;
        size_t good = decode_batch(ctx, a->files + start, m, shape, batch.x, kept);
        if (!good)
            continue;
        batch.count = good;
        /* The gather eval uses, without augmentation: the same normalisation, value for value. */
        data_prep_gather(ctx->threads, &batch, index, good, norm, NULL, 0, x);
        struct exec_run er = {.training = false};
        const float *y = exec_forward(ex, run->st.params, x, (int)good, &er); /* (good, k) */
        for (size_t i = 0; i < good; i++)
            print_one(&pr, a->files[start + kept[i]], y + i * (size_t)pr.k);
    }
    if (a->json)
        fputs(pr.printed ? "\n]\n" : "]\n", stdout);
    fflush(stdout);
    exec_free(ex);
    free(batch.x);
    free(x);
    free(kept);
    free(index);
    free(pr.p);
    free(pr.order);
    return ns_diag_has_errors(&ctx->diag) ? (int)ns_diag_code(&ctx->diag) : 0;
}

/* ---- CSV rows ---- */

/* A cell for a CSV file with `delim`: quoted when it holds the delimiter, a quote or a line end. */
static void put_csv_cell(struct ns_buf *b, const char *text, char delim)
{
    if (!strchr(text, delim) && !strpbrk(text, "\"\r\n")) {
        ns_buf_puts(b, text);
        return;
    }
    ns_buf_puts(b, "\"");
    for (const char *p = text; *p; p++)
        ns_buf_puts(b, *p == '"' ? "\"\"" : (char[2]){*p, 0});
    ns_buf_puts(b, "\"");
}

static void put_float(struct ns_buf *b, float v)
{
    ns_buf_printf(b, "%.9g", (double)v); /* 9 digits: the float again */
}

/* The added columns must not hide input columns of the same name. */
static bool check_output_header(struct ns_ctx *ctx, const struct data_csv_input *in, const char *path,
                                bool regression)
{
    static const char *const added[2] = {"predicted", "probability"};
    bool ok = true;
    for (int k = 0; k < (regression ? 1 : 2); k++)
        for (size_t i = 0; i < in->hdr.column_count; i++)
            if (!strcmp(in->hdr.columns[i], added[k])) {
                ns_diag_add(&ctx->diag, NS_ERR_DATA, (struct ns_loc){path, in->header_line, 1, 1},
                            "rename or remove that column of the input",
                            "the input already has a column \"%s\", which -o would add", added[k]);
                ok = false;
            }
    return ok;
}

/* Predicts every readable row of one CSV file: classes and probabilities, or values. */
static int predict_table(struct ns_ctx *ctx, const struct predict_args *a, const struct model *run)
{
    const struct spec *spec = run->spec;
    const struct graph *g = run->g;
    if (a->file_count != 1) {
        cli_usage_error(ctx, usage, "%s was trained on CSV data: give one CSV file (or - for standard input), not %zu",
                        a->run_dir, a->file_count);
        return 2;
    }
    struct data_csv_input in;
    if (!data_csv_read_input(&ctx->diag, a->files[0], run->csv, spec->data.delimiter, &in))
        return (int)ns_diag_code(&ctx->diag);
    bool regression = run->info.class_count == 0;
    const char *shown = strcmp(a->files[0], "-") ? a->files[0] : "<stdin>";
    if (a->output && !check_output_header(ctx, &in, shown, regression)) {
        data_csv_input_free(&in);
        return (int)ns_diag_code(&ctx->diag);
    }
    struct predictor pr = {.run = run, .top = a->top_given ? a->top : 1, .json = a->json};
    pr.k = (int)g->nodes[g->output_node].out_size;
    pr.classes = regression ? pr.k : run->info.class_count;
    pr.kind = regression || spec->loss.type == LOSS_MSE                ? OUT_SCORE
              : spec->loss.type == LOSS_BINARY_CROSS_ENTROPY ? OUT_SIGMOID
                                                             : OUT_SOFTMAX;
    if (pr.top > pr.classes)
        pr.top = pr.classes;
    pr.p = ns_xcalloc((size_t)pr.classes, sizeof *pr.p);
    pr.order = ns_xcalloc((size_t)pr.top, sizeof *pr.order);

    /* Every row's outputs first (batches as large as eval's), then the report. */
    size_t inputs = g->input_size, rows = in.count;
    float *y = ns_xcalloc((rows ? rows : 1) * (size_t)pr.k, sizeof *y);
    int cap = spec->train.batch_size > 0 ? spec->train.batch_size : 64;
    struct exec *ex = exec_new_mode(g, cap, GRAPH_INFERENCE);
    exec_set_threads(ex, ctx->threads);
    exec_set_isa(ex, ctx->isa);
    struct dataset good = {.shape = g->input_shape, .sample_size = inputs};
    good.x = ns_xmalloc((size_t)cap * inputs * sizeof *good.x);
    float *x = ns_xmalloc((size_t)cap * inputs * sizeof *x);
    size_t *row_of = ns_xmalloc((size_t)cap * sizeof *row_of);
    size_t *index = ns_xmalloc((size_t)cap * sizeof *index);
    for (int i = 0; i < cap; i++)
        index[i] = (size_t)i;
    for (size_t r = 0; r < rows;) {
        size_t m = 0;
        for (; r < rows && m < (size_t)cap; r++)
            if (in.ok[r]) {
                memcpy(good.x + m * inputs, in.x + r * inputs, inputs * sizeof *good.x);
                row_of[m++] = r;
            }
        if (!m)
            continue;
        good.count = m;
        /* The gather eval uses: the same normalisation, value for value. */
        data_prep_gather(ctx->threads, &good, index, m, &run->norm, NULL, 0, x);
        const float *out = exec_forward(ex, run->st.params, x, (int)m, &(struct exec_run){.training = false});
        for (size_t i = 0; i < m; i++)
            memcpy(y + row_of[i] * (size_t)pr.k, out + i * (size_t)pr.k, (size_t)pr.k * sizeof *y);
    }
    exec_free(ex);
    free(good.x);
    free(x);
    free(row_of);
    free(index);

    char *const *names = run->class_names;
    for (int c = 0; !regression && c < pr.classes; c++) {
        int w = (int)strlen(names[c]);
        pr.name_width = w > pr.name_width ? w : pr.name_width;
    }
    struct ns_buf b = {0};
    ns_buf_puts(&b, "");
    size_t predicted = 0;
    if (a->output) {
        if (regression)
            ns_buf_printf(&b, "%s%cpredicted\n", in.header, in.delimiter);
        else
            ns_buf_printf(&b, "%s%cpredicted%cprobability\n", in.header, in.delimiter, in.delimiter);
    } else if (a->json) {
        ns_buf_puts(&b, "[");
    } else if (regression) {
        ns_buf_printf(&b, "%6s  %s\n", "line", run->csv->label);
    } else {
        ns_buf_printf(&b, "%6s  %-*s  %s\n", "line", pr.name_width, "class", "probability");
    }
    for (size_t r = 0; r < rows; r++) {
        const float *z = y + r * (size_t)pr.k;
        if (a->output) {
            ns_buf_printf(&b, "%s%c", in.text[r], in.delimiter);
            if (in.ok[r] && regression) {
                put_float(&b, z[0]);
            } else if (in.ok[r]) {
                class_values(pr.kind, pr.k, pr.classes, z, pr.p);
                rank_classes(pr.p, pr.classes, 1, pr.order);
                put_csv_cell(&b, names[pr.order[0]], in.delimiter);
                ns_buf_printf(&b, "%c", in.delimiter);
                put_float(&b, pr.p[pr.order[0]]);
            } else if (!regression) {
                ns_buf_printf(&b, "%c", in.delimiter);
            }
            ns_buf_puts(&b, "\n");
            predicted += in.ok[r];
            continue;
        }
        if (!in.ok[r])
            continue;
        if (a->json) {
            ns_buf_printf(&b, "%s\n  {\"line\": %d, ", predicted ? "," : "", in.line[r]);
            if (regression) {
                ns_buf_puts(&b, pr.k == 1 ? "\"value\": " : "\"values\": [");
                for (int j = 0; j < pr.k; j++) {
                    ns_buf_puts(&b, j ? ", " : "");
                    run_dir_json_put_number(&b, (double)z[j]);
                }
                ns_buf_puts(&b, pr.k == 1 ? "}" : "]}");
            } else {
                class_values(pr.kind, pr.k, pr.classes, z, pr.p);
                rank_classes(pr.p, pr.classes, 1, pr.order);
                ns_buf_puts(&b, "\"class\": ");
                run_dir_json_put_string(&b, names[pr.order[0]]);
                ns_buf_puts(&b, pr.kind == OUT_SCORE ? ", \"score\": " : ", \"probability\": ");
                run_dir_json_put_number(&b, (double)pr.p[pr.order[0]]);
                ns_buf_puts(&b, pr.kind == OUT_SCORE ? ", \"scores\": {" : ", \"probabilities\": {");
                for (int c = 0; c < pr.classes; c++) {
                    ns_buf_puts(&b, c ? ", " : "");
                    run_dir_json_put_string(&b, names[c]);
                    ns_buf_puts(&b, ": ");
                    run_dir_json_put_number(&b, (double)pr.p[c]);
                }
                ns_buf_puts(&b, "}}");
            }
        } else if (regression) {
            ns_buf_printf(&b, "%6d ", in.line[r]);
            for (int j = 0; j < pr.k; j++)
                ns_buf_printf(&b, " %.9g", (double)z[j]);
            ns_buf_puts(&b, "\n");
        } else {
            class_values(pr.kind, pr.k, pr.classes, z, pr.p);
            rank_classes(pr.p, pr.classes, pr.top, pr.order);
            ns_buf_printf(&b, "%6d ", in.line[r]);
            for (int t = 0; t < pr.top; t++) {
                int c = pr.order[t];
                if (pr.kind == OUT_SCORE)
                    ns_buf_printf(&b, " %-*s  %10.4f", pr.name_width, names[c], (double)pr.p[c]);
                else
                    ns_buf_printf(&b, " %-*s  %6.2f%%", pr.name_width, names[c], 100 * (double)pr.p[c]);
            }
            ns_buf_puts(&b, "\n");
        }
        predicted++;
    }
    if (a->json && !a->output)
        ns_buf_puts(&b, predicted ? "\n]\n" : "]\n");
    bool ok = true;
    if (a->output) {
        ok = ns_file_write_text(&ctx->diag, a->output, b.data);
        if (ok)
            printf("wrote %s: %zu of %zu rows predicted\n", a->output, predicted, rows);
    } else {
        fputs(b.data, stdout);
    }
    fflush(stdout);
    ns_buf_free(&b);
    free(y);
    free(pr.p);
    free(pr.order);
    data_csv_input_free(&in);
    if (!ok)
        return (int)ns_diag_code(&ctx->diag);
    return ns_diag_has_errors(&ctx->diag) ? (int)ns_diag_code(&ctx->diag) : 0;
}

int cmd_predict(struct ns_ctx *ctx, int argc, char **argv)
{
    struct predict_args a;
    if (!parse_args(ctx, argc, argv, &a)) {
        args_free(&a);
        return 2;
    }
    struct model run;
    int rc;
    if (model_load(ctx, a.run_dir, &run)) {
        if (run.csv) {
            rc = predict_table(ctx, &a, &run);
        } else {
            expand_stdin(&a);
            rc = predict_files(ctx, &a, &run);
        }
        model_free(&run);
    } else {
        rc = (int)ns_diag_code(&ctx->diag);
    }
    args_free(&a);
    return rc;
}
