/* Training, evaluation and resume: losses, optimizers and schedules against hand-computed
 * values; the executor's gradients against finite differences; checkpoints; and the
 * `netspec train` / `netspec eval` commands end to end on small data this program writes
 * (reproducible bytes on 1 and 2 threads, interrupt and resume, regression, classification,
 * divergence, eval JSON and the data check). No timing is asserted. */
#include <CUnit/Basic.h>

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/model.h"
#include "core/ns_ctx.h"
#include "core/ns_sha256.h"
#include "core/ns_util.h"
#include "graph/graph.h"
#include "runtime/exec.h"
#include "spec/spec.h"
#include "kernels/kernels_cpu.h"
#include "train/checkpoint.h"
#include "train/init.h"
#include "train/loss.h"
#include "train/optim.h"
#include "train/sched.h"
#include "train/train_state.h"

#include "test_util.h"

static const char *const tiny_spec =
    "version: 1\n"
    "name: tiny\n"
    "seed: 42\n"
    "data:\n"
    "  format: idx\n"
    "  train: {images: tiny-train-images.idx, labels: tiny-train-labels.idx.gz}\n"
    "  test: {images: tiny-test-images.idx, labels: tiny-test-labels.idx.gz}\n"
    "  validation: 0.2\n"
    "  classes: [low, middle, high]\n"
    "  normalize: {scale: 0.00392156862745098}\n"
    "model:\n"
    "  layers:\n"
    "    - flatten\n"
    "    - dense: {units: 16, activation: relu}\n"
    "    - dropout: 0.2\n"
    "    - dense: {units: auto}\n"
    "loss: cross_entropy\n"
    "optimizer: {type: adam, lr: 0.01}\n"
    "schedule: {type: cosine, warmup_epochs: 1}\n"
    "train: {epochs: 3, batch_size: 32}\n";

/* Convolution, batch normalisation (running statistics live in the parameter buffer), a
 * residual add, pooling and augmentation: the ops' determinism seen through whole runs. */
static const char *const tiny_cnn_spec =
    "version: 1\n"
    "extends: tiny.yaml\n"
    "name: tiny_cnn\n"
    "data:\n"
    "  augment: {hflip: true, random_crop: 1}\n"
    "model:\n"
    "  layers:\n"
    "    - conv2d: {filters: 4, kernel: 3, padding: same, name: stem}\n"
    "    - batchnorm\n"
    "    - activation: {type: relu, name: block_in}\n"
    "    - conv2d: {filters: 4, kernel: 3, padding: same}\n"
    "    - batchnorm: {name: block_out}\n"
    "    - add: {from: [block_in, block_out]}\n"
    "    - maxpool2d: {size: 2}\n"
    "    - global_avgpool2d\n"
    "    - dropout: 0.1\n"
    "    - dense: {units: auto}\n"
    "optimizer: {type: adamw, lr: 0.01}\n"
    "train: {epochs: 2, batch_size: 32}\n";

/* ---- suite setup ---- */

static int suite_init(void)
{
    return test_util_tmp_init("train");
}

/* ---- (f) losses ---- */

