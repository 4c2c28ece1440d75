#include "data/data_folder.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>

#ifdef _OPENMP
#include <omp.h>
#endif
#include <stb_image.h>
#include <stb_image_resize.h>
#include <stb_image_write.h>

#include "core/ns_file.h"
#include "core/ns_util.h"
#include "data/data_error.h"
#include "data/data_stb.h"

/* A broken folder tends to break the same way everywhere: ten named files show the pattern. */
enum { FOLDER_MAX_ERRORS = 10, FOLDER_HINT_NAMES = 20 };
/* An image header's width and height are trusted only this far before stb allocates the
 * decoded pixels: 2^25 pixels (8K video frames and 33-megapixel photos fit; up to 128 MiB a
 * decode, one decode per thread), and no more pixels per byte of file than the format can
 * pack (image_pixels_per_byte). */
#define FOLDER_IMAGE_MAX_PIXELS (1ull << 25)

/* The most pixels one byte of a file in this format can hold:
 * - PNG: 8 * 1032, a 1-bit image through deflate at its limit;
 * - JPEG: 512, since every 8x8 block of the full-resolution component costs at least one bit
 *   (a 1-bit Huffman code for its DC). stb decodes a JPEG whose data ends early as if zeros
 *   followed, so without this bound a 3 kB file declaring 255x63222 pixels took 3.6 s of
 *   decoding (found by tests/fuzz/fuzz_image);
 * - BMP: 8 (stb reads uncompressed BMPs only, at least 1 bit a pixel);
 * - PGM/PPM: 1 (stb reads the binary forms, at least 1 byte a pixel). */
static uint64_t image_pixels_per_byte(enum data_image_format format)
{
    switch (format) {
    case DATA_IMAGE_PNG:
        return 8ull * 1032ull;
    case DATA_IMAGE_JPEG:
        return 512;
    case DATA_IMAGE_BMP:
        return 8;
    default:
        return 1;
    }
}

static const char *image_format_name(enum data_image_format format)
{
    switch (format) {
    case DATA_IMAGE_PNG:
        return "PNG";
    case DATA_IMAGE_JPEG:
        return "JPEG";
    case DATA_IMAGE_BMP:
        return "BMP";
    default:
        return "PGM/PPM";
    }
}

/* Why one image could not be read, kept per file by the worker threads and put into words by
 * the main thread (strerror is not for threads). */
struct image_status {
    const char *stb; /* stb's reason (static text), or NULL */
    int open_err;    /* ns_file.h: the file could not be opened as a regular file */
    int w, h;        /* the header's size, when it is over the limits */
    enum data_image_format format;
    bool too_big;
    char why[128]; /* a reason worded here, when stb points into it */
};

static const char *const image_exts[] = {"png", "jpg", "jpeg", "bmp", "pgm", "ppm"};
static const char ext_list[] = ".png .jpg .jpeg .bmp .pgm .ppm";

struct name_list {
    size_t count, cap;
    char **names;
};

static void names_push(struct name_list *l, const char *name)
{
    if (l->count == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->names = ns_xrealloc(l->names, l->cap * sizeof *l->names);
    }
    l->names[l->count++] = ns_xstrdup(name);
}

static void names_free(struct name_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->names[i]);
    free(l->names);
    memset(l, 0, sizeof *l);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int folder_threads(int requested)
{
#ifdef _OPENMP
    return requested > 0 ? requested : omp_get_num_procs();
#else
    (void)requested;
    return 1;
#endif
}

static bool is_image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name)
        return false;
    for (size_t i = 0; i < sizeof image_exts / sizeof *image_exts; i++)
        if (strcasecmp(dot + 1, image_exts[i]) == 0)
            return true;
    return false;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static char *join_path(const char *dir, const char *name)
{
    size_t n = strlen(dir);
    bool slash = n > 0 && dir[n - 1] == '/';
    return ns_asprintf("%s%s%s", dir, slash ? "" : "/", name);
}

