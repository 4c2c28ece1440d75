/* libFuzzer harness: names from the user in the emitted C (`netspec emit`): the --prefix and
 * the spec name made into C identifiers, class names written as C string literals, the spec
 * name and run directory written into comments.
 *
 * Input: one flags byte, then PREFIX %% NAME %% SOURCE [%% NAME_I]... (FUZZ_SEP between the
 * parts; "c0", "c1" when fewer than two NAME_I are given). Flags bits 1-2: the model: a
 * classifier on 2x2x1 images (the NAME_I are its classes), a CSV classifier (the NAME_I are
 * its classes, its columns, and the categories of its first column) or a CSV regression (the
 * columns and categories as before, the last NAME_I its target); bit 0: with --main (images);
 * bit 3: missing CSV cells filled with means. One dense layer, zero weights.
 * Oracle:
 *   - emit_prefix_from_name always makes a valid prefix (emit_prefix_valid), and is the
 *     identity on one;
 *   - emit_classifier succeeds (the model is fine; only names vary);
 *   - the emitted files are printable ASCII lines;
 *   - the files, read as a strict C99 compiler reads them (trigraphs, line splices, comments,
 *     literals), have exactly the code of the same files emitted with plain names: no name
 *     ends a comment or a string early, and no comment holds "/ *" (-Wcomment under -Werror);
 *   - the class names' (or the target's) literals in the header read back byte for byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/ns_ctx.h"
#include "core/ns_util.h"
#include "data/data_csv.h"
#include "data/data_prep.h"
#include "emit/emit.h"
#include "emit/emit_nsk.h"
#include "graph/graph.h"
#include "ops/op.h"
#include "spec/spec.h"

#include "fuzz_util.h"

enum { FUZZ_MAX_CLASSES = FUZZ_MAX_PARTS - 3 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The models, built once per kind and size: harness state, kept for the process. */
enum model_kind { KIND_IMAGE, KIND_CSV, KIND_REGRESSION };
static const char *const model_specs[3] = {
    "version: 1\nname: n\ndata: {format: idx, train: {images: i.idx, labels: l.idx}}\n"
    "model: {layers: [flatten, {dense: {units: auto}}]}\nloss: cross_entropy\n",
    "version: 1\nname: n\ndata: {format: csv, train: t.csv, label_column: y}\n"
    "model: {layers: [{dense: {units: auto}}]}\nloss: cross_entropy\n",
    "version: 1\nname: n\ndata: {format: csv, train: t.csv, label_column: y}\n"
    "model: {layers: [{dense: {units: 1}}]}\nloss: mse\n",
};

struct fixture {
    int kind, inputs, classes;
    struct graph *g;
    float *params;
};
static struct ns_ctx fixture_ctx;
static struct fixture fixtures[64];
static size_t fixture_count;

static const struct fixture *model_fixture(int kind, int inputs, int classes)
{
    for (size_t i = 0; i < fixture_count; i++)
        if (fixtures[i].kind == kind && fixtures[i].inputs == inputs && fixtures[i].classes == classes)
            return &fixtures[i];
    if (fixture_count == 0)
        ns_ctx_init(&fixture_ctx);
    if (fixture_count == sizeof fixtures / sizeof *fixtures)
        fuzz_fail("more model fixtures than expected");
    struct fixture *f = &fixtures[fixture_count++];
    const char *text = model_specs[kind];
    struct spec_node *root = spec_tree_parse(&fixture_ctx, "emit.yaml", text, strlen(text));
    struct spec *spec = root ? spec_from_tree(&fixture_ctx, op_catalog(), "emit.yaml", root) : NULL;
    struct spec_shape input = kind == KIND_IMAGE ? (struct spec_shape){3, {2, 2, 1}} : (struct spec_shape){1, {inputs}};
    *f = (struct fixture){kind, inputs, classes, spec ? graph_build(&fixture_ctx, spec, input, classes) : NULL, NULL};
    if (!f->g) {
        ns_diag_print(&fixture_ctx.diag, stderr, false);
        fuzz_fail("the fixed model does not build");
    }
    f->params = calloc(f->g->param_floats, sizeof *f->params);
    return f;
}

