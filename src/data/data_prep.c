#include "data/data_prep.h"

#include <stdlib.h>
#include <string.h>

#include "core/ns_util.h"
#include "data/data_split.h"

static size_t innermost(struct spec_shape shape)
{
    return shape.rank >= 1 && shape.rank <= 3 ? (size_t)shape.dims[shape.rank - 1] : 0;
}

static bool norm_values(struct ns_diag *diag, struct ns_loc loc, const char *what, const double *v, size_t count,
                        size_t channels, float fill, float *out)
{
    if (count != 0 && count != 1 && count != channels) {
        ns_diag_add(diag, NS_ERR_SPEC, loc, NULL, "normalize.%s has %zu values; expected 1 or %zu (one per channel)",
                    what, count, channels);
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
    bool ok = norm_values(diag, loc, "mean", mean, mean_count, channels, 0.0f, m);
    ok = norm_values(diag, loc, "std", std, std_count, channels, 1.0f, s) && ok;
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
        float scale = norm->scale;
        for (size_t i = 0; i < size; i++)
            out[i] = data_prep_value((float)src[i], scale, 0.0f, 1.0f);
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
    if (data_prep_augment_active(aug) && !data_prep_augment_applies(shape)) {
        ns_diag_add(diag, NS_ERR_SPEC, spec_node_loc(d->augment.node), NULL,
                    "augment flips and crops images; these examples are vectors of %d values", shape.dims[0]);
        return false;
    }
    return data_prep_norm_init(diag, spec_node_loc(d->normalize.node), shape, d->normalize.scale,
                               d->normalize.mean.values, d->normalize.mean.count, d->normalize.std.values,
                               d->normalize.std.count, norm);
}
