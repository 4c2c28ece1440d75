#include "core/ns_arena.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/ns_util.h"

struct ns_arena_block {
    struct ns_arena_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

enum { ARENA_BLOCK = 64 * 1024 };

void *ns_arena_alloc(struct ns_arena *arena, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    struct ns_arena_block *b = arena->head;
    if (!b || b->used + size > b->cap) {
        size_t cap = size > ARENA_BLOCK ? size : ARENA_BLOCK;
        b = ns_xmalloc(sizeof *b + cap);
        b->used = 0;
        b->cap = cap;
        b->next = arena->head;
        arena->head = b;
    }
    void *p = b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

char *ns_arena_strndup(struct ns_arena *arena, const char *s, size_t n)
{
    char *copy = ns_arena_alloc(arena, n + 1);
    memcpy(copy, s, n);
    copy[n] = '\0';
    return copy;
}

char *ns_arena_strdup(struct ns_arena *arena, const char *s)
{
    return ns_arena_strndup(arena, s, strlen(s));
}

char *ns_arena_printf(struct ns_arena *arena, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *tmp = ns_vasprintf(fmt, ap);
    va_end(ap);
    char *s = ns_arena_strdup(arena, tmp);
    free(tmp);
    return s;
}

void ns_arena_free(struct ns_arena *arena)
{
    struct ns_arena_block *b = arena->head;
    while (b) {
        struct ns_arena_block *next = b->next;
        free(b);
        b = next;
    }
    arena->head = NULL;
}