/* The checker is the harness's own code: libFuzzer learns nothing from its comparisons, and
 * ASan's checks on its byte-by-byte reading of the emitted files guard nothing of netspec's;
 * without both a run is several times faster. */
#define FUZZ_UNTRACED __attribute__((no_sanitize("coverage", "address")))

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

/* Every name the emitter writes, from one list: class names, CSV column names and categories,
 * the regression target, the spec name and the run directory. */
struct names {
    const char *prefix, *name, *source;
    int count;
    char **list; /* writable: the CSV layout's name arrays are */
};

static void emit(const struct fixture *f, bool with_main, bool fill, const struct names *n, struct emit_files *out)
{
    /* CSV: column 0 holds categories named by the whole list, the others are numbers named by
     * the list's entries from 1 on. */
    struct data_csv_column columns[FUZZ_MAX_PARTS];
    float fill_values[2 * FUZZ_MAX_PARTS];
    static char label[] = "y";
    struct data_csv_layout layout = {.label = label, .regression = f->kind == KIND_REGRESSION,
                                     .label_names = f->kind == KIND_CSV, .class_count = f->classes,
                                     .class_names = n->list, .column_count = (size_t)n->count,
                                     .columns = columns, .input_size = (size_t)f->inputs,
                                     .missing = fill ? MISSING_FILL_MEAN : MISSING_ERROR,
                                     .fill = fill ? fill_values : NULL};
    for (int j = 0; j < n->count; j++) {
        columns[j] = (struct data_csv_column){.name = n->list[j],
                                              .category_count = j == 0 ? (size_t)n->count : 0,
                                              .categories = j == 0 ? n->list : NULL,
                                              .offset = j == 0 ? 0 : (size_t)(n->count + j - 1)};
    }
    for (int i = 0; i < f->inputs; i++)
        fill_values[i] = (float)i / 3.0f;
    struct data_prep_norm norm = {.scale = f->kind == KIND_IMAGE ? 1.0f / 255.0f : 1.0f};
    struct emit_model m = {.g = f->g, .params = f->params, .class_count = f->classes,
                           .class_names = f->kind == KIND_REGRESSION ? NULL : (const char *const *)n->list,
                           .target_name = f->kind == KIND_REGRESSION ? n->list[n->count - 1] : NULL,
                           .loss = f->kind == KIND_REGRESSION ? LOSS_MSE : LOSS_CROSS_ENTROPY, .norm = &norm,
                           .csv = f->kind == KIND_IMAGE ? NULL : &layout, .name = n->name, .source = n->source,
                           .version = "fuzz"};
    struct ns_diag diag = {0};
    if (!emit_classifier(&diag, &m, n->prefix, with_main, out)) {
        ns_diag_print(&diag, stderr, false);
        fuzz_fail("emit_classifier fails on a model that is fine");
    }
    ns_diag_free(&diag);
}

/* The source with netspec's kernels (emit_nsk_text, copied verbatim and the same in every
 * emission) cut down to one code token. Reading 40 kB of fixed text twice per run was most of
 * the harness's time, and the cut loses nothing: the token still shows a comment or literal
 * left open before it, and nothing after it can reopen one the kernels would have closed,
 * since the kernels themselves are plain C read in code state (the cross-check compiles them). */
FUZZ_UNTRACED static char *without_kernels(const char *file, const char *source)
{
    static size_t kernels; /* the claim above, checked once: c_read fails on what is left open */
    if (!kernels) {
        struct c_text kernels_alone;
        c_read("kernels/nsk.h", emit_nsk_text, &kernels_alone);
        c_text_free(&kernels_alone);
        kernels = strlen(emit_nsk_text);
    }
    /* Found by their first line, then compared whole: searching for 40 kB at once costs more
     * than all the rest (two-way matching preprocesses the whole needle on every call). */
    size_t length = strlen(source), first_line = strcspn(emit_nsk_text, "\n");
    const char *at = memmem(source, length, emit_nsk_text, first_line);
    if (!at)
        return ns_xstrdup(source);
    if ((size_t)(source + length - at) < kernels || memcmp(at, emit_nsk_text, kernels) != 0)
        fuzz_fail("%s: the kernels are not copied verbatim", file);
    if (memmem(at + kernels, length - (size_t)(at + kernels - source), emit_nsk_text, first_line))
        fuzz_fail("%s: the kernels are copied twice", file);
    size_t head = (size_t)(at - source);
    struct ns_buf out = {0};
    ns_buf_append(&out, source, head);
    ns_buf_puts(&out, "NSK_KERNELS_TEXT\n");
    ns_buf_append(&out, at + kernels, length - head - kernels);
    return out.data;
}