/* Sub-folders of root, sorted; hidden ones (".git", ".ipynb_checkpoints") are not classes. */
static bool list_class_dirs(struct ns_diag *diag, const struct data_folder_opts *o, struct name_list *out)
{
    DIR *d = opendir(o->root);
    if (!d) {
        data_error(diag, o->root_loc, o->root, NULL, "cannot open folder \"%s\": %s", o->root, strerror(errno));
        return false;
    }
    struct dirent *e;
    bool ok = true;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *p = join_path(o->root, e->d_name);
        if (is_dir(p) && !ns_text_is_clean_utf8(e->d_name)) {
            /* A class name goes into model.yaml, manifest.json, eval's reports and the emitted
             * C: it has to be text. */
            char *shown = ns_path_printable(e->d_name);
            data_error(diag, o->root_loc, o->root, "rename the folder: class names are its name, as UTF-8 text",
                       "class folder \"%s\" in \"%s\" is not a UTF-8 name without control characters", shown,
                       o->root);
            free(shown);
            ok = false;
        } else if (is_dir(p)) {
            names_push(out, e->d_name);
        }
        free(p);
    }
    closedir(d);
    if (out->count)
        qsort(out->names, out->count, sizeof *out->names, cmp_names);
    return ok;
}

static struct ns_loc class_loc(const struct data_folder_opts *o, size_t i)
{
    if (o->class_locs && o->class_locs[i].file)
        return o->class_locs[i];
    if (o->class_nodes && o->class_nodes[i])
        return spec_node_loc(o->class_nodes[i]);
    return o->root_loc;
}

/* Chooses the classes: the folders, or the list checked against the folders. */
static bool choose_classes(struct ns_diag *diag, const struct data_folder_opts *o, struct name_list *dirs,
                           struct name_list *classes)
{
    if (o->class_count == 0) {
        if (dirs->count == 0) {
            data_error(diag, o->root_loc, o->root, "expected one sub-folder of images per class, e.g. ROOT/cat/1.png",
                       "\"%s\" has no class folders", o->root);
            return false;
        }
        if (dirs->count == 1) {
            /* One class is nothing to tell apart: training would report a meaningless accuracy. */
            char *shown = ns_path_printable(dirs->names[0]);
            data_error(diag, o->root_loc, o->root, "classification needs at least 2 classes: one sub-folder per class",
                       "\"%s\" has 1 class folder (\"%s\")", o->root, shown);
            free(shown);
            return false;
        }
        *classes = *dirs;
        memset(dirs, 0, sizeof *dirs);
        return true;
    }
    bool ok = true;
    for (size_t i = 0; i < o->class_count; i++) {
        const char *name = o->classes[i];
        bool found = bsearch(&name, dirs->names, dirs->count, sizeof *dirs->names, cmp_names) != NULL;
        if (!found) {
            const char *best = ns_closest(name, (const char *const *)dirs->names, dirs->count);
            char *hint = best ? ns_asprintf("did you mean \"%s\"? expected the folder \"%s/%s\"", best, o->root, name)
                              : ns_asprintf("expected the folder \"%s/%s\"", o->root, name);
            ns_diag_add(diag, NS_ERR_DATA, class_loc(o, i), hint, "no folder for class \"%s\" in \"%s\"", name,
                        o->root);
            free(hint);
            ok = false;
        }
    }
    for (size_t j = 0; j < dirs->count; j++) {
        bool listed = false;
        for (size_t i = 0; i < o->class_count && !listed; i++)
            listed = strcmp(o->classes[i], dirs->names[j]) == 0;
        if (!listed) {
            struct ns_buf hint = {0};
            ns_buf_puts(&hint, "list it in data.classes, or move it out of the root; listed classes: ");
            for (size_t i = 0; i < o->class_count && i < FOLDER_HINT_NAMES; i++)
                ns_buf_printf(&hint, "%s%s", i ? ", " : "", o->classes[i]);
            if (o->class_count > FOLDER_HINT_NAMES)
                ns_buf_puts(&hint, ", ...");
            data_error(diag, o->root_loc, o->root, hint.data, "folder \"%s\" in \"%s\" is not a listed class",
                       dirs->names[j], o->root);
            ns_buf_free(&hint);
            ok = false;
        }
    }
    if (!ok)
        return false;
    for (size_t i = 0; i < o->class_count; i++)
        names_push(classes, o->classes[i]);
    return true;
}

void data_folder_index_free(struct data_folder_index *idx)
{
    if (!idx)
        return;
    for (int i = 0; i < idx->class_count; i++)
        free(idx->class_names[i]);
    free(idx->class_names);
    free(idx->class_files);
    for (size_t i = 0; i < idx->count; i++)
        free(idx->paths[i]);
    free(idx->paths);
    free(idx->labels);
    memset(idx, 0, sizeof *idx);
}

