/* A dataset in memory: every sample's raw values in one flat buffer, plus labels.
 *
 *   struct dataset ds = {0};
 *   if (!data_idx_load(&ctx->diag, images_loc, images, labels_loc, labels, 10, &ds)) ...;
 *   float v = dataset_value(&ds, i, j);                // value j of sample i, either storage
 *   dataset_sample_floats(&ds, i, row);                // (sample_size) = shape h*w*c or n
 *   dataset_free(&ds);
 *
 * The caller owns the struct; the loaders fill it and dataset_free releases what it points
 * to. Values are raw (pixels as 0..255, CSV cells as written): normalisation (data_prep.h) is
 * a separate step so that augmentation can pad with black before it.
 * Images (IDX, image folders) keep their pixels as bytes (`bytes`, a quarter of the memory of
 * floats); CSV cells are floats (`x`). Exactly one of the two is set. A byte b reads as the
 * float (float)b, exactly, so both storages give the same values to the same float math.
 * Errors from every loader in src/data are NS_ERR_DATA diags. Each loader takes the place in
 * the spec where the data path was written (`spec_loc`); errors about a whole file go there
 * and name the file in the message. With spec_loc.file == NULL they go at the data file.
 */
#ifndef DATASET_H
#define DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ns_error.h"
#include "spec/spec.h"

struct data_csv_layout;

struct dataset {
    size_t count;
    struct spec_shape shape; /* per sample: [h, w, c] or [n] */
    size_t sample_size;      /* values per sample: the product of shape.dims */
    float *x;                /* (count, sample_size) raw values (CSV), or NULL when bytes */
    uint8_t *bytes;          /* (count, sample_size) pixels 0..255, images (H, W, C) row-major;
                                NULL when x */
    int32_t *labels;         /* (count) class index, or NULL for regression */
    float *targets;          /* (count) regression targets, or NULL for classification */
    int class_count;         /* classification: listed classes, else max label + 1; 0 for regression */
    char **class_names;      /* (class_count) owned, or NULL when the data carries none */
    size_t skipped;          /* unreadable images left out (image folders, on_error: skip) */
    size_t ignored;          /* files in class folders that are not images, left out */
    size_t dropped;          /* CSV rows left out for a missing cell (missing: drop) */
    struct data_csv_layout *csv; /* owned: a CSV training file's columns, encoding and classes
                                    (data_csv.h); NULL otherwise, and in subsets */
};

/* What `netspec check` needs without loading the samples. */
struct data_header {
    struct spec_shape shape; /* per sample */
    size_t count;
    int class_count; /* listed classes, else max label + 1 seen, or the class folders found;
                        0 when unknown (CSV header read, regression) */
    size_t skipped;  /* image folders: unreadable images left out (on_error: skip) */
    size_t ignored;  /* image folders: non-image files in class folders */
};

/* Sample i of a float dataset (ds->x set). */
static inline const float *dataset_sample(const struct dataset *ds, size_t i)
{
    return ds->x + i * ds->sample_size;
}

/* Sample i of a byte dataset (ds->bytes set). */
static inline const uint8_t *dataset_sample_bytes(const struct dataset *ds, size_t i)
{
    return ds->bytes + i * ds->sample_size;
}

/* Value j of sample i as a float, whichever the storage. */
static inline float dataset_value(const struct dataset *ds, size_t i, size_t j)
{
    return ds->bytes ? (float)ds->bytes[i * ds->sample_size + j] : ds->x[i * ds->sample_size + j];
}

/* Bytes per stored value: 1 for pixels, sizeof(float) for CSV. */
static inline size_t dataset_value_bytes(const struct dataset *ds)
{
    return ds->bytes ? 1 : sizeof(float);
}

/* out (sample_size) = sample i as floats. */
void dataset_sample_floats(const struct dataset *ds, size_t i, float *out);

void dataset_free(struct dataset *ds);
/* Copies the samples index[0..n) of `src` into a new dataset `out` (same shape, classes). */
void dataset_subset(const struct dataset *src, const size_t *index, size_t n, struct dataset *out);
/* Keeps only the samples index[0..n) (strictly ascending), in place; shrinks the buffers. */
void dataset_keep(struct dataset *ds, const size_t *index, size_t n);
/* Values per sample of `shape`; 0 for rank 0. */
size_t dataset_shape_size(struct spec_shape shape);

#endif
