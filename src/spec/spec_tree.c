#include "spec/spec_tree.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/ns_file.h"
#include "core/ns_util.h"

struct anchor {
    char *name;
    struct spec_node *node;
};

struct builder {
    struct ns_ctx *ctx;
    const char *file;
    struct spec_node *stack[SPEC_TREE_MAX_DEPTH + 1];
    /* For maps under construction: the pending key (NULL while a key is expected). */
    struct spec_node *pending_key[SPEC_TREE_MAX_DEPTH + 1];
    char *stack_anchor[SPEC_TREE_MAX_DEPTH + 1];
    int depth;
    struct anchor *anchors;
    size_t anchor_count, anchor_cap;
    struct spec_node *root;
    int documents;
    size_t total_weight;
    bool failed;
};

static struct ns_loc loc_at(const char *file, int line, int col)
{
    return (struct ns_loc){file, line, col, 1};
}

static struct spec_node *node_new(struct ns_ctx *ctx, enum spec_node_kind kind, const char *file,
                                  int line, int col)
{
    struct spec_node *n = ns_arena_new(&ctx->arena, struct spec_node);
    n->kind = kind;
    n->file = file;
    n->line = line;
    n->col = col;
    n->weight = 1;
    return n;
}

static void push_item(struct ns_ctx *ctx, struct spec_node *parent, struct spec_node *key,
                      struct spec_node *value)
{
    /* Grow by doubling inside the arena; the old array is simply abandoned. */
    if (parent->count == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 4;
        struct spec_node **items = ns_arena_array(&ctx->arena, struct spec_node *, cap);
        if (parent->count)
            memcpy(items, parent->items, parent->count * sizeof *items);
        parent->items = items;
        if (parent->kind == SPEC_MAP) {
            struct spec_node **keys = ns_arena_array(&ctx->arena, struct spec_node *, cap);
            if (parent->count)
                memcpy(keys, parent->keys, parent->count * sizeof *keys);
            parent->keys = keys;
        }
        parent->cap = cap;
    }
    if (parent->kind == SPEC_MAP)
        parent->keys[parent->count] = key;
    parent->items[parent->count++] = value;
    parent->weight += value->weight;
}

long spec_tree_find(const struct spec_node *map, const char *key)
{
    if (!map || map->kind != SPEC_MAP)
        return -1;
    for (size_t i = 0; i < map->count; i++)
        if (strcmp(map->keys[i]->text, key) == 0)
            return (long)i;
    return -1;
}

struct spec_node *spec_tree_get(const struct spec_node *map, const char *key)
{
    long i = spec_tree_find(map, key);
    return i < 0 ? NULL : map->items[i];
}

bool spec_tree_is_null(const struct spec_node *node)
{
    if (!node || node->kind != SPEC_SCALAR || !node->plain)
        return false;
    const char *t = node->text;
    return !*t || !strcmp(t, "~") || !strcmp(t, "null") || !strcmp(t, "Null") || !strcmp(t, "NULL");
}

const char *spec_tree_kind_name(const struct spec_node *node)
{
    if (!node)
        return "nothing";
    switch (node->kind) {
    case SPEC_MAP:
        return node->count ? "a mapping" : "an empty mapping";
    case SPEC_SEQ:
        return node->count ? "a list" : "an empty list";
    case SPEC_SCALAR:
        return spec_tree_is_null(node) ? "null" : "a scalar";
    }
    return "?";
}

