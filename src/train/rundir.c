#include "train/rundir.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/ns_sha256.h"
#include "core/ns_util.h"
#include "train/checkpoint.h"

bool rundir_make(struct ns_diag *diag, const char *dir)
{
    char *p = ns_xstrdup(dir);
    size_t len = strlen(p);
    for (size_t i = 1; i <= len; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char keep = p[i];
        p[i] = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            ns_diag_add(diag, NS_ERR_DATA, (struct ns_loc){dir, 0, 0, 0}, NULL,
                        "cannot create the run directory %s: %s", p, strerror(errno));
            free(p);
            return false;
        }
        p[i] = keep;
    }
    free(p);
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        ns_diag_add(diag, NS_ERR_DATA, (struct ns_loc){dir, 0, 0, 0}, NULL,
                    "%s exists and is not a directory", dir);
        return false;
    }
    return true;
}

char *rundir_path(const char *dir, const char *name)
{
    size_t n = strlen(dir);
    return ns_asprintf("%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name);
}

char *rundir_read_text(const char *path, size_t *len)
{
    return ns_read_file(path, 0, len, NULL);
}

bool rundir_write_text(struct ns_diag *diag, const char *path, const char *text)
{
    return checkpoint_write_atomic(diag, path, text, strlen(text));
}

void rundir_now_iso(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Shortest %g text that reads back as the same double. */
static void format_double(double v, char out[32])
{
    for (int digits = 6; digits <= 17; digits++) {
        snprintf(out, 32, "%.*g", digits, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

/* ---- JSON writing ---- */

void rundir_json_put_string(struct ns_buf *out, const char *s)
{
    ns_buf_put_json_string(out, s);
}

void rundir_json_put_number(struct ns_buf *out, double v)
{
    if (!isfinite(v)) {
        ns_buf_puts(out, "null");
        return;
    }
    char text[32];
    format_double(v, text);
    ns_buf_puts(out, text);
}

/* ---- data files ---- */

bool rundir_hash_files(struct ns_diag *diag, const struct trainset_files *list, struct rundir_file **out,
                       size_t *count)
{
    struct rundir_file *files = ns_xcalloc(list->count ? list->count : 1, sizeof *files);
    bool ok = true;
    for (size_t i = 0; i < list->count; i++) {
        files[i].path = ns_xstrdup(list->paths[i]);
        struct stat sb;
        uint8_t digest[32];
        int err = 0;
        if (stat(list->paths[i], &sb) != 0 || !ns_sha256_file(list->paths[i], digest, &err)) {
            ns_diag_add(diag, NS_ERR_DATA, (struct ns_loc){list->paths[i], 0, 0, 0}, NULL,
                        "cannot read the data file %s: %s", list->paths[i], strerror(err ? err : errno));
            ok = false;
            continue;
        }
        files[i].bytes = (uint64_t)sb.st_size;
        ns_sha256_hex(digest, files[i].sha256);
    }
    *out = files;
    *count = list->count;
    return ok;
}

void rundir_files_free(struct rundir_file *files, size_t count)
{
    for (size_t i = 0; files && i < count; i++)
        free(files[i].path);
    free(files);
}

bool rundir_compare_files(const struct rundir_file *recorded, size_t recorded_count,
                          const struct rundir_file *now, size_t now_count, struct ns_buf *why)
{
    bool same = true;
    for (size_t i = 0; i < now_count; i++) {
        const struct rundir_file *r = NULL;
        for (size_t j = 0; j < recorded_count && !r; j++)
            if (!strcmp(recorded[j].path, now[i].path))
                r = &recorded[j];
        if (!r) {
            ns_buf_printf(why, "%s was not part of the run's data\n", now[i].path);
            same = false;
        } else if (strcmp(r->sha256, now[i].sha256) != 0 || r->bytes != now[i].bytes) {
            ns_buf_printf(why, "%s changed since training: SHA-256 %.12s..., %llu bytes then; %.12s..., "
                               "%llu bytes now\n",
                          now[i].path, r->sha256, (unsigned long long)r->bytes, now[i].sha256,
                          (unsigned long long)now[i].bytes);
            same = false;
        }
    }
    for (size_t j = 0; j < recorded_count; j++) {
        bool found = false;
        for (size_t i = 0; i < now_count && !found; i++)
            found = !strcmp(recorded[j].path, now[i].path);
        if (!found) {
            ns_buf_printf(why, "%s was part of the run's data and is gone\n", recorded[j].path);
            same = false;
        }
    }
    return same;
}

bool rundir_write_manifest(struct ns_diag *diag, const char *dir, const struct rundir_manifest *m)
{
    struct ns_buf b = {0};
    ns_buf_puts(&b, "{\n  \"netspec_version\": ");
    rundir_json_put_string(&b, m->version);
    ns_buf_puts(&b, ",\n  \"name\": ");
    rundir_json_put_string(&b, m->name);
    ns_buf_puts(&b, ",\n  \"spec\": {\"path\": ");
    rundir_json_put_string(&b, m->spec_path);
    ns_buf_printf(&b, ", \"sha256\": \"%s\", \"resolved_sha256\": \"%s\"},\n", m->spec_sha256,
                  m->resolved_sha256);
    ns_buf_printf(&b, "  \"seed\": %lld,\n  \"overrides\": [", m->seed);
    for (size_t i = 0; i < m->override_count; i++) {
        ns_buf_puts(&b, i ? ", " : "");
        rundir_json_put_string(&b, m->overrides[i]);
    }
    ns_buf_printf(&b, "],\n  \"threads\": %d,\n  \"parameters\": %zu,\n", m->threads, m->parameters);
    ns_buf_printf(&b, "  \"samples\": {\"train\": %zu, \"validation\": %zu, \"test\": %zu},\n  \"data\": [",
                  m->train_count, m->validation_count, m->test_count);
    for (size_t i = 0; i < m->file_count; i++) {
        ns_buf_puts(&b, i ? ",\n    {\"path\": " : "\n    {\"path\": ");
        rundir_json_put_string(&b, m->files[i].path);
        ns_buf_printf(&b, ", \"bytes\": %llu, \"sha256\": \"%s\"}", (unsigned long long)m->files[i].bytes,
                      m->files[i].sha256);
    }
    ns_buf_puts(&b, m->file_count ? "\n  ],\n" : "],\n");
    ns_buf_printf(&b, "  \"start_time\": \"%s\",\n  \"end_time\": ", m->start_time);
    if (m->end_time[0])
        ns_buf_printf(&b, "\"%s\"", m->end_time);
    else
        ns_buf_puts(&b, "null");
    ns_buf_puts(&b, ",\n  \"status\": ");
    rundir_json_put_string(&b, m->status);
    if (m->resumed)
        ns_buf_printf(&b, ",\n  \"resumed_at\": {\"epoch\": %d, \"batch\": %d}", m->resumed_epoch,
                      m->resumed_batch);
    ns_buf_puts(&b, ",\n  \"command_line\": [");
    for (int i = 0; i < m->argc; i++) {
        ns_buf_puts(&b, i ? ", " : "");
        rundir_json_put_string(&b, m->argv[i]);
    }
    ns_buf_puts(&b, "]\n}\n");
    char *path = rundir_path(dir, "manifest.json");
    bool ok = rundir_write_text(diag, path, b.data);
    free(path);
    ns_buf_free(&b);
    return ok;
}

/* ---- JSON reading: just enough for the manifest we write (and any reformatting of it) ---- */

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json {
    enum json_type type;
    double number;
    char *string;          /* JSON_STRING */
    size_t count;          /* items of an array or object */
    struct json *items;
    char **keys;           /* JSON_OBJECT */
};

struct json_parser {
    const char *p;
    bool bad;
    int depth;
};

static void json_free(struct json *v)
{
    free(v->string);
    for (size_t i = 0; i < v->count; i++) {
        json_free(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    memset(v, 0, sizeof *v);
}

static void json_ws(struct json_parser *jp)
{
    while (*jp->p == ' ' || *jp->p == '\n' || *jp->p == '\r' || *jp->p == '\t')
        jp->p++;
}

static char *json_string(struct json_parser *jp)
{
    if (*jp->p != '"') {
        jp->bad = true;
        return NULL;
    }
    jp->p++;
    struct ns_buf b = {0};
    ns_buf_append(&b, "", 0);
    while (*jp->p && *jp->p != '"') {
        char c = *jp->p++;
        if (c == '\\') {
            char e = *jp->p++;
            switch (e) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'u': {
                unsigned code = 0;
                for (int i = 0; i < 4; i++) {
                    if (!isxdigit((unsigned char)jp->p[i])) {
                        jp->bad = true;
                        ns_buf_free(&b);
                        return NULL;
                    }
                    char hex[2] = {jp->p[i], 0};
                    code = code * 16 + (unsigned)strtoul(hex, NULL, 16);
                }
                jp->p += 4;
                /* Paths we write only escape control characters; others become '?'. */
                c = code < 0x80 ? (char)code : '?';
                break;
            }
            case '\0':
                jp->bad = true;
                ns_buf_free(&b);
                return NULL;
            default: c = e; break;
            }
        }
        ns_buf_append(&b, &c, 1);
    }
    if (*jp->p != '"') {
        jp->bad = true;
        ns_buf_free(&b);
        return NULL;
    }
    jp->p++;
    if (!b.data)
        b.data = ns_xstrdup("");
    return b.data;
}

static void json_value(struct json_parser *jp, struct json *out)
{
    memset(out, 0, sizeof *out);
    json_ws(jp);
    if (++jp->depth > 64) {
        jp->bad = true;
        return;
    }
    char c = *jp->p;
    if (c == '{' || c == '[') {
        bool object = c == '{';
        out->type = object ? JSON_OBJECT : JSON_ARRAY;
        jp->p++;
        json_ws(jp);
        if (*jp->p == (object ? '}' : ']')) {
            jp->p++;
            jp->depth--;
            return;
        }
        for (;;) {
            char *key = NULL;
            if (object) {
                json_ws(jp);
                key = json_string(jp);
                json_ws(jp);
                if (jp->bad || *jp->p != ':') {
                    free(key);
                    jp->bad = true;
                    return;
                }
                jp->p++;
            }
            out->items = ns_xrealloc(out->items, (out->count + 1) * sizeof *out->items);
            if (object)
                out->keys = ns_xrealloc(out->keys, (out->count + 1) * sizeof *out->keys);
            json_value(jp, &out->items[out->count]);
            if (object)
                out->keys[out->count] = key;
            out->count++;
            if (jp->bad)
                return;
            json_ws(jp);
            if (*jp->p == ',') {
                jp->p++;
                continue;
            }
            if (*jp->p == (object ? '}' : ']')) {
                jp->p++;
                break;
            }
            jp->bad = true;
            return;
        }
    } else if (c == '"') {
        out->type = JSON_STRING;
        out->string = json_string(jp);
    } else if (!strncmp(jp->p, "true", 4) || !strncmp(jp->p, "false", 5)) {
        out->type = JSON_BOOL;
        out->number = *jp->p == 't';
        jp->p += *jp->p == 't' ? 4 : 5;
    } else if (!strncmp(jp->p, "null", 4)) {
        jp->p += 4;
    } else {
        char *end;
        out->type = JSON_NUMBER;
        out->number = strtod(jp->p, &end);
        if (end == jp->p)
            jp->bad = true;
        jp->p = end;
    }
    jp->depth--;
}

static const struct json *json_get(const struct json *obj, const char *key)
{
    if (obj->type != JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < obj->count; i++)
        if (obj->keys[i] && !strcmp(obj->keys[i], key))
            return &obj->items[i];
    return NULL;
}

bool rundir_read_manifest_files(struct ns_diag *diag, const char *dir, struct rundir_file **out, size_t *count)
{
    char *path = rundir_path(dir, "manifest.json");
    struct ns_loc loc = {path, 0, 0, 0};
    char *text = rundir_read_text(path, NULL);
    *out = NULL;
    *count = 0;
    if (!text) {
        ns_diag_add(diag, NS_ERR_DATA, loc, "is this a run directory made by `netspec train`?",
                    "cannot read %s: %s", path, strerror(errno));
        free(path);
        return false;
    }
    struct json_parser jp = {text, false, 0};
    struct json root;
    json_value(&jp, &root);
    const struct json *data = jp.bad ? NULL : json_get(&root, "data");
    bool ok = data && data->type == JSON_ARRAY;
    struct rundir_file *files = ns_xcalloc(ok && data->count ? data->count : 1, sizeof *files);
    size_t n = 0;
    for (size_t i = 0; ok && i < data->count; i++) {
        const struct json *p = json_get(&data->items[i], "path");
        const struct json *b = json_get(&data->items[i], "bytes");
        const struct json *h = json_get(&data->items[i], "sha256");
        if (!p || p->type != JSON_STRING || !b || b->type != JSON_NUMBER || !h || h->type != JSON_STRING
            || strlen(h->string) != 64) {
            ok = false;
            break;
        }
        files[n].path = ns_xstrdup(p->string);
        files[n].bytes = (uint64_t)b->number;
        memcpy(files[n].sha256, h->string, 65);
        n++;
    }
    json_free(&root);
    free(text);
    if (!ok) {
        ns_diag_add(diag, NS_ERR_DATA, loc, NULL,
                    "%s is damaged: its \"data\" list of files with path, bytes and sha256 is unreadable",
                    path);
        rundir_files_free(files, n);
        free(path);
        return false;
    }
    free(path);
    *out = files;
    *count = n;
    return true;
}

/* ---- metrics.csv ---- */

static void put_cell(struct ns_buf *b, double v)
{
    ns_buf_puts(b, ",");
    if (isfinite(v)) {
        char text[32];
        format_double(v, text);
        ns_buf_puts(b, text);
    }
}

bool rundir_metrics_begin(struct ns_diag *diag, const char *dir, bool regression, size_t keep_rows)
{
    char *path = rundir_path(dir, "metrics.csv");
    const char *metric = regression ? "rmse" : "accuracy";
    struct ns_buf b = {0};
    ns_buf_printf(&b, "epoch,train_loss,train_%s,val_loss,val_%s,lr,seconds,images_per_s\n", metric, metric);
    char *old = keep_rows ? rundir_read_text(path, NULL) : NULL;
    if (old) {
        /* Keep the old header's rows up to keep_rows: the epochs the checkpoint holds. */
        const char *line = strchr(old, '\n');
        for (size_t r = 0; line && r < keep_rows; r++) {
            const char *next = strchr(line + 1, '\n');
            if (!next)
                break;
            ns_buf_append(&b, line + 1, (size_t)(next - line));
            line = next;
        }
        free(old);
    }
    bool ok = rundir_write_text(diag, path, b.data);
    ns_buf_free(&b);
    free(path);
    return ok;
}

bool rundir_metrics_append(struct ns_diag *diag, const char *dir, int epoch, const struct train_epoch *e,
                           double seconds, double images_per_s)
{
    char *path = rundir_path(dir, "metrics.csv");
    char *old = rundir_read_text(path, NULL);
    struct ns_buf b = {0};
    ns_buf_puts(&b, old ? old : "");
    free(old);
    ns_buf_printf(&b, "%d", epoch + 1);
    put_cell(&b, e->train_loss);
    put_cell(&b, e->train_metric);
    put_cell(&b, e->val_loss);
    put_cell(&b, e->val_metric);
    put_cell(&b, e->lr);
    ns_buf_printf(&b, ",%.3f,%.1f\n", seconds, images_per_s);
    bool ok = rundir_write_text(diag, path, b.data);
    ns_buf_free(&b);
    free(path);
    return ok;
}

/* ---- curves.svg ---- */

struct panel {
    double x, y, w, h; /* the plot area inside the axes */
    double lo, hi;     /* y range */
    size_t epochs;
};

static double px(const struct panel *p, size_t i)
{
    return p->epochs > 1 ? p->x + p->w * (double)i / (double)(p->epochs - 1) : p->x + p->w / 2;
}

static double py(const struct panel *p, double v)
{
    return p->y + p->h - p->h * (v - p->lo) / (p->hi - p->lo);
}

/* A step of 1, 2 or 5 times a power of ten giving about `want` intervals. */
static double nice_step(double range, int want)
{
    double raw = range / want;
    double mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

static void series(struct ns_buf *b, const struct panel *p, const struct train_epoch *h, size_t n, bool val,
                   bool loss, const char *color, const char *dash)
{
    ns_buf_printf(b, "  <polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", color, dash);
    size_t drawn = 0;
    for (size_t i = 0; i < n; i++) {
        double v = loss ? (val ? h[i].val_loss : h[i].train_loss) : (val ? h[i].val_metric : h[i].train_metric);
        if (!isfinite(v))
            continue;
        ns_buf_printf(b, "%s%.1f,%.1f", drawn++ ? " " : "", px(p, i), py(p, v));
    }
    ns_buf_puts(b, "\"/>\n");
    for (size_t i = 0; i < n; i++) {
        double v = loss ? (val ? h[i].val_loss : h[i].train_loss) : (val ? h[i].val_metric : h[i].train_metric);
        if (isfinite(v))
            ns_buf_printf(b, "  <circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n", px(p, i), py(p, v), color);
    }
}

static void draw_panel(struct ns_buf *b, double ox, const char *title, const struct train_epoch *h, size_t n,
                       bool loss, bool percent)
{
    struct panel p = {.x = ox + 60, .y = 40, .w = 360, .h = 240, .epochs = n};
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double v[2] = {loss ? h[i].train_loss : h[i].train_metric, loss ? h[i].val_loss : h[i].val_metric};
        for (int k = 0; k < 2; k++)
            if (isfinite(v[k])) {
                lo = fmin(lo, v[k]);
                hi = fmax(hi, v[k]);
            }
    }
    if (!isfinite(lo)) {
        lo = 0;
        hi = 1;
    }
    if (hi - lo < 1e-9) {
        hi += 0.5 * (fabs(hi) > 0 ? fabs(hi) * 0.1 : 1);
        lo -= 0.5 * (fabs(lo) > 0 ? fabs(lo) * 0.1 : 1);
    }
    double step = nice_step(hi - lo, 5);
    p.lo = floor(lo / step) * step;
    p.hi = ceil(hi / step) * step;
    ns_buf_printf(b, "  <text x=\"%.1f\" y=\"24\" text-anchor=\"middle\" font-weight=\"bold\">", p.x + p.w / 2);
    ns_buf_puts(b, title);
    ns_buf_puts(b, "</text>\n");
    ns_buf_printf(b, "  <rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#444\"/>\n",
                  p.x, p.y, p.w, p.h);
    for (double t = p.lo; t <= p.hi + step * 1e-6; t += step) {
        double y = py(&p, t);
        ns_buf_printf(b, "  <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", p.x, y,
                      p.x + p.w, y);
        if (percent)
            ns_buf_printf(b, "  <text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.4g%%</text>\n", p.x - 6, y + 4,
                          t * 100);
        else
            ns_buf_printf(b, "  <text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.4g</text>\n", p.x - 6, y + 4, t);
    }
    size_t every = n > 10 ? (n + 9) / 10 : 1;
    for (size_t i = 0; i < n; i += every)
        ns_buf_printf(b, "  <text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%zu</text>\n", px(&p, i),
                      p.y + p.h + 16, i + 1);
    ns_buf_printf(b, "  <text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">epoch</text>\n", p.x + p.w / 2,
                  p.y + p.h + 34);
    series(b, &p, h, n, false, loss, "#1f77b4", "");
    series(b, &p, h, n, true, loss, "#d62728", " stroke-dasharray=\"6 4\"");
}

bool rundir_write_curves(struct ns_diag *diag, const char *dir, const char *title,
                         const struct train_epoch *history, size_t count, bool regression)
{
    struct ns_buf b = {0};
    ns_buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" height=\"360\" "
                    "viewBox=\"0 0 900 360\" font-family=\"sans-serif\" font-size=\"12\">\n"
                    "  <rect width=\"900\" height=\"360\" fill=\"white\"/>\n  <title>");
    /* The title is the run's name: escape what XML would read as markup. */
    for (const char *p = title ? title : ""; *p; p++) {
        if (*p == '<')
            ns_buf_puts(&b, "&lt;");
        else if (*p == '>')
            ns_buf_puts(&b, "&gt;");
        else if (*p == '&')
            ns_buf_puts(&b, "&amp;");
        else
            ns_buf_append(&b, p, 1);
    }
    ns_buf_puts(&b, "</title>\n");
    draw_panel(&b, 0, "loss", history, count, true, false);
    draw_panel(&b, 450, regression ? "RMSE" : "accuracy", history, count, false, !regression);
    ns_buf_puts(&b, "  <line x1=\"330\" y1=\"344\" x2=\"360\" y2=\"344\" stroke=\"#1f77b4\" stroke-width=\"2\"/>\n"
                    "  <text x=\"366\" y=\"348\">train</text>\n"
                    "  <line x1=\"430\" y1=\"344\" x2=\"460\" y2=\"344\" stroke=\"#d62728\" stroke-width=\"2\" "
                    "stroke-dasharray=\"6 4\"/>\n"
                    "  <text x=\"466\" y=\"348\">validation</text>\n</svg>\n");
    char *path = rundir_path(dir, "curves.svg");
    bool ok = rundir_write_text(diag, path, b.data);
    free(path);
    ns_buf_free(&b);
    return ok;
}