/* The losses run in float (nsk.h), so they match the exact values to a few float ulps. */
static void test_loss_values(void)
{
    struct loss_config ce = {.type = LOSS_CROSS_ENTROPY};
    const float z[3] = {1, 2, 3};
    /* -log softmax(z)_2 = log(1 + e^-1 + e^-2) */
    CU_ASSERT_DOUBLE_EQUAL(loss_sample(&ce, 3, z, 2, 0, 0, NULL), 0.40760596444438, 4e-7);
    CU_ASSERT_DOUBLE_EQUAL(loss_sample(&ce, 3, z, 0, 0, 0, NULL), 2.40760596444438, 4e-7);
    /* label smoothing 0.3: t = (0.1, 0.1, 0.8); -sum t log p = 0.1*2.4076 + 0.1*1.4076 + 0.8*0.4076 */
    struct loss_config ls = {.type = LOSS_CROSS_ENTROPY, .label_smoothing = 0.3};
    CU_ASSERT_DOUBLE_EQUAL(loss_sample(&ls, 3, z, 2, 0, 0, NULL), 0.70760596444438, 4e-7);
    /* Stable for huge logits: no overflow, no NaN. */
    const float big[3] = {1000, 0, -1000};
    CU_ASSERT_DOUBLE_EQUAL(loss_sample(&ce, 3, big, 0, 0, 0, NULL), 0.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(loss_sample(&ce, 3, big, 1, 0, 0, NULL), 1000.0, 1e-9);
    float d[3];
    loss_sample(&ce, 3, big, 2, 0, 1.0f, d);
    CU_ASSERT_DOUBLE_EQUAL(d[0], 1.0, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(d[2], -1.0, 1e-6);

    struct loss_config bce = {.type = LOSS_BINARY_CROSS_ENTROPY};
    const float h[1] = {0.5f};
    CU_ASSERT_DOUBLE_EQUAL(loss_sample(&bce, 1, h, 1, 0, 0, NULL), 0.47407698418010, 4e-7); /* log(1+e^-0.5) */
    CU_ASSERT_DOUBLE_EQUAL(loss_sample(&bce, 1, h, 0, 0, 0, NULL), 0.97407698418010, 4e-7); /* log(1+e^0.5) */
    const float hb[1] = {-800.0f};
    CU_ASSERT_DOUBLE_EQUAL(loss_sample(&bce, 1, hb, 1, 0, 0, NULL), 800.0, 1e-9);
    /* two outputs, one-hot target (0, 1): mean of log(1+e^0.5) and log(1+e^-0.5) */
    const float h2[2] = {0.5f, 0.5f};
    CU_ASSERT_DOUBLE_EQUAL(loss_sample(&bce, 2, h2, 1, 0, 0, NULL), 0.72407698418010, 4e-7);

    struct loss_config mse = {.type = LOSS_MSE};
    const float m[2] = {0.5f, -0.5f};
    CU_ASSERT_DOUBLE_EQUAL(loss_sample(&mse, 2, m, 0, 0, 0, NULL), 0.25, 1e-12); /* (0.25 + 0.25) / 2 */
    struct loss_config reg = {.type = LOSS_MSE, .regression = true};
    const float r[1] = {2.0f};
    CU_ASSERT_DOUBLE_EQUAL(loss_sample(&reg, 1, r, 0, 0.5f, 0, NULL), 2.25, 1e-12);

    /* The batch is the sum in sample order; correct counts the argmax hits. */
    const float rows[6] = {1, 2, 3, 3, 2, 1};
    const int32_t labels[2] = {2, 1};
    size_t correct = 0;
    double sum = loss_batch(&ce, 2, 3, rows, labels, NULL, 1.0f, NULL, &correct);
    CU_ASSERT_DOUBLE_EQUAL(sum, 0.40760596444438 + 1.40760596444438, 8e-7);
    CU_ASSERT_EQUAL(correct, 1);
    CU_ASSERT_EQUAL(loss_predict(&bce, 1, h), 1);
    CU_ASSERT_EQUAL(loss_predict(&bce, 1, hb), 0);
}

/* Central differences with a step of 2^-10 (exact in float near these values); the loss is
 * computed in double, so the difference quotient is accurate to O(h^2) ~ 1e-6. */
static void check_loss_gradient(const struct loss_config *cfg, int k, const float *z0, int32_t label,
                                float target)
{
    float z[8], d[8];
    const float scale = 0.25f; /* gradients scale with grad_scale (1 / batch) */
    memcpy(z, z0, (size_t)k * sizeof *z);
    loss_sample(cfg, k, z, label, target, scale, d);
    const float h = 0x1p-10f;
    for (int j = 0; j < k; j++) {
        float keep = z[j];
        z[j] = keep + h;
        double up = loss_sample(cfg, k, z, label, target, 0, NULL);
        z[j] = keep - h;
        double down = loss_sample(cfg, k, z, label, target, 0, NULL);
        z[j] = keep;
        double numeric = scale * (up - down) / (2.0 * h);
        CU_ASSERT_DOUBLE_EQUAL(d[j], numeric, 2e-5);
    }
}

static void test_loss_gradients(void)
{
    const float z[4] = {0.3f, -1.2f, 2.0f, 0.7f};
    struct loss_config ce = {.type = LOSS_CROSS_ENTROPY};
    struct loss_config ls = {.type = LOSS_CROSS_ENTROPY, .label_smoothing = 0.1};
    struct loss_config bce = {.type = LOSS_BINARY_CROSS_ENTROPY};
    struct loss_config mse = {.type = LOSS_MSE};
    struct loss_config reg = {.type = LOSS_MSE, .regression = true};
    for (int32_t label = 0; label < 4; label++) {
        check_loss_gradient(&ce, 4, z, label, 0);
        check_loss_gradient(&ls, 4, z, label, 0);
        check_loss_gradient(&bce, 4, z, label, 0);
        check_loss_gradient(&mse, 4, z, label, 0);
    }
    check_loss_gradient(&bce, 1, z, 1, 0);
    check_loss_gradient(&bce, 1, z + 1, 0, 0);
    check_loss_gradient(&reg, 1, z + 2, 0, -0.75f);
}

/* ---- (e) optimizers and schedules ---- */

static void test_adam_step(void)
{
    struct spec_optimizer cfg = {.type = OPT_ADAM, .lr = 0.1, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    struct optim_tensor t[2] = {{.offset = 0, .size = 2, .decay = true}, {.offset = 2, .size = 1, .decay = false}};
    struct optim o;
    optim_init(&o, &cfg, 3, t, 2);
    float w[3] = {1.0f, -2.0f, 0.5f};
    const float g1[3] = {0.5f, -0.1f, 0.0f};
    optim_step(&o, KERNELS_CPU_SERIAL, w, g1, 0.1);
    /* Step 1: m^ = g, v^ = g^2, so w -= lr * g / (|g| + eps) = lr * sign(g). */
    CU_ASSERT_DOUBLE_EQUAL(w[0], 0.9, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(w[1], -1.9, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(w[2], 0.5, 1e-7);
    CU_ASSERT_DOUBLE_EQUAL(o.m[0], 0.05, 1e-8);
    CU_ASSERT_DOUBLE_EQUAL(o.v[0], 0.00025, 1e-10);
    /* Step 2 by the textbook formula in double. */
    const float g2[3] = {0.2f, 0.3f, 0.0f};
    double expect[2];
    for (int i = 0; i < 2; i++) {
        double m = 0.9 * (0.1 * g1[i]) + 0.1 * g2[i];
        double v = 0.999 * (0.001 * g1[i] * g1[i]) + 0.001 * g2[i] * g2[i];
        double mh = m / (1 - 0.81), vh = v / (1 - 0.999 * 0.999);
        expect[i] = (double)w[i] - 0.05 * mh / (sqrt(vh) + 1e-8);
    }
    optim_step(&o, KERNELS_CPU_SERIAL, w, g2, 0.05);
    CU_ASSERT_DOUBLE_EQUAL(w[0], expect[0], 2e-6);
    CU_ASSERT_DOUBLE_EQUAL(w[1], expect[1], 2e-6);
    CU_ASSERT_EQUAL(o.step, 2);
    optim_free(&o);

    /* Decoupled decay shrinks weights (not biases) by lr * wd even with a zero gradient. */
    cfg.type = OPT_ADAMW;
    cfg.weight_decay = 0.1;
    optim_init(&o, &cfg, 3, t, 2);
    float w2[3] = {1.0f, -2.0f, 0.5f};
    const float zero[3] = {0};
    optim_step(&o, KERNELS_CPU_SERIAL, w2, zero, 0.1);
    CU_ASSERT_DOUBLE_EQUAL(w2[0], 0.99, 1e-7);
    CU_ASSERT_DOUBLE_EQUAL(w2[1], -1.98, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(w2[2], 0.5, 1e-7);
    optim_free(&o);
}

static void test_sgd_step(void)
{
    struct optim_tensor t[1] = {{.offset = 0, .size = 1, .decay = true}};
    const float g[1] = {0.5f};
    struct spec_optimizer cfg = {.type = OPT_SGD, .lr = 0.1, .momentum = 0.9};
    struct optim o;
    optim_init(&o, &cfg, 1, t, 1);
    float w[1] = {1.0f};
    optim_step(&o, KERNELS_CPU_SERIAL, w, g, 0.1); /* b = 0.5, w = 0.95 */
    CU_ASSERT_DOUBLE_EQUAL(w[0], 0.95, 1e-7);
    optim_step(&o, KERNELS_CPU_SERIAL, w, g, 0.1); /* b = 0.95, w = 0.855 */
    CU_ASSERT_DOUBLE_EQUAL(w[0], 0.855, 1e-6);
    optim_free(&o);

    cfg.nesterov = true;
    optim_init(&o, &cfg, 1, t, 1);
    w[0] = 1.0f;
    optim_step(&o, KERNELS_CPU_SERIAL, w, g, 0.1); /* b = 0.5, d = 0.5 + 0.45, w = 0.905 */
    CU_ASSERT_DOUBLE_EQUAL(w[0], 0.905, 1e-6);
    optim_step(&o, KERNELS_CPU_SERIAL, w, g, 0.1); /* b = 0.95, d = 0.5 + 0.855, w = 0.7695 */
    CU_ASSERT_DOUBLE_EQUAL(w[0], 0.7695, 1e-6);
    optim_free(&o);

    /* Plain sgd with L2 decay on a weight: g + wd w = 0.5 + 0.1 = 0.6, w = 1 - 0.06 */
    struct spec_optimizer plain = {.type = OPT_SGD, .lr = 0.1, .weight_decay = 0.1};
    optim_init(&o, &plain, 1, t, 1);
    CU_ASSERT_PTR_NULL(o.m);
    w[0] = 1.0f;
    optim_step(&o, KERNELS_CPU_SERIAL, w, g, 0.1);
    CU_ASSERT_DOUBLE_EQUAL(w[0], 0.94, 1e-6);
    optim_free(&o);
}

/* A deterministic pseudo-random float in [-scale, scale). */
static float test_value(uint64_t i, float scale)
{
    uint64_t z = (i + 1) * 0x9E3779B97F4A7C15ull;
    z ^= z >> 31;
    z *= 0xBF58476D1CE4E5B9ull;
    z ^= z >> 29;
    return (float)((double)(z >> 40) / (double)(1ull << 24) * 2.0 - 1.0) * scale;
}

/* Runs `steps` steps of cfg over `n` parameters (three tensors, the first a decayed weight)
 * on `threads` threads and returns w, m and v concatenated (malloc'd). */
static float *optim_run(const struct spec_optimizer *cfg, size_t n, int threads, enum kernels_isa isa, int steps)
{
    struct optim_tensor t[3] = {{.offset = 0, .size = n / 2, .decay = true},
                                {.offset = n / 2, .size = n / 4 + 1, .decay = false},
                                {.offset = n / 2 + n / 4 + 1, .size = n - (n / 2 + n / 4 + 1), .decay = true}};
    struct optim o;
    optim_init(&o, cfg, n, t, 3);
    float *out = calloc(3 * n, sizeof *out);
    float *g = malloc(n * sizeof *g);
    for (size_t i = 0; i < n; i++)
        out[i] = test_value(i, 0.5f);
    for (int s = 0; s < steps; s++) {
        for (size_t i = 0; i < n; i++)
            g[i] = (i % 7 == 0) ? 0.0f : test_value(i * 31 + (size_t)s, 0.01f);
        optim_step(&o, &(struct kernels_cpu){.threads = threads, .isa = isa}, out, g, 0.001 * (s + 1));
    }
    if (o.m)
        memcpy(out + n, o.m, n * sizeof *out);
    if (o.v)
        memcpy(out + 2 * n, o.v, n * sizeof *out);
    optim_free(&o);
    free(g);
    return out;
}

static void test_optim_threads(void)
{
    /* Big enough to run in parallel (OPTIM_PARALLEL_MIN) and not a multiple of OPTIM_CHUNK or 4. */
    const size_t n = 3 * OPTIM_CHUNK * 4 + 1235;
    struct spec_optimizer cfgs[3] = {
        {.type = OPT_ADAMW, .lr = 0.001, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01},
        {.type = OPT_SGD, .lr = 0.1, .momentum = 0.9, .nesterov = true, .weight_decay = 1e-4},
        {.type = OPT_ADAM, .lr = 0.001, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-7},
    };
    for (int c = 0; c < 3; c++) {
        float *one = optim_run(&cfgs[c], n, 1, KERNELS_ISA_PORTABLE, 5);
        for (int isa = KERNELS_ISA_PORTABLE; isa < KERNELS_ISA_COUNT; isa++) {
            if (!kernels_isa_supported((enum kernels_isa)isa)) {
                printf("\n    %s not supported here: its optimizer path is not compared ", kernels_isa_name((enum kernels_isa)isa));
                continue;
            }
            for (int threads = 1; threads <= 3; threads++) {
                float *many = optim_run(&cfgs[c], n, threads, (enum kernels_isa)isa, 5);
                CU_ASSERT_EQUAL(memcmp(one, many, 3 * n * sizeof *one), 0);
                free(many);
            }
        }
        free(one);
    }
}

static void test_optim_lanes_and_flush(void)
{
    /* Tensor 0 (4 floats) runs in vector lanes, tensor 1 (3 floats) in the scalar tail: the
     * same inputs give the same bits. */
    struct spec_optimizer cfg = {.type = OPT_ADAMW, .lr = 0.01, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                                 .weight_decay = 0.1};
    struct optim_tensor t[2] = {{.offset = 0, .size = 4, .decay = true}, {.offset = 4, .size = 3, .decay = true}};
    struct optim o;
    optim_init(&o, &cfg, 7, t, 2);
    float w[7] = {0.3f, -1.7f, 2.5e-3f, 9.0f, 0.3f, -1.7f, 2.5e-3f};
    for (int s = 0; s < 4; s++) {
        float g[7] = {0.1f * (float)s, -0.37f, 1e-20f, 0.0f, 0.1f * (float)s, -0.37f, 1e-20f};
        optim_step(&o, KERNELS_CPU_SERIAL, w, g, 0.01);
    }
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(memcmp(&w[i], &w[4 + i], sizeof(float)), 0);
        CU_ASSERT_EQUAL(memcmp(&o.m[i], &o.m[4 + i], sizeof(float)), 0);
        CU_ASSERT_EQUAL(memcmp(&o.v[i], &o.v[4 + i], sizeof(float)), 0);
    }
    /* g^2 = 1e-40 is subnormal: v, which would hold 1e-43, is flushed to +0 on both paths. */
    CU_ASSERT_EQUAL(o.v[2], 0.0f);
    CU_ASSERT_EQUAL(o.v[6], 0.0f);
    optim_free(&o);

    /* m decays by beta1 each step once the gradient stops: after it crosses FLT_MIN it is 0,
     * never subnormal, in 16, 8 and 4 vector lanes and the scalar tail alike (37 parameters);
     * NaN is not flushed. */
    struct spec_optimizer adam = {.type = OPT_ADAM, .lr = 0.001, .beta1 = 0.5, .beta2 = 0.999, .eps = 1e-8};
    struct optim_tensor all[1] = {{.offset = 0, .size = 37, .decay = false}};
    for (int isa = KERNELS_ISA_PORTABLE; isa < KERNELS_ISA_COUNT; isa++) {
        if (!kernels_isa_supported((enum kernels_isa)isa))
            continue;
        const struct kernels_cpu cpu = {.threads = 1, .isa = (enum kernels_isa)isa};
        optim_init(&o, &adam, 37, all, 1);
        float w2[37], first[37], zero[37] = {0};
        for (int i = 0; i < 37; i++)
            w2[i] = first[i] = 1.0f;
        first[3] = NAN;
        optim_step(&o, &cpu, w2, first, 0.001);
        bool subnormal = false, reached_zero = true;
        for (int s = 0; s < 200; s++) {
            optim_step(&o, &cpu, w2, zero, 0.001);
            for (int i = 0; i < 37; i++)
                if (i != 3)
                    subnormal |= o.m[i] != 0.0f && fabsf(o.m[i]) < FLT_MIN;
        }
        for (int i = 0; i < 37; i++)
            if (i != 3)
                reached_zero &= o.m[i] == 0.0f && !signbit(o.m[i]);
        CU_ASSERT_FALSE(subnormal);
        CU_ASSERT_TRUE(reached_zero);
        CU_ASSERT_TRUE(isnan(o.m[3]));
        CU_ASSERT_TRUE(isnan(w2[3]));
        optim_free(&o);
    }
}

/* train, eval and predict run themselves again once with GOMP_SPINCOUNT=1000, or 100 when
 * another process is running at the time (main.c says why); a user's own OMP_WAIT_POLICY or GOMP_SPINCOUNT is left alone; check does not re-run,
 * nor does a program under valgrind. */
static void test_wait_policy_default(void)
{
    struct test_util_run probe = test_util_shell("strace -V");
    bool have_strace = probe.exit_code == 0;
    test_util_run_free(&probe);
    if (!have_strace) {
        printf("\n    strace not installed: the wait-policy re-exec test is SKIPPED ");
        return;
    }
    static const struct {
        const char *env, *command;
        int execs;
        bool spin_set;
    } cases[] = {
        {"env -u GOMP_SPINCOUNT -u OMP_WAIT_POLICY", "eval /nonexistent-run", 2, true},
        {"env -u GOMP_SPINCOUNT OMP_WAIT_POLICY=active", "eval /nonexistent-run", 1, false},
        {"env -u OMP_WAIT_POLICY GOMP_SPINCOUNT=77", "eval /nonexistent-run", 1, false},
        {"env -u GOMP_SPINCOUNT -u OMP_WAIT_POLICY", "check /nonexistent.yaml", 1, false},
        /* valgrind preloads its vgpreload_*.so; a new image would escape the tool. */
        {"env -u GOMP_SPINCOUNT -u OMP_WAIT_POLICY LD_PRELOAD=/nonexistent/vgpreload_none.so", "eval /nonexistent-run",
         1, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *cmd = ns_asprintf("%s strace -f -v -s 64 -e trace=execve %s %s 2>&1 >/dev/null | grep execve",
                                cases[i].env, test_util_bin(), cases[i].command);
        struct test_util_run r = test_util_shell(cmd);
        int execs = 0;
        for (const char *p = r.out; (p = strstr(p, "execve(")) != NULL; p++)
            execs++;
        CU_ASSERT_EQUAL(execs, cases[i].execs);
        bool spin_set = strstr(r.out, "\"GOMP_SPINCOUNT=1000\"") || strstr(r.out, "\"GOMP_SPINCOUNT=100\"");
        CU_ASSERT_EQUAL(spin_set, cases[i].spin_set);
        if (execs != cases[i].execs)
            fprintf(stderr, "\n  %s:\n%s", cmd, r.out);
        test_util_run_free(&r);
        free(cmd);
    }
}

static void test_schedules(void)
{
    struct sched s;
    struct spec_schedule cosine = {.type = SCHED_COSINE, .warmup_epochs = 2, .min_lr = 0.001};
    sched_init(&s, &cosine, 0.1, 10, 10); /* 10 epochs of 10 steps */
    CU_ASSERT_DOUBLE_EQUAL(sched_lr(&s, 0), 0.1 / 20, 1e-12);    /* warmup: (0 + 1) / 20 */
    CU_ASSERT_DOUBLE_EQUAL(sched_lr(&s, 9), 0.1 * 10 / 20, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(sched_lr(&s, 19), 0.1, 1e-12);        /* warmup done */
    CU_ASSERT_DOUBLE_EQUAL(sched_lr(&s, 20), 0.1, 1e-12);        /* epoch 2: cosine starts at the peak */
    CU_ASSERT_DOUBLE_EQUAL(sched_lr(&s, 60), 0.0505, 1e-12);     /* epoch 6: halfway, (0.1 + 0.001) / 2 */
    CU_ASSERT_DOUBLE_EQUAL(sched_lr(&s, 40), 0.001 + 0.099 * (1 + cos(M_PI / 4)) / 2, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(sched_lr(&s, 100), 0.001, 1e-12);     /* end of the last epoch */

    struct spec_schedule step = {.type = SCHED_STEP, .step_size = 3, .gamma = 0.5};
    sched_init(&s, &step, 0.2, 10, 4);
    CU_ASSERT_DOUBLE_EQUAL(sched_lr(&s, 0), 0.2, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(sched_lr(&s, 11), 0.2, 1e-12);  /* epoch 2 */
    CU_ASSERT_DOUBLE_EQUAL(sched_lr(&s, 12), 0.1, 1e-12);  /* epoch 3 */
    CU_ASSERT_DOUBLE_EQUAL(sched_lr(&s, 24), 0.05, 1e-12); /* epoch 6 */

    struct spec_schedule constant = {.type = SCHED_CONSTANT, .warmup_epochs = 1};
    sched_init(&s, &constant, 0.3, 5, 3);
    CU_ASSERT_DOUBLE_EQUAL(sched_lr(&s, 1), 0.2, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(sched_lr(&s, 2), 0.3, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(sched_lr(&s, 14), 0.3, 1e-12);
}

/* ---- the executor and checkpoints on a small graph with a branch ---- */

static const char *const branch_spec =
    "version: 1\n"
    "name: branch\n"
    "seed: 5\n"
    "data: {format: csv, train: unused.csv, label_column: y}\n"
    "model:\n"
    "  input: [6]\n"
    "  layers:\n"
    "    - dense: {units: 5, activation: tanh, name: a}\n"
    "    - dense: {units: 5, activation: tanh, name: b}\n"
    "    - add: {from: [a, b]}\n"
    "    - dense: {units: 3}\n"
    "loss: cross_entropy\n"
    "optimizer: {type: adam, lr: 0.01}\n";

/* The spec `text`, written to the temporary FILE and loaded, built into a graph on `in` with
 * 3 classes; NULL (errors printed) when it does not load. */
static struct graph *graph_from_text(struct ns_ctx *ctx, const char *file, const char *text, struct spec_shape in,
                                     struct spec **spec_out)
{
    char *path = test_util_tmp_path(file);
    test_util_write_text(path, text);
    struct spec *spec = spec_load(ctx, op_catalog(), path, NULL, 0);
    free(path);
    if (!spec) {
        ns_diag_print(&ctx->diag, stderr, false);
        return NULL;
    }
    if (spec_out)
        *spec_out = spec;
    return graph_build(ctx, spec, in, 3);
}

static struct graph *build_branch(struct ns_ctx *ctx, struct spec **spec_out)
{
    return graph_from_text(ctx, "branch.yaml", branch_spec, (struct spec_shape){.rank = 1, .dims = {6, 0, 0}},
                           spec_out);
}

static double batch_loss(struct exec *ex, const struct loss_config *lc, float *params, const float *x,
                         const int32_t *labels, int n)
{
    struct exec_run run = {.training = false};
    const float *y = exec_forward(ex, params, x, n, &run);
    return loss_batch(lc, n, 3, y, labels, NULL, 1.0f, NULL, NULL) / n;
}

/* Node a feeds both b and the add, so its gradient is the sum of two paths: this checks that
 * the executor accumulates, zeroes and orders the backward pass correctly. Float forward
 * passes limit the difference quotient to about 1e-4 relative (step 2^-8), hence 5e-3. */
static void test_exec_gradients(void)
{
    struct ns_ctx ctx;
    ns_ctx_init(&ctx);
    struct spec *spec = NULL;
    struct graph *g = build_branch(&ctx, &spec);
    CU_ASSERT_FATAL(g != NULL);
    CU_ASSERT_EQUAL(g->node_count, 4);
    float *params = ns_xcalloc(g->param_floats, sizeof *params);
    init_params(g, 5, params);
    /* Biases start at zero; give them values so their gradients are not special. */
    for (size_t i = 0; i < g->param_floats; i++)
        params[i] += 0.05f * (float)((int)(i % 7) - 3);
    enum { N = 4 };
    float x[N * 6];
    uint64_t rng = 99;
    for (int i = 0; i < N * 6; i++)
        x[i] = (float)(2 * test_util_next_uniform(&rng) - 1);
    const int32_t labels[N] = {0, 2, 1, 2};
    struct loss_config lc = {.type = LOSS_CROSS_ENTROPY};
    struct exec *ex = exec_new(g, N);
    struct exec_run run = {.training = true};
    const float *y = exec_forward(ex, params, x, N, &run);
    float d_out[N * 3];
    loss_batch(&lc, N, 3, y, labels, NULL, 1.0f / N, d_out, NULL);
    float *grads = ns_xcalloc(g->param_floats, sizeof *grads);
    exec_backward(ex, params, d_out, grads);
    double worst = 0;
    for (size_t i = 0; i < g->param_floats; i++) {
        float keep = params[i];
        const float h = 0x1p-8f;
        params[i] = keep + h;
        double up = batch_loss(ex, &lc, params, x, labels, N);
        params[i] = keep - h;
        double down = batch_loss(ex, &lc, params, x, labels, N);
        params[i] = keep;
        double numeric = (up - down) / (2.0 * h);
        double err = fabs(numeric - grads[i]) / (fabs(numeric) + 1e-2);
        worst = err > worst ? err : worst;
    }
    CU_ASSERT(worst < 5e-3);
    printf("\n    worst relative gradient error %.2e (must be < 5e-3) ", worst);
    exec_free(ex);
    free(grads);
    free(params);
    ns_ctx_free(&ctx);
}

/* The plan's fusion of relu into maxpool's backward (graph_plan.c): made only for a relu output
 * read by a maxpool alone, and the gradients equal those of the same graph without it, bit for
 * bit (a 2x2 pooling, a general one, a 1x1 convolution, odd sizes). */
static void test_relu_pool_fusion(void)
{
    static const char *const text =
        "version: 1\n"
        "data: {format: csv, train: unused.csv, label_column: y}\n"
        "model:\n"
        "  input: [12, 12, 2]\n"
        "  layers:\n"
        "    - conv2d: {filters: 4, kernel: 3, padding: same, activation: tanh}\n"
        "    - maxpool2d: {size: 2}\n"
        "    - conv2d: {filters: 5, kernel: 3, padding: same, activation: relu}\n"
        "    - maxpool2d: {size: 3, stride: 2, padding: same}\n"
        "    - conv2d: {filters: 3, kernel: 1, activation: relu}\n"
        "    - maxpool2d: {size: 2}\n"
        "    - flatten\n"
        "    - dense: {units: 3}\n"
        "loss: cross_entropy\n";
    struct ns_ctx ctx;
    ns_ctx_init(&ctx);
    struct graph *g = graph_from_text(&ctx, "fusion.yaml", text, (struct spec_shape){.rank = 3, .dims = {12, 12, 2}},
                                      NULL);
    CU_ASSERT_FATAL(g != NULL && g->node_count == 8);
    const bool fused[8] = {false, false, true, true, true, true, false, false};
    for (int i = 0; i < 8; i++) {
        bool is_pool = i % 2 == 1;
        CU_ASSERT_EQUAL(is_pool ? g->nodes[i].relu_mask_input : g->nodes[i].output_grad_masked, fused[i]);
    }
    float *params = ns_xcalloc(g->param_floats, sizeof *params);
    init_params(g, 8, params);
    enum { N = 3 };
    float x[N * 12 * 12 * 2];
    uint64_t rng = 17;
    for (size_t i = 0; i < sizeof x / sizeof *x; i++)
        x[i] = (float)(2 * test_util_next_uniform(&rng) - 1);
    const int32_t labels[N] = {2, 0, 1};
    struct loss_config lc = {.type = LOSS_CROSS_ENTROPY};
    float *grads[2];
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            for (size_t i = 0; i < g->node_count; i++)
                g->nodes[i].relu_mask_input = g->nodes[i].output_grad_masked = false;
        struct exec *ex = exec_new(g, N);
        struct exec_run run = {.training = true};
        const float *y = exec_forward(ex, params, x, N, &run);
        float d_out[N * 3];
        loss_batch(&lc, N, 3, y, labels, NULL, 1.0f / N, d_out, NULL);
        grads[pass] = ns_xcalloc(g->param_floats, sizeof *grads[pass]);
        exec_backward(ex, params, d_out, grads[pass]);
        exec_free(ex);
    }
    CU_ASSERT_EQUAL(memcmp(grads[0], grads[1], g->param_floats * sizeof *grads[0]), 0);
    size_t nonzero = 0;
    for (size_t i = 0; i < g->param_floats; i++)
        nonzero += grads[0][i] != 0.0f;
    CU_ASSERT(nonzero > g->param_floats / 2);
    free(grads[0]);
    free(grads[1]);
    free(params);
    ns_ctx_free(&ctx);
}

static void test_checkpoint_roundtrip(void)
{
    struct ns_ctx ctx;
    ns_ctx_init(&ctx);
    struct spec *spec = NULL;
    struct graph *g = build_branch(&ctx, &spec);
    CU_ASSERT_FATAL(g != NULL);
    struct train_state st;
    train_state_init(&st, spec, g);
    st.opt.step = 17;
    for (size_t i = 0; i < g->param_floats; i++) {
        st.opt.m[i] = (float)i * 0.5f;
        st.opt.v[i] = (float)i * 0.25f;
    }
    st.epoch = 2;
    st.batch = 3;
    st.epoch_loss = 1.25;
    st.epoch_correct = 7;
    st.epoch_seen = 9;
    struct train_epoch e = {0.5, 0.75, NAN, NAN, 0.01};
    train_state_push_epoch(&st, &e);
    st.es_best = 0.5;
    st.es_best_epoch = 0;
    char *path = test_util_tmp_path("roundtrip.nsm");
    CU_ASSERT_FATAL(checkpoint_write(&ctx.diag, path, g, &st));
    struct train_state back;
    train_state_blank(&back, spec, g);
    CU_ASSERT_FATAL(checkpoint_read(&ctx.diag, path, g, &back));
    CU_ASSERT_EQUAL(memcmp(back.params, st.params, g->param_floats * sizeof(float)), 0);
    CU_ASSERT_EQUAL(memcmp(back.opt.v, st.opt.v, g->param_floats * sizeof(float)), 0);
    CU_ASSERT_EQUAL(back.opt.step, 17);
    CU_ASSERT_EQUAL(back.epoch, 2);
    CU_ASSERT_EQUAL(back.batch, 3);
    CU_ASSERT_EQUAL(back.epoch_correct, 7);
    CU_ASSERT_EQUAL(back.history_count, 1);
    CU_ASSERT_DOUBLE_EQUAL(back.history[0].train_metric, 0.75, 0);
    CU_ASSERT(isnan(back.history[0].val_loss));
    CU_ASSERT_EQUAL(back.es_best_epoch, 0);
    /* Writing the read state again gives the same bytes. */
    char *again = test_util_tmp_path("roundtrip2.nsm");
    CU_ASSERT_FATAL(checkpoint_write(&ctx.diag, again, g, &back));
    CU_ASSERT(test_util_same_file(path, again));
    /* One flipped byte: the checksum catches it. */
    FILE *f = fopen(again, "r+b");
    CU_ASSERT_FATAL(f != NULL);
    fseek(f, 100, SEEK_SET);
    int c = fgetc(f);
    fseek(f, 100, SEEK_SET);
    fputc(c ^ 0x10, f);
    fclose(f);
    train_state_free(&back);
    train_state_blank(&back, spec, g);
    CU_ASSERT(!checkpoint_read(&ctx.diag, again, g, &back));
    CU_ASSERT_FATAL(ctx.diag.count == 1);
    CU_ASSERT(strstr(ctx.diag.items[0].message, "checksum") != NULL);
    train_state_free(&back);
    train_state_free(&st);
    free(path);
    free(again);
    ns_ctx_free(&ctx);
}

/* A chain's inference plan needs two outputs at a time, not all of them; training keeps
 * every output for backward but only the gradients in flight. */
static void test_memory_plan(void)
{
    static const char *const chain_spec =
        "version: 1\n"
        "data: {format: csv, train: unused.csv, label_column: y}\n"
        "model:\n"
        "  input: [6]\n"
        "  layers:\n"
        "    - dense: {units: 40, activation: relu}\n"
        "    - dense: {units: 30, activation: relu}\n"
        "    - dense: {units: 20, activation: relu}\n"
        "    - dense: {units: 10, activation: relu}\n"
        "    - dense: {units: 3}\n"
        "loss: cross_entropy\n";
    struct ns_ctx ctx;
    ns_ctx_init(&ctx);
    struct spec *spec = NULL;
    struct graph *g = graph_from_text(&ctx, "chain.yaml", chain_spec, (struct spec_shape){.rank = 1, .dims = {6, 0, 0}},
                                      &spec);
    CU_ASSERT_PTR_NOT_NULL_FATAL(spec);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(g->activation_floats, 40 + 30 + 20 + 10 + 3);
    const struct graph_plan *inf = &g->plan[GRAPH_INFERENCE], *tr = &g->plan[GRAPH_TRAINING];
    /* The largest neighbours, 40 and 30, bound it. */
    CU_ASSERT_EQUAL(inf->act_floats, 70);
    CU_ASSERT(inf->act_floats < g->activation_floats);
    CU_ASSERT_EQUAL(tr->act_floats, g->activation_floats);
    CU_ASSERT(tr->grad_floats > 0 && tr->grad_floats < g->activation_floats);
    for (size_t s = 0; s < g->node_count; s++)
        CU_ASSERT_EQUAL(g->order[s], (int)s);
    /* A node and the one it reads never share memory. */
    for (size_t i = 1; i < g->node_count; i++) {
        size_t a = inf->act_offset[i - 1], b = inf->act_offset[i];
        CU_ASSERT(a + g->nodes[i - 1].out_size <= b || b + g->nodes[i].out_size <= a);
    }
    CU_ASSERT_EQUAL(tr->grad_offset[g->output_node], GRAPH_NO_BUFFER);
    /* The executor's forward on the inference plan equals the training plan's, bit for bit. */
    struct train_state st;
    train_state_init(&st, spec, g);
    float x[2 * 6];
    for (int i = 0; i < 12; i++)
        x[i] = (float)(i % 5) * 0.25f - 0.5f;
    struct exec *a = exec_new_mode(g, 2, GRAPH_INFERENCE), *b = exec_new(g, 2);
    struct exec_run run = {.training = false};
    const float *ya = exec_forward(a, st.params, x, 2, &run);
    const float *yb = exec_forward(b, st.params, x, 2, &run);
    CU_ASSERT_EQUAL(memcmp(ya, yb, 2 * 3 * sizeof *ya), 0);
    exec_free(a);
    exec_free(b);
    train_state_free(&st);
    ns_ctx_free(&ctx);
}

/* ---- end to end through the binary ---- */

static void write_tiny_files(void)
{
    char *ti = test_util_tmp_path("tiny-train-images.idx"), *tl = test_util_tmp_path("tiny-train-labels.idx.gz");
    char *vi = test_util_tmp_path("tiny-test-images.idx"), *vl = test_util_tmp_path("tiny-test-labels.idx.gz");
    char *spec = test_util_tmp_path("tiny.yaml");
    CU_ASSERT_FATAL(test_util_save_stripes(ti, tl, 300, 3, 7, NULL));
    CU_ASSERT_FATAL(test_util_save_stripes(vi, vl, 90, 3, 8, NULL));
    test_util_write_text(spec, tiny_spec);
    free(ti);
    free(tl);
    free(vi);
    free(vl);
    free(spec);
}

/* A spec needing more than runtime.max_memory stops `check` and `train` with a located error
 * before anything is allocated: no run directory is left behind. */
static void test_memory_limit(void)
{
    write_tiny_files();
    const char *want = "--set runtime.max_memory=1MiB: error: training needs about ";
    const char *tail = ", more than runtime.max_memory (1.00 MiB)\n";
    for (int i = 0; i < 2; i++) {
        char *args = i ? ns_asprintf("train %s/tiny.yaml -o %s/nomem --set runtime.max_memory=1MiB", test_util_tmp(),
                                     test_util_tmp())
                       : ns_asprintf("check %s/tiny.yaml --set runtime.max_memory=1MiB", test_util_tmp());
        struct test_util_run r = test_util_netspec(args);
        CU_ASSERT_EQUAL(r.exit_code, 2);
        CU_ASSERT_EQUAL(strncmp(r.err, want, strlen(want)), 0);
        const char *nl = strchr(r.err, '\n');
        CU_ASSERT(nl && (size_t)(nl + 1 - r.err) > strlen(tail) &&
                  !strncmp(nl + 1 - strlen(tail), tail, strlen(tail)));
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "raise runtime.max_memory"));
        if (r.exit_code != 2)
            fprintf(stderr, "%s\n%s", r.out, r.err);
        test_util_run_free(&r);
        free(args);
    }
    char *dir = test_util_tmp_path("nomem");
    CU_ASSERT_NOT_EQUAL(access(dir, F_OK), 0);
    free(dir);
    /* Written in the file, the error points at the value. */
    char *spec = test_util_tmp_path("tight.yaml");
    test_util_write_text(spec, "version: 1\nextends: tiny.yaml\nruntime: {max_memory: 2MiB}\n");
    char *args = ns_asprintf("train %s -o %s/nomem2", spec, test_util_tmp());
    struct test_util_run r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 2);
    char *at = ns_asprintf("%s:3:23: error: training needs about ", spec);
    CU_ASSERT_EQUAL(strncmp(r.err, at, strlen(at)), 0);
    test_util_run_free(&r);
    free(at);
    free(args);
    dir = test_util_tmp_path("nomem2");
    CU_ASSERT_NOT_EQUAL(access(dir, F_OK), 0);
    free(dir);
    /* check prints the estimate and the limit. */
    args = ns_asprintf("check %s/tiny.yaml --set runtime.max_memory=4GiB", test_util_tmp());
    r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\nmemory: ~"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, " to train at batch 32 (limit 4.00 GiB, runtime.max_memory)\n"));
    test_util_run_free(&r);
    free(args);
    free(spec);
}

/* Without runtime.max_memory written, the error points at what dominates, and says so. */
static void test_memory_blame(void)
{
    write_tiny_files();
    struct ns_ctx ctx;
    ns_ctx_init(&ctx);
    char *path = test_util_tmp_path("tiny.yaml");
    struct spec *spec = spec_load(&ctx, op_catalog(), path, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(spec);
    static const struct {
        double data, parameters, activations;
        const char *at, *hint;
    } cases[] = {
        {50, 1, 10, ":5:3: ", "the data set dominates: it is held as bytes (50 bytes); train on fewer or smaller "
                              "samples, or raise runtime.max_memory"},
        {1, 2, 90, ":20:32: ", "activations at batch 32 dominate (90 bytes); lower train.batch_size, or raise "
                               "runtime.max_memory"},
        {1, 95, 2, ":12:3: ", "parameters, gradients and optimizer state dominate (95 bytes); use fewer or smaller "
                              "layers, or raise runtime.max_memory"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct model_memory mem = {.data_peak = cases[i].data, .data_held = cases[i].data,
                                   .parameters = cases[i].parameters, .activations = cases[i].activations,
                                   .total = 3 << 20, .limit = 2 << 20, .batch_size = 32};
        CU_ASSERT_FALSE(model_memory_check(&ctx, spec, &mem));
        CU_ASSERT_EQUAL_FATAL(ctx.diag.count, i + 1);
        char *line = ns_error_first_line(&ctx.diag.items[i]);
        char *want = ns_asprintf("%s%serror: training needs about 3.00 MiB, more than runtime.max_memory (2.00 MiB, 80%% "
                                 "of physical memory)", path, cases[i].at);
        CU_ASSERT_STRING_EQUAL(line, want);
        if (strcmp(line, want))
            fprintf(stderr, "\n  got  %s\n  want %s\n", line, want);
        CU_ASSERT_STRING_EQUAL(ctx.diag.items[i].hint, cases[i].hint);
        free(want);
        free(line);
    }
    free(path);
    ns_ctx_free(&ctx);
}

/* (a) the same bytes run after run and on 1 or 2 threads; another seed differs. */
static void test_reproducible(void)
{
    write_tiny_files();
    const char *runs[3] = {"a1", "a2", "a3"};
    const char *threads[3] = {"2", "2", "1"};
    for (int i = 0; i < 3; i++) {
        char *args = ns_asprintf("train %s/tiny.yaml -o %s/%s --threads %s", test_util_tmp(), test_util_tmp(), runs[i],
                                 threads[i]);
        struct test_util_run r = test_util_netspec(args);
        CU_ASSERT_EQUAL(r.exit_code, 0);
        if (r.exit_code)
            fprintf(stderr, "%s\n%s", r.out, r.err);
        if (i == 0) {
            CU_ASSERT(strstr(r.out, "epoch 3/3") != NULL);
            CU_ASSERT(strstr(r.out, "test: loss") != NULL);
        }
        test_util_run_free(&r);
        free(args);
    }
    char *m1 = test_util_tmp_path("a1/model.nsm"), *m2 = test_util_tmp_path("a2/model.nsm");
    char *m3 = test_util_tmp_path("a3/model.nsm");
    CU_ASSERT(test_util_same_file(m1, m2));
    CU_ASSERT(test_util_same_file(m1, m3));
    char *args = ns_asprintf("train %s/tiny.yaml -o %s/a4 --set seed=43", test_util_tmp(), test_util_tmp());
    struct test_util_run r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 0);
    char *m4 = test_util_tmp_path("a4/model.nsm");
    CU_ASSERT(!test_util_same_file(m1, m4));
    test_util_run_free(&r);
    free(args);
    /* The run directory holds what the issue lists. */
    const char *names[] = {"spec.resolved.yaml", "manifest.json", "metrics.csv", "curves.svg", "summary.json"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char *p = ns_asprintf("%s/a1/%s", test_util_tmp(), names[i]);
        struct stat sb;
        CU_ASSERT(stat(p, &sb) == 0 && sb.st_size > 0);
        free(p);
    }
    char *csv_path = test_util_tmp_path("a1/metrics.csv");
    char *csv = test_util_slurp(csv_path, NULL);
    const char *header = "epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds,images_per_s\n";
    CU_ASSERT(strncmp(csv, header, strlen(header)) == 0);
    int lines = 0;
    for (const char *p = csv; *p; p++)
        lines += *p == '\n';
    CU_ASSERT_EQUAL(lines, 4);
    char *man_path = test_util_tmp_path("a1/manifest.json");
    char *man = test_util_slurp(man_path, NULL);
    CU_ASSERT(strstr(man, "\"sha256\": \"") != NULL);
    CU_ASSERT(strstr(man, "tiny-train-labels.idx.gz\", \"bytes\": ") != NULL);
    CU_ASSERT(strstr(man, "\"status\": \"complete\"") != NULL);
    CU_ASSERT(strstr(man, "\"threads\": 2") != NULL);
    /* A second train into the same directory is refused. */
    args = ns_asprintf("train %s/tiny.yaml -o %s/a1", test_util_tmp(), test_util_tmp());
    r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 2);
    CU_ASSERT(strstr(r.err, "already holds a run") != NULL);
    test_util_run_free(&r);
    free(args);
    free(csv);
    free(csv_path);
    free(man);
    free(man_path);
    free(m1);
    free(m2);
    free(m3);
    free(m4);
}

/* A run directory's files belong together: an edited spec.resolved.yaml or model.yaml, or the
 * model.nsm of another run (another seed), is refused by every command that loads the run. */
static void test_run_binding(void)
{
    const char *tmp = test_util_tmp();
    const char *dirs[3] = {"bind_spec", "bind_model", "bind_swap"};
    char *edits[3] = {
        ns_asprintf("echo '# edited' >> %s/bind_spec/spec.resolved.yaml", tmp),
        ns_asprintf("sed -i 's/^input: /input:  /' %s/bind_model/model.yaml", tmp),
        ns_asprintf("cp %s/a4/model.nsm %s/bind_swap/model.nsm", tmp, tmp),
    };
    const char *blame[3] = {"spec.resolved.yaml is not the", "model.yaml is not the", "spec.resolved.yaml is not the"};
    for (int c = 0; c < 3; c++) {
        char *copy = ns_asprintf("rm -rf %s/%s && cp -r %s/a1 %s/%s && %s", tmp, dirs[c], tmp, tmp, dirs[c], edits[c]);
        struct test_util_run sh = test_util_shell(copy);
        CU_ASSERT_EQUAL_FATAL(sh.exit_code, 0);
        test_util_run_free(&sh);
        char *commands[4] = {
            ns_asprintf("eval %s/%s", tmp, dirs[c]),
            ns_asprintf("predict %s/%s some.png", tmp, dirs[c]),
            ns_asprintf("emit %s/%s -o %s/emit_bound", tmp, dirs[c], tmp),
            ns_asprintf("train %s/tiny.yaml --resume %s/%s", tmp, tmp, dirs[c]),
        };
        for (int k = 0; k < 4; k++) {
            struct test_util_run r = test_util_netspec(commands[k]);
            CU_ASSERT_EQUAL(r.exit_code, 3);
            CU_ASSERT(strstr(r.err, blame[c]) != NULL);
            CU_ASSERT(strstr(r.err, "was trained with") != NULL);
            if (r.exit_code != 3 || !strstr(r.err, blame[c]))
                fprintf(stderr, "netspec %s\n%s", commands[k], r.err);
            test_util_run_free(&r);
            free(commands[k]);
        }
        free(copy);
        free(edits[c]);
    }
    char *emitted = test_util_tmp_path("emit_bound");
    struct stat sb;
    CU_ASSERT(stat(emitted, &sb) != 0); /* nothing was emitted from a run that does not hold together */
    free(emitted);
}

/* A crafted run: its spec asks for 16 million units, its model.nsm holds the small model's
 * weights and a binding rewritten to match the spec. Loading it is refused, from model.nsm's
 * size, before the billion parameters are allocated. */
static void test_run_binding_oversized(void)
{
    const char *tmp = test_util_tmp();
    char *copy = ns_asprintf("rm -rf %s/bind_big && cp -r %s/a1 %s/bind_big && sed -i 's/units: 16,/units: 16000000,/' "
                             "%s/bind_big/spec.resolved.yaml && grep -q 'units: 16000000' %s/bind_big/spec.resolved.yaml",
                             tmp, tmp, tmp, tmp, tmp);
    struct test_util_run sh = test_util_shell(copy);
    CU_ASSERT_EQUAL_FATAL(sh.exit_code, 0);
    test_util_run_free(&sh);
    struct ns_ctx ctx;
    ns_ctx_init(&ctx);
    struct model small;
    char *a1 = test_util_tmp_path("a1"), *spec_path = test_util_tmp_path("bind_big/spec.resolved.yaml");
    char *nsm = test_util_tmp_path("bind_big/model.nsm");
    CU_ASSERT_FATAL(model_load(&ctx, a1, &small));
    uint8_t digest[32];
    int err = 0;
    CU_ASSERT_FATAL(ns_sha256_file(spec_path, digest, &err));
    ns_sha256_hex(digest, small.st.spec_sha256);
    CU_ASSERT_FATAL(checkpoint_write(&ctx.diag, nsm, small.g, &small.st));
    model_free(&small);
    ns_ctx_free(&ctx);
    char *args = ns_asprintf("eval %s/bind_big", tmp);
    struct test_util_run r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 3);
    CU_ASSERT(strstr(r.err, "model.nsm has ") != NULL);
    /* 16e6 units on 64 pixels with their biases, then 3 classes on them */
    const char *want = "too few for the 1088000003 parameters the run's spec describes (4 bytes each)";
    CU_ASSERT(strstr(r.err, want) != NULL);
    if (r.exit_code != 3 || !strstr(r.err, want))
        fprintf(stderr, "netspec %s\n%s", args, r.err);
    test_util_run_free(&r);
    free(args);
    free(nsm);
    free(spec_path);
    free(a1);
    free(copy);
}

/* -o on a directory that is not empty and not a run: refused, and nothing in it changes. */
static void test_run_dir_refusals(void)
{
    char *dir = test_util_tmp_path("not_a_run");
    char *notes = test_util_tmp_path("not_a_run/notes.txt");
    mkdir(dir, 0777);
    test_util_write_text(notes, "mine\n");
    char *args = ns_asprintf("train %s/tiny.yaml -o %s", test_util_tmp(), dir);
    struct test_util_run r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 2);
    CU_ASSERT(strstr(r.err, "is not empty and is not a netspec run directory (it holds notes.txt)") != NULL);
    test_util_run_free(&r);
    free(args);
    char *text = test_util_slurp(notes, NULL);
    CU_ASSERT_STRING_EQUAL(text, "mine\n");
    free(text);
    char *list = ns_asprintf("ls -A %s", dir);
    struct test_util_run ls = test_util_shell(list);
    CU_ASSERT_STRING_EQUAL(ls.out, "notes.txt\n");
    test_util_run_free(&ls);
    free(list);
    free(notes);
    free(dir);
}

/* --isa takes a known name this CPU runs, on every command that runs the model. */
static void test_isa_usage_errors(void)
{
    static const struct {
        const char *args, *want;
    } cases[] = {
        {"train spec.yaml --isa", "error: --isa needs a value"},
        {"eval run --isa", "error: --isa needs a value"},
        {"predict run x.png --isa=sse9", "error: --isa is auto, portable, avx2 or avx512, not \"sse9\""},
        {"eval run --isa AVX2", "error: --isa is auto, portable, avx2 or avx512, not \"AVX2\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct test_util_run r = test_util_netspec(cases[i].args);
        CU_ASSERT_EQUAL(r.exit_code, 2);
        CU_ASSERT(strstr(r.err, cases[i].want) != NULL);
        if (!strstr(r.err, cases[i].want))
            fprintf(stderr, "\n  netspec %s said: %s", cases[i].args, r.err);
        test_util_run_free(&r);
    }
    /* A known ISA the CPU lacks is refused by name; every x86-64 CPU netspec runs on can run
     * portable, so that one is accepted (the run directory error comes later). */
    struct test_util_run r = test_util_netspec("eval /nonexistent-run --isa portable");
    CU_ASSERT(strstr(r.err, "--isa") == NULL);
    test_util_run_free(&r);
    if (!kernels_isa_supported(KERNELS_ISA_AVX512)) {
        r = test_util_netspec("eval run --isa avx512");
        CU_ASSERT(strstr(r.err, "error: --isa avx512: this CPU (or this build) cannot run it") != NULL);
        test_util_run_free(&r);
    }
}

static void test_reproducible_cnn(void)
{
    char *spec = test_util_tmp_path("tiny_cnn.yaml");
    test_util_write_text(spec, tiny_cnn_spec);
    free(spec);
    const char *threads[2] = {"1", "2"};
    for (int i = 0; i < 2; i++) {
        char *args = ns_asprintf("train %s/tiny_cnn.yaml -o %s/c%d --threads %s", test_util_tmp(), test_util_tmp(), i,
                                 threads[i]);
        struct test_util_run r = test_util_netspec(args);
        CU_ASSERT_EQUAL(r.exit_code, 0);
        if (r.exit_code)
            fprintf(stderr, "%s\n%s", r.out, r.err);
        test_util_run_free(&r);
        free(args);
    }
    char *args = ns_asprintf("train %s/tiny_cnn.yaml -o %s/c2 --stop-after 5", test_util_tmp(), test_util_tmp());
    struct test_util_run r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 0);
    test_util_run_free(&r);
    free(args);
    args = ns_asprintf("train %s/tiny_cnn.yaml --resume %s/c2", test_util_tmp(), test_util_tmp());
    r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 0);
    test_util_run_free(&r);
    free(args);
    char *m0 = test_util_tmp_path("c0/model.nsm"), *m1 = test_util_tmp_path("c1/model.nsm");
    char *m2 = test_util_tmp_path("c2/model.nsm");
    CU_ASSERT(test_util_same_file(m0, m1));
    CU_ASSERT(test_util_same_file(m0, m2));
    free(m0);
    free(m1);
    free(m2);
}

/* (b) paused mid-epoch (--stop-after N stops as Ctrl-C does, after N batches) and at an
 * epoch boundary, then resumed: the same bytes as the uninterrupted run a1. */
static void test_resume(void)
{
    /* 240 training samples in batches of 32: 8 batches per epoch. */
    const char *stops[2] = {"11", "16"};
    for (int i = 0; i < 2; i++) {
        char *args = ns_asprintf("train %s/tiny.yaml -o %s/b%d --stop-after %s", test_util_tmp(), test_util_tmp(), i,
                                 stops[i]);
        struct test_util_run r = test_util_netspec(args);
        CU_ASSERT_EQUAL(r.exit_code, 0);
        CU_ASSERT(strstr(r.err, "paused: saved") != NULL);
        CU_ASSERT(strstr(r.err, "resume with: netspec train") != NULL);
        char *man_path = ns_asprintf("%s/b%d/manifest.json", test_util_tmp(), i);
        char *man = test_util_slurp(man_path, NULL);
        CU_ASSERT(strstr(man, "\"status\": \"paused\"") != NULL);
        free(man);
        free(man_path);
        test_util_run_free(&r);
        free(args);
        args = ns_asprintf("train %s/tiny.yaml --resume %s/b%d --threads 1", test_util_tmp(), test_util_tmp(), i);
        r = test_util_netspec(args);
        CU_ASSERT_EQUAL(r.exit_code, 0);
        CU_ASSERT(strstr(r.out, "resuming") != NULL);
        test_util_run_free(&r);
        free(args);
        char *a = test_util_tmp_path("a1/model.nsm");
        char *b = ns_asprintf("%s/b%d/model.nsm", test_util_tmp(), i);
        CU_ASSERT(test_util_same_file(a, b));
        free(a);
        free(b);
        /* metrics.csv holds each epoch once. */
        char *csv_path = ns_asprintf("%s/b%d/metrics.csv", test_util_tmp(), i);
        char *csv = test_util_slurp(csv_path, NULL);
        int lines = 0;
        for (const char *p = csv; *p; p++)
            lines += *p == '\n';
        CU_ASSERT_EQUAL(lines, 4);
        free(csv);
        free(csv_path);
    }
    /* Resuming with another spec is refused. */
    char *args =
        ns_asprintf("train %s/tiny.yaml --set train.epochs=4 --resume %s/b0", test_util_tmp(), test_util_tmp());
    struct test_util_run r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 2);
    CU_ASSERT(strstr(r.err, "is not the spec of the run") != NULL);
    test_util_run_free(&r);
    free(args);
}

/* (c) regression: y = sin(3 x1) + x2 x3 + noise (sd 0.1), x uniform in [-1, 1]^3. The noise
 * puts the floor of the RMSE at 0.1; the best linear model leaves about 0.53 (the curved parts
 * of sin(3 x1) and all of x2 x3), so an RMSE below 0.15 on held-out rows shows that the network
 * learned the nonlinear function; the margin over the floor covers a small model trained
 * briefly (it reaches about 0.103). */
static void test_regression(void)
{
    uint64_t rng = 2024;
    struct ns_buf csv = {0};
    ns_buf_puts(&csv, "x1,x2,x3,y\n");
    for (int i = 0; i < 800; i++) {
        double x1 = 2 * test_util_next_uniform(&rng) - 1, x2 = 2 * test_util_next_uniform(&rng) - 1;
        double x3 = 2 * test_util_next_uniform(&rng) - 1;
        double y = sin(3 * x1) + x2 * x3 + 0.1 * test_util_next_normal(&rng);
        ns_buf_printf(&csv, "%.6f,%.6f,%.6f,%.6f\n", x1, x2, x3, y);
    }
    char *csv_path = test_util_tmp_path("regression.csv");
    test_util_write_text(csv_path, csv.data);
    ns_buf_free(&csv);
    char *spec_path = test_util_tmp_path("regression.yaml");
    test_util_write_text(spec_path, "version: 1\nname: reg\nseed: 11\n"
                                    "data: {format: csv, train: regression.csv, label_column: y, validation: 0.25}\n"
                                    "model:\n  layers:\n"
                                    "    - dense: {units: 32, activation: tanh}\n"
                                    "    - dense: {units: 32, activation: tanh}\n"
                                    "    - dense: {units: 1}\n"
                                    "loss: mse\noptimizer: {type: adam, lr: 0.01}\n"
                                    "schedule: {type: cosine, min_lr: 0.0005}\n"
                                    "train: {epochs: 60, batch_size: 16}\n");
    char *args = ns_asprintf("train %s -o %s/reg", spec_path, test_util_tmp());
    struct test_util_run r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 0);
    CU_ASSERT(strstr(r.out, "val mse") != NULL);
    test_util_run_free(&r);
    free(args);
    args = ns_asprintf("eval %s/reg --split validation --json", test_util_tmp());
    r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 0);
    double rmse = test_util_json_number(r.out, "rmse");
    double mse = test_util_json_number(r.out, "mse");
    CU_ASSERT(rmse < 0.15);
    CU_ASSERT(rmse > 0.05); /* below the noise would mean the held-out rows leaked into training */
    CU_ASSERT_DOUBLE_EQUAL(rmse * rmse, mse, 1e-9);
    printf("\n    regression: validation RMSE %.4f (must be < 0.15; noise floor 0.1) ", rmse);
    test_util_run_free(&r);
    free(args);
    free(csv_path);
    free(spec_path);
}

/* (d) three Gaussian blobs in 4-D, centres 6 standard deviations apart: a linear boundary
 * separates them almost perfectly, so > 90% test accuracy is a low bar a working pipeline
 * always clears. (h) eval's JSON has the keys. The data check refuses changed data. */
static void write_blobs(const char *path, int count, uint64_t seed)
{
    static const double centre[3][4] = {{0, 0, 0, 0}, {3, 3, 0, 0}, {0, 3, 3, -3}};
    uint64_t rng = seed;
    struct ns_buf csv = {0};
    ns_buf_puts(&csv, "f1,f2,f3,f4,kind\n");
    for (int i = 0; i < count; i++) {
        int c = i % 3;
        for (int j = 0; j < 4; j++)
            ns_buf_printf(&csv, "%.5f,", centre[c][j] + 0.5 * test_util_next_normal(&rng));
        ns_buf_printf(&csv, "%d\n", c);
    }
    test_util_write_text(path, csv.data);
    ns_buf_free(&csv);
}

static void test_classification_and_eval(void)
{
    char *train = test_util_tmp_path("blobs-train.csv"), *test = test_util_tmp_path("blobs-test.csv");
    write_blobs(train, 300, 1);
    write_blobs(test, 150, 2);
    char *spec_path = test_util_tmp_path("blobs.yaml");
    test_util_write_text(spec_path,
                         "version: 1\nname: blobs\nseed: 3\n"
                         "data:\n  format: csv\n  train: blobs-train.csv\n  test: blobs-test.csv\n"
                         "  label_column: kind\n  classes: [red, green, blue]\n  validation: 0.2\n"
                         "model:\n  layers:\n    - dense: {units: 8, activation: relu}\n    - dense: {units: auto}\n"
                         "loss: {type: cross_entropy, label_smoothing: 0.05}\n"
                         "optimizer: {type: sgd, lr: 0.05, momentum: 0.9, nesterov: true, weight_decay: 0.0001}\n"
                         "schedule: {type: step, step_size: 5, gamma: 0.5}\n"
                         "train: {epochs: 10, batch_size: 16, early_stopping: {patience: 3, metric: val_accuracy}}\n");
    char *args = ns_asprintf("train %s -o %s/blobs", spec_path, test_util_tmp());
    struct test_util_run r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 0);
    test_util_run_free(&r);
    free(args);

    args = ns_asprintf("eval %s/blobs --json", test_util_tmp());
    r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 0);
    const char *keys[] = {"\"loss\": ", "\"accuracy\": ", "\"per_class\": {", "\"confusion\": [", "\"red\": "};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        CU_ASSERT(strstr(r.out, keys[i]) != NULL);
    double acc = test_util_json_number(r.out, "accuracy");
    CU_ASSERT(acc > 0.9);
    printf("\n    blobs: test accuracy %.4f (must be > 0.9) ", acc);
    CU_ASSERT(test_util_json_number(r.out, "count") == 150);
    test_util_run_free(&r);
    free(args);
    char *saved_path = test_util_tmp_path("blobs/eval_test.json");
    char *saved = test_util_slurp(saved_path, NULL);
    CU_ASSERT(strstr(saved, "\"confusion\": [") != NULL);
    free(saved);
    free(saved_path);

    args = ns_asprintf("eval %s/blobs", test_util_tmp());
    r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 0);
    CU_ASSERT(strstr(r.out, "confusion matrix") != NULL);
    CU_ASSERT(strstr(r.out, "green") != NULL);
    test_util_run_free(&r);
    free(args);

    /* Changed data: refused with exit 3, accepted with --allow-data-change. */
    write_blobs(test, 150, 99);
    args = ns_asprintf("eval %s/blobs", test_util_tmp());
    r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 3);
    CU_ASSERT(strstr(r.err, "changed since training") != NULL);
    CU_ASSERT(strstr(r.err, "--allow-data-change") != NULL);
    test_util_run_free(&r);
    free(args);
    args = ns_asprintf("eval %s/blobs --allow-data-change --json", test_util_tmp());
    r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 0);
    CU_ASSERT(strstr(r.err, "warning") != NULL);
    test_util_run_free(&r);
    free(args);

    /* A damaged model file is a data error. */
    char *model = test_util_tmp_path("blobs/model.nsm");
    FILE *f = fopen(model, "r+b");
    CU_ASSERT_FATAL(f != NULL);
    fseek(f, 40, SEEK_SET);
    fputc(0x5a, f);
    fclose(f);
    args = ns_asprintf("eval %s/blobs --allow-data-change", test_util_tmp());
    r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 3);
    CU_ASSERT(strstr(r.err, "checksum") != NULL);
    test_util_run_free(&r);
    free(args);
    free(model);
    free(train);
    free(test);
    free(spec_path);
}

