#include "spec/spec_jsonschema.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/ns_arena.h"
#include "core/ns_util.h"
#include "spec/spec.h"
#include "spec/spec_resolve.h"
#include "spec/spec_schema.h"
#include "spec/spec_size.h"

/* The schema is built as a small JSON tree first, so the printer alone decides layout and
 * commas. Everything lives in one arena freed at the end. */
enum jv_kind { JV_NULL, JV_BOOL, JV_NUMBER, JV_STRING, JV_ARRAY, JV_OBJECT };

struct jv {
    enum jv_kind kind;
    const char *text; /* number text or string value */
    bool boolean;
    size_t count, cap;
    struct jv **items;
    const char **keys; /* objects only */
};

struct jctx {
    struct ns_arena arena;
};

static struct jv *jv_new(struct jctx *j, enum jv_kind kind)
{
    struct jv *v = ns_arena_new(&j->arena, struct jv);
    v->kind = kind;
    return v;
}

static struct jv *jv_string(struct jctx *j, const char *s)
{
    struct jv *v = jv_new(j, JV_STRING);
    v->text = ns_arena_strdup(&j->arena, s);
    return v;
}

static struct jv *jv_bool(struct jctx *j, bool b)
{
    struct jv *v = jv_new(j, JV_BOOL);
    v->boolean = b;
    return v;
}

static struct jv *jv_int(struct jctx *j, long long n)
{
    struct jv *v = jv_new(j, JV_NUMBER);
    v->text = ns_arena_printf(&j->arena, "%lld", n);
    return v;
}

static struct jv *jv_double(struct jctx *j, double d)
{
    char text[SPEC_RESOLVE_DOUBLE_MAX];
    spec_resolve_format_double(d, text);
    struct jv *v = jv_new(j, JV_NUMBER);
    v->text = ns_arena_strdup(&j->arena, text);
    return v;
}

static void jv_grow(struct jctx *j, struct jv *v)
{
    if (v->count < v->cap)
        return;
    size_t cap = v->cap ? v->cap * 2 : 8;
    struct jv **items = ns_arena_array(&j->arena, struct jv *, cap);
    if (v->count)
        memcpy(items, v->items, v->count * sizeof *items);
    v->items = items;
    if (v->kind == JV_OBJECT) {
        const char **keys = ns_arena_array(&j->arena, const char *, cap);
        if (v->count)
            memcpy(keys, v->keys, v->count * sizeof *keys);
        v->keys = keys;
    }
    v->cap = cap;
}

static struct jv *jv_push(struct jctx *j, struct jv *arr, struct jv *item)
{
    jv_grow(j, arr);
    arr->items[arr->count++] = item;
    return item;
}

static struct jv *jv_set(struct jctx *j, struct jv *obj, const char *key, struct jv *value)
{
    jv_grow(j, obj);
    obj->keys[obj->count] = key;
    obj->items[obj->count++] = value;
    return value;
}

static struct jv *jv_get(const struct jv *obj, const char *key)
{
    for (size_t i = 0; i < obj->count; i++)
        if (!strcmp(obj->keys[i], key))
            return obj->items[i];
    return NULL;
}

static void jv_set_string(struct jctx *j, struct jv *obj, const char *key, const char *s)
{
    jv_set(j, obj, key, jv_string(j, s));
}

static struct jv *jv_string_array(struct jctx *j, const char *const *names)
{
    struct jv *arr = jv_new(j, JV_ARRAY);
    for (size_t i = 0; names[i]; i++)
        jv_push(j, arr, jv_string(j, names[i]));
    return arr;
}

/* ---- printing ---- */


static void jv_print(struct ns_buf *out, const struct jv *v, int indent)
{
    switch (v->kind) {
    case JV_NULL:
        ns_buf_puts(out, "null");
        return;
    case JV_BOOL:
        ns_buf_puts(out, v->boolean ? "true" : "false");
        return;
    case JV_NUMBER:
        ns_buf_puts(out, v->text);
        return;
    case JV_STRING:
        ns_buf_put_json_string(out, v->text);
        return;
    case JV_ARRAY:
    case JV_OBJECT:
        break;
    }
    bool obj = v->kind == JV_OBJECT;
    if (v->count == 0) {
        ns_buf_puts(out, obj ? "{}" : "[]");
        return;
    }
    ns_buf_puts(out, obj ? "{\n" : "[\n");
    for (size_t i = 0; i < v->count; i++) {
        ns_buf_printf(out, "%*s", indent + 2, "");
        if (obj) {
            ns_buf_put_json_string(out, v->keys[i]);
            ns_buf_puts(out, ": ");
        }
        jv_print(out, v->items[i], indent + 2);
        ns_buf_puts(out, i + 1 < v->count ? ",\n" : "\n");
    }
    ns_buf_printf(out, "%*s%s", indent, "", obj ? "}" : "]");
}

/* ---- defaults: the table writes them as YAML flow text ---- */

struct flow_reader {
    const char *p;
    bool as_float; /* numbers are doubles (FLOAT, FLOATS fields) */
};

static void skip_space(struct flow_reader *r)
{
    while (*r->p == ' ')
        r->p++;
}

