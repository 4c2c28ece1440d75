/* What the libFuzzer harnesses in tests/fuzz share (header-only: one .c file per harness).
 *
 *   struct fuzz_parts parts;
 *   fuzz_split(data, size, &parts);           // "a\n%%\nb" -> parts "a", "b"
 *   const char *path = fuzz_write("spec.yaml", parts.data[0], parts.size[0]);
 *   ... call libnetspec on path ...
 *   fuzz_check_failure(&ctx.diag, "spec_load", true);   // a false return must say why
 *
 * The library reads files by path, so each harness writes its input into one private
 * directory per process (under $TMPDIR), rewritten on every run and removed at exit.
 * Several files come from one input by splitting it at FUZZ_SEP lines, so a seed corpus of
 * text files stays readable and the fuzzer can grow or drop a file by inserting or deleting
 * the separator (libFuzzer learns it from the memmem below).
 * A broken contract (an error without a message, an unlocated spec error, a resolve that does
 * not reload to itself) aborts: libFuzzer then saves the input like any crash.
 */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/ns_error.h"

#define FUZZ_SEP "\n%%\n"
enum { FUZZ_MAX_PARTS = 8, FUZZ_MAX_FILES = 16 };

struct fuzz_parts {
    size_t count;
    const uint8_t *data[FUZZ_MAX_PARTS];
    size_t size[FUZZ_MAX_PARTS];
};

/* The input cut at each FUZZ_SEP; the last part takes the rest, separators included. */
static inline void fuzz_split(const uint8_t *data, size_t size, struct fuzz_parts *out)
{
    const size_t sep_len = sizeof FUZZ_SEP - 1;
    out->count = 0;
    while (out->count + 1 < FUZZ_MAX_PARTS) {
        const uint8_t *at = size ? memmem(data, size, FUZZ_SEP, sep_len) : NULL;
        if (!at)
            break;
        out->data[out->count] = data;
        out->size[out->count++] = (size_t)(at - data);
        size -= (size_t)(at - data) + sep_len;
        data = at + sep_len;
    }
    out->data[out->count] = data;
    out->size[out->count++] = size;
}

/* A part as a NUL-terminated string (malloc'd; an embedded NUL ends it early). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

static inline void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static inline void fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz: contract broken: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

struct fuzz_dir {
    char path[512];
    char *files[FUZZ_MAX_FILES]; /* names written, removed at exit */
    size_t file_count;
    char *dirs[FUZZ_MAX_FILES];  /* sub-directories made, removed at exit after the files */
    size_t dir_count;
};

/* The one directory of this process: harness state, not library state. */
static struct fuzz_dir fuzz_dir_state;

static inline void fuzz_dir_remove(void)
{
    struct fuzz_dir *d = &fuzz_dir_state;
    for (size_t i = 0; i < d->file_count; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", d->path, d->files[i]);
        unlink(path);
        free(d->files[i]);
    }
    d->file_count = 0;
    while (d->dir_count) {
        char *name = d->dirs[--d->dir_count];
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", d->path, name);
        rmdir(path);
        free(name);
    }
    if (d->path[0])
        rmdir(d->path);
}

static inline const char *fuzz_dir(void)
{
    struct fuzz_dir *d = &fuzz_dir_state;
    if (!d->path[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(d->path, sizeof d->path, "%s/netspec-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(d->path)) {
            perror("fuzz: mkdtemp");
            abort();
        }
        atexit(fuzz_dir_remove);
    }
    return d->path;
}

/* NAME's path in the directory (static storage: valid until the next call with NAME). */
static inline const char *fuzz_path(const char *name)
{
    static char paths[FUZZ_MAX_FILES][1024];
    struct fuzz_dir *d = &fuzz_dir_state;
    const char *dir = fuzz_dir();
    size_t i = 0;
    while (i < d->file_count && strcmp(d->files[i], name) != 0)
        i++;
    if (i == d->file_count) {
        if (d->file_count == FUZZ_MAX_FILES)
            fuzz_fail("more than %d file names", FUZZ_MAX_FILES);
        d->files[d->file_count++] = strdup(name);
    }
    snprintf(paths[i], sizeof paths[i], "%s/%s", dir, name);
    return paths[i];
}

/* NAME's path, a sub-directory made once (its files go through fuzz_path as "NAME/FILE"). */
static inline const char *fuzz_mkdir(const char *name)
{
    static char paths[FUZZ_MAX_FILES][1024];
    struct fuzz_dir *d = &fuzz_dir_state;
    const char *dir = fuzz_dir();
    size_t i = 0;
    while (i < d->dir_count && strcmp(d->dirs[i], name) != 0)
        i++;
    if (i == d->dir_count) {
        if (d->dir_count == FUZZ_MAX_FILES)
            fuzz_fail("more than %d directory names", FUZZ_MAX_FILES);
        d->dirs[d->dir_count++] = strdup(name);
    }
    snprintf(paths[i], sizeof paths[i], "%s/%s", dir, name);
    mkdir(paths[i], 0700);
    return paths[i];
}

static inline const char *fuzz_write(const char *name, const void *data, size_t size)
{
    const char *path = fuzz_path(name);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
    return path;
}

static inline void fuzz_unlink(const char *name)
{
    unlink(fuzz_path(name));
}

/* data as one gzip member (malloc'd), as `gzip` would write it. */
static inline uint8_t *fuzz_gzip(const void *data, size_t size, size_t *out_size)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    size_t cap = deflateBound(&z, (uLong)size) + 32;
    uint8_t *out = malloc(cap);
    if (!out)
        abort();
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)size;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        abort();
    *out_size = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

/* Errors printed as main.c prints them, into a memory buffer that is thrown away, or to
 * stderr with FUZZ_VERBOSE=1 (to see what a seed input runs into). */
static inline void fuzz_print_diag(const struct ns_diag *diag)
{
    if (getenv("FUZZ_VERBOSE")) {
        ns_diag_print(diag, stderr, false);
        return;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        abort();
    ns_diag_print(diag, f, true);
    fclose(f);
    free(text);
}

/* A library call returned false: it must have said why, with a message, and printing the
 * errors (which reads the source lines back) must work. With `located`, every error names a
 * file or a --set argument (the spec errors' contract: FILE:LINE:COL or the argument). */
static inline void fuzz_check_failure(const struct ns_diag *diag, const char *what, bool located)
{
    if (!ns_diag_has_errors(diag))
        fuzz_fail("%s returned false without an error", what);
    for (size_t i = 0; i < diag->count; i++) {
        const struct ns_error *e = &diag->items[i];
        if (!e->message || !*e->message)
            fuzz_fail("%s: error %zu has no message", what, i);
        if (located && (!e->file || !*e->file))
            fuzz_fail("%s: error \"%s\" has no place", what, e->message);
    }
    fuzz_print_diag(diag);
}

#endif
