/* A bump allocator that owns everything with the lifetime of one command: the spec tree,
 * the validated spec and the graph. Nothing allocated here is freed on its own;
 * ns_arena_free releases all of it at once.
 *
 *   struct ns_arena arena = {0};
 *   struct spec_node *n = ns_arena_new(&arena, struct spec_node);
 *   ns_arena_free(&arena);
 */
#ifndef NS_ARENA_H
#define NS_ARENA_H

#include <stddef.h>

struct ns_arena_block;
struct ns_arena {
    struct ns_arena_block *head;
};

void *ns_arena_alloc(struct ns_arena *arena, size_t size); /* zeroed, 16-byte aligned */
char *ns_arena_strdup(struct ns_arena *arena, const char *s);
char *ns_arena_strndup(struct ns_arena *arena, const char *s, size_t n);
char *ns_arena_printf(struct ns_arena *arena, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ns_arena_free(struct ns_arena *arena);

#define ns_arena_new(arena, type) ((type *)ns_arena_alloc((arena), sizeof(type)))
#define ns_arena_array(arena, type, n) ((type *)ns_arena_alloc((arena), sizeof(type) * (n)))

#endif