/* Attaches a finished node to its parent (or makes it the root). */
static void attach(struct builder *b, struct spec_node *node, const char *anchor)
{
    struct ns_ctx *ctx = b->ctx;
    if (anchor) {
        if (b->anchor_count == b->anchor_cap) {
            b->anchor_cap = b->anchor_cap ? b->anchor_cap * 2 : 8;
            b->anchors = ns_xrealloc(b->anchors, b->anchor_cap * sizeof *b->anchors);
        }
        /* A redefined anchor shadows the earlier one, as YAML says. */
        b->anchors[b->anchor_count++] = (struct anchor){ns_xstrdup(anchor), node};
    }
    if (b->depth == 0) {
        b->root = node;
        return;
    }
    struct spec_node *parent = b->stack[b->depth - 1];
    if (parent->kind == SPEC_SEQ) {
        push_item(ctx, parent, NULL, node);
        return;
    }
    struct spec_node **pending = &b->pending_key[b->depth - 1];
    if (!*pending) {
        if (node->kind != SPEC_SCALAR) {
            ns_diag_add(&ctx->diag, NS_ERR_SPEC, loc_at(b->file, node->line, node->col), NULL,
                        "mapping keys must be plain names, not %s", spec_tree_kind_name(node));
            b->failed = true;
            /* Keep building with a placeholder so all errors of the file are found. */
            node = spec_tree_new_scalar(ctx, b->file, node->line, node->col, "?", true);
        }
        *pending = node;
        return;
    }
    struct spec_node *key = *pending;
    *pending = NULL;
    long dup = spec_tree_find(parent, key->text);
    if (dup >= 0 && strcmp(key->text, "<<") != 0) {
        const struct spec_node *first = parent->keys[dup];
        ns_diag_add(&ctx->diag, NS_ERR_SPEC,
                    (struct ns_loc){b->file, key->line, key->col, (int)key->text_len},
                    NULL, "duplicate key \"%s\" (first defined at line %d)", key->text, first->line);
        b->failed = true;
        return;
    }
    push_item(ctx, parent, key, node);
}

/* YAML 1.1 merge keys (`<<: *base`): entries of the merged maps that the map does not set
 * itself are added, in order. Applied when the map is complete so explicit keys always win. */
static void apply_merge_keys(struct builder *b, struct spec_node *map)
{
    long at = spec_tree_find(map, "<<");
    if (at < 0 || !map->keys[at]->plain)
        return;
    struct spec_node *src = map->items[at];
    /* Remove the "<<" pair itself. */
    for (size_t i = (size_t)at; i + 1 < map->count; i++) {
        map->keys[i] = map->keys[i + 1];
        map->items[i] = map->items[i + 1];
    }
    map->count--;
    size_t nsrc = src->kind == SPEC_SEQ ? src->count : 1;
    for (size_t s = 0; s < nsrc; s++) {
        struct spec_node *m = src->kind == SPEC_SEQ ? src->items[s] : src;
        if (m->kind != SPEC_MAP) {
            ns_diag_add(&b->ctx->diag, NS_ERR_SPEC, loc_at(b->file, m->line, m->col), NULL,
                        "merge key \"<<\" needs a mapping or a list of mappings, not %s",
                        spec_tree_kind_name(m));
            b->failed = true;
            return;
        }
        for (size_t i = 0; i < m->count; i++)
            if (spec_tree_find(map, m->keys[i]->text) < 0)
                push_item(b->ctx, map, m->keys[i], m->items[i]);
    }
}

static void report_yaml_error(struct builder *b, const yaml_parser_t *parser)
{
    const char *problem = parser->problem ? parser->problem : "malformed YAML";
    const yaml_mark_t *mark = &parser->problem_mark;
    struct ns_buf hint = {0};
    if (parser->context)
        ns_buf_printf(&hint, "%s (line %zu)", parser->context, parser->context_mark.line + 1);
    if (strstr(problem, "cannot start any token"))
        ns_buf_printf(&hint, "%sa value starting with '@', '`' or a tab must be quoted",
                      hint.len ? "\n" : "");
    ns_diag_add(&b->ctx->diag, NS_ERR_SPEC,
                loc_at(b->file, (int)mark->line + 1, (int)mark->column + 1), hint.data,
                "YAML syntax: %s", problem);
    ns_buf_free(&hint);
    b->failed = true;
}

/* libyaml's message for a tab in indentation is cryptic; find tabs first and say so. */
static bool check_tabs(struct ns_ctx *ctx, const char *file, const char *data, size_t size)
{
    int line = 1;
    bool ok = true, at_indent = true;
    int col = 1, reported = 0;
    for (size_t i = 0; i < size; i++) {
        char c = data[i];
        if (c == '\n') {
            line++;
            col = 1;
            at_indent = true;
            continue;
        }
        if (at_indent && c == '\t') {
            if (reported++ < 10)
                ns_diag_add(&ctx->diag, NS_ERR_SPEC, loc_at(file, line, col),
                            "YAML indents with spaces only; replace the tab with spaces",
                            "tab character in indentation");
            ok = false;
            at_indent = false;
        } else if (c != ' ' && c != '-') {
            at_indent = false;
        }
        col++;
    }
    return ok;
}

