/* A spec's data, loaded and split: what `train` and `eval` start from.
 *
 *   struct data_load dl;
 *   if (!data_load_spec(&ctx->diag, spec, ctx->threads, &dl)) return false;   // NS_ERR_DATA
 *   ... dl.train, dl.validation, dl.test (count 0 when the spec has none) ...
 *   data_load_free(&dl);
 *
 * idx and csv: the train file, with spec->data.validation of it held out (stratified by class
 * for classification), and the test file when given. image_folder: root split by data.split
 * into all three, except that a test or validation folder, when given, is that part (its
 * classes matched to root's by name; data.split gives it no share of root). The split key is data_load_split_key(spec): the same spec gives
 * the same split in train, eval and resume. Values stay raw; see data_prep.h for the rest.
 */
#ifndef DATA_LOAD_H
#define DATA_LOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "core/ns_error.h"
#include "data/dataset.h"
#include "spec/spec.h"

struct data_load {
    struct dataset train, validation, test;
    struct spec_shape shape; /* per sample, the same in all three */
    int class_count;         /* 0 for regression */
    size_t skipped;          /* image folders: unreadable images left out */
    size_t ignored;          /* image folders: non-image files */
};

uint64_t data_load_split_key(const struct spec *spec);
/* `threads` = image decoding threads, the context's (0 = every core). `out` is zeroed on failure. */
bool data_load_spec(struct ns_diag *diag, const struct spec *spec, int threads, struct data_load *out);
void data_load_free(struct data_load *dl);
/* image_folder: the test and validation folders `check` sees. Their class folders must be the
 * training classes by name (no class missing, none extra); their image headers are read.
 * The counts are 0 for a folder the spec does not name. */
bool data_load_check_folders(struct ns_diag *diag, const struct spec *spec, size_t *validation_count,
                             size_t *test_count);
/* Another data set of the kind the spec's data is (`netspec eval --data`), unsplit, values raw:
 * a folder laid out like root, its class folders matched to class_names by name (labels in
 * that order; a class without a folder or a folder that is no class is an error), an IDX
 * images file with its `labels` file (labels below class_count), or a CSV file with the spec's
 * label column, read against the run's CSV layout `csv` when it recorded one (columns by name,
 * its categories and classes, missing cells filled with its recorded means). Errors go at the
 * data files (NS_ERR_DATA). */
bool data_load_other(struct ns_diag *diag, const struct spec *spec, int threads, const char *path,
                     const char *labels, const char *const *class_names, int class_count,
                     const struct data_csv_layout *csv, struct dataset *out);

#endif
