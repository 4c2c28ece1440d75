/* What scripts and long runs rely on: `check --json`, the event lines of `train --json`, the
 * --set an option named like a spec key points at, and early stopping's kept weights
 * (best.nsm, restore_best, and a resume that ends with the same bytes). Everything runs the
 * built binary on small CSV files the suite writes, so each case takes well under a second. */
#include <CUnit/Basic.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ns_util.h"

#include "test_util.h"

/* ---- data and specs ---- */

/* 200 rows of 10 uniform features with labels that do not depend on them: a network that
 * fits the training rows gets worse on the validation rows after a few epochs, so early
 * stopping fires with a best epoch before the last. */
static bool save_noise(const char *path)
{
    uint64_t state = 2024;
    struct ns_buf b = {0};
    for (int f = 0; f < 10; f++)
        ns_buf_printf(&b, "f%d,", f);
    ns_buf_puts(&b, "label\n");
    for (int r = 0; r < 200; r++) {
        for (int f = 0; f < 10; f++)
            ns_buf_printf(&b, "%.3f,", test_util_next_uniform(&state));
        ns_buf_printf(&b, "%d\n", (int)(test_util_next_uniform(&state) * 3));
    }
    bool ok = test_util_save_text(path, b.data);
    ns_buf_free(&b);
    return ok;
}

/* 64 pixel columns of 8x8 images: class c lights rows 2c and 2c+1. */
static bool save_pixels(const char *path)
{
    uint64_t state = 7;
    struct ns_buf b = {0};
    for (int p = 0; p < 64; p++)
        ns_buf_printf(&b, "p%d,", p);
    ns_buf_puts(&b, "label\n");
    for (int r = 0; r < 60; r++) {
        int c = r % 3;
        for (int p = 0; p < 64; p++)
            ns_buf_printf(&b, "%.2f,", 0.2 * test_util_next_uniform(&state) + (p / 8 / 2 == c ? 0.8 : 0.0));
        ns_buf_printf(&b, "%d\n", c);
    }
    bool ok = test_util_save_text(path, b.data);
    ns_buf_free(&b);
    return ok;
}

static const char early_spec[] =
    "version: 1\n"
    "data:\n"
    "  format: csv\n"
    "  train: noise.csv\n"
    "  label_column: label\n"
    "  validation: 0.3\n"
    "model:\n"
    "  layers:\n"
    "    - dense: {units: 64, activation: relu}\n"
    "    - dense: {units: auto}\n"
    "loss: cross_entropy\n"
    "optimizer: {type: adam, lr: 0.05}\n"
    "train: {epochs: 30, batch_size: 16, early_stopping: {patience: 3}}\n";

static const char pixels_spec[] =
    "version: 1\n"
    "name: pixels\n"
    "data:\n"
    "  format: csv\n"
    "  train: pixels.csv\n"
    "  label_column: label\n"
    "model:\n"
    "  layers:\n"
    "    - reshape: {shape: [8, 8, 1]}\n"
    "    - conv2d: {filters: 4, kernel: 3, activation: relu, name: features}\n"
    "    - global_avgpool2d\n"
    "    - dense: {units: auto}\n"
    "loss: cross_entropy\n"
    "train: {batch_size: 16}\n";

static int suite_init(void)
{
    if (test_util_tmp_init("cli") != 0)
        return 1;
    char *noise = test_util_tmp_path("noise.csv"), *pixels = test_util_tmp_path("pixels.csv");
    char *early = test_util_tmp_path("early.yaml"), *pix = test_util_tmp_path("pixels.yaml");
    bool ok = save_noise(noise) && save_pixels(pixels) && test_util_save_text(early, early_spec)
              && test_util_save_text(pix, pixels_spec);
    free(noise);
    free(pixels);
    free(early);
    free(pix);
    return ok ? 0 : 1;
}

/* `netspec ARGS` run in the suite's folder. */
static struct test_util_run run_here(const char *args)
{
    return test_util_netspec_opts((struct test_util_opts){.cwd = test_util_tmp()}, args);
}

static void expect_in(const char *text, const char *want, const char *what)
{
    bool found = strstr(text, want) != NULL;
    if (!found)
        fprintf(stderr, "\n  %s lacks: %s\n  it is: %s\n", what, want, text);
    CU_ASSERT(found);
}

static char *tmp_file_text(const char *name)
{
    char *path = test_util_tmp_path(name);
    char *text = test_util_slurp(path, NULL);
    free(path);
    return text;
}

/* The text after `"KEY": ` up to the next ',' or '}' ("" when absent): numbers compared as
 * written, so two reports of one double agree digit for digit. */
