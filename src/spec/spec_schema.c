#include "spec/spec_schema.h"

#include <stdlib.h>
#include <string.h>

#include "core/ns_util.h"
#include "spec/spec.h"

/* From the one list of activations (kernels/activations.def), so a new row is a new name. */
const char *const spec_activation_names[] = {
#define ACTIVATION(name, ...) #name,
#define ACTIVATION_ROW(name, ...) #name,
#include "kernels/activations.def"
#undef ACTIVATION
#undef ACTIVATION_ROW
    NULL,
};
_Static_assert(sizeof spec_activation_names / sizeof *spec_activation_names == ACT_COUNT + 1,
               "spec_activation_names must hold one name per row of activations.def");
const char *const spec_init_names[] = {"auto", "he_normal", "he_uniform", "glorot_normal",
                                       "glorot_uniform", "lecun_normal", "zeros", NULL};
static const char *const data_format_names[] = {"idx", "image_folder", "csv", NULL};
static const char *const loss_names[] = {"cross_entropy", "binary_cross_entropy", "mse", NULL};
static const char *const optimizer_names[] = {"sgd", "adam", "adamw", NULL};
static const char *const schedule_names[] = {"constant", "step", "cosine", NULL};
static const char *const metric_names[] = {"val_loss", "val_accuracy", NULL};
static const char *const on_error_names[] = {"fail", "skip", NULL};
static const char *const task_names[] = {"auto", "classification", "regression", NULL};
static const char *const normalize_names[] = {"fixed", "standardize", NULL};
static const char *const delimiter_names[] = {"auto", "comma", "semicolon", "tab", NULL};
static const char *const missing_names[] = {"error", "drop", "fill_mean", NULL};

const char *spec_activation_name(int activation)
{
    return activation >= 0 && activation < ACT_COUNT ? spec_activation_names[activation] : "?";
}
const char *spec_loss_name(int loss)
{
    return loss >= 0 && loss < 3 ? loss_names[loss] : "?";
}
const char *spec_optimizer_name(int type)
{
    return type >= 0 && type < 3 ? optimizer_names[type] : "?";
}

#define SECTION(stype, sname, table)                                                              \
    {                                                                                              \
        .name = sname, .fields = table, .field_count = SCHEMA_COUNT(table),                        \
        .node_offset = offsetof(stype, node), .has_node = true                                     \
    }

/* ---- data ---- */
#define S struct spec_idx_pair
static const struct schema_field idx_pair_fields[] = {
    {.key = "images", .type = SCHEMA_PATH, .offset = offsetof(S, images), .required = true, SCHEMA_NO_RANGE,
     .doc = "IDX file of images (uint8, [count, rows, cols] or [count, rows, cols, channels]); .gz is read through zlib"},
    {.key = "labels", .type = SCHEMA_PATH, .offset = offsetof(S, labels), .required = true, SCHEMA_NO_RANGE,
     .doc = "IDX file of labels (uint8, [count]); .gz is read through zlib"},
};
static const struct schema_section idx_pair_section = SECTION(S, "data files", idx_pair_fields);
#undef S

#define S struct spec_normalize
#define NORMALIZE_TYPE                                                                             \
    {.key = "type", .type = SCHEMA_ENUM, .offset = offsetof(S, type), .required = true, .names = normalize_names, SCHEMA_NO_RANGE, \
     .doc = "fixed: scale, mean and std as written; standardize: the mean and standard deviation of each image channel or csv feature, " \
            "computed on the training split only and recorded in the run (a constant feature is centred, not scaled; one-hot columns pass through)"}
static const struct schema_field normalize_fixed_fields[] = {
    NORMALIZE_TYPE,
    {.key = "scale", .type = SCHEMA_FLOAT, .offset = offsetof(S, scale), .def = "1.0", .min = 0, .max = 1e9, .min_exclusive = true,
     .doc = "multiply every input value by this first (0.00392156862745098 maps bytes to [0, 1])"},
    {.key = "mean", .type = SCHEMA_FLOATS, .offset = offsetof(S, mean), .min = 1, .max = 100000,
     .doc = "subtract after scaling: one value, or one per channel (images) or per model input (csv)"},
    {.key = "std", .type = SCHEMA_FLOATS, .offset = offsetof(S, std), .min = 1, .max = 100000,
     .doc = "divide by after subtracting the mean: one value, or one per channel (images) or per model input (csv), each > 0"},
};
static const struct schema_field normalize_standardize_fields[] = {NORMALIZE_TYPE};
#undef NORMALIZE_TYPE
static const struct schema_section normalize_fixed = SECTION(S, "normalize (fixed)", normalize_fixed_fields);
static const struct schema_section normalize_standardize = SECTION(S, "normalize (standardize)", normalize_standardize_fields);
static const struct schema_section *const normalize_cases[] = {&normalize_fixed, &normalize_standardize};
static const struct schema_variant normalize_variant = {
    .tag_key = "type", .tag_names = normalize_names, .tag_offset = offsetof(S, type), .default_tag = "fixed",
    .scalar_ok = true, .cases = normalize_cases, .node_offset = offsetof(S, node)};
