#include "data/data_prep.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/ns_util.h"
#include "data/data_csv.h"
#include "data/data_split.h"

static size_t innermost(struct spec_shape shape)
{
    return shape.rank >= 1 && shape.rank <= 3 ? (size_t)shape.dims[shape.rank - 1] : 0;
}

static bool norm_values(struct ns_diag *diag, struct ns_loc loc, const char *what, const double *v, size_t count,
                        size_t channels, bool vector, float fill, float *out)
{
    if (count != 0 && count != 1 && count != channels) {
        ns_diag_add(diag, NS_ERR_SPEC, loc, NULL, "normalize.%s has %zu values; expected 1 or %zu (one per %s)",
                    what, count, channels, vector ? "input" : "channel");
        return false;
    }
    for (size_t c = 0; c < channels; c++)
        out[c] = count == 0 ? fill : (float)v[count == 1 ? 0 : c];
    return true;
}

bool data_prep_norm_init(struct ns_diag *diag, struct ns_loc loc, struct spec_shape shape, double scale,
                    const double *mean, size_t mean_count, const double *std, size_t std_count,
                    struct data_prep_norm *out)
{
    memset(out, 0, sizeof *out);
    out->scale = (float)scale;
    if (mean_count == 0 && std_count == 0)
        return true;
    size_t channels = innermost(shape);
    if (channels == 0) {
        ns_diag_add(diag, NS_ERR_SPEC, loc, NULL, "normalize.mean and std need a known input shape");
        return false;
    }
    float *m = ns_xmalloc(channels * sizeof *m);
    float *s = ns_xmalloc(channels * sizeof *s);
    bool ok = norm_values(diag, loc, "mean", mean, mean_count, channels, shape.rank == 1, 0.0f, m);
    ok = norm_values(diag, loc, "std", std, std_count, channels, shape.rank == 1, 1.0f, s) && ok;
    for (size_t c = 0; ok && c < channels; c++) {
        if (!(s[c] > 0)) {
            ns_diag_add(diag, NS_ERR_SPEC, loc, NULL, "normalize.std value %g is not positive", (double)s[c]);
            ok = false;
        }
    }
    if (!ok) {
        free(m);
        free(s);
        return false;
    }
    out->channels = channels;
    out->mean = m;
    out->std = s;
    return true;
}

void data_prep_norm_free(struct data_prep_norm *norm)
{
    if (!norm)
        return;
    free(norm->mean);
    free(norm->std);
    memset(norm, 0, sizeof *norm);
}

static void norm_one(const struct data_prep_norm *norm, float *x, size_t size)
{
    if (norm->channels == 0) {
        for (size_t i = 0; i < size; i++)
            x[i] = data_prep_value(x[i], norm->scale, 0.0f, 1.0f);
        return;
    }
    size_t ch = norm->channels;
    for (size_t i = 0; i < size; i++)
        x[i] = data_prep_value(x[i], norm->scale, norm->mean[i % ch], norm->std[i % ch]);
}

/* norm_one of the bytes converted to float, in one pass: the same data_prep_value on the same
 * float values, so the same bits. */
static void norm_bytes(const struct data_prep_norm *norm, const uint8_t *src, float *out, size_t size)
{
    if (norm->channels == 0) {
        /* data_prep_value(x, scale, 0, 1) is x * scale: t - 0.0f and t / 1.0f give t back
         * exactly for every float t (-0 and NaN included), so the division per pixel goes. */
        float scale = norm->scale;
#pragma omp simd
        for (size_t i = 0; i < size; i++)
            out[i] = (float)src[i] * scale;
        return;
    }
    size_t ch = norm->channels;
    for (size_t at = 0; at < size; at += ch)
        for (size_t c = 0; c < ch && at + c < size; c++)
            out[at + c] = data_prep_value((float)src[at + c], norm->scale, norm->mean[c], norm->std[c]);
}

