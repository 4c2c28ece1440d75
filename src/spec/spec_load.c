/* Loading a spec: the file, its `extends` chain (maps merge, lists replace), then the
 * `--set path=value` overrides, then validation (spec_validate.c). */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/ns_file.h"
#include "core/ns_util.h"
#include "spec/spec.h"

enum { EXTENDS_MAX_DEPTH = 16 };

static struct spec_node *load_chain(struct ns_ctx *ctx, const char *path, char **chain,
                                    int depth);

static char *canonical(const char *path)
{
    char *real = realpath(path, NULL);
    return real ? real : ns_xstrdup(path);
}

/* Child values win; maps merge key by key; anything else (lists included) replaces. */
static struct spec_node *merge(struct ns_ctx *ctx, const struct spec_node *base,
                               const struct spec_node *child)
{
    if (base->kind != SPEC_MAP || child->kind != SPEC_MAP)
        return spec_tree_clone(ctx, child);
    struct spec_node *out = spec_tree_clone(ctx, base);
    for (size_t i = 0; i < child->count; i++) {
        const struct spec_node *key = child->keys[i];
        struct spec_node *old = spec_tree_get(out, key->text);
        struct spec_node *value = old ? merge(ctx, old, child->items[i])
                                      : spec_tree_clone(ctx, child->items[i]);
        /* The key keeps the child's location: that is where the user wrote it last. */
        spec_tree_map_set(ctx, out, key, value);
    }
    return out;
}

static struct spec_node *apply_extends(struct ns_ctx *ctx, struct spec_node *root,
                                       char **chain, int depth)
{
    long at = spec_tree_find(root, "extends");
    if (at < 0)
        return root;
    const struct spec_node *value = root->items[at];
    struct ns_loc loc = {value->file, value->line, value->col, (int)value->text_len};
    if (value->kind != SPEC_SCALAR || spec_tree_is_null(value) || !value->text_len) {
        ns_diag_add(&ctx->diag, NS_ERR_SPEC, loc, "write `extends: base.yaml`",
                    "\"extends\" must be a file path, got %s", spec_tree_kind_name(value));
        return NULL;
    }
    struct ns_buf parent = {0};
    const char *slash = strrchr(value->file, '/');
    if (value->text[0] != '/' && slash)
        ns_buf_append(&parent, value->file, (size_t)(slash - value->file) + 1);
    ns_buf_puts(&parent, value->text);
    char *canon = canonical(parent.data);
    for (int i = 0; i < depth; i++)
        if (!strcmp(chain[i], canon)) {
            struct ns_buf cycle = {0};
            for (int j = i; j < depth; j++)
                ns_buf_printf(&cycle, "%s -> ", chain[j]);
            ns_buf_puts(&cycle, canon);
            ns_diag_add(&ctx->diag, NS_ERR_SPEC, loc, cycle.data,
                        "extends loop: \"%s\" extends itself", value->text);
            ns_buf_free(&cycle);
            free(canon);
            ns_buf_free(&parent);
            return NULL;
        }
    free(canon);
    if (depth >= EXTENDS_MAX_DEPTH) {
        ns_diag_add(&ctx->diag, NS_ERR_SPEC, loc, NULL, "extends chain deeper than %d files",
                    EXTENDS_MAX_DEPTH);
        ns_buf_free(&parent);
        return NULL;
    }
    /* Checked here, at the `extends` line, so the error says which spec asked for the file. */
    int err = ns_file_check_input(parent.data, NULL);
    if (err) {
        char *shown = ns_path_printable(parent.data);
        ns_diag_add(&ctx->diag, NS_ERR_SPEC, loc, "extends names another spec file, e.g. `extends: base.yaml`",
                    "extends: cannot read \"%s\": %s", shown, ns_file_strerror(err));
        free(shown);
        ns_buf_free(&parent);
        return NULL;
    }
    struct spec_node *base = load_chain(ctx, parent.data, chain, depth);
    ns_buf_free(&parent);
    if (!base)
        return NULL;
    /* Drop `extends` from the child before merging so the result has none. */
    struct spec_node *child = spec_tree_clone(ctx, root);
    for (size_t i = (size_t)at; i + 1 < child->count; i++) {
        child->keys[i] = child->keys[i + 1];
        child->items[i] = child->items[i + 1];
    }
    child->count--;
    return merge(ctx, base, child);
}

