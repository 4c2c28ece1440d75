/* Tabular data: a CSV file with a header row of column names and numeric cells.
 *
 *   struct data_csv_opts o = {.label_column = "species", .label_loc = loc};
 *   struct dataset ds = {0};
 *   if (!data_csv_load(diag, spec_loc, "iris.csv", &o, &ds)) ...;   // ds.shape = [columns - 1]
 *
 * Cells are separated by commas; any cell may be quoted ("a ""b"""); spaces around a cell,
 * blank lines, a UTF-8 byte order mark and CRLF line ends are accepted. The features are
 * every column but the label, in file order. Errors in a cell point at FILE:LINE:COL of the
 * cell itself; a missing label column points at the spec (label_loc) with a suggestion.
 */
#ifndef DATA_CSV_H
#define DATA_CSV_H

#include <stdbool.h>
#include <stddef.h>

#include "core/ns_error.h"
#include "data/dataset.h"

struct data_csv_header {
    size_t column_count;
    char **columns;   /* (column_count) owned, unquoted */
    size_t row_count; /* non-blank lines after the header */
};

struct data_csv_opts {
    const char *label_column;
    struct ns_loc label_loc; /* where label_column was written; file NULL = the CSV header line */
    bool regression;         /* float targets instead of class indices */
    int class_count;         /* > 0: labels must be in 0..class_count-1; 0: max label + 1 */
};

/* Reads the header row and counts the data rows (without parsing them). */
bool data_csv_read_header(struct ns_diag *diag, struct ns_loc spec_loc, const char *path,
                          struct data_csv_header *out);
void data_csv_header_free(struct data_csv_header *hdr);
/* Index of `name` among the columns, or -1 with an error (and a "did you mean" hint). */
long data_csv_find_column(struct ns_diag *diag, const struct data_csv_header *hdr, const char *path,
                          const char *name, struct ns_loc name_loc);
/* Header-only facts for `netspec check`: shape [columns - 1] and the row count; class_count
 * is opts->class_count (the labels are not read). */
bool data_csv_check(struct ns_diag *diag, struct ns_loc spec_loc, const char *path,
                    const struct data_csv_opts *opts, struct data_header *out);
/* Loads every row. `out` is untouched on failure. */
bool data_csv_load(struct ns_diag *diag, struct ns_loc spec_loc, const char *path,
                   const struct data_csv_opts *opts, struct dataset *out);

#endif
