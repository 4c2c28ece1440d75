/* The context every library call takes instead of global state.
 *
 *   struct ns_ctx ctx;
 *   ns_ctx_init(&ctx);
 *   ... spec_load(&ctx, ...); graph_build(&ctx, ...); ...
 *   ns_diag_print(&ctx.diag, stderr, isatty(2));
 *   ns_ctx_free(&ctx);
 *
 * The context owns the arena (spec, graph: freed together) and the diag sink.
 */
#ifndef NS_CTX_H
#define NS_CTX_H

#include <stdbool.h>
#include <stdint.h>

#include "core/ns_arena.h"
#include "core/ns_error.h"

struct ns_ctx {
    struct ns_arena arena;
    struct ns_diag diag;
    int threads;       /* worker threads (model_choose_threads): the one source; executors,
                        * ops, kernels and data loaders are handed it, OpenMP's global count
                        * is never set. 0 = not chosen yet */
    bool threads_adapt; /* threads was netspec's choice (auto): training may use fewer while
                         * other processes compete for the CPUs (runtime/thread_tuner.h) */
    int isa;           /* the kernels' instruction set (enum kernels_isa, --isa); 0 = auto, the
                        * best the CPU has. Never changes a result, only speed */
    bool progress_tty; /* draw progress bars (stderr is a terminal) */
    volatile int *stop_requested; /* set by a signal handler in main.c; may be NULL */
};

void ns_ctx_init(struct ns_ctx *ctx);
void ns_ctx_free(struct ns_ctx *ctx);

#endif