struct spec_node *spec_tree_parse(struct ns_ctx *ctx, const char *file, const char *data, size_t size)
{
    struct builder b = {.ctx = ctx, .file = ns_arena_strdup(&ctx->arena, file)};
    if (size > SPEC_TREE_MAX_BYTES) {
        ns_diag_add(&ctx->diag, NS_ERR_SPEC, loc_at(b.file, 0, 0), NULL,
                    "file is %zu bytes; a spec may be at most %d MiB", size,
                    SPEC_TREE_MAX_BYTES >> 20);
        return NULL;
    }
    if (memchr(data, '\0', size)) {
        const char *z = memchr(data, '\0', size);
        int line = 1;
        for (const char *p = data; p < z; p++)
            line += *p == '\n';
        ns_diag_add(&ctx->diag, NS_ERR_SPEC, loc_at(b.file, line, 1), NULL,
                    "file contains a NUL byte; a spec is UTF-8 text");
        return NULL;
    }
    if (!check_tabs(ctx, b.file, data, size))
        return NULL;

    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        ns_diag_add(&ctx->diag, NS_ERR_INTERNAL, loc_at(b.file, 0, 0), NULL,
                    "cannot initialise the YAML parser");
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, size);
    bool done = false;
    while (!done && !b.failed) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            report_yaml_error(&b, &parser);
            break;
        }
        int line = (int)ev.start_mark.line + 1, col = (int)ev.start_mark.column + 1;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++b.documents > 1) {
                ns_diag_add(&ctx->diag, NS_ERR_SPEC, loc_at(b.file, line, col),
                            "remove the '---' line, or split the file", "a spec holds one YAML "
                            "document; this is the second");
                b.failed = true;
            }
            break;
        case YAML_SCALAR_EVENT: {
            struct spec_node *n = node_new(ctx, SPEC_SCALAR, b.file, line, col);
            n->text = ns_arena_strndup(&ctx->arena, (const char *)ev.data.scalar.value,
                                       ev.data.scalar.length);
            n->text_len = ev.data.scalar.length;
            n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
            if (memchr(n->text, '\0', n->text_len)) {
                ns_diag_add(&ctx->diag, NS_ERR_SPEC, loc_at(b.file, line, col), NULL,
                            "a NUL character is not allowed in a value");
                b.failed = true;
            }
            b.total_weight++;
            attach(&b, n, (const char *)ev.data.scalar.anchor);
            break;
        }
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            if (b.depth >= SPEC_TREE_MAX_DEPTH) {
                ns_diag_add(&ctx->diag, NS_ERR_SPEC, loc_at(b.file, line, col), NULL,
                            "nesting deeper than %d levels", SPEC_TREE_MAX_DEPTH);
                b.failed = true;
                break;
            }
            bool is_seq = ev.type == YAML_SEQUENCE_START_EVENT;
            struct spec_node *n = node_new(ctx, is_seq ? SPEC_SEQ : SPEC_MAP, b.file, line, col);
            const yaml_char_t *anchor = is_seq ? ev.data.sequence_start.anchor
                                               : ev.data.mapping_start.anchor;
            b.stack_anchor[b.depth] = anchor ? ns_xstrdup((const char *)anchor) : NULL;
            b.pending_key[b.depth] = NULL;
            b.stack[b.depth++] = n;
            b.total_weight++;
            break;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT: {
            struct spec_node *n = b.stack[--b.depth];
            char *anchor = b.stack_anchor[b.depth];
            b.stack_anchor[b.depth] = NULL;
            if (n->kind == SPEC_MAP)
                apply_merge_keys(&b, n);
            attach(&b, n, anchor);
            free(anchor);
            break;
        }
        case YAML_ALIAS_EVENT: {
            const char *name = (const char *)ev.data.alias.anchor;
            struct spec_node *target = NULL;
            for (size_t i = b.anchor_count; i-- > 0;)
                if (strcmp(b.anchors[i].name, name) == 0) {
                    target = b.anchors[i].node;
                    break;
                }
            if (!target) {
                ns_diag_add(&ctx->diag, NS_ERR_SPEC, loc_at(b.file, line, col), NULL,
                            "alias *%s names no anchor defined before it", name);
                b.failed = true;
                break;
            }
            b.total_weight += target->weight;
            if (b.total_weight > SPEC_TREE_MAX_NODES) {
                ns_diag_add(&ctx->diag, NS_ERR_SPEC, loc_at(b.file, line, col),
                            "aliases that nest aliases multiply; a spec needs no such thing",
                            "aliases expand to more than %d nodes", SPEC_TREE_MAX_NODES);
                b.failed = true;
                break;
            }
            attach(&b, target, NULL);
            break;
        }
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    while (b.depth > 0)
        free(b.stack_anchor[--b.depth]);
    for (size_t i = 0; i < b.anchor_count; i++)
        free(b.anchors[i].name);
    free(b.anchors);
    if (b.failed)
        return NULL;
    if (!b.root || spec_tree_is_null(b.root)) {
        ns_diag_add(&ctx->diag, NS_ERR_SPEC, loc_at(b.file, 1, 1),
                    "a spec starts with 'version: 1'", "spec is empty");
        return NULL;
    }
    return b.root;
}