#undef S

#define S struct spec_augment
static const struct schema_field augment_fields[] = {
    {.key = "hflip", .type = SCHEMA_BOOL, .offset = offsetof(S, hflip), .def = "false", SCHEMA_NO_RANGE,
     .doc = "flip each training image left-right with probability 1/2"},
    {.key = "random_crop", .type = SCHEMA_INT, .offset = offsetof(S, random_crop), .def = "0", .min = 0, .max = 64,
     .doc = "pad each training image by this many zero pixels on every side, then crop a random window of the original size; 0 = off"},
};
static const struct schema_section augment_section = SECTION(S, "augment", augment_fields);
#undef S

#define S struct spec_image
static const struct schema_field image_fields[] = {
    {.key = "size", .type = SCHEMA_PAIR, .offset = offsetof(S, size), .required = true, .min = 1, .max = 4096,
     .doc = "every image is resized to [height, width] (a single number means square)"},
    {.key = "channels", .type = SCHEMA_INT, .offset = offsetof(S, channels), .def = "3", .min = 1, .max = 4,
     .doc = "1 = grey, 3 = RGB; images are converted to this"},
};
static const struct schema_section image_section = SECTION(S, "image", image_fields);
#undef S

#define S struct spec_split
static const struct schema_field split_fields[] = {
    {.key = "train", .type = SCHEMA_FLOAT, .offset = offsetof(S, train), .def = "0.8", .min = 0, .max = 1, .min_exclusive = true,
     .doc = "fraction of each class used for training; with a test or validation folder the default is what the other fractions leave"},
    {.key = "validation", .type = SCHEMA_FLOAT, .offset = offsetof(S, validation), .def = "0.1", .min = 0, .max = 1,
     .doc = "fraction of each class held out for validation"},
    {.key = "test", .type = SCHEMA_FLOAT, .offset = offsetof(S, test), .def = "0.1", .min = 0, .max = 1,
     .doc = "fraction of each class held out for testing; the three fractions sum to 1"},
};
static const struct schema_section split_section = SECTION(S, "split", split_fields);
#undef S

#define S struct spec_data
#define DATA_COMMON                                                                                \
    {.key = "classes", .type = SCHEMA_NAMES, .offset = offsetof(S, classes), .min = 1, .max = 100000,            \
     .doc = "class names in label order; default: the labels' numbers (idx; csv with labels 0..k-1), the labels sorted (csv with names) or the sorted sub-folder names (image_folder). " \
            "csv labels that match listed names are those classes"}, \
    {.key = "normalize", .type = SCHEMA_VARIANT, .offset = offsetof(S, normalize), .def = "{}", .variant = &normalize_variant, SCHEMA_NO_RANGE, \
     .doc = "input preprocessing, applied in training, evaluation, prediction and the emitted C; `normalize: standardize` fits it to the training split"}
#define IMAGE_AUGMENT                                                                              \
    {.key = "augment", .type = SCHEMA_SECTION, .offset = offsetof(S, augment), .def = "{}", .section = &augment_section, SCHEMA_NO_RANGE, \
     .doc = "random changes to training images, seeded per sample (stream \"augment\"); images only"}
#define FORMAT_FIELD                                                                               \
    {.key = "format", .type = SCHEMA_ENUM, .offset = offsetof(S, format), .required = true, .names = data_format_names, SCHEMA_NO_RANGE, \
     .doc = "where the examples come from"}
#define VALIDATION_FIELD                                                                           \
    {.key = "validation", .type = SCHEMA_FLOAT, .offset = offsetof(S, validation), .def = "0.1", .min = 0, .max = 0.9,   \
     .doc = "fraction of the training file held out for validation (stream \"split\"), stratified by class"}

