/* stb_image's decoders, compiled into netspec from Debian's header rather than taken from its
 * libstb.so (which still provides stb_image_write and stb_image_resize), so that
 *   - only the formats netspec reads are there (PNG, JPEG, BMP, PGM/PPM): stb decodes by
 *     content, and the GIF, PSD, PIC, HDR and TGA decoders of 2.27 (Debian 12) have memory
 *     errors of their own;
 *   - every buffer stb allocates starts zeroed: 2.27 leaves the pixels of some damaged JPEGs
 *     (a scan stopping at a missing restart marker, a component no scan covers) as malloc left
 *     them, so one file decoded twice could differ (found by tests/fuzz/fuzz_image).
 * data_folder.c checks what 2.27 gets wrong in the formats it keeps before they reach it.
 * Included as <stb/stb_image.h>, from the system include directory, so stb's own code is not
 * held to netspec's warnings. */
#include "config.h"

#include <stdlib.h>

/* The fuzz build leaves one undefined behaviour of 2.27 unchecked: on a corrupt JPEG bit stream
 * its bit reader can shift by 32 or more (fixed upstream in 2.28). Hardware takes the count
 * modulo 32, the pixels are garbage either way and no memory is touched; the fuzzer would stop
 * there on every run (tests/fuzz/README.md, "Known"). */
#if defined(NETSPEC_FUZZING) && defined(__clang__)
#pragma clang attribute push(__attribute__((no_sanitize("shift-exponent"))), apply_to = function)
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

#if defined(NETSPEC_FUZZING) && defined(__clang__)
#pragma clang attribute pop
#endif
