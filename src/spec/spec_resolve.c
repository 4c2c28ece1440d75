#include "spec/spec_resolve.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "core/ns_util.h"
#include "spec/spec_schema.h"
#include "spec/spec_size.h"

/* Words some YAML reader (1.1 or 1.2) takes for a bool or null; compared case-insensitively
 * because 1.1 readers accept "True", "OFF" and friends. */
static const char *const reserved_words[] = {"null", "true", "false", "yes", "no", "on", "off", "y", "n", NULL};

static bool is_plain_char(unsigned char c)
{
    /* A deliberately small set: anything outside it (':', '#', ',', brackets, quotes...)
     * means something in block or flow YAML, and quoting is always safe. */
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80 ||
           c == ' ' || c == '_' || c == '-' || c == '.' || c == '/' || c == '+' || c == '(' || c == ')' ||
           c == '=';
}

/* YAML 1.1 readers (libyaml) break lines at NEL, LS and PS too, and a BOM is never content:
 * these must be escaped. Returns the escape and the sequence's length, or NULL. */
static const char *unicode_escape(const unsigned char *p, size_t *len)
{
    if (p[0] == 0xC2 && p[1] == 0x85) {
        *len = 2;
        return "\\N";
    }
    if (p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9)) {
        *len = 3;
        return p[2] == 0xA8 ? "\\L" : "\\P";
    }
    if (p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) {
        *len = 3;
        return "\\uFEFF";
    }
    return NULL;
}

bool spec_resolve_plain_ok(const char *text)
{
    size_t n = strlen(text);
    if (n == 0)
        return false;
    unsigned char first = (unsigned char)text[0];
    /* '-', '.', '+' first could start a number (-1, .5, .inf) or a sequence entry. */
    if (!((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z') || first == '_' || first == '/' ||
          first >= 0x80))
        return false;
    if (text[n - 1] == ' ')
        return false;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        if (!is_plain_char((unsigned char)text[i]) || unicode_escape((const unsigned char *)text + i, &len))
            return false;
    }
    for (size_t i = 0; reserved_words[i]; i++)
        if (strcasecmp(text, reserved_words[i]) == 0)
            return false;
    /* "inf", "nan", "infinity": strtod reads them as numbers, so a number field would too. */
    char *end = NULL;
    (void)strtod(text, &end);
    if (end && *end == '\0')
        return false;
    return true;
}

void spec_resolve_put_string(struct ns_buf *out, const char *text)
{
    if (spec_resolve_plain_ok(text)) {
        ns_buf_puts(out, text);
        return;
    }
    ns_buf_puts(out, "\"");
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        size_t len;
        const char *esc = unicode_escape(p, &len);
        if (esc) {
            ns_buf_puts(out, esc);
            p += len - 1;
            continue;
        }
        switch (*p) {
        case '"':
            ns_buf_puts(out, "\\\"");
            break;
        case '\\':
            ns_buf_puts(out, "\\\\");
            break;
        case '\n':
            ns_buf_puts(out, "\\n");
            break;
        case '\t':
            ns_buf_puts(out, "\\t");
            break;
        case '\r':
            ns_buf_puts(out, "\\r");
            break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                ns_buf_printf(out, "\\x%02x", *p);
            else
                ns_buf_append(out, (const char *)p, 1);
        }
    }
    ns_buf_puts(out, "\"");
}

void spec_resolve_format_double(double value, char out[SPEC_RESOLVE_DOUBLE_MAX])
{
    if (isnan(value)) {
        strcpy(out, ".nan");
        return;
    }
    if (isinf(value)) {
        strcpy(out, value < 0 ? "-.inf" : ".inf");
        return;
    }
    /* The fewest significant digits that read back exactly, as d.ddde+XX. */
    char sci[40];
    int prec = 1;
    for (; prec <= 17; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec - 1, value);
        if (strtod(sci, NULL) == value)
            break;
    }
    const char *p = sci;
    bool negative = *p == '-';
    if (negative)
        p++;
    char digits[24];
    size_t n = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.' && n + 1 < sizeof digits)
            digits[n++] = *p;
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = '\0';
    int exp = *p == 'e' ? atoi(p + 1) : 0;

    /* Positional for everyday magnitudes, like Python's repr; the exponent form always has a
     * '.' and a signed exponent, which YAML 1.1 readers need to see a float. */
    char *o = out;
    if (negative)
        *o++ = '-';
    if (exp >= 16 || exp < -4) {
        o += sprintf(o, "%c.%s", digits[0], n > 1 ? digits + 1 : "0");
        sprintf(o, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    } else if (exp >= 0) {
        for (int i = 0; i <= exp; i++)
            *o++ = (size_t)i < n ? digits[i] : '0';
        *o++ = '.';
        if ((size_t)exp + 1 < n)
            o += sprintf(o, "%s", digits + exp + 1);
        else
            *o++ = '0';
        *o = '\0';
    } else {
        o += sprintf(o, "0.");
        for (int i = 0; i < -exp - 1; i++)
            *o++ = '0';
        sprintf(o, "%s", digits);
    }
}