static const struct schema_field data_idx_fields[] = {
    FORMAT_FIELD,
    {.key = "train", .type = SCHEMA_SECTION, .offset = offsetof(S, train), .required = true, .section = &idx_pair_section, SCHEMA_NO_RANGE,
     .doc = "training images and labels"},
    {.key = "test", .type = SCHEMA_SECTION, .offset = offsetof(S, test), .section = &idx_pair_section, SCHEMA_NO_RANGE,
     .doc = "test images and labels (optional)"},
    VALIDATION_FIELD,
    DATA_COMMON,
    IMAGE_AUGMENT,
};
static const struct schema_field data_folder_fields[] = {
    FORMAT_FIELD,
    {.key = "root", .type = SCHEMA_PATH, .offset = offsetof(S, root), .required = true, SCHEMA_NO_RANGE,
     .doc = "folder with one sub-folder of PNG/JPEG/BMP/PGM images per class"},
    {.key = "test", .type = SCHEMA_PATH, .offset = offsetof(S, test_folder), SCHEMA_NO_RANGE,
     .doc = "folder laid out like root (a sub-folder for each class) holding the test images; split.test is then 0, so root is only split into training and validation"},
    {.key = "validation", .type = SCHEMA_PATH, .offset = offsetof(S, validation_folder), SCHEMA_NO_RANGE,
     .doc = "folder laid out like root (a sub-folder for each class) holding the validation images; split.validation is then 0"},
    {.key = "image", .type = SCHEMA_SECTION, .offset = offsetof(S, image), .required = true, .section = &image_section, SCHEMA_NO_RANGE,
     .doc = "the size and channels every image is converted to"},
    {.key = "split", .type = SCHEMA_SECTION, .offset = offsetof(S, split), .def = "{}", .section = &split_section, SCHEMA_NO_RANGE,
     .doc = "stratified train/validation/test split (stream \"split\")"},
    {.key = "on_error", .type = SCHEMA_ENUM, .offset = offsetof(S, on_error), .def = "fail", .names = on_error_names, SCHEMA_NO_RANGE,
     .doc = "fail: an unreadable image stops the run; skip: it is left out and counted"},
    DATA_COMMON,
    IMAGE_AUGMENT,
};
static const struct schema_field data_csv_fields[] = {
    FORMAT_FIELD,
    {.key = "train", .type = SCHEMA_PATH, .offset = offsetof(S, train_csv), .required = true, SCHEMA_NO_RANGE,
     .doc = "CSV file with a header row naming the columns (.gz is read through zlib); every column but the label is a feature: "
            "a number, or a category when listed in categorical"},
    {.key = "test", .type = SCHEMA_PATH, .offset = offsetof(S, test_csv), SCHEMA_NO_RANGE,
     .doc = "CSV test file with the training file's columns, matched by name, in any order (optional)"},
    {.key = "label_column", .type = SCHEMA_STRING, .offset = offsetof(S, label_column), .required = true, SCHEMA_NO_RANGE,
     .doc = "header name of the column to predict"},
    {.key = "task", .type = SCHEMA_ENUM, .offset = offsetof(S, task), .def = "auto", .names = task_names, SCHEMA_NO_RANGE,
     .doc = "classification (class names, or integer labels 0..k-1) or regression (numeric target); auto = regression when the loss is mse"},
    {.key = "delimiter", .type = SCHEMA_ENUM, .offset = offsetof(S, delimiter), .def = "auto", .names = delimiter_names, SCHEMA_NO_RANGE,
     .doc = "what separates the cells; auto = detected from the header and the first rows (comma, semicolon or tab). "
            "With semicolon or tab, a decimal comma (1,5) reads as 1.5"},
    {.key = "categorical", .type = SCHEMA_NAMES, .offset = offsetof(S, categorical), .min = 1, .max = 100000,
     .doc = "feature columns holding categories, one-hot encoded: one model input per value seen in the training file, sorted "
            "(by number when all are numbers); the encoding is recorded in the run"},
    {.key = "missing", .type = SCHEMA_ENUM, .offset = offsetof(S, missing), .def = "error", .names = missing_names, SCHEMA_NO_RANGE,
     .doc = "a missing cell (empty, NA, N/A, NaN, null or ?): error = a located error; drop = leave the row out; "
            "fill_mean = the feature's mean over the training split (recorded in the run; labels are never filled)"},
    VALIDATION_FIELD,
    DATA_COMMON,
};
#undef DATA_COMMON
#undef IMAGE_AUGMENT
#undef FORMAT_FIELD
#undef VALIDATION_FIELD
static const struct schema_section data_idx = SECTION(S, "data (idx)", data_idx_fields);
static const struct schema_section data_folder = SECTION(S, "data (image_folder)", data_folder_fields);
static const struct schema_section data_csv = SECTION(S, "data (csv)", data_csv_fields);
static const struct schema_section *const data_cases[] = {&data_idx, &data_folder, &data_csv};
static const struct schema_variant data_variant = {
    .tag_key = "format", .tag_names = data_format_names, .tag_offset = offsetof(S, format),
    .cases = data_cases, .node_offset = offsetof(S, node)};
