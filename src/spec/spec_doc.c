#include "spec/spec_doc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/ns_util.h"
#include "spec/spec.h"
#include "spec/spec_resolve.h"

/* ---- roff text ---- */

void spec_doc_roff_text(struct ns_buf *out, const char *text)
{
    bool code = false;
    bool line_start = out->len == 0 || out->data[out->len - 1] == '\n';
    for (const char *p = text; *p; p++) {
        if (line_start && (*p == '.' || *p == '\''))
            ns_buf_puts(out, "\\&"); /* a control character would start a request */
        line_start = false;
        switch (*p) {
        case '`':
            ns_buf_puts(out, code ? "\\fR" : "\\fB");
            code = !code;
            break;
        case '\\':
            ns_buf_puts(out, "\\e");
            break;
        case '-':
            /* In code a hyphen is a real ASCII minus (`--threads`, `- dense:`). */
            ns_buf_puts(out, code ? "\\-" : "-");
            break;
        case '\n':
            ns_buf_puts(out, "\n");
            line_start = true;
            break;
        default:
            ns_buf_append(out, p, 1);
        }
    }
    if (code)
        ns_buf_puts(out, "\\fR");
}

/* A doc fragment as a sentence: capitalised when it starts with an ordinary word (not a key
 * or a value like `fail:`, `sgd,` or `valid (none)`), with a final period. */
static void put_sentence(struct ns_buf *out, const char *doc)
{
    size_t word = 0;
    while (doc[word] && (islower((unsigned char)doc[word]) || doc[word] == '-'))
        word++;
    char *copy = ns_xstrdup(doc);
    bool value_first = doc[word] == ' ' && doc[word + 1] == '(';
    if (word > 0 && !value_first && (doc[word] == ' ' || doc[word] == ';' || doc[word] == '\0'))
        copy[0] = (char)toupper((unsigned char)copy[0]);
    spec_doc_roff_text(out, copy);
    size_t n = strlen(doc);
    if (n && doc[n - 1] != '.')
        ns_buf_puts(out, ".");
    ns_buf_puts(out, "\n");
    free(copy);
}

static void put_bold_list(struct ns_buf *out, const char *const *names, const char *last_sep)
{
    for (size_t i = 0; names[i]; i++) {
        if (i)
            ns_buf_puts(out, names[i + 1] ? ", " : last_sep);
        ns_buf_puts(out, "\\fB");
        spec_doc_roff_text(out, names[i]);
        ns_buf_puts(out, "\\fR");
    }
}

/* ---- collecting the subsections ---- */

/* One subsection: a section (possibly a variant's case) and every path that reaches it. */
struct doc_item {
    const struct schema_section *section;
    const struct schema_variant *variant;
    size_t case_index;
    char *first_path;
    struct ns_buf paths;              /* "data.train, data.test" */
};

struct doc_list {
    struct doc_item *items;
    size_t count, cap;
};

static struct doc_item *find_item(struct doc_list *list, const struct schema_section *section)
{
    for (size_t i = 0; i < list->count; i++)
        if (list->items[i].section == section)
            return &list->items[i];
    return NULL;
}

static struct doc_item *add_item(struct doc_list *list, const struct schema_section *section, const char *path)
{
    struct doc_item *item = find_item(list, section);
    if (item) {
        /* The same table reached again (normalize under every data format): list the path
         * once in the title. */
        const char *p = item->paths.data;
        size_t n = strlen(path);
        bool seen = false;
        while (p && *p) {
            const char *end = strstr(p, ", ");
            size_t len = end ? (size_t)(end - p) : strlen(p);
            seen |= len == n && !strncmp(p, path, n);
            p = end ? end + 2 : p + len;
        }
        if (!seen)
            ns_buf_printf(&item->paths, ", %s", path);
        return NULL;
    }
    if (list->count == list->cap) {
        list->cap = list->cap ? list->cap * 2 : 16;
        list->items = ns_xrealloc(list->items, list->cap * sizeof *list->items);
    }
    item = &list->items[list->count++];
    memset(item, 0, sizeof *item);
    item->section = section;
    item->first_path = ns_xstrdup(path);
    ns_buf_puts(&item->paths, path);
    return item;
}

static char *child_path(const char *path, const char *key)
{
    return path[0] ? ns_asprintf("%s.%s", path, key) : ns_xstrdup(key);
}

