/* libFuzzer harness: names from the user in the emitted C (`netspec emit`): the --prefix and
 * the spec name made into C identifiers, class names written as C string literals, the spec
 * name and run directory written into comments.
 *
 * Input: one flags byte, then PREFIX %% NAME %% SOURCE [%% CLASS]... (FUZZ_SEP between the
 * parts; two classes "c0", "c1" when fewer than two are given). Flags bit 0: with --main.
 * The model is a fixed flatten + dense classifier on 2x2x1 images, zero weights.
 * Oracle:
 *   - emit_prefix_from_name always makes a valid prefix (emit_prefix_valid), and is the
 *     identity on one;
 *   - emit_classifier succeeds (the model is fine; only names vary);
 *   - the emitted files are printable ASCII lines;
 *   - the files, read as a strict C99 compiler reads them (trigraphs, line splices, comments,
 *     literals), have exactly the code of the same files emitted with plain names: no name
 *     ends a comment or a string early, and no comment holds "/ *" (-Wcomment under -Werror);
 *   - the class names' literals in the header read back as the class names, byte for byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/ns_ctx.h"
#include "core/ns_util.h"
#include "data/data_prep.h"
#include "emit/emit.h"
#include "graph/graph.h"
#include "ops/op.h"
#include "spec/spec.h"

#include "fuzz_util.h"

enum { FUZZ_MAX_CLASSES = FUZZ_MAX_PARTS - 3 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char model_spec[] =
    "version: 1\n"
    "name: n\n"
    "data: {format: idx, train: {images: i.idx, labels: l.idx}}\n"
    "model: {input: [2, 2, 1], layers: [flatten, {dense: {units: auto}}]}\n"
    "loss: cross_entropy\n";

/* The model, built once per class count: harness state, kept for the process. */
struct fixture {
    struct ns_ctx ctx;
    struct graph *g[FUZZ_MAX_CLASSES + 1];
    float *params;
    struct data_prep_norm norm;
};
static struct fixture fixture;

static const struct graph *model_graph(int classes)
{
    struct fixture *f = &fixture;
    if (!f->params) {
        ns_ctx_init(&f->ctx);
        f->params = calloc(4 * FUZZ_MAX_CLASSES + FUZZ_MAX_CLASSES, sizeof *f->params);
        f->norm.scale = 1.0f / 255.0f;
    }
    if (!f->g[classes]) {
        struct spec_node *root = spec_tree_parse(&f->ctx, "emit.yaml", model_spec, sizeof model_spec - 1);
        struct spec *spec = root ? spec_from_tree(&f->ctx, op_catalog(), "emit.yaml", root) : NULL;
        struct spec_shape input = {3, {2, 2, 1}};
        f->g[classes] = spec ? graph_build(&f->ctx, spec, input, classes) : NULL;
        if (!f->g[classes]) {
            ns_diag_print(&f->ctx.diag, stderr, false);
            fuzz_fail("the fixed model does not build");
        }
    }
    return f->g[classes];
}

/* The checker is the harness's own code: libFuzzer learns nothing from its comparisons, and
 * without coverage on it a run is several times faster. */
#define FUZZ_UNTRACED __attribute__((no_sanitize("coverage")))

/* Translation phases 1 and 2 of a strict C compiler: trigraphs, then backslash-newline. */
FUZZ_UNTRACED static char *c_phases(const char *s)
{
    static const char trigraph_from[] = "=(/)'<!>-", trigraph_to[] = "#[\\]^{|}~";
    size_t n = strlen(s);
    char *once = malloc(n + 1), *out = malloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *t = s[i] == '?' && s[i + 1] == '?' && s[i + 2] ? strchr(trigraph_from, s[i + 2]) : NULL;
        if (t) {
            once[k++] = trigraph_to[t - trigraph_from];
            i += 2;
        } else {
            once[k++] = s[i];
        }
    }
    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
        if (once[i] == '\\' && i + 1 < k && once[i + 1] == '\n')
            i++;
        else
            out[m++] = once[i];
    }
    out[m] = '\0';
    free(once);
    return out;
}