#undef S

/* ---- model ---- */
#define S struct spec_model
static const struct schema_field model_fields[] = {
    {.key = "input", .type = SCHEMA_SHAPE, .offset = offsetof(S, input), .def = "auto", .auto_ok = true, .min = 1, .max = 1 << 20,
     .doc = "[height, width, channels] or [features]; auto = from the data"},
    {.key = "layers", .type = SCHEMA_LAYERS, .offset = offsetof(S, layers), .required = true, .min = 1, .max = 10000,
     .doc = "the layers in order; each is `- op: {keys}` or a bare `- op`; `name:` and `from:` make a graph"},
};
static const struct schema_section model_section = SECTION(S, "model", model_fields);
#undef S

/* ---- loss ---- */
#define S struct spec_loss
#define LOSS_TYPE {.key = "type", .type = SCHEMA_ENUM, .offset = offsetof(S, type), .required = true, .names = loss_names, SCHEMA_NO_RANGE, \
     .doc = "cross_entropy: softmax over the logits (fused, stable); binary_cross_entropy: sigmoid per output; mse: mean squared error"}
static const struct schema_field loss_ce_fields[] = {
    LOSS_TYPE,
    {.key = "label_smoothing", .type = SCHEMA_FLOAT, .offset = offsetof(S, label_smoothing), .def = "0.0", .min = 0, .max = 0.5,
     .doc = "mix this much of the uniform distribution into the one-hot targets"},
};
static const struct schema_field loss_plain_fields[] = {LOSS_TYPE};
#undef LOSS_TYPE
static const struct schema_section loss_ce = SECTION(S, "loss (cross_entropy)", loss_ce_fields);
static const struct schema_section loss_bce = SECTION(S, "loss (binary_cross_entropy)", loss_plain_fields);
static const struct schema_section loss_mse = SECTION(S, "loss (mse)", loss_plain_fields);
static const struct schema_section *const loss_cases[] = {&loss_ce, &loss_bce, &loss_mse};
static const struct schema_variant loss_variant = {
    .tag_key = "type", .tag_names = loss_names, .tag_offset = offsetof(S, type), .scalar_ok = true,
    .cases = loss_cases, .node_offset = offsetof(S, node)};
#undef S

/* ---- optimizer ---- */
#define S struct spec_optimizer
#define OPT_TYPE {.key = "type", .type = SCHEMA_ENUM, .offset = offsetof(S, type), .required = true, .names = optimizer_names, SCHEMA_NO_RANGE, \
     .doc = "sgd, adam, or adamw (adam with decoupled weight decay)"}
#define OPT_LR(d) {.key = "lr", .type = SCHEMA_FLOAT, .offset = offsetof(S, lr), .def = d, .min = 0, .max = 10, .min_exclusive = true, \
     .doc = "peak learning rate (the schedule scales it)"}
