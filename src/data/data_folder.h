/* Folders of images: ROOT/CLASS/IMAGE, one sub-folder per class.
 *
 *   struct data_folder_opts o = {.root = root, .root_loc = loc, .height = 64, .width = 64,
 *                                .channels = 3, .skip_unreadable = false};
 *   struct data_folder_index idx;                 // netspec check: names and headers only
 *   data_folder_scan(diag, &o, true, &idx); ... data_folder_index_free(&idx);
 *   struct dataset ds = {0};                      // netspec train: decode, convert, resize
 *   data_folder_load(diag, &o, &ds);              // ds.skipped = unreadable images left out
 *
 * Classes are the sub-folders sorted by name (strcmp), or the listed classes in list order;
 * with a list, a listed class without a folder and a folder not listed are both errors.
 * Images are the files ending in .png .jpg .jpeg .bmp .pgm .ppm (any case), sorted by name;
 * other files are left out and counted in `ignored`. Decoding runs in parallel over files,
 * each into its own slot, so the result does not depend on the thread count.
 */
#ifndef DATA_FOLDER_H
#define DATA_FOLDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ns_error.h"
#include "data/dataset.h"

struct data_folder_opts {
    const char *root;
    struct ns_loc root_loc;           /* where root was written; file NULL = errors at the files */
    size_t class_count;               /* 0 = the sorted sub-folder names */
    const char *const *classes;       /* (class_count) class names in label order */
    const struct ns_loc *class_locs;  /* (class_count) where each was written, or NULL */
    const struct spec_node *const *class_nodes; /* or (class_count) the spec's nodes, or NULL */
    int height, width, channels;      /* every image is converted to this; channels 1..4 */
    bool skip_unreadable;             /* on_error: skip */
    int threads;                      /* the context's; 0 (not chosen) = every core */
};

struct data_folder_index {
    int class_count;
    char **class_names;  /* (class_count) */
    size_t *class_files; /* (class_count) images per class, after skipping */
    size_t count;
    char **paths;        /* (count) "ROOT/CLASS/FILE", by class then file name */
    int32_t *labels;     /* (count) */
    size_t ignored;      /* files in class folders without an image extension */
    size_t skipped;      /* images stbi_info could not read, left out (skip_unreadable) */
};

/* Lists classes and images. With `verify`, reads every image's header (stbi_info: no decode)
 * and reports or, with skip_unreadable, leaves out and counts the unreadable ones. */
bool data_folder_scan(struct ns_diag *diag, const struct data_folder_opts *opts, bool verify,
                      struct data_folder_index *out);
void data_folder_index_free(struct data_folder_index *idx);
/* The options a spec's data section asks for (root, classes and their places, size, on_error).
 * Borrows from spec. */
void data_folder_opts_from_spec(const struct spec *spec, int threads, struct data_folder_opts *out);
/* Header facts for `netspec check`: the scan with verify, as shape [h, w, c], count, classes,
 * skipped and ignored files. */
bool data_folder_check_opts(struct ns_diag *diag, const struct data_folder_opts *opts, struct data_header *out);
/* The same for a spec with format image_folder. */
bool data_folder_check(struct ns_diag *diag, const struct spec *spec, struct data_header *out);
/* Decodes every image into a dataset of shape [height, width, channels], values 0..255.
 * A file that does not decode is an error naming it, or with skip_unreadable is left out and
 * counted in out->skipped. `out` is untouched on failure. */
bool data_folder_load(struct ns_diag *diag, const struct data_folder_opts *opts, struct dataset *out);
/* Decodes one image the same way (netspec predict). `out` is (height, width, channels). */
bool data_folder_load_image(struct ns_diag *diag, struct ns_loc loc, const char *path, int height,
                            int width, int channels, float *out);
/* Writes a dataset of 0..255 images as ROOT/CLASS/NNNNNN.png (for building test folders and
 * benchmarks from IDX files). class_names may be NULL: folders are then named by index. */
bool data_folder_write_pngs(struct ns_diag *diag, const struct dataset *ds, const char *root,
                            const char *const *class_names);

#endif
