#include "run/run_dir.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/ns_sha256.h"
#include "core/ns_util.h"
#include "core/ns_file.h"
#include "spec/spec_tree.h"

bool run_dir_make(struct ns_diag *diag, const char *dir)
{
    if (!*dir) {
        ns_diag_add(diag, NS_ERR_SPEC, (struct ns_loc){"netspec", 0, 0, 0}, "name a directory, e.g. -o runs/x",
                    "the output directory is an empty string");
        return false;
    }
    char *p = ns_xstrdup(dir);
    size_t len = strlen(p);
    for (size_t i = 1; i <= len; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char keep = p[i];
        p[i] = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            ns_diag_add(diag, NS_ERR_OUTPUT, (struct ns_loc){dir, 0, 0, 0}, NULL,
                        "cannot create the directory %s: %s", p, strerror(errno));
            free(p);
            return false;
        }
        p[i] = keep;
    }
    free(p);
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        ns_diag_add(diag, NS_ERR_OUTPUT, (struct ns_loc){dir, 0, 0, 0}, "choose another directory",
                    "%s exists and is not a directory", dir);
        return false;
    }
    return true;
}




void run_dir_now_iso(char out[32])
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

void run_dir_json_put_string(struct ns_buf *out, const char *s)
{
    ns_buf_put_json_string(out, s);
}

void run_dir_json_put_number(struct ns_buf *out, double v)
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

bool run_dir_hash_files(struct ns_diag *diag, const struct trainset_files *list, struct run_dir_file **out,
                       size_t *count)
{
    struct run_dir_file *files = ns_xcalloc(list->count ? list->count : 1, sizeof *files);
    bool ok = true;
    for (size_t i = 0; i < list->count; i++) {
        files[i].path = ns_xstrdup(list->paths[i]);
        uint64_t size = 0;
        uint8_t digest[32];
        int err = ns_file_check_input(list->paths[i], &size);
        if (err || !ns_sha256_file(list->paths[i], digest, &err)) {
            char *shown = ns_path_printable(list->paths[i]);
            ns_diag_add(diag, NS_ERR_DATA, (struct ns_loc){list->paths[i], 0, 0, 0}, NULL,
                        "cannot read the data file %s: %s", shown, ns_file_strerror(err ? err : EIO));
            free(shown);
            ok = false;
            continue;
        }
        files[i].bytes = size;
        ns_sha256_hex(digest, files[i].sha256);
    }
    *out = files;
    *count = list->count;
    return ok;
}

void run_dir_files_free(struct run_dir_file *files, size_t count)
{
    for (size_t i = 0; files && i < count; i++)
        free(files[i].path);
    free(files);
}

