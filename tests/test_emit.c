/* netspec emit end to end: small models trained through the binary on data this program
 * writes (an MLP; a CNN with batchnorm, max/avg/global pooling, a residual add, a concat, a
 * strided, a dilated and a 1x1 convolution and gelu/tanh/sigmoid/leaky_relu/softmax; a binary
 * model with one sigmoid output) are emitted, compiled with every compiler and flags of
 * emit_builds (the project's cc, GNU C with contraction on and -march=native, -O3, clang, musl,
 * aarch64 under qemu) and run by a driver this program writes, on a few hundred inputs. The preprocessed inputs, the logits and the probabilities must equal the
 * runtime's (exec_forward in eval mode, batches of 64 and of 7) bit for bit, the class the
 * runtime's. The files must compile with -Wall -Wextra -Werror -pedantic, hold no malloc and
 * no mutable global; the --main program must classify PGM/PPM files as `netspec predict`
 * does. CSV runs (standardize, a categorical column, missing cells; a classifier and a
 * regression model) fed their test rows as the header documents the inputs give eval's and
 * predict's bits. Without cc the compiling tests pass with a message. No timing is asserted. */
#include <CUnit/Basic.h>

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "core/ns_ctx.h"
#include "core/ns_util.h"
#include "data/data_prep.h"
#include "emit/emit.h"
#include "ops/op_emit.h"
#include "graph/graph.h"
#include "kernels/activation.h"
#include "kernels/nsk.h"
#include "runtime/exec.h"
#include "train/loss.h"
#include "train/trainset.h"

#include "test_util.h"

static bool have_cc;

/* ---- helpers ---- */

static void expect_ok(struct test_util_run *r)
{
    CU_ASSERT_EQUAL(r->exit_code, 0);
    if (r->exit_code)
        fprintf(stderr, "\n%s\n%s", r->out, r->err);
}

enum { SIDE = TEST_UTIL_STRIPES_SIDE, PIXELS = SIDE * SIDE, TEST_COUNT = 90 };

static unsigned char test_pixels[TEST_COUNT * PIXELS];     /* 3-class test images */
static unsigned char binary_pixels[TEST_COUNT * PIXELS];   /* 2-class test images */

/* 300 hidden units: the next layer's sums are longer than the runtime's GEMM K block (256),
 * so its blocked partial sums are compared too. */
static const char *const mlp_spec =
    "version: 1\n"
    "name: tiny-mlp\n"
    "seed: 42\n"
    "data:\n"
    "  format: idx\n"
    "  train: {images: train-images.idx, labels: train-labels.idx}\n"
    "  test: {images: test-images.idx, labels: test-labels.idx}\n"
    "  validation: 0.2\n"
    "  classes: [low, middle, high]\n"
    "  normalize: {scale: 0.00392156862745098, mean: 0.2860, std: 0.3530}\n"
    "model:\n"
    "  layers:\n"
    "    - flatten\n"
    "    - dense: {units: 300, activation: relu}\n"
    "    - dropout: 0.2\n"
    "    - dense: {units: 12, activation: gelu}\n"
    "    - dense: {units: auto}\n"
    "loss: cross_entropy\n"
    "optimizer: {type: adam, lr: 0.01}\n"
    "train: {epochs: 3, batch_size: 32}\n";

/* Every op (reshape is in the binary model) and every activation, odd geometry (a [2, 3]
 * kernel with stride 2 and explicit padding, a dilated kernel, a 1x1 convolution, overlapping
 * same-padded average pooling) and class names that need escaping in C. The convolutions take
 * every path of nsk_conv2d: blocks of 64 and of 32 filters and single filters left over
 * (rows_of_6: 98 = 64 + 32 + 2; wide: 34), padded positions one at a time, and a row of 6
 * positions whose last two go as a block overlapping the first. */
static const char *const cnn_spec =
    "version: 1\n"
    "name: tiny-cnn\n"
    "seed: 7\n"
    "data:\n"
    "  format: idx\n"
    "  train: {images: train-images.idx, labels: train-labels.idx}\n"
    "  test: {images: test-images.idx, labels: test-labels.idx}\n"
    "  validation: 0.2\n"
    "  classes: [low, \"mid \\\"dle\\\"\", 'high?\?/ \\ */']\n"
    "  normalize: {scale: 0.00392156862745098}\n"
    "model:\n"
    "  layers:\n"
    "    - conv2d: {filters: 4, kernel: 3, padding: same, name: stem, activation: gelu}\n"
    "    - batchnorm\n"
    "    - activation: {type: leaky_relu, alpha: 0.1, name: block_in}\n"
    "    - conv2d: {filters: 4, kernel: 3, padding: same, activation: tanh}\n"
    "    - batchnorm: {name: block_out}\n"
    "    - add: {from: [block_in, block_out]}\n"
    "    - conv2d: {filters: 3, kernel: 1, activation: sigmoid, name: side}\n"
    "    - conv2d: {filters: 34, kernel: 3, dilation: 2, padding: same, activation: leaky_relu, name: wide}\n"
    "    - concat: {from: [block_in, side, wide]}\n"
    "    - conv2d: {filters: 98, kernel: [1, 3], name: rows_of_6}\n"
    "    - maxpool2d: {size: 2}\n"
    "    - conv2d: {filters: 5, kernel: [2, 3], stride: 2, padding: 1}\n"
    "    - avgpool2d: {size: 2, stride: 1, padding: same}\n"
    "    - softmax\n"
    "    - global_avgpool2d\n"
    "    - dropout: 0.1\n"
    "    - batchnorm\n"
    "    - dense: {units: 8, activation: relu}\n"
    "    - dense: {units: auto}\n"
    "loss: cross_entropy\n"
    "optimizer: {type: adam, lr: 0.01}\n"
    "train: {epochs: 2, batch_size: 32}\n";

static const char *const binary_spec =
    "version: 1\n"
    "name: tiny-binary\n"
    "seed: 3\n"
    "data:\n"
    "  format: idx\n"
    "  train: {images: bin-train-images.idx, labels: bin-train-labels.idx}\n"
    "  test: {images: bin-test-images.idx, labels: bin-test-labels.idx}\n"
    "  validation: 0.2\n"
    "  classes: [no, yes]\n"
    "  normalize: {scale: 0.00392156862745098}\n"
    "model:\n"
    "  layers:\n"
    "    - flatten\n"
    "    - reshape: {shape: [8, 8, 1]}\n"
    "    - conv2d: {filters: 3, kernel: 3, activation: relu}\n"
    "    - global_avgpool2d\n"
    "    - dense: {units: 6, activation: sigmoid}\n"
    "    - dense: {units: 1}\n"
    "loss: binary_cross_entropy\n"
    "optimizer: {type: adam, lr: 0.03}\n"
    "train: {epochs: 4, batch_size: 32}\n";

/* Trains SPEC (a file in test_util_tmp()) into test_util_tmp()/RUN and emits it to test_util_tmp()/RUN-c with
 * --prefix PREFIX (NULL: the default) and extra options. */
static bool train_and_emit(const char *spec_name, const char *run_name, const char *prefix, const char *extra)
{
    char *args = ns_asprintf("train %s/%s -o %s/%s", test_util_tmp(), spec_name, test_util_tmp(), run_name);
    struct test_util_run r = test_util_netspec(args);
    expect_ok(&r);
    bool ok = r.exit_code == 0;
    test_util_run_free(&r);
    free(args);
    if (!ok)
        return false;
    args = ns_asprintf("emit %s/%s -o %s/%s-c%s%s %s", test_util_tmp(), run_name, test_util_tmp(), run_name,
                       prefix ? " --prefix " : "", prefix ? prefix : "", extra ? extra : "");
    r = test_util_netspec(args);
    expect_ok(&r);
    ok = r.exit_code == 0;
    test_util_run_free(&r);
    free(args);
    return ok;
}

/* A program that reads raw inputs (count, PREFIX_INPUT_SIZE floats) from argv[1] and prints,
 * per input, the class then the bits of x, logits and probabilities in hex; first the class
 * names, one per line. The workspace is exactly PREFIX_WORKSPACE_BYTES (ASan sees overruns). */
static char *driver_source(const char *prefix)
{
    char upper[EMIT_PREFIX_MAX];
    size_t i = 0;
    for (; prefix[i]; i++)
        upper[i] = (char)(prefix[i] >= 'a' && prefix[i] <= 'z' ? prefix[i] - 'a' + 'A' : prefix[i]);
    upper[i] = '\0';
    return ns_asprintf(
        "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include \"%1$s.h\"\n"
        "static void put(const float *v, size_t n)\n"
        "{\n"
        "    for (size_t i = 0; i < n; i++) {\n"
        "        unsigned int u;\n"
        "        memcpy(&u, &v[i], sizeof u);\n"
        "        printf(\" %%08x\", u);\n"
        "    }\n"
        "}\n"
        "int main(int argc, char **argv)\n"
        "{\n"
        "    FILE *f = argc > 1 ? fopen(argv[1], \"rb\") : NULL;\n"
        "    float raw[%2$s_INPUT_SIZE], x[%2$s_INPUT_SIZE], z[%2$s_OUTPUT_SIZE], p[%2$s_CLASS_COUNT];\n"
        "    void *ws = malloc(%2$s_WORKSPACE_BYTES);\n"
        "    if (!f || !ws)\n"
        "        return 1;\n"
        "    for (int c = 0; c < %2$s_CLASS_COUNT; c++)\n"
        "        printf(\"name %%s\\n\", %1$s_class_names[c]);\n"
        "    while (fread(raw, sizeof raw, 1, f) == 1) {\n"
        "        int c;\n"
        "        %1$s_preprocess(raw, x);\n"
        "        %1$s_logits(x, z, ws);\n"
        "        c = %1$s_classify(raw, p, ws);\n"
        "        if (c != %1$s_classify(raw, NULL, ws))\n"
        "            return 3;\n"
        "        printf(\"%%d\", c);\n"
        "        put(x, %2$s_INPUT_SIZE);\n"
        "        put(z, %2$s_OUTPUT_SIZE);\n"
        "        put(p, %2$s_CLASS_COUNT);\n"
        "        printf(\"\\n\");\n"
        "    }\n"
        "    fclose(f);\n"
        "    free(ws);\n"
        "    return 0;\n"
        "}\n",
        prefix, upper);
}

/* Compiles DIR/PREFIX.c with the driver (or DIR/PREFIX_main.c) into DIR/NAME with `compiler`
 * and `flags`. */
