/* What a kernel may use of the CPU: how many threads and which instruction set.
 *
 *   struct kernels_cpu cpu = {.threads = ctx->threads, .isa = kernels_isa_resolve(ctx->isa)};
 *   kernels_sgemm(&cpu, ...);
 *
 * Neither changes a bit of any result (the arithmetic contract in kernels/kernels.h): the ISA
 * picks how fast the same fused multiply-add chains run. Tests force each ISA in turn to prove
 * it; users leave it on auto, the best the CPU has.
 */
#ifndef KERNELS_CPU_H
#define KERNELS_CPU_H

#include <stdbool.h>

enum kernels_isa {
    KERNELS_ISA_AUTO = 0,  /* the best this CPU supports (kernels_isa_resolve) */
    KERNELS_ISA_PORTABLE,  /* plain C99 with fmaf: any platform, and the emitted C */
    KERNELS_ISA_AVX2,      /* x86-64 AVX2 + FMA */
    KERNELS_ISA_AVX512,    /* x86-64 AVX-512F */
    KERNELS_ISA_COUNT
};

struct kernels_cpu {
    int threads;          /* OpenMP threads a kernel may use; below 1 counts as 1 */
    enum kernels_isa isa; /* AUTO is resolved at each call */
};

/* One thread, the best ISA: for a single row or sample outside any executor. */
#define KERNELS_CPU_SERIAL (&(const struct kernels_cpu){.threads = 1, .isa = KERNELS_ISA_AUTO})

/* "auto", "portable", "avx2", "avx512". */
const char *kernels_isa_name(enum kernels_isa isa);
/* Parses a name kernels_isa_name gives; false when unknown. */
bool kernels_isa_parse(const char *name, enum kernels_isa *out);
/* True when this CPU (and this build) can run isa; AUTO and PORTABLE always can. */
bool kernels_isa_supported(enum kernels_isa isa);
/* isa itself, or for AUTO the best supported one. */
enum kernels_isa kernels_isa_resolve(enum kernels_isa isa);

#endif