bool run_dir_compare_files(const struct run_dir_file *recorded, size_t recorded_count,
                          const struct run_dir_file *now, size_t now_count, struct ns_buf *why)
{
    bool same = true;
    for (size_t i = 0; i < now_count; i++) {
        const struct run_dir_file *r = NULL;
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

bool run_dir_write_manifest(struct ns_diag *diag, const char *dir, const struct run_dir_manifest *m)
{
    struct ns_buf b = {0};
    ns_buf_puts(&b, "{\n  \"netspec_version\": ");
    run_dir_json_put_string(&b, m->version);
    ns_buf_puts(&b, ",\n  \"name\": ");
    run_dir_json_put_string(&b, m->name);
    ns_buf_puts(&b, ",\n  \"spec\": {\"path\": ");
    run_dir_json_put_string(&b, m->spec_path);
    ns_buf_printf(&b, ", \"sha256\": \"%s\", \"resolved_sha256\": \"%s\"},\n", m->spec_sha256,
                  m->resolved_sha256);
    ns_buf_printf(&b, "  \"seed\": %lld,\n  \"overrides\": [", m->seed);
    for (size_t i = 0; i < m->override_count; i++) {
        ns_buf_puts(&b, i ? ", " : "");
        run_dir_json_put_string(&b, m->overrides[i]);
    }
    ns_buf_printf(&b, "],\n  \"threads\": %d,\n  \"parameters\": %zu,\n", m->threads, m->parameters);
    ns_buf_printf(&b, "  \"samples\": {\"train\": %zu, \"validation\": %zu, \"test\": %zu},\n  \"data\": [",
                  m->train_count, m->validation_count, m->test_count);
    for (size_t i = 0; i < m->file_count; i++) {
        ns_buf_puts(&b, i ? ",\n    {\"path\": " : "\n    {\"path\": ");
        run_dir_json_put_string(&b, m->files[i].path);
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
    run_dir_json_put_string(&b, m->status);
    if (m->resumed)
        ns_buf_printf(&b, ",\n  \"resumed_at\": {\"epoch\": %d, \"batch\": %d}", m->resumed_epoch,
                      m->resumed_batch);
    ns_buf_puts(&b, ",\n  \"command_line\": [");
    for (int i = 0; i < m->argc; i++) {
        ns_buf_puts(&b, i ? ", " : "");
        run_dir_json_put_string(&b, m->argv[i]);
    }
    ns_buf_puts(&b, "]\n}\n");
    char *path = ns_path_join(dir, "manifest.json");
    bool ok = ns_file_replace_text(diag, path, b.data);
    free(path);
    ns_buf_free(&b);
    return ok;
}

/* JSON is YAML: libyaml (through spec_tree) reads what run_dir_write_manifest writes, and any
 * reformatting of it a person might do, with no parser of our own. */
bool run_dir_read_manifest_files(struct ns_ctx *ctx, const char *dir, struct run_dir_file **out, size_t *count)
{
    char *path = ns_path_join(dir, "manifest.json");
    struct ns_loc loc = {path, 0, 0, 0};
    *out = NULL;
    *count = 0;
    size_t errors_before = ctx->diag.count;
    const struct spec_node *root = spec_tree_load_file(ctx, path);
    const struct spec_node *data = spec_tree_get(root, "data");
    bool ok = data && data->kind == SPEC_SEQ;
    struct run_dir_file *files = ns_xcalloc(ok && data->count ? data->count : 1, sizeof *files);
    size_t n = 0;
    for (size_t i = 0; ok && i < data->count; i++) {
        const struct spec_node *p = spec_tree_get(data->items[i], "path");
        const struct spec_node *b = spec_tree_get(data->items[i], "bytes");
        const struct spec_node *h = spec_tree_get(data->items[i], "sha256");
        char *end = NULL;
        unsigned long long bytes = b && b->kind == SPEC_SCALAR ? strtoull(b->text, &end, 10) : 0;
        if (!p || p->kind != SPEC_SCALAR || !end || *end || !h || h->kind != SPEC_SCALAR || h->text_len != 64) {
            ok = false;
            break;
        }
        files[n].path = ns_xstrdup(p->text);
        files[n].bytes = bytes;
        memcpy(files[n].sha256, h->text, 65);
        n++;
    }
    if (!ok) {
        if (ctx->diag.count == errors_before)
            ns_diag_add(&ctx->diag, NS_ERR_DATA, loc, NULL,
                        "%s is damaged: its \"data\" list of files with path, bytes and sha256 is unreadable",
                        path);
        run_dir_files_free(files, n);
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

bool run_dir_metrics_begin(struct ns_diag *diag, const char *dir, bool regression, size_t keep_rows)
{
    char *path = ns_path_join(dir, "metrics.csv");
    const char *metric = regression ? "rmse" : "accuracy";
    struct ns_buf b = {0};
    ns_buf_printf(&b, "epoch,train_loss,train_%s,val_loss,val_%s,lr,seconds,images_per_s\n", metric, metric);
    char *old = keep_rows ? ns_file_read_input(path, 0, NULL, NULL) : NULL;
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
    bool ok = ns_file_replace_text(diag, path, b.data);
    ns_buf_free(&b);
    free(path);
    return ok;
}

bool run_dir_metrics_append(struct ns_diag *diag, const char *dir, int epoch, const struct train_epoch *e,
                           double seconds, double images_per_s)
{
    char *path = ns_path_join(dir, "metrics.csv");
    char *old = ns_file_read_input(path, 0, NULL, NULL);
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
    bool ok = ns_file_replace_text(diag, path, b.data);
    ns_buf_free(&b);
    free(path);
    return ok;
}