void data_prep_norm_apply(int threads, const struct data_prep_norm *norm, float *x, size_t n, size_t sample_size)
{
    long count = (long)n;
#pragma omp parallel for schedule(static) if (n * sample_size > 65536) num_threads(threads < 1 ? 1 : threads)
    for (long i = 0; i < count; i++)
        norm_one(norm, x + (size_t)i * sample_size, sample_size);
}

bool data_prep_augment_applies(struct spec_shape shape)
{
    return shape.rank == 3;
}

bool data_prep_augment_active(const struct data_prep_augment *aug)
{
    return aug && (aug->hflip || aug->random_crop > 0);
}

/* Where augmentation takes each output pixel from: flip and the crop offsets of one sample. */
struct augment_view {
    bool flip;
    int dy, dx;
};

static struct augment_view augment_view(const struct data_prep_augment *aug, uint64_t key, uint64_t sample)
{
    struct augment_view v = {.flip = aug->hflip && (data_split_hash(key, sample, 0) >> 63)};
    if (aug->random_crop > 0) {
        uint64_t range = 2 * (uint64_t)aug->random_crop + 1;
        v.dy = (int)(data_split_hash(key, sample, 1) % range) - aug->random_crop;
        v.dx = (int)(data_split_hash(key, sample, 2) % range) - aug->random_crop;
    }
    return v;
}

/* The same walk for float and byte samples: output pixel (y, x) shows padded-input pixel
 * (y + dy, x' + dx), x' mirrored when flipping; outside the input it is 0 (black). Both write
 * floats, and a byte reads as (float)b exactly, so both give the same bits. */
#define AUGMENT_WALK(in_type)                                                                        \
    int h = shape.dims[0], w = shape.dims[1], c = shape.dims[2];                                      \
    for (int y = 0; y < h; y++) {                                                                    \
        int sy = y + v.dy;                                                                           \
        for (int x = 0; x < w; x++) {                                                                \
            int sx = (v.flip ? w - 1 - x : x) + v.dx;                                                \
            float *o = out + ((size_t)y * (size_t)w + (size_t)x) * (size_t)c;                        \
            if (sy < 0 || sy >= h || sx < 0 || sx >= w) {                                            \
                for (int k = 0; k < c; k++)                                                          \
                    o[k] = 0.0f;                                                                     \
            } else {                                                                                 \
                const in_type *s = in + ((size_t)sy * (size_t)w + (size_t)sx) * (size_t)c;           \
                for (int k = 0; k < c; k++)                                                          \
                    o[k] = (float)s[k];                                                              \
            }                                                                                        \
        }                                                                                            \
    }

void data_prep_augment_sample(const struct data_prep_augment *aug, struct spec_shape shape, uint64_t key, uint64_t sample,
                         const float *in, float *out)
{
    struct augment_view v = augment_view(aug, key, sample);
    AUGMENT_WALK(float)
}

static void augment_bytes(const struct data_prep_augment *aug, struct spec_shape shape, uint64_t key, uint64_t sample,
                          const uint8_t *in, float *out)
{
    struct augment_view v = augment_view(aug, key, sample);
    AUGMENT_WALK(uint8_t)
}

#undef AUGMENT_WALK

void data_prep_gather(int threads, const struct dataset *ds, const size_t *index, size_t n, const struct data_prep_norm *norm,
                      const struct data_prep_augment *aug, uint64_t aug_key, float *out)
{
    bool augment = data_prep_augment_active(aug) && data_prep_augment_applies(ds->shape);
    size_t size = ds->sample_size;
    long count = (long)n;
#pragma omp parallel for schedule(static) if (n * size > 65536) num_threads(threads < 1 ? 1 : threads)
    for (long i = 0; i < count; i++) {
        float *o = out + (size_t)i * size;
        if (ds->bytes) {
            const uint8_t *src = dataset_sample_bytes(ds, index[i]);
#if defined(__GNUC__)
            /* Shuffled samples lie anywhere in the data set: ask for the next one's bytes while
             * this one is converted, or each sample waits on its cache misses in turn. */
            if (i + 1 < count) {
                const char *next = (const char *)dataset_sample_bytes(ds, index[i + 1]);
                for (size_t at = 0; at < size; at += 64)
                    __builtin_prefetch(next + at);
            }
#endif
            if (!augment && norm) {
                norm_bytes(norm, src, o, size);
                continue;
            }
            if (augment)
                augment_bytes(aug, ds->shape, aug_key, index[i], src, o);
            else
                for (size_t j = 0; j < size; j++)
                    o[j] = (float)src[j];
        } else {
            const float *src = dataset_sample(ds, index[i]);
            if (augment)
                data_prep_augment_sample(aug, ds->shape, aug_key, index[i], src, o);
            else
                memcpy(o, src, size * sizeof *o);
        }
        if (norm)
            norm_one(norm, o, size);
    }
}

