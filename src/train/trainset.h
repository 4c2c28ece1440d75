/* The data a run trains and evaluates on: the spec's files loaded, split and prepared.
 *
 *   struct trainset ts;
 *   if (!trainset_load(ctx, spec, class_count, &ts)) ...;   // diag: exit 3 or 2
 *   trainset_gather(&ts, &ts.train, index, n, true, epoch, x, labels, targets, ids);
 *   trainset_free(&ts);
 *
 * Loading and splitting is data_load_spec (data_load.h: stratified, stream "split"); this adds
 * what training needs on top: class names, the preprocessing of data_prep.h and batch gathers.
 * Samples stay raw; trainset_gather augments (training only) and normalises each batch as it
 * copies it, so every split sees the same preprocessing.
 */
#ifndef TRAINSET_H
#define TRAINSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ns_ctx.h"
#include "data/data_prep.h"
#include "data/dataset.h"
#include "spec/spec.h"

struct trainset {
    struct dataset train, validation, test; /* count 0 when absent or not loaded */
    bool has_validation, has_test;          /* the spec defines the split */
    bool regression;
    int class_count;                        /* 0 for regression */
    char **class_names;                     /* (class_count) owned */
    struct spec_shape shape;
    size_t sample_size;
    struct data_prep_norm norm;
    struct data_prep_augment augment;
    uint64_t seed;
    size_t skipped; /* unreadable images left out (image folders, on_error: skip) */
    int threads;    /* the context's, when loaded: for decoding and trainset_gather */
    int isa;        /* the context's kernel ISA (enum kernels_isa), for loop_evaluate */
};

/* class_count: what the graph was built for (model_probe_data); the data must agree. */
bool trainset_load(struct ns_ctx *ctx, const struct spec *spec, int class_count, struct trainset *out);
/* The run's preprocessing around another data set (`netspec eval --data`, data_load_other),
 * which becomes ts->test; the spec's own data is not read. shape: what the model takes; csv:
 * the run's CSV layout (NULL for images, or a run that did not record it); norm: the
 * normalisation the run recorded (fitted values included). */
bool trainset_load_other(struct ns_ctx *ctx, const struct spec *spec, const struct spec_shape *shape,
                         int class_count, const char *const *class_names, const struct data_csv_layout *csv,
                         const struct data_prep_norm *norm, const char *path, const char *labels,
                         struct trainset *out);
void trainset_free(struct trainset *ts);
/* The split a name means: "train", "validation", "test"; NULL when unknown. */
const struct dataset *trainset_split(const struct trainset *ts, const char *name);
/* Copies samples index[0..n) of ds into x (n, sample_size), augmented when `augment` (key:
 * seed, stream "augment", epoch) and normalised; labels or targets and the sample ids (the
 * indices themselves) alongside. labels/targets/ids may be NULL. */
void trainset_gather(const struct trainset *ts, const struct dataset *ds, const size_t *index, size_t n,
                     bool augment, int epoch, float *x, int32_t *labels, float *targets, uint32_t *ids);

/* Rewrites the spec's data paths as absolute paths (arena strings), so the resolved spec in a
 * run directory reads the same files from any working directory. */
void trainset_absolute_paths(struct ns_ctx *ctx, struct spec *spec);

/* The data files a spec reads, for the manifest and the data check of `eval`. */
struct trainset_files {
    size_t count;
    char **paths; /* (count) owned */
};
bool trainset_list_files(struct ns_ctx *ctx, const struct spec *spec, struct trainset_files *out);
void trainset_files_free(struct trainset_files *files);

#endif
