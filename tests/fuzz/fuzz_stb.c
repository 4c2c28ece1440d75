/* stb_image and stb_image_resize compiled into the image harness with libFuzzer's coverage
 * and the sanitizers: these definitions take the place of Debian's uninstrumented libstb.so
 * for data_folder.c, so the fuzzer sees inside the decoders it feeds. Warnings are stb's. */
#pragma clang diagnostic ignored "-Weverything"
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb_image.h>
#include <stb_image_resize.h>