static void put_double(struct ns_buf *out, double value)
{
    char text[SPEC_RESOLVE_DOUBLE_MAX];
    spec_resolve_format_double(value, text);
    ns_buf_puts(out, text);
}

static void put_pair(struct ns_buf *out, int h, int w)
{
    /* A square pair reads better as one number, and the loader takes N as [N, N]. */
    if (h == w)
        ns_buf_printf(out, "%d", h);
    else
        ns_buf_printf(out, "[%d, %d]", h, w);
}

static const void *field_ptr(const void *base, const struct schema_field *f)
{
    return (const char *)base + f->offset;
}

static const struct spec_node *section_node(const void *base, size_t node_offset)
{
    const struct spec_node *node;
    memcpy(&node, (const char *)base + node_offset, sizeof node);
    return node;
}

static const struct schema_section *variant_case(const struct schema_variant *v, const void *base)
{
    int tag;
    memcpy(&tag, (const char *)base + v->tag_offset, sizeof tag);
    size_t n = 0;
    while (v->tag_names[n])
        n++;
    return tag >= 0 && (size_t)tag < n ? v->cases[tag] : NULL;
}

/* Whether a field holds something to write. Scalars always do once validated; strings,
 * lists and optional sections without a default stay absent when the user left them out. */
static bool field_present(const struct schema_field *f, const void *base)
{
    const void *p = field_ptr(base, f);
    switch (f->type) {
    case SCHEMA_STRING:
    case SCHEMA_PATH: {
        const char *s;
        memcpy(&s, p, sizeof s);
        return s != NULL;
    }
    case SCHEMA_NAMES:
        return ((const struct spec_names *)p)->count > 0;
    case SCHEMA_FLOATS:
        return ((const struct spec_floats *)p)->count > 0;
    case SCHEMA_SHAPE:
        return ((const struct spec_shape *)p)->rank > 0 || f->auto_ok;
    case SCHEMA_SECTION:
        if (f->required || f->def || !f->section->has_node)
            return true;
        return section_node(p, f->section->node_offset) != NULL;
    case SCHEMA_VARIANT:
        if (f->required || f->def)
            return true;
        return section_node(p, f->variant->node_offset) != NULL;
    default:
        return true;
    }
}

static void put_names(struct ns_buf *out, const struct spec_names *names, bool scalar_if_one)
{
    if (scalar_if_one && names->count == 1) {
        spec_resolve_put_string(out, names->names[0]);
        return;
    }
    ns_buf_puts(out, "[");
    for (size_t i = 0; i < names->count; i++) {
        if (i)
            ns_buf_puts(out, ", ");
        spec_resolve_put_string(out, names->names[i]);
    }
    ns_buf_puts(out, "]");
}

static void put_flow_section(struct ns_buf *out, const struct schema_section *section, const void *base);

/* One value on the current line (flow form for collections). */
static void put_value(struct ns_buf *out, const struct schema_field *f, const void *base)
{
    const void *p = field_ptr(base, f);
    switch (f->type) {
    case SCHEMA_INT: {
        int v = *(const int *)p;
        if (f->auto_ok && v == SPEC_AUTO)
            ns_buf_puts(out, "auto");
        else
            ns_buf_printf(out, "%d", v);
        break;
    }
    case SCHEMA_SEED:
        ns_buf_printf(out, "%lld", *(const long long *)p);
        break;
    case SCHEMA_SIZE: {
        long long v = *(const long long *)p;
        char text[SPEC_SIZE_TEXT_MAX];
        spec_size_exact(v, text);
        ns_buf_puts(out, f->auto_ok && v == SPEC_AUTO ? "auto" : text);
        break;
    }
    case SCHEMA_FLOAT:
        put_double(out, *(const double *)p);
        break;
    case SCHEMA_BOOL:
        ns_buf_puts(out, *(const bool *)p ? "true" : "false");
        break;
    case SCHEMA_STRING:
    case SCHEMA_PATH: {
        const char *s;
        memcpy(&s, p, sizeof s);
        spec_resolve_put_string(out, s);
        break;
    }
    case SCHEMA_ENUM: {
        int v = *(const int *)p;
        size_t n = 0;
        while (f->names[n])
            n++;
        ns_buf_puts(out, v >= 0 && (size_t)v < n ? f->names[v] : "?");
        break;
    }
    case SCHEMA_SHAPE: {
        const struct spec_shape *s = p;
        if (s->rank == 0) {
            ns_buf_puts(out, "auto");
            break;
        }
        ns_buf_puts(out, "[");
        for (int i = 0; i < s->rank && i < 3; i++)
            ns_buf_printf(out, "%s%d", i ? ", " : "", s->dims[i]);
        ns_buf_puts(out, "]");
        break;
    }
    case SCHEMA_PAIR: {
        const struct spec_pair *pr = p;
        if (f->auto_ok && pr->h == SPEC_AUTO && pr->w == SPEC_AUTO)
            ns_buf_puts(out, "auto");
        else
            put_pair(out, pr->h, pr->w);
        break;
    }
    case SCHEMA_PADDING: {
        const struct spec_padding *pd = p;
        if (pd->mode == SPEC_PAD_SAME)
            ns_buf_puts(out, "same");
        else if (pd->mode == SPEC_PAD_VALID)
            ns_buf_puts(out, "valid");
        else
            put_pair(out, pd->h, pd->w);
        break;
    }
    case SCHEMA_NAMES:
        put_names(out, p, false);
        break;
    case SCHEMA_FLOATS: {
        const struct spec_floats *fl = p;
        ns_buf_puts(out, "[");
        for (size_t i = 0; i < fl->count; i++) {
            if (i)
                ns_buf_puts(out, ", ");
            put_double(out, fl->values[i]);
        }
        ns_buf_puts(out, "]");
        break;
    }
    case SCHEMA_SECTION:
        put_flow_section(out, f->section, p);
        break;
    case SCHEMA_VARIANT: {
        const struct schema_section *c = variant_case(f->variant, p);
        if (c)
            put_flow_section(out, c, p);
        else
            ns_buf_puts(out, "{}");
        break;
    }
    case SCHEMA_LAYERS:
        /* Only model.layers has this type and it is always written in block form. */
        ns_buf_puts(out, "[]");
        break;
    }
}

