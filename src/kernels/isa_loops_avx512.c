/* struct isa_loops compiled with the AVX-512 flags (src/kernels/local.mk). */
#define ISA_LOOPS_NAME isa_loops_avx512
#include "kernels/isa_loops_body.h"
