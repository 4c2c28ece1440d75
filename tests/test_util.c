/* The helpers every test program shares (see test_util.h). */
#include "test_util.h"

#include <CUnit/Basic.h>

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "core/ns_util.h"

/* The program's one scratch folder: CUnit runs the tests one at a time, in one thread. */
static char tmp_root[64];

/* ---- where things are ---- */

const char *test_util_bin(void)
{
    const char *b = getenv("NETSPEC_BIN");
    return b ? b : "./netspec";
}

const char *test_util_srcdir(void)
{
    const char *dir = getenv("NETSPEC_SRCDIR");
    return dir && *dir ? dir : ".";
}

char *test_util_src_path(const char *rel)
{
    return ns_asprintf("%s/%s", test_util_srcdir(), rel);
}

int test_util_tmp_init(const char *name)
{
    snprintf(tmp_root, sizeof tmp_root, "/tmp/netspec-%s-XXXXXX", name);
    return mkdtemp(tmp_root) ? 0 : -1;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int test_util_tmp_clean(void)
{
    return nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *test_util_tmp(void)
{
    return tmp_root;
}

char *test_util_tmp_path(const char *name)
{
    return ns_asprintf("%s/%s", tmp_root, name);
}

/* ---- files ---- */

char *test_util_slurp(const char *path, size_t *len)
{
    char *text = ns_read_file(path, 0, len, NULL);
    if (!text) {
        text = ns_xstrdup("");
        if (len)
            *len = 0;
    }
    return text;
}

bool test_util_same_file(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    char *da = ns_read_file(a, 0, &na, NULL), *db = ns_read_file(b, 0, &nb, NULL);
    bool same = da && db && na == nb && memcmp(da, db, na) == 0;
    free(da);
    free(db);
    return same;
}

bool test_util_save(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return false;
    bool ok = fwrite(data, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

bool test_util_save_gz(const char *path, const void *data, size_t n)
{
    gzFile f = gzopen(path, "wb");
    if (!f)
        return false;
    bool ok = gzwrite(f, data, (unsigned)n) == (int)n;
    return gzclose(f) == Z_OK && ok;
}

bool test_util_save_text(const char *path, const char *text)
{
    return test_util_save(path, text, strlen(text));
}

void test_util_write_bytes(const char *path, const void *data, size_t n)
{
    CU_ASSERT_FATAL(test_util_save(path, data, n));
}

void test_util_write_gz(const char *path, const void *data, size_t n)
{
    CU_ASSERT_FATAL(test_util_save_gz(path, data, n));
}

void test_util_write_text(const char *path, const char *text)
{
    CU_ASSERT_FATAL(test_util_save_text(path, text));
}

char *test_util_temp_file(const void *data, size_t n)
{
    char path[] = "/tmp/netspec-test-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    close(fd);
    if (!test_util_save(path, data, n)) {
        unlink(path);
        return NULL;
    }
    return ns_xstrdup(path);
}

/* ---- running commands ---- */

/* Runs CMDLINE with standard input from INPUT (NULL: /dev/null) and both streams captured in
 * files of their own, so it needs no scratch folder. */
static struct test_util_run capture(const char *cmdline, const char *input)
{
    char out_path[] = "/tmp/netspec-test-out-XXXXXX", err_path[] = "/tmp/netspec-test-err-XXXXXX";
    int fo = mkstemp(out_path), fe = mkstemp(err_path);
    if (fo >= 0)
        close(fo);
    if (fe >= 0)
        close(fe);
    struct test_util_run r = {.exit_code = -1};
    if (fo >= 0 && fe >= 0) {
        /* Braces: the redirections apply to the whole line, not to its last command. */
        char *cmd = ns_asprintf("{ %s\n} >'%s' 2>'%s' <'%s'", cmdline, out_path, err_path, input ? input : "/dev/null");
        int status = system(cmd);
        free(cmd);
        r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    r.out = test_util_slurp(out_path, NULL);
    r.err = test_util_slurp(err_path, NULL);
    if (fo >= 0)
        unlink(out_path);
    if (fe >= 0)
        unlink(err_path);
    return r;
}

struct test_util_run test_util_netspec(const char *args)
{
    return test_util_netspec_opts((struct test_util_opts){0}, args);
}

struct test_util_run test_util_netspec_opts(struct test_util_opts opts, const char *args)
{
    struct ns_buf cmd = {0};
    ns_buf_puts(&cmd, "");
    if (opts.cwd)
        ns_buf_printf(&cmd, "cd '%s' && ", opts.cwd);
    if (opts.env)
        ns_buf_printf(&cmd, "%s ", opts.env);
    if (opts.timeout > 0)
        ns_buf_printf(&cmd, "timeout %d ", opts.timeout);
    ns_buf_printf(&cmd, "'%s' %s", test_util_bin(), args);
    struct test_util_run r = capture(cmd.data, opts.input);
    ns_buf_free(&cmd);
    return r;
}

struct test_util_run test_util_shell(const char *cmdline)
{
    return capture(cmdline, NULL);
}

void test_util_run_free(struct test_util_run *r)
{
    free(r->out);
    free(r->err);
}

double test_util_json_number(const char *json, const char *key)
{
    char *pat = ns_asprintf("\"%s\": ", key);
    const char *at = strstr(json, pat);
    double v = at ? strtod(at + strlen(pat), NULL) : NAN;
    free(pat);
    return v;
}

/* ---- data the tests make ---- */

uint64_t test_util_next_u64(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return *state >> 11;
}

double test_util_next_uniform(uint64_t *state)
{
    return (double)test_util_next_u64(state) * 0x1p-53;
}

double test_util_next_normal(uint64_t *state)
{
    double u1 = test_util_next_uniform(state), u2 = test_util_next_uniform(state);
    return sqrt(-2.0 * log(u1 + 1e-300)) * cos(6.283185307179586 * u2);
}

size_t test_util_make_idx(unsigned char *buf, int type, int ndim, const uint32_t *dims, const void *payload,
                          size_t payload_len)
{
    buf[0] = 0;
    buf[1] = 0;
    buf[2] = (unsigned char)type;
    buf[3] = (unsigned char)ndim;
    size_t at = 4;
    for (int i = 0; i < ndim; i++) {
        buf[at++] = (unsigned char)(dims[i] >> 24);
        buf[at++] = (unsigned char)(dims[i] >> 16);
        buf[at++] = (unsigned char)(dims[i] >> 8);
        buf[at++] = (unsigned char)dims[i];
    }
    memcpy(buf + at, payload, payload_len);
    return at + payload_len;
}

bool test_util_save_stripes(const char *images, const char *labels, int count, int classes, uint64_t seed,
                            unsigned char *pixels)
{
    enum { SIDE = TEST_UTIL_STRIPES_SIDE, PIXELS = SIDE * SIDE };
    uint64_t rng = seed;
    size_t n = (size_t)count;
    unsigned char *px = ns_xmalloc(n * PIXELS), *lab = ns_xmalloc(n);
    for (size_t i = 0; i < n; i++) {
        int c = (int)(i % (size_t)classes);
        lab[i] = (unsigned char)c;
        for (int y = 0; y < SIDE; y++)
            for (int x = 0; x < SIDE; x++) {
                double v = 40 * test_util_next_uniform(&rng);
                if (y >= 2 * c && y < 2 * c + 3)
                    v += 120 + 60 * test_util_next_uniform(&rng);
                px[i * PIXELS + (size_t)(y * SIDE + x)] = (unsigned char)v;
            }
    }
    if (pixels)
        memcpy(pixels, px, n * PIXELS);
    const uint32_t image_dims[3] = {(uint32_t)count, SIDE, SIDE}, label_dims[1] = {(uint32_t)count};
    unsigned char *file = ns_xmalloc(16 + n * PIXELS);
    size_t size = test_util_make_idx(file, 0x08, 3, image_dims, px, n * PIXELS);
    bool ok = test_util_save(images, file, size);
    size_t len = strlen(labels);
    bool gz = len >= 3 && strcmp(labels + len - 3, ".gz") == 0;
    size = test_util_make_idx(file, 0x08, 1, label_dims, lab, n);
    ok = ok && (gz ? test_util_save_gz : test_util_save)(labels, file, size);
    free(file);
    free(px);
    free(lab);
    return ok;
}

/* ---- main ---- */

int test_util_main(const char *suite, CU_InitializeFunc init, CU_CleanupFunc clean,
                   const struct test_util_case *cases, size_t count)
{
    /* The commands run beside other test programs on two cores: OpenMP threads that spin at
     * barriers then wait for peers the scheduler parked, and a 2-thread run takes 20 times
     * longer. Sleeping waits change no result (the 1 vs 2 thread bytes are compared). */
    setenv("OMP_WAIT_POLICY", "passive", 0);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return CU_get_error();
    CU_pSuite s = CU_add_suite(suite, init, clean);
    if (!s) {
        CU_cleanup_registry();
        return CU_get_error();
    }
    for (size_t i = 0; i < count; i++)
        CU_add_test(s, cases[i].name, cases[i].fn);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    /* Failure records also count suites whose init failed (their tests never ran). */
    unsigned failed = CU_get_number_of_failure_records() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
