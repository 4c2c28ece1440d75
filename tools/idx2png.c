/* idx2png: an IDX image/label pair as class folders of PNG files, ROOT/CLASS/NNNNNN.png, for
 * training the same images through `data.format: image_folder` (tests, benchmarks, the note).
 *
 *   tools/idx2png train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz /tmp/fashion/train
 *
 * Folders are the label numbers, zero-padded to one width so that their sorted order (the
 * order image_folder gives classes) is the label order. PNG keeps 8-bit pixels exactly, so
 * the folder decodes to the IDX bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ns_error.h"
#include "core/ns_util.h"
#include "data/data_folder.h"
#include "data/data_idx.h"
#include "data/dataset.h"
#include "run/run_dir.h"

static int fail(struct ns_diag *diag)
{
    ns_diag_print(diag, stderr, isatty(STDERR_FILENO) && !getenv("NO_COLOR"));
    ns_diag_free(diag);
    return 3;
}

int main(int argc, char **argv)
{
    if (argc != 4 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fprintf(argc == 4 ? stdout : stderr,
                "usage: idx2png IMAGES LABELS OUT_DIR\n"
                "writes OUT_DIR/CLASS/NNNNNN.png for every image (NNNNNN = its index in IMAGES)\n");
        return argc == 4 ? 0 : 2;
    }
    struct ns_diag diag = {0};
    struct dataset ds = {0};
    struct ns_loc here = {0};
    if (!data_idx_load(&diag, here, argv[1], here, argv[2], 0, &ds))
        return fail(&diag);
    int width = snprintf(NULL, 0, "%d", ds.class_count > 1 ? ds.class_count - 1 : 0);
    char **names = ns_xcalloc((size_t)ds.class_count, sizeof *names);
    for (int c = 0; c < ds.class_count; c++)
        names[c] = ns_asprintf("%0*d", width, c);
    /* mkdir -p: the folder's parents need not exist. */
    bool ok = run_dir_make(&diag, argv[3]) && data_folder_write_pngs(&diag, &ds, argv[3], (const char *const *)names);
    for (int c = 0; c < ds.class_count; c++)
        free(names[c]);
    free(names);
    if (ok)
        printf("%s: %zu images of [%d, %d, %d] in %d class folders\n", argv[3], ds.count, ds.shape.dims[0],
               ds.shape.dims[1], ds.shape.dims[2], ds.class_count);
    dataset_free(&ds);
    return ok ? 0 : fail(&diag);
}