/* (g) sgd at lr 2 on targets in the millions overflows within the first batches. */
static void test_divergence(void)
{
    struct ns_buf csv = {0};
    ns_buf_puts(&csv, "a,b,y\n");
    uint64_t rng = 5;
    for (int i = 0; i < 64; i++)
        ns_buf_printf(&csv, "%.3f,%.3f,%.1f\n", test_util_next_uniform(&rng), test_util_next_uniform(&rng),
                      1e6 * test_util_next_uniform(&rng));
    char *csv_path = test_util_tmp_path("diverge.csv");
    test_util_write_text(csv_path, csv.data);
    ns_buf_free(&csv);
    char *spec_path = test_util_tmp_path("diverge.yaml");
    test_util_write_text(spec_path, "version: 1\nname: diverge\n"
                                    "data: {format: csv, train: diverge.csv, label_column: y, validation: 0}\n"
                                    "model:\n  layers:\n    - dense: {units: 4}\n    - dense: {units: 1}\n"
                                    "loss: mse\noptimizer: {type: sgd, lr: 2}\ntrain: {epochs: 5, batch_size: 8}\n");
    char *args = ns_asprintf("train %s -o %s/diverge", spec_path, test_util_tmp());
    struct test_util_run r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 4);
    CU_ASSERT(strstr(r.err, "training diverged") != NULL);
    CU_ASSERT(strstr(r.err, "in epoch 1, batch ") != NULL);
    test_util_run_free(&r);
    char *man_path = test_util_tmp_path("diverge/manifest.json");
    char *man = test_util_slurp(man_path, NULL);
    CU_ASSERT(strstr(man, "\"status\": \"diverged\"") != NULL);
    free(man);
    free(man_path);
    free(args);
    free(csv_path);
    free(spec_path);
}

