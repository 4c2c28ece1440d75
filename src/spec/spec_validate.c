/* Validation: walks the YAML tree against the schema table and fills the typed spec.
 * Every problem is reported (not only the first), each at the node it concerns. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ns_util.h"
#include "spec/spec.h"
#include "spec/spec_resolve.h"
#include "spec/spec_schema.h"
#include "spec/spec_size.h"

struct validator {
    struct ns_ctx *ctx;
    struct ns_diag *diag;
    const struct spec_layer_catalog *catalog;
    /* Where "missing required key" points when the mapping itself was not written (a layer
     * written `- dense:` or set with --set 'model.layers[1]=dense'): its type's place. */
    const struct spec_node *missing_at;
};

struct ns_loc spec_node_loc(const struct spec_node *node)
{
    if (!node)
        return (struct ns_loc){0};
    int span = node->kind == SPEC_SCALAR && node->text_len > 0 ? (int)node->text_len : 1;
    if (node->kind == SPEC_SCALAR && !node->plain)
        span += 2; /* the quotes */
    return (struct ns_loc){node->file, node->line, node->col, span};
}

struct ns_loc spec_field_loc(const struct spec *spec, const struct spec_node *section, const char *key)
{
    if (section) {
        long i = spec_tree_find(section, key);
        if (i >= 0)
            return spec_node_loc(section->items[i]);
        return spec_node_loc(section);
    }
    return (struct ns_loc){spec ? spec->path : NULL, 0, 0, 0};
}