static void collect(struct doc_list *list, const struct schema_section *section, const char *path)
{
    for (size_t i = 0; i < section->field_count; i++) {
        const struct schema_field *f = &section->fields[i];
        if (f->type != SCHEMA_SECTION && f->type != SCHEMA_VARIANT)
            continue;
        char *sub = child_path(path, f->key);
        if (f->type == SCHEMA_SECTION) {
            if (add_item(list, f->section, sub))
                collect(list, f->section, sub);
        } else {
            for (size_t c = 0; f->variant->tag_names[c]; c++) {
                struct doc_item *item = add_item(list, f->variant->cases[c], sub);
                if (!item)
                    continue;
                item->variant = f->variant;
                item->case_index = c;
                collect(list, f->variant->cases[c], sub);
            }
        }
        free(sub);
    }
}

static const struct doc_item *item_of(const struct doc_list *list, const struct schema_section *section)
{
    for (size_t i = 0; i < list->count; i++)
        if (list->items[i].section == section)
            return &list->items[i];
    return NULL;
}

static void put_title(struct ns_buf *out, const struct doc_item *item)
{
    ns_buf_puts(out, ".SS \"");
    if (item->variant)
        ns_buf_printf(out, "%s (%s: %s)", item->paths.data, item->variant->tag_key,
                      item->variant->tag_names[item->case_index]);
    else if (!item->paths.len)
        ns_buf_puts(out, "Top level");
    else
        ns_buf_puts(out, item->paths.data);
    ns_buf_puts(out, "\"\n");
}

/* ---- one key ---- */

static void put_number(struct ns_buf *out, const struct schema_field *f, double v)
{
    /* Whole numbers read better without ".0" in prose, whatever the key's type. */
    char text[SPEC_RESOLVE_DOUBLE_MAX];
    if (f->type != SCHEMA_FLOAT || (v == (double)(long long)v && v > -1e15 && v < 1e15))
        snprintf(text, sizeof text, "%.0f", v);
    else
        spec_resolve_format_double(v, text);
    ns_buf_puts(out, text[0] == '-' ? "\\-" : "");
    ns_buf_puts(out, text[0] == '-' ? text + 1 : text);
}

static void put_range(struct ns_buf *out, const struct schema_field *f)
{
    if (f->min > f->max)
        return;
    switch (f->type) {
    case SCHEMA_INT:
    case SCHEMA_SEED:
    case SCHEMA_FLOAT:
        ns_buf_puts(out, f->min_exclusive ? ", greater than " : ", from ");
        put_number(out, f, f->min);
        ns_buf_puts(out, f->min_exclusive ? " and at most " : " to ");
        put_number(out, f, f->max);
        break;
    case SCHEMA_SHAPE:
    case SCHEMA_PAIR:
        ns_buf_puts(out, ", each number from ");
        put_number(out, f, f->min);
        ns_buf_puts(out, " to ");
        put_number(out, f, f->max);
        break;
    case SCHEMA_NAMES:
    case SCHEMA_FLOATS:
    case SCHEMA_LAYERS:
        ns_buf_printf(out, ", %.0f to %.0f %s", f->min, f->max,
                      f->type == SCHEMA_NAMES ? "names" : f->type == SCHEMA_FLOATS ? "numbers" : "layers");
        break;
    default:
        break;
    }
}