static bool compile_with(const char *compiler, const char *dir, const char *prefix, const char *second,
                         const char *flags, const char *name)
{
    char *cmd = ns_asprintf("%s %s -I'%s' '%s/%s.c' '%s/%s' -lm -o '%s/%s'", compiler, flags, dir, dir, prefix, dir,
                            second, dir, name);
    struct test_util_run r = test_util_shell(cmd);
    bool ok = r.exit_code == 0;
    if (!ok)
        fprintf(stderr, "\n%s\n%s%s", cmd, r.out, r.err);
    test_util_run_free(&r);
    free(cmd);
    return ok;
}

static bool compile(const char *dir, const char *prefix, const char *second, const char *flags, const char *name)
{
    return compile_with("cc", dir, prefix, second, flags, name);
}

/* The compilers and flags the emitted C must give the runtime's bits under: the project's own
 * compiler, GNU C mode with FMA contraction on (GCC's default there) and the host's every
 * instruction, higher optimisation, clang (which contracts within expressions by default) and
 * musl. NULL compiler: the project's ($NETSPEC_CC, else cc). */
static const struct {
    const char *compiler, *flags, *name;
    const char *runner; /* what runs the program (an emulator), or NULL */
} emit_builds[] = {
    {NULL, "-O2", "driver-project", NULL},
    {"cc", "-O2 -march=native", "driver-native", NULL},
    {"cc", "-O3 -march=native -funroll-loops", "driver-o3", NULL},
    {"cc", "-std=c99 -O2 -ffp-contract=off", "driver-c99", NULL},
    {"clang", "-O2", "driver-clang", NULL},
    {"clang", "-O2 -march=native -ffp-contract=fast", "driver-clang-native", NULL},
    {"musl-gcc", "-O2", "driver-musl", NULL},
    {"musl-gcc", "-O2 -march=native", "driver-musl-native", NULL},
    /* Another architecture (FMA instructions contracted by default), run under qemu. */
    {"aarch64-linux-gnu-gcc", "-O2 -static", "driver-aarch64", "qemu-aarch64-static"},
};

static bool have_tool(const char *name)
{
    char *cmd = ns_asprintf("%s --version >/dev/null 2>&1", name);
    bool ok = system(cmd) == 0;
    free(cmd);
    return ok;
}

/* The compiler of emit_builds[b], or NULL after saying loudly that `what` goes unchecked
 * there because it (or its emulator) is not installed. */
static const char *build_compiler(size_t b, const char *what)
{
    const char *project_cc = getenv("NETSPEC_CC");
    const char *compiler = emit_builds[b].compiler ? emit_builds[b].compiler
                           : project_cc && *project_cc ? project_cc : "cc";
    const char *runner = emit_builds[b].runner;
    if (!have_tool(compiler) || (runner && !have_tool(runner))) {
        fprintf(stderr, "\n*** test_emit: %s is not installed: %s is NOT checked with %s %s ***\n",
                have_tool(compiler) ? runner : compiler, what, compiler, emit_builds[b].flags);
        return NULL;
    }
    return compiler;
}

/* What the runtime makes of the inputs, in eval mode. */
struct reference {
    size_t n, in_size, k, classes;
    float *x;      /* (n, in_size) preprocessed */
    float *logits; /* (n, k) */
    float *probs;  /* (n, classes) */
    int *cls;      /* (n) */
    char **names;  /* (classes) */
};

static void reference_free(struct reference *r)
{
    free(r->x);
    free(r->logits);
    free(r->probs);
    free(r->cls);
    for (size_t c = 0; r->names && c < r->classes; c++)
        free(r->names[c]);
    free(r->names);
}

/* Runs the model of run_dir on raw (n, input size) through the library, as eval does: the
 * run loaded back, the data normalised by data_prep, exec_forward in eval mode. */
static bool reference_compute(const char *run_dir, const float *raw, size_t n, struct reference *ref)
{
    memset(ref, 0, sizeof *ref);
    struct ns_ctx ctx;
    ns_ctx_init(&ctx);
    struct model run;
    bool ok = model_load(&ctx, run_dir, &run);
    CU_ASSERT(ok);
    if (!ok) {
        ns_diag_print(&ctx.diag, stderr, false);
        ns_ctx_free(&ctx);
        return false;
    }
    const struct graph *g = run.g;
    struct data_prep_norm norm;
    struct data_prep_augment aug;
    CU_ASSERT_FATAL(data_prep_from_spec(&ctx.diag, run.spec, g->input_shape, &norm, &aug));
    ref->n = n;
    ref->in_size = g->input_size;
    ref->k = g->nodes[g->output_node].out_size;
    ref->classes = (size_t)run.info.class_count;
    ref->x = ns_xmalloc(n * ref->in_size * sizeof *ref->x);
    memcpy(ref->x, raw, n * ref->in_size * sizeof *ref->x);
    data_prep_norm_apply(1, &norm, ref->x, n, ref->in_size);
    ref->logits = ns_xmalloc(n * ref->k * sizeof *ref->logits);
    float *again = ns_xmalloc(n * ref->k * sizeof *again);
    /* Two batch sizes: the blocked GEMM and im2col see different shapes, the bits may not move. */
    const int batches[2] = {64, 7};
    for (int b = 0; b < 2; b++) {
        float *dst = b == 0 ? ref->logits : again;
        struct exec *ex = exec_new(g, batches[b]);
        struct exec_run er = {.training = false};
        for (size_t s = 0; s < n; s += (size_t)batches[b]) {
            int m = (int)(n - s < (size_t)batches[b] ? n - s : (size_t)batches[b]);
            const float *y = exec_forward(ex, run.st.params, ref->x + s * ref->in_size, m, &er);
            memcpy(dst + s * ref->k, y, (size_t)m * ref->k * sizeof *y);
        }
        exec_free(ex);
    }
    CU_ASSERT(memcmp(ref->logits, again, n * ref->k * sizeof *again) == 0);
    free(again);
    /* Probabilities as the emitted header promises them: the runtime's softmax, or its
     * sigmoid for one binary_cross_entropy output. A regression model has neither: its
     * outputs are compared, and its "class" is 0. */
    ref->probs = ns_xmalloc(n * ref->classes * sizeof *ref->probs + 1);
    ref->cls = ns_xcalloc(n, sizeof *ref->cls);
    struct loss_config lc = loss_config_from_spec(run.spec, false);
    for (size_t i = 0; i < n && ref->classes; i++) {
        const float *z = ref->logits + i * ref->k;
        float *p = ref->probs + i * ref->classes;
        ref->cls[i] = loss_predict(&lc, (int)ref->k, z);
        if (ref->k == 1) {
            float s = z[0];
            activation_forward(KERNELS_CPU_SERIAL, ACT_SIGMOID, 0.0f, &s, 1, 1);
            p[0] = 1.0f - s;
            p[1] = s;
        } else {
            memcpy(p, z, ref->k * sizeof *p);
            activation_forward(KERNELS_CPU_SERIAL, ACT_SOFTMAX, 0.0f, p, 1, ref->k);
        }
    }
    ref->names = ns_xcalloc(ref->classes + 1, sizeof *ref->names);
    for (size_t c = 0; c < ref->classes; c++)
        ref->names[c] = ns_xstrdup(run.class_names[c]);
    data_prep_norm_free(&norm);
    model_free(&run);
    ns_ctx_free(&ctx);
    return true;
}

/* Reads n floats written as %08x bits from *p. */
static bool read_hex_floats(const char **p, float *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *end;
        unsigned long u = strtoul(*p, &end, 16);
        if (end == *p)
            return false;
        uint32_t bits = (uint32_t)u;
        memcpy(&out[i], &bits, sizeof bits);
        *p = end;
    }
    return true;
}

/* Runs the driver on raw and compares everything with the reference; returns the number
 * of inputs that matched bit for bit. */
static size_t compare_with_runner(const char *runner, const char *exe, const char *inputs,
                                  const struct reference *ref)
{
    char *cmd = ns_asprintf("%s '%s' '%s'", runner ? runner : "", exe, inputs);
    struct test_util_run r = test_util_shell(cmd);
    CU_ASSERT_EQUAL(r.exit_code, 0);
    const char *p = r.out;
    for (size_t c = 0; c < ref->classes; c++) {
        const char *nl = strchr(p, '\n');
        CU_ASSERT_FATAL(nl != NULL);
        CU_ASSERT(strncmp(p, "name ", 5) == 0);
        CU_ASSERT((size_t)(nl - p - 5) == strlen(ref->names[c]) && !strncmp(p + 5, ref->names[c], strlen(ref->names[c])));
        p = nl + 1;
    }
    float *x = ns_xmalloc(ref->in_size * sizeof *x), *z = ns_xmalloc(ref->k * sizeof *z),
          *pr = ns_xmalloc(ref->classes * sizeof *pr);
    size_t same = 0, x_diff = 0, z_diff = 0, p_diff = 0, c_diff = 0;
    for (size_t i = 0; i < ref->n; i++) {
        char *end;
        long c = strtol(p, &end, 10);
        if (end == p)
            break;
        p = end;
        if (!read_hex_floats(&p, x, ref->in_size) || !read_hex_floats(&p, z, ref->k)
            || !read_hex_floats(&p, pr, ref->classes))
            break;
        bool xs = !memcmp(x, ref->x + i * ref->in_size, ref->in_size * sizeof *x);
        bool zs = !memcmp(z, ref->logits + i * ref->k, ref->k * sizeof *z);
        bool ps = !memcmp(pr, ref->probs + i * ref->classes, ref->classes * sizeof *pr);
        bool cs = c == ref->cls[i];
        x_diff += !xs;
        z_diff += !zs;
        p_diff += !ps;
        c_diff += !cs;
        if (!zs && z_diff == 1)
            fprintf(stderr, "\ninput %zu: emitted logit 0 %a, runtime %a\n", i, (double)z[0],
                    (double)ref->logits[i * ref->k]);
        same += xs && zs && ps && cs;
    }
    if (same != ref->n)
        fprintf(stderr, "\n%s: %zu of %zu inputs differ (x %zu, logits %zu, probabilities %zu, class %zu)\n", exe,
                ref->n - same, ref->n, x_diff, z_diff, p_diff, c_diff);
    free(x);
    free(z);
    free(pr);
    test_util_run_free(&r);
    free(cmd);
    return same;
}

static size_t compare_with_driver(const char *exe, const char *inputs, const struct reference *ref)
{
    return compare_with_runner(NULL, exe, inputs, ref);
}

enum { RANDOM_COUNT = 210, INPUT_COUNT = TEST_COUNT + RANDOM_COUNT };