struct c_text {
    struct ns_buf code;    /* comments as one space, literals as "" or '' */
    char **literals;       /* the string literals' text between the quotes, as written */
    size_t literal_count;
};

static void c_text_free(struct c_text *t)
{
    ns_buf_free(&t->code);
    for (size_t i = 0; i < t->literal_count; i++)
        free(t->literals[i]);
    free(t->literals);
}

/* Splits C source into code, comments and literals; fails on what a compiler rejects. */
FUZZ_UNTRACED static void c_read(const char *file, const char *source, struct c_text *out)
{
    memset(out, 0, sizeof *out);
    char *s = c_phases(source);
    const char *code = s; /* the start of the code not yet copied */
    const char *p = s;
    while (*p) {
        while (*p && *p != '/' && *p != '"' && *p != '\'')
            p++; /* by hand: the sanitizers' string functions measure the whole rest each call */
        if (!*p)
            break;
        if (p[0] == '/' && p[1] == '*') {
            ns_buf_append(&out->code, code, (size_t)(p - code));
            const char *end = p + 2;
            while (*end && !(end[0] == '*' && end[1] == '/')) {
                if (end[0] == '/' && end[1] == '*')
                    fuzz_fail("%s: \"/*\" inside a comment (-Wcomment): %.60s", file, end);
                end++;
            }
            if (!*end)
                fuzz_fail("%s: a comment is not closed", file);
            ns_buf_puts(&out->code, " ");
            code = p = end + 2;
        } else if (p[0] == '/' && p[1] == '/') {
            ns_buf_append(&out->code, code, (size_t)(p - code));
            while (*p && *p != '\n')
                p++;
            ns_buf_puts(&out->code, " ");
            code = p;
        } else if (*p == '"' || *p == '\'') {
            ns_buf_append(&out->code, code, (size_t)(p - code));
            char quote = *p;
            const char *q = p + 1;
            while (*q && *q != quote && *q != '\n')
                q += q[0] == '\\' && q[1] ? 2 : 1;
            if (*q != quote)
                fuzz_fail("%s: a literal is not closed: %.60s", file, p);
            if (quote == '"') {
                out->literals = realloc(out->literals, (out->literal_count + 1) * sizeof *out->literals);
                out->literals[out->literal_count++] = ns_xstrndup(p + 1, (size_t)(q - p - 1));
            }
            ns_buf_append(&out->code, quote == '"' ? "\"\"" : "''", 2);
            code = p = q + 1;
        } else {
            p++;
        }
    }
    ns_buf_puts(&out->code, code);
    free(s);
}

/* A string literal's bytes; false on an escape C does not have. */
FUZZ_UNTRACED static bool c_unescape(const char *s, struct ns_buf *out)
{
    static const char simple_from[] = "\\\"'?abfnrtv", simple_to[] = "\\\"'?\a\b\f\n\r\t\v";
    for (const char *p = s; *p; p++) {
        if (*p != '\\') {
            ns_buf_append(out, p, 1);
            continue;
        }
        p++;
        const char *simple = *p ? strchr(simple_from, *p) : NULL;
        if (simple) {
            ns_buf_append(out, &simple_to[simple - simple_from], 1);
        } else if (*p >= '0' && *p <= '7') {
            unsigned v = 0;
            for (int i = 0; i < 3 && *p >= '0' && *p <= '7'; i++, p++)
                v = v * 8 + (unsigned)(*p - '0');
            p--;
            if (v > 0xff)
                return false;
            char c = (char)v;
            ns_buf_append(out, &c, 1);
        } else {
            return false; /* \x runs on over hex digits: the emitter does not write it */
        }
    }
    return true;
}

FUZZ_UNTRACED static void check_ascii(const char *file, const char *text)
{
    for (const char *p = text; *p; p++)
        if ((*p < 0x20 || *p > 0x7e) && *p != '\n')
            fuzz_fail("%s: byte 0x%02x at offset %zu is not printable ASCII", file, (unsigned)(unsigned char)*p,
                      (size_t)(p - text));
}

