/* The validated, typed spec: what every later phase reads instead of YAML.
 *
 *   struct spec *spec = spec_load(ctx, "specs/fashion_mlp.yaml", sets, n_sets);  // NULL on error
 *   spec->optimizer.lr, spec->model.layers[i].type->name, ...
 *
 * Everything lives in ctx->arena. Every section keeps `node`, the YAML map it came from (NULL
 * for a section the spec left out and that took its defaults), so later phases can put errors
 * at the right line: spec_field_loc(section_node, "key") finds a key's place.
 * The field names here match the spec language's keys one to one (DESIGN.md §2).
 */
#ifndef SPEC_H
#define SPEC_H

#include <stdbool.h>
#include <stddef.h>

#include "core/ns_ctx.h"
#include "kernels/activation.h"
#include "kernels/kernels.h"
#include "spec/spec_schema.h"
#include "spec/spec_tree.h"

enum { SPEC_VERSION = 1, SPEC_AUTO = -1 };

struct op_def;

/* [height, width, channels] for images, [n] for vectors; rank 0 = "auto". */
struct spec_shape {
    int rank;
    int dims[3];
};

struct spec_pair {
    int h, w;
};

enum spec_padding_mode {
    SPEC_PAD_VALID = KERNELS_PAD_VALID,
    SPEC_PAD_SAME = KERNELS_PAD_SAME,
    SPEC_PAD_EXPLICIT = KERNELS_PAD_EXPLICIT,
};
struct spec_padding {
    int mode; /* enum spec_padding_mode */
    int h, w; /* for SPEC_PAD_EXPLICIT */
};

struct spec_names {
    size_t count;
    const char **names;
    const struct spec_node **nodes; /* where each name was written */
};

struct spec_floats {
    size_t count; /* 0 = not given */
    double *values;
};

/* Enumerations: the order matches the name tables in spec_schema.c. */
enum spec_init { INIT_AUTO, INIT_HE_NORMAL, INIT_HE_UNIFORM, INIT_GLOROT_NORMAL, INIT_GLOROT_UNIFORM, INIT_LECUN_NORMAL, INIT_ZEROS };
enum spec_data_format { DATA_IDX, DATA_IMAGE_FOLDER, DATA_CSV };
enum spec_loss_type { LOSS_CROSS_ENTROPY, LOSS_BINARY_CROSS_ENTROPY, LOSS_MSE };
enum spec_optimizer_type { OPT_SGD, OPT_ADAM, OPT_ADAMW };
enum spec_schedule_type { SCHED_CONSTANT, SCHED_STEP, SCHED_COSINE };
enum spec_metric { METRIC_VAL_LOSS, METRIC_VAL_ACCURACY };
enum spec_on_error { ON_ERROR_FAIL, ON_ERROR_SKIP };
enum spec_task { TASK_AUTO, TASK_CLASSIFICATION, TASK_REGRESSION };
enum spec_normalize_type { NORMALIZE_FIXED, NORMALIZE_STANDARDIZE };
enum spec_delimiter { DELIMITER_AUTO, DELIMITER_COMMA, DELIMITER_SEMICOLON, DELIMITER_TAB };
enum spec_missing { MISSING_ERROR, MISSING_DROP, MISSING_FILL_MEAN };

struct spec_idx_pair {
    const struct spec_node *node;
    const char *images;
    const char *labels;
};

struct spec_normalize {
    const struct spec_node *node;
    int type; /* enum spec_normalize_type: fixed values, or fitted to the training split */
    double scale;
    struct spec_floats mean; /* one value, or one per channel */
    struct spec_floats std;
};

struct spec_augment {
    const struct spec_node *node;
    bool hflip;
    int random_crop; /* padding in pixels before a random crop back to size; 0 = off */
};

struct spec_image {
    const struct spec_node *node;
    struct spec_pair size;
    int channels;
};

struct spec_split {
    const struct spec_node *node;
    double train, validation, test;
};

