/* The AVX2 + FMA archive's anchor: its kernels live in their own files (listed in
 * src/kernels/local.mk), compiled with -mavx2 -mfma and called only when kernels_cpu.h says
 * this CPU runs them. This file proves the flags reach the archive. */
#if !defined(__AVX2__) || !defined(__FMA__)
#error "libkernels_avx2.a must be compiled with -mavx2 -mfma"
#endif
typedef int kernels_isa_avx2_anchor;