static char *json_raw(const char *json, const char *key)
{
    char *pat = ns_asprintf("\"%s\": ", key);
    const char *at = strstr(json, pat);
    char *out = ns_xstrdup("");
    if (at) {
        at += strlen(pat);
        size_t n = strcspn(at, ",}\n");
        free(out);
        out = ns_xstrndup(at, n);
    }
    free(pat);
    return out;
}

/* ---- check --json ---- */

static void test_check_json(void)
{
    struct test_util_run r = run_here("check pixels.yaml --json");
    CU_ASSERT_EQUAL(r.exit_code, 0);
    CU_ASSERT_STRING_EQUAL(r.err, "");
    CU_ASSERT_EQUAL(strncmp(r.out, "{\n  \"name\": \"pixels\",\n  \"spec\": \"pixels.yaml\",\n  \"valid\": true,\n", 63), 0);
    expect_in(r.out,
              "\"data\": {\"format\": \"csv\", \"task\": \"classification\", \"input\": [64], \"classes\": 3, "
              "\"samples\": 60, \"summary\": \"csv, 60 training rows, 64 features, 3 classes\"},",
              "check --json");
    expect_in(r.out,
              "\"layers\": [\n"
              "    {\"index\": 0, \"name\": \"reshape0\", \"op\": \"reshape\", \"activation\": \"linear\", "
              "\"inputs\": [\"input\"], \"output\": [8, 8, 1], \"params\": 0, \"flops\": 0},\n"
              "    {\"index\": 1, \"name\": \"features\", \"op\": \"conv2d\", \"activation\": \"relu\", "
              "\"inputs\": [\"reshape0\"], \"output\": [6, 6, 4], \"params\": 40, \"flops\": 2880},\n",
              "check --json");
    expect_in(r.out, "\"inputs\": [\"features\"], \"output\": [4], \"params\": 0, \"flops\": 144}", "check --json");
    expect_in(r.out, "\n  ],\n  \"input\": [64],\n  \"output\": [3],\n  \"params\": 55,\n  \"flops\": 3051,\n",
              "check --json");
    expect_in(r.out, "\"batch_size\": 16}\n}\n", "check --json");
    CU_ASSERT(test_util_json_number(r.out, "bytes") > 0);
    CU_ASSERT(test_util_json_number(r.out, "limit") >= test_util_json_number(r.out, "bytes"));
    test_util_run_free(&r);

    /* Refused: nothing on stdout, the located error on stderr, the exit status of its kind. */
    r = run_here("check pixels.yaml --json --set model.layers[0].shape=[8,8,2]");
    CU_ASSERT_EQUAL(r.exit_code, 2);
    CU_ASSERT_STRING_EQUAL(r.out, "");
    expect_in(r.err, "error: layer 0 (reshape): shape [8, 8, 2] holds 128 values, but its input [64] holds 64",
              "a refused check --json");
    test_util_run_free(&r);
}

/* ---- an option named like a spec key ---- */

