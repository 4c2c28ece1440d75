#include "train/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/ns_file.h"
#include "core/ns_util.h"

static const unsigned char checkpoint_magic[8] = {0x89, 'N', 'S', 'M', '\r', '\n', 0x1a, '\n'};

/* ---- writing: explicit little-endian, whatever the host ---- */

static void put_u8(struct ns_buf *b, unsigned v)
{
    char c = (char)(unsigned char)v;
    ns_buf_append(b, &c, 1);
}

static void put_u16(struct ns_buf *b, unsigned v)
{
    put_u8(b, v & 0xff);
    put_u8(b, (v >> 8) & 0xff);
}

static void put_u32(struct ns_buf *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        put_u8(b, (v >> (8 * i)) & 0xff);
}

static void put_u64(struct ns_buf *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        put_u8(b, (unsigned)((v >> (8 * i)) & 0xff));
}

static void put_f64(struct ns_buf *b, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    put_u64(b, bits);
}

static void put_f32s(struct ns_buf *b, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &v[i], sizeof bits);
        put_u32(b, bits);
    }
}

static void put_str(struct ns_buf *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n > 0xffff)
        n = 0xffff;
    put_u16(b, (unsigned)n);
    if (n)
        ns_buf_append(b, s, n);
}

/* Starts a section; returns where its length goes, patched by end_section. */
static size_t begin_section(struct ns_buf *b, const char tag[4])
{
    ns_buf_append(b, tag, 4);
    put_u32(b, 0);
    size_t at = b->len;
    put_u64(b, 0);
    return at;
}

static void end_section(struct ns_buf *b, size_t at)
{
    uint64_t len = (uint64_t)(b->len - at - 8);
    for (int i = 0; i < 8; i++)
        b->data[at + (size_t)i] = (char)(unsigned char)((len >> (8 * i)) & 0xff);
}

static size_t tensor_total(const struct graph *g)
{
    size_t n = 0;
    for (size_t i = 0; i < g->node_count; i++)
        n += (size_t)g->nodes[i].tensor_count;
    return n;
}

static void write_sections(struct ns_buf *b, const struct graph *g, const struct train_state *st)
{
    size_t at = begin_section(b, "META");
    put_u64(b, st->seed);
    put_u64(b, st->param_floats);
    put_u32(b, (uint32_t)tensor_total(g));
    for (size_t i = 0; i < g->node_count; i++) {
        const struct op_node *node = &g->nodes[i];
        for (int t = 0; t < node->tensor_count; t++) {
            put_u32(b, (uint32_t)i);
            put_u32(b, (uint32_t)t);
            put_u64(b, node->tensors[t].size);
            put_u8(b, node->tensors[t].trainable);
            put_str(b, node->name);
            put_str(b, node->op->layer.name);
            put_str(b, node->tensors[t].name);
        }
    }
    end_section(b, at);

    at = begin_section(b, "WGHT");
    put_f32s(b, st->params, st->param_floats);
    end_section(b, at);

    at = begin_section(b, "OPTM");
    size_t m = optim_m_floats(&st->opt), v = optim_v_floats(&st->opt);
    put_u32(b, (uint32_t)st->opt.type);
    put_u64(b, st->opt.step);
    put_u64(b, m);
    put_u64(b, v);
    put_f32s(b, st->opt.m, m);
    put_f32s(b, st->opt.v, v);
    end_section(b, at);

    at = begin_section(b, "PROG");
    put_u32(b, (uint32_t)st->epoch);
    put_u32(b, (uint32_t)st->batch);
    put_f64(b, st->epoch_loss);
    put_u64(b, st->epoch_correct);
    put_u64(b, st->epoch_seen);
    put_u8(b, st->finished);
    put_u8(b, st->stopped_early);
    end_section(b, at);

    at = begin_section(b, "HIST");
    put_u32(b, (uint32_t)st->history_count);
    for (size_t i = 0; i < st->history_count; i++) {
        const struct train_epoch *e = &st->history[i];
        put_f64(b, e->train_loss);
        put_f64(b, e->train_metric);
        put_f64(b, e->val_loss);
        put_f64(b, e->val_metric);
        put_f64(b, e->lr);
    }
    end_section(b, at);

    at = begin_section(b, "BIND");
    ns_buf_append(b, st->spec_sha256, 64);
    ns_buf_append(b, st->model_sha256, 64);
    end_section(b, at);

    at = begin_section(b, "ESTP");
    put_f64(b, st->es_best);
    put_u32(b, (uint32_t)st->es_best_epoch);
    put_u32(b, (uint32_t)st->es_bad_epochs);
    end_section(b, at);
}

