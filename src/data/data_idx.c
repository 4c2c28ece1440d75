#include "data/data_idx.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/ns_file.h"
#include "core/ns_util.h"
#include "data/data_error.h"

/* Input is read in pieces of this size; zlib's counts are unsigned ints. */
enum { IDX_CHUNK = 1 << 16 };
/* Deflate emits at least one bit per 258 bytes of output, so a gzip file of n bytes
 * decompresses to at most about 1032 n: a header declaring more is a lie, refused at once. */
enum { IDX_GZIP_MAX_RATIO = 1032 };

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

/* An IDX file, plain or gzip (one member or several, as gzip and pigz write them), read
 * strictly: a gzip stream must end with its trailer (CRC-32 and length, which zlib checks)
 * and nothing but another gzip member may follow it. zlib's gzread would accept a cut-off
 * trailer and ignore trailing garbage; plain files with trailing data are refused, so gzip
 * files are held to the same. */
struct idx_stream {
    const char *path;
    int fd;
    uint64_t file_size;
    bool gz;
    z_stream z;
    unsigned char in[IDX_CHUNK];
    size_t raw_pending; /* plain files: bytes of in[] not yet handed out (the sniffed magic) */
    bool input_ended;   /* the file has no more bytes */
    bool member_ended;  /* gzip: the last member ended with a good trailer */
    bool later_member;  /* gzip: past the first member */
    gz_header member_header; /* .done once the current member's header was read */
    /* How the stream stopped early, for the caller's message: */
    bool truncated;      /* gzip: the file ends inside a member (its data or its trailer) */
    bool garbage;        /* gzip: bytes after a member that are not another member */
    const char *failure; /* a read error or zlib's complaint about corrupt data; NULL */
    int read_errno;
};

static bool stream_fill(struct idx_stream *s)
{
    for (;;) {
        ssize_t got = read(s->fd, s->in, sizeof s->in);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            s->read_errno = errno ? errno : EIO;
            s->failure = "";
            return false;
        }
        if (got == 0)
            s->input_ended = true;
        s->z.next_in = s->in;
        s->z.avail_in = (uInt)got;
        return got > 0;
    }
}

