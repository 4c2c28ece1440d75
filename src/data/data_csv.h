/* Tabular data: a CSV file with a header row of column names.
 *
 *   struct data_csv_opts o;
 *   data_csv_opts_from_spec(spec, &o);                      // or {.label_column = "species", ...}
 *   struct dataset ds = {0};
 *   if (!data_csv_load(diag, spec_loc, "iris.csv.gz", &o, &ds)) ...;   // ds.shape = [inputs]
 *   ... ds.csv: the columns, their encoding and the classes, for the run to record ...
 *
 * The file may be gzip-compressed (read through zlib, whatever its name). Cells are separated
 * by commas, semicolons or tabs (detected from the header and the first rows unless the spec
 * says which); with a semicolon or tab a decimal comma (1,5) reads as 1.5. Any cell may be
 * quoted ("a ""b"""); spaces around a cell, blank lines, a UTF-8 byte order mark and CRLF line
 * ends are accepted. A cell that is empty or reads NA, N/A, NaN, nan, null, NULL or ? is
 * missing, and follows opts->missing.
 *
 * The features are every column but the label, in file order. A numeric column is one model
 * input; a categorical one (opts->categorical) is one input per category, one-hot, in the
 * order of data_csv_column.categories (the values of the training file, sorted: by number when
 * all are numbers, else byte by byte). Labels are class indices (integers 0..k-1), class names
 * (ordered by opts->class_names when given, else sorted), or a numeric target (regression).
 * A test file or a file to predict is read against the training file's layout: its columns
 * are matched by name, in any order.
 *
 * Errors in a cell point at FILE:LINE:COL of the cell itself; a missing column named by the
 * spec points at the spec, with a suggestion. After ten located errors in one file the rest
 * are counted, not listed.
 */
#ifndef DATA_CSV_H
#define DATA_CSV_H

#include <stdbool.h>
#include <stddef.h>

#include "core/ns_error.h"
#include "core/ns_util.h"
#include "data/dataset.h"
#include "spec/spec.h"

/* One feature column of the training file. */
struct data_csv_column {
    char *name;
    size_t category_count; /* 0: a number */
    char **categories;     /* (category_count) in one-hot order */
    size_t offset;         /* the index of its first model input */
};

/* How a training file became model inputs and labels: what a run records (model.yaml) so that
 * test files, predict and the emitted C's documentation encode rows the same way. */
struct data_csv_layout {
    char *label;             /* the label column's name */
    bool regression;         /* the label is a numeric target */
    bool label_names;        /* the labels are class names (class_names), not class indices */
    int class_count;         /* 0 for regression */
    char **class_names;      /* (class_count) when label_names, else NULL */
    size_t column_count;
    struct data_csv_column *columns; /* the feature columns in the training file's order */
    size_t input_size;       /* model inputs: numeric columns plus every category */
    int missing;             /* enum spec_missing */
    float *fill;             /* (input_size) the training split's means (missing: fill_mean), or NULL */
};

struct data_csv_opts {
    const char *label_column;
    struct ns_loc label_loc;         /* where label_column was written; file NULL = the header line */
    bool regression;                 /* float targets instead of classes */
    int class_count;                 /* > 0: the listed classes */
    const char *const *class_names;  /* (class_count) listed names, or NULL: labels are indices */
    const char *loss_name;           /* named when labels do not fit a classification loss */
    int delimiter;                   /* enum spec_delimiter */
    size_t categorical_count;
    const char *const *categorical;  /* (categorical_count) feature columns holding categories */
    const struct spec_node *const *categorical_nodes; /* (categorical_count) where each was written, or NULL */
    int missing;                     /* enum spec_missing */
    const struct data_csv_layout *layout; /* a test file: the training file's layout; NULL for it */
};

/* The spec's CSV options (pointers into the spec). */
void data_csv_opts_from_spec(const struct spec *spec, struct data_csv_opts *out);