/* ---- issue 9: inputs that are not files, outputs that cannot be written ---- */

/* netspec ARGS from the scratch folder, bounded: a command that waits on a FIFO would hit the
 * timeout (exit 124) instead of hanging the suite. */
static struct test_util_run run_bounded(const char *args)
{
    return test_util_netspec_opts((struct test_util_opts){.cwd = test_util_tmp(), .timeout = 20}, args);
}

static void expect_run(const char *args, int code, const char *message)
{
    struct test_util_run r = run_bounded(args);
    CU_ASSERT_EQUAL(r.exit_code, code);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, message));
    if (r.exit_code != code || !strstr(r.err, message))
        fprintf(stderr, "\n  netspec %s (exit %d, want %d and \"%s\"):\n%s", args, r.exit_code, code, message, r.err);
    test_util_run_free(&r);
}

/* A FIFO or a device where a file is expected is refused at once, never read or waited on. */
static void test_inputs_must_be_files(void)
{
    const char *tmp = test_util_tmp();
    char *fifo = test_util_tmp_path("spec.fifo");
    unlink(fifo);
    CU_ASSERT_EQUAL_FATAL(mkfifo(fifo, 0600), 0);
    expect_run("check spec.fifo", 2, "spec.fifo: error: cannot read spec: not a regular file (a FIFO)");
    expect_run("train spec.fifo -o fifo_run", 2, "spec.fifo: error: cannot read spec: not a regular file (a FIFO)");
    char *child = test_util_tmp_path("extends_fifo.yaml");
    test_util_write_text(child, "version: 1\nextends: spec.fifo\n");
    expect_run("check extends_fifo.yaml", 2,
               "extends_fifo.yaml:2:10: error: extends: cannot read \"spec.fifo\": not a regular file (a FIFO)");
    /* A FIFO as a data file (CSV here; IDX and images in test_data and test_images). */
    char *csv_spec = test_util_tmp_path("csv_fifo.yaml");
    test_util_write_text(csv_spec, "version: 1\ndata: {format: csv, train: spec.fifo, label_column: y}\n"
                                   "model:\n  layers:\n    - dense: {units: auto}\nloss: cross_entropy\n");
    char *want_csv = ns_asprintf("csv_fifo.yaml:2:28: error: cannot open \"%s/spec.fifo\": not a regular file (a FIFO)",
                                 tmp);
    expect_run("check csv_fifo.yaml", 3, want_csv);
    expect_run("train csv_fifo.yaml -o csv_fifo_run", 3, want_csv);
    free(want_csv);
    free(csv_spec);
    /* model.nsm as a link to /dev/zero, then as a FIFO: every command that loads a run. */
    const char *swaps[2] = {"ln -s /dev/zero", "mkfifo"};
    const char *why[2] = {"not a regular file (a device)", "not a regular file (a FIFO)"};
    for (int k = 0; k < 2; k++) {
        char *sh = ns_asprintf("rm -rf %s/odd_nsm && cp -r %s/a1 %s/odd_nsm && rm %s/odd_nsm/model.nsm && %s %s/odd_nsm/model.nsm",
                               tmp, tmp, tmp, tmp, swaps[k], tmp);
        struct test_util_run r = test_util_shell(sh);
        CU_ASSERT_EQUAL_FATAL(r.exit_code, 0);
        test_util_run_free(&r);
        char *want = ns_asprintf("odd_nsm/model.nsm: error: cannot read odd_nsm/model.nsm: %s", why[k]);
        expect_run("eval odd_nsm", 3, want);
        expect_run("predict odd_nsm x.png", 3, want);
        expect_run("emit odd_nsm -o odd_emit", 3, want);
        expect_run("train tiny.yaml --resume odd_nsm", 3, want);
        free(want);
        free(sh);
    }
    /* A model.nsm larger than any model this machine trains (sparse: nothing is written or
     * read), and run files that are not files. */
    const char *odd[3][3] = {
        {"model.nsm", "truncate -s 1T", "error: odd_run/model.nsm has 1099511627776 bytes, more than training can hold "
                                        "in memory here ("},
        {"model.yaml", "mkfifo", "error: cannot read odd_run/model.yaml: not a regular file (a FIFO)"},
        {"spec.resolved.yaml", "mkdir", "error: cannot read odd_run/spec.resolved.yaml: not a regular file (a directory)"},
    };
    for (int k = 0; k < 3; k++) {
        char *sh = ns_asprintf("rm -rf %s/odd_run && cp -r %s/a1 %s/odd_run && rm %s/odd_run/%s && %s %s/odd_run/%s", tmp,
                               tmp, tmp, tmp, odd[k][0], odd[k][1], tmp, odd[k][0]);
        struct test_util_run r = test_util_shell(sh);
        CU_ASSERT_EQUAL_FATAL(r.exit_code, 0);
        test_util_run_free(&r);
        expect_run("eval odd_run", 3, odd[k][2]);
        expect_run("train tiny.yaml --resume odd_run", 3, odd[k][2]);
        free(sh);
    }
    struct stat sb;
    char *emitted = test_util_tmp_path("odd_emit");
    CU_ASSERT(stat(emitted, &sb) != 0);
    free(emitted);
    free(child);
    free(fifo);
}

