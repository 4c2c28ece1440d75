/* libFuzzer harness: the CSV reader, as `netspec check` (header, row count) and `train` (every
 * cell) call it.
 *
 * Input: one flags byte, then CSV [%% LABEL_COLUMN] (FUZZ_SEP between them; the label column
 * is "label" when the part is missing). Flags bit 0: regression (float targets), bit 1: gzip
 * the CSV and name it data.csv.gz, bits 4-7: the class count the spec would list (0 = from
 * the labels).
 * Oracle: a failure carries errors naming a file; when the load succeeds, the header read and
 * the check succeeded too and agree on columns, rows, shape and classes, and every label is a
 * class.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/ns_ctx.h"
#include "data/data_csv.h"
#include "data/dataset.h"

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned flags = data[0];
    struct fuzz_parts parts;
    fuzz_split(data + 1, size - 1, &parts);
    char *label = parts.count > 1 ? fuzz_strndup(parts.data[1], parts.size[1]) : strdup("label");
    const char *path;
    if (flags & 2) {
        size_t gz_size;
        uint8_t *gz = fuzz_gzip(parts.data[0], parts.size[0], &gz_size);
        path = fuzz_write("data.csv.gz", gz, gz_size);
        free(gz);
    } else {
        path = fuzz_write("data.csv", parts.data[0], parts.size[0]);
    }
    struct data_csv_opts opts = {.label_column = label, .label_loc = {"spec.yaml", 6, 17, 5},
                                 .regression = flags & 1, .class_count = (int)(flags >> 4)};
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
        if (ds.count != check.count || ds.count != hdr.row_count || ds.sample_size + 1 != hdr.column_count ||
            memcmp(&ds.shape, &check.shape, sizeof ds.shape) != 0)
            fuzz_fail("data_csv_load reads %zu rows of %zu features; the check says %zu rows, the header %zu "
                      "rows of %zu columns", ds.count, ds.sample_size, check.count, hdr.row_count,
                      hdr.column_count);
        if (!opts.regression && opts.class_count && ds.class_count != opts.class_count)
            fuzz_fail("%d classes listed, %d loaded", opts.class_count, ds.class_count);
        for (size_t i = 0; ds.labels && i < ds.count; i++)
            if (ds.labels[i] < 0 || ds.labels[i] >= ds.class_count)
                fuzz_fail("label %d of row %zu is outside 0..%d", ds.labels[i], i, ds.class_count - 1);
        for (size_t i = 0; i < ds.count * ds.sample_size; i++)
            if (!isfinite(ds.x[i]))
                fuzz_fail("feature value %zu is not finite", i);
        dataset_free(&ds);
    } else {
        fuzz_check_failure(&ctx.diag, "data_csv_load", true);
    }
    data_csv_header_free(&hdr);
    ns_ctx_free(&ctx);
    free(label);
    return 0;
}