static void test_option_suggests_set(void)
{
    static const struct {
        const char *args, *error, *hint;
    } cases[] = {
        {"train early.yaml --epochs 3", "netspec: error: unknown option \"--epochs\"",
         "spec values are set with --set PATH=VALUE: did you mean --set train.epochs=3?"},
        {"check early.yaml --lr=0.1", "netspec: error: unknown option \"--lr=0.1\"", "did you mean --set optimizer.lr=0.1?"},
        {"check early.yaml --batch-size 8", "unknown option \"--batch-size\"", "did you mean --set train.batch_size=8?"},
        {"resolve early.yaml --epoch 2", "unknown option \"--epoch\"", "did you mean --set train.epochs=2?"},
        {"check early.yaml --loss mse", "unknown option \"--loss\"", "did you mean --set loss=mse?"},
        {"check early.yaml --threads", "unknown option \"--threads\"", "did you mean --set runtime.threads=VALUE?"},
        {"check early.yaml --validation 0.2", "unknown option \"--validation\"",
         "did you mean --set data.validation=0.2 or --set data.split.validation=0.2?"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct test_util_run r = run_here(cases[i].args);
        CU_ASSERT_EQUAL(r.exit_code, 2);
        expect_in(r.err, cases[i].error, cases[i].args);
        expect_in(r.err, cases[i].hint, cases[i].args);
        test_util_run_free(&r);
    }
    /* Not a spec key: the plain usage error. */
    struct test_util_run r = run_here("check early.yaml --frobnicate");
    CU_ASSERT_EQUAL(r.exit_code, 2);
    expect_in(r.err, "unknown option \"--frobnicate\"", "--frobnicate");
    CU_ASSERT_PTR_NULL(strstr(r.err, "did you mean"));
    test_util_run_free(&r);
}

/* ---- train --json and early stopping ---- */

struct events {
    size_t count, epochs;
    char *start, *end, *last_epoch;
};

/* Splits stdout into its event lines; every line must be one object. */
static void read_events(const char *out, struct events *ev)
{
    memset(ev, 0, sizeof *ev);
    for (const char *line = out; *line;) {
        const char *nl = strchr(line, '\n');
        CU_ASSERT_PTR_NOT_NULL_FATAL(nl);
        char *text = ns_xstrndup(line, (size_t)(nl - line));
        bool object = text[0] == '{' && text[strlen(text) - 1] == '}' && !strncmp(text, "{\"event\": \"", 11);
        if (!object)
            fprintf(stderr, "\n  not an event line: %s\n", text);
        CU_ASSERT(object);
        char **slot = NULL;
        if (!strncmp(text + 11, "start\"", 6)) {
            CU_ASSERT_EQUAL(ev->count, 0);
            slot = &ev->start;
        } else if (!strncmp(text + 11, "epoch\"", 6)) {
            ev->epochs++;
            slot = &ev->last_epoch;
        } else if (!strncmp(text + 11, "end\"", 4)) {
            slot = &ev->end;
        }
        CU_ASSERT_PTR_NOT_NULL(slot);
        if (slot) {
            free(*slot);
            *slot = text;
        } else {
            free(text);
        }
        ev->count++;
        line = nl + 1;
    }
}

static void events_free(struct events *ev)
{
    free(ev->start);
    free(ev->end);
    free(ev->last_epoch);
}

/* The weights of the best epoch end the run: eval on the validation split reports the loss
 * that epoch had; with restore_best: false, the last epoch's. */
static void test_train_json_early_stopping(void)
{
    struct test_util_run r = run_here("train early.yaml -o best --json");
    CU_ASSERT_EQUAL_FATAL(r.exit_code, 0);
    struct events ev;
    read_events(r.out, &ev);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ev.start);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ev.end);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ev.last_epoch);
    expect_in(ev.start, "{\"event\": \"start\", \"name\": \"early\", \"run\": \"best\", \"resumed\": false, \"epoch\": 1, "
                        "\"batch\": 0, \"epochs\": 30, \"parameters\": 899, \"train\": 141, \"validation\": 59, \"test\": 0",
              "the start event");
    expect_in(ev.end, "{\"event\": \"end\", \"status\": \"complete\", \"exit\": 0, \"run\": \"best\", ", "the end event");
    expect_in(ev.end, "\"stopped_early\": true", "the end event");
    int best = (int)test_util_json_number(ev.end, "best_epoch");
    int trained = (int)test_util_json_number(ev.end, "epochs");
    /* The data is made so that the run stops early, after a best epoch that is not the last. */
    CU_ASSERT(best >= 1 && best < trained && trained < 30);
    CU_ASSERT_EQUAL((size_t)trained, ev.epochs);
    CU_ASSERT_EQUAL(test_util_json_number(ev.end, "weights_epoch"), best);
    CU_ASSERT_EQUAL(test_util_json_number(ev.last_epoch, "restored_epoch"), best);
    expect_in(ev.last_epoch, "\"stopping_early\": true", "the last epoch event");
    /* People's lines go to stderr. */
    expect_in(r.err, "epoch  1/30  train loss", "stderr");
    char *restored = ns_asprintf("early stopping: model.nsm holds the weights of epoch %d, the best (restore_best)", best);
    expect_in(r.err, restored, "stderr");
    free(restored);
    expect_in(r.err, "run: best\n", "stderr");
    CU_ASSERT_PTR_NULL(strstr(r.out, "epoch  1/30"));
    events_free(&ev);
    test_util_run_free(&r);

    char *summary = tmp_file_text("best/summary.json");
    char *best_loss = json_raw(summary, "best");
    CU_ASSERT_EQUAL(test_util_json_number(summary, "weights_epoch"), best);
    struct test_util_run e = run_here("eval best --split validation --json");
    CU_ASSERT_EQUAL(e.exit_code, 0);
    char *eval_loss = json_raw(e.out, "loss");
    CU_ASSERT(best_loss[0] != '\0');
    CU_ASSERT_STRING_EQUAL(eval_loss, best_loss);
    free(eval_loss);
    test_util_run_free(&e);
    char *best_path = test_util_tmp_path("best/best.nsm");
    CU_ASSERT_EQUAL(access(best_path, R_OK), 0);
    free(best_path);

    /* restore_best: false keeps the last epoch's weights; best.nsm still has the best's. */
    r = run_here("train early.yaml -o last --set train.early_stopping.restore_best=false");
    CU_ASSERT_EQUAL(r.exit_code, 0);
    CU_ASSERT_PTR_NULL(strstr(r.out, "model.nsm holds the weights of epoch"));
    test_util_run_free(&r);
    char *last_summary = tmp_file_text("last/summary.json");
    CU_ASSERT_EQUAL(test_util_json_number(last_summary, "weights_epoch"), trained);
    char *final_val = json_raw(strstr(last_summary, "\"final\"") ? strstr(last_summary, "\"final\"") : "", "val_loss");
    e = run_here("eval last --split validation --json");
    eval_loss = json_raw(e.out, "loss");
    CU_ASSERT(final_val[0] != '\0');
    CU_ASSERT_STRING_EQUAL(eval_loss, final_val);
    CU_ASSERT_STRING_NOT_EQUAL(eval_loss, best_loss);
    free(eval_loss);
    test_util_run_free(&e);
    free(final_val);
    free(last_summary);
    free(best_loss);
    free(summary);
}