bool data_prep_from_spec(struct ns_diag *diag, const struct spec *spec, struct spec_shape shape,
                         struct data_prep_norm *norm, struct data_prep_augment *aug)
{
    const struct spec_data *d = &spec->data;
    aug->hflip = d->augment.hflip;
    aug->random_crop = d->augment.random_crop;
    memset(norm, 0, sizeof *norm);
    if (d->normalize.type == NORMALIZE_STANDARDIZE) {
        ns_diag_add(diag, NS_ERR_DATA, spec_node_loc(d->normalize.node),
                    "a run made by this netspec records the values; train the run again",
                    "normalize: standardize is fitted to the training data, and this run does not record the values");
        return false;
    }
    if (data_prep_augment_active(aug) && !data_prep_augment_applies(shape)) {
        ns_diag_add(diag, NS_ERR_SPEC, spec_node_loc(d->augment.node), NULL,
                    "augment flips and crops images; these examples are vectors of %d values", shape.dims[0]);
        return false;
    }
    return data_prep_norm_init(diag, spec_node_loc(d->normalize.node), shape, d->normalize.scale,
                               d->normalize.mean.values, d->normalize.mean.count, d->normalize.std.values,
                               d->normalize.std.count, norm);
}

bool data_prep_for_training(struct ns_diag *diag, const struct spec *spec, const struct dataset *train,
                            struct data_prep_norm *norm, struct data_prep_augment *aug)
{
    const struct spec_data *d = &spec->data;
    if (d->normalize.type != NORMALIZE_STANDARDIZE)
        return data_prep_from_spec(diag, spec, train->shape, norm, aug);
    aug->hflip = d->augment.hflip;
    aug->random_crop = d->augment.random_crop;
    memset(norm, 0, sizeof *norm);
    if (data_prep_augment_active(aug) && !data_prep_augment_applies(train->shape)) {
        ns_diag_add(diag, NS_ERR_SPEC, spec_node_loc(d->augment.node), NULL,
                    "augment flips and crops images; these examples are vectors of %d values", train->shape.dims[0]);
        return false;
    }
    return data_prep_norm_fit(diag, spec_node_loc(d->normalize.node), train, norm);
}

bool data_prep_norm_fit(struct ns_diag *diag, struct ns_loc loc, const struct dataset *train,
                        struct data_prep_norm *out)
{
    memset(out, 0, sizeof *out);
    size_t channels = innermost(train->shape);
    if (channels == 0 || train->count == 0) {
        ns_diag_add(diag, NS_ERR_DATA, loc, "hold fewer examples out (data.validation), or give the values: "
                    "`normalize: {mean: ..., std: ...}`",
                    "normalize: standardize needs training examples, and the training split is empty");
        return false;
    }
    size_t size = train->sample_size, per_channel = size / channels;
    double *sum = ns_xcalloc(channels, sizeof *sum);
    double *dev = ns_xcalloc(channels, sizeof *dev);
    for (size_t i = 0; i < train->count; i++)
        for (size_t j = 0; j < size; j++)
            sum[j % channels] += dataset_value(train, i, j);
    double n = (double)train->count * (double)per_channel;
    for (size_t c = 0; c < channels; c++)
        sum[c] /= n;
    for (size_t i = 0; i < train->count; i++)
        for (size_t j = 0; j < size; j++) {
            double e = dataset_value(train, i, j) - sum[j % channels];
            dev[j % channels] += e * e;
        }
    out->scale = 1.0f;
    out->channels = channels;
    out->mean = ns_xmalloc(channels * sizeof *out->mean);
    out->std = ns_xmalloc(channels * sizeof *out->std);
    for (size_t c = 0; c < channels; c++) {
        float mean = (float)sum[c], std = (float)sqrt(dev[c] / n);
        out->mean[c] = mean;
        out->std[c] = std > 0 && isfinite(std) ? std : 1.0f;
    }
    /* One-hot inputs say which category a row has; scaling them would only blur that. */
    const struct data_csv_layout *l = train->csv;
    for (size_t j = 0; l && j < l->column_count; j++)
        for (size_t k = 0; k < l->columns[j].category_count && l->columns[j].offset + k < channels; k++) {
            out->mean[l->columns[j].offset + k] = 0.0f;
            out->std[l->columns[j].offset + k] = 1.0f;
        }
    free(sum);
    free(dev);
    return true;
}