/* `{k: v, ...}` without the closing brace, so a layer can append name and from. */
static bool put_flow_fields(struct ns_buf *out, const struct schema_section *section, const void *base)
{
    bool any = false;
    ns_buf_puts(out, "{");
    for (size_t i = 0; section && i < section->field_count; i++) {
        const struct schema_field *f = &section->fields[i];
        if (!field_present(f, base))
            continue;
        ns_buf_printf(out, "%s%s: ", any ? ", " : "", f->key);
        put_value(out, f, base);
        any = true;
    }
    return any;
}

static void put_flow_section(struct ns_buf *out, const struct schema_section *section, const void *base)
{
    put_flow_fields(out, section, base);
    ns_buf_puts(out, "}");
}

static void put_layer(struct ns_buf *out, const struct spec_layer *layer)
{
    const struct spec_layer_type *op = layer->type;
    /* A bare `- op` would drop the layer's name, and names must round-trip because `from:`
     * may refer to the generated ones. */
    ns_buf_printf(out, "%s: ", op ? op->name : "?");
    bool any = put_flow_fields(out, op ? op->param_schema : NULL, layer->params);
    ns_buf_printf(out, "%sname: ", any ? ", " : "");
    spec_resolve_put_string(out, layer->name ? layer->name : "");
    if (layer->from.count > 0) {
        ns_buf_puts(out, ", from: ");
        put_names(out, &layer->from, true);
    }
    ns_buf_puts(out, "}");
}

static void put_block_section(struct ns_buf *out, const struct schema_section *section, const void *base,
                              int indent);

static void put_block_child(struct ns_buf *out, const struct schema_section *section, const void *base,
                            int indent)
{
    struct ns_buf child = {0};
    if (section)
        put_block_section(&child, section, base, indent);
    if (child.len == 0) {
        ns_buf_puts(out, " {}\n");
    } else {
        ns_buf_puts(out, "\n");
        ns_buf_append(out, child.data, child.len);
    }
    ns_buf_free(&child);
}

static void put_block_section(struct ns_buf *out, const struct schema_section *section, const void *base,
                              int indent)
{
    for (size_t i = 0; i < section->field_count; i++) {
        const struct schema_field *f = &section->fields[i];
        /* extends is merged before validation and has no storage (offset 0). */
        if (section == &spec_schema_root && strcmp(f->key, "extends") == 0)
            continue;
        if (!field_present(f, base))
            continue;
        const void *p = field_ptr(base, f);
        ns_buf_printf(out, "%*s%s:", indent, "", f->key);
        switch (f->type) {
        case SCHEMA_SECTION:
            put_block_child(out, f->section, p, indent + 2);
            break;
        case SCHEMA_VARIANT:
            put_block_child(out, variant_case(f->variant, p), p, indent + 2);
            break;
        case SCHEMA_LAYERS: {
            /* The one SCHEMA_LAYERS field lives in struct spec_model next to its count. */
            const struct spec_model *model = base;
            if (model->layer_count == 0) {
                ns_buf_puts(out, " []\n");
                break;
            }
            ns_buf_puts(out, "\n");
            for (size_t j = 0; j < model->layer_count; j++) {
                ns_buf_printf(out, "%*s- ", indent + 2, "");
                put_layer(out, &model->layers[j]);
                ns_buf_puts(out, "\n");
            }
            break;
        }
        default:
            ns_buf_puts(out, " ");
            put_value(out, f, base);
            ns_buf_puts(out, "\n");
        }
    }
}

char *spec_resolve_yaml(const struct spec *spec)
{
    struct ns_buf out = {0};
    ns_buf_puts(&out, "# resolved by netspec " PACKAGE_VERSION
                      ": defaults written out, extends merged, --set applied\n");
    put_block_section(&out, &spec_schema_root, spec, 0);
    return out.data;
}