/* Drops the entries whose ok[i] is false, keeping the order; returns how many went. */
static size_t index_compact(struct data_folder_index *idx, const bool *ok)
{
    size_t kept = 0;
    for (size_t i = 0; i < idx->count; i++) {
        if (ok[i]) {
            idx->paths[kept] = idx->paths[i];
            idx->labels[kept] = idx->labels[i];
            kept++;
        } else {
            idx->class_files[idx->labels[i]]--;
            free(idx->paths[i]);
        }
    }
    size_t dropped = idx->count - kept;
    idx->count = kept;
    return dropped;
}

/* Reports the failed files in index order (diag is not shared across threads). */
static char *image_reason(const struct image_status *st)
{
    if (st->open_err)
        return ns_xstrdup(ns_file_strerror(st->open_err));
    if (st->too_big)
        return ns_asprintf("its header declares %dx%d pixels, more than netspec decodes (at most %llu, and %llu "
                           "per byte of a %s file)",
                           st->w, st->h, FOLDER_IMAGE_MAX_PIXELS, (unsigned long long)image_pixels_per_byte(st->format),
                           image_format_name(st->format));
    return ns_xstrdup(st->stb ? st->stb : "unknown error");
}

static void report_unreadable(struct ns_diag *diag, const struct data_folder_opts *o,
                              const struct data_folder_index *idx, const bool *ok,
                              const struct image_status *status, const char *verb)
{
    size_t failed = 0;
    for (size_t i = 0; i < idx->count; i++)
        failed += !ok[i];
    size_t shown = 0;
    for (size_t i = 0; i < idx->count && shown < FOLDER_MAX_ERRORS; i++) {
        if (ok[i])
            continue;
        const char *hint = shown == 0 ? "data.on_error: skip leaves unreadable images out and counts them" : NULL;
        char *why = image_reason(&status[i]), *path = ns_path_printable(idx->paths[i]);
        data_error(diag, o->root_loc, path, hint, "cannot %s image \"%s\": %s",
                   status[i].open_err || status[i].too_big ? "read" : verb, path, why);
        free(why);
        free(path);
        shown++;
    }
    if (failed > shown)
        ns_diag_hint(diag, "%zu unreadable images in all; only the first %d are listed", failed, FOLDER_MAX_ERRORS);
}

static bool check_opts(struct ns_diag *diag, const struct data_folder_opts *o)
{
    if (o->height < 1 || o->width < 1 || o->channels < 1 || o->channels > 4) {
        data_error(diag, o->root_loc, o->root, NULL,
                   "image size %dx%d with %d channels is not usable (channels must be 1 to 4)", o->height,
                   o->width, o->channels);
        return false;
    }
    return true;
}

/* stb_image 2.27 builds a JPEG Huffman table without checking that the 16 code counts of a
 * DHT segment add up to at most 256, and writes past the table (found by tests/fuzz/fuzz_image;
 * stb 2.28 checks). Walks the markers as stb reads them (junk between segments and the
 * entropy-coded data after SOS skipped up to the next marker) and checks every DHT. */
static bool jpeg_tables_ok(FILE *f)
{
    bool ok = true;
    int c;
    while (ok && (c = getc(f)) != EOF) {
        if (c != 0xff)
            continue;
        do
            c = getc(f);
        while (c == 0xff);
        if (c == EOF || c == 0x00 || c == 0x01 || (c >= 0xd0 && c <= 0xd9))
            continue; /* stuffed zero, TEM, RSTn, SOI, EOI: no length */
        int hi = getc(f), lo = getc(f);
        if (hi == EOF || lo == EOF)
            break;
        long left = (long)(hi << 8 | lo) - 2;
        if (c != 0xc4) {
            if (left > 0 && fseek(f, left, SEEK_CUR) != 0)
                break;
            continue;
        }
        while (ok && left > 0 && getc(f) != EOF) {
            long codes = 0;
            for (int i = 0; i < 16; i++) {
                int count = getc(f);
                codes += count == EOF ? 0 : count;
            }
            ok = codes <= 256;
            if (ok && fseek(f, codes, SEEK_CUR) != 0)
                break;
            left -= 17 + codes;
        }
    }
    rewind(f);
    return ok;
}

/* stb_image 2.27 grows its IDAT buffer to a chunk's declared length (up to 4 GiB) before it
 * reads the chunk, so a 105-byte PNG asked for 1.6 GB (found by tests/fuzz/fuzz_image; freed
 * again on the read error that follows). Walks the chunks up to IEND as stb does; NULL when
 * each one's data fits in the file, else why not (text in `why`). */
