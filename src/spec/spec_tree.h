/* The YAML document as a tree of located nodes, built from libyaml's event API.
 *
 *   struct spec_node *root = spec_tree_load_file(ctx, "specs/x.yaml");   // NULL + diag on error
 *   const struct spec_node *lr = spec_tree_get(spec_tree_get(root, "optimizer"), "lr");
 *
 * Nodes live in ctx->arena. Every node keeps the file, line and column it came from, so later
 * phases can point at the exact place. Aliases share the anchored node (a DAG, not a copy);
 * the loader bounds their expanded size so an alias bomb fails fast. Duplicate keys, tabs in
 * indentation, nesting deeper than SPEC_TREE_MAX_DEPTH and more than one document are errors.
 */
#ifndef SPEC_TREE_H
#define SPEC_TREE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/ns_ctx.h"

enum spec_node_kind { SPEC_SCALAR, SPEC_SEQ, SPEC_MAP };

enum {
    SPEC_TREE_MAX_DEPTH = 64,
    SPEC_TREE_MAX_NODES = 200000,     /* after alias expansion */
    SPEC_TREE_MAX_BYTES = 16 << 20,   /* a spec larger than this is not a spec */
};

struct spec_node {
    enum spec_node_kind kind;
    const char *file;
    int line, col; /* 1-based */
    const char *text; /* scalar value; NULL otherwise */
    size_t text_len;
    bool plain;    /* scalar written without quotes: may be a number, bool or null */
    size_t count;  /* items in a sequence, pairs in a map */
    size_t cap;
    struct spec_node **items; /* sequence items, or map values */
    struct spec_node **keys;  /* map keys (scalars); NULL for sequences */
    size_t weight; /* nodes in the expanded subtree, for the alias bound */
};

/* Parses `size` bytes named `file`; `file` is also the name errors carry. */
struct spec_node *spec_tree_parse(struct ns_ctx *ctx, const char *file, const char *data, size_t size);
struct spec_node *spec_tree_load_file(struct ns_ctx *ctx, const char *path);

/* Map lookup by key; NULL when `map` is NULL, not a map, or lacks the key. */
struct spec_node *spec_tree_get(const struct spec_node *map, const char *key);
/* Index of `key` in `map`, or -1. */
long spec_tree_find(const struct spec_node *map, const char *key);
bool spec_tree_is_null(const struct spec_node *node);
const char *spec_tree_kind_name(const struct spec_node *node);

/* New nodes for programmatic edits (extends merge, --set). */
struct spec_node *spec_tree_new_scalar(struct ns_ctx *ctx, const char *file, int line, int col, const char *text, bool plain);
struct spec_node *spec_tree_new_map(struct ns_ctx *ctx, const char *file, int line, int col);
/* Sets map[key] = value, replacing an existing value or appending a pair. */
void spec_tree_map_set(struct ns_ctx *ctx, struct spec_node *map, const struct spec_node *key,
                       const struct spec_node *value);
/* Deep copy, so later edits never change a node an alias shares. */
struct spec_node *spec_tree_clone(struct ns_ctx *ctx, const struct spec_node *node);

#endif