static const struct schema_field opt_sgd_fields[] = {
    OPT_TYPE,
    OPT_LR("0.01"),
    {.key = "momentum", .type = SCHEMA_FLOAT, .offset = offsetof(S, momentum), .def = "0.0", .min = 0, .max = 1, .doc = "heavy-ball momentum (0 = plain gradient descent)"},
    {.key = "nesterov", .type = SCHEMA_BOOL, .offset = offsetof(S, nesterov), .def = "false", SCHEMA_NO_RANGE, .doc = "Nesterov momentum (needs momentum > 0)"},
    {.key = "weight_decay", .type = SCHEMA_FLOAT, .offset = offsetof(S, weight_decay), .def = "0.0", .min = 0, .max = 1, .doc = "L2 penalty added to the gradient of weights (not biases)"},
};
#define ADAM_FIELDS(wd)                                                                             \
    OPT_TYPE, OPT_LR("0.001"),                                                                     \
    {.key = "beta1", .type = SCHEMA_FLOAT, .offset = offsetof(S, beta1), .def = "0.9", .min = 0, .max = 1, .doc = "decay of the first-moment estimate"}, \
    {.key = "beta2", .type = SCHEMA_FLOAT, .offset = offsetof(S, beta2), .def = "0.999", .min = 0, .max = 1, .doc = "decay of the second-moment estimate"}, \
    {.key = "eps", .type = SCHEMA_FLOAT, .offset = offsetof(S, eps), .def = "1e-08", .min = 0, .max = 1, .min_exclusive = true, .doc = "added to the denominator"}, \
    {.key = "weight_decay", .type = SCHEMA_FLOAT, .offset = offsetof(S, weight_decay), .def = wd, .min = 0, .max = 1, .doc = "decoupled weight decay of weights (not biases), scaled by the learning rate"}
static const struct schema_field opt_adam_fields[] = {ADAM_FIELDS("0.0")};
static const struct schema_field opt_adamw_fields[] = {ADAM_FIELDS("0.01")};
#undef ADAM_FIELDS
#undef OPT_TYPE
#undef OPT_LR
static const struct schema_section opt_sgd = SECTION(S, "optimizer (sgd)", opt_sgd_fields);
static const struct schema_section opt_adam = SECTION(S, "optimizer (adam)", opt_adam_fields);
static const struct schema_section opt_adamw = SECTION(S, "optimizer (adamw)", opt_adamw_fields);
static const struct schema_section *const opt_cases[] = {&opt_sgd, &opt_adam, &opt_adamw};
static const struct schema_variant optimizer_variant = {
    .tag_key = "type", .tag_names = optimizer_names, .tag_offset = offsetof(S, type), .default_tag = "adam",
    .scalar_ok = true, .cases = opt_cases, .node_offset = offsetof(S, node)};
#undef S

/* ---- schedule ---- */
#define S struct spec_schedule
#define SCHED_TYPE {.key = "type", .type = SCHEMA_ENUM, .offset = offsetof(S, type), .required = true, .names = schedule_names, SCHEMA_NO_RANGE, \
     .doc = "constant, step (multiply by gamma every step_size epochs) or cosine (down to min_lr)"}
#define WARMUP {.key = "warmup_epochs", .type = SCHEMA_INT, .offset = offsetof(S, warmup_epochs), .def = "0", .min = 0, .max = 100000, \
     .doc = "ramp the learning rate linearly from 0 over this many epochs first"}
static const struct schema_field sched_constant_fields[] = {SCHED_TYPE, WARMUP};
static const struct schema_field sched_step_fields[] = {
    SCHED_TYPE, WARMUP,
    {.key = "step_size", .type = SCHEMA_INT, .offset = offsetof(S, step_size), .required = true, .min = 1, .max = 100000, .doc = "epochs between decays"},
    {.key = "gamma", .type = SCHEMA_FLOAT, .offset = offsetof(S, gamma), .def = "0.1", .min = 0, .max = 1, .min_exclusive = true, .doc = "factor applied at each decay"},
};
static const struct schema_field sched_cosine_fields[] = {
    SCHED_TYPE, WARMUP,
    {.key = "min_lr", .type = SCHEMA_FLOAT, .offset = offsetof(S, min_lr), .def = "0.0", .min = 0, .max = 10, .doc = "learning rate at the end of the last epoch"},
};
#undef SCHED_TYPE
#undef WARMUP
static const struct schema_section sched_constant = SECTION(S, "schedule (constant)", sched_constant_fields);
static const struct schema_section sched_step = SECTION(S, "schedule (step)", sched_step_fields);
static const struct schema_section sched_cosine = SECTION(S, "schedule (cosine)", sched_cosine_fields);
static const struct schema_section *const sched_cases[] = {&sched_constant, &sched_step, &sched_cosine};
static const struct schema_variant schedule_variant = {
    .tag_key = "type", .tag_names = schedule_names, .tag_offset = offsetof(S, type), .default_tag = "constant",
    .scalar_ok = true, .cases = sched_cases, .node_offset = offsetof(S, node)};