struct spec_data {
    const struct spec_node *node;
    int format; /* enum spec_data_format */
    /* idx */
    struct spec_idx_pair train;
    struct spec_idx_pair test; /* node == NULL when absent */
    /* image_folder */
    const char *root;
    struct spec_image image;
    struct spec_split split;
    const char *validation_folder; /* laid out like root; NULL = split.validation of root */
    const char *test_folder;       /* laid out like root; NULL = split.test of root */
    int on_error; /* enum spec_on_error */
    /* csv */
    const char *train_csv;
    const char *test_csv;
    const char *label_column;
    int task; /* enum spec_task */
    int delimiter; /* enum spec_delimiter */
    struct spec_names categorical; /* feature columns one-hot encoded */
    int missing;   /* enum spec_missing */
    /* all formats */
    double validation;
    struct spec_names classes;
    struct spec_normalize normalize;
    struct spec_augment augment;
};

struct spec_layer {
    const struct spec_node *node; /* the list item */
    const struct spec_layer_type *type;
    int index;        /* 0-based position in model.layers */
    const char *name; /* given, or "<op><index>" */
    bool named;       /* the user wrote name: */
    struct spec_names from; /* empty = the previous layer; graph/ resolves the names */
    void *params;     /* the op's own parameter struct (op->param_schema) */
    const struct spec_node *params_node; /* the map of the op's keys, or NULL */
};

struct spec_model {
    const struct spec_node *node;
    struct spec_shape input; /* rank 0 = auto */
    size_t layer_count;
    struct spec_layer *layers;
};

struct spec_loss {
    const struct spec_node *node;
    int type; /* enum spec_loss_type */
    double label_smoothing;
};

struct spec_optimizer {
    const struct spec_node *node;
    int type; /* enum spec_optimizer_type */
    double lr;
    double momentum;
    bool nesterov;
    double weight_decay;
    double beta1, beta2, eps;
};

struct spec_schedule {
    const struct spec_node *node;
    int type; /* enum spec_schedule_type */
    int warmup_epochs;
    int step_size;
    double gamma;
    double min_lr;
};

struct spec_early_stopping {
    const struct spec_node *node;
    int patience; /* 0 = off */
    int metric;   /* enum spec_metric */
    double min_delta;
    bool restore_best; /* end with the best epoch's weights, not the last's */
};

struct spec_train {
    const struct spec_node *node;
    int epochs;
    int batch_size;
    int checkpoint_every;
    struct spec_early_stopping early_stopping;
};

struct spec_runtime {
    const struct spec_node *node;
    int threads; /* SPEC_AUTO = all cores */
    long long max_memory; /* bytes; SPEC_AUTO = model_memory_limit's share of physical memory */
};

struct spec {
    const struct spec_node *node; /* the merged root */
    const char *path;             /* the file given on the command line */
    int version;
    const char *name;
    long long seed;
    struct spec_data data;
    struct spec_model model;
    struct spec_loss loss;
    struct spec_optimizer optimizer;
    struct spec_schedule schedule;
    struct spec_train train;
    struct spec_runtime runtime;
    size_t set_count;
    const char **sets; /* the --set overrides as given, for the manifest */
};

/* Loads PATH, follows `extends`, applies `--set` overrides, validates. NULL and diag on error. */
struct spec *spec_load(struct ns_ctx *ctx, const struct spec_layer_catalog *catalog, const char *path,
                       const char *const *sets, size_t set_count);
/* Validates an already merged tree (the part of spec_load after extends and --set). */
struct spec *spec_from_tree(struct ns_ctx *ctx, const struct spec_layer_catalog *catalog, const char *path,
                            const struct spec_node *root);

/* normalize.mean and std against the shape the data gives (one value, or one per channel of
 * [h, w, c], or one per feature of [n]): a spec error at the list, wherever it was written,
 * file line or --set argument. model_probe_data runs it, so check and train agree. */
bool spec_check_normalize(struct ns_ctx *ctx, const struct spec *spec, struct spec_shape input);

/* Where `key` of a section was written: the value's place, else the section's, else the file. */
struct ns_loc spec_field_loc(const struct spec *spec, const struct spec_node *section, const char *key);
struct ns_loc spec_node_loc(const struct spec_node *node);

const char *spec_activation_name(int activation);
const char *spec_loss_name(int loss);
const char *spec_optimizer_name(int type);

#endif
