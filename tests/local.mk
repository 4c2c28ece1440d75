# tests: CUnit programs are added here
check_PROGRAMS += tests/test_schema
TESTS += tests/test_schema
tests_test_schema_SOURCES = tests/test_schema.c
check_PROGRAMS += tests/test_spec
TESTS += tests/test_spec
tests_test_spec_SOURCES = tests/test_spec.c
check_PROGRAMS += tests/test_data
TESTS += tests/test_data
tests_test_data_SOURCES = tests/test_data.c
check_PROGRAMS += tests/test_ops
TESTS += tests/test_ops
tests_test_ops_SOURCES = tests/test_ops.c
check_PROGRAMS += tests/test_train
TESTS += tests/test_train
tests_test_train_SOURCES = tests/test_train.c