static const char *png_chunk_problem(FILE *f, uint64_t size, char why[static 128])
{
    const char *problem = NULL;
    uint64_t at = 8;
    unsigned char head[8];
    while (!problem && at + 8 <= size && fseek(f, (long)at, SEEK_SET) == 0 && fread(head, 1, 8, f) == 8) {
        uint64_t length = (uint64_t)head[0] << 24 | (uint64_t)head[1] << 16 | (uint64_t)head[2] << 8 | head[3];
        if (length > size - at - 8) {
            char type[5] = {0};
            for (int i = 0; i < 4; i++)
                type[i] = head[4 + i] >= 0x20 && head[4 + i] < 0x7f ? (char)head[4 + i] : '?';
            snprintf(why, 128, "a PNG chunk (%s) declares %llu bytes, more than the file holds: a corrupt or cut-off PNG",
                     type, (unsigned long long)length);
            problem = why;
        }
        if (memcmp(head + 4, "IEND", 4) == 0)
            break;
        at += 12 + length;
    }
    rewind(f);
    return problem;
}

/* stb_image 2.27 reads a PGM/PPM with maxval above 255 as 16-bit samples into a buffer sized
 * for 8 and reads past it, leaves the pixels of a file cut short uninitialised (so the same
 * file decoded twice differed; both found by tests/fuzz/fuzz_image), and parses the header's
 * numbers into an int without an overflow check. Reads the header as stb does; NULL when the
 * file is fine, else why not. */
static const char *pnm_header_problem(FILE *f, uint64_t size)
{
    long values[3] = {0, 0, 0};
    (void)getc(f); /* P5 or P6 */
    bool rgb = getc(f) == '6';
    int c = getc(f);
    for (int i = 0; i < 3; i++) {
        for (;;) {
            while (c == ' ' || (c >= '\t' && c <= '\r'))
                c = getc(f);
            if (c != '#')
                break;
            while (c != EOF && c != '\n' && c != '\r')
                c = getc(f);
        }
        for (int digits = 0; c != EOF && c >= '0' && c <= '9'; c = getc(f)) {
            if (++digits > 9) {
                rewind(f);
                return "a number in its PGM/PPM header has more than 9 digits";
            }
            values[i] = values[i] * 10 + (c - '0');
        }
    }
    long data_start = ftell(f);
    rewind(f);
    if (values[2] > 255)
        return "it is a PGM/PPM with more than 8 bits per sample (maxval above 255)";
    uint64_t need = (uint64_t)values[0] * (uint64_t)values[1] * (rgb ? 3u : 1u);
    if (data_start < 0 || size < (uint64_t)data_start || size - (uint64_t)data_start < need)
        return "the PGM/PPM file is shorter than its header says";
    return NULL;
}

/* Opens an image (a regular file) and reads its header's size, within the limits. NULL with
 * the reason in *st. Runs on worker threads. */
static FILE *image_open(const char *path, int *w, int *h, int *comp, struct image_status *st)
{
    uint64_t size = 0;
    FILE *f = ns_file_fopen_input(path, &size, &st->open_err);
    if (!f)
        return NULL;
    enum data_image_format format = data_image_format(f);
    if (format == DATA_IMAGE_UNKNOWN) {
        st->stb = "not a PNG, JPEG, BMP, PGM or PPM file";
        fclose(f);
        return NULL;
    }
    const char *pnm_problem = format == DATA_IMAGE_PNM ? pnm_header_problem(f, size) : NULL;
    if (pnm_problem) {
        st->stb = pnm_problem;
        fclose(f);
        return NULL;
    }
    const char *png_problem = format == DATA_IMAGE_PNG ? png_chunk_problem(f, size, st->why) : NULL;
    if (png_problem) {
        st->stb = png_problem;
        fclose(f);
        return NULL;
    }
    if (format == DATA_IMAGE_JPEG && !jpeg_tables_ok(f)) {
        st->stb = "a JPEG Huffman table (DHT) declares more than 256 codes: corrupt JPEG";
        fclose(f);
        return NULL;
    }
    if (!data_stb_info(f, format, w, h, comp)) {
        st->stb = stbi_failure_reason();
        fclose(f);
        return NULL;
    }
    if (*w < 1 || *h < 1) {
        st->stb = "the image has no pixels";
        fclose(f);
        return NULL;
    }
    uint64_t pixels = (uint64_t)*w * (uint64_t)*h;
    if (pixels > FOLDER_IMAGE_MAX_PIXELS || pixels > size * image_pixels_per_byte(format)) {
        st->too_big = true;
        st->format = format;
        st->w = *w;
        st->h = *h;
        fclose(f);
        return NULL;
    }
    return f;
}