/* The test images plus random raw values: whole bytes, and for a few inputs arbitrary floats
 * in and beyond 0..255 (the emitted code must agree off the data's grid too). */
static float *make_inputs(const unsigned char *pixels, uint64_t seed)
{
    float *raw = ns_xmalloc((size_t)INPUT_COUNT * PIXELS * sizeof *raw);
    for (size_t i = 0; i < (size_t)TEST_COUNT * PIXELS; i++)
        raw[i] = (float)pixels[i];
    uint64_t rng = seed;
    for (size_t s = TEST_COUNT; s < INPUT_COUNT; s++)
        for (size_t j = 0; j < PIXELS; j++) {
            float v = (float)(test_util_next_u64(&rng) % 256);
            if (s >= INPUT_COUNT - 20)
                v = (float)(test_util_next_uniform(&rng) * 600.0 - 150.0);
            raw[s * PIXELS + j] = v;
        }
    return raw;
}

static char *write_inputs(const char *name, const float *raw)
{
    char *path = test_util_tmp_path(name);
    FILE *f = fopen(path, "wb");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_FATAL(fwrite(raw, sizeof *raw, (size_t)INPUT_COUNT * PIXELS, f) == (size_t)INPUT_COUNT * PIXELS);
    fclose(f);
    return path;
}

/* Trains and emits one model, builds the driver with the header's flags (and once more with
 * the sanitizers where cc has them) and compares every input. */
static void check_bit_exact(const char *spec_name, const char *run_name, const char *prefix,
                            const unsigned char *pixels)
{
    /* Trained and emitted even without cc: the later tests use the runs. */
    CU_ASSERT_FATAL(train_and_emit(spec_name, run_name, prefix, NULL));
    if (!have_cc) {
        CU_PASS("no cc: the emitted C was not compiled");
        return;
    }
    char *dir = ns_asprintf("%s/%s-c", test_util_tmp(), run_name);
    char *driver = ns_asprintf("%s/driver.c", dir);
    char *src = driver_source(prefix);
    CU_ASSERT_FATAL(test_util_save_text(driver, src));
    free(src);
    char *run_dir = test_util_tmp_path(run_name);
    float *raw = make_inputs(pixels, 99);
    char *in_name = ns_asprintf("%s-inputs.bin", run_name);
    char *inputs = write_inputs(in_name, raw);
    struct reference ref;
    CU_ASSERT_FATAL(reference_compute(run_dir, raw, INPUT_COUNT, &ref));
    CU_ASSERT_EQUAL(ref.n, (size_t)INPUT_COUNT);
    for (size_t b = 0; b < sizeof emit_builds / sizeof *emit_builds; b++) {
        const char *compiler = build_compiler(b, "the emitted C");
        const char *runner = emit_builds[b].runner;
        if (!compiler)
            continue;
        CU_ASSERT_FATAL(compile_with(compiler, dir, prefix, "driver.c", emit_builds[b].flags, emit_builds[b].name));
        char *built = ns_asprintf("%s/%s", dir, emit_builds[b].name);
        size_t same = compare_with_runner(runner, built, inputs, &ref);
        CU_ASSERT_EQUAL(same, (size_t)INPUT_COUNT);
        if (same != (size_t)INPUT_COUNT)
            fprintf(stderr, "test_emit: built with %s %s\n", compiler, emit_builds[b].flags);
        free(built);
    }
    /* -ffast-math is the one condition: the file refuses it. */
    char *fast = ns_asprintf("cc -O2 -ffast-math -I'%s' -c '%s/%s.c' -o '%s/fast.o'", dir, dir, prefix, dir);
    struct test_util_run fr = test_util_shell(fast);
    CU_ASSERT(fr.exit_code != 0 && strstr(fr.err, "-ffast-math") != NULL);
    test_util_run_free(&fr);
    free(fast);
    char *exe = ns_asprintf("%s/driver-project", dir);
    /* The runtime's class spread: the inputs are not all one class, so argmax is exercised. */
    size_t count0 = 0;
    for (size_t i = 0; i < ref.n; i++)
        count0 += ref.cls[i] == ref.cls[0];
    CU_ASSERT(count0 < ref.n);
    /* Sanitized: no out-of-bounds access in the emitted code, the same bits. */
    if (compile(dir, prefix, "driver.c", "-std=c99 -O1 -fsanitize=address,undefined "
                "-fno-sanitize-recover=all", "driver-san")) {
        char *san = ns_asprintf("%s/driver-san", dir);
        CU_ASSERT_EQUAL(compare_with_driver(san, inputs, &ref), (size_t)INPUT_COUNT);
        free(san);
    }
    reference_free(&ref);
    free(exe);
    free(inputs);
    free(in_name);
    free(raw);
    free(run_dir);
    free(driver);
    free(dir);
}

/* ---- nsk.h under every compiler ---- */

/* The sweep both sides run: every 4099th float through each nsk function, hashed (FNV-1a over
 * the result bits, any NaN counted as one NaN). Kept as text so the program this test writes
 * and this test compile the very same lines. */
#define NSK_SWEEP_TEXT                                                                            \
    "static unsigned long long nsk_sweep(void)\n"                                                 \
    "{\n"                                                                                         \
    "    unsigned long long h = 1469598103934665603ULL, u;\n"                                    \
    "    for (u = 0; u <= 0xffffffffULL; u += 4099) {\n"                                         \
    "        float x = nsk_float((uint32_t)u), y[6];\n"                                           \
    "        int f;\n"                                                                            \
    "        y[0] = nsk_expf(x);\n"                                                               \
    "        y[1] = nsk_logf(x);\n"                                                               \
    "        y[2] = nsk_tanhf(x);\n"                                                              \
    "        y[3] = nsk_sigmoidf(x);\n"                                                           \
    "        y[4] = nsk_geluf(x);\n"                                                              \
    "        y[5] = nsk_batchnorm_inv_std(x, 0x1.4f8b58p-17f);\n"                                 \
    "        for (f = 0; f < 6; f++) {\n"                                                         \
    "            uint32_t b = y[f] != y[f] ? 0x7fc00000u : nsk_bits(y[f]);\n"                     \
    "            h = (h ^ b) * 1099511628211ULL;\n"                                               \
    "        }\n"                                                                                 \
    "    }\n"                                                                                     \
    "    return h;\n"                                                                             \
    "}\n"

static unsigned long long nsk_sweep(void)
{
    unsigned long long h = 1469598103934665603ULL, u;
    for (u = 0; u <= 0xffffffffULL; u += 4099) {
        float x = nsk_float((uint32_t)u), y[6];
        int f;
        y[0] = nsk_expf(x);
        y[1] = nsk_logf(x);
        y[2] = nsk_tanhf(x);
        y[3] = nsk_sigmoidf(x);
        y[4] = nsk_geluf(x);
        y[5] = nsk_batchnorm_inv_std(x, 0x1.4f8b58p-17f);
        for (f = 0; f < 6; f++) {
            uint32_t b = y[f] != y[f] ? 0x7fc00000u : nsk_bits(y[f]);
            h = (h ^ b) * 1099511628211ULL;
        }
    }
    return h;
}

/* nsk.h's functions, compiled by every build of emit_builds (contraction on, -march=native,
 * clang, musl), give the runtime's bits over a sweep of all floats: nothing in them is left
 * for a compiler to fuse or reorder. */
static void test_nsk_every_compiler(void)
{
    char *dir = test_util_tmp_path("nsk");
    char *mk = ns_asprintf("mkdir -p '%s'", dir);
    CU_ASSERT_FATAL(system(mk) == 0);
    free(mk);
    char *src = ns_asprintf("%s/sweep.c", dir);
    char *text = ns_asprintf("#include <stdio.h>\n#include \"%s/src/kernels/nsk.h\"\n%s"
                             "int main(void)\n{\n    printf(\"%%llx\\n\", nsk_sweep());\n    return 0;\n}\n",
                             test_util_srcdir(), NSK_SWEEP_TEXT);
    CU_ASSERT_FATAL(test_util_save_text(src, text));
    char want[32];
    snprintf(want, sizeof want, "%llx\n", nsk_sweep());
    for (size_t b = 0; b < sizeof emit_builds / sizeof *emit_builds; b++) {
        const char *compiler = build_compiler(b, "nsk.h");
        const char *runner = emit_builds[b].runner;
        if (!compiler)
            continue;
        char *cmd = ns_asprintf("%s %s '%s' -lm -o '%s/sweep' && %s '%s/sweep'", compiler, emit_builds[b].flags, src,
                                dir, runner ? runner : "", dir);
        struct test_util_run r = test_util_shell(cmd);
        CU_ASSERT_EQUAL(r.exit_code, 0);
        CU_ASSERT_STRING_EQUAL(r.out, want);
        if (r.exit_code != 0 || strcmp(r.out, want) != 0)
            fprintf(stderr, "\n%s: %s%s (runtime %s)\n", cmd, r.out, r.err, want);
        test_util_run_free(&r);
        free(cmd);
    }
    free(text);
    free(src);
    free(dir);
}

/* ---- suite ---- */

static int suite_init(void)
{
    if (test_util_tmp_init("emit") != 0)
        return 1;
    have_cc = system("cc --version >/dev/null 2>&1") == 0;
    if (!have_cc)
        fprintf(stderr, "\ntest_emit: no cc found; the emitted C is not compiled\n");
    const char *files[][2] = {{"train-images.idx", "train-labels.idx"}, {"test-images.idx", "test-labels.idx"},
                              {"bin-train-images.idx", "bin-train-labels.idx"},
                              {"bin-test-images.idx", "bin-test-labels.idx"}};
    for (int i = 0; i < 4; i++) {
        char *im = test_util_tmp_path(files[i][0]), *lb = test_util_tmp_path(files[i][1]);
        unsigned char *keep = i == 1 ? test_pixels : i == 3 ? binary_pixels : NULL;
        bool ok = test_util_save_stripes(im, lb, i % 2 ? TEST_COUNT : 300, i < 2 ? 3 : 2, (uint64_t)(11 + i), keep);
        free(im);
        free(lb);
        if (!ok)
            return 1;
    }
    const char *specs[][2] = {{"mlp.yaml", mlp_spec}, {"cnn.yaml", cnn_spec}, {"binary.yaml", binary_spec}};
    for (int i = 0; i < 3; i++) {
        char *p = test_util_tmp_path(specs[i][0]);
        bool ok = test_util_save_text(p, specs[i][1]);
        free(p);
        if (!ok)
            return 1;
    }
    return 0;
}

