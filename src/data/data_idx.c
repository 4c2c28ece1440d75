#include "data/data_idx.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/ns_util.h"
#include "data/data_error.h"

/* gzread takes an unsigned count and returns an int: read big buffers in pieces. */
enum { IDX_CHUNK = 1 << 20 };

static const char *idx_type_name(int type)
{
    switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0b: return "short";
    case 0x0c: return "int";
    case 0x0d: return "float";
    case 0x0e: return "double";
    default: return NULL;
    }
}

static gzFile idx_open(struct ns_diag *diag, struct ns_loc loc, const char *path)
{
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f) {
        data_error(diag, loc, path, NULL, "cannot open \"%s\": %s", path,
                   errno ? strerror(errno) : "out of memory");
        return NULL;
    }
    return f;
}

/* Reads up to n bytes; returns how many arrived. A zlib error (corrupt stream) is reported
 * and makes *failed true; a plain short read is the caller's "truncated" message. */
static size_t idx_read(gzFile f, void *buf, size_t n, struct ns_diag *diag, struct ns_loc loc,
                       const char *path, bool *failed)
{
    size_t got = 0;
    unsigned char *p = buf;
    while (got < n) {
        size_t want = n - got < IDX_CHUNK ? n - got : IDX_CHUNK;
        int r = gzread(f, p + got, (unsigned)want);
        if (r < 0) {
            int zerr;
            const char *msg = gzerror(f, &zerr);
            data_error(diag, loc, path, NULL, "cannot read \"%s\": %s", path,
                       zerr == Z_ERRNO ? strerror(errno) : msg);
            *failed = true;
            return got;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return got;
}

/* A truncated gzip member reads as a short read with a zlib complaint; say both. */
static void idx_truncated(struct ns_diag *diag, struct ns_loc loc, const char *path, gzFile f,
                          const char *what, size_t expected, size_t got)
{
    int zerr = Z_OK;
    const char *msg = gzerror(f, &zerr);
    char *hint = zerr != Z_OK && zerr != Z_ERRNO ? ns_asprintf("zlib says: %s", msg) : NULL;
    data_error(diag, loc, path, hint, "\"%s\" is truncated: expected %zu bytes of %s, file ends after %zu",
               path, expected, what, got);
    free(hint);
}

static bool idx_header(gzFile f, struct ns_diag *diag, struct ns_loc loc, const char *path,
                       struct data_idx_file *out)
{
    unsigned char magic[4];
    bool failed = false;
    size_t got = idx_read(f, magic, 4, diag, loc, path, &failed);
    if (failed)
        return false;
    if (got < 4) {
        data_error(diag, loc, path, NULL, "\"%s\" is too short to be an IDX file (%zu bytes)", path, got);
        return false;
    }
    uint32_t m = (uint32_t)magic[0] << 24 | (uint32_t)magic[1] << 16 | (uint32_t)magic[2] << 8 | magic[3];
    if (magic[0] != 0 || magic[1] != 0) {
        const char *hint = magic[0] == 0x1f && magic[1] == 0x8b
                               ? "after one gunzip it still starts like gzip: it was compressed twice"
                               : "IDX files start with two zero bytes, a type byte and the number of dimensions";
        data_error(diag, loc, path, hint, "\"%s\" is not an IDX file (magic 0x%08x)", path, m);
        return false;
    }
    out->type = magic[2];
    out->ndim = magic[3];
    if (!idx_type_name(out->type)) {
        data_error(diag, loc, path, NULL, "\"%s\" is not an IDX file (magic 0x%08x: unknown type 0x%02x)",
                   path, m, out->type);
        return false;
    }
    if (out->ndim < 1 || out->ndim > DATA_IDX_MAX_DIMS) {
        data_error(diag, loc, path, NULL, "\"%s\" has %d dimensions; netspec reads IDX files with 1 to %d",
                   path, out->ndim, DATA_IDX_MAX_DIMS);
        return false;
    }
    unsigned char dims[4 * DATA_IDX_MAX_DIMS];
    size_t need = 4 * (size_t)out->ndim;
    got = idx_read(f, dims, need, diag, loc, path, &failed);
    if (failed)
        return false;
    if (got < need) {
        idx_truncated(diag, loc, path, f, "header", 4 + need, 4 + got);
        return false;
    }
    for (int i = 0; i < out->ndim; i++) {
        const unsigned char *d = dims + 4 * i;
        out->dims[i] = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
    }
    for (int i = out->ndim; i < DATA_IDX_MAX_DIMS; i++)
        out->dims[i] = 0;
    return true;
}

bool data_idx_read_file_header(struct ns_diag *diag, struct ns_loc spec_loc, const char *path,
                               struct data_idx_file *out)
{
    gzFile f = idx_open(diag, spec_loc, path);
    if (!f)
        return false;
    bool ok = idx_header(f, diag, spec_loc, path, out);
    gzclose(f);
    return ok;
}

static bool idx_check_ubyte(struct ns_diag *diag, struct ns_loc loc, const char *path,
                            const struct data_idx_file *h)
{
    if (h->type == DATA_IDX_UBYTE)
        return true;
    data_error(diag, loc, path, NULL, "\"%s\" holds IDX type 0x%02x (%s); netspec reads unsigned bytes (0x08)",
               path, h->type, idx_type_name(h->type));
    return false;
}

/* Checks an images header and turns it into a per-sample shape. */
static bool idx_image_shape(struct ns_diag *diag, struct ns_loc loc, const char *path,
                            const struct data_idx_file *h, struct spec_shape *shape)
{
    if (!idx_check_ubyte(diag, loc, path, h))
        return false;
    if (h->ndim != 3 && h->ndim != 4) {
        data_error(diag, loc, path, NULL,
                   "\"%s\" has %d dimension%s; images need 3 [count, rows, cols] or 4 [count, rows, cols, channels]",
                   path, h->ndim, h->ndim == 1 ? "" : "s");
        return false;
    }
    if (h->dims[0] == 0) {
        data_error(diag, loc, path, NULL, "\"%s\" holds no images (count 0)", path);
        return false;
    }
    uint64_t per = 1;
    for (int i = 1; i < h->ndim; i++) {
        if (h->dims[i] == 0) {
            data_error(diag, loc, path, NULL, "\"%s\" has dimension %d of size 0", path, i + 1);
            return false;
        }
        per *= h->dims[i];
    }
    if (per > INT_MAX || per * h->dims[0] > SIZE_MAX / sizeof(float) / 2) {
        data_error(diag, loc, path, NULL, "\"%s\" declares %u images of %llu bytes each: too large",
                   path, h->dims[0], (unsigned long long)per);
        return false;
    }
    shape->rank = 3;
    shape->dims[0] = (int)h->dims[1];
    shape->dims[1] = (int)h->dims[2];
    shape->dims[2] = h->ndim == 4 ? (int)h->dims[3] : 1;
    return true;
}

static bool idx_label_header(struct ns_diag *diag, struct ns_loc loc, const char *path,
                             const struct data_idx_file *h)
{
    if (!idx_check_ubyte(diag, loc, path, h))
        return false;
    if (h->ndim != 1) {
        data_error(diag, loc, path, NULL, "\"%s\" has %d dimensions; labels need 1 [count]", path, h->ndim);
        return false;
    }
    return true;
}

/* Complains when a file holds more than its header declares: most likely the wrong file. */
static bool idx_check_end(gzFile f, struct ns_diag *diag, struct ns_loc loc, const char *path,
                          size_t declared)
{
    unsigned char extra;
    bool failed = false;
    size_t got = idx_read(f, &extra, 1, diag, loc, path, &failed);
    if (failed)
        return false;
    if (got) {
        data_error(diag, loc, path, "the header's dimensions do not describe this file",
                   "\"%s\" has data after the %zu bytes its header declares", path, declared);
        return false;
    }
    return true;
}

/* Reads the whole labels file, checks the count against the images and every label against
 * the classes. Returns the labels (count bytes, malloc'd) or NULL. */
static unsigned char *idx_read_labels(struct ns_diag *diag, struct ns_loc loc, const char *path,
                                      uint32_t images_count, const char *images_path,
                                      int class_count, int *max_label)
{
    gzFile f = idx_open(diag, loc, path);
    if (!f)
        return NULL;
    struct data_idx_file h;
    unsigned char *labels = NULL;
    bool ok = idx_header(f, diag, loc, path, &h) && idx_label_header(diag, loc, path, &h);
    if (ok && h.dims[0] != images_count) {
        data_error(diag, loc, path, NULL,
                   "labels count %u in \"%s\" does not match images count %u in \"%s\"",
                   h.dims[0], path, images_count, images_path);
        ok = false;
    }
    if (ok) {
        size_t n = h.dims[0];
        labels = ns_xmalloc(n ? n : 1);
        bool failed = false;
        size_t got = idx_read(f, labels, n, diag, loc, path, &failed);
        if (!failed && got < n)
            idx_truncated(diag, loc, path, f, "labels", n, got);
        ok = !failed && got == n && idx_check_end(f, diag, loc, path, 8 + n);
        int max = -1;
        size_t bad = 0, first_bad = 0;
        for (size_t i = 0; ok && i < n; i++) {
            if (labels[i] > max)
                max = labels[i];
            if (class_count > 0 && labels[i] >= class_count && bad++ == 0)
                first_bad = i;
        }
        /* One error for the file: a wrong class list makes thousands of labels "bad". */
        if (bad) {
            char *hint = ns_asprintf("the labels go up to %d; data.classes lists %d name%s", max,
                                     class_count, class_count == 1 ? "" : "s");
            data_error(diag, loc, path, hint,
                       "%zu label%s in \"%s\" %s outside classes 0..%d (the first: %d at index %zu)",
                       bad, bad == 1 ? "" : "s", path, bad == 1 ? "is" : "are", class_count - 1,
                       labels[first_bad], first_bad);
            free(hint);
        }
        if (bad)
            ok = false;
        *max_label = max;
    }
    gzclose(f);
    if (!ok) {
        free(labels);
        return NULL;
    }
    return labels;
}

bool data_idx_read_header(struct ns_diag *diag, struct ns_loc images_loc, const char *images_path,
                          struct ns_loc labels_loc, const char *labels_path, int class_count,
                          struct data_header *out)
{
    struct data_idx_file h;
    struct spec_shape shape = {0};
    if (!data_idx_read_file_header(diag, images_loc, images_path, &h) ||
        !idx_image_shape(diag, images_loc, images_path, &h, &shape))
        return false;
    int max_label = -1;
    unsigned char *labels = idx_read_labels(diag, labels_loc, labels_path, h.dims[0], images_path,
                                            class_count, &max_label);
    if (!labels)
        return false;
    free(labels);
    out->shape = shape;
    out->count = h.dims[0];
    out->class_count = class_count > 0 ? class_count : max_label + 1;
    return true;
}

bool data_idx_load(struct ns_diag *diag, struct ns_loc images_loc, const char *images_path,
                   struct ns_loc labels_loc, const char *labels_path, int class_count,
                   struct dataset *out)
{
    gzFile f = idx_open(diag, images_loc, images_path);
    if (!f)
        return false;
    struct data_idx_file h;
    struct spec_shape shape = {0};
    if (!idx_header(f, diag, images_loc, images_path, &h) ||
        !idx_image_shape(diag, images_loc, images_path, &h, &shape)) {
        gzclose(f);
        return false;
    }
    int max_label = -1;
    unsigned char *labels = idx_read_labels(diag, labels_loc, labels_path, h.dims[0], images_path,
                                            class_count, &max_label);
    if (!labels) {
        gzclose(f);
        return false;
    }

    size_t count = h.dims[0];
    size_t sample_size = dataset_shape_size(shape);
    size_t total = count * sample_size;
    /* Pixels stay bytes (dataset.h): read straight into the samples' buffer. */
    uint8_t *x = ns_xmalloc(total ? total : 1); /* (count, rows, cols, channels) */
    bool failed = false;
    size_t done = idx_read(f, x, total, diag, images_loc, images_path, &failed);
    bool ok = !failed;
    if (ok && done < total) {
        idx_truncated(diag, images_loc, images_path, f, "pixels", total, done);
        ok = false;
    }
    size_t header_bytes = 4 + 4 * (size_t)h.ndim;
    if (ok)
        ok = idx_check_end(f, diag, images_loc, images_path, header_bytes + total);
    gzclose(f);
    if (!ok) {
        free(x);
        free(labels);
        return false;
    }

    memset(out, 0, sizeof *out);
    out->count = count;
    out->shape = shape;
    out->sample_size = sample_size;
    out->bytes = x;
    out->labels = ns_xmalloc(count * sizeof *out->labels);
    for (size_t i = 0; i < count; i++)
        out->labels[i] = labels[i];
    free(labels);
    out->class_count = class_count > 0 ? class_count : max_label + 1;
    return true;
}