bool data_folder_scan(struct ns_diag *diag, const struct data_folder_opts *o, bool verify,
                      struct data_folder_index *out)
{
    struct name_list dirs = {0}, classes = {0};
    if (!list_class_dirs(diag, o, &dirs) || !choose_classes(diag, o, &dirs, &classes)) {
        names_free(&dirs);
        names_free(&classes);
        return false;
    }
    names_free(&dirs);

    struct data_folder_index idx = {0};
    idx.class_count = (int)classes.count;
    idx.class_names = classes.names; /* ownership moves to the index */
    idx.class_files = ns_xcalloc(classes.count, sizeof *idx.class_files);
    size_t cap = 0;
    bool ok = true;
    for (size_t c = 0; c < classes.count; c++) {
        char *dir = join_path(o->root, classes.names[c]);
        DIR *d = opendir(dir);
        if (!d) {
            data_error(diag, o->root_loc, dir, NULL, "cannot open folder \"%s\": %s", dir, strerror(errno));
            free(dir);
            ok = false;
            continue;
        }
        struct name_list files = {0};
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            /* Everything named like an image is one: a FIFO, device or folder by such a name
             * is then refused (or skipped) with its reason instead of left out unsaid. */
            if (is_image_name(e->d_name))
                names_push(&files, e->d_name);
            else
                idx.ignored++;
        }
        closedir(d);
        if (files.count == 0) {
            data_error(diag, o->root_loc, dir, NULL, "class folder \"%s\" has no images (%s)", dir, ext_list);
            ok = false;
        }
        if (files.count)
            qsort(files.names, files.count, sizeof *files.names, cmp_names);
        if (idx.count + files.count > cap) {
            cap = (idx.count + files.count) * 2;
            idx.paths = ns_xrealloc(idx.paths, cap * sizeof *idx.paths);
            idx.labels = ns_xrealloc(idx.labels, cap * sizeof *idx.labels);
        }
        for (size_t i = 0; i < files.count; i++) {
            idx.paths[idx.count] = join_path(dir, files.names[i]);
            idx.labels[idx.count] = (int32_t)c;
            idx.count++;
        }
        idx.class_files[c] = files.count;
        names_free(&files);
        free(dir);
    }
    if (ok && verify) {
        bool *good = ns_xcalloc(idx.count, sizeof *good);
        struct image_status *reason = ns_xcalloc(idx.count, sizeof *reason);
        long n = (long)idx.count;
        int threads = folder_threads(o->threads);
        /* Each file fills its own slot; stb keeps its failure reason per thread. */
#pragma omp parallel for schedule(dynamic, 64) if (n > 64) num_threads(threads)
        for (long i = 0; i < n; i++) {
            int w, h, comp;
            FILE *f = image_open(idx.paths[i], &w, &h, &comp, &reason[i]);
            good[i] = f != NULL;
            if (f)
                fclose(f);
        }
        if (o->skip_unreadable) {
            idx.skipped = index_compact(&idx, good);
        } else {
            for (size_t i = 0; i < idx.count && ok; i++)
                ok = good[i];
            if (!ok)
                report_unreadable(diag, o, &idx, good, reason, "read");
        }
        free(good);
        free(reason);
        if (ok && idx.count == 0) {
            data_error(diag, o->root_loc, o->root, NULL, "\"%s\" has no readable images", o->root);
            ok = false;
        }
    }
    if (!ok) {
        data_folder_index_free(&idx);
        return false;
    }
    *out = idx;
    return true;
}

void data_folder_opts_from_spec(const struct spec *spec, int threads, struct data_folder_opts *out)
{
    const struct spec_data *d = &spec->data;
    memset(out, 0, sizeof *out);
    out->root = d->root;
    out->root_loc = spec_field_loc(spec, d->node, "root");
    out->class_count = d->classes.count;
    out->classes = d->classes.names;
    out->class_nodes = d->classes.nodes;
    out->height = d->image.size.h;
    out->width = d->image.size.w;
    out->channels = d->image.channels;
    out->skip_unreadable = d->on_error == ON_ERROR_SKIP;
    out->threads = threads;
}

