/* The arithmetic contract on this machine: the small CNN of tests/specs/cross_cnn.yaml
 * (convolutions, batchnorm, both poolings, gelu, tanh, sigmoid, dropout, augmentation, Adam,
 * a cosine schedule), trained on 512 Fashion-MNIST images, gives the same model.nsm bytes and
 * the same per-epoch losses and accuracies on 1, 2 and 3 threads and with every kernel ISA
 * (--isa portable, avx2, avx512), and the same evaluation of the test split with every ISA.
 * An ISA this CPU (or build) lacks is skipped with a message saying so: not proven here.
 * Across machines, C libraries and compilers the same model is compared by
 * scripts/cross-check.sh. No timing is asserted. */
#include <CUnit/Basic.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/ns_util.h"
#include "kernels/kernels_cpu.h"

#include "test_util.h"

static const char *const fashion = "/usr/share/datasets/fashion-mnist";

/* ---- data: the first images of Fashion-MNIST ---- */

/* The first `count` samples of the gzip-compressed IDX file src, as an uncompressed IDX file
 * dst: the same magic and sample dimensions, count as the first dimension. */
static bool cut_idx(const char *src, const char *dst, uint32_t count)
{
    gzFile in = gzopen(src, "rb");
    if (!in)
        return false;
    unsigned char head[4 + 4 * 4];
    bool ok = gzread(in, head, 4) == 4 && !head[0] && !head[1] && head[2] == 8 && head[3] >= 1 && head[3] <= 4;
    size_t header = ok ? 4 + 4 * (size_t)head[3] : 0, sample = 1;
    ok = ok && gzread(in, head + 4, (unsigned)(header - 4)) == (int)(header - 4);
    for (size_t d = 1; ok && d < head[3]; d++)
        sample *= (size_t)head[4 + 4 * d] << 24 | (size_t)head[5 + 4 * d] << 16 | (size_t)head[6 + 4 * d] << 8 |
                  head[7 + 4 * d];
    size_t payload = sample * count;
    unsigned char *buf = ns_xmalloc(header + payload);
    if (ok) {
        memcpy(buf, head, header);
        buf[4] = (unsigned char)(count >> 24);
        buf[5] = (unsigned char)(count >> 16);
        buf[6] = (unsigned char)(count >> 8);
        buf[7] = (unsigned char)count;
        ok = gzread(in, buf + header, (unsigned)payload) == (int)payload;
    }
    gzclose(in);
    ok = ok && test_util_save(dst, buf, header + payload);
    free(buf);
    return ok;
}

static int suite_init(void)
{
    if (test_util_tmp_init("exact"))
        return -1;
    static const struct {
        const char *src, *dst;
        uint32_t count;
    } cuts[] = {
        {"train-images-idx3-ubyte.gz", "cross-train-images.idx", 512},
        {"train-labels-idx1-ubyte.gz", "cross-train-labels.idx", 512},
        {"t10k-images-idx3-ubyte.gz", "cross-test-images.idx", 128},
        {"t10k-labels-idx1-ubyte.gz", "cross-test-labels.idx", 128},
    };
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        char *src = ns_asprintf("%s/%s", fashion, cuts[i].src), *dst = test_util_tmp_path(cuts[i].dst);
        bool ok = cut_idx(src, dst, cuts[i].count);
        if (!ok)
            fprintf(stderr, "\ntest_exact: cannot cut %u samples out of %s (apt-get install dataset-fashion-mnist, "
                            "or run scripts/deps.sh)\n", cuts[i].count, src);
        free(src);
        free(dst);
        if (!ok)
            return -1;
    }
    char *spec_src = test_util_src_path("tests/specs/cross_cnn.yaml");
    char *spec = test_util_slurp(spec_src, NULL);
    char *spec_dst = test_util_tmp_path("cross_cnn.yaml");
    bool ok = *spec && test_util_save_text(spec_dst, spec);
    if (!ok)
        fprintf(stderr, "\ntest_exact: cannot copy %s\n", spec_src);
    free(spec_src);
    free(spec);
    free(spec_dst);
    return ok ? 0 : -1;
}

/* ---- helpers ---- */

/* Trains the spec into tmp/RUN with extra arguments; true when it succeeded. */
static bool train(const char *run, const char *extra)
{
    char *args = ns_asprintf("train %s/cross_cnn.yaml -o %s/%s %s", test_util_tmp(), test_util_tmp(), run, extra);
    struct test_util_run r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 0);
    if (r.exit_code)
        fprintf(stderr, "\nnetspec %s\n%s%s", args, r.out, r.err);
    bool ok = r.exit_code == 0;
    test_util_run_free(&r);
    free(args);
    return ok;
}

/* metrics.csv without the columns that are times (seconds, images_per_s): every loss,
 * accuracy and learning rate, as the 17 digits that give back the double. */
static char *metrics_without_times(const char *run)
{
    char *path = ns_asprintf("%s/%s/metrics.csv", test_util_tmp(), run);
    char *text = test_util_slurp(path, NULL);
    struct ns_buf b = {0};
    ns_buf_puts(&b, "");
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        int commas = 0;
        size_t keep = 0;
        while (keep < len && !(line[keep] == ',' && ++commas == 6))
            keep++;
        ns_buf_printf(&b, "%.*s\n", (int)keep, line);
        line += len + (end != NULL);
    }
    free(text);
    free(path);
    return b.data;
}

