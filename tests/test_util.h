/* What every CUnit program in tests/ needs: the binary and source tree the harness names, one
 * scratch folder per program, whole files read and written, netspec (or any command) run with
 * its output captured, a small seeded generator, IDX files, and main().
 *
 *     static int suite_init(void) { return test_util_tmp_init("train"); }
 *     ...  char *p = test_util_tmp_path("a.yaml"); test_util_write_text(p, spec);
 *          struct test_util_run r = test_util_netspec("check a.yaml"); ... test_util_run_free(&r);
 *     int main(void) { return test_util_main("train", suite_init, test_util_tmp_clean, cases, n); }
 *
 * Strings returned as `char *` are the caller's to free. The test_util_write_* helpers assert
 * (fatally) and so belong inside tests; test_util_save* return false instead, for suite setup
 * (where CUnit assertions are not allowed) or for a caller that asserts itself. */
#ifndef TEST_UTIL_H
#define TEST_UTIL_H

#include <CUnit/CUnit.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- where things are ---- */

/* $NETSPEC_BIN, else ./netspec. */
const char *test_util_bin(void);
/* $NETSPEC_SRCDIR when set and not empty, else ".". */
const char *test_util_srcdir(void);
/* srcdir/REL. */
char *test_util_src_path(const char *rel);

/* The program's scratch folder, /tmp/netspec-NAME-XXXXXX: made by test_util_tmp_init (0, or
 * -1 when it cannot be made: a CUnit suite-init result), removed with everything in it by
 * test_util_tmp_clean (a CUnit suite cleanup; nftw's result). */
int test_util_tmp_init(const char *name);
int test_util_tmp_clean(void);
const char *test_util_tmp(void);
/* tmp/NAME. */
char *test_util_tmp_path(const char *name);

/* ---- files ---- */

/* The whole file, NUL-terminated; "" when it cannot be read. `*len` gets the size when not NULL. */
char *test_util_slurp(const char *path, size_t *len);
/* Both files readable and the same bytes. */
bool test_util_same_file(const char *a, const char *b);
/* Writes the file (gzip-compressed for _gz); false when it cannot. */
bool test_util_save(const char *path, const void *data, size_t n);
bool test_util_save_gz(const char *path, const void *data, size_t n);
bool test_util_save_text(const char *path, const char *text);
/* test_util_save, _gz and _text, asserted fatally. */
void test_util_write_bytes(const char *path, const void *data, size_t n);
void test_util_write_gz(const char *path, const void *data, size_t n);
void test_util_write_text(const char *path, const char *text);
/* A new file /tmp/netspec-test-XXXXXX holding the bytes; NULL when it cannot be written. The
 * caller unlinks it. */
char *test_util_temp_file(const void *data, size_t n);

/* ---- running commands ---- */

struct test_util_run {
    int exit_code; /* -1 when killed by a signal */
    char *out;     /* stdout */
    char *err;     /* stderr */
};

/* What a netspec run may add; every field may be left zero. */
struct test_util_opts {
    const char *cwd;   /* run from this folder */
    const char *env;   /* shell words put before the command, e.g. "OMP_NUM_THREADS=1" */
    const char *input; /* standard input from this file; NULL: /dev/null */
    int timeout;       /* seconds after which `timeout` stops it (exit 124); 0: no limit */
};

/* `netspec ARGS` (ARGS are shell words), both streams captured, no input. */
struct test_util_run test_util_netspec(const char *args);
struct test_util_run test_util_netspec_opts(struct test_util_opts opts, const char *args);
/* A shell command line, both streams captured, no input. */
struct test_util_run test_util_shell(const char *cmdline);
void test_util_run_free(struct test_util_run *r);

/* The number after "KEY": in JSON text, NaN when absent. */
double test_util_json_number(const char *json, const char *key);

/* ---- data the tests make ---- */

/* A small deterministic generator (an LCG): 53 random bits, uniform in [0, 1), normal. */
uint64_t test_util_next_u64(uint64_t *state);
double test_util_next_uniform(uint64_t *state);
double test_util_next_normal(uint64_t *state);

/* An IDX file in `buf`: magic (type, ndim), big-endian dims, then the payload; its size. */
size_t test_util_make_idx(unsigned char *buf, int type, int ndim, const uint32_t *dims, const void *payload,
                          size_t payload_len);

enum { TEST_UTIL_STRIPES_SIDE = 8 };
/* COUNT 8x8 images of CLASSES classes as an IDX pair: class c lights rows 2c..2c+2, plus
 * noise from SEED; the labels file is gzip-compressed when its name ends in ".gz". pixels
 * (count, 8, 8) receives the image bytes when not NULL. False when a file cannot be written. */
bool test_util_save_stripes(const char *images, const char *labels, int count, int classes, uint64_t seed,
                            unsigned char *pixels);

/* ---- main ---- */

struct test_util_case {
    const char *name;
    CU_TestFunc fn;
};

/* Runs CASES as one suite (init and clean may be NULL) with verbose output; the exit status:
 * 0 when nothing failed. Commands started by the tests wait passively for their OpenMP
 * peers unless OMP_WAIT_POLICY says otherwise. */
int test_util_main(const char *suite, CU_InitializeFunc init, CU_CleanupFunc clean,
                   const struct test_util_case *cases, size_t count);

#endif
