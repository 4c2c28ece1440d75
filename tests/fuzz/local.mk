# libFuzzer harnesses, one program per input format (tests/fuzz/README.md). Built only by the
# fuzz build (scripts/build.sh fuzz: clang --enable-fuzzing); scripts/fuzz.sh runs them.
EXTRA_DIST += tests/fuzz
if ENABLE_FUZZING
FUZZ_LINK_FLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
noinst_PROGRAMS += tests/fuzz/fuzz_spec tests/fuzz/fuzz_idx tests/fuzz/fuzz_image \
	tests/fuzz/fuzz_csv tests/fuzz/fuzz_model tests/fuzz/fuzz_emit_names
tests_fuzz_fuzz_spec_SOURCES = tests/fuzz/fuzz_spec.c tests/fuzz/fuzz_util.h
tests_fuzz_fuzz_spec_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_spec_LDADD = $(LIBNETSPEC_LIBS)
tests_fuzz_fuzz_idx_SOURCES = tests/fuzz/fuzz_idx.c tests/fuzz/fuzz_util.h
tests_fuzz_fuzz_idx_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_idx_LDADD = $(LIBNETSPEC_LIBS)
tests_fuzz_fuzz_image_SOURCES = tests/fuzz/fuzz_image.c tests/fuzz/fuzz_util.h
tests_fuzz_fuzz_image_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_image_LDADD = $(LIBNETSPEC_LIBS)
tests_fuzz_fuzz_csv_SOURCES = tests/fuzz/fuzz_csv.c tests/fuzz/fuzz_util.h
tests_fuzz_fuzz_csv_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_csv_LDADD = $(LIBNETSPEC_LIBS)
tests_fuzz_fuzz_model_SOURCES = tests/fuzz/fuzz_model.c tests/fuzz/fuzz_util.h
tests_fuzz_fuzz_model_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_model_LDADD = $(LIBNETSPEC_LIBS)
tests_fuzz_fuzz_emit_names_SOURCES = tests/fuzz/fuzz_emit_names.c tests/fuzz/fuzz_util.h
tests_fuzz_fuzz_emit_names_LDFLAGS = $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_emit_names_LDADD = $(LIBNETSPEC_LIBS)
endif