static struct jv *scalar_json(struct jctx *j, const char *text, bool as_float)
{
    if (!strcmp(text, "true") || !strcmp(text, "false"))
        return jv_bool(j, text[0] == 't');
    if (!strcmp(text, "null") || !strcmp(text, "~"))
        return jv_new(j, JV_NULL);
    char *end = NULL;
    if (!as_float) {
        long long n = strtoll(text, &end, 10);
        if (*text && *end == '\0')
            return jv_int(j, n);
    }
    double d = strtod(text, &end);
    if (*text && *end == '\0' && (isdigit((unsigned char)text[0]) || text[0] == '-' || text[0] == '.'))
        return jv_double(j, d);
    return jv_string(j, text);
}

static struct jv *read_flow(struct jctx *j, struct flow_reader *r)
{
    skip_space(r);
    if (*r->p == '[' || *r->p == '{') {
        bool obj = *r->p == '{';
        char close = obj ? '}' : ']';
        struct jv *v = jv_new(j, obj ? JV_OBJECT : JV_ARRAY);
        r->p++;
        skip_space(r);
        while (*r->p && *r->p != close) {
            if (obj) {
                const char *k = r->p;
                while (*r->p && *r->p != ':')
                    r->p++;
                const char *key = ns_arena_strndup(&j->arena, k, (size_t)(r->p - k));
                if (*r->p)
                    r->p++;
                jv_set(j, v, key, read_flow(j, r));
            } else {
                jv_push(j, v, read_flow(j, r));
            }
            skip_space(r);
            if (*r->p == ',')
                r->p++;
            skip_space(r);
        }
        if (*r->p)
            r->p++;
        return v;
    }
    if (*r->p == '"' || *r->p == '\'') {
        char q = *r->p++;
        const char *s = r->p;
        while (*r->p && *r->p != q)
            r->p++;
        struct jv *v = jv_string(j, ns_arena_strndup(&j->arena, s, (size_t)(r->p - s)));
        if (*r->p)
            r->p++;
        return v;
    }
    const char *s = r->p;
    while (*r->p && *r->p != ',' && *r->p != ']' && *r->p != '}')
        r->p++;
    const char *e = r->p;
    while (e > s && e[-1] == ' ')
        e--;
    return scalar_json(j, ns_arena_strndup(&j->arena, s, (size_t)(e - s)), r->as_float);
}

static struct jv *default_json(struct jctx *j, const struct schema_field *f)
{
    switch (f->type) {
    case SCHEMA_STRING:
    case SCHEMA_PATH:
    case SCHEMA_ENUM:
        return jv_string(j, f->def);
    default: {
        struct flow_reader r = {.p = f->def, .as_float = f->type == SCHEMA_FLOAT || f->type == SCHEMA_FLOATS};
        return read_flow(j, &r);
    }
    }
}

/* ---- schemas ---- */

static bool has_range(const struct schema_field *f)
{
    return f->min <= f->max;
}

/* {"type": "integer"|"number", minimum, maximum} for one number. */
static struct jv *number_schema(struct jctx *j, const struct schema_field *f, bool integer)
{
    struct jv *v = jv_new(j, JV_OBJECT);
    jv_set_string(j, v, "type", integer ? "integer" : "number");
    if (has_range(f)) {
        const char *lo = f->min_exclusive ? "exclusiveMinimum" : "minimum";
        jv_set(j, v, lo, integer ? jv_int(j, (long long)f->min) : jv_double(j, f->min));
        jv_set(j, v, "maximum", integer ? jv_int(j, (long long)f->max) : jv_double(j, f->max));
    }
    return v;
}

static struct jv *const_schema(struct jctx *j, const char *value)
{
    struct jv *v = jv_new(j, JV_OBJECT);
    jv_set_string(j, v, "const", value);
    return v;
}

/* A string, path or name: netspec reads the text of any scalar but null, so `name: 5` and
 * `classes: [0, 1]` are names; YAML calls them numbers or booleans. */
static struct jv *text_schema(struct jctx *j)
{
    static const char *const scalars[] = {"string", "number", "boolean", NULL};
    struct jv *v = jv_new(j, JV_OBJECT);
    jv_set(j, v, "type", jv_string_array(j, scalars));
    jv_set(j, v, "minLength", jv_int(j, 1));
    return v;
}

static struct jv *int_array_schema(struct jctx *j, const struct schema_field *f, int n)
{
    struct jv *v = jv_new(j, JV_OBJECT);
    jv_set_string(j, v, "type", "array");
    jv_set(j, v, "items", number_schema(j, f, true));
    jv_set(j, v, "minItems", jv_int(j, n));
    jv_set(j, v, "maxItems", jv_int(j, n));
    return v;
}

static struct jv *number_type(struct jctx *j)
{
    struct jv *v = jv_new(j, JV_OBJECT);
    jv_set_string(j, v, "type", "number");
    return v;
}

