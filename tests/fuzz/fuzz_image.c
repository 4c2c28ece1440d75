/* libFuzzer harness: one image file decoded as the image_folder loader and `netspec predict`
 * decode it (stbi_load by content, whatever the extension, converted to the spec's channels
 * and resized to its size).
 *
 * Input: three bytes, then the file. Byte 0: height - 1 (mod 32), byte 1: width - 1 (mod 32),
 * byte 2: bits 0-1 channels - 1, bit 2 also load it as ROOT/a/x.png and ROOT/b/x.png (two
 * classes) through the folder loader (the scan with its header check, then the parallel
 * decode), bit 3 on_error: skip there.
 * Oracle: a failure carries errors naming the file; a decoded image holds whole values 0..255;
 * the folder loader agrees with the single-image decode. An image header declaring more
 * pixels than the file can hold must be refused before stb allocates them (-malloc_limit_mb
 * turns such an allocation into a finding), as must a PNG chunk longer than the file.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/ns_ctx.h"
#include "data/data_folder.h"
#include "data/dataset.h"

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ROOT/a/x.png and ROOT/b/x.png, both the fuzzed file: two classes, as a folder needs. */
static void check_folder(const char *file, int height, int width, int channels, bool skip,
                         bool single_ok, const float *single)
{
    static const char *const dirs[2] = {"root/a", "root/b"}, *const images[2] = {"root/a/x.png", "root/b/x.png"};
    const char *root = fuzz_mkdir("root");
    for (int c = 0; c < 2; c++) {
        fuzz_mkdir(dirs[c]);
        const char *image = fuzz_path(images[c]);
        unlink(image);
        if (link(file, image) != 0)
            abort();
    }
    struct ns_ctx ctx;
    ns_ctx_init(&ctx);
    struct data_folder_opts o = {.root = root, .root_loc = {"spec.yaml", 3, 9, 4}, .height = height,
                                 .width = width, .channels = channels, .skip_unreadable = skip, .threads = 1};
    struct data_header h;
    memset(&h, 0, sizeof h);
    if (!data_folder_check_opts(&ctx.diag, &o, &h))
        fuzz_check_failure(&ctx.diag, "data_folder_check_opts", true);
    ns_diag_clear(&ctx.diag);
    struct dataset ds;
    memset(&ds, 0, sizeof ds);
    if (data_folder_load(&ctx.diag, &o, &ds)) {
        size_t n = (size_t)height * (size_t)width * (size_t)channels;
        if (ds.count && (!single_ok || ds.sample_size != n))
            fuzz_fail("the folder loader decodes what the single-image decode rejects");
        for (size_t i = 0; i < ds.count * n; i++)
            if ((float)ds.bytes[i] != single[i % n])
                fuzz_fail("the folder loader and the single-image decode differ at value %zu", i);
        if (ds.count == 0 && single_ok)
            fuzz_fail("the folder loader skips an image the single-image decode reads");
        dataset_free(&ds);
    } else {
        fuzz_check_failure(&ctx.diag, "data_folder_load", true);
    }
    ns_ctx_free(&ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    int height = data[0] % 32 + 1, width = data[1] % 32 + 1, channels = (data[2] & 3) + 1;
    bool folder = data[2] & 4, skip = data[2] & 8;
    data += 3;
    size -= 3;
    const char *path = fuzz_write("image.png", data, size);

    struct ns_ctx ctx;
    ns_ctx_init(&ctx);
    size_t n = (size_t)height * (size_t)width * (size_t)channels;
    float *out = calloc(n, sizeof *out);
    bool ok = data_folder_load_image(&ctx.diag, (struct ns_loc){NULL, 0, 0, 0}, path, height, width, channels, out);
    if (ok) {
        for (size_t i = 0; i < n; i++)
            if (!(out[i] >= 0.0f && out[i] <= 255.0f && out[i] == floorf(out[i])))
                fuzz_fail("decoded value %zu is %g, not a whole 0..255", i, (double)out[i]);
    } else {
        fuzz_check_failure(&ctx.diag, "data_folder_load_image", true);
    }
    ns_ctx_free(&ctx);
    if (folder)
        check_folder(path, height, width, channels, skip, ok, out);
    free(out);
    return 0;
}
