/* libFuzzer harness: the CSV reader as `netspec check`, `train`, `eval` and `predict` call it:
 * the header and row count, the training file with its layout (delimiter, categorical
 * columns, class names, missing cells), the layout as model.yaml records it, a second file
 * read against that layout as a test file and as rows to predict.
 *
 * Input: one flags byte, then TRAIN [%% LABEL [%% CATEGORICAL [%% CLASSES [%% OTHER]]]]
 * (FUZZ_SEP between the parts). LABEL is the label column ("label" when missing);
 * CATEGORICAL and CLASSES are comma-separated names (empty: none); OTHER, when given, is the
 * test file / rows to predict. Flags bit 0: regression; bit 1: gzip TRAIN (data.csv.gz);
 * bits 2-3: delimiter (auto, comma, semicolon, tab); bits 4-5: missing (error, drop,
 * fill_mean).
 * Oracle: a failure carries errors naming a file; a load agrees with the header read and the
 * check (rows, columns), labels are classes, inputs are finite once missing cells are filled;
 * the layout written as YAML reads back and writes the same text again; the same file read
 * against its own layout gives the same inputs; rows to predict that read have finite inputs.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/ns_ctx.h"
#include "core/ns_util.h"
#include "data/data_csv.h"
#include "data/dataset.h"
#include "spec/spec_tree.h"

#include "fuzz_util.h"

enum { FUZZ_CSV_MAX_NAMES = 16 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* "a,b" -> {"a", "b"}; text is cut in place. */
static size_t split_names(char *text, const char **names)
{
    size_t n = 0;
    if (!*text)
        return 0;
    for (char *p = text; n < FUZZ_CSV_MAX_NAMES;) {
        names[n++] = p;
        p = strchr(p, ',');
        if (!p)
            break;
        *p++ = '\0';
    }
    return n;
}

static void check_loaded(const struct dataset *ds, const struct data_csv_opts *opts, bool filled)
{
    if (ds->sample_size != ds->csv->input_size)
        fuzz_fail("%zu inputs per row, the layout says %zu", ds->sample_size, ds->csv->input_size);
    if (!opts->regression && opts->class_count && ds->class_count != opts->class_count)
        fuzz_fail("%d classes listed, %d loaded", opts->class_count, ds->class_count);
    for (size_t i = 0; ds->labels && i < ds->count; i++)
        if (ds->labels[i] < 0 || ds->labels[i] >= ds->class_count)
            fuzz_fail("label %d of row %zu is outside 0..%d", ds->labels[i], i, ds->class_count - 1);
    for (size_t i = 0; ds->targets && i < ds->count; i++)
        if (!isfinite(ds->targets[i]))
            fuzz_fail("target %zu is not finite", i);
    for (size_t i = 0; i < ds->count * ds->sample_size; i++)
        if (!isfinite(ds->x[i]) && (filled || !isnan(ds->x[i]) || opts->missing != MISSING_FILL_MEAN))
            fuzz_fail("input value %zu (row %zu) is %g", i, i / ds->sample_size, (double)ds->x[i]);
}

/* model.yaml's `csv:` written, read back, written again: the same text. */
static struct data_csv_layout *layout_round_trip(struct ns_ctx *ctx, const struct data_csv_layout *layout)
{
    struct ns_buf first = {0};
    ns_buf_puts(&first, "csv:\n");
    data_csv_layout_put_yaml(&first, layout, 2);
    struct spec_node *root = spec_tree_parse(ctx, "model.yaml", first.data, first.len);
    struct data_csv_layout *back = NULL;
    if (!root || !data_csv_layout_from_yaml(&ctx->diag, "model.yaml", spec_tree_get(root, "csv"), &back)) {
        fuzz_print_diag(&ctx->diag);
        fuzz_fail("the layout written to model.yaml does not read back (%s):\n%s",
                  ctx->diag.count ? ctx->diag.items[ctx->diag.count - 1].message : "?", first.data);
    }
    struct ns_buf second = {0};
    ns_buf_puts(&second, "csv:\n");
    data_csv_layout_put_yaml(&second, back, 2);
    if (strcmp(first.data, second.data) != 0)
        fuzz_fail("the layout reads back as another:\n%s\n--- became ---\n%s", first.data, second.data);
    ns_buf_free(&first);
    ns_buf_free(&second);
    /* model_load takes the classes from model.yaml's `classes:`, not from `csv:`. */
    back->class_count = layout->class_count;
    if (layout->class_names) {
        back->class_names = ns_xcalloc((size_t)layout->class_count + 1, sizeof *back->class_names);
        for (int c = 0; c < layout->class_count; c++)
            back->class_names[c] = ns_xstrdup(layout->class_names[c]);
    }
    return back;
}

