/* Sizes in bytes as the spec writes them (runtime.max_memory) and as messages show them.
 *
 *   long long bytes;
 *   if (spec_size_parse("512MiB", &bytes)) ...      // 536870912
 *   char text[SPEC_SIZE_TEXT_MAX];
 *   spec_size_format(51.3 * 1073741824.0, text);    // "51.3 GiB": for people, rounded
 *   spec_size_exact(536870912, text);               // "512MiB": for resolve, exact
 *
 * Units: B; kB KB MB GB TB (powers of 1000); KiB MiB GiB TiB (powers of 1024). Pure
 * functions; the caller owns every buffer.
 */
#ifndef SPEC_SIZE_H
#define SPEC_SIZE_H

#include <stdbool.h>

enum { SPEC_SIZE_TEXT_MAX = 32 };
#define SPEC_SIZE_MAX 4611686018427387904LL /* 2^62 bytes, the largest size a spec may give */

/* A positive whole number of bytes, or a number (decimals allowed) and a unit, optionally
 * separated by one space. False for anything else, zero, or more than 2^62 bytes. */
bool spec_size_parse(const char *text, long long *bytes);
/* About three significant digits in the largest binary unit that keeps the number >= 1. */
void spec_size_format(double bytes, char out[SPEC_SIZE_TEXT_MAX]);
/* The largest of MiB, GiB, TiB that divides the size exactly, else plain bytes. */
void spec_size_exact(long long bytes, char out[SPEC_SIZE_TEXT_MAX]);

#endif