static void put_type(struct ns_buf *out, const struct doc_list *list, const struct schema_field *f,
                     const char *path)
{
    switch (f->type) {
    case SCHEMA_INT:
        if (!strcmp(path, "version"))
            ns_buf_printf(out, "Integer, \\fB%d\\fR for this netspec", SPEC_VERSION);
        else
            ns_buf_puts(out, f->auto_ok ? "Integer or \\fBauto\\fR" : "Integer");
        break;
    case SCHEMA_SEED:
        ns_buf_puts(out, "Integer");
        break;
    case SCHEMA_SIZE:
        ns_buf_puts(out, "Size: bytes, or a number and a unit (\\fBB\\fR, \\fBkB\\fR, \\fBMB\\fR, \\fBGB\\fR, "
                         "\\fBTB\\fR in powers of 1000; \\fBKiB\\fR, \\fBMiB\\fR, \\fBGiB\\fR, \\fBTiB\\fR in "
                         "powers of 1024)");
        ns_buf_puts(out, f->auto_ok ? " or \\fBauto\\fR" : "");
        break;
    case SCHEMA_FLOAT:
        ns_buf_puts(out, "Number");
        break;
    case SCHEMA_BOOL:
        ns_buf_puts(out, "\\fBtrue\\fR or \\fBfalse\\fR");
        break;
    case SCHEMA_STRING:
        ns_buf_puts(out, "String");
        break;
    case SCHEMA_PATH:
        ns_buf_puts(out, "File path (a relative path is relative to the file that writes it)");
        break;
    case SCHEMA_ENUM:
        ns_buf_puts(out, "One of ");
        put_bold_list(out, f->names, " or ");
        break;
    case SCHEMA_SHAPE:
        ns_buf_puts(out, "Shape [\\fIheight\\fR, \\fIwidth\\fR, \\fIchannels\\fR] or [\\fIfeatures\\fR]");
        if (f->auto_ok)
            ns_buf_puts(out, " or \\fBauto\\fR");
        break;
    case SCHEMA_PAIR:
        ns_buf_puts(out, "Integer or [\\fIheight\\fR, \\fIwidth\\fR]");
        if (f->auto_ok)
            ns_buf_puts(out, " or \\fBauto\\fR");
        break;
    case SCHEMA_PADDING:
        ns_buf_puts(out, "\\fBsame\\fR, \\fBvalid\\fR, an integer or [\\fIheight\\fR, \\fIwidth\\fR] "
                         "(zeros added on each side)");
        break;
    case SCHEMA_NAMES:
        ns_buf_puts(out, "Name or list of names");
        break;
    case SCHEMA_FLOATS:
        ns_buf_puts(out, "Number or list of numbers");
        break;
    case SCHEMA_SECTION: {
        const struct doc_item *item = item_of(list, f->section);
        ns_buf_printf(out, "Mapping (keys under \\fI%s\\fR)", item ? item->first_path : path);
        break;
    }
    case SCHEMA_VARIANT: {
        const struct schema_variant *v = f->variant;
        ns_buf_printf(out, "Mapping whose keys depend on its \\fB%s\\fR (%s) key, one of ", v->tag_key,
                      v->default_tag ? "optional" : "required");
        put_bold_list(out, v->tag_names, " or ");
        if (v->default_tag)
            ns_buf_printf(out, " (default \\fB%s\\fR)", v->default_tag);
        if (v->scalar_ok)
            ns_buf_printf(out, "; \\fB%s:\\ \\fINAME\\fR alone means \\fB%s:\\ {%s:\\ \\fINAME\\fB}\\fR", f->key,
                          f->key, v->tag_key);
        break;
    }
    case SCHEMA_LAYERS:
        ns_buf_puts(out, "List of layers (see \\fImodel.layers\\fR and the \\fILayer\\fR subsections below)");
        break;
    }
    put_range(out, f);
    if (f->required)
        ns_buf_puts(out, "; required");
    else if (f->def && (f->type == SCHEMA_SECTION || f->type == SCHEMA_VARIANT) && !strcmp(f->def, "{}"))
        ns_buf_puts(out, "; may be left out: every key takes its default");
    else if (f->def) {
        ns_buf_puts(out, "; default \\fB");
        spec_doc_roff_text(out, f->def);
        ns_buf_puts(out, "\\fR");
    } else
        ns_buf_puts(out, "; optional");
    ns_buf_puts(out, ".\n");
}

static void put_key(struct ns_buf *out, const struct doc_list *list, const struct schema_field *f,
                    const char *path)
{
    ns_buf_printf(out, ".TP\n.B %s\n", f->key);
    put_type(out, list, f, path);
    if (f->doc)
        put_sentence(out, f->doc);
}

static void put_section_keys(struct ns_buf *out, const struct doc_list *list, const struct doc_item *item)
{
    const struct schema_section *s = item->section;
    for (size_t i = 0; s && i < s->field_count; i++) {
        const struct schema_field *f = &s->fields[i];
        if (item->variant && !strcmp(f->key, item->variant->tag_key)) {
            /* In a case, the tag has one value; its doc says what the others are. */
            const char *name = item->variant->tag_names[item->case_index];
            ns_buf_printf(out, ".TP\n.B %s\n\\fB%s\\fR selects the keys of this subsection", f->key, name);
            if (item->variant->default_tag && !strcmp(item->variant->default_tag, name))
                ns_buf_printf(out, "; the default when \\fB%s\\fR is left out", f->key);
            else
                ns_buf_puts(out, "; required");
            ns_buf_puts(out, ".\n");
            if (f->doc)
                put_sentence(out, f->doc);
            continue;
        }
        char *sub = child_path(item->first_path, f->key);
        put_key(out, list, f, sub);
        free(sub);
    }
}

/* ---- layers ---- */

