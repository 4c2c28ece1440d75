libnetspec_a_SOURCES += \
	src/core/ns_arena.c src/core/ns_arena.h \
	src/core/ns_ctx.c src/core/ns_ctx.h \
	src/core/ns_error.c src/core/ns_error.h \
	src/core/ns_util.c src/core/ns_util.h
libnetspec_a_SOURCES += src/core/ns_sha256.c src/core/ns_sha256.h \
	src/core/ns_file.c src/core/ns_file.h