void data_prep_norm_copy(const struct data_prep_norm *src, struct data_prep_norm *dst)
{
    *dst = *src;
    if (!src->channels)
        return;
    dst->mean = ns_xmalloc(src->channels * sizeof *dst->mean);
    dst->std = ns_xmalloc(src->channels * sizeof *dst->std);
    memcpy(dst->mean, src->mean, src->channels * sizeof *dst->mean);
    memcpy(dst->std, src->std, src->channels * sizeof *dst->std);
}

static void put_floats(struct ns_buf *out, const float *v, size_t n)
{
    ns_buf_puts(out, "[");
    for (size_t i = 0; i < n; i++)
        ns_buf_printf(out, "%s%.9g", i ? ", " : "", (double)v[i]); /* 9 digits: the float again */
    ns_buf_puts(out, "]");
}

void data_prep_norm_put_yaml(struct ns_buf *out, const struct data_prep_norm *norm)
{
    ns_buf_printf(out, "{scale: %.9g", (double)norm->scale);
    if (norm->channels) {
        ns_buf_puts(out, ", mean: ");
        put_floats(out, norm->mean, norm->channels);
        ns_buf_puts(out, ", std: ");
        put_floats(out, norm->std, norm->channels);
    }
    ns_buf_puts(out, "}");
}

static bool read_float(const struct spec_node *n, float *out)
{
    if (!n || n->kind != SPEC_SCALAR || !n->text || !n->text[0])
        return false;
    char *end;
    *out = strtof(n->text, &end);
    return *end == '\0' && isfinite(*out);
}

static bool read_floats(const struct spec_node *n, size_t count, float *out)
{
    if (!n || n->kind != SPEC_SEQ || n->count != count)
        return false;
    for (size_t i = 0; i < count; i++)
        if (!read_float(n->items[i], &out[i]))
            return false;
    return true;
}

bool data_prep_norm_from_yaml(struct ns_diag *diag, const char *path, const struct spec_node *node,
                              struct spec_shape shape, struct data_prep_norm *out)
{
    memset(out, 0, sizeof *out);
    const struct spec_node *mean = spec_tree_get(node, "mean"), *std = spec_tree_get(node, "std");
    bool ok = read_float(spec_tree_get(node, "scale"), &out->scale) && out->scale > 0 && !mean == !std;
    if (ok && mean) {
        size_t channels = innermost(shape);
        out->mean = ns_xmalloc((channels ? channels : 1) * sizeof *out->mean);
        out->std = ns_xmalloc((channels ? channels : 1) * sizeof *out->std);
        out->channels = channels;
        ok = channels && read_floats(mean, channels, out->mean) && read_floats(std, channels, out->std);
        for (size_t c = 0; ok && c < channels; c++)
            ok = out->std[c] > 0;
    }
    if (!ok) {
        ns_diag_add(diag, NS_ERR_DATA, (struct ns_loc){path, node ? node->line : 0, node ? node->col : 0, 1}, NULL,
                    "damaged run file: `normalize:` must be {scale, mean, std} with one mean and std per channel");
        data_prep_norm_free(out);
        return false;
    }
    return true;
}
