/* What the two exactness drivers share, so their outputs can be compared with cmp: reading
 * raw images from an uncompressed IDX file, and printing one sample's outputs.
 *
 * exact_runtime (linked with libnetspec) and exact_emitted (compiled with the C that
 * `netspec emit` writes, by every compiler scripts/cross-check.sh tries) print the same
 * lines for the same inputs when the emitted C equals the runtime bit for bit:
 *
 *     SAMPLE z J BITS VALUE     logit J: its float bits (8 hex digits), then %.9g
 *     SAMPLE p J BITS VALUE     probability J (softmax of the logits)
 *     SAMPLE class C            the predicted class (the first largest logit)
 *
 * The bits are what is compared; the values are for people reading a difference. Plain C99
 * with the standard library only: exact_emitted builds with musl and cross compilers. */
#ifndef EXACT_IO_H
#define EXACT_IO_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first `count` images of an IDX ubyte file (magic 0x0803 with [h, w], or 0x0804 with
 * [h, w, c]) as bytes (count, h, w, c), malloc'ed; NULL with the reason in *why. */
static unsigned char *exact_read_idx(const char *path, size_t count, size_t h, size_t w, size_t c, const char **why)
{
    unsigned char head[20];
    unsigned char *bytes;
    size_t ndim, header, dims[4] = {0, 0, 0, 1}, i, want = count * h * w * c;
    FILE *f = fopen(path, "rb");
    if (!f) {
        *why = "cannot open it";
        return NULL;
    }
    if (fread(head, 1, 4, f) != 4 || head[0] || head[1] || head[2] != 8 || (head[3] != 3 && head[3] != 4)) {
        fclose(f);
        *why = "not an IDX ubyte file of images (magic 0x0803 or 0x0804)";
        return NULL;
    }
    ndim = head[3];
    header = 4 * ndim;
    if (fread(head + 4, 1, header, f) != header) {
        fclose(f);
        *why = "truncated IDX header";
        return NULL;
    }
    for (i = 0; i < ndim; i++)
        dims[i] = (size_t)head[4 + 4 * i] << 24 | (size_t)head[5 + 4 * i] << 16 | (size_t)head[6 + 4 * i] << 8 |
                  (size_t)head[7 + 4 * i];
    if (dims[0] < count || dims[1] != h || dims[2] != w || dims[3] != c) {
        fclose(f);
        *why = "fewer images than asked for, or not of the model's input shape";
        return NULL;
    }
    bytes = malloc(want ? want : 1);
    if (!bytes || fread(bytes, 1, want, f) != want) {
        free(bytes);
        fclose(f);
        *why = bytes ? "truncated pixel data" : "out of memory";
        return NULL;
    }
    fclose(f);
    return bytes;
}

static uint32_t exact_bits(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static void exact_print(size_t sample, const float *z, size_t k, const float *p, size_t classes, int cls)
{
    size_t j;
    for (j = 0; j < k; j++)
        printf("%zu z %zu %08lx %.9g\n", sample, j, (unsigned long)exact_bits(z[j]), (double)z[j]);
    for (j = 0; j < classes; j++)
        printf("%zu p %zu %08lx %.9g\n", sample, j, (unsigned long)exact_bits(p[j]), (double)p[j]);
    printf("%zu class %d\n", sample, cls);
}

#endif
