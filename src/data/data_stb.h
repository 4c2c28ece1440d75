/* What netspec adds to the stb_image it compiles (data_stb.c).
 *
 *   enum data_image_format format = data_image_format(f);   // by the first bytes
 *   if (format != DATA_IMAGE_UNKNOWN && data_stb_info(f, format, &w, &h, &comp)) ...
 *
 * stbi_info tries every decoder in turn, and between tries stb rewinds a file only as far
 * back as its 128-byte buffer: a JPEG whose header fails after that point was then read
 * from the middle by the PNG, BMP and PGM/PPM readers (found by tests/fuzz/fuzz_image).
 * data_stb_info reads the header of the one format the file starts like. Both leave the
 * file where it was.
 */
#ifndef DATA_STB_H
#define DATA_STB_H

#include <stdio.h>

enum data_image_format { DATA_IMAGE_UNKNOWN, DATA_IMAGE_PNG, DATA_IMAGE_JPEG, DATA_IMAGE_BMP, DATA_IMAGE_PNM };

/* The format a file starts like, among those compiled in (data_stb.c); anything else, GIF
 * or TGA named .png included, never reaches stb. */
enum data_image_format data_image_format(FILE *f);
/* stbi_info_from_file for that format alone: 1 with the size and channels, else 0 with
 * stbi_failure_reason set. */
int data_stb_info(FILE *f, enum data_image_format format, int *x, int *y, int *comp);

#endif
