/* struct isa_loops compiled with -mavx2 -mfma (src/kernels/local.mk). */
#define ISA_LOOPS_NAME isa_loops_avx2
#include "kernels/isa_loops_body.h"