struct data_csv_header {
    size_t column_count;
    char **columns;   /* (column_count) owned, unquoted */
    size_t row_count; /* non-blank lines after the header */
};

/* Reads the header row and counts the data rows (without parsing them). */
bool data_csv_read_header(struct ns_diag *diag, struct ns_loc spec_loc, const char *path,
                          struct data_csv_header *out);
void data_csv_header_free(struct data_csv_header *hdr);
/* Index of `name` among the columns, or -1 with an error (and a "did you mean" hint). */
long data_csv_find_column(struct ns_diag *diag, const struct data_csv_header *hdr, const char *path,
                          const char *name, struct ns_loc name_loc);
/* Header-only facts: shape [columns - 1] and the row count; class_count is
 * opts->class_count (the labels are not read). */
bool data_csv_check(struct ns_diag *diag, struct ns_loc spec_loc, const char *path,
                    const struct data_csv_opts *opts, struct data_header *out);
/* Loads every row. With opts->layout NULL (a training file) the layout is made from the file
 * and the options and kept in out->csv; rows left out for missing cells are out->dropped.
 * Missing features under fill_mean are NaN until data_csv_fill_missing. `out` is untouched on
 * failure. */
bool data_csv_load(struct ns_diag *diag, struct ns_loc spec_loc, const char *path,
                   const struct data_csv_opts *opts, struct dataset *out);
/* missing: fill_mean: each input's mean over `train` (NaN cells left out, in row order, in
 * double), kept in layout->fill, replaces the NaN cells of train and of every other set. A
 * column with no value in the training split is an NS_ERR_DATA error at loc. */
bool data_csv_fill_missing(struct ns_diag *diag, struct ns_loc loc, struct data_csv_layout *layout,
                           struct dataset *train, struct dataset *const *others, size_t other_count);

/* The NaN cells of `ds` (missing: fill_mean) take the means the layout recorded. True. */
bool data_csv_fill_recorded(const struct data_csv_layout *layout, struct dataset *ds);

struct data_csv_layout *data_csv_layout_copy(const struct data_csv_layout *layout);
void data_csv_layout_free(struct data_csv_layout *layout); /* and the struct itself */
/* The model input names: "petal_length", or "colour=red" for a category. Owned by the caller. */
char *data_csv_input_name(const struct data_csv_layout *layout, size_t input);
/* The layout as the YAML mapping model.yaml keeps under `csv:` (indent: of its keys). */
void data_csv_layout_put_yaml(struct ns_buf *out, const struct data_csv_layout *layout, int indent);
/* Reads it back; false + an NS_ERR_DATA error at `path` when it is damaged. */
bool data_csv_layout_from_yaml(struct ns_diag *diag, const char *path, const struct spec_node *node,
                               struct data_csv_layout **out);

/* Rows to predict: a CSV file ("-" = standard input, gzip or not) with the training columns
 * in any order; the label column and other columns may be there and are not read. */
struct data_csv_input {
    size_t count;        /* data rows */
    float *x;            /* (count, input_size) raw inputs; 0 in rows that failed */
    bool *ok;            /* (count) false: the row has a located error in the diag */
    int *line;           /* (count) its line in the file */
    char **text;         /* (count) the row as written (without its line end) */
    char *header;        /* the header line as written */
    int header_line;
    struct data_csv_header hdr; /* its column names */
    char delimiter;      /* the file's */
};
/* False when the file or its header cannot be used (diag); rows that cannot be encoded (a
 * missing cell the run does not fill, a category the training file did not have) are
 * reported one by one, flagged in ok[] and the rest are read. `delimiter`: enum
 * spec_delimiter, DELIMITER_AUTO to detect. */
bool data_csv_read_input(struct ns_diag *diag, const char *path, const struct data_csv_layout *layout,
                         int delimiter, struct data_csv_input *out);
void data_csv_input_free(struct data_csv_input *in);

#endif