/* ---- the tests ---- */

static void test_float_literals(void)
{
    const float values[] = {0.0f, -0.0f, 0.1f, -1.5f, 1.0f / 3.0f, FLT_MIN, FLT_MAX, -FLT_MAX,
                            FLT_TRUE_MIN, 3.0f * FLT_TRUE_MIN, 0.00392156862745098f, 123456.789f};
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        char lit[OP_EMIT_FLOAT_MAX];
        op_emit_float(values[i], lit);
        size_t n = strlen(lit);
        CU_ASSERT(n > 1 && lit[n - 1] == 'f' && strstr(lit, "0x") != NULL);
        float back = strtof(lit, NULL);
        CU_ASSERT(memcmp(&back, &values[i], sizeof back) == 0);
    }
    char lit[OP_EMIT_FLOAT_MAX];
    double eps = 1e-5;
    double back = strtod(op_emit_double(eps, lit), NULL);
    CU_ASSERT(memcmp(&back, &eps, sizeof back) == 0);
}

static void test_prefixes(void)
{
    char out[EMIT_PREFIX_MAX];
    emit_prefix_from_name("fashion-mlp", out);
    CU_ASSERT_STRING_EQUAL(out, "fashion_mlp");
    emit_prefix_from_name("3d net.v2", out);
    CU_ASSERT_STRING_EQUAL(out, "m3d_net_v2");
    emit_prefix_from_name("_x", out);
    CU_ASSERT_STRING_EQUAL(out, "m_x");
    emit_prefix_from_name("", out);
    CU_ASSERT_STRING_EQUAL(out, "model");
    char long_name[200];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    emit_prefix_from_name(long_name, out);
    CU_ASSERT_EQUAL(strlen(out), (size_t)EMIT_PREFIX_MAX - 1);
    CU_ASSERT(emit_prefix_valid(out));
    CU_ASSERT(emit_prefix_valid("mlp"));
    CU_ASSERT(emit_prefix_valid("Net_2"));
    CU_ASSERT(!emit_prefix_valid("2net"));
    CU_ASSERT(!emit_prefix_valid("_net"));
    CU_ASSERT(!emit_prefix_valid("a-b"));
    CU_ASSERT(!emit_prefix_valid(""));
    CU_ASSERT(!emit_prefix_valid(long_name));
}

static void test_mlp_bit_exact(void)
{
    check_bit_exact("mlp.yaml", "mlp", "mlp", test_pixels);
}

static void test_cnn_bit_exact(void)
{
    check_bit_exact("cnn.yaml", "cnn", "cnn", test_pixels);
}

static void test_binary_bit_exact(void)
{
    check_bit_exact("binary.yaml", "binary", "binary", binary_pixels);
}

static bool has_line_starting(const char *text, const char *start)
{
    size_t n = strlen(start);
    for (const char *p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, start, n))
            return true;
    return false;
}

/* Strict C99 and the contract's limits: the includes, no malloc, no mutable file-scope data. */
/* C text without its comments (string and character literals kept). */
static char *strip_comments(const char *c)
{
    char *out = ns_xmalloc(strlen(c) + 1), *o = out;
    while (*c) {
        if (c[0] == '/' && c[1] == '*') {
            const char *end = strstr(c + 2, "*/");
            c = end ? end + 2 : c + strlen(c);
            *o++ = ' ';
        } else if (*c == '"' || *c == '\'') {
            char q = *c;
            *o++ = *c++;
            while (*c && *c != q) {
                if (*c == '\\' && c[1])
                    *o++ = *c++;
                *o++ = *c++;
            }
            if (*c)
                *o++ = *c++;
        } else {
            *o++ = *c++;
        }
    }
    *o = '\0';
    return out;
}

static void test_strict_c99(void)
{
    if (!have_cc) {
        CU_PASS("no cc: the emitted C was not compiled");
        return;
    }
    /* The CNN run of test_cnn_bit_exact, emitted again with the default prefix and --main. */
    char *args = ns_asprintf("emit %s/cnn -o %s/strict --main", test_util_tmp(), test_util_tmp());
    struct test_util_run r = test_util_netspec(args);
    expect_ok(&r);
    CU_ASSERT(strstr(r.out, "tiny_cnn.h") != NULL);
    test_util_run_free(&r);
    free(args);
    char *dir = test_util_tmp_path("strict");
    const char *names[] = {"tiny_cnn.h", "tiny_cnn.c", "tiny_cnn_main.c"};
    char *text[3];
    for (int i = 0; i < 3; i++) {
        char *p = ns_asprintf("%s/%s", dir, names[i]);
        text[i] = test_util_slurp(p, NULL);
        CU_ASSERT(strlen(text[i]) > 100);
        free(p);
    }
    for (int i = 0; i < 2; i++) {
        CU_ASSERT(strstr(text[i], "malloc") == NULL);
        CU_ASSERT(strstr(text[i], "stdio") == NULL);
        CU_ASSERT(strstr(text[i], "stdlib") == NULL);
        /* File-scope data is const: a line "static TYPE name..." without "(" must be const. */
        for (const char *p = text[i]; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
            if (strncmp(p, "static ", 7) != 0)
                continue;
            const char *nl = strchr(p, '\n');
            size_t len = nl ? (size_t)(nl - p) : strlen(p);
            char *line = ns_xstrndup(p, len);
            if (!strchr(line, '('))
                CU_ASSERT(!strncmp(line, "static const ", 13));
            free(line);
        }
    }
    CU_ASSERT(has_line_starting(text[1], "#include \"tiny_cnn.h\""));
    CU_ASSERT(has_line_starting(text[1], "#include <math.h>"));
    size_t includes = 0;
    for (const char *p = text[1]; (p = strstr(p, "#include")); p++)
        includes++;
    CU_ASSERT_EQUAL(includes, 6); /* the header, float.h; nsk.h's math.h, stddef.h, stdint.h, string.h */
    /* nsk.h verbatim, its contract first; no libm transcendental anywhere. */
    CU_ASSERT(strstr(text[1], "THE ARITHMETIC CONTRACT") != NULL);
    CU_ASSERT(strstr(text[1], "static inline float nsk_expf(float x)") != NULL);
    char *code = strip_comments(text[1]);
    const char *libm[] = {"expf(", "tanhf(", "logf(", "erff(", "exp(", "log(", "tanh(", "sqrt(", "log1p", "expm1"};
    for (size_t i = 0; i < sizeof libm / sizeof *libm; i++)
        for (const char *q = code; (q = strstr(q, libm[i])); q++)
            CU_ASSERT(q > code && q[-1] == '_');
    CU_ASSERT(strstr(code, "fmaf(") != NULL);
    free(code);
    CU_ASSERT(strstr(text[0], "TINY_CNN_WORKSPACE_BYTES") != NULL);
    CU_ASSERT(strstr(text[0], "static const char *const tiny_cnn_class_names[TINY_CNN_CLASS_COUNT]") != NULL);
    CU_ASSERT(strstr(text[0], "void tiny_cnn_preprocess(const float *raw, float *x);") != NULL);
    CU_ASSERT(strstr(text[0], "void tiny_cnn_logits(const float *x, float *logits, void *workspace);") != NULL);
    CU_ASSERT(strstr(text[0], "int tiny_cnn_classify(const float *raw, float *probabilities, void *workspace);")
              != NULL);
    CU_ASSERT(strstr(text[0], "#define TINY_CNN_INPUT_HEIGHT 8") != NULL);
    CU_ASSERT(strstr(text[0], "#define TINY_CNN_CLASS_COUNT 3") != NULL);
    /* The weights as hex floats. */
    CU_ASSERT(strstr(text[1], "static const float tiny_cnn_params[") != NULL);
    CU_ASSERT(strstr(text[1], "p-") != NULL && strstr(text[1], "0x1.") != NULL);
    for (int i = 0; i < 3; i++)
        free(text[i]);
    char *cmd = ns_asprintf("cc -std=c99 -Wall -Wextra -Werror -pedantic -O2 -I'%s' '%s/tiny_cnn.c' "
                            "'%s/tiny_cnn_main.c' -lm -o '%s/classify'",
                            dir, dir, dir, dir);
    r = test_util_shell(cmd);
    CU_ASSERT_EQUAL(r.exit_code, 0);
    if (r.exit_code)
        fprintf(stderr, "\n%s\n%s", cmd, r.err);
    test_util_run_free(&r);
    free(cmd);
    /* A C++ compiler may include the header too (extern "C"), where one exists. */
    if (system("c++ --version >/dev/null 2>&1") == 0) {
        char *cpp = ns_asprintf("%s/use.cpp", dir);
        CU_ASSERT(test_util_save_text(
            cpp, "#include \"tiny_cnn.h\"\nint main() { return tiny_cnn_class_names[0][0] == 'l' ? 0 : 1; }\n"));
        cmd = ns_asprintf("c++ -Wall -Wextra -Werror -I'%s' '%s' -c -o '%s/use.o'", dir, cpp, dir);
        r = test_util_shell(cmd);
        CU_ASSERT_EQUAL(r.exit_code, 0);
        test_util_run_free(&r);
        free(cmd);
        free(cpp);
    }
    free(dir);
}

static void write_pnm(const char *path, int comp, const unsigned char *pixels /* (64, comp) */)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_FATAL(f != NULL);
    fprintf(f, "P%c\n# written by test_emit\n%d %d\n255\n", comp == 1 ? '5' : '6', SIDE, SIDE);
    CU_ASSERT(fwrite(pixels, 1, (size_t)PIXELS * (size_t)comp, f) == (size_t)PIXELS * (size_t)comp);
    fclose(f);
}

/* The class of FILE in predict's JSON and its probability. */
static bool predict_entry(const char *json, const char *file, char *cls, size_t cls_size, double *prob)
{
    char *key = ns_asprintf("{\"file\": \"%s\", \"top\": [{\"class\": \"", file);
    const char *at = strstr(json, key);
    bool ok = at != NULL;
    if (ok) {
        at += strlen(key);
        const char *q = strchr(at, '"');
        size_t n = q ? (size_t)(q - at) : 0;
        ok = q && n < cls_size;
        if (ok) {
            memcpy(cls, at, n);
            cls[n] = '\0';
            const char *pr = strstr(q, "\"probability\": ");
            ok = pr != NULL;
            if (ok)
                *prob = strtod(pr + 15, NULL);
        }
    }
    free(key);
    return ok;
}