/* Exit 5 when an output cannot be written; an empty -o is a usage error, not a file error. */
static void test_output_errors(void)
{
    expect_run("train tiny.yaml -o ''", 2, "error: -o needs a directory name, not an empty string");
    expect_run("emit a1 -o ''", 2, "error: -o needs a directory name, not an empty string");
    char *in_way = test_util_tmp_path("in_the_way");
    test_util_write_text(in_way, "a file\n");
    expect_run("train tiny.yaml -o in_the_way", 5, "in_the_way: error: in_the_way exists and is not a directory");
    expect_run("emit a1 -o in_the_way", 5, "in_the_way: error: in_the_way exists and is not a directory");
    expect_run("emit a1 -o in_the_way/sub", 5, "error: cannot create the directory in_the_way/sub: Not a directory");
    /* eval writes RUN/eval_test.json: a directory of that name is in the way. */
    char *blocked = test_util_tmp_path("a1/eval_test.json");
    CU_ASSERT_EQUAL_FATAL(mkdir(blocked, 0777), 0);
    expect_run("eval a1", 5, "error: cannot rename a1/eval_test.json.tmp to a1/eval_test.json: Is a directory");
    rmdir(blocked);
    /* Results on a full standard output. */
    struct stat sb;
    if (stat("/dev/full", &sb) == 0) {
        expect_run("check tiny.yaml > /dev/full", 5, "error: cannot write to standard output: No space left on device");
        expect_run("schema > /dev/full", 5, "error: cannot write the schema to standard output: No space left on device");
    } else {
        fprintf(stderr, "\n  SKIPPED LOUDLY: /dev/full is missing, the full-stdout cases did not run\n");
    }
    free(blocked);
    free(in_way);
}

