/* The AVX-512 archive's anchor: its kernels live in their own files (listed in
 * src/kernels/local.mk), compiled with -mavx512f (and friends) and called only when
 * kernels_cpu.h says this CPU runs them. This file proves the flags reach the archive. */
#if !defined(__AVX512F__) || !defined(__FMA__)
#error "libkernels_avx512.a must be compiled with -mavx512f -mfma"
#endif
typedef int kernels_isa_avx512_anchor;