bool data_folder_check_opts(struct ns_diag *diag, const struct data_folder_opts *o, struct data_header *out)
{
    if (!check_opts(diag, o))
        return false;
    struct data_folder_index idx;
    if (!data_folder_scan(diag, o, true, &idx))
        return false;
    memset(out, 0, sizeof *out);
    out->shape = (struct spec_shape){.rank = 3, .dims = {o->height, o->width, o->channels}};
    out->count = idx.count;
    out->class_count = idx.class_count;
    out->skipped = idx.skipped;
    out->ignored = idx.ignored;
    data_folder_index_free(&idx);
    return true;
}

bool data_folder_check(struct ns_diag *diag, const struct spec *spec, struct data_header *out)
{
    struct data_folder_opts o;
    data_folder_opts_from_spec(spec, 0, &o);
    return data_folder_check_opts(diag, &o, out);
}

/* Decodes, converts and resizes one image into out (h, w, c); false with the reason in *st.
 * Runs on worker threads, so it touches nothing shared. */
static bool decode_image(const char *path, int height, int width, int channels, uint8_t *out,
                         struct image_status *st)
{
    int w, h, comp;
    FILE *f = image_open(path, &w, &h, &comp, st);
    if (!f)
        return false;
    unsigned char *img = stbi_load_from_file(f, &w, &h, &comp, channels); /* (h, w, channels) */
    fclose(f);
    if (!img) {
        st->stb = stbi_failure_reason();
        return false;
    }
    if (w < 1 || h < 1) {
        /* stb 2.27 returns a PNM of height 0, and resizing from it divides by zero (found by
         * tests/fuzz/fuzz_image). */
        stbi_image_free(img);
        st->stb = "the image has no pixels";
        return false;
    }
    const unsigned char *src = img;
    unsigned char *resized = NULL;
    if (w != width || h != height) {
        resized = malloc((size_t)height * (size_t)width * (size_t)channels);
        if (!resized || !stbir_resize_uint8(img, w, h, 0, resized, width, height, 0, channels)) {
            free(resized);
            stbi_image_free(img);
            st->stb = "cannot resize (out of memory)";
            return false;
        }
        src = resized;
    }
    memcpy(out, src, (size_t)height * (size_t)width * (size_t)channels);
    free(resized);
    stbi_image_free(img);
    return true;
}

bool data_folder_load_image(struct ns_diag *diag, struct ns_loc loc, const char *path, int height,
                            int width, int channels, float *out)
{
    if (height < 1 || width < 1 || channels < 1 || channels > 4) {
        data_error(diag, loc, path, NULL, "image size %dx%d with %d channels is not usable", height, width,
                   channels);
        return false;
    }
    size_t n = (size_t)height * (size_t)width * (size_t)channels;
    uint8_t *px = ns_xmalloc(n);
    struct image_status st = {0};
    bool ok = decode_image(path, height, width, channels, px, &st);
    for (size_t i = 0; ok && i < n; i++)
        out[i] = (float)px[i];
    free(px);
    if (!ok) {
        char *why = image_reason(&st), *shown = ns_path_printable(path);
        data_error(diag, loc, shown, NULL, "cannot %s image \"%s\": %s", st.open_err || st.too_big ? "read" : "decode", shown,
                   why);
        free(why);
        free(shown);
    }
    return ok;
}