static bool tmp_exists(const char *name)
{
    char *path = test_util_tmp_path(name);
    struct stat sb;
    bool there = stat(path, &sb) == 0;
    free(path);
    return there;
}

/* What check can see, check refuses, so train refuses it before a run directory exists; what
 * only reading the data shows (a damaged gzip CRC) is still found before the directory is
 * made; and a run that fails writing its first files takes them back. */
static void test_no_dir_for_runs_that_never_started(void)
{
    static const struct {
        const char *set, *message;
        int code;
    } refused[3] = {
        {"data.normalize.mean=[0.1,0.2,0.3]",
         "--set data.normalize.mean=[0.1,0.2,0.3]: error: normalize.mean has 3 values, but the data has 1 channel", 2},
        {"data.normalize.std=1e-300",
         "--set data.normalize.std=1e-300: error: normalize.std value 1e-300 is 0 in single precision", 2},
        {"'model.layers[1]=dense'", "--set model.layers[1]=dense: error: missing required key \"units\" in layer 1 (dense)",
         2},
    };
    for (int i = 0; i < 3; i++) {
        char *check = ns_asprintf("check tiny.yaml --set %s", refused[i].set);
        char *train = ns_asprintf("train tiny.yaml -o never_started --set %s", refused[i].set);
        expect_run(check, refused[i].code, refused[i].message);
        expect_run(train, refused[i].code, refused[i].message);
        CU_ASSERT_FALSE(tmp_exists("never_started"));
        free(check);
        free(train);
    }
    /* Early stopping with a validation fraction that holds out no sample: known once the data
     * is split, which train does before it makes the directory. */
    expect_run("train tiny.yaml -o never_started --set data.validation=0.001 --set train.early_stopping.patience=2", 2,
               "--set train.early_stopping.patience=2: error: early stopping watches the validation set, but the "
               "split leaves it empty (300 training samples)");
    CU_ASSERT_FALSE(tmp_exists("never_started"));
    /* A gzip member whose CRC does not match its data: the header and length agree, so check
     * passes; train reads the pixels, fails, and leaves nothing. */
    char *plain = test_util_tmp_path("tiny-train-images.idx");
    size_t len;
    char *bytes = test_util_slurp(plain, &len);
    char *damaged = test_util_tmp_path("damaged-images.idx.gz");
    test_util_write_gz(damaged, bytes, len);
    free(bytes);
    bytes = test_util_slurp(damaged, &len);
    CU_ASSERT_FATAL(len > 8);
    bytes[len - 8] ^= 0x5a;
    test_util_write_bytes(damaged, bytes, len);
    free(bytes);
    char *spec = test_util_tmp_path("damaged.yaml");
    test_util_write_text(spec, "version: 1\nextends: tiny.yaml\nname: damaged\n"
                               "data: {train: {images: damaged-images.idx.gz}}\n");
    expect_run("check damaged.yaml", 0, "");
    expect_run("train damaged.yaml -o damaged_run", 3, "damaged-images.idx.gz\": incorrect data check");
    CU_ASSERT_FALSE(tmp_exists("damaged_run"));
    /* A directory where model.yaml goes: the run's own spec.resolved.yaml is taken back. */
    char *blocked_dir = test_util_tmp_path("blocked_run");
    char *blocked = test_util_tmp_path("blocked_run/model.yaml");
    CU_ASSERT_EQUAL_FATAL(mkdir(blocked_dir, 0777), 0);
    CU_ASSERT_EQUAL_FATAL(mkdir(blocked, 0777), 0);
    char *old = test_util_tmp_path("blocked_run/spec.resolved.yaml");
    test_util_write_text(old, "# an unfinished run's\n");
    expect_run("train tiny.yaml -o blocked_run", 5, "error: cannot write blocked_run/model.yaml: Is a directory");
    CU_ASSERT_FALSE(tmp_exists("blocked_run/spec.resolved.yaml"));
    CU_ASSERT_TRUE(tmp_exists("blocked_run/model.yaml"));
    free(old);
    free(blocked);
    free(blocked_dir);
    free(spec);
    free(damaged);
    free(plain);
}

