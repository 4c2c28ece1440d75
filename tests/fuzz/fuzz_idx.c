/* libFuzzer harness: the IDX reader, plain and gzip, as `netspec check` and `train` call it.
 *
 * Input: one flags byte, then IMAGES %% LABELS (FUZZ_SEP between them; a missing part is an
 * empty file). Flags bit 0 / bit 1: gzip the images / labels part before writing it (so the
 * IDX parser is reached through zlib too); without it the part is written as fuzzed, which
 * also makes it a fuzzed gzip stream when it starts with the gzip magic. Bits 4-7: the
 * class count the spec would list (0 = from the labels).
 * Oracle: a failure carries errors naming the file; when the load succeeds, the header read
 * (what `check` reports) succeeded too and agrees on count, shape and classes. A header
 * declaring more than the file can hold must be refused before anything that size is
 * allocated (-malloc_limit_mb turns such an allocation into a finding).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/ns_ctx.h"
#include "data/data_idx.h"
#include "data/dataset.h"

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *write_part(const char *name, const uint8_t *data, size_t size, bool compress)
{
    if (!compress)
        return fuzz_write(name, data, size);
    size_t gz_size;
    uint8_t *gz = fuzz_gzip(data, size, &gz_size);
    const char *path = fuzz_write(name, gz, gz_size);
    free(gz);
    return path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned flags = data[0];
    struct fuzz_parts parts;
    fuzz_split(data + 1, size - 1, &parts);
    const uint8_t *labels_data = parts.count > 1 ? parts.data[1] : NULL;
    size_t labels_size = parts.count > 1 ? parts.size[1] : 0;
    const char *images = write_part("images.idx.gz", parts.data[0], parts.size[0], flags & 1);
    const char *labels = write_part("labels.idx.gz", labels_data, labels_size, flags & 2);
    int class_count = (int)(flags >> 4);

    struct ns_ctx ctx;
    ns_ctx_init(&ctx);
    struct ns_loc images_loc = {"spec.yaml", 4, 13, 6}, labels_loc = {"spec.yaml", 5, 13, 6};
    struct data_header header;
    memset(&header, 0, sizeof header);
    bool header_ok = data_idx_read_header(&ctx.diag, images_loc, images, labels_loc, labels, class_count, &header);
    if (!header_ok)
        fuzz_check_failure(&ctx.diag, "data_idx_read_header", true);
    ns_diag_clear(&ctx.diag);

    struct dataset ds;
    memset(&ds, 0, sizeof ds);
    if (data_idx_load(&ctx.diag, images_loc, images, labels_loc, labels, class_count, &ds)) {
        if (!header_ok)
            fuzz_fail("data_idx_load accepts what data_idx_read_header rejects");
        if (ds.count != header.count || ds.class_count != header.class_count ||
            memcmp(&ds.shape, &header.shape, sizeof ds.shape) != 0)
            fuzz_fail("data_idx_load and data_idx_read_header disagree: %zu/%zu samples, %d/%d classes",
                      ds.count, header.count, ds.class_count, header.class_count);
        for (size_t i = 0; i < ds.count; i++)
            if (ds.labels[i] < 0 || ds.labels[i] >= ds.class_count)
                fuzz_fail("label %d of sample %zu is outside 0..%d", ds.labels[i], i, ds.class_count - 1);
        dataset_free(&ds);
    } else {
        fuzz_check_failure(&ctx.diag, "data_idx_load", true);
    }
    ns_ctx_free(&ctx);
    return 0;
}
