# runtime: kernels, activations, the counter-based RNG and the executor.
libnetspec_a_SOURCES += \
	src/runtime/kernels.c src/runtime/kernels.h \
	src/runtime/activation.c src/runtime/activation.h \
	src/runtime/rng.c src/runtime/rng.h \
	src/runtime/exec.c src/runtime/exec.h