static void write_tmp_text(const char *name, const char *text)
{
    char *path = test_util_tmp_path(name);
    test_util_write_text(path, text);
    free(path);
}

/* eval --data on the data of another set, for IDX and CSV runs: the test files given again
 * score what the test split scores; labels outside the run's classes, samples of another
 * shape, the wrong kind of path and option mix-ups are refused with their messages. Needs the
 * runs a1 (idx) and reg (csv regression). */
static void test_eval_other_data(void)
{
    struct test_util_opts in_tmp = {.cwd = test_util_tmp()};
    struct test_util_run r = test_util_netspec_opts(in_tmp, "eval a1 --json");
    CU_ASSERT_EQUAL(r.exit_code, 0);
    double acc = test_util_json_number(r.out, "accuracy"), loss = test_util_json_number(r.out, "loss");
    test_util_run_free(&r);
    r = test_util_netspec_opts(in_tmp, "eval a1 --data tiny-test-images.idx --labels tiny-test-labels.idx.gz --json");
    CU_ASSERT_EQUAL(r.exit_code, 0);
    CU_ASSERT_EQUAL(test_util_json_number(r.out, "count"), 90);
    CU_ASSERT_DOUBLE_EQUAL(test_util_json_number(r.out, "accuracy"), acc, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(test_util_json_number(r.out, "loss"), loss, 1e-12);
    CU_ASSERT(strstr(r.out, "\"data\": \"tiny-test-images.idx\"") != NULL);
    test_util_run_free(&r);

    /* IDX data of four classes for a three-class run, and 4x4 images for an 8x8 model. */
    char *four_i = test_util_tmp_path("four-images.idx"), *four_l = test_util_tmp_path("four-labels.idx");
    CU_ASSERT_FATAL(test_util_save_stripes(four_i, four_l, 40, 4, 9, NULL));
    unsigned char small[16 * 5], labels[5] = {0, 1, 2, 0, 1}, file[256];
    memset(small, 40, sizeof small);
    char *small_i = test_util_tmp_path("small-images.idx");
    size_t n = test_util_make_idx(file, 0x08, 3, (const uint32_t[]){5, 4, 4}, small, sizeof small);
    test_util_write_bytes(small_i, file, n);
    char *small_l = test_util_tmp_path("small-labels.idx");
    n = test_util_make_idx(file, 0x08, 1, (const uint32_t[]){5}, labels, sizeof labels);
    test_util_write_bytes(small_l, file, n);

    /* A three-class CSV run, and a file whose labels go up to 3. */
    char *train_csv = test_util_tmp_path("other-train.csv"), *test_csv = test_util_tmp_path("other-test.csv");
    write_blobs(train_csv, 150, 31);
    write_blobs(test_csv, 60, 32);
    write_tmp_text("other-four.csv", "f1,f2,f3,f4,kind\n1,2,3,4,0\n1,2,3,4,3\n");
    write_tmp_text("other-three-features.csv", "f1,f2,f3,kind\n1,2,3,0\n");
    write_tmp_text("other.yaml",
                   "version: 1\nname: other\nseed: 3\n"
                   "data: {format: csv, train: other-train.csv, test: other-test.csv, label_column: kind}\n"
                   "model:\n  layers:\n    - dense: {units: 8, activation: relu}\n    - dense: {units: auto}\n"
                   "loss: cross_entropy\ntrain: {epochs: 4, batch_size: 16}\n");
    r = test_util_netspec_opts(in_tmp, "train other.yaml -o other");
    CU_ASSERT_EQUAL(r.exit_code, 0);
    test_util_run_free(&r);
    r = test_util_netspec_opts(in_tmp, "eval other --json");
    acc = test_util_json_number(r.out, "accuracy");
    test_util_run_free(&r);
    r = test_util_netspec_opts(in_tmp, "eval other --data other-test.csv --json");
    CU_ASSERT_EQUAL(r.exit_code, 0);
    CU_ASSERT_EQUAL(test_util_json_number(r.out, "count"), 60);
    CU_ASSERT_DOUBLE_EQUAL(test_util_json_number(r.out, "accuracy"), acc, 1e-12);
    test_util_run_free(&r);
    /* Regression: the targets of another file, scored with mse. */
    r = test_util_netspec_opts(in_tmp, "eval reg --data regression.csv --json");
    CU_ASSERT_EQUAL(r.exit_code, 0);
    CU_ASSERT_EQUAL(test_util_json_number(r.out, "count"), 800);
    CU_ASSERT(test_util_json_number(r.out, "rmse") < 0.2);
    test_util_run_free(&r);

    static const struct {
        const char *args, *message;
        int exit_code;
    } refusals[] = {
        {"eval a1 --data four-images.idx --labels four-labels.idx",
         "four-labels.idx: error: 10 labels in \"four-labels.idx\" are outside classes 0..2", 3},
        {"eval a1 --data small-images.idx --labels small-labels.idx",
         "small-images.idx: error: the samples of \"small-images.idx\" are [4, 4, 1] but the model takes [8, 8, 1]\n",
         3},
        {"eval a1 --data tiny-test-images.idx",
         "error: a1 was trained on IDX files: give --data IMAGES --labels LABELS\n", 2},
        {"eval a1 --data . --labels tiny-test-labels.idx.gz",
         ".: error: \".\" is a folder, but a1 was trained on IDX files\n", 3},
        {"eval other --data other-four.csv", "other-four.csv:3:9: error: label 3 in column \"kind\" is outside classes 0..2\n",
         3},
        {"eval other --data other-three-features.csv",
         "other-three-features.csv:1:1: error: no column \"f4\" in \"other-three-features.csv\"\n", 3},
        {"eval other --data other-test.csv --labels x.idx",
         "error: --labels is for idx runs; a csv run reads its label column \"kind\" from --data\n", 2},
        {"eval reg --data .", ".: error: \".\" is a folder, but reg was trained on a CSV file\n", 3},
    };
    for (size_t i = 0; i < sizeof refusals / sizeof *refusals; i++) {
        r = test_util_netspec_opts(in_tmp, refusals[i].args);
        CU_ASSERT_EQUAL(r.exit_code, refusals[i].exit_code);
        bool said = strstr(r.err, refusals[i].message) != NULL;
        CU_ASSERT(said);
        if (!said || r.exit_code != refusals[i].exit_code)
            fprintf(stderr, "\nnetspec %s: exit %d\n%s", refusals[i].args, r.exit_code, r.err);
        test_util_run_free(&r);
    }
    free(four_i);
    free(four_l);
    free(small_i);
    free(small_l);
    free(train_csv);
    free(test_csv);
}

int main(void)
{
    static const struct test_util_case cases[] = {
        {"loss values", test_loss_values},
        {"loss gradients by finite differences", test_loss_gradients},
        {"adam and adamw steps", test_adam_step},
        {"sgd steps", test_sgd_step},
        {"optimizer: same bits on 1, 2 and 3 threads and every ISA", test_optim_threads},
        {"optimizer: vector lanes equal the scalar tail; tiny state flushed to +0", test_optim_lanes_and_flush},
        {"schedules", test_schedules},
        {"train, eval and predict default to a bounded OpenMP spin", test_wait_policy_default},
        {"--isa usage errors", test_isa_usage_errors},
        {"executor gradients through a branch", test_exec_gradients},
        {"relu fused into maxpool's backward: made where it may be, same gradients as without", test_relu_pool_fusion},
        {"checkpoint round trip and checksum", test_checkpoint_roundtrip},
        {"memory plan: reuse in inference, gradients in flight in training", test_memory_plan},
        {"runtime.max_memory stops check and train before any allocation", test_memory_limit},
        {"the memory error points at what dominates", test_memory_blame},
        {"reproducible bytes on 1 and 2 threads", test_reproducible},
        {"interrupt and resume", test_resume},
        {"a run's files are bound together", test_run_binding},
        {"a run whose spec outgrows its model.nsm is refused before allocating", test_run_binding_oversized},
        {"-o refuses a directory that is not a run", test_run_dir_refusals},
        {"reproducible and resumable with conv, batchnorm, add, augment", test_reproducible_cnn},
        {"regression reaches its RMSE", test_regression},
        {"classification, eval JSON and the data check", test_classification_and_eval},
        {"a diverging run stops with exit 4", test_divergence},
        {"inputs that are FIFOs or devices are refused, never read", test_inputs_must_be_files},
        {"outputs that cannot be written exit 5", test_output_errors},
        {"no run directory for a run that never started", test_no_dir_for_runs_that_never_started},
        {"eval --data: IDX and CSV data beside the run's, and what is refused", test_eval_other_data},
    };
    return test_util_main("train", suite_init, test_util_tmp_clean, cases, sizeof cases / sizeof *cases);
}