struct spec_node *spec_tree_load_file(struct ns_ctx *ctx, const char *path)
{
    int err = 0;
    size_t len = 0;
    char *text = ns_file_read_input(path, SPEC_TREE_MAX_BYTES, &len, &err);
    if (!text) {
        if (err == EFBIG)
            ns_diag_add(&ctx->diag, NS_ERR_SPEC, (struct ns_loc){path, 0, 0, 0}, NULL,
                        "file is larger than %d MiB; a spec is never that big",
                        SPEC_TREE_MAX_BYTES >> 20);
        else
            ns_diag_add(&ctx->diag, NS_ERR_SPEC, (struct ns_loc){path, 0, 0, 0}, NULL,
                        "cannot read spec: %s", ns_file_strerror(err));
        return NULL;
    }
    struct spec_node *root = spec_tree_parse(ctx, path, text, len);
    free(text);
    return root;
}

struct spec_node *spec_tree_new_scalar(struct ns_ctx *ctx, const char *file, int line, int col,
                                       const char *text, bool plain)
{
    struct spec_node *n = node_new(ctx, SPEC_SCALAR, file, line, col);
    n->text = ns_arena_strdup(&ctx->arena, text);
    n->text_len = strlen(text);
    n->plain = plain;
    return n;
}

struct spec_node *spec_tree_new_map(struct ns_ctx *ctx, const char *file, int line, int col)
{
    return node_new(ctx, SPEC_MAP, file, line, col);
}

/* Trees share nodes freely (aliases, merges); a node is never changed through a shared
 * pointer, so storing a borrowed const node in a map is safe. */
static struct spec_node *shared(const struct spec_node *node)
{
    union {
        const struct spec_node *c;
        struct spec_node *m;
    } u = {.c = node};
    return u.m;
}

void spec_tree_map_set(struct ns_ctx *ctx, struct spec_node *map, const struct spec_node *key,
                       const struct spec_node *value)
{
    long i = spec_tree_find(map, key->text);
    if (i >= 0) {
        map->keys[i] = shared(key);
        map->items[i] = shared(value);
        return;
    }
    push_item(ctx, map, shared(key), shared(value));
}

struct spec_node *spec_tree_clone(struct ns_ctx *ctx, const struct spec_node *node)
{
    struct spec_node *copy = node_new(ctx, node->kind, node->file, node->line, node->col);
    copy->text = node->text;
    copy->text_len = node->text_len;
    copy->plain = node->plain;
    for (size_t i = 0; i < node->count; i++)
        push_item(ctx, copy, node->keys ? node->keys[i] : NULL, spec_tree_clone(ctx, node->items[i]));
    return copy;
}