/* A scalar or a list of them (SCHEMA_NAMES, SCHEMA_FLOATS); the range counts items. */
static struct jv *one_or_list_schema(struct jctx *j, const struct schema_field *f, struct jv *(*scalar)(struct jctx *))
{
    struct jv *any = jv_new(j, JV_ARRAY);
    jv_push(j, any, scalar(j));
    struct jv *list = jv_push(j, any, jv_new(j, JV_OBJECT));
    jv_set_string(j, list, "type", "array");
    jv_set(j, list, "items", scalar(j));
    if (has_range(f)) {
        jv_set(j, list, "minItems", jv_int(j, (long long)f->min));
        jv_set(j, list, "maxItems", jv_int(j, (long long)f->max));
    }
    return any;
}

static void add_all(struct jctx *j, struct jv *dst, const struct jv *src)
{
    for (size_t i = 0; i < src->count; i++)
        jv_set(j, dst, src->keys[i], src->items[i]);
}

static bool section_requires_keys(const struct schema_section *s)
{
    for (size_t i = 0; i < s->field_count; i++)
        if (s->fields[i].required)
            return true;
    return false;
}

static struct jv *section_schema(struct jctx *j, const struct schema_section *s, bool partial);
static struct jv *variant_schema(struct jctx *j, const struct schema_variant *v, bool partial);

/* ---- the validator's rules beyond each key's type and range ----
 *
 * spec_validate.c's check_cross_rules and the ops' check functions refuse values the table's
 * ranges allow. These functions say the same in JSON Schema where it can, keyed by the section
 * and key the rule is about; tests/test_schema.c runs a corpus of specs through netspec and a
 * JSON Schema validator and fails when they disagree on anything but the rules its corpus
 * lists as beyond JSON Schema (references between layers, sums of fields, the data). */

/* A property's schema inside an object schema built by object_schema, or NULL. */
static struct jv *property(struct jv *object, const char *key)
{
    struct jv *props = object ? jv_get(object, "properties") : NULL;
    return props ? jv_get(props, key) : NULL;
}

/* obj[key] = value, in place when obj has the key. */
static void jv_put(struct jctx *j, struct jv *obj, const char *key, struct jv *value)
{
    for (size_t i = 0; i < obj->count; i++)
        if (!strcmp(obj->keys[i], key)) {
            obj->items[i] = value;
            return;
        }
    jv_set(j, obj, key, value);
}

/* Adds `rule` to the object's "allOf". */
static void add_rule(struct jctx *j, struct jv *obj, struct jv *rule)
{
    struct jv *all = jv_get(obj, "allOf");
    if (!all)
        all = jv_set(j, obj, "allOf", jv_new(j, JV_ARRAY));
    jv_push(j, all, rule);
}

/* {"type": "object", "required": [key], "properties": {key: value}}: an object that has `key`
 * and whose value is `value`, for the "if" of a rule. */
static struct jv *has_key(struct jctx *j, const char *key, struct jv *value)
{
    struct jv *v = jv_new(j, JV_OBJECT);
    jv_set_string(j, v, "type", "object");
    struct jv *req = jv_set(j, v, "required", jv_new(j, JV_ARRAY));
    jv_push(j, req, jv_string(j, key));
    jv_set(j, jv_set(j, v, "properties", jv_new(j, JV_OBJECT)), key, value);
    return v;
}

static struct jv *if_then(struct jctx *j, struct jv *cond, struct jv *then)
{
    struct jv *v = jv_new(j, JV_OBJECT);
    jv_set(j, v, "if", cond);
    jv_set(j, v, "then", then);
    return v;
}

/* Every number the schema `v` (a number, or anyOf number and list of numbers) lets through
 * must be greater than `bound`. */
static void numbers_above(struct jctx *j, struct jv *v, double bound)
{
    struct jv *forms = jv_get(v, "anyOf");
    if (!forms) {
        jv_put(j, v, "exclusiveMinimum", jv_double(j, bound));
        return;
    }
    for (size_t i = 0; i < forms->count; i++) {
        struct jv *form = forms->items[i];
        struct jv *items = jv_get(form, "items");
        jv_put(j, items ? items : form, "exclusiveMinimum", jv_double(j, bound));
    }
}

/* The plain-file-name rule of the run's name (spec_validate.c name_is_plain): not . or .., no
 * slash, backslash or control character. */
static const char run_name_pattern[] = "^(?!\\.\\.?$)[^/\\\\\\x00-\\x1f\\x7f]+$";

static void refine_field(struct jctx *j, const struct schema_section *owner, const struct schema_field *f,
                         struct jv *v)
{
    if (!strcmp(owner->name, "dropout") && !strcmp(f->key, "rate")) {
        /* dropout_check: a rate of 1 drops every input. */
        for (size_t i = 0; i < v->count; i++)
            if (!strcmp(v->keys[i], "maximum"))
                v->keys[i] = "exclusiveMaximum";
    } else if (!strcmp(owner->name, "normalize (fixed)") && !strcmp(f->key, "std")) {
        numbers_above(j, v, 0); /* check_cross_rules: each std > 0 */
    } else if (owner == &spec_schema_root && !strcmp(f->key, "name")) {
        struct jv *forms = jv_new(j, JV_ARRAY);
        struct jv *text = jv_push(j, forms, jv_new(j, JV_OBJECT));
        jv_set_string(j, text, "type", "string");
        jv_set_string(j, text, "pattern", run_name_pattern);
        static const char *const others[] = {"number", "boolean", NULL};
        jv_set(j, jv_push(j, forms, jv_new(j, JV_OBJECT)), "type", jv_string_array(j, others));
        for (size_t i = 0; i < v->count; i++)
            if (!strcmp(v->keys[i], "type")) {
                v->keys[i] = "anyOf";
                v->items[i] = forms;
            }
    }
}

