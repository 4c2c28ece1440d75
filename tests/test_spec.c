/* The spec front end as users meet it: every bad spec in tests/specs/bad gives its exact first
 * error line and exit code; the example specs pass `check`; malformed input never crashes or
 * hangs; defaults, --set, extends and anchors resolve as documented; shapes are inferred for
 * every layer type; --help and the man page agree. */
#include <CUnit/Basic.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ns_ctx.h"
#include "core/ns_util.h"
#include "graph/graph.h"
#include "ops/op.h"
#include "spec/spec.h"
#include "spec/spec_resolve.h"

#include "test_util.h"

/* From `cwd`, and bounded: malformed input must fail, never hang. */
static struct test_util_run run_netspec(const char *cwd, const char *args)
{
    return test_util_netspec_opts((struct test_util_opts){.cwd = cwd, .timeout = 20}, args);
}

static char *first_line(const char *text)
{
    size_t n = strcspn(text, "\n");
    return ns_xstrndup(text, n);
}

/* Reads "# key: value" from the spec's leading comment lines. */
static char *directive(const char *text, const char *key, size_t skip)
{
    char *want = ns_asprintf("# %s: ", key);
    const char *p = text;
    char *found = NULL;
    while (*p == '#') {
        if (!strncmp(p, want, strlen(want)) && skip-- == 0) {
            found = first_line(p + strlen(want));
            break;
        }
        p += strcspn(p, "\n");
        if (*p)
            p++;
    }
    free(want);
    return found;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Takes ownership of `text`. */
static char *replace_all(char *text, const char *from, const char *to)
{
    if (!from || !*from)
        return text;
    struct ns_buf out = {0};
    ns_buf_puts(&out, "");
    const char *p = text, *hit;
    while ((hit = strstr(p, from))) {
        ns_buf_append(&out, p, (size_t)(hit - p));
        ns_buf_puts(&out, to);
        p = hit + strlen(from);
    }
    ns_buf_puts(&out, p);
    free(text);
    return out.data;
}

static void test_bad_specs(void)
{
    /* Messages name data files by absolute path; the expected lines say {srcdir}. */
    char *real_srcdir = realpath(test_util_srcdir(), NULL);
    char *dir = test_util_src_path("tests/specs/bad");
    DIR *d = opendir(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    char *names[256];
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d)) && count < 256) {
        size_t len = strlen(e->d_name);
        if (len > 5 && !strcmp(e->d_name + len - 5, ".yaml"))
            names[count++] = ns_xstrdup(e->d_name);
    }
    closedir(d);
    qsort(names, count, sizeof *names, compare_names);
    CU_ASSERT(count >= 40);
    size_t failures = 0;
    for (size_t i = 0; i < count; i++) {
        char *path = ns_asprintf("%s/%s", dir, names[i]);
        char *text = test_util_slurp(path, NULL);
        char *expect = directive(text, "expect", 0);
        char *exit_text = directive(text, "exit", 0);
        struct ns_buf args = {0};
        ns_buf_printf(&args, "check '%s'", names[i]);
        char *set;
        for (size_t k = 0; (set = directive(text, "set", k)); k++) {
            ns_buf_printf(&args, " --set '%s'", set);
            free(set);
        }
        struct test_util_run r = run_netspec(dir, args.data);
        char *got = replace_all(first_line(r.err), real_srcdir, "{srcdir}");
        /* The expected line names the file as {file}, relative to tests/specs/bad. */
        struct ns_buf want = {0};
        ns_buf_puts(&want, "");
        if (expect) {
            const char *at = strstr(expect, "{file}");
            if (at) {
                ns_buf_append(&want, expect, (size_t)(at - expect));
                ns_buf_puts(&want, names[i]);
                ns_buf_puts(&want, at + 6);
            } else {
                ns_buf_puts(&want, expect);
            }
        }
        int want_exit = exit_text ? atoi(exit_text) : -2;
        bool ok = expect && !strcmp(got, want.data) && r.exit_code == want_exit;
        if (!ok) {
            failures++;
            fprintf(stderr, "\n%s:\n  want (exit %d): %s\n  got  (exit %d): %s\n", names[i],
                    want_exit, want.data, r.exit_code, got);
        }
        CU_ASSERT(ok);
        ns_buf_free(&want);
        ns_buf_free(&args);
        free(got);
        test_util_run_free(&r);
        free(expect);
        free(exit_text);
        free(text);
        free(path);
        free(names[i]);
    }
    if (failures)
        fprintf(stderr, "%zu of %zu bad specs did not give their expected error\n", failures, count);
    free(dir);
    free(real_srcdir);
}

