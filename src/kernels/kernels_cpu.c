#include "kernels/kernels_cpu.h"

#include <string.h>

#include "config.h"

static const char *const isa_names[KERNELS_ISA_COUNT] = {"auto", "portable", "avx2", "avx512"};

const char *kernels_isa_name(enum kernels_isa isa)
{
    return isa >= 0 && isa < KERNELS_ISA_COUNT ? isa_names[isa] : "unknown";
}

bool kernels_isa_parse(const char *name, enum kernels_isa *out)
{
    for (int i = 0; i < KERNELS_ISA_COUNT; i++)
        if (strcmp(name, isa_names[i]) == 0) {
            *out = (enum kernels_isa)i;
            return true;
        }
    return false;
}

bool kernels_isa_supported(enum kernels_isa isa)
{
    switch (isa) {
    case KERNELS_ISA_AUTO:
    case KERNELS_ISA_PORTABLE:
        return true;
#if defined(NETSPEC_HAVE_X86_KERNELS) && (defined(__GNUC__) || defined(__clang__))
    case KERNELS_ISA_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case KERNELS_ISA_AVX512:
        return __builtin_cpu_supports("avx512f");
#endif
    default:
        return false;
    }
}

enum kernels_isa kernels_isa_resolve(enum kernels_isa isa)
{
    if (isa != KERNELS_ISA_AUTO)
        return isa;
    if (kernels_isa_supported(KERNELS_ISA_AVX512))
        return KERNELS_ISA_AVX512;
    if (kernels_isa_supported(KERNELS_ISA_AVX2))
        return KERNELS_ISA_AVX2;
    return KERNELS_ISA_PORTABLE;
}