/* A list of exactly n numbers, or one number when n is 1 (a number counts as one value). */
static struct jv *count_of(struct jctx *j, int n)
{
    struct jv *list = jv_new(j, JV_OBJECT);
    jv_set_string(j, list, "type", "array");
    jv_set(j, list, "minItems", jv_int(j, n));
    jv_set(j, list, "maxItems", jv_int(j, n));
    if (n != 1)
        return list;
    struct jv *v = jv_new(j, JV_OBJECT);
    struct jv *forms = jv_set(j, v, "anyOf", jv_new(j, JV_ARRAY));
    jv_push(j, forms, number_type(j));
    jv_push(j, forms, list);
    return v;
}

static void refine_section(struct jctx *j, const struct schema_section *s, struct jv *v, bool partial)
{
    if (!strcmp(s->name, "normalize (fixed)")) {
        /* check_cross_rules: std gives as many values as mean, when both are written. JSON
         * Schema cannot compare two lengths, so each count is a rule of its own: counts up to
         * NORMALIZE_COUNT_RULES (every image's channels, small tables); longer lists are
         * checked by netspec alone. */
        enum { NORMALIZE_COUNT_RULES = 16 };
        const struct schema_field *mean = schema_find(s, "mean");
        int top = mean && (int)mean->max < NORMALIZE_COUNT_RULES ? (int)mean->max : NORMALIZE_COUNT_RULES;
        for (int n = mean ? (int)mean->min : 1; mean && schema_find(s, "std") && n <= top; n++) {
            struct jv *cond = has_key(j, "mean", count_of(j, n));
            jv_push(j, jv_get(cond, "required"), jv_string(j, "std"));
            struct jv *then = jv_new(j, JV_OBJECT);
            jv_set(j, jv_set(j, then, "properties", jv_new(j, JV_OBJECT)), "std", count_of(j, n));
            add_rule(j, v, if_then(j, cond, then));
        }
    } else if (!strcmp(s->name, "optimizer (sgd)") && !partial && schema_find(s, "nesterov")) {
        /* check_cross_rules: nesterov needs momentum above 0, which may come from a base spec
         * in the partial form. */
        struct jv *yes = jv_new(j, JV_OBJECT);
        jv_set(j, yes, "const", jv_bool(j, true));
        struct jv *then = has_key(j, "momentum", jv_new(j, JV_OBJECT));
        jv_set(j, jv_get(jv_get(then, "properties"), "momentum"), "exclusiveMinimum", jv_double(j, 0));
        add_rule(j, v, if_then(j, has_key(j, "nesterov", yes), then));
    } else if (!strcmp(s->name, "data (image_folder)")) {
        /* folder_split_parts: a test or validation folder replaces that part of root's split,
         * which may then only be written as 0. */
        static const char *const parts[] = {"test", "validation"};
        struct jv *split = property(v, "split");
        for (int i = 0; i < 2 && split; i++) {
            if (!property(v, parts[i]) || !property(split, parts[i]))
                continue;
            struct jv *zero = jv_new(j, JV_OBJECT);
            jv_set(j, zero, "const", jv_int(j, 0));
            struct jv *then = jv_new(j, JV_OBJECT);
            struct jv *split_props = jv_set(j, jv_set(j, jv_set(j, then, "properties", jv_new(j, JV_OBJECT)), "split",
                                                      jv_new(j, JV_OBJECT)),
                                            "properties", jv_new(j, JV_OBJECT));
            jv_set(j, split_props, parts[i], zero);
            add_rule(j, v, if_then(j, has_key(j, parts[i], jv_new(j, JV_OBJECT)), then));
        }
    } else if (!strcmp(s->name, "data (csv)")) {
        /* check_cross_rules: augment flips and crops images; a CSV row may only keep them off. */
        struct jv *augment = property(v, "augment");
        if (augment && property(augment, "hflip") && property(augment, "random_crop")) {
            struct jv *off = jv_new(j, JV_OBJECT);
            struct jv *props = jv_set(j, off, "properties", jv_new(j, JV_OBJECT));
            jv_set(j, jv_set(j, props, "hflip", jv_new(j, JV_OBJECT)), "const", jv_bool(j, false));
            jv_set(j, jv_set(j, props, "random_crop", jv_new(j, JV_OBJECT)), "const", jv_int(j, 0));
            add_rule(j, augment, off);
        }
    }
}