static void test_example_specs_check(void)
{
    char *dir = test_util_src_path("specs");
    DIR *d = opendir(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    struct dirent *e;
    int checked = 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len <= 5 || strcmp(e->d_name + len - 5, ".yaml"))
            continue;
        char *args = ns_asprintf("check '%s'", e->d_name);
        struct test_util_run r = run_netspec(dir, args);
        if (r.exit_code != 0)
            fprintf(stderr, "\nspecs/%s fails check:\n%s", e->d_name, r.err);
        CU_ASSERT_EQUAL(r.exit_code, 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "total"));
        checked++;
        test_util_run_free(&r);
        free(args);
    }
    closedir(d);
    CU_ASSERT(checked >= 5);
    free(dir);
}

static void test_check_table_values(void)
{
    char *dir = test_util_src_path("specs");
    struct test_util_run r = run_netspec(dir, "check fashion_mlp.yaml");
    CU_ASSERT_EQUAL(r.exit_code, 0);
    /* 784*256+256 + 256*128+128 + 128*10+10 */
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "235,146"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "[28, 28, 1]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "60000 training examples"));
    test_util_run_free(&r);
    r = run_netspec(dir, "check fashion_cnn.yaml");
    CU_ASSERT_EQUAL(r.exit_code, 0);
    /* conv 3*3*1*32+32 = 320; conv 3*3*32*64+64 = 18,496; dense 3136*128+128 = 401,536 */
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "320"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "18,496"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "401,536"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "[14, 14, 32]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "[7, 7, 64]"));
    test_util_run_free(&r);
    free(dir);
}

/* ---- malformed input never crashes or hangs ---- */

static void expect_clean_failure(const void *data, size_t size, const char *what)
{
    char *path = test_util_temp_file(data, size);
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    char *args = ns_asprintf("check '%s'", path);
    struct test_util_run r = run_netspec("/tmp", args);
    if (r.exit_code != 2)
        fprintf(stderr, "\n%s: exit %d\n%s", what, r.exit_code, r.err);
    CU_ASSERT_EQUAL(r.exit_code, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "error:"));
    test_util_run_free(&r);
    free(args);
    unlink(path);
    free(path);
}

static void test_malformed_input(void)
{
    unsigned long long state = 0x9e3779b97f4a7c15ULL;
    for (int round = 0; round < 8; round++) {
        size_t size = 64u << round;
        unsigned char *bytes = ns_xmalloc(size);
        for (size_t i = 0; i < size; i++) {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            bytes[i] = (unsigned char)(state >> 56);
        }
        expect_clean_failure(bytes, size, "random bytes");
        /* Random printable YAML-ish punctuation gets further into the parser. */
        for (size_t i = 0; i < size; i++)
            bytes[i] = (unsigned char)":-[]{}#&*!|>'\"%@ \nab1"[bytes[i] % 22];
        expect_clean_failure(bytes, size, "random punctuation");
        free(bytes);
    }
    /* One line larger than any spec may be. */
    size_t huge = 100u << 20;
    char *line = ns_xmalloc(huge);
    memset(line, 'a', huge);
    memcpy(line, "version: ", 9);
    expect_clean_failure(line, huge, "100 MB line");
    /* A 10 MB scalar is within the size limit: it must parse and fail validation. */
    memcpy(line, "version: 1\nname: ", 17);
    expect_clean_failure(line, 10u << 20, "10 MB scalar");
    free(line);
    struct ns_buf deep = {0};
    ns_buf_puts(&deep, "version: 1\nx: ");
    for (int i = 0; i < 100000; i++)
        ns_buf_puts(&deep, "[");
    expect_clean_failure(deep.data, deep.len, "deep nesting");
    ns_buf_free(&deep);
    expect_clean_failure("version: 1\n\x01\x02\x03", 14, "control characters");
    expect_clean_failure("version: 1\nname: \"\\xff\"\n\xff\xfe", 27, "invalid UTF-8");
    expect_clean_failure("version: 1\nname: a\0b\n", 21, "NUL byte");
}

