/* struct isa_loops compiled with plain C99 (fmaf may be a library call where the ISA has no FMA) (src/kernels/local.mk). */
#define ISA_LOOPS_NAME isa_loops_portable
#include "kernels/isa_loops_body.h"

#include "config.h"

const struct isa_loops *isa_loops_pick(const struct kernels_cpu *cpu)
{
#ifdef NETSPEC_HAVE_X86_KERNELS
    enum kernels_isa isa = kernels_isa_resolve(cpu->isa);
    if (isa == KERNELS_ISA_AVX512 && kernels_isa_supported(isa))
        return &isa_loops_avx512;
    if (isa == KERNELS_ISA_AVX2 && kernels_isa_supported(isa))
        return &isa_loops_avx2;
#else
    (void)cpu;
#endif
    return &isa_loops_portable;
}
