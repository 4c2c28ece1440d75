/* stb_image's decoders, compiled into netspec from Debian's header rather than taken from its
 * libstb.so (which still provides stb_image_write and stb_image_resize), so that
 *   - only the formats netspec reads are there (PNG, JPEG, BMP, PGM/PPM): stb decodes by
 *     content, and the GIF, PSD, PIC, HDR and TGA decoders of 2.27 (Debian 12) have memory
 *     errors of their own;
 *   - every buffer stb allocates starts zeroed: 2.27 leaves the pixels of some damaged JPEGs
 *     (a scan stopping at a missing restart marker, a component no scan covers) as malloc left
 *     them, so one file decoded twice could differ (found by tests/fuzz/fuzz_image).
 *   - its local variables start zeroed too (libnetspec_stb.a is compiled with
 *     -ftrivial-auto-var-init=zero, src/data/local.mk): 2.27 reads a BMP's pixels through a
 *     256-colour stack palette it fills only as far as the file's palette goes.
 * data_folder.c checks what 2.27 gets wrong in the formats it keeps before they reach it.
 * Included as <stb/stb_image.h>, from the system include directory, so stb's own code is not
 * held to netspec's warnings. */
#include "config.h"

#include "data/data_stb.h"

#include <stdlib.h>
#include <string.h>

/* The fuzz build leaves two undefined behaviours of 2.27 unchecked, harmless in practice; the
 * fuzzer would stop there on every run (tests/fuzz/README.md, "Known"):
 *   - on a corrupt JPEG bit stream its bit reader can shift by 32 or more (fixed upstream in
 *     2.28). Hardware takes the count modulo 32, the pixels are garbage either way and no
 *     memory is touched;
 *   - a PNG whose first IDAT chunk is empty (allowed by the format) makes it copy 0 bytes to
 *     NULL + 0, its buffer not yet allocated: clang reports the + 0 (pointer-overflow) and the
 *     memcpy to NULL (nonnull-attribute), though nothing is read or written. */
#if defined(NETSPEC_FUZZING) && defined(__clang__)
#pragma clang attribute push(__attribute__((no_sanitize("shift-exponent", "pointer-overflow", "nonnull-attribute"))), \
                             apply_to = function)
#endif

#define STBI_MALLOC(size) calloc(1, (size))
#define STBI_REALLOC(p, size) realloc((p), (size))
#define STBI_FREE(p) free(p)
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_ONLY_PNM
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>


enum data_image_format data_image_format(FILE *f)
{
    unsigned char head[8] = {0};
    long pos = ftell(f);
    size_t n = fread(head, 1, sizeof head, f);
    fseek(f, pos, SEEK_SET);
    if (n >= 8 && memcmp(head, "\x89PNG\r\n\x1a\n", 8) == 0)
        return DATA_IMAGE_PNG;
    if (n >= 3 && head[0] == 0xff && head[1] == 0xd8 && head[2] == 0xff)
        return DATA_IMAGE_JPEG;
    if (n >= 2 && head[0] == 'B' && head[1] == 'M')
        return DATA_IMAGE_BMP;
    if (n >= 2 && head[0] == 'P' && (head[1] == '5' || head[1] == '6'))
        return DATA_IMAGE_PNM;
    return DATA_IMAGE_UNKNOWN;
}

int data_stb_info(FILE *f, enum data_image_format format, int *x, int *y, int *comp)
{
    stbi__context s;
    long pos = ftell(f);
    stbi__start_file(&s, f);
    int r = 0;
    switch (format) {
    case DATA_IMAGE_PNG: r = stbi__png_info(&s, x, y, comp); break;
    case DATA_IMAGE_JPEG: r = stbi__jpeg_info(&s, x, y, comp); break;
    case DATA_IMAGE_BMP: r = stbi__bmp_info(&s, x, y, comp); break;
    case DATA_IMAGE_PNM: r = stbi__pnm_info(&s, x, y, comp); break;
    case DATA_IMAGE_UNKNOWN: r = stbi__err("unknown image type", "Image not of any known type, or corrupt"); break;
    }
    fseek(f, pos, SEEK_SET);
    return r;
}

#if defined(NETSPEC_FUZZING) && defined(__clang__)
#pragma clang attribute pop
#endif