static void put_op(struct ns_buf *out, const struct doc_list *list, const struct spec_layer_type *op)
{
    ns_buf_printf(out, ".SS \"Layer: %s\"\n", op->name);
    if (op->doc)
        put_sentence(out, op->doc);
    ns_buf_puts(out, ".PP\n");
    if (op->min_inputs > 1)
        ns_buf_printf(out, "Joins %d to %d inputs, named by \\fBfrom\\fR (required).\n", op->min_inputs,
                      op->max_inputs);
    else if (op->max_inputs > 1)
        ns_buf_printf(out, "Takes 1 to %d inputs: the previous layer, or the layers named by \\fBfrom\\fR.\n",
                      op->max_inputs);
    else
        ns_buf_puts(out, "Takes one input: the previous layer, or the layer named by \\fBfrom\\fR.\n");
    bool bare = op->min_inputs <= 1;
    for (size_t i = 0; op->param_schema && i < op->param_schema->field_count; i++)
        bare &= !op->param_schema->fields[i].required;
    if (bare)
        ns_buf_printf(out, "May be written bare, \\fB\\- %s\\fR, to take every default.\n", op->name);
    if (op->shorthand_key)
        ns_buf_printf(out, "\\fB\\- %s:\\ \\fIVALUE\\fR is short for \\fB\\- %s:\\ {%s:\\ \\fIVALUE\\fB}\\fR.\n",
                      op->name, op->name, op->shorthand_key);
    if (!op->param_schema || op->param_schema->field_count == 0) {
        ns_buf_puts(out, "It has no keys besides \\fBname\\fR and \\fBfrom\\fR.\n");
        return;
    }
    ns_buf_puts(out, "Its keys, besides \\fBname\\fR and \\fBfrom\\fR:\n");
    char *path = ns_asprintf("%s", op->name);
    for (size_t i = 0; i < op->param_schema->field_count; i++) {
        char *sub = child_path(path, op->param_schema->fields[i].key);
        put_key(out, list, &op->param_schema->fields[i], sub);
        free(sub);
    }
    free(path);
}

static void put_layer_common(struct ns_buf *out)
{
    ns_buf_puts(out, ".SS \"model.layers\"\n"
                     "Each item of \\fBmodel.layers\\fR is one layer: \\fB\\- \\fIop\\fB:\\ {\\fIkey\\fB:\\ "
                     "\\fIvalue\\fB, ...}\\fR, \\fB\\- \\fIop\\fB:\\ \\fIvalue\\fR for an op with a shorthand key, "
                     "or a bare \\fB\\- \\fIop\\fR.\n"
                     "Besides its own keys, every layer takes these:\n"
                     ".TP\n.B name\n"
                     "String of letters, digits, \\fB_\\fR, \\fB\\-\\fR and \\fB.\\fR, starting with a letter or "
                     "\\fB_\\fR; default: the op name followed by the layer's index (\\fBdense3\\fR).\n"
                     "Names must be unique; \\fBinput\\fR is reserved for the model input.\n"
                     ".TP\n.B from\n"
                     "Name or list of names of earlier layers (or \\fBinput\\fR); default: the previous layer.\n"
                     "The outputs of these layers feed this one, so the model can branch and join.\n");
}

void spec_doc_man_keys(struct ns_buf *out, const struct spec_layer_catalog *catalog)
{
    struct doc_list list = {0};
    add_item(&list, &spec_schema_root, "");
    collect(&list, &spec_schema_root, "");
    size_t spec_items = list.count;
    for (size_t i = 0; i < catalog->count; i++) {
        const struct spec_layer_type *op = catalog->types[i];
        if (op->param_schema)
            collect(&list, op->param_schema, op->name);
    }

    for (size_t i = 0; i < spec_items; i++) {
        put_title(out, &list.items[i]);
        if (list.items[i].section == &spec_schema_root)
            ns_buf_puts(out, "The keys of the spec itself.\n");
        put_section_keys(out, &list, &list.items[i]);
    }
    put_layer_common(out);
    for (size_t i = 0; i < catalog->count; i++)
        put_op(out, &list, catalog->types[i]);
    /* Sections nested inside op parameters, if an op ever has one. */
    for (size_t i = spec_items; i < list.count; i++) {
        put_title(out, &list.items[i]);
        put_section_keys(out, &list, &list.items[i]);
    }
    for (size_t i = 0; i < list.count; i++) {
        free(list.items[i].first_path);
        ns_buf_free(&list.items[i].paths);
    }
    free(list.items);
}
