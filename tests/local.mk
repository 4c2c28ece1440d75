# tests: CUnit programs are added here
check_PROGRAMS += tests/test_schema
TESTS += tests/test_schema
tests_test_schema_SOURCES = tests/test_schema.c tests/test_util.c tests/test_util.h
EXTRA_DIST += tests/schema_corpus.py
check_PROGRAMS += tests/test_spec
TESTS += tests/test_spec
tests_test_spec_SOURCES = tests/test_spec.c tests/test_util.c tests/test_util.h
check_PROGRAMS += tests/test_data
TESTS += tests/test_data
tests_test_data_SOURCES = tests/test_data.c tests/test_util.c tests/test_util.h
check_PROGRAMS += tests/test_ops
TESTS += tests/test_ops
tests_test_ops_SOURCES = tests/test_ops.c tests/test_util.c tests/test_util.h
check_PROGRAMS += tests/test_train
TESTS += tests/test_train
tests_test_train_SOURCES = tests/test_train.c tests/test_util.c tests/test_util.h
check_PROGRAMS += tests/test_crash
TESTS += tests/test_crash
tests_test_crash_SOURCES = tests/test_crash.c tests/test_util.c tests/test_util.h
check_PROGRAMS += tests/test_images
TESTS += tests/test_images
tests_test_images_SOURCES = tests/test_images.c tests/test_util.c tests/test_util.h
check_PROGRAMS += tests/test_emit
TESTS += tests/test_emit
tests_test_emit_SOURCES = tests/test_emit.c tests/test_util.c tests/test_util.h
check_PROGRAMS += tests/test_layout
TESTS += tests/test_layout
tests_test_layout_SOURCES = tests/test_layout.c tests/test_util.c tests/test_util.h
check_PROGRAMS += tests/test_kernels
TESTS += tests/test_kernels
tests_test_kernels_SOURCES = tests/test_kernels.c tests/test_util.c tests/test_util.h
check_PROGRAMS += tests/test_runtime
TESTS += tests/test_runtime
tests_test_runtime_SOURCES = tests/test_runtime.c tests/test_util.c tests/test_util.h
check_PROGRAMS += tests/test_exact
TESTS += tests/test_exact
tests_test_exact_SOURCES = tests/test_exact.c tests/test_util.c tests/test_util.h
check_PROGRAMS += tests/test_cli
TESTS += tests/test_cli
tests_test_cli_SOURCES = tests/test_cli.c tests/test_util.c tests/test_util.h
# The exactness drivers (tests/exact_io.h): exact_runtime prints the runtime's outputs,
# exact_emitted (compiled by scripts/cross-check.sh against emitted C, by several compilers)
# the emitted C's. Built with the tests, and by cross-check.sh for aarch64.
check_PROGRAMS += tests/exact_runtime
tests_exact_runtime_SOURCES = tests/exact_runtime.c tests/exact_io.h
tests_exact_runtime_LDADD = $(LIBNETSPEC_LIBS)
EXTRA_DIST += tests/exact_emitted.c