bool checkpoint_write(struct ns_diag *diag, const char *path, const struct graph *g,
                      const struct train_state *st)
{
    struct ns_buf b = {0};
    ns_buf_append(&b, (const char *)checkpoint_magic, sizeof checkpoint_magic);
    put_u32(&b, CHECKPOINT_VERSION);
    put_u32(&b, 7);
    write_sections(&b, g, st);
    uLong crc = crc32(0L, Z_NULL, 0);
    /* zlib takes uInt lengths: feed the buffer in pieces below 1 GiB. */
    for (size_t off = 0; off < b.len;) {
        size_t n = b.len - off > (1u << 30) ? (1u << 30) : b.len - off;
        crc = crc32(crc, (const Bytef *)b.data + off, (uInt)n);
        off += n;
    }
    put_u32(&b, (uint32_t)crc);
    bool ok = ns_file_replace(diag, path, b.data, b.len);
    ns_buf_free(&b);
    return ok;
}

/* ---- reading ---- */

struct reader {
    const unsigned char *p, *end;
    bool bad;
};

static bool need(struct reader *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return false;
    }
    return true;
}

static uint64_t get_le(struct reader *r, int bytes)
{
    if (!need(r, (size_t)bytes))
        return 0;
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += bytes;
    return v;
}

static double get_f64(struct reader *r)
{
    uint64_t bits = get_le(r, 8);
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

static void get_f32s(struct reader *r, float *out, size_t n)
{
    if (!need(r, n * 4))
        return;
    for (size_t i = 0; i < n; i++) {
        uint32_t bits = (uint32_t)get_le(r, 4);
        memcpy(&out[i], &bits, sizeof bits);
    }
}

/* A u16-length string compared with `want`; false when it differs. */
static bool get_str_eq(struct reader *r, const char *want, char *got, size_t got_size)
{
    size_t n = (size_t)get_le(r, 2);
    if (!need(r, n))
        return false;
    size_t keep = n < got_size - 1 ? n : got_size - 1;
    memcpy(got, r->p, keep);
    got[keep] = '\0';
    bool same = want && strlen(want) == n && memcmp(want, r->p, n) == 0;
    r->p += n;
    return same;
}

static bool read_file(struct ns_diag *diag, const char *path, unsigned char **data, size_t *len)
{
    struct ns_loc loc = {path, 0, 0, 0};
    int err = 0;
    char *text = ns_read_file(path, 0, len, &err);
    if (!text) {
        ns_diag_add(diag, NS_ERR_DATA, loc, NULL, "cannot open %s: %s", path, strerror(err));
        return false;
    }
    *data = (unsigned char *)text;
    return true;
}

enum meta_result { META_OK, META_MISMATCH, META_SHORT };

static enum meta_result meta_matches(struct ns_diag *diag, const char *path, struct reader *r,
                                     const struct graph *g, struct train_state *st)
{
    struct ns_loc loc = {path, 0, 0, 0};
    const char *hint = "the file belongs to another model: train this spec, or use the run it came from";
    st->seed = get_le(r, 8);
    uint64_t floats = get_le(r, 8);
    uint32_t tensors = (uint32_t)get_le(r, 4);
    if (r->bad)
        return META_SHORT;
    if (floats != g->param_floats || tensors != tensor_total(g)) {
        ns_diag_add(diag, NS_ERR_DATA, loc, hint,
                    "%s holds %llu parameters in %u tensors, but the model has %zu in %zu",
                    path, (unsigned long long)floats, tensors, g->param_floats, tensor_total(g));
        return META_MISMATCH;
    }
    for (size_t i = 0; i < g->node_count; i++) {
        const struct op_node *node = &g->nodes[i];
        for (int t = 0; t < node->tensor_count; t++) {
            uint32_t ni = (uint32_t)get_le(r, 4), ti = (uint32_t)get_le(r, 4);
            uint64_t size = get_le(r, 8);
            unsigned trainable = (unsigned)get_le(r, 1);
            char name[128], op[64], tensor[64];
            bool same = get_str_eq(r, node->name, name, sizeof name);
            same = get_str_eq(r, node->op->layer.name, op, sizeof op) && same;
            same = get_str_eq(r, node->tensors[t].name, tensor, sizeof tensor) && same;
            if (r->bad)
                return META_SHORT;
            if (!same || ni != i || ti != (uint32_t)t || size != node->tensors[t].size
                || trainable != (unsigned)node->tensors[t].trainable) {
                ns_diag_add(diag, NS_ERR_DATA, loc, hint,
                            "%s does not match the model: it has %s.%s (%s, %llu values) where the "
                            "model has %s.%s (%s, %zu values)",
                            path, name, tensor, op, (unsigned long long)size, node->name,
                            node->tensors[t].name, node->op->layer.name, node->tensors[t].size);
                return META_MISMATCH;
            }
        }
    }
    return META_OK;
}

static bool read_optim(struct reader *r, struct train_state *st)
{
    uint32_t type = (uint32_t)get_le(r, 4);
    uint64_t step = get_le(r, 8);
    uint64_t m = get_le(r, 8), v = get_le(r, 8);
    if (r->bad || (int)type != st->opt.type || m != optim_m_floats(&st->opt) || v != optim_v_floats(&st->opt))
        return false;
    st->opt.step = step;
    get_f32s(r, st->opt.m, (size_t)m);
    get_f32s(r, st->opt.v, (size_t)v);
    return !r->bad;
}

static bool read_history(struct reader *r, struct train_state *st)
{
    uint32_t count = (uint32_t)get_le(r, 4);
    if (!need(r, (size_t)count * 40))
        return false;
    free(st->history);
    st->history = ns_xcalloc(count ? count : 1, sizeof *st->history);
    st->history_count = count;
    for (uint32_t i = 0; i < count; i++) {
        struct train_epoch *e = &st->history[i];
        e->train_loss = get_f64(r);
        e->train_metric = get_f64(r);
        e->val_loss = get_f64(r);
        e->val_metric = get_f64(r);
        e->lr = get_f64(r);
    }
    return !r->bad;
}

/* Parses the sections after the header; returns NULL on success, else what is wrong (or ""
 * when a diag was already added). */
static const char *read_sections(struct ns_diag *diag, const char *path, struct reader *r,
                                 const struct graph *g, struct train_state *st)
{
    uint32_t sections = (uint32_t)get_le(r, 4);
    unsigned seen = 0;
    for (uint32_t s = 0; s < sections; s++) {
        if (!need(r, 16))
            return "it is cut short";
        char tag[5] = {0};
        memcpy(tag, r->p, 4);
        r->p += 4;
        (void)get_le(r, 4);
        uint64_t size = get_le(r, 8);
        if (!need(r, (size_t)size))
            return "it is cut short";
        struct reader sec = {r->p, r->p + size, false};
        r->p += size;
        if (!strcmp(tag, "META")) {
            enum meta_result m = meta_matches(diag, path, &sec, g, st);
            if (m == META_MISMATCH)
                return "";
            if (m == META_SHORT)
                return "its model description is cut short";
            seen |= 1;
        } else if (!strcmp(tag, "WGHT")) {
            get_f32s(&sec, st->params, st->param_floats);
            seen |= 2;
        } else if (!strcmp(tag, "OPTM")) {
            if (!read_optim(&sec, st))
                return "its optimizer state is for another optimizer or size";
            seen |= 4;
        } else if (!strcmp(tag, "PROG")) {
            st->epoch = (int)(uint32_t)get_le(&sec, 4);
            st->batch = (int)(uint32_t)get_le(&sec, 4);
            st->epoch_loss = get_f64(&sec);
            st->epoch_correct = get_le(&sec, 8);
            st->epoch_seen = get_le(&sec, 8);
            st->finished = get_le(&sec, 1) != 0;
            st->stopped_early = get_le(&sec, 1) != 0;
            seen |= 8;
        } else if (!strcmp(tag, "HIST")) {
            if (!read_history(&sec, st))
                return "its history section is cut short";
            seen |= 16;
        } else if (!strcmp(tag, "ESTP")) {
            st->es_best = get_f64(&sec);
            st->es_best_epoch = (int)(int32_t)(uint32_t)get_le(&sec, 4);
            st->es_bad_epochs = (int)(int32_t)(uint32_t)get_le(&sec, 4);
            seen |= 32;
        } else if (!strcmp(tag, "BIND")) {
            if (!need(&sec, 128))
                return "its binding section is cut short";
            memcpy(st->spec_sha256, sec.p, 64);
            memcpy(st->model_sha256, sec.p + 64, 64);
            st->spec_sha256[64] = st->model_sha256[64] = '\0';
            sec.p += 128;
            seen |= 64;
        }
        if (sec.bad)
            return "a section is shorter than it says";
    }
    if (seen != 127)
        return "a required section is missing";
    return NULL;
}

/* Reads path and checks magic, checksum and version; the sections follow at r. Returns the
 * file (to free) or NULL with a diag. */
static unsigned char *open_checked(struct ns_diag *diag, const char *path, struct reader *r)
{
    struct ns_loc loc = {path, 0, 0, 0};
    unsigned char *data;
    size_t len;
    if (!read_file(diag, path, &data, &len))
        return NULL;
    const char *what = NULL;
    if (len < sizeof checkpoint_magic + 12 || memcmp(data, checkpoint_magic, sizeof checkpoint_magic) != 0) {
        what = "it is not a netspec model file";
    } else {
        uLong crc = crc32(0L, Z_NULL, 0);
        for (size_t off = 0; off < len - 4;) {
            size_t n = len - 4 - off > (1u << 30) ? (1u << 30) : len - 4 - off;
            crc = crc32(crc, data + off, (uInt)n);
            off += n;
        }
        *r = (struct reader){data + len - 4, data + len, false};
        if ((uint32_t)get_le(r, 4) != (uint32_t)crc) {
            what = "its checksum does not match: the file is damaged or truncated";
        } else {
            *r = (struct reader){data + sizeof checkpoint_magic, data + len - 4, false};
            uint32_t version = (uint32_t)get_le(r, 4);
            if (version != CHECKPOINT_VERSION) {
                ns_diag_add(diag, NS_ERR_DATA, loc, "train the run again with this netspec",
                            "%s is model format version %u; this netspec reads version %d", path,
                            version, CHECKPOINT_VERSION);
                free(data);
                return NULL;
            }
        }
    }
    if (what) {
        ns_diag_add(diag, NS_ERR_DATA, loc, NULL, "cannot read the model %s: %s", path, what);
        free(data);
        return NULL;
    }
    return data;
}

bool checkpoint_read(struct ns_diag *diag, const char *path, const struct graph *g, struct train_state *st)
{
    struct reader r;
    unsigned char *data = open_checked(diag, path, &r);
    if (!data)
        return false;
    const char *what = read_sections(diag, path, &r, g, st);
    free(data);
    if (what && *what)
        ns_diag_add(diag, NS_ERR_DATA, (struct ns_loc){path, 0, 0, 0}, NULL, "cannot read the model %s: %s",
                    path, what);
    return what == NULL;
}

bool checkpoint_read_binding(struct ns_diag *diag, const char *path, char spec_sha256[65],
                             char model_sha256[65])
{
    struct reader r;
    unsigned char *data = open_checked(diag, path, &r);
    if (!data)
        return false;
    bool found = false;
    uint32_t sections = (uint32_t)get_le(&r, 4);
    for (uint32_t s = 0; s < sections && !found && need(&r, 16); s++) {
        bool bind = memcmp(r.p, "BIND", 4) == 0;
        r.p += 8;
        uint64_t size = get_le(&r, 8);
        if (!need(&r, (size_t)size))
            break;
        if (bind && size >= 128) {
            memcpy(spec_sha256, r.p, 64);
            memcpy(model_sha256, r.p + 64, 64);
            spec_sha256[64] = model_sha256[64] = '\0';
            found = true;
        }
        r.p += size;
    }
    free(data);
    if (!found)
        ns_diag_add(diag, NS_ERR_DATA, (struct ns_loc){path, 0, 0, 0}, NULL,
                    "cannot read the model %s: it records no run binding", path);
    return found;
}
