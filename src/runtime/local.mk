# runtime: the executor, which runs a graph's plan over batches.
libnetspec_a_SOURCES += src/runtime/exec.c src/runtime/exec.h
libnetspec_a_SOURCES += src/runtime/thread_tuner.c src/runtime/thread_tuner.h