/* The whole spec's rules across sections (check_cross_rules), for the strict form. */
static void add_cross_section_rules(struct jctx *j, struct jv *spec)
{
    const struct schema_field *data = schema_find(&spec_schema_root, "data");
    const struct schema_field *loss = schema_find(&spec_schema_root, "loss");
    const struct schema_field *task = data ? schema_find(data->variant->cases[DATA_CSV], "task") : NULL;
    if (task && loss) {
        /* CSV regression needs the mse loss. */
        const char *mse = loss->variant->tag_names[LOSS_MSE];
        struct jv *csv = has_key(j, data->variant->tag_key, const_schema(j, data->variant->tag_names[DATA_CSV]));
        jv_push(j, jv_get(csv, "required"), jv_string(j, task->key));
        jv_set(j, jv_get(csv, "properties"), task->key, const_schema(j, task->names[TASK_REGRESSION]));
        struct jv *then = jv_new(j, JV_OBJECT);
        struct jv *forms = jv_new(j, JV_ARRAY);
        jv_push(j, forms, const_schema(j, mse));
        jv_push(j, forms, has_key(j, loss->variant->tag_key, const_schema(j, mse)));
        jv_set(j, jv_set(j, jv_set(j, then, "properties", jv_new(j, JV_OBJECT)), loss->key, jv_new(j, JV_OBJECT)),
               "anyOf", forms);
        add_rule(j, spec, if_then(j, has_key(j, data->key, csv), then));
    }
    /* Early stopping watches the validation set: with patience above 0, an image folder has a
     * validation folder, or the fraction held out for it (data.validation, or
     * data.split.validation of image folders) is above 0. */
    struct jv *patience = jv_new(j, JV_OBJECT);
    jv_set_string(j, patience, "type", "integer");
    jv_set(j, patience, "minimum", jv_int(j, 1));
    struct jv *watching = has_key(j, "train", has_key(j, "early_stopping", has_key(j, "patience", patience)));
    struct jv *above = jv_new(j, JV_OBJECT);
    jv_set(j, above, "exclusiveMinimum", jv_double(j, 0));
    struct jv *then = jv_new(j, JV_OBJECT);
    struct jv *data_forms = jv_set(j, jv_set(j, jv_set(j, then, "properties", jv_new(j, JV_OBJECT)), "data",
                                             jv_new(j, JV_OBJECT)),
                                   "anyOf", jv_new(j, JV_ARRAY));
    if (data && schema_find(data->variant->cases[DATA_IMAGE_FOLDER], "validation")) {
        struct jv *folder = jv_push(j, data_forms,
                                    has_key(j, data->variant->tag_key,
                                            const_schema(j, data->variant->tag_names[DATA_IMAGE_FOLDER])));
        jv_push(j, jv_get(folder, "required"), jv_string(j, "validation"));
    }
    struct jv *data_props = jv_set(j, jv_push(j, data_forms, jv_new(j, JV_OBJECT)), "properties", jv_new(j, JV_OBJECT));
    jv_set(j, data_props, "validation", above);
    jv_set(j, jv_set(j, jv_set(j, data_props, "split", jv_new(j, JV_OBJECT)), "properties", jv_new(j, JV_OBJECT)),
           "validation", above);
    add_rule(j, spec, if_then(j, watching, then));
}

