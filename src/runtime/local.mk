# runtime: the executor, which runs a graph's plan over batches.
libnetspec_a_SOURCES += src/runtime/exec.c src/runtime/exec.h