/* The --main program on PGM and PPM files against `netspec predict` on the same files. */
static void test_main_program(void)
{
    if (!have_cc) {
        CU_PASS("no cc: the emitted C was not compiled");
        return;
    }
    char *args = ns_asprintf("emit %s/mlp -o %s/main --main --prefix fashion", test_util_tmp(), test_util_tmp());
    struct test_util_run r = test_util_netspec(args);
    expect_ok(&r);
    CU_ASSERT(strstr(r.out, "fashion_main.c") != NULL);
    test_util_run_free(&r);
    free(args);
    char *dir = test_util_tmp_path("main");
    CU_ASSERT_FATAL(compile(dir, "fashion", "fashion_main.c", "-std=c99 -O2", "fashion"));
    enum { GRAY = 16, COLOUR = 4 };
    struct ns_buf list = {0};
    uint64_t rng = 5;
    for (int i = 0; i < GRAY + COLOUR; i++) {
        char *p = ns_asprintf("%s/img%02d.%s", dir, i, i < GRAY ? "pgm" : "ppm");
        if (i < GRAY) {
            write_pnm(p, 1, test_pixels + (size_t)i * PIXELS);
        } else {
            unsigned char rgb[PIXELS * 3];
            for (size_t j = 0; j < PIXELS; j++)
                for (int c = 0; c < 3; c++)
                    rgb[j * 3 + (size_t)c] = (unsigned char)((test_pixels[(size_t)i * PIXELS + j] + 40 * c
                                                              + (int)(test_util_next_u64(&rng) % 30)) % 256);
            write_pnm(p, 3, rgb);
        }
        ns_buf_printf(&list, " '%s'", p);
        free(p);
    }
    char *cmd = ns_asprintf("'%s/fashion'%s", dir, list.data);
    struct test_util_run mine = test_util_shell(cmd);
    CU_ASSERT_EQUAL(mine.exit_code, 0);
    args = ns_asprintf("predict %s/mlp --top 1 --json%s", test_util_tmp(), list.data);
    struct test_util_run theirs = test_util_netspec(args);
    expect_ok(&theirs);
    int agreed = 0;
    for (int i = 0; i < GRAY + COLOUR; i++) {
        char *p = ns_asprintf("%s/img%02d.%s", dir, i, i < GRAY ? "pgm" : "ppm");
        char *prefix = ns_asprintf("%s: ", p);
        const char *at = strstr(mine.out, prefix);
        char mine_cls[64] = "", their_cls[64] = "";
        double mine_p = -1, their_p = -2;
        if (at && sscanf(at + strlen(prefix), "%63[^(](%lf)", mine_cls, &mine_p) == 2) {
            size_t n = strlen(mine_cls);
            if (n && mine_cls[n - 1] == ' ')
                mine_cls[n - 1] = '\0';
        }
        CU_ASSERT(predict_entry(theirs.out, p, their_cls, sizeof their_cls, &their_p));
        bool same = !strcmp(mine_cls, their_cls) && fabs(mine_p - their_p) < 1e-4;
        if (!same)
            fprintf(stderr, "\n%s: emitted %s (%g), predict %s (%g)\n", p, mine_cls, mine_p, their_cls, their_p);
        agreed += same;
        free(prefix);
        free(p);
    }
    CU_ASSERT_EQUAL(agreed, GRAY + COLOUR);
    test_util_run_free(&mine);
    test_util_run_free(&theirs);
    free(args);
    free(cmd);
    /* Files it cannot classify: reported with their path, the others still classified, exit 1. */
    char *wrong = ns_asprintf("%s/wrong.pgm", dir);
    FILE *f = fopen(wrong, "wb");
    CU_ASSERT_FATAL(f != NULL);
    fprintf(f, "P5\n4 4\n255\n");
    for (int i = 0; i < 16; i++)
        fputc(i, f);
    fclose(f);
    char *bad = ns_asprintf("%s/bad.pgm", dir);
    CU_ASSERT(test_util_save_text(bad, "P2\n8 8\n255\n0 0 0\n"));
    cmd = ns_asprintf("'%s/fashion' '%s' '%s' '%s/img00.pgm' '%s/missing.pgm'", dir, wrong, bad, dir, dir);
    r = test_util_shell(cmd);
    CU_ASSERT_EQUAL(r.exit_code, 1);
    CU_ASSERT(strstr(r.err, "wrong.pgm: the image is 4x4; the model needs 8x8") != NULL);
    CU_ASSERT(strstr(r.err, "bad.pgm: not a binary PGM (P5) or PPM (P6) image") != NULL);
    CU_ASSERT(strstr(r.err, "missing.pgm: cannot open it") != NULL);
    CU_ASSERT(strstr(r.out, "img00.pgm: ") != NULL);
    test_util_run_free(&r);
    free(cmd);
    cmd = ns_asprintf("'%s/fashion'", dir);
    r = test_util_shell(cmd);
    CU_ASSERT_EQUAL(r.exit_code, 2);
    CU_ASSERT(strstr(r.err, "usage:") != NULL);
    test_util_run_free(&r);
    free(cmd);
    free(wrong);
    free(bad);
    ns_buf_free(&list);
    free(dir);
}

/* The probability of class `name` in FILE's entry of predict's JSON; false when it is not there. */
static bool predict_probability(const char *json, const char *file, const char *name, double *prob)
{
    char *key = ns_asprintf("{\"file\": \"%s\", \"top\": [", file);
    const char *at = strstr(json, key);
    const char *end = at ? strstr(at, "]}") : NULL;
    char *cls = ns_asprintf("{\"class\": \"%s\", \"probability\": ", name);
    const char *c = at ? strstr(at, cls) : NULL;
    bool ok = c && c < end;
    if (ok)
        *prob = strtod(c + strlen(cls), NULL);
    free(key);
    free(cls);
    return ok;
}

/* `netspec predict --json` and the emitted `--main --all` print the same float probabilities,
 * bit for bit, for every class of every file: both run the one softmax (or sigmoid) of
 * kernels/activations.def on the same logits. */
static void check_predict_exact(const char *run, const char *prefix, const unsigned char *pixels)
{
    char *args = ns_asprintf("emit %s/%s -o %s/%s-exact --main --prefix %s", test_util_tmp(), run, test_util_tmp(),
                             run, prefix);
    struct test_util_run r = test_util_netspec(args);
    expect_ok(&r);
    test_util_run_free(&r);
    free(args);
    char *dir = ns_asprintf("%s/%s-exact", test_util_tmp(), run);
    char *main_c = ns_asprintf("%s_main.c", prefix);
    CU_ASSERT_FATAL(compile(dir, prefix, main_c, "-O2 -march=native", prefix));
    enum { FILES = 12 };
    struct ns_buf list = {0};
    for (int i = 0; i < FILES; i++) {
        char *p = ns_asprintf("%s/img%02d.pgm", dir, i);
        write_pnm(p, 1, pixels + (size_t)i * PIXELS);
        ns_buf_printf(&list, " '%s'", p);
        free(p);
    }
    char *cmd = ns_asprintf("'%s/%s' --all%s", dir, prefix, list.data);
    struct test_util_run mine = test_util_shell(cmd);
    CU_ASSERT_EQUAL(mine.exit_code, 0);
    args = ns_asprintf("predict %s/%s --top 99 --json%s", test_util_tmp(), run, list.data);
    struct test_util_run theirs = test_util_netspec(args);
    expect_ok(&theirs);
    size_t compared = 0, equal = 0;
    for (int i = 0; i < FILES; i++) {
        char *p = ns_asprintf("%s/img%02d.pgm", dir, i);
        char *head = ns_asprintf("%s: ", p);
        const char *at = strstr(mine.out, head);
        CU_ASSERT_FATAL(at != NULL);
        at = strchr(at, '\n');
        /* The lines after the file's own: "  %.9g NAME", one per class. */
        while (at && at[1] == ' ' && at[2] == ' ') {
            char *rest;
            float emitted = strtof(at + 3, &rest);
            const char *eol = strchr(rest, '\n');
            size_t n = eol ? (size_t)(eol - rest) - 1 : strlen(rest) - 1;
            char *name = ns_asprintf("%.*s", (int)n, rest + 1);
            double json = -1;
            CU_ASSERT(predict_probability(theirs.out, p, name, &json));
            float predicted = (float)json;
            compared++;
            if (memcmp(&emitted, &predicted, sizeof emitted) == 0)
                equal++;
            else
                fprintf(stderr, "\n%s %s: emitted %a, predict %a\n", p, name, (double)emitted, (double)predicted);
            free(name);
            at = eol;
        }
        free(head);
        free(p);
    }
    CU_ASSERT(compared >= (size_t)FILES * 2);
    CU_ASSERT_EQUAL(equal, compared);
    test_util_run_free(&mine);
    test_util_run_free(&theirs);
    free(args);
    free(cmd);
    free(main_c);
    free(dir);
    ns_buf_free(&list);
}

static void test_predict_exact(void)
{
    if (!have_cc) {
        CU_PASS("no cc: the emitted C was not compiled");
        return;
    }
    check_predict_exact("mlp", "fashion", test_pixels);
    check_predict_exact("binary", "bin", binary_pixels);
}

static void test_usage_errors(void)
{
    struct test_util_run r = test_util_netspec("emit");
    CU_ASSERT_EQUAL(r.exit_code, 2);
    CU_ASSERT(strstr(r.err, "no run directory given") != NULL);
    test_util_run_free(&r);
    char *args = ns_asprintf("emit %s/mlp", test_util_tmp());
    r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 2);
    CU_ASSERT(strstr(r.err, "-o DIR") != NULL);
    test_util_run_free(&r);
    free(args);
    args = ns_asprintf("emit %s/mlp -o %s/x --prefix 9lives", test_util_tmp(), test_util_tmp());
    r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 2);
    CU_ASSERT(strstr(r.err, "not a C identifier") != NULL);
    test_util_run_free(&r);
    free(args);
    args = ns_asprintf("emit %s -o %s/x", test_util_tmp(), test_util_tmp());
    r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 2);
    CU_ASSERT(strstr(r.err, "not a run directory") != NULL);
    test_util_run_free(&r);
    free(args);
    r = test_util_netspec("emit --help");
    CU_ASSERT_EQUAL(r.exit_code, 0);
    CU_ASSERT(strstr(r.out, "--prefix") != NULL && strstr(r.out, "--main") != NULL);
    test_util_run_free(&r);
}