/* A second file read against the training file's layout: as a test file, and as rows to
 * predict (with the delimiter the spec gives). `same`: the training file's own rows, when the
 * second file is the training file: then the test read must give them again. */
static void check_other(struct ns_ctx *ctx, const char *path, const struct data_csv_opts *train_opts,
                        const struct data_csv_layout *layout, const struct dataset *same)
{
    struct data_csv_opts opts = *train_opts;
    opts.layout = layout;
    struct dataset test;
    memset(&test, 0, sizeof test);
    ns_diag_clear(&ctx->diag);
    if (data_csv_load(&ctx->diag, (struct ns_loc){"spec.yaml", 5, 9, 8}, path, &opts, &test)) {
        if (test.sample_size != layout->input_size)
            fuzz_fail("a test file read with %zu inputs per row, the layout has %zu", test.sample_size,
                      layout->input_size);
        if (layout->missing == MISSING_FILL_MEAN && layout->fill)
            data_csv_fill_recorded(layout, &test);
        for (size_t i = 0; i < test.count * test.sample_size; i++)
            if (!isfinite(test.x[i]) && !(isnan(test.x[i]) && layout->missing == MISSING_FILL_MEAN && !layout->fill))
                fuzz_fail("test input value %zu is %g", i, (double)test.x[i]);
        if (same && (test.count != same->count ||
                     memcmp(test.x, same->x, test.count * test.sample_size * sizeof *test.x) != 0 ||
                     (same->labels && memcmp(test.labels, same->labels, test.count * sizeof *test.labels) != 0) ||
                     (same->targets && memcmp(test.targets, same->targets, test.count * sizeof *test.targets) != 0)))
            fuzz_fail("the training file read as a test file against its own layout gives other rows");
        dataset_free(&test);
    } else if (same) {
        fuzz_print_diag(&ctx->diag);
        fuzz_fail("the training file does not read as a test file against its own layout: %s",
                  ctx->diag.count ? ctx->diag.items[0].message : "?");
    } else {
        fuzz_check_failure(&ctx->diag, "data_csv_load (test file)", true);
    }
    ns_diag_clear(&ctx->diag);
    struct data_csv_input in;
    memset(&in, 0, sizeof in);
    if (data_csv_read_input(&ctx->diag, path, layout, train_opts->delimiter, &in)) {
        for (size_t r = 0; r < in.count; r++)
            for (size_t i = 0; in.ok[r] && i < layout->input_size; i++)
                if (!isfinite(in.x[r * layout->input_size + i]) &&
                    !(layout->missing == MISSING_FILL_MEAN && !layout->fill))
                    fuzz_fail("row %zu to predict has input %zu = %g", r, i,
                              (double)in.x[r * layout->input_size + i]);
        if (ns_diag_has_errors(&ctx->diag))
            fuzz_check_failure(&ctx->diag, "data_csv_read_input (rows)", true);
    } else {
        fuzz_check_failure(&ctx->diag, "data_csv_read_input", true);
    }
    data_csv_input_free(&in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned flags = data[0];
    struct fuzz_parts parts;
    fuzz_split(data + 1, size - 1, &parts);
    char *text[5];
    for (size_t i = 0; i < 5; i++)
        text[i] = i < parts.count ? fuzz_strndup(parts.data[i], parts.size[i]) : strdup(i == 1 ? "label" : "");
    const char *categorical[FUZZ_CSV_MAX_NAMES], *classes[FUZZ_CSV_MAX_NAMES];
    size_t categorical_count = split_names(text[2], categorical);
    size_t class_count = split_names(text[3], classes);
    const char *path;
    if (flags & 2) {
        size_t gz_size;
        uint8_t *gz = fuzz_gzip(parts.data[0], parts.size[0], &gz_size);
        path = fuzz_write("data.csv.gz", gz, gz_size);
        free(gz);
    } else {
        path = fuzz_write("data.csv", parts.data[0], parts.size[0]);
    }
    bool regression = flags & 1;
    struct data_csv_opts opts = {
        .label_column = text[1], .label_loc = {"spec.yaml", 6, 17, 5}, .regression = regression,
        .class_count = regression ? 0 : (int)class_count, .class_names = regression || !class_count ? NULL : classes,
        .loss_name = regression ? "mse" : "cross_entropy", .delimiter = (int)(flags >> 2) & 3,
        .categorical_count = categorical_count, .categorical = categorical,
        .missing = (int)((flags >> 4) & 3)};
    if (opts.missing > MISSING_FILL_MEAN)
        opts.missing = MISSING_ERROR;
    struct ns_loc spec_loc = {"spec.yaml", 4, 10, 8};

    struct ns_ctx ctx;
    ns_ctx_init(&ctx);
    struct data_csv_header hdr;
    memset(&hdr, 0, sizeof hdr);
    bool header_ok = data_csv_read_header(&ctx.diag, spec_loc, path, &hdr);
    if (!header_ok)
        fuzz_check_failure(&ctx.diag, "data_csv_read_header", true);
    ns_diag_clear(&ctx.diag);
    struct data_header check;
    memset(&check, 0, sizeof check);
    bool check_ok = data_csv_check(&ctx.diag, spec_loc, path, &opts, &check);
    if (!check_ok)
        fuzz_check_failure(&ctx.diag, "data_csv_check", true);
    ns_diag_clear(&ctx.diag);

    struct dataset ds;
    memset(&ds, 0, sizeof ds);
    if (data_csv_load(&ctx.diag, spec_loc, path, &opts, &ds)) {
        if (!header_ok || !check_ok)
            fuzz_fail("data_csv_load accepts what the header read or the check rejects");
        if (ds.count + ds.dropped != hdr.row_count || ds.count + ds.dropped != check.count)
            fuzz_fail("data_csv_load reads %zu rows (%zu dropped); the header counts %zu, the check %zu",
                      ds.count, ds.dropped, hdr.row_count, check.count);
        if (!ds.csv)
            fuzz_fail("a training file loads without its layout");
        check_loaded(&ds, &opts, false);
        bool filled = true;
        if (opts.missing == MISSING_FILL_MEAN) {
            filled = data_csv_fill_missing(&ctx.diag, spec_loc, ds.csv, &ds, NULL, 0);
            if (filled)
                check_loaded(&ds, &opts, true);
            else
                fuzz_check_failure(&ctx.diag, "data_csv_fill_missing", true);
        }
        if (filled) {
            struct data_csv_layout *back = layout_round_trip(&ctx, ds.csv);
            if (parts.count > 4)
                check_other(&ctx, fuzz_write("other.csv", parts.data[4], parts.size[4]), &opts, back, NULL);
            else
                check_other(&ctx, path, &opts, back, &ds);
            data_csv_layout_free(back);
        }
        dataset_free(&ds);
    } else {
        fuzz_check_failure(&ctx.diag, "data_csv_load", true);
    }
    data_csv_header_free(&hdr);
    ns_ctx_free(&ctx);
    for (size_t i = 0; i < 5; i++)
        free(text[i]);
    return 0;
}