static struct spec_node *load_chain(struct ns_ctx *ctx, const char *path, char **chain,
                                    int depth)
{
    struct spec_node *root = spec_tree_load_file(ctx, path);
    if (!root)
        return NULL;
    if (root->kind != SPEC_MAP)
        return root; /* the validator says what is wrong with it */
    chain[depth] = canonical(path);
    struct spec_node *merged = apply_extends(ctx, root, chain, depth + 1);
    free(chain[depth]);
    chain[depth] = NULL;
    return merged;
}

/* ---- --set ---- */

static void mark_set_nodes(struct spec_node *node, const char *label)
{
    node->file = label;
    node->line = 0;
    node->col = 0;
    for (size_t i = 0; i < node->count; i++) {
        if (node->keys)
            mark_set_nodes(node->keys[i], label);
        mark_set_nodes(node->items[i], label);
    }
}

/* The map that holds a layer's keys, created when the layer was written bare or with a
 * shorthand value, so `model.layers[3].rate=0.5` works for `- dropout: 0.3`. */
static struct spec_node *layer_keys(struct ns_ctx *ctx, const struct spec_layer_catalog *catalog,
                                    struct spec_node *layers, size_t index)
{
    struct spec_node *item = layers->items[index];
    if (item->kind == SPEC_SCALAR) {
        struct spec_node *map = spec_tree_new_map(ctx, item->file, item->line, item->col);
        spec_tree_map_set(ctx, map, item,
                          spec_tree_new_scalar(ctx, item->file, item->line, item->col, "", true));
        layers->items[index] = item = map;
    }
    if (item->kind != SPEC_MAP || item->count != 1)
        return item;
    struct spec_node *value = item->items[0];
    if (value->kind == SPEC_MAP)
        return value;
    struct spec_node *map = spec_tree_new_map(ctx, value->file, value->line, value->col);
    if (!spec_tree_is_null(value)) {
        const struct spec_layer_type *type = spec_layer_type_find(catalog, item->keys[0]->text);
        const char *key = type && type->shorthand_key ? type->shorthand_key : "?";
        spec_tree_map_set(ctx, map, spec_tree_new_scalar(ctx, value->file, value->line, value->col, key, true),
                          value);
    }
    item->items[0] = map;
    return map;
}