/* Library-level refusals: a main program for a regression model, a bad prefix, a NaN weight. */
static void test_refusals(void)
{
    struct ns_ctx ctx;
    ns_ctx_init(&ctx);
    char *run_dir = test_util_tmp_path("mlp");
    struct model run;
    bool loaded = model_load(&ctx, run_dir, &run);
    CU_ASSERT_FATAL(loaded);
    struct data_prep_norm norm = {.scale = 1.0f};
    struct emit_model m = {.g = run.g, .params = run.st.params, .class_count = 0, .norm = &norm,
                           .name = "x", .source = run_dir, .version = "test"};
    struct emit_files files;
    /* A regression model has no classes for --main to print. */
    CU_ASSERT(!emit_classifier(&ctx.diag, &m, "x", true, &files));
    CU_ASSERT(ctx.diag.count == 1 &&
              strstr(ctx.diag.items[0].message, "--main classifies images, but the model is a regression model"));
    CU_ASSERT(ctx.diag.count == 1 && ctx.diag.items[0].hint && strstr(ctx.diag.items[0].hint, "x_predict"));
    CU_ASSERT_EQUAL(ns_diag_code(&ctx.diag), NS_ERR_SPEC);
    m.class_count = run.info.class_count;
    m.class_names = (const char *const *)run.class_names;
    CU_ASSERT(!emit_classifier(&ctx.diag, &m, "not valid", false, &files));
    /* A NaN weight cannot be written exactly as a C constant. */
    float saved = run.st.params[3];
    run.st.params[3] = NAN;
    CU_ASSERT(!emit_classifier(&ctx.diag, &m, "x", false, &files));
    CU_ASSERT(strstr(ctx.diag.items[ctx.diag.count - 1].message, "not finite") != NULL);
    run.st.params[3] = saved;
    CU_ASSERT(emit_classifier(&ctx.diag, &m, "x", true, &files));
    CU_ASSERT(files.main_source != NULL && files.workspace_bytes > 0);
    emit_files_free(&files);
    model_free(&run);
    free(run_dir);
    ns_ctx_free(&ctx);
}

/* ---- a regression model ---- */

enum { REG_FEATURES = 5, REG_ROWS = 240 };

/* Every input the way check_bit_exact's driver prints it, for a regression model: 0 (no
 * class), then x and the outputs. NAME_predict must return outputs[0] and fill what
 * NAME_outputs gives, NULL or not, and NAME_predict_batch the same bits. */
static char *regression_driver_source(const char *prefix)
{
    char upper[EMIT_PREFIX_MAX];
    size_t i = 0;
    for (; prefix[i]; i++)
        upper[i] = (char)(prefix[i] >= 'a' && prefix[i] <= 'z' ? prefix[i] - 'a' + 'A' : prefix[i]);
    upper[i] = '\0';
    return ns_asprintf(
        "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include \"%1$s.h\"\n"
        "static void put(const float *v, size_t n)\n"
        "{\n"
        "    for (size_t i = 0; i < n; i++) {\n"
        "        unsigned int u;\n"
        "        memcpy(&u, &v[i], sizeof u);\n"
        "        printf(\" %%08x\", u);\n"
        "    }\n"
        "}\n"
        "int main(int argc, char **argv)\n"
        "{\n"
        "    FILE *f = argc > 1 ? fopen(argv[1], \"rb\") : NULL;\n"
        "    float raw[%2$s_INPUT_SIZE], x[%2$s_INPUT_SIZE], z[%2$s_OUTPUT_SIZE], o[%2$s_OUTPUT_SIZE],\n"
        "          b[%2$s_OUTPUT_SIZE];\n"
        "    void *ws = malloc(%2$s_WORKSPACE_BYTES);\n"
        "    if (!f || !ws || strcmp(%2$s_TARGET_NAME, \"y\") != 0)\n"
        "        return 1;\n"
        "    while (fread(raw, sizeof raw, 1, f) == 1) {\n"
        "        float y, again;\n"
        "        %1$s_preprocess(raw, x);\n"
        "        %1$s_outputs(x, z, ws);\n"
        "        y = %1$s_predict(raw, o, ws);\n"
        "        again = %1$s_predict(raw, NULL, ws);\n"
        "        %1$s_predict_batch(raw, 1, b, ws);\n"
        "        if (memcmp(&y, &z[0], sizeof y) != 0 || memcmp(&again, &y, sizeof y) != 0\n"
        "            || memcmp(o, z, sizeof z) != 0 || memcmp(b, z, sizeof z) != 0)\n"
        "            return 3;\n"
        "        printf(\"0\");\n"
        "        put(x, %2$s_INPUT_SIZE);\n"
        "        put(z, %2$s_OUTPUT_SIZE);\n"
        "        printf(\"\\n\");\n"
        "    }\n"
        "    fclose(f);\n"
        "    free(ws);\n"
        "    return 0;\n"
        "}\n",
        prefix, upper);
}

/* A regression run (CSV features, loss mse) is emitted and, compiled by every build of
 * emit_builds, gives the runtime's preprocessed inputs and outputs bit for bit: on the
 * training rows and on random feature vectors far outside them. */
static void test_regression_bit_exact(void)
{
    uint64_t rng = 77;
    struct ns_buf csv = {0};
    ns_buf_puts(&csv, "x1,x2,x3,x4,x5,y\n");
    float *raw = ns_xmalloc((size_t)INPUT_COUNT * REG_FEATURES * sizeof *raw);
    for (size_t r = 0; r < INPUT_COUNT; r++) {
        double v[REG_FEATURES];
        for (int j = 0; j < REG_FEATURES; j++) {
            v[j] = r < REG_ROWS ? 4 * test_util_next_uniform(&rng) - 2 : 100 * test_util_next_uniform(&rng) - 50;
            char text[32];
            snprintf(text, sizeof text, "%.5f", v[j]);
            raw[r * REG_FEATURES + (size_t)j] = strtof(text, NULL); /* what the CSV reader makes of it */
            if (r < REG_ROWS)
                ns_buf_printf(&csv, "%s,", text);
        }
        if (r < REG_ROWS)
            ns_buf_printf(&csv, "%.5f\n", sin(v[0]) + v[1] * v[2] - 0.5 * v[3] + 0.05 * test_util_next_normal(&rng));
    }
    char *csv_path = test_util_tmp_path("reg-train.csv");
    test_util_write_text(csv_path, csv.data);
    ns_buf_free(&csv);
    char *spec_path = test_util_tmp_path("reg.yaml");
    /* 300 hidden units: the next sums are longer than the GEMM's K block, as in the MLP. */
    test_util_write_text(spec_path, "version: 1\nname: tiny-reg\nseed: 9\n"
                                    "data:\n  format: csv\n  train: reg-train.csv\n  label_column: y\n"
                                    "  validation: 0.2\n  normalize: {scale: 0.5, mean: 0.1, std: 0.7}\n"
                                    "model:\n  layers:\n"
                                    "    - dense: {units: 300, activation: tanh}\n"
                                    "    - dropout: 0.1\n"
                                    "    - dense: {units: 12, activation: gelu}\n"
                                    "    - dense: {units: 1}\n"
                                    "loss: mse\noptimizer: {type: adam, lr: 0.01}\n"
                                    "train: {epochs: 3, batch_size: 32}\n");
    CU_ASSERT_FATAL(train_and_emit("reg.yaml", "reg", "reg", NULL));
    char *header_path = test_util_tmp_path("reg-c/reg.h");
    char *header = test_util_slurp(header_path, NULL);
    CU_ASSERT(strstr(header, "float reg_predict(const float *raw, float *outputs, void *workspace);") != NULL);
    CU_ASSERT(strstr(header, "#define REG_TARGET_NAME \"y\"") != NULL);
    CU_ASSERT(strstr(header, "the regression model \"tiny-reg\"") != NULL);
    CU_ASSERT(strstr(header, "CLASS_COUNT") == NULL && strstr(header, "classify") == NULL);
    free(header);
    free(header_path);
    char *run_dir = test_util_tmp_path("reg");
    struct reference ref;
    CU_ASSERT_FATAL(reference_compute(run_dir, raw, INPUT_COUNT, &ref));
    CU_ASSERT_EQUAL(ref.classes, 0);
    CU_ASSERT_EQUAL(ref.in_size, (size_t)REG_FEATURES);
    /* The outputs spread: a constant model would compare nothing. */
    size_t distinct = 0;
    for (size_t i = 1; i < ref.n; i++)
        distinct += ref.logits[i] != ref.logits[0];
    CU_ASSERT(distinct > ref.n / 2);
    if (!have_cc) {
        CU_PASS("no cc: the emitted C was not compiled");
    } else {
        char *dir = test_util_tmp_path("reg-c");
        char *driver = ns_asprintf("%s/driver.c", dir);
        char *src = regression_driver_source("reg");
        CU_ASSERT_FATAL(test_util_save_text(driver, src));
        free(src);
        char *inputs = test_util_tmp_path("reg-inputs.bin");
        test_util_write_bytes(inputs, raw, (size_t)INPUT_COUNT * REG_FEATURES * sizeof *raw);
        for (size_t b = 0; b < sizeof emit_builds / sizeof *emit_builds; b++) {
            const char *compiler = build_compiler(b, "the emitted regression C");
            if (!compiler)
                continue;
            CU_ASSERT_FATAL(compile_with(compiler, dir, "reg", "driver.c", emit_builds[b].flags, emit_builds[b].name));
            char *built = ns_asprintf("%s/%s", dir, emit_builds[b].name);
            size_t same = compare_with_runner(emit_builds[b].runner, built, inputs, &ref);
            CU_ASSERT_EQUAL(same, (size_t)INPUT_COUNT);
            if (same != (size_t)INPUT_COUNT)
                fprintf(stderr, "test_emit: regression built with %s %s\n", compiler, emit_builds[b].flags);
            free(built);
        }
        char *cmd = ns_asprintf("cc -std=c99 -Wall -Wextra -Werror -pedantic -O2 -I'%s' -c '%s/reg.c' -o '%s/reg.o'",
                                dir, dir, dir);
        struct test_util_run r = test_util_shell(cmd);
        CU_ASSERT_EQUAL(r.exit_code, 0);
        if (r.exit_code)
            fprintf(stderr, "\n%s\n%s", cmd, r.err);
        test_util_run_free(&r);
        free(cmd);
        free(inputs);
        free(driver);
        free(dir);
    }
    /* --main classifies images: refused for a regression run, with what to call instead. */
    char *args = ns_asprintf("emit %s -o %s/reg-main --main", run_dir, test_util_tmp());
    struct test_util_run r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 2);
    CU_ASSERT(strstr(r.err, "error: --main classifies images, but the model is a regression model\n"
                            "  leave out --main and call tiny_reg_predict from your own program") != NULL);
    test_util_run_free(&r);
    free(args);
    reference_free(&ref);
    free(run_dir);
    free(spec_path);
    free(csv_path);
    free(raw);
}