static void error_at(struct validator *v, const struct spec_node *node, const char *hint,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void error_at(struct validator *v, const struct spec_node *node, const char *hint,
                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ns_diag_vadd(v->diag, NS_ERR_SPEC, spec_node_loc(node), hint, fmt, ap);
    va_end(ap);
}

/* ---- scalars ---- */

static const char *describe(const struct spec_node *node)
{
    /* What the user wrote, for "got ..." in messages. */
    static const char *const kinds[] = {"a scalar", "a list", "a mapping"};
    if (!node)
        return "nothing";
    if (node->kind != SPEC_SCALAR)
        return kinds[node->kind];
    return NULL;
}

static void type_error(struct validator *v, const struct spec_node *node, const char *key,
                       const char *expected, const char *hint)
{
    const char *what = describe(node);
    if (what)
        error_at(v, node, hint, "\"%s\" must be %s, got %s", key, expected, what);
    else if (spec_tree_is_null(node))
        error_at(v, node, hint, "\"%s\" must be %s, got nothing (null)", key, expected);
    else
        error_at(v, node, hint, "\"%s\" must be %s, got \"%.60s\"", key, expected, node->text);
}

static bool scalar_int(const struct spec_node *node, long long *out)
{
    if (!node || node->kind != SPEC_SCALAR || !node->plain || !node->text_len)
        return false;
    const char *t = node->text;
    char *end;
    errno = 0;
    long long value = strtoll(t, &end, 10);
    if (errno || *end || !(isdigit((unsigned char)t[0]) || ((t[0] == '-' || t[0] == '+') && isdigit((unsigned char)t[1]))))
        return false;
    *out = value;
    return true;
}

static bool scalar_float(const struct spec_node *node, double *out)
{
    if (!node || node->kind != SPEC_SCALAR || !node->plain || !node->text_len)
        return false;
    const char *t = node->text;
    /* strtod takes "inf", "nan" and hex floats; a spec means none of them. */
    for (const char *p = t; *p; p++)
        if (!strchr("0123456789+-.eE", *p))
            return false;
    char *end;
    errno = 0;
    double value = strtod(t, &end);
    if (*end || end == t || !isfinite(value))
        return false;
    *out = value;
    return true;
}

static void range_text(const struct schema_field *f, char *out, size_t size)
{
    char lo[32], hi[32];
    snprintf(lo, sizeof lo, "%.15g", f->min);
    snprintf(hi, sizeof hi, "%.15g", f->max);
    if (f->min_exclusive)
        snprintf(out, size, "greater than %s and at most %s", lo, hi);
    else
        snprintf(out, size, "between %s and %s", lo, hi);
}

static bool has_range(const struct schema_field *f)
{
    return f->min <= f->max;
}

static bool check_range(struct validator *v, const struct schema_field *f,
                        const struct spec_node *node, double value)
{
    if (!has_range(f))
        return true;
    bool low = f->min_exclusive ? value <= f->min : value < f->min;
    if (!low && value <= f->max)
        return true;
    char range[96];
    range_text(f, range, sizeof range);
    error_at(v, node, NULL, "\"%s\" must be %s, got %s", f->key, range, node->text);
    return false;
}

static bool parse_int_field(struct validator *v, const struct schema_field *f,
                            const struct spec_node *node, int *out)
{
    if (f->auto_ok && node && node->kind == SPEC_SCALAR && strcmp(node->text, "auto") == 0) {
        *out = SPEC_AUTO;
        return true;
    }
    long long value;
    if (!scalar_int(node, &value)) {
        double d;
        const char *hint = scalar_float(node, &d) ? "write a whole number" : NULL;
        type_error(v, node, f->key, schema_type_name(f), hint);
        return false;
    }
    if (!check_range(v, f, node, (double)value))
        return false;
    if (value < INT_MIN || value > INT_MAX) {
        error_at(v, node, NULL, "\"%s\" is out of range", f->key);
        return false;
    }
    *out = (int)value;
    return true;
}

static char *join_path(const char *dir, const char *path)
{
    struct ns_buf buf = {0};
    if (path[0] != '/') {
        if (!dir || dir[0] != '/') {
            char cwd[4096];
            if (getcwd(cwd, sizeof cwd))
                ns_buf_puts(&buf, cwd);
            if (dir && *dir)
                ns_buf_printf(&buf, "/%s", dir);
        } else {
            ns_buf_puts(&buf, dir);
        }
        ns_buf_puts(&buf, "/");
    }
    ns_buf_puts(&buf, path);
    /* Fold "." and ".." lexically so manifests and resolve show one clean path. */
    char *src = buf.data;
    char **parts = ns_xcalloc(strlen(src) + 1, sizeof *parts);
    size_t count = 0;
    for (char *tok = strtok(src, "/"); tok; tok = strtok(NULL, "/")) {
        if (!strcmp(tok, "."))
            continue;
        if (!strcmp(tok, "..")) {
            if (count)
                count--;
            continue;
        }
        parts[count++] = tok;
    }
    struct ns_buf out = {0};
    for (size_t i = 0; i < count; i++)
        ns_buf_printf(&out, "/%s", parts[i]);
    if (!out.len)
        ns_buf_puts(&out, "/");
    free(parts);
    ns_buf_free(&buf);
    return out.data;
}

/* Relative paths are relative to the file that wrote them (so an `extends` base in another
 * folder keeps working); --set values (line 0) are relative to the working directory. */
static const char *resolve_path(struct validator *v, const struct spec_node *node)
{
    char *dir = NULL;
    if (node->file && node->line > 0) {
        const char *slash = strrchr(node->file, '/');
        dir = slash ? ns_xstrndup(node->file, (size_t)(slash - node->file)) : ns_xstrdup("");
    }
    char *full = join_path(dir, node->text);
    const char *kept = ns_arena_strdup(&v->ctx->arena, full);
    free(full);
    free(dir);
    return kept;
}

static bool parse_pair_item(struct validator *v, const struct schema_field *f,
                            const struct spec_node *node, int *out)
{
    long long value;
    if (!scalar_int(node, &value)) {
        type_error(v, node, f->key, schema_type_name(f), NULL);
        return false;
    }
    if (!check_range(v, f, node, (double)value))
        return false;
    *out = (int)value;
    return true;
}

static bool parse_pair(struct validator *v, const struct schema_field *f,
                       const struct spec_node *node, struct spec_pair *out)
{
    if (node->kind == SPEC_SCALAR) {
        if (f->auto_ok && strcmp(node->text, "auto") == 0) {
            out->h = out->w = SPEC_AUTO;
            return true;
        }
        int n;
        if (!parse_pair_item(v, f, node, &n))
            return false;
        out->h = out->w = n;
        return true;
    }
    if (node->kind != SPEC_SEQ || node->count != 2) {
        type_error(v, node, f->key, schema_type_name(f),
                   node->kind == SPEC_SEQ ? "a list here holds exactly two numbers: [height, width]" : NULL);
        return false;
    }
    bool ok = parse_pair_item(v, f, node->items[0], &out->h);
    ok &= parse_pair_item(v, f, node->items[1], &out->w);
    return ok;
}

static bool parse_shape(struct validator *v, const struct schema_field *f,
                        const struct spec_node *node, struct spec_shape *out)
{
    if (node->kind == SPEC_SCALAR && f->auto_ok && strcmp(node->text, "auto") == 0) {
        out->rank = 0;
        return true;
    }
    if (node->kind != SPEC_SEQ || (node->count != 1 && node->count != 3)) {
        type_error(v, node, f->key, schema_type_name(f),
                   node->kind == SPEC_SEQ ? "a shape has 3 numbers (an image) or 1 (a vector)" : NULL);
        return false;
    }
    out->rank = (int)node->count;
    bool ok = true;
    for (size_t i = 0; i < node->count; i++)
        ok &= parse_pair_item(v, f, node->items[i], &out->dims[i]);
    return ok;
}

static bool parse_padding(struct validator *v, const struct schema_field *f,
                          const struct spec_node *node, struct spec_padding *out)
{
    if (node->kind == SPEC_SCALAR && !strcmp(node->text, "same")) {
        out->mode = SPEC_PAD_SAME;
        return true;
    }
    if (node->kind == SPEC_SCALAR && !strcmp(node->text, "valid")) {
        out->mode = SPEC_PAD_VALID;
        return true;
    }
    long long n;
    if (node->kind == SPEC_SCALAR && !scalar_int(node, &n)) {
        static const char *const modes[] = {"same", "valid"};
        const char *near = ns_closest(node->text, modes, 2);
        char *hint = near ? ns_asprintf("did you mean \"%s\"?", near) : NULL;
        type_error(v, node, f->key, schema_type_name(f), hint);
        free(hint);
        return false;
    }
    struct schema_field ranged = *f;
    ranged.min = 0;
    ranged.max = 1024;
    struct spec_pair pair;
    if (!parse_pair(v, &ranged, node, &pair))
        return false;
    out->mode = SPEC_PAD_EXPLICIT;
    out->h = pair.h;
    out->w = pair.w;
    return true;
}

static bool parse_names(struct validator *v, const struct schema_field *f,
                        const struct spec_node *node, struct spec_names *out)
{
    size_t count = node->kind == SPEC_SEQ ? node->count : 1;
    if (node->kind == SPEC_MAP || spec_tree_is_null(node)) {
        type_error(v, node, f->key, schema_type_name(f), NULL);
        return false;
    }
    if (has_range(f) && count < f->min) {
        error_at(v, node, NULL, "\"%s\" needs at least %.0f name%s, got %zu", f->key, f->min,
                 f->min == 1 ? "" : "s", count);
        return false;
    }
    if (has_range(f) && count > f->max) {
        error_at(v, node, NULL, "\"%s\" takes at most %.0f name%s, got %zu", f->key, f->max,
                 f->max == 1 ? "" : "s", count);
        return false;
    }
    out->count = count;
    out->names = ns_arena_array(&v->ctx->arena, const char *, count);
    out->nodes = ns_arena_array(&v->ctx->arena, const struct spec_node *, count);
    bool ok = true;
    for (size_t i = 0; i < count; i++) {
        const struct spec_node *item = node->kind == SPEC_SEQ ? node->items[i] : node;
        if (item->kind != SPEC_SCALAR || spec_tree_is_null(item) || !item->text_len) {
            type_error(v, item, f->key, "a list of names", NULL);
            ok = false;
            continue;
        }
        out->names[i] = item->text;
        out->nodes[i] = item;
        for (size_t j = 0; j < i; j++)
            if (out->names[j] && !strcmp(out->names[j], item->text)) {
                error_at(v, item, NULL, "\"%s\" lists \"%s\" twice", f->key, item->text);
                ok = false;
            }
    }
    return ok;
}

static bool parse_floats(struct validator *v, const struct schema_field *f,
                         const struct spec_node *node, struct spec_floats *out)
{
    size_t count = node->kind == SPEC_SEQ ? node->count : 1;
    if (node->kind == SPEC_MAP || (has_range(f) && (count < f->min || count > f->max))) {
        char *expected = ns_asprintf("a number or a list of %.0f to %.0f numbers", f->min, f->max);
        type_error(v, node, f->key, expected, NULL);
        free(expected);
        return false;
    }
    out->count = count;
    out->values = ns_arena_array(&v->ctx->arena, double, count);
    bool ok = true;
    for (size_t i = 0; i < count; i++) {
        const struct spec_node *item = node->kind == SPEC_SEQ ? node->items[i] : node;
        if (!scalar_float(item, &out->values[i])) {
            type_error(v, item, f->key, schema_type_name(f), NULL);
            ok = false;
        }
    }
    return ok;
}

static bool parse_enum(struct validator *v, const struct schema_field *f, const char *where,
                       const struct spec_node *node, int *out)
{
    if (node->kind != SPEC_SCALAR || spec_tree_is_null(node)) {
        char *list = schema_name_list(f->names);
        char *hint = ns_asprintf("valid values: %s", list);
        type_error(v, node, f->key, "a name", hint);
        free(hint);
        free(list);
        return false;
    }
    size_t count = 0;
    while (f->names[count])
        count++;
    for (size_t i = 0; i < count; i++)
        if (!strcmp(node->text, f->names[i])) {
            *out = (int)i;
            return true;
        }
    const char *near = ns_closest(node->text, f->names, count);
    char *list = schema_name_list(f->names);
    char *hint = near ? ns_asprintf("did you mean \"%s\"? valid values: %s", near, list)
                      : ns_asprintf("valid values: %s", list);
    if (!strcmp(f->key, "type") || !strcmp(f->key, "format"))
        error_at(v, node, hint, "unknown %s %s \"%.60s\"", where, f->key, node->text);
    else
        error_at(v, node, hint, "unknown %s \"%.60s\"", f->key, node->text);
    free(hint);
    free(list);
    return false;
}

/* ---- sections ---- */

static bool validate_section(struct validator *v, const struct schema_section *section,
                             const char *where, const struct spec_node *node, void *base,
                             const char *const *extra_keys);
static bool validate_variant(struct validator *v, const struct schema_variant *variant,
                             const char *where, const struct spec_node *node, void *base);
static bool validate_layers(struct validator *v, const struct schema_field *f,
                            const struct spec_node *node, struct spec_model *model);

static bool parse_value(struct validator *v, const struct schema_field *f, const char *where,
                        const struct spec_node *node, void *base)
{
    void *dst = (char *)base + f->offset;
    switch (f->type) {
    case SCHEMA_INT:
        return parse_int_field(v, f, node, dst);
    case SCHEMA_SIZE: {
        long long value;
        if (f->auto_ok && node->kind == SPEC_SCALAR && !strcmp(node->text, "auto")) {
            *(long long *)dst = SPEC_AUTO;
            return true;
        }
        if (node->kind != SPEC_SCALAR || !spec_size_parse(node->text, &value)) {
            type_error(v, node, f->key, schema_type_name(f),
                       "units: B, kB, MB, GB, TB (powers of 1000), KiB, MiB, GiB, TiB (powers of 1024)");
            return false;
        }
        *(long long *)dst = value;
        return true;
    }
    case SCHEMA_SEED: {
        long long value;
        if (!scalar_int(node, &value) || value < 0) {
            type_error(v, node, f->key, schema_type_name(f), NULL);
            return false;
        }
        /* The documented maximum: every seed is an exact double (JSON readers of the manifest). */
        if ((double)value > f->max) {
            error_at(v, node, NULL, "\"%s\" must be an integer from 0 to %.0f, got %s", f->key, f->max, node->text);
            return false;
        }
        *(long long *)dst = value;
        return true;
    }
    case SCHEMA_FLOAT: {
        double value;
        if (!scalar_float(node, &value)) {
            type_error(v, node, f->key, schema_type_name(f), NULL);
            return false;
        }
        if (!check_range(v, f, node, value))
            return false;
        *(double *)dst = value;
        return true;
    }
    case SCHEMA_BOOL: {
        if (node->kind == SPEC_SCALAR && node->plain) {
            const char *t = node->text;
            if (!strcmp(t, "true") || !strcmp(t, "True") || !strcmp(t, "TRUE")) {
                *(bool *)dst = true;
                return true;
            }
            if (!strcmp(t, "false") || !strcmp(t, "False") || !strcmp(t, "FALSE")) {
                *(bool *)dst = false;
                return true;
            }
        }
        type_error(v, node, f->key, "true or false", NULL);
        return false;
    }
    case SCHEMA_STRING:
    case SCHEMA_PATH:
        if (node->kind != SPEC_SCALAR || spec_tree_is_null(node) || !node->text_len) {
            type_error(v, node, f->key, schema_type_name(f), NULL);
            return false;
        }
        *(const char **)dst = f->type == SCHEMA_PATH ? resolve_path(v, node) : node->text;
        return true;
    case SCHEMA_ENUM:
        return parse_enum(v, f, where, node, dst);
    case SCHEMA_SHAPE:
        return parse_shape(v, f, node, dst);
    case SCHEMA_PAIR:
        return parse_pair(v, f, node, dst);
    case SCHEMA_PADDING:
        return parse_padding(v, f, node, dst);
    case SCHEMA_NAMES:
        return parse_names(v, f, node, dst);
    case SCHEMA_FLOATS:
        return parse_floats(v, f, node, dst);
    case SCHEMA_SECTION: {
        char *sub = ns_asprintf("%s.%s", where, f->key);
        const char *name = !strcmp(where, "spec") ? f->key : sub;
        bool ok = validate_section(v, f->section, name, node, dst, NULL);
        free(sub);
        return ok;
    }
    case SCHEMA_VARIANT:
        return validate_variant(v, f->variant, f->key, node, dst);
    case SCHEMA_LAYERS:
        return validate_layers(v, f, node, base);
    }
    return false;
}

/* Defaults are YAML text parsed by the same code as the user's values. */
static bool apply_default(struct validator *v, const struct schema_field *f, const char *where,
                          void *base)
{
    if (f->type == SCHEMA_SECTION) {
        char *sub = ns_asprintf("%s.%s", where, f->key);
        bool ok = validate_section(v, f->section, sub, NULL, (char *)base + f->offset, NULL);
        free(sub);
        return ok;
    }
    if (f->type == SCHEMA_VARIANT)
        return validate_variant(v, f->variant, f->key, NULL, (char *)base + f->offset);
    struct spec_node *node = spec_tree_new_scalar(v->ctx, NULL, 0, 0, f->def, true);
    return parse_value(v, f, where, node, base);
}

static void unknown_key(struct validator *v, const struct schema_section *section,
                        const char *where, const struct spec_node *key,
                        const char *const *extra_keys, const struct schema_variant *variant)
{
    const char *cands[64];
    size_t n = 0;
    for (size_t i = 0; i < section->field_count && n < 64; i++)
        cands[n++] = section->fields[i].key;
    for (size_t i = 0; extra_keys && extra_keys[i] && n < 64; i++)
        cands[n++] = extra_keys[i];
    const char *near = ns_closest(key->text, cands, n);
    char *list = schema_key_list(section, extra_keys);
    struct ns_buf hint = {0};
    if (near)
        ns_buf_printf(&hint, "did you mean \"%s\"? ", near);
    ns_buf_printf(&hint, "valid keys for %s: %s", where, list);
    /* A key that belongs to another case of the variant deserves a precise hint. */
    for (size_t c = 0; variant && variant->tag_names[c]; c++)
        if (schema_find(variant->cases[c], key->text)) {
            ns_buf_printf(&hint, "\n\"%s\" is a key of %s", key->text, variant->cases[c]->name);
            break;
        }
    ns_diag_add(v->diag, NS_ERR_SPEC,
                (struct ns_loc){key->file, key->line, key->col, (int)key->text_len}, hint.data,
                "unknown key \"%.60s\" in %s", key->text, where);
    ns_buf_free(&hint);
    free(list);
}

static bool is_extra(const char *key, const char *const *extra)
{
    for (size_t i = 0; extra && extra[i]; i++)
        if (!strcmp(extra[i], key))
            return true;
    return false;
}

static bool validate_fields(struct validator *v, const struct schema_section *section,
                            const char *where, const struct spec_node *node, void *base,
                            const char *const *extra_keys, const struct schema_variant *variant)
{
    bool ok = true;
    const struct spec_node *at = node ? node : v->missing_at; /* where errors about missing keys point */
    if (node && node->kind != SPEC_MAP) {
        if (spec_tree_is_null(node)) {
            node = NULL; /* `train:` with nothing after it means "all defaults" */
        } else {
            error_at(v, node, NULL, "\"%s\" must be a mapping of keys, got %s",
                     strrchr(where, '.') ? strrchr(where, '.') + 1 : where,
                     node->kind == SPEC_SEQ ? "a list" : "a scalar");
            return false;
        }
    }
    if (section->has_node)
        *(const struct spec_node **)((char *)base + section->node_offset) = node;
    for (size_t i = 0; node && i < node->count; i++) {
        const struct spec_node *key = node->keys[i];
        if (!schema_find(section, key->text) && !is_extra(key->text, extra_keys)) {
            unknown_key(v, section, where, key, extra_keys, variant);
            ok = false;
        }
    }
    for (size_t i = 0; i < section->field_count; i++) {
        const struct schema_field *f = &section->fields[i];
        if (section == &spec_schema_root && !strcmp(f->key, "extends"))
            continue; /* merged away by spec_load before validation */
        if (variant && !strcmp(f->key, variant->tag_key))
            continue; /* validate_variant has read the tag (or taken its default) */
        const struct spec_node *value = spec_tree_get(node, f->key);
        if (value) {
            ok &= parse_value(v, f, where, value, base);
        } else if (f->required) {
            char *hint = NULL;
            if (f->type == SCHEMA_ENUM) {
                char *list = schema_name_list(f->names);
                hint = ns_asprintf("valid values: %s", list);
                free(list);
            }
            ns_diag_add(v->diag, NS_ERR_SPEC, spec_node_loc(at), hint,
                        "missing required key \"%s\" in %s", f->key, where);
            free(hint);
            ok = false;
        } else if (f->def) {
            ok &= apply_default(v, f, where, base);
        }
    }
    return ok;
}

static bool validate_section(struct validator *v, const struct schema_section *section,
                             const char *where, const struct spec_node *node, void *base,
                             const char *const *extra_keys)
{
    return validate_fields(v, section, where, node, base, extra_keys, NULL);
}

static bool validate_variant(struct validator *v, const struct schema_variant *variant,
                             const char *where, const struct spec_node *node, void *base)
{
    const struct spec_node *tag = NULL;
    struct spec_node *synthetic = NULL;
    const struct spec_node *at = node;
    if (node && spec_tree_is_null(node))
        node = NULL;
    if (node && node->kind == SPEC_SCALAR && variant->scalar_ok) {
        tag = node;
        /* `loss: mse` is `loss: {type: mse}`: build that map so the rest is one path. */
        synthetic = spec_tree_new_map(v->ctx, node->file, node->line, node->col);
        spec_tree_map_set(v->ctx, synthetic,
                          spec_tree_new_scalar(v->ctx, node->file, node->line, node->col,
                                               variant->tag_key, true),
                          node);
        node = synthetic;
    } else if (node && node->kind != SPEC_MAP) {
        char *names = schema_name_list(variant->tag_names);
        char *hint = variant->scalar_ok
                         ? ns_asprintf("write `%s: NAME` or `%s: {%s: NAME, ...}`; names: %s",
                                       where, where, variant->tag_key, names)
                         : ns_asprintf("write `%s: {%s: NAME, ...}`; names: %s", where,
                                       variant->tag_key, names);
        error_at(v, node, hint, "\"%s\" must be a mapping, got %s", where,
                 node->kind == SPEC_SEQ ? "a list" : "a scalar");
        free(hint);
        free(names);
        return false;
    } else {
        tag = spec_tree_get(node, variant->tag_key);
    }
    int index = -1;
    if (!tag) {
        if (!variant->default_tag) {
            char *names = schema_name_list(variant->tag_names);
            char *hint = ns_asprintf("valid values: %s", names);
            ns_diag_add(v->diag, NS_ERR_SPEC, spec_node_loc(at), hint,
                        "missing required key \"%s\" in %s", variant->tag_key, where);
            free(hint);
            free(names);
            return false;
        }
        for (int i = 0; variant->tag_names[i]; i++)
            if (!strcmp(variant->tag_names[i], variant->default_tag))
                index = i;
    } else {
        struct schema_field tag_field = {.key = variant->tag_key, .type = SCHEMA_ENUM,
                                         .names = variant->tag_names, .min = 1, .max = 0};
        if (!parse_enum(v, &tag_field, where, tag, &index))
            return false;
    }
    *(int *)((char *)base + variant->tag_offset) = index;
    const struct schema_section *section = variant->cases[index];
    bool ok = validate_fields(v, section, section->name, node, base, NULL, variant);
    if (synthetic)
        *(const struct spec_node **)((char *)base + variant->node_offset) = tag;
    return ok;
}

/* ---- layers ---- */

static const char *const layer_common_keys[] = {"name", "from", NULL};

static const struct schema_field layer_name_field = {
    .key = "name", .type = SCHEMA_STRING, .min = 1, .max = 0};
static const struct schema_field layer_from_field = {
    .key = "from", .type = SCHEMA_NAMES, .min = 1, .max = 8};

static bool valid_layer_name(const char *name)
{
    if (!isalpha((unsigned char)name[0]) && name[0] != '_')
        return false;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_-.", *p))
            return false;
    return true;
}

static bool validate_layer(struct validator *v, const struct spec_node *item, int index,
                           struct spec_layer *layer)
{
    layer->node = item;
    layer->index = index;
    const struct spec_node *op_key = NULL, *value = NULL;
    if (item->kind == SPEC_SCALAR && !spec_tree_is_null(item)) {
        op_key = item;
    } else if (item->kind == SPEC_MAP && item->count == 1) {
        op_key = item->keys[0];
        value = item->items[0];
    } else if (item->kind == SPEC_MAP && item->count > 1) {
        struct ns_buf keys = {0};
        for (size_t i = 0; i < item->count; i++)
            ns_buf_printf(&keys, "%s%s", i ? ", " : "", item->keys[i]->text);
        char *hint = ns_asprintf("indent the layer's keys under its type: `- %s: {...}`",
                                 item->keys[0]->text);
        error_at(v, item, hint, "layer %d has several keys (%s); a layer is one type with its "
                 "keys, like `- dense: {units: 10}`", index, keys.data);
        free(hint);
        ns_buf_free(&keys);
        return false;
    } else {
        error_at(v, item, "write `- dense: {units: 10}` or a bare `- flatten`",
                 "layer %d must be a layer type, got %s", index, spec_tree_kind_name(item));
        return false;
    }
    const struct spec_layer_type *op = spec_layer_type_find(v->catalog, op_key->text);
    if (!op) {
        const char *const *names = v->catalog->names;
        size_t n = 0;
        while (names[n])
            n++;
        const char *near = ns_closest(op_key->text, names, n);
        char *list = schema_name_list(names);
        /* `- relu` is a common way to write an activation layer. */
        const char *acts[ACT_COUNT];
        for (int i = 0; i < ACT_COUNT; i++)
            acts[i] = spec_activation_names[i];
        bool is_act = false;
        for (int i = 0; i < ACT_COUNT; i++)
            is_act |= !strcmp(acts[i], op_key->text);
        char *hint = is_act ? ns_asprintf("an activation is a layer `- activation: %s`, or "
                                          "`activation: %s` on the layer before",
                                          op_key->text, op_key->text)
                     : near ? ns_asprintf("did you mean \"%s\"? valid layers: %s", near, list)
                            : ns_asprintf("valid layers: %s", list);
        ns_diag_add(v->diag, NS_ERR_SPEC,
                    (struct ns_loc){op_key->file, op_key->line, op_key->col, (int)op_key->text_len},
                    hint, "unknown layer type \"%.60s\"", op_key->text);
        free(hint);
        free(list);
        return false;
    }
    layer->type = op;
    layer->params = ns_arena_alloc(&v->ctx->arena, op->param_size ? op->param_size : 1);
    char *where = ns_asprintf("layer %d (%s)", index, op->name);
    bool ok = true;
    if (value && spec_tree_is_null(value))
        value = NULL;
    if (value && value->kind == SPEC_SCALAR) {
        if (!op->shorthand_key) {
            error_at(v, value,
                     op->param_schema ? "give its keys as a mapping, e.g. `- dense: {units: 10}`"
                                      : "write it bare: `- flatten`",
                     "%s takes no single value", op->name);
            free(where);
            return false;
        }
        struct spec_node *map = spec_tree_new_map(v->ctx, value->file, value->line, value->col);
        spec_tree_map_set(v->ctx, map,
                          spec_tree_new_scalar(v->ctx, value->file, value->line, value->col,
                                               op->shorthand_key, true),
                          value);
        value = map;
    } else if (value && value->kind == SPEC_SEQ) {
        error_at(v, value, NULL, "the keys of %s must be a mapping, got a list", where);
        free(where);
        return false;
    }
    layer->params_node = value;
    static const struct schema_section no_params = {.name = "layer"};
    const struct schema_section *schema = op->param_schema ? op->param_schema : &no_params;
    v->missing_at = op_key;
    ok &= validate_fields(v, schema, where, value, layer->params, layer_common_keys, NULL);
    v->missing_at = NULL;
    const struct spec_node *name = spec_tree_get(value, "name");
    if (name) {
        const char *text = NULL;
        if (parse_value(v, &layer_name_field, where, name, &text)) {
            if (!valid_layer_name(text) || !strcmp(text, "input")) {
                error_at(v, name, "use letters, digits, '_', '-' and '.', starting with a letter; "
                         "\"input\" is reserved for the model input",
                         "invalid layer name \"%.60s\"", text);
                ok = false;
            }
            layer->name = text;
            layer->named = true;
        } else {
            ok = false;
        }
    }
    if (!layer->name)
        layer->name = ns_arena_printf(&v->ctx->arena, "%s%d", op->name, index);
    const struct spec_node *from = spec_tree_get(value, "from");
    if (from)
        ok &= parse_value(v, &layer_from_field, where, from, &layer->from);
    if (ok && op->check)
        ok &= op->check(layer->params, layer, v->diag);
    free(where);
    return ok;
}

/* How many inputs `from:` gives each layer, against its op's arity. The names themselves are
 * resolved where the graph is wired (graph/graph.c): spec/ only checks what is written. */
static bool check_arity(struct validator *v, const struct spec_model *model)
{
    bool ok = true;
    for (size_t i = 0; i < model->layer_count; i++) {
        const struct spec_layer *layer = &model->layers[i];
        if (!layer->type)
            continue;
        size_t n = layer->from.count ? layer->from.count : 1;
        const struct spec_layer_type *op = layer->type;
        if ((int)n < op->min_inputs) {
            error_at(v, layer->params_node ? layer->params_node : layer->node,
                     "list the branches to join: `from: [a, b]`",
                     "%s joins %d or more inputs; layer %zu has %zu", op->name, op->min_inputs, i, n);
            ok = false;
        } else if ((int)n > op->max_inputs) {
            const struct spec_node *at = spec_tree_get(layer->params_node, "from");
            error_at(v, at ? at : layer->node, "join branches with an add or concat layer first",
                     "%s takes one input; from: names %zu", op->name, n);
            ok = false;
        }
    }
    return ok;
}

static bool validate_layers(struct validator *v, const struct schema_field *f,
                            const struct spec_node *node, struct spec_model *model)
{
    if (node->kind != SPEC_SEQ) {
        type_error(v, node, f->key, "a list of layers", "write each layer on its own line starting with '- '");
        return false;
    }
    if (node->count == 0) {
        error_at(v, node, NULL, "\"layers\" is empty; a model needs at least one layer");
        return false;
    }
    if (has_range(f) && node->count > f->max) {
        error_at(v, node, NULL, "\"layers\" lists %zu layers; a model has at most %.0f", node->count, f->max);
        return false;
    }
    model->layer_count = node->count;
    model->layers = ns_arena_array(&v->ctx->arena, struct spec_layer, node->count);
    bool ok = true;
    for (size_t i = 0; i < node->count; i++)
        ok &= validate_layer(v, node->items[i], (int)i, &model->layers[i]);
    ok &= check_arity(v, model);
    return ok;
}

/* ---- whole-spec rules that span sections ---- */

static const struct spec_node *field_node(const struct spec_node *section, const char *key)
{
    const struct spec_node *n = spec_tree_get(section, key);
    return n ? n : section;
}

/* The run name becomes the directory runs/NAME: it must be one plain path component, so a
 * run never lands outside runs/ or in the working directory itself. */
static bool name_is_plain(const char *name)
{
    if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
        return false;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p == '/' || *p == '\\' || *p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

/* A test or validation folder replaces that part of root's split: the part is 0 and, unless
 * written, training takes what the other parts leave, so root's images are never held out as a
 * second test or validation set. */
static bool folder_split_parts(struct validator *v, struct spec_data *d)
{
    const struct {
        const char *folder, *key;
        double *part;
    } parts[2] = {{d->test_folder, "test", &d->split.test}, {d->validation_folder, "validation", &d->split.validation}};
    bool ok = true;
    for (int i = 0; i < 2; i++) {
        if (!parts[i].folder)
            continue;
        const struct spec_node *written = spec_tree_get(d->split.node, parts[i].key);
        if (written && *parts[i].part != 0) {
            char *hint = ns_asprintf("leave split.%s out (or write 0): root is then split into the other parts only",
                                     parts[i].key);
            error_at(v, written, hint,
                     "data.%s names a %s folder, so split.%s must be 0: root's images would be a second %s set",
                     parts[i].key, parts[i].key, parts[i].key, parts[i].key);
            free(hint);
            ok = false;
        }
        *parts[i].part = 0;
    }
    if ((d->test_folder || d->validation_folder) && !spec_tree_get(d->split.node, "train"))
        d->split.train = 1 - d->split.validation - d->split.test;
    if (ok && !(d->split.train > 0)) {
        error_at(v, d->split.node ? d->split.node : d->node, "lower split.validation",
                 "the split leaves no images of root for training");
        ok = false;
    }
    return ok;
}

static bool check_cross_rules(struct validator *v, struct spec *spec, const struct spec_node *root)
{
    bool ok = true;
    const struct spec_node *name = field_node(root, "name");
    if (name && !name_is_plain(spec->name)) {
        error_at(v, name, "a name is one plain path component, e.g. fashion-mlp",
                 "name \"%s\" is not a plain file name: the run goes to runs/NAME", spec->name);
        ok = false;
    }
    struct spec_data *d = &spec->data;
    bool parts_ok = d->format != DATA_IMAGE_FOLDER || folder_split_parts(v, d);
    ok &= parts_ok;
    if (d->format == DATA_IMAGE_FOLDER && parts_ok) {
        double sum = d->split.train + d->split.validation + d->split.test;
        if (fabs(sum - 1.0) > 1e-6) {
            char text[SPEC_RESOLVE_DOUBLE_MAX];
            spec_resolve_format_double(sum, text);
            error_at(v, d->split.node ? d->split.node : d->node, NULL,
                     "split fractions must sum to 1, got %s", text);
            ok = false;
        }
    }
    const struct spec_floats *lists[2] = {&d->normalize.std, &d->normalize.mean};
    if (d->normalize.std.count && d->normalize.mean.count &&
        d->normalize.std.count != d->normalize.mean.count) {
        error_at(v, field_node(d->normalize.node, "std"), NULL,
                 "normalize.std has %zu values but normalize.mean has %zu", d->normalize.std.count,
                 d->normalize.mean.count);
        ok = false;
    }
    for (size_t i = 0; i < lists[0]->count; i++)
        if (!(lists[0]->values[i] > 0)) {
            error_at(v, field_node(d->normalize.node, "std"), NULL,
                     "normalize.std values must be greater than 0");
            ok = false;
            break;
        } else if (!((float)lists[0]->values[i] > 0)) {
            /* Preprocessing runs in float: a std that rounds to 0 divides by zero. */
            const struct spec_node *std = field_node(d->normalize.node, "std");
            error_at(v, std->kind == SPEC_SEQ ? std->items[i] : std, "the smallest positive float is about 1.4e-45",
                     "normalize.std value %g is 0 in single precision, which preprocessing uses",
                     lists[0]->values[i]);
            ok = false;
            break;
        }
    for (size_t i = 0; d->format == DATA_CSV && i < d->categorical.count; i++)
        if (!strcmp(d->categorical.names[i], d->label_column)) {
            error_at(v, d->categorical.nodes[i], "categorical lists feature columns; the label's classes come from its values",
                     "\"%s\" is the label column", d->label_column);
            ok = false;
        }
    if (d->format == DATA_CSV && d->task == TASK_AUTO)
        d->task = spec->loss.type == LOSS_MSE ? TASK_REGRESSION : TASK_CLASSIFICATION;
    if (d->format == DATA_CSV && d->task == TASK_REGRESSION && spec->loss.type != LOSS_MSE) {
        error_at(v, field_node(spec->loss.node, "type"), "use `loss: mse` for regression",
                 "%s needs class labels; data.task is regression", spec_loss_name(spec->loss.type));
        ok = false;
    }
    if (spec->optimizer.type == OPT_SGD && spec->optimizer.nesterov && spec->optimizer.momentum <= 0) {
        error_at(v, field_node(spec->optimizer.node, "nesterov"), "set momentum, e.g. 0.9",
                 "nesterov needs momentum greater than 0");
        ok = false;
    }
    double held_out = d->format == DATA_IMAGE_FOLDER ? d->split.validation : d->validation;
    if (spec->train.early_stopping.patience > 0 && held_out <= 0 && !d->validation_folder) {
        error_at(v, field_node(spec->train.early_stopping.node, "patience"),
                 "set data.validation (or data.split.validation) above 0",
                 "early stopping watches the validation set, but no validation data is held out");
        ok = false;
    }
    return ok;
}

static bool check_version(struct validator *v, const struct spec_node *root)
{
    const struct spec_node *node = spec_tree_get(root, "version");
    if (!node) {
        ns_diag_add(v->diag, NS_ERR_SPEC, spec_node_loc(root), "add `version: 1` as the first line",
                    "missing required key \"version\"");
        return false;
    }
    long long version;
    if (!scalar_int(node, &version)) {
        error_at(v, node, "write `version: 1`", "\"version\" must be an integer, got \"%.20s\"",
                 node->kind == SPEC_SCALAR ? node->text : spec_tree_kind_name(node));
        return false;
    }
    if (version > SPEC_VERSION) {
        error_at(v, node, "upgrade netspec, or write the spec for version 1",
                 "spec version %lld is newer than this netspec reads (%d)", version, SPEC_VERSION);
        return false;
    }
    if (version < SPEC_VERSION) {
        error_at(v, node, "version 1 is the first version of the spec language",
                 "spec version %lld is older than any this netspec reads (%d)", version, SPEC_VERSION);
        return false;
    }
    return true;
}

struct spec *spec_from_tree(struct ns_ctx *ctx, const struct spec_layer_catalog *catalog, const char *path,
                            const struct spec_node *root)
{
    struct validator v = {ctx, &ctx->diag, catalog, NULL};
    if (root->kind != SPEC_MAP) {
        error_at(&v, root, "a spec is a mapping that starts with `version: 1`",
                 "a spec must be a mapping of sections, got %s", spec_tree_kind_name(root));
        return NULL;
    }
    if (!check_version(&v, root))
        return NULL;
    struct spec *spec = ns_arena_new(&ctx->arena, struct spec);
    spec->path = ns_arena_strdup(&ctx->arena, path);
    bool ok = validate_section(&v, &spec_schema_root, "spec", root, spec, NULL);
    if (!spec->name) {
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        const char *dot = strrchr(base, '.');
        spec->name = ns_arena_strndup(&ctx->arena, base, dot && dot != base ? (size_t)(dot - base) : strlen(base));
    }
    if (ok)
        ok = check_cross_rules(&v, spec, root);
    return ok ? spec : NULL;
}

bool spec_check_normalize(struct ns_ctx *ctx, const struct spec *spec, struct spec_shape input)
{
    const struct spec_normalize *n = &spec->data.normalize;
    size_t channels = input.rank >= 1 && input.rank <= 3 ? (size_t)input.dims[input.rank - 1] : 0;
    const char *per = input.rank == 1 ? "feature" : "channel";
    const struct spec_floats *lists[2] = {&n->mean, &n->std};
    const char *keys[2] = {"mean", "std"};
    bool ok = true;
    for (int k = 0; k < 2; k++) {
        size_t count = lists[k]->count;
        if (count <= 1 || count == channels)
            continue;
        struct ns_loc loc = spec_field_loc(spec, n->node, keys[k]);
        if (channels == 1)
            ns_diag_add(&ctx->diag, NS_ERR_SPEC, loc, "give one value, or leave it out",
                        "normalize.%s has %zu values, but the data has 1 %s", keys[k], count, per);
        else
            ns_diag_add(&ctx->diag, NS_ERR_SPEC, loc, NULL,
                        "normalize.%s has %zu values; expected 1 or %zu (one per %s)", keys[k], count, channels,
                        per);
        ok = false;
    }
    return ok;
}