bool data_folder_load(struct ns_diag *diag, const struct data_folder_opts *o, struct dataset *out)
{
    if (!check_opts(diag, o))
        return false;
    struct data_folder_index idx;
    if (!data_folder_scan(diag, o, false, &idx))
        return false;
    struct spec_shape shape = {.rank = 3, .dims = {o->height, o->width, o->channels}};
    size_t sample = dataset_shape_size(shape);
    uint8_t *x = ns_xmalloc(idx.count * sample + 1); /* (count, h, w, c): pixels stay bytes */
    bool *good = ns_xcalloc(idx.count, sizeof *good);
    struct image_status *reason = ns_xcalloc(idx.count, sizeof *reason);
    long n = (long)idx.count;
    int threads = folder_threads(o->threads);
#pragma omp parallel for schedule(dynamic, 16) num_threads(threads)
    for (long i = 0; i < n; i++)
        good[i] = decode_image(idx.paths[i], o->height, o->width, o->channels, x + (size_t)i * sample, &reason[i]);
    bool ok = true;
    size_t skipped = 0;
    if (o->skip_unreadable) {
        size_t kept = 0;
        for (size_t i = 0; i < idx.count; i++) {
            if (!good[i])
                continue;
            if (kept != i)
                memmove(x + kept * sample, x + i * sample, sample * sizeof *x);
            kept++;
        }
        skipped = index_compact(&idx, good);
        if (idx.count == 0) {
            data_error(diag, o->root_loc, o->root, NULL, "\"%s\" has no readable images", o->root);
            ok = false;
        }
    } else {
        for (size_t i = 0; i < idx.count && ok; i++)
            ok = good[i];
        if (!ok)
            report_unreadable(diag, o, &idx, good, reason, "decode");
    }
    free(good);
    free(reason);
    if (!ok) {
        free(x);
        data_folder_index_free(&idx);
        return false;
    }
    memset(out, 0, sizeof *out);
    out->count = idx.count;
    out->shape = shape;
    out->sample_size = sample;
    out->bytes = idx.count ? ns_xrealloc(x, idx.count * sample * sizeof *x) : x;
    out->labels = idx.labels;
    out->class_count = idx.class_count;
    out->class_names = idx.class_names;
    out->skipped = skipped;
    out->ignored = idx.ignored;
    idx.labels = NULL;
    idx.class_names = NULL;
    idx.class_count = 0;
    data_folder_index_free(&idx);
    return true;
}

static bool make_dir(struct ns_diag *diag, const char *path)
{
    if (mkdir(path, 0777) == 0 || (errno == EEXIST && is_dir(path)))
        return true;
    ns_diag_add(diag, NS_ERR_OUTPUT, (struct ns_loc){path, 0, 0, 0}, NULL, "cannot create folder \"%s\": %s",
                path, strerror(errno));
    return false;
}

bool data_folder_write_pngs(struct ns_diag *diag, const struct dataset *ds, const char *root,
                            const char *const *class_names)
{
    if (ds->shape.rank != 3 || !ds->labels || ds->shape.dims[2] > 4) {
        ns_diag_add(diag, NS_ERR_DATA, (struct ns_loc){root, 0, 0, 0}, NULL,
                    "only labelled images of 1 to 4 channels can be written as PNG folders");
        return false;
    }
    if (!make_dir(diag, root))
        return false;
    char **dirs = ns_xcalloc((size_t)ds->class_count, sizeof *dirs);
    bool ok = true;
    for (int c = 0; c < ds->class_count && ok; c++) {
        const char *name = class_names ? class_names[c] : NULL;
        if (name && (!name[0] || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)) {
            ns_diag_add(diag, NS_ERR_DATA, (struct ns_loc){root, 0, 0, 0}, "pass no names to number the folders",
                        "class name \"%s\" cannot be a folder name", name);
            ok = false;
            break;
        }
        char *leaf = name ? ns_xstrdup(name) : ns_asprintf("%d", c);
        dirs[c] = join_path(root, leaf);
        free(leaf);
        ok = make_dir(diag, dirs[c]);
    }
    int h = ds->shape.dims[0], w = ds->shape.dims[1], ch = ds->shape.dims[2];
    unsigned char *px = ns_xmalloc(ds->sample_size);
    for (size_t i = 0; i < ds->count && ok; i++) {
        for (size_t k = 0; k < ds->sample_size; k++) {
            float s = dataset_value(ds, i, k);
            float v = s < 0 ? 0 : s > 255 ? 255 : s;
            px[k] = (unsigned char)lrintf(v);
        }
        int label = ds->labels[i];
        if (label < 0 || label >= ds->class_count) {
            ns_diag_add(diag, NS_ERR_DATA, (struct ns_loc){root, 0, 0, 0}, NULL,
                        "sample %zu has label %d outside classes 0..%d", i, label, ds->class_count - 1);
            ok = false;
            break;
        }
        char *path = ns_asprintf("%s/%06zu.png", dirs[label], i);
        if (!stbi_write_png(path, w, h, ch, px, w * ch)) {
            ns_diag_add(diag, NS_ERR_OUTPUT, (struct ns_loc){path, 0, 0, 0}, NULL, "cannot write \"%s\"", path);
            ok = false;
        }
        free(path);
    }
    free(px);
    for (int c = 0; c < ds->class_count; c++)
        free(dirs[c]);
    free(dirs);
    return ok;
}
