# emit: the standalone C classifier (emit.c) and the emitted forms of the kernels (emit_c.c)
libnetspec_a_SOURCES += src/emit/emit.h src/emit/emit.c src/emit/emit_c.h src/emit/emit_c.c