/* Opens the file (a regular one: ns_file.h) and sniffs the gzip magic. */
static bool stream_open(struct ns_diag *diag, struct ns_loc loc, const char *path, struct idx_stream *s)
{
    memset(s, 0, sizeof *s);
    s->path = path;
    int err = 0;
    s->fd = ns_file_open_input(path, &s->file_size, &err);
    if (s->fd < 0) {
        char *shown = ns_path_printable(path);
        data_error(diag, loc, path, NULL, "cannot open \"%s\": %s", shown, ns_file_strerror(err));
        free(shown);
        return false;
    }
    size_t have = 0;
    while (have < 2) {
        ssize_t got = read(s->fd, s->in + have, 2 - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break; /* a read error shows again, and is reported, on the next read */
        have += (size_t)got;
    }
    s->z.next_in = s->in;
    s->z.avail_in = (uInt)have;
    s->gz = have == 2 && s->in[0] == 0x1f && s->in[1] == 0x8b;
    if (!s->gz) {
        s->raw_pending = have;
        return true;
    }
    if (inflateInit2(&s->z, 16 + MAX_WBITS) != Z_OK || inflateGetHeader(&s->z, &s->member_header) != Z_OK) {
        data_error(diag, loc, path, NULL, "cannot read \"%s\": %s", path, "zlib cannot start (out of memory)");
        close(s->fd);
        s->fd = -1;
        return false;
    }
    return true;
}

static void stream_close(struct idx_stream *s)
{
    if (s->gz)
        inflateEnd(&s->z);
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

static size_t raw_read(struct idx_stream *s, unsigned char *out, size_t n)
{
    size_t got = 0;
    if (s->raw_pending) {
        size_t take = s->raw_pending < n ? s->raw_pending : n;
        memcpy(out, s->z.next_in, take);
        s->z.next_in += take;
        s->raw_pending -= take;
        got = take;
    }
    while (got < n && !s->input_ended && !s->failure) {
        size_t want = n - got;
        ssize_t r = read(s->fd, out + got, want);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            s->read_errno = errno ? errno : EIO;
            s->failure = "";
        } else if (r == 0) {
            s->input_ended = true;
        } else {
            got += (size_t)r;
        }
    }
    return got;
}

/* Up to n decompressed bytes; fewer only at the end of the data or on a failure (the flags
 * say which). */
static size_t stream_read(struct idx_stream *s, void *buf, size_t n)
{
    unsigned char *out = buf;
    if (!s->gz)
        return raw_read(s, out, n);
    size_t got = 0;
    while (got < n && !s->failure && !s->truncated && !s->garbage) {
        if (s->z.avail_in == 0 && !s->input_ended && !stream_fill(s) && s->failure)
            break;
        if (s->member_ended) {
            if (s->z.avail_in == 0) {
                if (s->input_ended)
                    break; /* the clean end: a member's trailer, then nothing */
                continue;
            }
            if (s->z.next_in[0] != 0x1f) {
                s->garbage = true;
                break;
            }
            /* Another member (gzip -c a b > ab.gz, pigz --independent, bgzip). */
            inflateReset(&s->z);
            memset(&s->member_header, 0, sizeof s->member_header);
            inflateGetHeader(&s->z, &s->member_header);
            s->member_ended = false;
            s->later_member = true;
        }
        size_t want = n - got < IDX_CHUNK ? n - got : IDX_CHUNK;
        s->z.next_out = out + got;
        s->z.avail_out = (uInt)want;
        int rc = inflate(&s->z, Z_NO_FLUSH);
        size_t produced = want - s->z.avail_out;
        got += produced;
        if (rc == Z_STREAM_END) {
            s->member_ended = true;
        } else if (s->z.avail_in == 0 && s->input_ended && (rc == Z_BUF_ERROR || (rc == Z_OK && !produced))) {
            s->truncated = true; /* the file ends inside a member: in its data or its trailer */
        } else if (rc == Z_DATA_ERROR && s->later_member && s->member_header.done != 1) {
            s->garbage = true; /* a 0x1f that starts no gzip member */
        } else if (rc != Z_OK) {
            s->failure = s->z.msg ? s->z.msg : "corrupt data";
        }
    }
    return got;
}

/* ---- messages ---- */

/* A failed read or corrupt gzip data; true when there was one to report. */
static bool idx_report_failure(struct ns_diag *diag, struct ns_loc loc, const struct idx_stream *s)
{
    if (!s->failure)
        return false;
    const char *why = s->read_errno ? strerror(s->read_errno) : s->failure;
    data_error(diag, loc, s->path, s->read_errno ? NULL : "the gzip data is corrupt: download or copy the file again",
               "cannot read \"%s\": %s", s->path, why);
    return true;
}

static void idx_report_garbage(struct ns_diag *diag, struct ns_loc loc, const struct idx_stream *s)
{
    data_error(diag, loc, s->path,
               "a gzip file ends with its trailer; something was appended to this one: recompress the data with gzip",
               "\"%s\" has bytes after the end of its gzip data", s->path);
}

static void idx_report_cut_trailer(struct ns_diag *diag, struct ns_loc loc, const struct idx_stream *s)
{
    data_error(diag, loc, s->path, "the file was cut short: download or copy it again",
               "\"%s\" is truncated: its gzip data ends without the trailer (CRC-32 and length) that checks it",
               s->path);
}

/* The file holds fewer bytes than its header declares. */
static void idx_report_short(struct ns_diag *diag, struct ns_loc loc, const struct idx_stream *s,
                             const char *what, uint64_t expected, uint64_t got)
{
    const char *hint = s->truncated ? "zlib says: unexpected end of file" : NULL;
    data_error(diag, loc, s->path, hint, "\"%s\" is truncated: expected %llu bytes of %s, file ends after %llu",
               s->path, (unsigned long long)expected, what, (unsigned long long)got);
}

static void idx_report_extra(struct ns_diag *diag, struct ns_loc loc, const struct idx_stream *s,
                             uint64_t declared)
{
    data_error(diag, loc, s->path, "the header's dimensions do not describe this file",
               "\"%s\" has data after the %llu bytes its header declares", s->path, (unsigned long long)declared);
}

/* After the declared bytes: the file must end there, and a gzip file with its trailer. */
static bool idx_check_end(struct idx_stream *s, struct ns_diag *diag, struct ns_loc loc, uint64_t declared)
{
    unsigned char extra;
    size_t got = stream_read(s, &extra, 1);
    if (idx_report_failure(diag, loc, s))
        return false;
    if (got)
        idx_report_extra(diag, loc, s, declared);
    else if (s->garbage)
        idx_report_garbage(diag, loc, s);
    else if (s->truncated)
        idx_report_cut_trailer(diag, loc, s);
    return !got && !s->garbage && !s->truncated;
}

/* ---- the header ---- */

static bool idx_header(struct idx_stream *s, struct ns_diag *diag, struct ns_loc loc, struct data_idx_file *out)
{
    const char *path = s->path;
    unsigned char magic[4];
    size_t got = stream_read(s, magic, 4);
    if (idx_report_failure(diag, loc, s))
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
    got = stream_read(s, dims, need);
    if (idx_report_failure(diag, loc, s))
        return false;
    if (got < need) {
        idx_report_short(diag, loc, s, "header", 4 + need, 4 + got);
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
    struct idx_stream *s = ns_xmalloc(sizeof *s);
    bool ok = stream_open(diag, spec_loc, path, s);
    if (ok) {
        ok = idx_header(s, diag, spec_loc, out);
        stream_close(s);
    }
    free(s);
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

static uint64_t idx_payload(const struct data_idx_file *h)
{
    uint64_t n = 1;
    for (int i = 0; i < h->ndim; i++)
        n *= h->dims[i];
    return n;
}

/* ---- the declared size against the file ---- */

/* Whether the file really holds the header + payload bytes its header declares, decided
 * before anything of that size is allocated. A plain file: its size says it. A gzip file: a
 * declaration above deflate's ratio is refused at once; one that agrees with the trailer's
 * length (the size modulo 2^32) is taken, and reading checks it again; anything else is
 * counted by decompressing up to one byte past the declaration, keeping nothing. `s` is
 * positioned after the header; *consumed says whether the count used it up. */
static bool idx_bound(struct idx_stream *s, struct ns_diag *diag, struct ns_loc loc, const char *what,
                      uint64_t header_bytes, uint64_t payload, bool *consumed)
{
    uint64_t total = header_bytes + payload;
    *consumed = false;
    if (!s->gz) {
        if (s->file_size < total)
            idx_report_short(diag, loc, s, what, payload, s->file_size - header_bytes);
        else if (s->file_size > total)
            idx_report_extra(diag, loc, s, total);
        return s->file_size == total;
    }
    uint64_t most = s->file_size * IDX_GZIP_MAX_RATIO;
    if (total > most) {
        data_error(diag, loc, s->path, "the header's dimensions do not describe this file",
                   "\"%s\" declares %llu bytes of %s, more than a gzip file of %llu bytes can hold "
                   "(at most %llu: deflate compresses at most %d:1)",
                   s->path, (unsigned long long)payload, what, (unsigned long long)s->file_size,
                   (unsigned long long)most, IDX_GZIP_MAX_RATIO);
        return false;
    }
    unsigned char isize[4];
    if (s->file_size >= 18 && pread(s->fd, isize, 4, (off_t)(s->file_size - 4)) == 4) {
        uint32_t length = (uint32_t)isize[0] | (uint32_t)isize[1] << 8 | (uint32_t)isize[2] << 16
                          | (uint32_t)isize[3] << 24;
        if (length == (uint32_t)total)
            return true;
    }
    *consumed = true;
    unsigned char *scratch = ns_xmalloc(IDX_CHUNK);
    uint64_t counted = 0;
    for (;;) {
        uint64_t left = payload + 1 - counted;
        size_t want = left < IDX_CHUNK ? (size_t)left : IDX_CHUNK;
        size_t got = stream_read(s, scratch, want);
        counted += got;
        if (got < want || counted > payload)
            break;
    }
    free(scratch);
    if (idx_report_failure(diag, loc, s))
        return false;
    if (counted < payload) {
        idx_report_short(diag, loc, s, what, payload, counted);
        return false;
    }
    if (counted > payload) {
        idx_report_extra(diag, loc, s, total);
        return false;
    }
    if (s->garbage)
        idx_report_garbage(diag, loc, s);
    else if (s->truncated)
        idx_report_cut_trailer(diag, loc, s);
    return !s->garbage && !s->truncated;
}

enum idx_kind { IDX_IMAGES, IDX_LABELS };

/* Opens an images or labels file, checks its header and bounds its declared size by the
 * file (idx_bound): the stream is left after the header, ready for the payload, and only
 * then may the caller allocate what the header declares. */
static bool idx_open_checked(struct ns_diag *diag, struct ns_loc loc, const char *path, enum idx_kind kind,
                             struct idx_stream *s, struct data_idx_file *h, struct spec_shape *shape)
{
    if (!stream_open(diag, loc, path, s))
        return false;
    bool ok = idx_header(s, diag, loc, h)
              && (kind == IDX_IMAGES ? idx_image_shape(diag, loc, path, h, shape) : idx_label_header(diag, loc, path, h));
    bool consumed = false;
    if (ok)
        ok = idx_bound(s, diag, loc, kind == IDX_IMAGES ? "pixels" : "labels", 4 + 4 * (uint64_t)h->ndim,
                       idx_payload(h), &consumed);
    if (ok && consumed) {
        /* Counted to the end: read the header again, and it must be the one counted. */
        struct data_idx_file again;
        stream_close(s);
        ok = stream_open(diag, loc, path, s) && idx_header(s, diag, loc, &again);
        if (ok && memcmp(&again, h, sizeof again) != 0) {
            data_error(diag, loc, path, NULL, "\"%s\" changed while netspec was reading it", path);
            ok = false;
        }
        if (!ok && s->fd >= 0)
            stream_close(s);
        return ok;
    }
    if (!ok)
        stream_close(s);
    return ok;
}

/* Reads the whole labels file, checks the count against the images and every label against
 * the classes. Returns the labels (count bytes, malloc'd) or NULL. */
static unsigned char *idx_read_labels(struct ns_diag *diag, struct ns_loc loc, const char *path,
                                      uint32_t images_count, const char *images_path,
                                      int class_count, int *max_label)
{
    struct idx_stream *s = ns_xmalloc(sizeof *s);
    struct data_idx_file h;
    if (!idx_open_checked(diag, loc, path, IDX_LABELS, s, &h, NULL)) {
        free(s);
        return NULL;
    }
    unsigned char *labels = NULL;
    bool ok = true;
    if (h.dims[0] != images_count) {
        data_error(diag, loc, path, NULL,
                   "labels count %u in \"%s\" does not match images count %u in \"%s\"",
                   h.dims[0], path, images_count, images_path);
        ok = false;
    }
    if (ok) {
        size_t n = h.dims[0];
        labels = ns_xmalloc(n ? n : 1);
        size_t got = stream_read(s, labels, n);
        if (!idx_report_failure(diag, loc, s) && got < n)
            idx_report_short(diag, loc, s, "labels", n, got);
        ok = !s->failure && got == n && idx_check_end(s, diag, loc, 8 + n);
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
            ok = false;
        }
        /* One class is nothing to tell apart: training would report a meaningless accuracy. */
        if (ok && class_count == 0 && max < 1) {
            data_error(diag, loc, path, "classification needs labels of at least 2 classes",
                       "every label in \"%s\" is %d: the data has 1 class", path, max);
            ok = false;
        }
        *max_label = max;
    }
    stream_close(s);
    free(s);
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
    struct idx_stream *s = ns_xmalloc(sizeof *s);
    struct data_idx_file h;
    struct spec_shape shape = {0};
    bool ok = idx_open_checked(diag, images_loc, images_path, IDX_IMAGES, s, &h, &shape);
    if (ok)
        stream_close(s);
    free(s);
    if (!ok)
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
    struct idx_stream *s = ns_xmalloc(sizeof *s);
    struct data_idx_file h;
    struct spec_shape shape = {0};
    if (!idx_open_checked(diag, images_loc, images_path, IDX_IMAGES, s, &h, &shape)) {
        free(s);
        return false;
    }
    int max_label = -1;
    unsigned char *labels = idx_read_labels(diag, labels_loc, labels_path, h.dims[0], images_path,
                                            class_count, &max_label);
    if (!labels) {
        stream_close(s);
        free(s);
        return false;
    }

    size_t count = h.dims[0];
    size_t sample_size = dataset_shape_size(shape);
    size_t total = count * sample_size;
    /* Pixels stay bytes (dataset.h): read straight into the samples' buffer, whose size the
     * file has been checked to hold (idx_open_checked). */
    uint8_t *x = ns_xmalloc(total ? total : 1); /* (count, rows, cols, channels) */
    size_t done = stream_read(s, x, total);
    bool ok = !idx_report_failure(diag, images_loc, s);
    if (ok && done < total) {
        idx_report_short(diag, images_loc, s, "pixels", total, done);
        ok = false;
    }
    size_t header_bytes = 4 + 4 * (size_t)h.ndim;
    if (ok)
        ok = idx_check_end(s, diag, images_loc, header_bytes + total);
    stream_close(s);
    free(s);
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
