#include "core/ns_error.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/ns_util.h"

static size_t diag_limit(const struct ns_diag *diag)
{
    return diag->limit ? diag->limit : 100;
}

void ns_diag_vadd(struct ns_diag *diag, enum ns_code code, struct ns_loc loc, const char *hint,
                  const char *fmt, va_list ap)
{
    if (diag->count >= diag_limit(diag))
        return;
    if (diag->count == diag->cap) {
        diag->cap = diag->cap ? diag->cap * 2 : 8;
        diag->items = ns_xrealloc(diag->items, diag->cap * sizeof *diag->items);
    }
    struct ns_error *err = &diag->items[diag->count++];
    err->code = code;
    err->file = loc.file ? ns_xstrdup(loc.file) : NULL;
    err->line = loc.line;
    err->col = loc.col;
    err->span = loc.span > 0 ? loc.span : 1;
    err->message = ns_vasprintf(fmt, ap);
    err->hint = hint ? ns_xstrdup(hint) : NULL;
}

void ns_diag_add(struct ns_diag *diag, enum ns_code code, struct ns_loc loc, const char *hint,
                 const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ns_diag_vadd(diag, code, loc, hint, fmt, ap);
    va_end(ap);
}

void ns_diag_hint(struct ns_diag *diag, const char *fmt, ...)
{
    if (diag->count == 0)
        return;
    struct ns_error *err = &diag->items[diag->count - 1];
    va_list ap;
    va_start(ap, fmt);
    char *line = ns_vasprintf(fmt, ap);
    va_end(ap);
    if (err->hint) {
        char *joined = ns_asprintf("%s\n%s", err->hint, line);
        free(err->hint);
        free(line);
        err->hint = joined;
    } else {
        err->hint = line;
    }
}

bool ns_diag_has_errors(const struct ns_diag *diag)
{
    return diag->count > 0;
}

enum ns_code ns_diag_code(const struct ns_diag *diag)
{
    enum ns_code worst = NS_OK;
    for (size_t i = 0; i < diag->count; i++) {
        enum ns_code c = diag->items[i].code;
        if (c == NS_ERR_INTERNAL)
            return c;
        if (c == NS_ERR_SPEC || worst == NS_OK)
            worst = c;
    }
    return worst;
}

void ns_diag_clear(struct ns_diag *diag)
{
    for (size_t i = 0; i < diag->count; i++) {
        free(diag->items[i].file);
        free(diag->items[i].message);
        free(diag->items[i].hint);
    }
    diag->count = 0;
}

void ns_diag_free(struct ns_diag *diag)
{
    ns_diag_clear(diag);
    free(diag->items);
    diag->items = NULL;
    diag->cap = 0;
}

char *ns_error_first_line(const struct ns_error *err)
{
    if (err->file && err->line > 0)
        return ns_asprintf("%s:%d:%d: error: %s", err->file, err->line, err->col > 0 ? err->col : 1,
                           err->message);
    if (err->file)
        return ns_asprintf("%s: error: %s", err->file, err->message);
    return ns_asprintf("error: %s", err->message);
}

/* Reads line `line` of `path`; NULL when the file or line is not there (e.g. "--set" sources).
 * Reads at most 512 bytes of it so a 100 MB line does not get echoed. Through zlib, which
 * reads plain files as they are, so an error in a .csv.gz shows its line too. */
static char *read_source_line(const char *path, int line, size_t *full_len)
{
    gzFile f = gzopen(path, "rb");
    if (!f)
        return NULL;
    int c, cur = 1;
    while (cur < line && (c = gzgetc(f)) != -1)
        if (c == '\n')
            cur++;
    if (cur != line) {
        gzclose(f);
        return NULL;
    }
    char buf[513];
    size_t n = 0, total = 0;
    while ((c = gzgetc(f)) != -1 && c != '\n') {
        if (n < sizeof buf - 1 && c != '\r')
            buf[n++] = (char)c;
        total++;
    }
    gzclose(f);
    buf[n] = '\0';
    *full_len = total;
    return ns_xstrdup(buf);
}

void ns_diag_print(const struct ns_diag *diag, FILE *out, bool color)
{
    const char *red = color ? "\033[1;31m" : "", *green = color ? "\033[1;32m" : "",
               *bold = color ? "\033[1m" : "", *cyan = color ? "\033[36m" : "",
               *reset = color ? "\033[0m" : "";
    for (size_t i = 0; i < diag->count; i++) {
        const struct ns_error *err = &diag->items[i];
        if (err->file && err->line > 0)
            fprintf(out, "%s%s:%d:%d:%s ", bold, err->file, err->line, err->col > 0 ? err->col : 1,
                    reset);
        else if (err->file)
            fprintf(out, "%s%s:%s ", bold, err->file, reset);
        fprintf(out, "%serror:%s %s%s%s\n", red, reset, bold, err->message, reset);
        size_t full_len = 0;
        char *src = err->file && err->line > 0 ? read_source_line(err->file, err->line, &full_len)
                                               : NULL;
        if (src) {
            fprintf(out, " %5d | %s%s\n", err->line, src, full_len > strlen(src) ? " ..." : "");
            fprintf(out, "       | ");
            /* Keep tabs so the caret lines up under tab-indented source. */
            int col = err->col > 0 ? err->col : 1;
            for (int k = 1; k < col && src[k - 1]; k++)
                fputc(src[k - 1] == '\t' ? '\t' : ' ', out);
            fprintf(out, "%s^", green);
            for (int k = 1; k < err->span && k < 200; k++)
                fputc('~', out);
            fprintf(out, "%s\n", reset);
            free(src);
        }
        if (err->hint) {
            const char *h = err->hint;
            while (*h) {
                const char *nl = strchr(h, '\n');
                size_t len = nl ? (size_t)(nl - h) : strlen(h);
                fprintf(out, "  %s%.*s%s\n", cyan, (int)len, h, reset);
                h += len + (nl ? 1 : 0);
            }
        }
    }
}