/* run's model.nsm and losses equal those of the reference run; says where they differ. */
static void expect_same_run(const char *reference, const char *run, const char *what)
{
    char *a = ns_asprintf("%s/%s/model.nsm", test_util_tmp(), reference);
    char *b = ns_asprintf("%s/%s/model.nsm", test_util_tmp(), run);
    size_t na = 0, nb = 0;
    char *da = test_util_slurp(a, &na), *db = test_util_slurp(b, &nb);
    CU_ASSERT(na > 0);
    CU_ASSERT(na == nb && memcmp(da, db, na) == 0);
    if (na != nb || memcmp(da, db, na)) {
        size_t at = 0;
        while (at < na && at < nb && da[at] == db[at])
            at++;
        fprintf(stderr, "\n%s: model.nsm differs from %s's (%s): %zu and %zu bytes, first difference at byte %zu\n",
                run, reference, what, na, nb, at);
    }
    char *ma = metrics_without_times(reference), *mb = metrics_without_times(run);
    CU_ASSERT_STRING_EQUAL(ma, mb);
    if (strcmp(ma, mb))
        fprintf(stderr, "\n%s: metrics.csv differs from %s's (%s):\n%s---\n%s", run, reference, what, ma, mb);
    free(ma);
    free(mb);
    free(da);
    free(db);
    free(a);
    free(b);
}

/* `netspec eval RUN --json EXTRA`'s output; NULL when it failed. */
static char *eval_json(const char *run, const char *extra)
{
    char *args = ns_asprintf("eval %s/%s --json %s", test_util_tmp(), run, extra);
    struct test_util_run r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 0);
    if (r.exit_code)
        fprintf(stderr, "\nnetspec %s\n%s", args, r.err);
    char *out = r.exit_code ? NULL : ns_xstrdup(r.out);
    test_util_run_free(&r);
    free(args);
    return out;
}

static bool isa_supported_loudly(enum kernels_isa isa)
{
    if (kernels_isa_supported(isa))
        return true;
    fprintf(stderr, "\n  SKIPPED --isa %s: this CPU (or this build) cannot run it, so that kernel path is NOT "
                    "proven identical here\n", kernels_isa_name(isa));
    return false;
}

/* ---- tests ---- */

/* One thread is the reference: every sum in its simplest order. 3 threads split nothing
 * evenly. Another seed must give other bytes: the comparison sees a difference. */
static void test_threads(void)
{
    if (!train("t1", "--threads 1"))
        return;
    if (train("seed", "--threads 1 --set seed=7")) {
        char *a = test_util_tmp_path("t1/model.nsm"), *b = test_util_tmp_path("seed/model.nsm");
        CU_ASSERT_FALSE(test_util_same_file(a, b));
        free(a);
        free(b);
    }
    if (train("t2", "--threads 2"))
        expect_same_run("t1", "t2", "2 threads against 1");
    if (train("t3", "--threads 3"))
        expect_same_run("t1", "t3", "3 threads against 1");
}

/* Each ISA trains on 2 threads (its kernels' own split of the work) and evaluates the 1-thread
 * reference run: the same bytes, the same losses, the same evaluation as auto. */
static void test_isas(void)
{
    char *auto_eval = eval_json("t1", "");
    CU_ASSERT_PTR_NOT_NULL_FATAL(auto_eval);
    CU_ASSERT_PTR_NOT_NULL(strstr(auto_eval, "\"loss\": "));
    static const enum kernels_isa isas[] = {KERNELS_ISA_PORTABLE, KERNELS_ISA_AVX2, KERNELS_ISA_AVX512};
    for (size_t i = 0; i < sizeof isas / sizeof *isas; i++) {
        if (!isa_supported_loudly(isas[i]))
            continue;
        const char *name = kernels_isa_name(isas[i]);
        char *run = ns_asprintf("isa_%s", name), *extra = ns_asprintf("--threads 2 --isa %s", name);
        char *what = ns_asprintf("--isa %s against auto", name);
        if (train(run, extra))
            expect_same_run("t1", run, what);
        char *isa_arg = ns_asprintf("--isa %s", name);
        char *e = eval_json("t1", isa_arg);
        CU_ASSERT(e && !strcmp(e, auto_eval));
        if (e && strcmp(e, auto_eval))
            fprintf(stderr, "\neval --isa %s differs from auto:\n%s---\n%s", name, auto_eval, e);
        free(e);
        free(isa_arg);
        free(what);
        free(extra);
        free(run);
    }
    free(auto_eval);
}

int main(void)
{
    static const struct test_util_case cases[] = {
        {"cross_cnn: the same model.nsm and losses on 1, 2 and 3 threads", test_threads},
        {"cross_cnn: the same model.nsm, losses and evaluation with --isa portable, avx2, avx512", test_isas},
    };
    return test_util_main("exact", suite_init, test_util_tmp_clean, cases, sizeof cases / sizeof *cases);
}