/* `wanted`: which names must appear as string literals (the class names, or the target). */
FUZZ_UNTRACED static void compare_file(const char *file, const char *fuzzed, const char *plain, const struct names *n,
                         const bool *wanted)
{
    check_ascii(file, fuzzed);
    char *fuzzed_cut = without_kernels(file, fuzzed), *plain_cut = without_kernels(file, plain);
    struct c_text a, b;
    c_read(file, fuzzed_cut, &a);
    c_read(file, plain_cut, &b);
    free(fuzzed_cut);
    free(plain_cut);
    if (strcmp(a.code.data, b.code.data) != 0 || a.literal_count != b.literal_count)
        fuzz_fail("%s: the names changed the code, not only comments and literals", file);
    /* The plain names are "c0", "c1", ...: their literals mark where the fuzzed names went. */
    bool seen[FUZZ_MAX_PARTS] = {false};
    for (size_t i = 0; i < b.literal_count; i++) {
        int k = -1;
        for (int j = 0; j < n->count && k < 0; j++) {
            char plain_name[16];
            snprintf(plain_name, sizeof plain_name, "c%d", j);
            if (!strcmp(b.literals[i], plain_name))
                k = j;
        }
        if (k < 0)
            continue;
        struct ns_buf bytes = {0};
        if (!c_unescape(a.literals[i], &bytes))
            fuzz_fail("%s: name %d is written with an escape C does not have: \"%s\"", file, k, a.literals[i]);
        ns_buf_puts(&bytes, "");
        if (strcmp(bytes.data, n->list[k]) != 0)
            fuzz_fail("%s: name %d reads back as \"%s\"", file, k, bytes.data);
        ns_buf_free(&bytes);
        seen[k] = true;
    }
    for (int k = 0; wanted && k < n->count; k++)
        if (wanted[k] && !seen[k])
            fuzz_fail("%s: name %d is not among the string literals", file, k);
    c_text_free(&a);
    c_text_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int kind = (data[0] >> 1) & 3;
    if (kind > KIND_REGRESSION)
        kind = KIND_IMAGE;
    bool with_main = (data[0] & 1) && kind == KIND_IMAGE, fill = data[0] & 8;
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

    int count = parts.count > 4 ? (int)parts.count - 3 : 2;
    char *list[FUZZ_MAX_CLASSES], *plain_list[FUZZ_MAX_CLASSES];
    char plain_text[FUZZ_MAX_CLASSES][4];
    for (int c = 0; c < count; c++) {
        snprintf(plain_text[c], sizeof plain_text[c], "c%d", c);
        plain_list[c] = plain_text[c];
        list[c] = parts.count > 4 ? text[3 + c] : plain_text[c];
    }
    struct names fuzzed_names = {emit_prefix_valid(text[0]) ? text[0] : derived, text[1], text[2], count, list};
    struct names plain_names = {fuzzed_names.prefix, "n", "runs/n", count, plain_list};
    bool wanted[FUZZ_MAX_CLASSES];
    for (int c = 0; c < count; c++)
        wanted[c] = kind == KIND_REGRESSION ? c == count - 1 : true;
    const struct fixture *f = model_fixture(kind, kind == KIND_IMAGE ? 4 : 2 * count - 1,
                                            kind == KIND_REGRESSION ? 0 : count);
    struct emit_files fuzzed, plain;
    emit(f, with_main, fill, &fuzzed_names, &fuzzed);
    emit(f, with_main, fill, &plain_names, &plain);
    compare_file("header", fuzzed.header, plain.header, &fuzzed_names, wanted);
    compare_file("source", fuzzed.source, plain.source, &fuzzed_names, NULL);
    if (with_main)
        compare_file("main", fuzzed.main_source, plain.main_source, &fuzzed_names, NULL);
    emit_files_free(&fuzzed);
    emit_files_free(&plain);
    for (size_t i = 0; i < FUZZ_MAX_PARTS; i++)
        free(text[i]);
    return 0;
}
