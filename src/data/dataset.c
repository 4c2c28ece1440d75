#include "data/dataset.h"

#include <stdlib.h>
#include <string.h>

#include "core/ns_util.h"

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
    free(ds->labels);
    free(ds->targets);
    if (ds->class_names) {
        for (int i = 0; i < ds->class_count; i++)
            free(ds->class_names[i]);
        free(ds->class_names);
    }
    memset(ds, 0, sizeof *ds);
}

void dataset_subset(const struct dataset *src, const size_t *index, size_t n, struct dataset *out)
{
    memset(out, 0, sizeof *out);
    out->count = n;
    out->shape = src->shape;
    out->sample_size = src->sample_size;
    out->class_count = src->class_count;
    out->x = ns_xmalloc((n ? n : 1) * src->sample_size * sizeof *out->x);
    for (size_t i = 0; i < n; i++)
        memcpy(out->x + i * src->sample_size, dataset_sample(src, index[i]),
               src->sample_size * sizeof *out->x);
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
    size_t size = ds->sample_size;
    for (size_t k = 0; k < n; k++) {
        size_t from = index[k];
        if (from == k)
            continue;
        memmove(ds->x + k * size, ds->x + from * size, size * sizeof *ds->x);
        if (ds->labels)
            ds->labels[k] = ds->labels[from];
        if (ds->targets)
            ds->targets[k] = ds->targets[from];
    }
    ds->count = n;
    size_t keep = n ? n : 1;
    ds->x = ns_xrealloc(ds->x, keep * size * sizeof *ds->x);
    if (ds->labels)
        ds->labels = ns_xrealloc(ds->labels, keep * sizeof *ds->labels);
    if (ds->targets)
        ds->targets = ns_xrealloc(ds->targets, keep * sizeof *ds->targets);
}