static struct jv *field_schema(struct jctx *j, const struct schema_section *owner, const struct schema_field *f,
                               bool partial)
{
    struct jv *v = jv_new(j, JV_OBJECT);
    if (f->doc)
        jv_set_string(j, v, "description", f->doc);
    struct jv *any = jv_new(j, JV_ARRAY);
    switch (f->type) {
    case SCHEMA_INT:
        if (owner == &spec_schema_root && !strcmp(f->key, "version")) {
            jv_set_string(j, v, "type", "integer");
            jv_set(j, v, "const", jv_int(j, SPEC_VERSION));
        } else if (f->auto_ok) {
            jv_push(j, any, number_schema(j, f, true));
            jv_push(j, any, const_schema(j, "auto"));
        } else {
            add_all(j, v, number_schema(j, f, true));
        }
        break;
    case SCHEMA_SEED:
        add_all(j, v, number_schema(j, f, true));
        break;
    case SCHEMA_SIZE: {
        struct jv *bytes = jv_push(j, any, jv_new(j, JV_OBJECT));
        jv_set_string(j, bytes, "type", "integer");
        jv_set(j, bytes, "minimum", jv_int(j, 1));
        jv_set(j, bytes, "maximum", jv_int(j, SPEC_SIZE_MAX));
        /* spec_size_parse: whole bytes, or a number and a unit; not zero (a size below one
         * byte, such as 0.5B, is beyond a pattern). */
        struct jv *text = jv_push(j, any, jv_new(j, JV_OBJECT));
        jv_set_string(j, text, "type", "string");
        jv_set_string(j, text, "pattern",
                      "^(?=[0-9.]*[1-9])([0-9]+|[0-9]+(\\.[0-9]+)? ?(B|kB|KB|MB|GB|TB|KiB|MiB|GiB|TiB))$");
        if (f->auto_ok)
            jv_push(j, any, const_schema(j, "auto"));
        break;
    }
    case SCHEMA_FLOAT:
        add_all(j, v, number_schema(j, f, false));
        break;
    case SCHEMA_BOOL:
        jv_set_string(j, v, "type", "boolean");
        break;
    case SCHEMA_STRING:
    case SCHEMA_PATH:
        add_all(j, v, text_schema(j));
        break;
    case SCHEMA_ENUM:
        jv_set_string(j, v, "type", "string");
        jv_set(j, v, "enum", jv_string_array(j, f->names));
        break;
    case SCHEMA_SHAPE:
        jv_push(j, any, int_array_schema(j, f, 3));
        jv_push(j, any, int_array_schema(j, f, 1));
        if (f->auto_ok)
            jv_push(j, any, const_schema(j, "auto"));
        break;
    case SCHEMA_PAIR:
        jv_push(j, any, number_schema(j, f, true));
        jv_push(j, any, int_array_schema(j, f, 2));
        if (f->auto_ok)
            jv_push(j, any, const_schema(j, "auto"));
        break;
    case SCHEMA_PADDING: {
        static const char *const modes[] = {"same", "valid", NULL};
        struct jv *named = jv_push(j, any, jv_new(j, JV_OBJECT));
        jv_set_string(j, named, "type", "string");
        jv_set(j, named, "enum", jv_string_array(j, modes));
        jv_push(j, any, number_schema(j, f, true));
        jv_push(j, any, int_array_schema(j, f, 2));
        break;
    }
    case SCHEMA_NAMES:
        any = one_or_list_schema(j, f, text_schema);
        break;
    case SCHEMA_FLOATS:
        any = one_or_list_schema(j, f, number_type);
        break;
    case SCHEMA_SECTION:
        add_all(j, v, section_schema(j, f->section, partial));
        /* A section written with no value is an empty one (`train:`): fine where every key
         * may be left out. */
        if (partial || !section_requires_keys(f->section)) {
            static const char *const object_or_null[] = {"object", "null", NULL};
            jv_put(j, v, "type", jv_string_array(j, object_or_null));
        }
        break;
    case SCHEMA_VARIANT:
        add_all(j, v, variant_schema(j, f->variant, partial));
        break;
    case SCHEMA_LAYERS:
        jv_set_string(j, v, "type", "array");
        if (has_range(f)) {
            jv_set(j, v, "minItems", jv_int(j, (long long)f->min));
            jv_set(j, v, "maxItems", jv_int(j, (long long)f->max));
        }
        jv_set(j, jv_set(j, v, "items", jv_new(j, JV_OBJECT)), "$ref", jv_string(j, "#/$defs/layer"));
        break;
    }
    if (any->count)
        jv_set(j, v, "anyOf", any);
    if (f->def)
        jv_set(j, v, "default", default_json(j, f));
    refine_field(j, owner, f, v);
    return v;
}

/* {"type": "object", ...} for a section; `tag`/`tag_value` pin a variant case's tag key to
 * one name, and `tag_required` says whether the case needs it written. */
static struct jv *object_schema(struct jctx *j, const struct schema_section *s, bool partial, const char *tag,
                                const char *tag_value, bool tag_required)
{
    struct jv *v = jv_new(j, JV_OBJECT);
    jv_set_string(j, v, "type", "object");
    jv_set(j, v, "additionalProperties", jv_bool(j, false));
    struct jv *props = jv_new(j, JV_OBJECT);
    struct jv *required = jv_new(j, JV_ARRAY);
    for (size_t i = 0; i < s->field_count; i++) {
        const struct schema_field *f = &s->fields[i];
        bool is_tag = tag && !strcmp(f->key, tag);
        if (is_tag) {
            struct jv *p = jv_set(j, props, f->key, jv_new(j, JV_OBJECT));
            if (f->doc)
                jv_set_string(j, p, "description", f->doc);
            jv_set_string(j, p, "const", tag_value);
        } else {
            jv_set(j, props, f->key, field_schema(j, s, f, partial));
        }
        if (partial)
            continue;
        if (is_tag ? tag_required : f->required)
            jv_push(j, required, jv_string(j, f->key));
    }
    if (required->count)
        jv_set(j, v, "required", required);
    jv_set(j, v, "properties", props);
    refine_section(j, s, v, partial);
    return v;
}

static struct jv *section_schema(struct jctx *j, const struct schema_section *s, bool partial)
{
    return object_schema(j, s, partial, NULL, NULL, false);
}

static struct jv *variant_schema(struct jctx *j, const struct schema_variant *var, bool partial)
{
    struct jv *v = jv_new(j, JV_OBJECT);
    struct jv *cases = jv_new(j, JV_ARRAY);
    if (var->scalar_ok) {
        struct jv *c = jv_push(j, cases, jv_new(j, JV_OBJECT));
        jv_set(j, c, "description",
               jv_string(j, ns_arena_printf(&j->arena, "shorthand: `NAME` means `{%s: NAME}`", var->tag_key)));
        jv_set_string(j, c, "type", "string");
        jv_set(j, c, "enum", jv_string_array(j, var->tag_names));
    }
    for (size_t i = 0; var->tag_names[i]; i++) {
        const struct schema_section *s = var->cases[i];
        /* Only the default case may leave its tag out; the others need it, which also makes
         * the cases mutually exclusive for oneOf. */
        bool is_default = var->default_tag && !strcmp(var->default_tag, var->tag_names[i]);
        struct jv *c = jv_push(j, cases, jv_new(j, JV_OBJECT));
        jv_set_string(j, c, "title", s->name);
        add_all(j, c, object_schema(j, s, partial, var->tag_key, var->tag_names[i], !is_default));
    }
    /* No value (`optimizer:`) is the default case with every default. */
    if (var->default_tag || partial) {
        struct jv *c = jv_push(j, cases, jv_new(j, JV_OBJECT));
        jv_set(j, c, "description",
               jv_string(j, var->default_tag ? ns_arena_printf(&j->arena, "no value: %s with every default", var->default_tag)
                                             : "no value: the base spec's"));
        jv_set_string(j, c, "type", "null");
    }
    /* A partial spec may leave the tag to its base, so more than one case can match. */
    jv_set(j, v, partial ? "anyOf" : "oneOf", cases);
    return v;
}

