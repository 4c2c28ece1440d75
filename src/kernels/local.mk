# kernels: the arithmetic, knowing nothing of specs or graphs: GEMM, im2col, pooling,
# activations, the counter-based RNG; nsk.h is the C99 source shared with the emitted C.
libnetspec_a_SOURCES += \
	src/kernels/kernels.c src/kernels/kernels.h \
	src/kernels/gemm.c src/kernels/gemm.h src/kernels/gemm_micro.h src/kernels/gemm_transpose_x86.h \
	src/kernels/kernels_cpu.c src/kernels/kernels_cpu.h \
	src/kernels/nsk.h \
	src/kernels/activation.c src/kernels/activation.h src/kernels/activations.def \
	src/kernels/isa_loops.h src/kernels/isa_loops_body.h src/kernels/isa_im2col.h src/kernels/isa_loops_portable.c \
	src/kernels/rng.c src/kernels/rng.h

# The x86-64 ISA paths: the same arithmetic compiled with each ISA's flags, one archive per
# ISA, linked after libnetspec.a and picked at run time (kernels_cpu.h). Add an ISA's files to
# its archive's SOURCES.
if HOST_X86_64
noinst_LIBRARIES += libkernels_avx2.a libkernels_avx512.a
KERNELS_ISA_LIBS += libkernels_avx2.a libkernels_avx512.a
KERNELS_AVX2_FLAGS = -mavx2 -mfma
KERNELS_AVX512_FLAGS = -mavx512f -mavx512vl -mavx512dq -mavx512bw -mavx2 -mfma
libkernels_avx2_a_CFLAGS = $(AM_CFLAGS) $(KERNELS_AVX2_FLAGS)
libkernels_avx2_a_SOURCES = src/kernels/isa_avx2.c src/kernels/isa_loops_avx2.c src/kernels/gemm_avx2.c
libkernels_avx512_a_CFLAGS = $(AM_CFLAGS) $(KERNELS_AVX512_FLAGS)
libkernels_avx512_a_SOURCES = src/kernels/isa_avx512.c src/kernels/isa_loops_avx512.c src/kernels/gemm_avx512.c
endif