#undef S

/* ---- train ---- */
#define S struct spec_early_stopping
static const struct schema_field early_fields[] = {
    {.key = "patience", .type = SCHEMA_INT, .offset = offsetof(S, patience), .def = "0", .min = 0, .max = 100000,
     .doc = "stop after this many epochs without improvement; 0 = off"},
    {.key = "metric", .type = SCHEMA_ENUM, .offset = offsetof(S, metric), .def = "val_loss", .names = metric_names, SCHEMA_NO_RANGE,
     .doc = "what must improve"},
    {.key = "min_delta", .type = SCHEMA_FLOAT, .offset = offsetof(S, min_delta), .def = "0.0", .min = 0, .max = 1e9,
     .doc = "smallest change that counts as an improvement"},
    {.key = "restore_best", .type = SCHEMA_BOOL, .offset = offsetof(S, restore_best), .def = "true", SCHEMA_NO_RANGE,
     .doc = "true: the run ends with the weights of the best epoch (model.nsm), whether patience ran out or the epochs did; "
            "false: with the last epoch's. best.nsm beside model.nsm keeps the best epoch's checkpoint either way"},
};
static const struct schema_section early_section = SECTION(S, "early_stopping", early_fields);
#undef S
#define S struct spec_train
static const struct schema_field train_fields[] = {
    {.key = "epochs", .type = SCHEMA_INT, .offset = offsetof(S, epochs), .def = "10", .min = 1, .max = 100000, .doc = "passes over the training set"},
    {.key = "batch_size", .type = SCHEMA_INT, .offset = offsetof(S, batch_size), .def = "64", .min = 1, .max = 65536, .doc = "examples per gradient step"},
    {.key = "checkpoint_every", .type = SCHEMA_INT, .offset = offsetof(S, checkpoint_every), .def = "1", .min = 0, .max = 100000,
     .doc = "write model.nsm every this many epochs (0 = only at the end)"},
    {.key = "early_stopping", .type = SCHEMA_SECTION, .offset = offsetof(S, early_stopping), .def = "{}", .section = &early_section, SCHEMA_NO_RANGE,
     .doc = "stop when a validation metric stops improving"},
};
static const struct schema_section train_section = SECTION(S, "train", train_fields);
#undef S

/* ---- runtime ---- */
#define S struct spec_runtime
static const struct schema_field runtime_fields[] = {
    {.key = "threads", .type = SCHEMA_INT, .offset = offsetof(S, threads), .def = "auto", .auto_ok = true, .min = 1, .max = 1024,
     .doc = "OpenMP threads; auto = all cores, and training drops to fewer while other processes compete for them; a number is used as given; `--threads` wins. Results do not depend on it"},
    {.key = "max_memory", .type = SCHEMA_SIZE, .offset = offsetof(S, max_memory), .def = "auto", .auto_ok = true, SCHEMA_NO_RANGE,
     .doc = "memory training may use, in bytes or with a unit (512MiB, 4GiB, 2GB); auto = 80% of physical memory. "
            "`check` and `train` stop with an error when the estimate is larger"},
};
static const struct schema_section runtime_section = SECTION(S, "runtime", runtime_fields);
#undef S