/* ---- CSV runs: standardize, a categorical column, missing cells ---- */

/* The emitted C on a CSV run's test rows, built into raw vectors the way the header documents
 * them, gives eval's classes and probabilities (a classifier) or values (a regression model)
 * bit for bit, as `netspec predict` does on the same rows without their label column. */

enum { CSV_COLUMNS = 5, CSV_TRAIN_ROWS = 150, CSV_TEST_ROWS = 45, CSV_MAX_CATEGORIES = 4 };

static const char *const csv_column_names[CSV_COLUMNS] = {"f1", "colour", "f2", "kind", "y"};

struct csv_row {
    char cell[CSV_COLUMNS][16];
};

/* Three blobs (kind) in f1, f2, a colour mostly following the kind and a numeric target y; an
 * empty f2, colour or f1 in some rows (a row of the test file has two). */
static struct csv_row *csv_blob_rows(int count, uint64_t seed)
{
    static const char *const kinds[3] = {"heron", "egret", "stork"};
    static const char *const colours[3] = {"red", "green", "blue"};
    static const double centre[3][2] = {{-2, 0}, {2, 1}, {0, -2.5}};
    uint64_t rng = seed;
    struct csv_row *rows = ns_xcalloc((size_t)count, sizeof *rows);
    for (int i = 0; i < count; i++) {
        int c = i % 3, colour = (c + (test_util_next_u64(&rng) % 4 == 0)) % 3;
        double f1 = centre[c][0] + 0.6 * test_util_next_normal(&rng);
        double f2 = centre[c][1] + 0.6 * test_util_next_normal(&rng);
        double y = f1 - 0.5 * f2 + 0.7 * colour + 0.1 * test_util_next_normal(&rng);
        struct csv_row *r = &rows[i];
        if (i % 13 != 6)
            snprintf(r->cell[0], sizeof r->cell[0], "%.4f", f1);
        if (i % 11 != 5)
            snprintf(r->cell[1], sizeof r->cell[1], "%s", colours[colour]);
        if (i % 7 != 3)
            snprintf(r->cell[2], sizeof r->cell[2], "%.4f", f2);
        snprintf(r->cell[3], sizeof r->cell[3], "%s", kinds[c]);
        snprintf(r->cell[4], sizeof r->cell[4], "%.4f", y);
    }
    return rows;
}

/* The rows as a CSV file in the test folder, without column `leave_out` (-1: all columns). */
static void csv_save(const char *name, const struct csv_row *rows, int count, int leave_out)
{
    struct ns_buf b = {0};
    for (int i = -1; i < count; i++) {
        const char *sep = "";
        for (int j = 0; j < CSV_COLUMNS; j++) {
            if (j == leave_out)
                continue;
            ns_buf_printf(&b, "%s%s", sep, i < 0 ? csv_column_names[j] : rows[i].cell[j]);
            sep = ",";
        }
        ns_buf_puts(&b, "\n");
    }
    char *path = test_util_tmp_path(name);
    test_util_write_text(path, b.data);
    free(path);
    ns_buf_free(&b);
}

/* One CSV column as the emitted header documents it. */
struct header_column {
    char name[16];
    size_t first, width;
    char categories[CSV_MAX_CATEGORIES][16];
    float fill[CSV_MAX_CATEGORIES];
    bool has_fill;
};

/* Reads the column list of an emitted header: its comment lines between "(by name):" and
 * "Preprocessing" joined, then per column "[i] \"NAME\": the number in the cell" or
 * "[i..j] \"NAME\": one-hot, ... in the order \"A\", \"B\"", each optionally followed by
 * "; a missing cell is V, ..." (%.9g: the float's exact value). The count, or -1. */
static int parse_header_columns(const char *header, struct header_column *cols, int cap)
{
    const char *from = strstr(header, "(by name):");
    const char *to = from ? strstr(from, "Preprocessing (") : NULL;
    if (!to)
        return -1;
    struct ns_buf text = {0};
    for (const char *p = from + strlen("(by name):"); p < to;) {
        if (*p != '\n') {
            ns_buf_append(&text, p++, 1);
            continue;
        }
        p++;
        if (p[0] == ' ' && p[1] == '*')
            p += 2;
        while (*p == ' ')
            p++;
        ns_buf_puts(&text, " ");
    }
    int n = 0;
    const char *p = text.data;
    while ((p = strchr(p, '[')) != NULL) {
        if (n == cap) {
            n = -1;
            break;
        }
        struct header_column *c = &cols[n];
        memset(c, 0, sizeof *c);
        char *end;
        c->first = strtoul(p + 1, &end, 10);
        size_t last = c->first;
        if (strncmp(end, "..", 2) == 0)
            last = strtoul(end + 2, &end, 10);
        c->width = last - c->first + 1;
        if (strncmp(end, "] \"", 3) != 0 || c->width > CSV_MAX_CATEGORIES) {
            n = -1;
            break;
        }
        const char *name = end + 3;
        size_t len = strcspn(name, "\"");
        snprintf(c->name, sizeof c->name, "%.*s", (int)len, name);
        p = name + len;
        const char *next = strchr(p, '[');
        const char *order = strstr(p, "in the order ");
        if (c->width > 1) {
            if (!order || (next && order > next)) {
                n = -1;
                break;
            }
            const char *q = order;
            for (size_t k = 0; k < c->width; k++) {
                q = strchr(q, '"') + 1;
                size_t clen = strcspn(q, "\"");
                snprintf(c->categories[k], sizeof c->categories[k], "%.*s", (int)clen, q);
                q += clen + 1;
            }
        }
        const char *missing = strstr(p, "a missing cell is ");
        if (missing && (!next || missing < next)) {
            const char *q = missing + strlen("a missing cell is ");
            for (size_t k = 0; k < c->width; k++) {
                c->fill[k] = strtof(q, &end);
                q = end + (*end == ',');
            }
            c->has_fill = true;
        }
        n++;
    }
    ns_buf_free(&text);
    return n;
}

/* The raw vector of one row as the header says: the number in the cell, the category one-hot,
 * a missing cell the header's values. False when the header leaves a cell unexplained. */
static bool raw_from_row(const struct header_column *cols, int count, const struct csv_row *row, float *raw)
{
    for (int j = 0; j < count; j++) {
        const struct header_column *c = &cols[j];
        int column = -1;
        for (int i = 0; i < CSV_COLUMNS; i++)
            if (strcmp(csv_column_names[i], c->name) == 0)
                column = i;
        if (column < 0)
            return false;
        const char *cell = row->cell[column];
        if (!*cell) {
            if (!c->has_fill)
                return false;
            memcpy(raw + c->first, c->fill, c->width * sizeof *raw);
        } else if (c->width == 1 && !c->categories[0][0]) {
            raw[c->first] = strtof(cell, NULL); /* what the CSV reader makes of it */
        } else {
            bool found = false;
            for (size_t k = 0; k < c->width; k++) {
                raw[c->first + k] = strcmp(cell, c->categories[k]) == 0 ? 1.0f : 0.0f;
                found = found || strcmp(cell, c->categories[k]) == 0;
            }
            if (!found)
                return false;
        }
    }
    return true;
}

/* What `netspec eval` makes of the run's test split, in this process as eval does it: the
 * spec's data loaded and split, the test rows gathered (normalised), exec_forward in eval
 * mode, softmax for the probabilities. *accuracy: the share of rows classified as labelled. */
static bool eval_reference(const char *run_dir, struct reference *ref, double *accuracy)
{
    memset(ref, 0, sizeof *ref);
    struct ns_ctx ctx;
    ns_ctx_init(&ctx);
    struct model run;
    struct trainset ts;
    if (!model_load(&ctx, run_dir, &run) || !trainset_load(&ctx, run.spec, run.info.class_count, &ts)) {
        ns_diag_print(&ctx.diag, stderr, false);
        ns_ctx_free(&ctx);
        return false;
    }
    size_t n = ts.test.count, *index = ns_xmalloc(n * sizeof *index);
    for (size_t i = 0; i < n; i++)
        index[i] = i;
    ref->n = n;
    ref->in_size = run.g->input_size;
    ref->k = run.g->nodes[run.g->output_node].out_size;
    ref->classes = (size_t)run.info.class_count;
    ref->x = ns_xmalloc(n * ref->in_size * sizeof *ref->x);
    int32_t *labels = ns_xmalloc(n * sizeof *labels);
    trainset_gather(&ts, &ts.test, index, n, false, 0, ref->x, labels, NULL, NULL);
    struct exec *ex = exec_new(run.g, (int)n);
    const float *y = exec_forward(ex, run.st.params, ref->x, (int)n, &(struct exec_run){.training = false});
    ref->logits = ns_xmalloc(n * ref->k * sizeof *ref->logits);
    memcpy(ref->logits, y, n * ref->k * sizeof *y);
    exec_free(ex);
    ref->probs = ns_xmalloc(n * ref->classes * sizeof *ref->probs + 1);
    ref->cls = ns_xcalloc(n, sizeof *ref->cls);
    struct loss_config lc = loss_config_from_spec(run.spec, false);
    size_t correct = 0;
    for (size_t i = 0; i < n && ref->classes; i++) {
        float *p = ref->probs + i * ref->classes;
        ref->cls[i] = loss_predict(&lc, (int)ref->k, ref->logits + i * ref->k);
        memcpy(p, ref->logits + i * ref->k, ref->k * sizeof *p);
        activation_forward(KERNELS_CPU_SERIAL, ACT_SOFTMAX, 0.0f, p, 1, ref->k);
        correct += ref->cls[i] == labels[i];
    }
    *accuracy = n ? (double)correct / (double)n : 0;
    ref->names = ns_xcalloc(ref->classes + 1, sizeof *ref->names);
    for (size_t c = 0; c < ref->classes; c++)
        ref->names[c] = ns_xstrdup(run.class_names[c]);
    free(labels);
    free(index);
    trainset_free(&ts);
    model_free(&run);
    ns_ctx_free(&ctx);
    return true;
}

/* predict --json on the rows without their label column gives the reference's classes and
 * probabilities (or values) bit for bit; the number of rows that agree. */
