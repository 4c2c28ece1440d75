# emit: the standalone C classifier written from a trained model.
libnetspec_a_SOURCES += src/emit/emit.h src/emit/emit.c
