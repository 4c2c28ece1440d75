/* IDX files (the MNIST format), plain or gzip-compressed.
 *
 *   struct data_header h;    // netspec check: reads the images header and the (small) labels
 *   data_idx_read_header(diag, images_loc, images, labels_loc, labels, 0, &h);
 *   struct dataset ds = {0}; // netspec train
 *   data_idx_load(diag, images_loc, images, labels_loc, labels, 10, &ds);
 *
 * Images are 3-D [count, rows, cols] (one channel) or 4-D [count, rows, cols, channels],
 * labels 1-D [count], both of type 0x08 (unsigned bytes). `class_count` > 0 (the spec's
 * class list) makes a label outside 0..class_count-1 an error; 0 takes max label + 1.
 * The header read decompresses only the first bytes of the images file, so it stays fast on
 * a 47 MB archive. Errors are NS_ERR_DATA at the spec place given (see dataset.h).
 */
#ifndef DATA_IDX_H
#define DATA_IDX_H

#include <stdbool.h>
#include <stdint.h>

#include "core/ns_error.h"
#include "data/dataset.h"

enum { DATA_IDX_UBYTE = 0x08, DATA_IDX_MAX_DIMS = 4 };

/* One file's header as written. */
struct data_idx_file {
    int type; /* 0x08 ubyte, 0x09 byte, 0x0b short, 0x0c int, 0x0d float, 0x0e double */
    int ndim;
    uint32_t dims[DATA_IDX_MAX_DIMS];
};

/* Reads and checks the magic and dimensions of one file (any type, 1..4 dimensions). */
bool data_idx_read_file_header(struct ns_diag *diag, struct ns_loc spec_loc, const char *path,
                               struct data_idx_file *out);
/* Checks both files' headers, reads the labels (count bytes) to check them and count classes. */
bool data_idx_read_header(struct ns_diag *diag, struct ns_loc images_loc, const char *images_path,
                          struct ns_loc labels_loc, const char *labels_path, int class_count,
                          struct data_header *out);
/* Loads images and labels; `out` is untouched on failure. */
bool data_idx_load(struct ns_diag *diag, struct ns_loc images_loc, const char *images_path,
                   struct ns_loc labels_loc, const char *labels_path, int class_count,
                   struct dataset *out);

#endif