/* An op joining several branches must name them: the default input is only the layer
 * before. */
static bool op_needs_from(const struct spec_layer_type *op)
{
    return op->min_inputs > 1;
}

/* Whether a layer of this op may be written without its keys (`- flatten`, `- flatten:`),
 * or with only the value of `except` (the shorthand). */

static bool op_bare_ok(const struct spec_layer_type *op, const char *except)
{
    if (op_needs_from(op))
        return false;
    for (size_t i = 0; op->param_schema && i < op->param_schema->field_count; i++) {
        const struct schema_field *f = &op->param_schema->fields[i];
        if (f->required && !(except && !strcmp(f->key, except)))
            return false;
    }
    return true;
}

static const char name_doc[] = "the layer's name, for `from:` of later layers (default: the op name and the layer's index)";
static const char from_doc[] =
    "the layer or layers (by name) whose outputs feed this one; default: the previous layer";

static struct jv *op_schema(struct jctx *j, const struct spec_layer_type *op)
{
    struct jv *v = jv_new(j, JV_OBJECT);
    jv_set_string(j, v, "title", op->name);
    if (op->doc)
        jv_set_string(j, v, "description", op->doc);
    jv_set_string(j, v, "type", "object");
    jv_set(j, v, "additionalProperties", jv_bool(j, false));
    struct jv *req = jv_set(j, v, "required", jv_new(j, JV_ARRAY));
    jv_push(j, req, jv_string(j, op->name));
    struct jv *props = jv_set(j, v, "properties", jv_new(j, JV_OBJECT));

    struct jv *params;
    if (op->param_schema) {
        params = section_schema(j, op->param_schema, false);
    } else {
        params = jv_new(j, JV_OBJECT);
        jv_set_string(j, params, "type", "object");
        jv_set(j, params, "additionalProperties", jv_bool(j, false));
        jv_set(j, params, "properties", jv_new(j, JV_OBJECT));
    }
    /* The keys every layer takes, whatever its op. */
    struct jv *pprops = jv_get(params, "properties");
    struct jv *name = jv_set(j, pprops, "name", jv_new(j, JV_OBJECT));
    jv_set_string(j, name, "description", name_doc);
    /* The validator's rule for layer names, "input" reserved; a YAML boolean is the name
     * "true" or "false" to netspec. */
    struct jv *name_forms = jv_set(j, name, "anyOf", jv_new(j, JV_ARRAY));
    struct jv *text = jv_push(j, name_forms, jv_new(j, JV_OBJECT));
    jv_set_string(j, text, "type", "string");
    jv_set_string(j, text, "pattern", "^[A-Za-z_][A-Za-z0-9_.-]*$");
    jv_set(j, jv_set(j, text, "not", jv_new(j, JV_OBJECT)), "const", jv_string(j, "input"));
    jv_set_string(j, jv_push(j, name_forms, jv_new(j, JV_OBJECT)), "type", "boolean");
    struct jv *from = jv_set(j, pprops, "from", jv_new(j, JV_OBJECT));
    jv_set_string(j, from, "description", from_doc);
    struct jv *from_list = jv_new(j, JV_OBJECT);
    jv_set_string(j, from_list, "type", "array");
    jv_set(j, jv_set(j, from_list, "items", jv_new(j, JV_OBJECT)), "type", jv_string(j, "string"));
    jv_set(j, from_list, "minItems", jv_int(j, op->min_inputs > 1 ? op->min_inputs : 1));
    jv_set(j, from_list, "maxItems", jv_int(j, op->max_inputs > 1 ? op->max_inputs : 1));
    if (op_needs_from(op)) {
        add_all(j, from, from_list);
    } else {
        struct jv *forms = jv_set(j, from, "anyOf", jv_new(j, JV_ARRAY));
        jv_set(j, jv_push(j, forms, jv_new(j, JV_OBJECT)), "type", jv_string(j, "string"));
        jv_push(j, forms, from_list);
    }
    if (op_needs_from(op)) {
        struct jv *preq = jv_get(params, "required");
        if (!preq) {
            /* Keep "required" before "properties" like every other object. */
            struct jv *rebuilt = jv_new(j, JV_OBJECT);
            for (size_t i = 0; i < params->count; i++) {
                if (!strcmp(params->keys[i], "properties"))
                    preq = jv_set(j, rebuilt, "required", jv_new(j, JV_ARRAY));
                jv_set(j, rebuilt, params->keys[i], params->items[i]);
            }
            params = rebuilt;
        }
        jv_push(j, preq, jv_string(j, "from"));
    }