static bool apply_set(struct ns_ctx *ctx, const struct spec_layer_catalog *catalog, struct spec_node *root,
                      const char *arg)
{
    const char *label = ns_arena_printf(&ctx->arena, "--set %s", arg);
    struct ns_loc loc = {label, 0, 0, 0};
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg) {
        ns_diag_add(&ctx->diag, NS_ERR_SPEC, loc, "write --set path=value, e.g. --set optimizer.lr=0.01",
                    "--set needs path=value");
        return false;
    }
    struct spec_node *value = spec_tree_parse(ctx, label, eq + 1, strlen(eq + 1));
    if (!value) {
        if (ns_diag_has_errors(&ctx->diag) &&
            !strcmp(ctx->diag.items[ctx->diag.count - 1].message, "spec is empty")) {
            ctx->diag.count--; /* `--set a.b=` is an explicit null, not an empty spec */
            free(ctx->diag.items[ctx->diag.count].file);
            free(ctx->diag.items[ctx->diag.count].message);
            free(ctx->diag.items[ctx->diag.count].hint);
            value = spec_tree_new_scalar(ctx, label, 0, 0, "", true);
        } else {
            return false;
        }
    }
    mark_set_nodes(value, label);

    char *path = ns_xstrndup(arg, (size_t)(eq - arg));
    struct spec_node *cur = root;
    char *p = path;
    bool ok = true;
    while (ok && *p) {
        size_t len = strcspn(p, ".[");
        if (len == 0) {
            ns_diag_add(&ctx->diag, NS_ERR_SPEC, loc, NULL, "--set path \"%s\" has an empty key", path);
            ok = false;
            break;
        }
        char *key = ns_xstrndup(p, len);
        p += len;
        if (cur->kind != SPEC_MAP) {
            ns_diag_add(&ctx->diag, NS_ERR_SPEC, loc, NULL,
                        "--set path \"%s\": \"%s\" is inside %s, not a mapping", path, key,
                        spec_tree_kind_name(cur));
            free(key);
            ok = false;
            break;
        }
        bool last = !*p;
        struct spec_node *key_node = spec_tree_new_scalar(ctx, label, 0, 0, key, true);
        free(key);
        if (last) {
            spec_tree_map_set(ctx, cur, key_node, value);
            break;
        }
        struct spec_node *next = spec_tree_get(cur, key_node->text);
        if (!next || spec_tree_is_null(next)) {
            /* A new section: the validator rejects it by name if it is not one. */
            next = spec_tree_new_map(ctx, label, 0, 0);
            spec_tree_map_set(ctx, cur, key_node, next);
        }
        cur = next;
        while (ok && *p == '[') {
            char *end;
            long index = strtol(p + 1, &end, 10);
            if (end == p + 1 || *end != ']' || index < 0) {
                ns_diag_add(&ctx->diag, NS_ERR_SPEC, loc, "write an index like layers[2]",
                            "--set path \"%s\" has a malformed index", path);
                ok = false;
                break;
            }
            p = end + 1;
            if (cur->kind != SPEC_SEQ || (size_t)index >= cur->count) {
                if (cur->kind == SPEC_SEQ)
                    ns_diag_add(&ctx->diag, NS_ERR_SPEC, loc, NULL,
                                "--set path \"%s\": index %ld is out of range (the list has %zu item%s)",
                                path, index, cur->count, cur->count == 1 ? "" : "s");
                else
                    ns_diag_add(&ctx->diag, NS_ERR_SPEC, loc, NULL,
                                "--set path \"%s\": index [%ld] on %s, not a list", path, index,
                                spec_tree_kind_name(cur));
                ok = false;
                break;
            }
            if (!*p) {
                cur->items[index] = value;
                break;
            }
            /* model.layers[2].units reaches into the layer's keys. */
            cur = cur->kind == SPEC_SEQ && cur == spec_tree_get(spec_tree_get(root, "model"), "layers")
                      ? layer_keys(ctx, catalog, cur, (size_t)index)
                      : cur->items[index];
        }
        if (ok && *p == '.')
            p++;
        else if (ok && *p) {
            ns_diag_add(&ctx->diag, NS_ERR_SPEC, loc, NULL, "--set path \"%s\" is malformed", path);
            ok = false;
        }
    }
    free(path);
    return ok;
}

struct spec *spec_load(struct ns_ctx *ctx, const struct spec_layer_catalog *catalog, const char *path,
                       const char *const *sets, size_t set_count)
{
    char *chain[EXTENDS_MAX_DEPTH + 2] = {0};
    struct spec_node *root = load_chain(ctx, path, chain, 0);
    if (!root)
        return NULL;
    if (set_count) {
        /* Overrides edit a private copy: aliases may share nodes, and a change through one
         * path must not show up through another. */
        root = spec_tree_clone(ctx, root);
        bool ok = root->kind == SPEC_MAP;
        for (size_t i = 0; root->kind == SPEC_MAP && i < set_count; i++)
            ok &= apply_set(ctx, catalog, root, sets[i]);
        if (!ok) {
            /* Validate anyway so every mistake of the command line shows at once. */
            spec_from_tree(ctx, catalog, path, root);
            return NULL;
        }
    }
    struct spec *spec = spec_from_tree(ctx, catalog, path, root);
    if (!spec)
        return NULL;
    spec->node = root;
    spec->set_count = set_count;
    spec->sets = ns_arena_array(&ctx->arena, const char *, set_count ? set_count : 1);
    for (size_t i = 0; i < set_count; i++)
        spec->sets[i] = ns_arena_strdup(&ctx->arena, sets[i]);
    return spec;
}