/* Paused after the best epoch and resumed, the run reads the best weights back from best.nsm
 * and ends with the bytes of the uninterrupted run; without best.nsm it refuses at once. */
static void test_early_stopping_resume(void)
{
    /* 141 training rows at 16 a batch: 9 batches an epoch, so 40 batches end in epoch 5. */
    struct test_util_run r = run_here("train early.yaml -o paused --stop-after 40 --json");
    CU_ASSERT_EQUAL(r.exit_code, 0);
    expect_in(r.out, "{\"event\": \"end\", \"status\": \"paused\", \"exit\": 0, \"run\": \"paused\", \"epochs\": 4, ",
              "a paused run's end event");
    expect_in(r.out, "\"resume\": \"netspec train early.yaml --resume paused\"}\n", "a paused run's end event");
    test_util_run_free(&r);
    char *model = test_util_tmp_path("paused/model.nsm"), *model_then = test_util_tmp_path("paused-model.nsm");
    size_t len = 0;
    char *bytes = test_util_slurp(model, &len);
    CU_ASSERT(len > 0);
    test_util_write_bytes(model_then, bytes, len);
    free(bytes);
    char *best = test_util_tmp_path("paused/best.nsm"), *kept = test_util_tmp_path("best.nsm.kept");
    CU_ASSERT_EQUAL_FATAL(rename(best, kept), 0);
    r = run_here("train early.yaml --resume paused");
    CU_ASSERT_EQUAL(r.exit_code, 3);
    expect_in(r.err, "paused/best.nsm: error: paused/best.nsm is missing: it holds the checkpoint of epoch",
              "a resume without best.nsm");
    expect_in(r.err, "restore the run's best.nsm, or train the run again", "a resume without best.nsm");
    test_util_run_free(&r);
    /* Nothing was trained: model.nsm is as the pause left it. */
    CU_ASSERT(test_util_same_file(model, model_then));
    CU_ASSERT_EQUAL_FATAL(rename(kept, best), 0);
    r = run_here("train early.yaml --resume paused");
    CU_ASSERT_EQUAL(r.exit_code, 0);
    expect_in(r.out, "early stopping: model.nsm holds the weights of epoch", "the resumed run");
    test_util_run_free(&r);
    char *a = test_util_tmp_path("best/model.nsm"), *b = test_util_tmp_path("paused/model.nsm");
    CU_ASSERT(test_util_same_file(a, b));
    free(a);
    free(b);
    free(best);
    free(kept);
    free(model);
    free(model_then);
}

static void test_train_json_failures(void)
{
    /* A run that never opens still ends with an event: the script learns the exit status. */
    struct test_util_run r = run_here("train missing.yaml --json");
    CU_ASSERT_NOT_EQUAL(r.exit_code, 0);
    char *want = ns_asprintf("{\"event\": \"end\", \"status\": \"failed\", \"exit\": %d, \"run\": null, \"test\": null}\n",
                             r.exit_code);
    CU_ASSERT_STRING_EQUAL(r.out, want);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "missing.yaml"));
    free(want);
    test_util_run_free(&r);
    /* A usage error: the command never started, so no event. */
    r = run_here("train --json");
    CU_ASSERT_EQUAL(r.exit_code, 2);
    CU_ASSERT_STRING_EQUAL(r.out, "");
    test_util_run_free(&r);
}

int main(void)
{
    static const struct test_util_case cases[] = {
        {"check --json: the layer table and the data summary", test_check_json},
        {"an option named like a spec key points at --set", test_option_suggests_set},
        {"train --json events; early stopping ends with the best weights", test_train_json_early_stopping},
        {"early stopping resumes from best.nsm to the same bytes", test_early_stopping_resume},
        {"train --json ends with an event when the run fails", test_train_json_failures},
    };
    return test_util_main("cli", suite_init, test_util_tmp_clean, cases, sizeof cases / sizeof *cases);
}