/* ---- root ---- */
#define S struct spec
static const struct schema_field root_fields[] = {
    {.key = "version", .type = SCHEMA_INT, .offset = offsetof(S, version), .required = true, SCHEMA_NO_RANGE,
     .doc = "the spec language version; this netspec reads version 1"},
    {.key = "name", .type = SCHEMA_STRING, .offset = offsetof(S, name), SCHEMA_NO_RANGE,
     .doc = "the experiment's name (default: the spec's file name); runs go to runs/NAME"},
    {.key = "seed", .type = SCHEMA_SEED, .offset = offsetof(S, seed), .def = "1234", .min = 0, .max = 9007199254740991.0,
     .doc = "one seed, split into the streams init, split, shuffle, dropout and augment"},
    {.key = "extends", .type = SCHEMA_PATH, .offset = 0, SCHEMA_NO_RANGE,
     .doc = "a base spec this one modifies: maps merge key by key, lists replace"},
    {.key = "data", .type = SCHEMA_VARIANT, .offset = offsetof(S, data), .required = true, .variant = &data_variant, SCHEMA_NO_RANGE,
     .doc = "the data set"},
    {.key = "model", .type = SCHEMA_SECTION, .offset = offsetof(S, model), .required = true, .section = &model_section, SCHEMA_NO_RANGE,
     .doc = "the network"},
    {.key = "loss", .type = SCHEMA_VARIANT, .offset = offsetof(S, loss), .required = true, .variant = &loss_variant, SCHEMA_NO_RANGE,
     .doc = "what training minimises"},
    {.key = "optimizer", .type = SCHEMA_VARIANT, .offset = offsetof(S, optimizer), .def = "{}", .variant = &optimizer_variant, SCHEMA_NO_RANGE,
     .doc = "how the weights move"},
    {.key = "schedule", .type = SCHEMA_VARIANT, .offset = offsetof(S, schedule), .def = "{}", .variant = &schedule_variant, SCHEMA_NO_RANGE,
     .doc = "the learning rate over training: evaluated every batch (warmup and cosine move each step; step decays at epoch boundaries)"},
    {.key = "train", .type = SCHEMA_SECTION, .offset = offsetof(S, train), .def = "{}", .section = &train_section, SCHEMA_NO_RANGE,
     .doc = "the training loop"},
    {.key = "runtime", .type = SCHEMA_SECTION, .offset = offsetof(S, runtime), .def = "{}", .section = &runtime_section, SCHEMA_NO_RANGE,
     .doc = "how the CPU runtime runs"},
};
const struct schema_section spec_schema_root = SECTION(S, "spec", root_fields);
#undef S

const struct schema_field *schema_find(const struct schema_section *section, const char *key)
{
    for (size_t i = 0; i < section->field_count; i++)
        if (strcmp(section->fields[i].key, key) == 0)
            return &section->fields[i];
    return NULL;
}

char *schema_key_list(const struct schema_section *section, const char *const *extra)
{
    struct ns_buf buf = {0};
    ns_buf_puts(&buf, "");
    for (size_t i = 0; section && i < section->field_count; i++)
        ns_buf_printf(&buf, "%s%s", buf.len ? ", " : "", section->fields[i].key);
    for (size_t i = 0; extra && extra[i]; i++)
        ns_buf_printf(&buf, "%s%s", buf.len ? ", " : "", extra[i]);
    return buf.data;
}

char *schema_name_list(const char *const *names)
{
    struct ns_buf buf = {0};
    ns_buf_puts(&buf, "");
    for (size_t i = 0; names[i]; i++)
        ns_buf_printf(&buf, "%s%s", i ? ", " : "", names[i]);
    return buf.data;
}

const char *schema_type_name(const struct schema_field *field)
{
    switch (field->type) {
    case SCHEMA_INT:
        return field->auto_ok ? "an integer or auto" : "an integer";
    case SCHEMA_SEED:
        return "a non-negative integer";
    case SCHEMA_SIZE:
        return field->auto_ok ? "a size (bytes, or a number and a unit like 512MiB, 4GiB, 2GB) or auto"
                              : "a size (bytes, or a number and a unit like 512MiB, 4GiB, 2GB)";
    case SCHEMA_FLOAT:
        return "a number";
    case SCHEMA_BOOL:
        return "true or false";
    case SCHEMA_STRING:
        return "a string";
    case SCHEMA_PATH:
        return "a file path";
    case SCHEMA_ENUM:
        return "a name";
    case SCHEMA_SHAPE:
        return field->auto_ok ? "a shape [height, width, channels], [features] or auto"
                              : "a shape [height, width, channels] or [features]";
    case SCHEMA_PAIR:
        return "an integer or [height, width]";
    case SCHEMA_PADDING:
        return "same, valid, an integer or [height, width]";
    case SCHEMA_NAMES:
        return "a name or a list of names";
    case SCHEMA_FLOATS:
        return "a number or a list of numbers";
    case SCHEMA_SECTION:
    case SCHEMA_VARIANT:
        return "a mapping";
    case SCHEMA_LAYERS:
        return "a list of layers";
    }
    return "?";
}

const struct spec_layer_type *spec_layer_type_find(const struct spec_layer_catalog *catalog,
                                                   const char *name)
{
    for (size_t i = 0; name && i < catalog->count; i++)
        if (strcmp(catalog->types[i]->name, name) == 0)
            return catalog->types[i];
    return NULL;
}