/* ---- in-process: defaults, --set, extends, anchors ---- */

static struct spec *load_text(struct ns_ctx *ctx, const char *text, const char *const *sets,
                              size_t set_count)
{
    char *path = test_util_temp_file(text, strlen(text));
    struct spec *spec = spec_load(ctx, op_catalog(), path, sets, set_count);
    unlink(path);
    free(path);
    return spec;
}

static const char base_spec[] =
    "version: 1\n"
    "data:\n"
    "  format: csv\n"
    "  train: x.csv\n"
    "  label_column: y\n"
    "model:\n"
    "  layers:\n"
    "    - dense: {units: 16, activation: relu}\n"
    "    - dropout: 0.25\n"
    "    - dense: {units: auto}\n"
    "loss: cross_entropy\n";

static void test_defaults(void)
{
    struct ns_ctx ctx;
    ns_ctx_init(&ctx);
    struct spec *spec = load_text(&ctx, base_spec, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(spec);
    CU_ASSERT_EQUAL(spec->optimizer.type, OPT_ADAM);
    CU_ASSERT_DOUBLE_EQUAL(spec->optimizer.lr, 0.001, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(spec->optimizer.beta2, 0.999, 1e-12);
    CU_ASSERT_EQUAL(spec->schedule.type, SCHED_CONSTANT);
    CU_ASSERT_EQUAL(spec->train.epochs, 10);
    CU_ASSERT_EQUAL(spec->train.batch_size, 64);
    CU_ASSERT_EQUAL(spec->runtime.threads, SPEC_AUTO);
    CU_ASSERT_EQUAL(spec->seed, 1234);
    CU_ASSERT_DOUBLE_EQUAL(spec->data.validation, 0.1, 1e-12);
    CU_ASSERT_EQUAL(spec->data.task, TASK_CLASSIFICATION);
    CU_ASSERT_EQUAL(spec->model.layer_count, 3);
    CU_ASSERT_STRING_EQUAL(spec->model.layers[1].type->name, "dropout");
    CU_ASSERT_STRING_EQUAL(spec->model.layers[1].name, "dropout1");
    CU_ASSERT_PTR_NOT_NULL(strstr(spec->data.train_csv, "/x.csv"));
    CU_ASSERT_EQUAL(spec->data.train_csv[0], '/');
    CU_ASSERT_EQUAL(ctx.diag.count, 0);
    ns_ctx_free(&ctx);
}

static double layer_double(const struct spec_layer *layer, const char *key)
{
    const struct schema_field *f = schema_find(layer->type->param_schema, key);
    return *(const double *)((const char *)layer->params + f->offset);
}

static int layer_int(const struct spec_layer *layer, const char *key)
{
    const struct schema_field *f = schema_find(layer->type->param_schema, key);
    return *(const int *)((const char *)layer->params + f->offset);
}

static void test_set_overrides(void)
{
    struct ns_ctx ctx;
    ns_ctx_init(&ctx);
    const char *sets[] = {"optimizer.lr=0.05", "model.layers[0].units=32",
                          "model.layers[1].rate=0.5", "schedule={type: cosine, min_lr: 0.001}",
                          "train.epochs=3", "model.input=[7]"};
    struct spec *spec = load_text(&ctx, base_spec, sets, 6);
    CU_ASSERT_PTR_NOT_NULL_FATAL(spec);
    CU_ASSERT_DOUBLE_EQUAL(spec->optimizer.lr, 0.05, 1e-12);
    CU_ASSERT_EQUAL(layer_int(&spec->model.layers[0], "units"), 32);
    CU_ASSERT_DOUBLE_EQUAL(layer_double(&spec->model.layers[1], "rate"), 0.5, 1e-12);
    CU_ASSERT_EQUAL(spec->schedule.type, SCHED_COSINE);
    CU_ASSERT_DOUBLE_EQUAL(spec->schedule.min_lr, 0.001, 1e-12);
    CU_ASSERT_EQUAL(spec->train.epochs, 3);
    CU_ASSERT_EQUAL(spec->model.input.rank, 1);
    CU_ASSERT_EQUAL(spec->model.input.dims[0], 7);
    CU_ASSERT_EQUAL(spec->set_count, 6);
    ns_ctx_free(&ctx);

    /* Every --set error is reported, each naming its argument. */
    ns_ctx_init(&ctx);
    const char *bad[] = {"optimizer.lr=abc", "model.layers[7].units=3", "trian.epochs=2"};
    CU_ASSERT_PTR_NULL(load_text(&ctx, base_spec, bad, 3));
    CU_ASSERT_EQUAL(ctx.diag.count, 3);
    char *line = ns_error_first_line(&ctx.diag.items[0]);
    CU_ASSERT_STRING_EQUAL(line, "--set model.layers[7].units=3: error: --set path \"model.layers[7].units\": index 7 is out of range (the list has 3 items)");
    free(line);
    line = ns_error_first_line(&ctx.diag.items[1]);
    CU_ASSERT_STRING_EQUAL(line, "--set trian.epochs=2: error: unknown key \"trian\" in spec");
    free(line);
    line = ns_error_first_line(&ctx.diag.items[2]);
    CU_ASSERT_STRING_EQUAL(line, "--set optimizer.lr=abc: error: \"lr\" must be a number, got \"abc\"");
    free(line);
    ns_ctx_free(&ctx);
}

static void test_extends_and_anchors(void)
{
    char dir[] = "/tmp/netspec-test-extends-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char *base = ns_asprintf("%s/base.yaml", dir);
    char *child = ns_asprintf("%s/child.yaml", dir);
    FILE *f = fopen(base, "w");
    fputs(base_spec, f);
    fputs("optimizer: {type: sgd, lr: 0.1, momentum: 0.9}\n", f);
    fclose(f);
    f = fopen(child, "w");
    fputs("version: 1\nextends: base.yaml\n"
          "common: &common {activation: tanh}\n"
          "optimizer: {lr: 0.2}\n"
          "model:\n  layers:\n    - dense: {<<: *common, units: 8}\n    - dense: {units: auto}\n", f);
    fclose(f);
    struct ns_ctx ctx;
    ns_ctx_init(&ctx);
    struct spec *spec = spec_load(&ctx, op_catalog(), child, NULL, 0);
    /* "common" is not a spec key: the anchor trick needs a key the schema knows. */
    CU_ASSERT_PTR_NULL(spec);
    CU_ASSERT_EQUAL(ctx.diag.count, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(ctx.diag.items[0].message, "unknown key \"common\""));
    ns_ctx_free(&ctx);

    f = fopen(child, "w");
    fputs("version: 1\nextends: base.yaml\n"
          "optimizer: {lr: 0.2}\n"
          "model:\n  layers:\n    - dense: &hidden {units: 8, activation: tanh}\n"
          "    - dense: {<<: *hidden, units: 4}\n    - dense: {units: auto}\n", f);
    fclose(f);
    ns_ctx_init(&ctx);
    spec = spec_load(&ctx, op_catalog(), child, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(spec);
    /* maps merge: type and momentum from the base, lr from the child */
    CU_ASSERT_EQUAL(spec->optimizer.type, OPT_SGD);
    CU_ASSERT_DOUBLE_EQUAL(spec->optimizer.momentum, 0.9, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(spec->optimizer.lr, 0.2, 1e-12);
    /* lists replace: three layers from the child, none of the base's */
    CU_ASSERT_EQUAL(spec->model.layer_count, 3);
    CU_ASSERT_EQUAL(layer_int(&spec->model.layers[1], "units"), 4);
    CU_ASSERT_EQUAL(layer_int(&spec->model.layers[1], "activation"), ACT_TANH);
    /* the base's relative path is relative to the base's folder */
    CU_ASSERT_EQUAL(strncmp(spec->data.train_csv, dir, strlen(dir)), 0);
    ns_ctx_free(&ctx);
    unlink(base);
    unlink(child);
    rmdir(dir);
    free(base);
    free(child);
}

/* ---- shape inference for every layer type ---- */

struct shape_case {
    const char *layers;   /* YAML of model.layers */
    int input[3], rank;   /* the input shape */
    const char *outputs;  /* each node's output shape, "|"-separated */
    size_t params;        /* trainable parameters of the whole graph */
};

static void test_shapes(void)
{
    static const struct shape_case cases[] = {
        {"[dense: {units: 5}]", {7}, 1, "[5]", 40},
        {"[flatten, {dense: {units: 3}}]", {4, 4, 2}, 3, "[32]|[3]", 99},
        {"[conv2d: {filters: 4, kernel: 3}]", {8, 8, 2}, 3, "[6, 6, 4]", 76},
        {"[conv2d: {filters: 4, kernel: 3, padding: same, stride: 2}]", {8, 8, 2}, 3, "[4, 4, 4]", 76},
        {"[conv2d: {filters: 4, kernel: [3, 1], padding: 1, use_bias: false}]", {8, 8, 1}, 3, "[8, 10, 4]", 12},
        {"[conv2d: {filters: 2, kernel: 3, dilation: 2}]", {9, 9, 1}, 3, "[5, 5, 2]", 20},
        {"[maxpool2d: {size: 2}]", {8, 6, 3}, 3, "[4, 3, 3]", 0},
        {"[avgpool2d: {size: 3, stride: 1}]", {8, 6, 3}, 3, "[6, 4, 3]", 0},
        {"[maxpool2d: {size: 2, padding: same}]", {7, 7, 3}, 3, "[4, 4, 3]", 0},
        {"[global_avgpool2d]", {8, 6, 3}, 3, "[3]", 0},
        {"[dropout: 0.5]", {8, 6, 3}, 3, "[8, 6, 3]", 0},
        {"[batchnorm]", {8, 6, 3}, 3, "[8, 6, 3]", 6},
        {"[batchnorm]", {10}, 1, "[10]", 20},
        {"[activation: gelu]", {10}, 1, "[10]", 0},
        {"[softmax]", {10}, 1, "[10]", 0},
        {"[{dense: {units: 4, name: a}}, {dense: {units: 4, name: b}}, {add: {from: [a, b]}}]", {3}, 1, "[4]|[4]|[4]", 36},
        {"[{conv2d: {filters: 2, kernel: 1, name: a}}, {conv2d: {filters: 3, kernel: 1, from: input}}, {concat: {from: [a, conv2d1]}}]", {5, 5, 4}, 3, "[5, 5, 2]|[5, 5, 3]|[5, 5, 5]", 25},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const struct shape_case *c = &cases[i];
        char *text = ns_asprintf("version: 1\ndata: {format: csv, train: x.csv, label_column: y}\n"
                                 "model:\n  layers: %s\nloss: mse\n", c->layers);
        struct ns_ctx ctx;
        ns_ctx_init(&ctx);
        struct spec *spec = load_text(&ctx, text, NULL, 0);
        if (!spec) {
            ns_diag_print(&ctx.diag, stderr, false);
            CU_FAIL("spec did not load");
            ns_ctx_free(&ctx);
            free(text);
            continue;
        }
        struct spec_shape input = {.rank = c->rank};
        memcpy(input.dims, c->input, sizeof input.dims);
        struct graph *g = graph_build(&ctx, spec, input, 10);
        if (!g)
            ns_diag_print(&ctx.diag, stderr, false);
        CU_ASSERT_PTR_NOT_NULL_FATAL(g);
        struct ns_buf got = {0};
        for (size_t n = 0; n < g->node_count; n++) {
            char shape[48];
            op_shape_format(&g->nodes[n].out_shape, shape);
            ns_buf_printf(&got, "%s%s", n ? "|" : "", shape);
        }
        if (strcmp(got.data, c->outputs) || g->trainable_params != c->params)
            fprintf(stderr, "\ncase %zu %s: got %s with %zu params\n", i, c->layers, got.data,
                    g->trainable_params);
        CU_ASSERT_STRING_EQUAL(got.data, c->outputs);
        CU_ASSERT_EQUAL(g->trainable_params, c->params);
        CU_ASSERT(g->flops > 0 || !strcmp(c->layers, "[dropout: 0.5]") || strstr(c->layers, "flatten"));
        ns_buf_free(&got);
        ns_ctx_free(&ctx);
        free(text);
    }
}

/* ---- the man page documents every option --help shows ---- */

static void collect_options(const char *text, char **options, size_t *count, size_t cap)
{
    for (const char *p = text; (p = strstr(p, "--")); p += 2) {
        size_t len = 2;
        while (p[len] == '-' || (p[len] >= 'a' && p[len] <= 'z'))
            len++;
        if (len <= 2)
            continue;
        char *opt = ns_xstrndup(p, len);
        bool seen = false;
        for (size_t i = 0; i < *count; i++)
            seen |= !strcmp(options[i], opt);
        if (seen || *count >= cap)
            free(opt);
        else
            options[(*count)++] = opt;
    }
}

static void test_man_documents_help(void)
{
    char *man_path = test_util_src_path("man/netspec.1");
    char *man = test_util_slurp(man_path, NULL);
    /* roff writes "--set" as "\-\-set" */
    struct ns_buf plain = {0};
    for (const char *p = man; *p; p++)
        if (!(p[0] == '\\' && p[1] == '-'))
            ns_buf_append(&plain, p, 1);
    char *options[128];
    size_t count = 0;
    struct test_util_run r = run_netspec(".", "--help");
    CU_ASSERT_EQUAL(r.exit_code, 0);
    collect_options(r.out, options, &count, 128);
    /* Each command's own --help too: the command names are the words after "netspec ". */
    for (const char *p = r.out; (p = strstr(p, "  netspec ")); p += 10) {
        char name[32];
        if (sscanf(p + 10, "%31[a-z]", name) == 1) {
            CU_ASSERT_PTR_NOT_NULL(strstr(plain.data, name));
            char *args = ns_asprintf("%s --help", name);
            struct test_util_run sub = run_netspec(".", args);
            CU_ASSERT_EQUAL(sub.exit_code, 0);
            collect_options(sub.out, options, &count, 128);
            test_util_run_free(&sub);
            free(args);
        }
    }
    test_util_run_free(&r);
    CU_ASSERT(count >= 3);
    for (size_t i = 0; i < count; i++) {
        if (!strstr(plain.data, options[i]))
            fprintf(stderr, "\nman/netspec.1 does not mention %s\n", options[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(plain.data, options[i]));
        free(options[i]);
    }
    ns_buf_free(&plain);
    free(man);
    free(man_path);
}

/* runtime.max_memory: sizes with units parse exactly; anything else is an error at the value. */
static void test_max_memory(void)
{
    static const struct {
        const char *set;
        long long bytes;
    } good[] = {
        {"runtime.max_memory=1048576", 1048576},       {"runtime.max_memory=512MiB", 512LL << 20},
        {"runtime.max_memory=4GiB", 4LL << 30},        {"runtime.max_memory=2GB", 2000000000LL},
        {"runtime.max_memory=1.5 KiB", 1536},          {"runtime.max_memory=auto", SPEC_AUTO},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        struct ns_ctx ctx;
        ns_ctx_init(&ctx);
        struct spec *spec = load_text(&ctx, base_spec, &good[i].set, 1);
        CU_ASSERT_PTR_NOT_NULL(spec);
        if (spec) {
            CU_ASSERT_EQUAL(spec->runtime.max_memory, good[i].bytes);
        } else {
            ns_diag_print(&ctx.diag, stderr, false);
        }
        ns_ctx_free(&ctx);
    }
    static const char *const bad[] = {"12XB", "0", "-5", "1.5", "4 gigs", "[1]", "0.1B", "1e9"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct ns_ctx ctx;
        ns_ctx_init(&ctx);
        char *set = ns_asprintf("runtime.max_memory=%s", bad[i]);
        const char *sets[] = {set};
        CU_ASSERT_PTR_NULL(load_text(&ctx, base_spec, sets, 1));
        CU_ASSERT_EQUAL_FATAL(ctx.diag.count, 1);
        char *line = ns_error_first_line(&ctx.diag.items[0]);
        char *want = ns_asprintf("--set %s: error: \"max_memory\" must be a size (bytes, or a number and a unit "
                                 "like 512MiB, 4GiB, 2GB) or auto, got %s%s%s",
                                 set, bad[i][0] == '[' ? "" : "\"", bad[i][0] == '[' ? "a list" : bad[i],
                                 bad[i][0] == '[' ? "" : "\"");
        CU_ASSERT_STRING_EQUAL(line, want);
        free(want);
        free(line);
        free(set);
        ns_ctx_free(&ctx);
    }
    /* resolve writes the exact size back in the largest unit that divides it. */
    struct ns_ctx ctx;
    ns_ctx_init(&ctx);
    const char *sets[] = {"runtime.max_memory=2GB"};
    struct spec *spec = load_text(&ctx, base_spec, sets, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(spec);
    char *text = spec_resolve_yaml(spec);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "max_memory: 2000000000\n"));
    free(text);
    ns_ctx_free(&ctx);
    ns_ctx_init(&ctx);
    sets[0] = "runtime.max_memory=1536MiB";
    spec = load_text(&ctx, base_spec, sets, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(spec);
    text = spec_resolve_yaml(spec);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "max_memory: 1536MiB\n"));
    free(text);
    ns_ctx_free(&ctx);
}

/* The documented limit of 10,000 layers: one more is refused at the list, without building
 * anything; exactly 10,000 validates. */
static void test_layer_limit(void)
{
    for (int n = 10000; n <= 10001; n++) {
        struct ns_buf text = {0};
        ns_buf_puts(&text, "version: 1\ndata: {format: csv, train: x.csv, label_column: y}\nmodel:\n  layers:\n");
        for (int i = 0; i < n - 1; i++)
            ns_buf_puts(&text, "    - dense: {units: 2}\n");
        ns_buf_puts(&text, "    - dense: {units: auto}\nloss: cross_entropy\n");
        struct ns_ctx ctx;
        ns_ctx_init(&ctx);
        struct spec *spec = load_text(&ctx, text.data, NULL, 0);
        if (n == 10000) {
            CU_ASSERT_PTR_NOT_NULL(spec);
            CU_ASSERT_EQUAL(ctx.diag.count, 0);
        } else {
            CU_ASSERT_PTR_NULL(spec);
            CU_ASSERT_EQUAL_FATAL(ctx.diag.count, 1);
            CU_ASSERT_STRING_EQUAL(ctx.diag.items[0].message, "\"layers\" lists 10001 layers; a model has at most 10000");
            CU_ASSERT_EQUAL(ctx.diag.items[0].line, 5);
        }
        ns_ctx_free(&ctx);
        ns_buf_free(&text);
    }
}

int main(void)
{
    static const struct test_util_case cases[] = {
        {"bad specs give their exact first error", test_bad_specs},
        {"example specs pass check", test_example_specs_check},
        {"check prints parameter counts and shapes", test_check_table_values},
        {"malformed input fails cleanly", test_malformed_input},
        {"defaults are filled", test_defaults},
        {"--set overrides", test_set_overrides},
        {"runtime.max_memory sizes", test_max_memory},
        {"extends and anchors", test_extends_and_anchors},
        {"shape inference for every layer type", test_shapes},
        {"man page documents every option", test_man_documents_help},
        {"at most 10,000 layers", test_layer_limit},
    };
    return test_util_main("spec", NULL, NULL, cases, sizeof cases / sizeof *cases);
}
