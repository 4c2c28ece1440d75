# kernels: the arithmetic, knowing nothing of specs or graphs: GEMM, im2col, pooling,
# activations, the counter-based RNG.
libnetspec_a_SOURCES += \
	src/kernels/kernels.c src/kernels/kernels.h \
	src/kernels/kernels_cpu.c src/kernels/kernels_cpu.h \
	src/kernels/activation.c src/kernels/activation.h src/kernels/activations.def \
	src/kernels/rng.c src/kernels/rng.h
