#include "core/ns_ctx.h"

#include <string.h>

void ns_ctx_init(struct ns_ctx *ctx)
{
    memset(ctx, 0, sizeof *ctx);
}

void ns_ctx_free(struct ns_ctx *ctx)
{
    ns_arena_free(&ctx->arena);
    ns_diag_free(&ctx->diag);
}