static void emit(const struct graph *g, const char *prefix, const char *name, const char *source,
                 int classes, const char *const *class_names, bool with_main, struct emit_files *out)
{
    struct emit_model m = {.g = g, .params = fixture.params, .class_count = classes, .class_names = class_names,
                           .loss = LOSS_CROSS_ENTROPY, .norm = &fixture.norm, .name = name, .source = source,
                           .version = "fuzz"};
    struct ns_diag diag = {0};
    if (!emit_classifier(&diag, &m, prefix, with_main, out)) {
        ns_diag_print(&diag, stderr, false);
        fuzz_fail("emit_classifier fails on a model that is fine");
    }
    ns_diag_free(&diag);
}

static void compare_file(const char *file, const char *fuzzed, const char *plain, int classes,
                         const char *const *class_names)
{
    check_ascii(file, fuzzed);
    struct c_text a, b;
    c_read(file, fuzzed, &a);
    c_read(file, plain, &b);
    if (strcmp(a.code.data, b.code.data) != 0 || a.literal_count != b.literal_count)
        fuzz_fail("%s: the names changed the code, not only comments and literals", file);
    /* The plain names are "c0", "c1", ...: their literals mark where the class names went. */
    int seen = 0;
    for (size_t i = 0; i < b.literal_count; i++) {
        char plain_name[16];
        snprintf(plain_name, sizeof plain_name, "c%d", seen);
        if (strcmp(b.literals[i], plain_name) != 0)
            continue;
        struct ns_buf bytes = {0};
        if (!c_unescape(a.literals[i], &bytes))
            fuzz_fail("%s: class name %d is written with an escape C does not have: \"%s\"", file, seen,
                      a.literals[i]);
        ns_buf_puts(&bytes, "");
        if (seen >= classes || strcmp(bytes.data, class_names[seen]) != 0)
            fuzz_fail("%s: class name %d reads back as \"%s\"", file, seen, bytes.data);
        ns_buf_free(&bytes);
        seen++;
    }
    if (!strcmp(file, "header") && seen != classes)
        fuzz_fail("%s: %d of %d class names found", file, seen, classes);
    c_text_free(&a);
    c_text_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool with_main = data[0] & 1;
    struct fuzz_parts parts;
    fuzz_split(data + 1, size - 1, &parts);
    char *text[FUZZ_MAX_PARTS];
    for (size_t i = 0; i < FUZZ_MAX_PARTS; i++)
        text[i] = i < parts.count ? fuzz_strndup(parts.data[i], parts.size[i]) : strdup("");

    char derived[EMIT_PREFIX_MAX], again[EMIT_PREFIX_MAX];
    emit_prefix_from_name(text[0], derived);
    if (!emit_prefix_valid(derived))
        fuzz_fail("emit_prefix_from_name makes \"%s\", not a valid prefix", derived);
    emit_prefix_from_name(derived, again);
    if (strcmp(derived, again) != 0)
        fuzz_fail("emit_prefix_from_name(\"%s\") is \"%s\": not the identity on a prefix", derived, again);
    const char *prefix = emit_prefix_valid(text[0]) ? text[0] : derived;

    int classes = parts.count > 4 ? (int)parts.count - 3 : 2;
    const char *names[FUZZ_MAX_CLASSES], *plain_names[FUZZ_MAX_CLASSES];
    char plain_text[FUZZ_MAX_CLASSES][4];
    for (int c = 0; c < classes; c++) {
        snprintf(plain_text[c], sizeof plain_text[c], "c%d", c);
        plain_names[c] = plain_text[c];
        names[c] = parts.count > 4 ? text[3 + c] : plain_text[c];
    }
    const struct graph *g = model_graph(classes);
    struct emit_files fuzzed, plain;
    emit(g, prefix, text[1], text[2], classes, names, with_main, &fuzzed);
    emit(g, prefix, "n", "runs/n", classes, plain_names, with_main, &plain);
    compare_file("header", fuzzed.header, plain.header, classes, names);
    compare_file("source", fuzzed.source, plain.source, classes, names);
    if (with_main)
        compare_file("main", fuzzed.main_source, plain.main_source, classes, names);
    emit_files_free(&fuzzed);
    emit_files_free(&plain);
    for (size_t i = 0; i < FUZZ_MAX_PARTS; i++)
        free(text[i]);
    return 0;
}