static size_t predict_agreement(const char *run, const char *rows, const struct reference *ref)
{
    char *args = ns_asprintf("predict %s/%s %s/%s --json", test_util_tmp(), run, test_util_tmp(), rows);
    struct test_util_run r = test_util_netspec(args);
    expect_ok(&r);
    size_t same = 0, i = 0;
    for (const char *at = r.out ? strstr(r.out, "{\"line\": ") : NULL; at && i < ref->n;
         at = strstr(at + 1, "{\"line\": "), i++) {
        const char *eol = strchr(at, '\n');
        char *line = ns_asprintf("%.*s", (int)(eol ? (size_t)(eol - at) : strlen(at)), at);
        bool ok = atoi(line + 9) == (int)i + 2;
        if (!ref->classes) {
            const char *v = strstr(line, "\"value\": ");
            float value = v ? (float)strtod(v + 9, NULL) : NAN; /* printed so it reads back exactly */
            ok = ok && memcmp(&value, &ref->logits[i], sizeof value) == 0;
        } else {
            char *cls = ns_asprintf("\"class\": \"%s\"", ref->names[ref->cls[i]]);
            ok = ok && strstr(line, cls) != NULL;
            free(cls);
            const char *ps = strstr(line, "\"probabilities\": {");
            for (size_t c = 0; c < ref->classes; c++) {
                char *key = ns_asprintf("\"%s\": ", ref->names[c]);
                const char *v = ps ? strstr(ps, key) : NULL;
                float p = v ? (float)strtod(v + strlen(key), NULL) : NAN;
                ok = ok && memcmp(&p, &ref->probs[i * ref->classes + c], sizeof p) == 0;
                free(key);
            }
        }
        if (!ok)
            fprintf(stderr, "\npredict %s, row %zu: %s\n", run, i, line);
        same += ok;
        free(line);
    }
    test_util_run_free(&r);
    free(args);
    return same;
}

/* Trains and emits the CSV run `run` (spec text without its data's label and categorical
 * lines, which label_column and categorical give), then compares the emitted C under every
 * build of emit_builds, eval and predict on the test rows. */
static void check_csv_run(const char *run, const char *label_column, const char *categorical, const char *model)
{
    char *spec = ns_asprintf("version: 1\nname: %s\nseed: 7\ndata:\n  format: csv\n  train: emitcsv_train.csv\n"
                             "  test: emitcsv_test.csv\n  label_column: %s\n  categorical: [%s]\n"
                             "  missing: fill_mean\n  validation: 0.2\n  normalize: standardize\n%s"
                             "optimizer: {type: adam, lr: 0.02}\ntrain: {epochs: 12, batch_size: 16}\n",
                             run, label_column, categorical, model);
    char *spec_name = ns_asprintf("%s.yaml", run);
    char *spec_path = test_util_tmp_path(spec_name);
    test_util_write_text(spec_path, spec);
    CU_ASSERT_FATAL(train_and_emit(spec_name, run, run, NULL));
    char *run_dir = test_util_tmp_path(run);
    struct reference ref;
    double accuracy = 0;
    CU_ASSERT_FATAL(eval_reference(run_dir, &ref, &accuracy));
    CU_ASSERT_EQUAL_FATAL(ref.n, (size_t)CSV_TEST_ROWS);
    struct csv_row *test = csv_blob_rows(CSV_TEST_ROWS, 32);
    int label = -1;
    for (int j = 0; j < CSV_COLUMNS; j++)
        label = strcmp(csv_column_names[j], label_column) == 0 ? j : label;
    char *rows_name = ns_asprintf("%s-rows.csv", run);
    csv_save(rows_name, test, CSV_TEST_ROWS, label);
    if (ref.classes) {
        /* The reference is eval's: the same accuracy as `netspec eval`. */
        char *args = ns_asprintf("eval %s --json", run_dir);
        struct test_util_run r = test_util_netspec(args);
        expect_ok(&r);
        CU_ASSERT_DOUBLE_EQUAL(test_util_json_number(r.out, "accuracy"), accuracy, 1e-12);
        CU_ASSERT(accuracy > 0.8);
        test_util_run_free(&r);
        free(args);
    }
    CU_ASSERT_EQUAL(predict_agreement(run, rows_name, &ref), ref.n);

    /* The raw vectors, as the header documents the inputs. */
    char *dir = ns_asprintf("%s/%s-c", test_util_tmp(), run);
    char *header_path = ns_asprintf("%s/%s.h", dir, run);
    char *header = test_util_slurp(header_path, NULL);
    struct header_column cols[CSV_COLUMNS];
    int count = parse_header_columns(header, cols, CSV_COLUMNS);
    CU_ASSERT_EQUAL_FATAL(count, CSV_COLUMNS - 1);
    size_t documented = 0;
    for (int j = 0; j < count; j++) {
        documented += cols[j].width;
        CU_ASSERT(cols[j].has_fill);
    }
    CU_ASSERT_EQUAL_FATAL(documented, ref.in_size);
    float *raw = ns_xcalloc((size_t)CSV_TEST_ROWS * ref.in_size, sizeof *raw);
    size_t gaps = 0;
    for (int i = 0; i < CSV_TEST_ROWS; i++) {
        CU_ASSERT(raw_from_row(cols, count, &test[i], raw + (size_t)i * ref.in_size));
        for (int j = 0; j < CSV_COLUMNS; j++)
            gaps += !test[i].cell[j][0];
    }
    CU_ASSERT(gaps >= 10);
    char *inputs_name = ns_asprintf("%s-inputs.bin", run);
    char *inputs = test_util_tmp_path(inputs_name);
    test_util_write_bytes(inputs, raw, (size_t)CSV_TEST_ROWS * ref.in_size * sizeof *raw);
    if (!have_cc) {
        CU_PASS("no cc: the emitted C was not compiled");
    } else {
        char *driver = ns_asprintf("%s/driver.c", dir);
        char *src = ref.classes ? driver_source(run) : regression_driver_source(run);
        CU_ASSERT_FATAL(test_util_save_text(driver, src));
        free(src);
        for (size_t b = 0; b < sizeof emit_builds / sizeof *emit_builds; b++) {
            const char *compiler = build_compiler(b, "the emitted C of a CSV run");
            if (!compiler)
                continue;
            CU_ASSERT_FATAL(compile_with(compiler, dir, run, "driver.c", emit_builds[b].flags, emit_builds[b].name));
            char *built = ns_asprintf("%s/%s", dir, emit_builds[b].name);
            size_t same = compare_with_runner(emit_builds[b].runner, built, inputs, &ref);
            CU_ASSERT_EQUAL(same, ref.n);
            if (same != ref.n)
                fprintf(stderr, "test_emit: CSV run %s built with %s %s\n", run, compiler, emit_builds[b].flags);
            free(built);
        }
        free(driver);
    }
    free(inputs);
    free(inputs_name);
    free(raw);
    free(header);
    free(header_path);
    free(dir);
    free(rows_name);
    free(test);
    reference_free(&ref);
    free(run_dir);
    free(spec_path);
    free(spec_name);
    free(spec);
}

static void save_csv_data(void)
{
    struct csv_row *train = csv_blob_rows(CSV_TRAIN_ROWS, 31), *test = csv_blob_rows(CSV_TEST_ROWS, 32);
    csv_save("emitcsv_train.csv", train, CSV_TRAIN_ROWS, -1);
    csv_save("emitcsv_test.csv", test, CSV_TEST_ROWS, -1);
    free(train);
    free(test);
}

static void test_csv_classifier_bit_exact(void)
{
    save_csv_data();
    check_csv_run("emitcsv_kind", "kind", "colour",
                  "model:\n  layers:\n    - dense: {units: 8, activation: tanh}\n    - dense: {units: auto}\n"
                  "loss: cross_entropy\n");
}

static void test_csv_regression_bit_exact(void)
{
    save_csv_data();
    check_csv_run("emitcsv_y", "y", "colour, kind",
                  "model:\n  layers:\n    - dense: {units: 8, activation: tanh}\n    - dense: {units: 1}\n"
                  "loss: mse\n");
}

/* The emitter's text goes through ns_buf_printf, which formats into the buffer's spare room
 * and formats again after growing when the text does not fit. */
static void test_buf_printf(void)
{
    struct ns_buf buf = {0}, expected = {0};
    char piece[200];
    for (int i = 0; i < 3000; i++) {
        int width = i % 150;
        ns_buf_printf(&buf, "%d:%*s|%a,", i, width, "", (double)i * 0.1f);
        snprintf(piece, sizeof piece, "%d:%*s|%a,", i, width, "", (double)i * 0.1f);
        ns_buf_append(&expected, piece, strlen(piece));
    }
    CU_ASSERT_EQUAL(buf.len, expected.len);
    CU_ASSERT_EQUAL(strlen(buf.data), buf.len);
    CU_ASSERT_STRING_EQUAL(buf.data, expected.data);
    CU_ASSERT(buf.len < buf.cap);
    ns_buf_free(&buf);
    ns_buf_printf(&buf, "%s", ""); /* an empty first text still makes a string */
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf.data);
    CU_ASSERT_STRING_EQUAL(buf.data, "");
    ns_buf_free(&buf);
    ns_buf_free(&expected);
}

int main(void)
{
    static const struct test_util_case cases[] = {
        {"ns_buf_printf appends what snprintf writes, across growth", test_buf_printf},
        {"hex float literals are exact", test_float_literals},
        {"prefixes are C identifiers", test_prefixes},
        {"MLP: emitted C equals the runtime bit for bit", test_mlp_bit_exact},
        {"CNN with every op: emitted C equals the runtime bit for bit", test_cnn_bit_exact},
        {"one sigmoid output: emitted C equals the runtime", test_binary_bit_exact},
        {"emitted files are strict C99 with no malloc and no mutable globals", test_strict_c99},
        {"--main classifies PGM/PPM files as netspec predict does", test_main_program},
        {"predict --json and the emitted --main --all give the same probabilities bit for bit", test_predict_exact},
        {"nsk.h gives the runtime's bits under every compiler and flags", test_nsk_every_compiler},
        {"usage errors", test_usage_errors},
        {"models that cannot be emitted are refused", test_refusals},
        {"a regression model: emitted C equals the runtime bit for bit", test_regression_bit_exact},
        {"a CSV classifier (standardize, categorical, missing cells): emitted C, predict and eval agree bit for bit",
         test_csv_classifier_bit_exact},
        {"a CSV regression model: emitted C, predict and eval agree bit for bit", test_csv_regression_bit_exact},
    };
    return test_util_main("emit", suite_init, test_util_tmp_clean, cases, sizeof cases / sizeof *cases);
}
