/* Preprocessing: normalisation (training, evaluation, prediction and the emitted C all use
 * data_prep_value, so they agree bit for bit) and augmentation of training images.
 *
 *   struct data_prep_norm norm;
 *   data_prep_norm_init(diag, loc, ds.shape, 1.0 / 255, mean, n_mean, std, n_std, &norm);
 *   data_prep_gather(threads, &ds, batch_index, n, &norm, &aug, aug_key, batch_x);   // (n, sample)
 *   data_prep_norm_free(&norm);
 *
 * Per-channel values run along the innermost dimension: c for [h, w, c], every feature for [n].
 * Augmentation works on [h, w, c] samples only (data_prep_augment_applies) and pads with 0, so it
 * runs on raw values, before normalisation, where 0 is black (as torchvision does it).
 */
#ifndef DATA_PREP_H
#define DATA_PREP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ns_error.h"
#include "core/ns_util.h"
#include "data/dataset.h"

struct data_prep_norm {
    float scale;
    size_t channels; /* values in mean and std: the innermost dimension; 0 = scale only */
    float *mean;     /* (channels) 0 where not given */
    float *std;      /* (channels) 1 where not given */
};

/* The one formula, in float, with no fused multiply-add (-ffp-contract=off):
 * (x * scale - mean) / std. With mean 0 and std 1 it equals x * scale exactly. */
static inline float data_prep_value(float x, float scale, float mean, float std)
{
    return (x * scale - mean) / std;
}

/* mean_count and std_count: 0 (not given), 1 (all channels) or the innermost dimension.
 * A wrong count or a std <= 0 is an NS_ERR_SPEC error at loc. */
bool data_prep_norm_init(struct ns_diag *diag, struct ns_loc loc, struct spec_shape shape, double scale,
                    const double *mean, size_t mean_count, const double *std, size_t std_count,
                    struct data_prep_norm *out);
void data_prep_norm_free(struct data_prep_norm *norm);
/* In place on n samples of sample_size floats (a multiple of norm->channels). */
void data_prep_norm_apply(int threads, const struct data_prep_norm *norm, float *x /* (n, sample_size) */, size_t n,
                     size_t sample_size);

struct data_prep_augment {
    bool hflip;      /* mirror left-right with probability 1/2 */
    int random_crop; /* pad by this many zero pixels, crop back at a random offset; 0 = off */
};

/* Augmentation needs an image: [h, w, c]. For [n] data the caller reports an error. */
bool data_prep_augment_applies(struct spec_shape shape);
bool data_prep_augment_active(const struct data_prep_augment *aug);
/* out = augmented in, for sample number `sample` (its index in the dataset, so the result does
 * not depend on batching); key = from (seed, stream "augment", epoch). in and out must not
 * overlap; both (h, w, c). Draws: bit 63 of hash(key, sample, 0) flips; the crop offsets dy, dx
 * in -pad..pad are hash(key, sample, 1) and (…, 2) modulo 2*pad+1, minus pad. */
void data_prep_augment_sample(const struct data_prep_augment *aug, struct spec_shape shape, uint64_t key, uint64_t sample,
                         const float *in, float *out);

/* The spec's normalize and augment sections for samples of `shape`. Augmentation asked of
 * [n] data is an NS_ERR_SPEC error at the augment section. `normalize: standardize` is fitted
 * to training data (data_prep_for_training), so here it is an NS_ERR_DATA error: a run records
 * the fitted values (model.yaml) and is read back with data_prep_norm_from_yaml. */
bool data_prep_from_spec(struct ns_diag *diag, const struct spec *spec, struct spec_shape shape,
                         struct data_prep_norm *norm, struct data_prep_augment *aug);
/* data_prep_from_spec for the data a run trains on: `normalize: standardize` is fitted to
 * `train` (data_prep_norm_fit). */
bool data_prep_for_training(struct ns_diag *diag, const struct spec *spec, const struct dataset *train,
                            struct data_prep_norm *norm, struct data_prep_augment *aug);
/* standardize: scale 1 and, per channel (the innermost dimension: an image channel, a CSV
 * input), the mean and population standard deviation of every value of `train`, summed in
 * double in sample order (so the same on every machine), rounded once to float. A constant
 * channel keeps std 1 (it is centred, not scaled); one-hot inputs of a CSV layout (train->csv)
 * keep mean 0 and std 1. No samples is an NS_ERR_DATA error at loc. */
bool data_prep_norm_fit(struct ns_diag *diag, struct ns_loc loc, const struct dataset *train,
                        struct data_prep_norm *out);
void data_prep_norm_copy(const struct data_prep_norm *src, struct data_prep_norm *dst);
/* `{scale: S, mean: [...], std: [...]}` (the lists when channels > 0), each float written so it
 * reads back as the same float: what model.yaml records under `normalize:`. */
void data_prep_norm_put_yaml(struct ns_buf *out, const struct data_prep_norm *norm);
/* Reads it back for samples of `shape`; false + an NS_ERR_DATA error at `path` when damaged. */
bool data_prep_norm_from_yaml(struct ns_diag *diag, const char *path, const struct spec_node *node,
                              struct spec_shape shape, struct data_prep_norm *out);

/* Copies samples index[0..n) of ds into out (n, sample_size) as floats (bytes or floats: the
 * same values, dataset.h), augments them when aug is active (aug may be NULL), then normalises
 * them (norm may be NULL). Parallel over samples. */
void data_prep_gather(int threads, const struct dataset *ds, const size_t *index, size_t n, const struct data_prep_norm *norm,
                      const struct data_prep_augment *aug, uint64_t aug_key, float *out);

#endif
