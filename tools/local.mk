# tools: helper programs for tests, benchmarks and notes; built, never installed
noinst_PROGRAMS += tools/idx2png
tools_idx2png_SOURCES = tools/idx2png.c
tools_idx2png_LDADD = $(LIBNETSPEC_LIBS)
