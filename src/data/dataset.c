#include "data/dataset.h"

#include <stdlib.h>
#include <string.h>

#include "core/ns_util.h"
#include "data/data_csv.h"

size_t dataset_shape_size(struct spec_shape shape)
{
    if (shape.rank <= 0)
        return 0;
    size_t n = 1;
    for (int i = 0; i < shape.rank && i < 3; i++)
        n *= (size_t)shape.dims[i];
    return n;
}

void dataset_free(struct dataset *ds)
{
    if (!ds)
        return;
    free(ds->x);
    free(ds->bytes);
    free(ds->labels);
    free(ds->targets);
    if (ds->class_names) {
        for (int i = 0; i < ds->class_count; i++)
            free(ds->class_names[i]);
        free(ds->class_names);
    }
    data_csv_layout_free(ds->csv);
    memset(ds, 0, sizeof *ds);
}

void dataset_subset(const struct dataset *src, const size_t *index, size_t n, struct dataset *out)
{
    memset(out, 0, sizeof *out);
    out->count = n;
    out->shape = src->shape;
    out->sample_size = src->sample_size;
    out->class_count = src->class_count;
    size_t row = src->sample_size * dataset_value_bytes(src);
    unsigned char *to = ns_xmalloc((n ? n : 1) * row);
    const unsigned char *from = src->bytes ? (const unsigned char *)src->bytes : (const unsigned char *)src->x;
    for (size_t i = 0; i < n; i++)
        memcpy(to + i * row, from + index[i] * row, row);
    if (src->bytes)
        out->bytes = (uint8_t *)to;
    else
        out->x = (float *)(void *)to;
    if (src->labels) {
        out->labels = ns_xmalloc((n ? n : 1) * sizeof *out->labels);
        for (size_t i = 0; i < n; i++)
            out->labels[i] = src->labels[index[i]];
    }
    if (src->targets) {
        out->targets = ns_xmalloc((n ? n : 1) * sizeof *out->targets);
        for (size_t i = 0; i < n; i++)
            out->targets[i] = src->targets[index[i]];
    }
    if (src->class_names) {
        out->class_names = ns_xcalloc((size_t)src->class_count, sizeof *out->class_names);
        for (int i = 0; i < src->class_count; i++)
            out->class_names[i] = ns_xstrdup(src->class_names[i]);
    }
}

void dataset_keep(struct dataset *ds, const size_t *index, size_t n)
{
    /* index[k] >= k, so moving rows forward in k order never overwrites a row still needed. */
    size_t row = ds->sample_size * dataset_value_bytes(ds);
    unsigned char *base = ds->bytes ? (unsigned char *)ds->bytes : (unsigned char *)ds->x;
    for (size_t k = 0; k < n; k++) {
        size_t from = index[k];
        if (from == k)
            continue;
        memmove(base + k * row, base + from * row, row);
        if (ds->labels)
            ds->labels[k] = ds->labels[from];
        if (ds->targets)
            ds->targets[k] = ds->targets[from];
    }
    ds->count = n;
    size_t keep = n ? n : 1;
    base = ns_xrealloc(base, keep * row);
    if (ds->bytes)
        ds->bytes = (uint8_t *)base;
    else
        ds->x = (float *)(void *)base;
    if (ds->labels)
        ds->labels = ns_xrealloc(ds->labels, keep * sizeof *ds->labels);
    if (ds->targets)
        ds->targets = ns_xrealloc(ds->targets, keep * sizeof *ds->targets);
}

void dataset_sample_floats(const struct dataset *ds, size_t i, float *out)
{
    if (ds->bytes) {
        const uint8_t *b = dataset_sample_bytes(ds, i);
        for (size_t j = 0; j < ds->sample_size; j++)
            out[j] = (float)b[j];
    } else {
        memcpy(out, dataset_sample(ds, i), ds->sample_size * sizeof *out);
    }
}