    struct jv *forms = jv_new(j, JV_ARRAY);
    jv_push(j, forms, params);
    if (op->shorthand_key && op->param_schema && op_bare_ok(op, op->shorthand_key)) {
        const struct schema_field *f = schema_find(op->param_schema, op->shorthand_key);
        if (f) {
            struct jv *sh = jv_push(j, forms, field_schema(j, op->param_schema, f, false));
            /* The shorthand's own doc is on the key; say what the bare value means instead. */
            if (sh->count && !strcmp(sh->keys[0], "description"))
                sh->items[0] = jv_string(j, ns_arena_printf(&j->arena, "shorthand: `- %s: VALUE` means `- %s: {%s: VALUE}`",
                                                            op->name, op->name, f->key));
        }
    }
    if (op_bare_ok(op, NULL)) {
        struct jv *null = jv_push(j, forms, jv_new(j, JV_OBJECT));
        jv_set_string(j, null, "description", "no keys: every parameter takes its default");
        jv_set_string(j, null, "type", "null");
    }
    struct jv *value = jv_set(j, props, op->name, jv_new(j, JV_OBJECT));
    if (forms->count == 1)
        add_all(j, value, params);
    else
        jv_set(j, value, "anyOf", forms);
    return v;
}

/* Fills `v` ($defs/layer) and adds one $defs entry per op after it. */
static void layer_schema(struct jctx *j, const struct spec_layer_catalog *catalog, struct jv *v,
                         struct jv *defs)
{
    jv_set_string(j, v, "description",
                  "one layer: `- op: {key: value, ...}`, `- op: VALUE` for the op's main key, or a bare `- op`");
    struct jv *forms = jv_set(j, v, "oneOf", jv_new(j, JV_ARRAY));
    struct jv *bare = jv_new(j, JV_OBJECT);
    jv_set_string(j, bare, "description", "an op that needs no keys, with its defaults");
    jv_set_string(j, bare, "type", "string");
    struct jv *bare_names = jv_set(j, bare, "enum", jv_new(j, JV_ARRAY));
    for (size_t i = 0; i < catalog->count; i++) {
        const struct spec_layer_type *op = catalog->types[i];
        if (op_bare_ok(op, NULL))
            jv_push(j, bare_names, jv_string(j, op->name));
    }
    if (bare_names->count)
        jv_push(j, forms, bare);
    for (size_t i = 0; i < catalog->count; i++) {
        const struct spec_layer_type *op = catalog->types[i];
        const char *def_name = ns_arena_printf(&j->arena, "layer_%s", op->name);
        jv_set(j, defs, def_name, op_schema(j, op));
        struct jv *ref = jv_push(j, forms, jv_new(j, JV_OBJECT));
        jv_set(j, ref, "$ref", jv_string(j, ns_arena_printf(&j->arena, "#/$defs/%s", def_name)));
    }
}

char *spec_jsonschema(const struct spec_layer_catalog *catalog)
{
    struct jctx j = {0};
    struct jv *root = jv_new(&j, JV_OBJECT);
    jv_set_string(&j, root, "$schema", "https://json-schema.org/draft/2020-12/schema");
    jv_set_string(&j, root, "title", "netspec spec (version 1)");
    jv_set_string(&j, root, "description",
                  "A netspec spec: the data set, the network, the loss, the optimizer, the learning-rate schedule, "
                  "the training loop and the runtime, in one YAML file. Generated by `netspec schema`; "
                  "see netspec-spec(5).");
    /* The root's own properties are the lenient (partial) form, so an editor completes and
     * documents every key in any spec; the strict form applies when nothing is inherited. */
    add_all(&j, root, section_schema(&j, &spec_schema_root, true));
    struct jv *cond = jv_set(&j, root, "if", jv_new(&j, JV_OBJECT));
    struct jv *not_ = jv_set(&j, cond, "not", jv_new(&j, JV_OBJECT));
    struct jv *req = jv_set(&j, not_, "required", jv_new(&j, JV_ARRAY));
    jv_push(&j, req, jv_string(&j, "extends"));
    struct jv *then = jv_set(&j, root, "then", jv_new(&j, JV_OBJECT));
    jv_set_string(&j, then, "$ref", "#/$defs/spec");

    struct jv *defs = jv_set(&j, root, "$defs", jv_new(&j, JV_OBJECT));
    struct jv *strict = jv_set(&j, defs, "spec", jv_new(&j, JV_OBJECT));
    jv_set_string(&j, strict, "description", "a complete spec (one without `extends:`)");
    add_all(&j, strict, section_schema(&j, &spec_schema_root, false));
    add_cross_section_rules(&j, strict);
    layer_schema(&j, catalog, jv_set(&j, defs, "layer", jv_new(&j, JV_OBJECT)), defs);

    struct ns_buf out = {0};
    jv_print(&out, root, 0);
    ns_buf_puts(&out, "\n");
    ns_arena_free(&j.arena);
    return out.data;
}
