/* Image folders end to end, through the `netspec` binary: a CNN trained on PNG shapes this
 * program draws reaches a test accuracy far above chance; 1 and 2 threads give the same
 * model.nsm bytes with hflip and random_crop on; `netspec predict` prints what the model
 * says (JSON, text, a list on stdin, unreadable files reported with exit 3); on_error skip
 * counts a truncated PNG and fail reports it. With Fashion-MNIST installed, predict on PNGs
 * of validation images gives, image for image, the class and probability of eval's path
 * (batchnorm in inference mode, dropout off) and the same accuracy as `netspec eval`.
 * No timing is asserted. */
#include <CUnit/Basic.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb_image_write.h>
#include <zlib.h>

#include "model/model.h"
#include "core/ns_ctx.h"
#include "core/ns_util.h"
#include "data/data_folder.h"
#include "data/data_load.h"
#include "graph/graph.h"
#include "kernels/activation.h"
#include "runtime/exec.h"
#include "train/trainset.h"

#include "test_util.h"

static int suite_init(void)
{
    return test_util_tmp_init("images");
}

/* ---- a folder of drawn shapes ---- */

enum { SIDE = 24, CLASSES = 4 };
/* Sorted, so the folder order is this order; each shape is its own mirror image, so hflip
 * keeps the label true. */
static const char *const shape_names[CLASSES] = {"cross", "disc", "frame", "plus"};

/* One grey SIDE x SIDE image of shape `kind` (210 on 30) at a random place and size, with
 * uniform noise of +-60 on every pixel. */
static void draw_shape(int kind, uint64_t *rng, unsigned char *px /* (SIDE, SIDE) */)
{
    const double noise = 60;
    double cx = 9.5 + 5 * test_util_next_uniform(rng);
    double cy = 9.5 + 5 * test_util_next_uniform(rng);
    double r = 5 + 3 * test_util_next_uniform(rng);
    for (int y = 0; y < SIDE; y++) {
        for (int x = 0; x < SIDE; x++) {
            double dx = x - cx, dy = y - cy;
            double ax = fabs(dx), ay = fabs(dy), box = ax > ay ? ax : ay;
            bool on = false;
            switch (kind) {
            case 0: /* cross: both diagonals */
                on = box <= r && (fabs(dx - dy) <= 1.3 || fabs(dx + dy) <= 1.3);
                break;
            case 1: /* disc: filled */
                on = dx * dx + dy * dy <= r * r;
                break;
            case 2: /* frame: a square's outline */
                on = box <= r && box >= r - 1.6;
                break;
            case 3: /* plus */
                on = (ax <= 1 && ay <= r) || (ay <= 1 && ax <= r);
                break;
            }
            double v = (on ? 210 : 30) + noise * (2 * test_util_next_uniform(rng) - 1);
            px[y * SIDE + x] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
}

/* ROOT/CLASS/CLASS_NNN.png, per_class images of each class. */
static void write_shapes(const char *root, int per_class, uint64_t seed)
{
    uint64_t rng = seed;
    unsigned char px[SIDE * SIDE];
    CU_ASSERT_FATAL(mkdir(root, 0755) == 0);
    for (int c = 0; c < CLASSES; c++) {
        char *dir = ns_asprintf("%s/%s", root, shape_names[c]);
        CU_ASSERT_FATAL(mkdir(dir, 0755) == 0);
        for (int i = 0; i < per_class; i++) {
            draw_shape(c, &rng, px);
            char *path = ns_asprintf("%s/%s_%03d.png", dir, shape_names[c], i);
            CU_ASSERT_FATAL(stbi_write_png(path, SIDE, SIDE, 1, px, SIDE) != 0);
            free(path);
        }
        free(dir);
    }
}

/* runtime.threads 1: beside other test programs on two cores, layers this small lose most of
 * their time in OpenMP barriers; --threads 2 is given where the thread count is the point. */
static char *shapes_spec(const char *root, const char *on_error, int epochs)
{
    return ns_asprintf("version: 1\nname: shapes\nseed: 11\n"
                       "data:\n  format: image_folder\n  root: %s\n"
                       "  image: {size: [%d, %d], channels: 1}\n"
                       "  split: {train: 0.7, validation: 0.1, test: 0.2}\n"
                       "  on_error: %s\n"
                       "  normalize: {scale: 0.00392156862745098, mean: 0.25, std: 0.3}\n"
                       "  augment: {hflip: true, random_crop: 2}\n"
                       "model:\n  layers:\n"
                       "    - conv2d: {filters: 8, kernel: 3, padding: same, activation: relu}\n"
                       "    - maxpool2d: {size: 2}\n"
                       "    - conv2d: {filters: 16, kernel: 3, padding: same, activation: relu}\n"
                       "    - global_avgpool2d\n"
                       "    - dense: {units: auto}\n"
                       "loss: cross_entropy\noptimizer: {type: adam, lr: 0.01}\n"
                       "train: {epochs: %d, batch_size: 16}\nruntime: {threads: 1}\n",
                       root, SIDE, SIDE, on_error, epochs);
}

/* ---- predict's JSON ---- */

struct prediction {
    char *file;
    int top_count;
    char *classes[4];
    double probability[4];
};

/* Parses `[{"file": F, "top": [{"class": C, "probability": P}, ...]}, ...]` as predict writes
 * it (no escapes in the names used here). Returns the entries found; -1 when malformed. */
static int parse_predictions(const char *json, struct prediction *out, int cap)
{
    const char *p = json;
    while (*p == ' ' || *p == '\n')
        p++;
    if (*p != '[')
        return -1;
    int n = 0;
    while ((p = strstr(p, "{\"file\": \"")) && n < cap) {
        p += 10;
        const char *end = strchr(p, '"');
        if (!end)
            return -1;
        struct prediction *e = &out[n];
        memset(e, 0, sizeof *e);
        e->file = ns_xstrndup(p, (size_t)(end - p));
        p = strstr(end, "\"top\": [");
        if (!p)
            return -1;
        const char *close = strchr(p, ']');
        const char *q = p;
        while ((q = strstr(q, "{\"class\": \"")) && q < close && e->top_count < 4) {
            q += 11;
            const char *qe = strchr(q, '"');
            e->classes[e->top_count] = ns_xstrndup(q, (size_t)(qe - q));
            const char *num = strstr(qe, "\"probability\": ");
            if (!num)
                return -1;
            e->probability[e->top_count++] = strtod(num + 15, NULL);
            q = qe;
        }
        p = close;
        n++;
    }
    return n;
}

static void predictions_free(struct prediction *e, int n)
{
    for (int i = 0; i < n; i++) {
        free(e[i].file);
        for (int j = 0; j < e[i].top_count; j++)
            free(e[i].classes[j]);
    }
}

/* ---- tests ---- */

/* Trains on 4 x 40 shapes (112 train, 16 validation, 32 test images) on 2 threads and on 1.
 * Chance is 25%; the run must reach at least 80% on the test split, eval must agree with
 * the training summary, and the two model.nsm files must be the same bytes. */
static void test_train_shapes(void)
{
    char *root = test_util_tmp_path("shapes");
    write_shapes(root, 40, 1);
    char *spec_path = test_util_tmp_path("shapes.yaml");
    char *spec = shapes_spec(root, "fail", 12);
    test_util_write_text(spec_path, spec);
    free(spec);

    char *args = ns_asprintf("train %s -o %s/run2 --threads 2", spec_path, test_util_tmp());
    struct test_util_run r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 0);
    if (r.exit_code)
        fprintf(stderr, "\n%s%s", r.out, r.err);
    CU_ASSERT(strstr(r.out, "112 training, 16 validation, 32 test samples") != NULL);
    test_util_run_free(&r);
    free(args);
    char *summary_path = test_util_tmp_path("run2/summary.json");
    char *summary = test_util_slurp(summary_path, NULL);
    const char *test = strstr(summary, "\"test\": ");
    double acc = test ? test_util_json_number(test, "accuracy") : NAN;
    printf("\n    shapes: test accuracy %.4f on 32 images (must be >= 0.80; chance 0.25) ", acc);
    CU_ASSERT(acc >= 0.80);
    free(summary);
    free(summary_path);

    args = ns_asprintf("eval %s/run2 --json", test_util_tmp());
    r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 0);
    CU_ASSERT_DOUBLE_EQUAL(test_util_json_number(r.out, "accuracy"), acc, 1e-12);
    CU_ASSERT(strstr(r.out, "\"frame\": ") != NULL);
    test_util_run_free(&r);
    free(args);

    args = ns_asprintf("train %s -o %s/run1 --threads 1", spec_path, test_util_tmp());
    r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 0);
    test_util_run_free(&r);
    free(args);
    char *m1 = test_util_tmp_path("run1/model.nsm"), *m2 = test_util_tmp_path("run2/model.nsm");
    CU_ASSERT(test_util_same_file(m1, m2));
    free(m1);
    free(m2);
    free(spec_path);
    free(root);
}

/* Four new shapes from the training distribution, one per class: JSON with every file in order, --top 2 entries
 * ranked, probabilities in [0, 1]; the text form from a list on stdin; an unreadable file
 * among readable ones. Needs run2 from test_train_shapes. */
static void test_predict(void)
{
    char *probe_dir = test_util_tmp_path("probe");
    CU_ASSERT_FATAL(mkdir(probe_dir, 0755) == 0);
    unsigned char px[SIDE * SIDE];
    uint64_t rng = 99;
    struct ns_buf files = {0}, list = {0};
    for (int c = 0; c < CLASSES; c++) {
        draw_shape(c, &rng, px);
        char *path = ns_asprintf("%s/%s.png", probe_dir, shape_names[c]);
        CU_ASSERT_FATAL(stbi_write_png(path, SIDE, SIDE, 1, px, SIDE) != 0);
        ns_buf_printf(&files, " %s", path);
        ns_buf_printf(&list, "%s\n", path);
        free(path);
    }
    /* The run keeps what predict needs (model.yaml): its training images may be gone. */
    char *data_root = test_util_tmp_path("shapes"), *moved_root = test_util_tmp_path("shapes_moved");
    CU_ASSERT_FATAL(rename(data_root, moved_root) == 0);
    char *args = ns_asprintf("predict %s/run2%s --json --top 2", test_util_tmp(), files.data);
    struct test_util_run r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 0);
    CU_ASSERT_FATAL(rename(moved_root, data_root) == 0);
    free(data_root);
    free(moved_root);
    struct prediction pred[8];
    int n = parse_predictions(r.out, pred, 8);
    CU_ASSERT_EQUAL_FATAL(n, CLASSES);
    int right = 0;
    for (int c = 0; c < n; c++) {
        char *want = ns_asprintf("%s/%s.png", probe_dir, shape_names[c]);
        CU_ASSERT_STRING_EQUAL(pred[c].file, want);
        free(want);
        CU_ASSERT_EQUAL(pred[c].top_count, 2);
        CU_ASSERT(pred[c].probability[0] >= pred[c].probability[1]);
        CU_ASSERT(pred[c].probability[0] <= 1 && pred[c].probability[1] >= 0);
        CU_ASSERT(pred[c].probability[0] + pred[c].probability[1] <= 1 + 1e-9);
        CU_ASSERT(strcmp(pred[c].classes[0], pred[c].classes[1]) != 0);
        right += !strcmp(pred[c].classes[0], shape_names[c]);
    }
    printf("\n    predict: %d of %d new shapes right (must be >= 3) ", right, n);
    CU_ASSERT(right >= 3);
    test_util_run_free(&r);
    free(args);

    /* The same files from a list on stdin, as text: each file, then its classes. */
    char *list_path = test_util_tmp_path("list.txt");
    test_util_write_text(list_path, list.data);
    args = ns_asprintf("predict %s/run2 - --top 1", test_util_tmp());
    r = test_util_netspec_opts((struct test_util_opts){.input = list_path}, args);
    CU_ASSERT_EQUAL(r.exit_code, 0);
    for (int c = 0; c < n; c++) {
        char *want = ns_asprintf("%s/%s.png\n  %s", probe_dir, shape_names[c], pred[c].classes[0]);
        CU_ASSERT(strstr(r.out, want) != NULL);
        free(want);
    }
    CU_ASSERT(strstr(r.out, "%\n") != NULL);
    test_util_run_free(&r);
    free(args);
    predictions_free(pred, n);

    /* An unreadable file: reported with its path, exit 3; the readable ones still printed. */
    char *bad = test_util_tmp_path("probe/not_an_image.png");
    test_util_write_text(bad, "this is not a PNG\n");
    args = ns_asprintf("predict %s/run2 %s/disc.png %s %s/plus.png --json --top 1", test_util_tmp(), probe_dir, bad,
                       probe_dir);
    r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 3);
    CU_ASSERT(strstr(r.err, "not_an_image.png") != NULL);
    n = parse_predictions(r.out, pred, 8);
    CU_ASSERT_EQUAL(n, 2);
    if (n == 2) {
        CU_ASSERT(strstr(pred[0].file, "disc.png") != NULL);
        CU_ASSERT(strstr(pred[1].file, "plus.png") != NULL);
    }
    predictions_free(pred, n > 0 ? n : 0);
    test_util_run_free(&r);
    free(args);

    /* Usage errors: no files, a bad --top, not a run directory. */
    args = ns_asprintf("predict %s/run2", test_util_tmp());
    r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 2);
    test_util_run_free(&r);
    free(args);
    args = ns_asprintf("predict %s/run2 %s --top 0", test_util_tmp(), bad);
    r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 2);
    CU_ASSERT(strstr(r.err, "--top") != NULL);
    test_util_run_free(&r);
    free(args);
    args = ns_asprintf("predict %s %s", probe_dir, bad);
    r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 2);
    CU_ASSERT(strstr(r.err, "not a run directory") != NULL);
    test_util_run_free(&r);
    free(args);

    free(bad);
    free(list_path);
    ns_buf_free(&files);
    ns_buf_free(&list);
    free(probe_dir);
}

/* A PNG cut in half keeps its header (stbi_info reads it) but does not decode: on_error fail
 * names it with exit 3; skip leaves it out, and the data layer counts it. */
static void test_truncated_png(void)
{
    char *root = test_util_tmp_path("broken");
    write_shapes(root, 6, 7);
    char *good = ns_asprintf("%s/disc/disc_000.png", root);
    size_t len;
    char *bytes = test_util_slurp(good, &len);
    CU_ASSERT_FATAL(len > 100);
    char *cut = ns_asprintf("%s/disc/zz_truncated.png", root);
    FILE *f = fopen(cut, "wb");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT(fwrite(bytes, 1, len / 2, f) == len / 2);
    fclose(f);
    free(bytes);

    char *spec_path = test_util_tmp_path("broken_fail.yaml");
    char *spec = shapes_spec(root, "fail", 1);
    test_util_write_text(spec_path, spec);
    free(spec);
    char *args = ns_asprintf("train %s -o %s/broken_fail", spec_path, test_util_tmp());
    struct test_util_run r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 3);
    CU_ASSERT(strstr(r.err, "zz_truncated.png") != NULL);
    test_util_run_free(&r);
    free(args);
    free(spec_path);

    spec_path = test_util_tmp_path("broken_skip.yaml");
    spec = shapes_spec(root, "skip", 1);
    test_util_write_text(spec_path, spec);
    free(spec);
    args = ns_asprintf("train %s -o %s/broken_skip", spec_path, test_util_tmp());
    r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 0);
    /* 24 readable images of the 25 files. */
    int train_n = -1, val_n = -1, test_n = -1;
    const char *at = strstr(r.out, "parameters; ");
    if (at)
        sscanf(at, "parameters; %d training, %d validation, %d test", &train_n, &val_n, &test_n);
    CU_ASSERT_EQUAL(train_n + val_n + test_n, 24);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "skipped 1 unreadable image (data.on_error: skip)"));
    test_util_run_free(&r);
    free(args);

    /* The count itself, from the loader train uses. */
    struct ns_ctx ctx;
    ns_ctx_init(&ctx);
    struct spec *s = spec_load(&ctx, op_catalog(), spec_path, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    struct data_load dl;
    CU_ASSERT(data_load_spec(&ctx.diag, s, 1, &dl));
    CU_ASSERT_EQUAL(dl.skipped, 1);
    CU_ASSERT_EQUAL(dl.train.count + dl.validation.count + dl.test.count, 24);
    data_load_free(&dl);
    ns_ctx_free(&ctx);

    free(spec_path);
    free(cut);
    free(good);
    free(root);
}

/* Fashion-MNIST's t10k file as a small run (9000 train, 1000 validation) through a CNN with
 * batchnorm and dropout. Every validation image is written as a PNG and classified by predict;
 * each answer must equal, class and probability, what eval's path (trainset_gather, then the
 * forward pass in inference mode) gives that sample, and predict's accuracy must equal
 * `netspec eval --split validation`. */
static void test_fashion_png_equals_eval(void)
{
    const char *images = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
    const char *labels = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
    if (access(images, R_OK) != 0 || access(labels, R_OK) != 0) {
        printf("\n    Fashion-MNIST not installed: skipped ");
        return;
    }
    char *spec_path = test_util_tmp_path("fm.yaml");
    char *spec = ns_asprintf("version: 1\nname: fm\nseed: 5\n"
                             "data:\n  format: idx\n  train: {images: %s, labels: %s}\n  validation: 0.1\n"
                             "  normalize: {scale: 0.00392156862745098, mean: 0.286, std: 0.353}\n"
                             "model:\n  layers:\n"
                             "    - conv2d: {filters: 4, kernel: 3, stride: 2, padding: same}\n"
                             "    - batchnorm\n    - activation: relu\n"
                             "    - flatten\n    - dropout: 0.2\n    - dense: {units: auto}\n"
                             "loss: cross_entropy\noptimizer: {type: adam, lr: 0.003}\n"
                             "train: {epochs: 1, batch_size: 100}\nruntime: {threads: 1}\n",
                             images, labels);
    test_util_write_text(spec_path, spec);
    free(spec);
    char *args = ns_asprintf("train %s -o %s/fm", spec_path, test_util_tmp());
    struct test_util_run r = test_util_netspec(args);
    CU_ASSERT_EQUAL_FATAL(r.exit_code, 0);
    test_util_run_free(&r);
    free(args);
    args = ns_asprintf("eval %s/fm --split validation --json", test_util_tmp());
    r = test_util_netspec(args);
    CU_ASSERT_EQUAL(r.exit_code, 0);
    double eval_acc = test_util_json_number(r.out, "accuracy");
    test_util_run_free(&r);
    free(args);

    /* eval's path in this process: the run as model_load gives it, the validation samples
     * as trainset_load splits them. */
    struct ns_ctx ctx;
    ns_ctx_init(&ctx);
    char *run_dir = test_util_tmp_path("fm");
    struct model run_;
    CU_ASSERT_FATAL(model_load(&ctx, run_dir, &run_));
    struct trainset ts;
    CU_ASSERT_FATAL(trainset_load(&ctx, run_.spec, run_.info.class_count, &ts));
    const struct dataset *val = &ts.validation;
    CU_ASSERT_EQUAL_FATAL(val->count, 1000);
    char *png_root = test_util_tmp_path("fm_png");
    CU_ASSERT_FATAL(data_folder_write_pngs(&ctx.diag, val, png_root, NULL));

    int k = (int)run_.g->nodes[run_.g->output_node].out_size;
    struct exec *ex = exec_new(run_.g, 100);
    float *x = ns_xmalloc(100 * run_.g->input_size * sizeof *x);
    size_t index[100];
    int *want_class = ns_xmalloc(val->count * sizeof *want_class);
    double *want_p = ns_xmalloc(val->count * sizeof *want_p);
    struct ns_buf list = {0};
    size_t correct_here = 0;
    for (size_t start = 0; start < val->count; start += 100) {
        for (size_t i = 0; i < 100; i++)
            index[i] = start + i;
        trainset_gather(&ts, val, index, 100, false, 0, x, NULL, NULL, NULL);
        struct exec_run er = {.training = false};
        const float *y = exec_forward(ex, run_.st.params, x, 100, &er);
        for (size_t i = 0; i < 100; i++) {
            const float *z = y + i * (size_t)k;
            int best = 0;
            float p[16]; /* the runtime's one softmax, as predict and the emitted code run it */
            CU_ASSERT_FATAL(k <= 16);
            for (int j = 0; j < k; j++) {
                p[j] = z[j];
                best = z[j] > z[best] ? j : best;
            }
            activation_softmax_row(p, (size_t)k);
            size_t s = start + i;
            want_class[s] = best;
            want_p[s] = p[best];
            correct_here += best == val->labels[s];
            ns_buf_printf(&list, "%s/%d/%06zu.png\n", png_root, val->labels[s], s);
        }
    }
    exec_free(ex);
    free(x);
    CU_ASSERT_DOUBLE_EQUAL((double)correct_here / 1000.0, eval_acc, 1e-12);

    char *list_path = test_util_tmp_path("fm_list.txt");
    test_util_write_text(list_path, list.data);
    args = ns_asprintf("predict %s - --json --top 1", run_dir);
    r = test_util_netspec_opts((struct test_util_opts){.input = list_path}, args);
    CU_ASSERT_EQUAL(r.exit_code, 0);
    struct prediction *pred = ns_xcalloc(1000, sizeof *pred);
    int n = parse_predictions(r.out, pred, 1000);
    CU_ASSERT_EQUAL_FATAL(n, 1000);
    size_t same_class = 0, same_p = 0, correct = 0;
    for (int s = 0; s < n; s++) {
        char name[16];
        snprintf(name, sizeof name, "%d", want_class[s]);
        same_class += !strcmp(pred[s].classes[0], name);
        same_p += (float)pred[s].probability[0] == (float)want_p[s]; /* the same float, exactly */
        correct += atoi(pred[s].classes[0]) == val->labels[s];
    }
    printf("\n    fashion: predict on %d PNGs: %zu same class, %zu same probability as eval's path; "
           "accuracy %.4f, eval %.4f ",
           n, same_class, same_p, (double)correct / n, eval_acc);
    CU_ASSERT_EQUAL(same_class, 1000);
    CU_ASSERT_EQUAL(same_p, 1000);
    CU_ASSERT_DOUBLE_EQUAL((double)correct / 1000.0, eval_acc, 1e-12);
    predictions_free(pred, n);
    free(pred);
    test_util_run_free(&r);
    free(args);

    free(list_path);
    ns_buf_free(&list);
    free(want_class);
    free(want_p);
    free(png_root);
    trainset_free(&ts);
    model_free(&run_);
    free(run_dir);
    ns_ctx_free(&ctx);
    free(spec_path);
}

/* ---- issue 9: names and files an image folder may not hold ---- */

static struct test_util_run run_bounded_in_tmp(const char *args)
{
    return test_util_netspec_opts((struct test_util_opts){.cwd = test_util_tmp(), .timeout = 20}, args);
}

/* `netspec ARGS` in the scratch folder must exit with `code` and say `message`. */
static void expect_images_run(const char *args, int code, const char *message)
{
    struct test_util_run r = run_bounded_in_tmp(args);
    CU_ASSERT_EQUAL(r.exit_code, code);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, message));
    if (r.exit_code != code || !strstr(r.err, message))
        fprintf(stderr, "\n  netspec %s (exit %d, want %d and \"%s\"):\n%s", args, r.exit_code, code, message, r.err);
    test_util_run_free(&r);
}

static void expect_no_dir(const char *name)
{
    char *path = test_util_tmp_path(name);
    struct stat sb;
    CU_ASSERT(stat(path, &sb) != 0);
    if (stat(path, &sb) == 0)
        fprintf(stderr, "\n  %s was left behind by a run that never started\n", path);
    free(path);
}

/* check and train both refuse the spec with exit 3 and `want`, and train leaves no run. */
static void expect_refused_before_run(const char *spec, const char *run, const char *want)
{
    char *check = ns_asprintf("check %s", spec), *train = ns_asprintf("train %s -o %s", spec, run);
    expect_images_run(check, 3, want);
    expect_images_run(train, 3, want);
    expect_no_dir(run);
    free(check);
    free(train);
}

/* The image at `image` makes check and train of named_ok.yaml refuse with "cannot read
 * image" and `reason`, leaving no run `run`; the image is removed after. */
static void expect_image_refused(const char *image, const char *reason, const char *run)
{
    char *want = ns_asprintf("error: cannot read image \"%s\": %s", image, reason);
    expect_refused_before_run("named_ok.yaml", run, want);
    free(want);
    unlink(image);
}

/* A PNG whose header says width x height, with one short IDAT: what a lying header looks like. */
static void write_png_header(const char *path, uint32_t width, uint32_t height)
{
    unsigned char png[96] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    size_t at = 8;
    const unsigned char ihdr[13] = {width >> 24, width >> 16 & 255, width >> 8 & 255, width & 255,
                                    height >> 24, height >> 16 & 255, height >> 8 & 255, height & 255,
                                    8, 0, 0, 0, 0};
    const unsigned char idat[8] = {0x78, 0x9c, 0x63, 0, 0, 0, 1, 0};
    const struct {
        const char *tag;
        const unsigned char *data;
        unsigned len;
    } chunks[3] = {{"IHDR", ihdr, 13}, {"IDAT", idat, 8}, {"IEND", NULL, 0}};
    for (int c = 0; c < 3; c++) {
        unsigned char *start = png + at + 4;
        png[at++] = 0, png[at++] = 0, png[at++] = 0, png[at++] = (unsigned char)chunks[c].len;
        memcpy(png + at, chunks[c].tag, 4);
        at += 4;
        if (chunks[c].len)
            memcpy(png + at, chunks[c].data, chunks[c].len);
        at += chunks[c].len;
        uint32_t crc = (uint32_t)crc32(0, start, 4 + chunks[c].len);
        png[at++] = (unsigned char)(crc >> 24), png[at++] = (unsigned char)(crc >> 16);
        png[at++] = (unsigned char)(crc >> 8), png[at++] = (unsigned char)crc;
    }
    test_util_write_bytes(path, png, at);
}

/* A baseline JPEG's header (SOI, SOF0 with three components) declaring width x height, with
 * no tables and no data: stb reads its size, and would decode it as zeros. */
static void write_jpeg_header(const char *path, unsigned width, unsigned height)
{
    const unsigned char jpeg[] = {0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08, height >> 8 & 255, height & 255,
                                  width >> 8 & 255, width & 255, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01,
                                  0x03, 0x11, 0x01, 0xFF, 0xD9};
    test_util_write_bytes(path, jpeg, sizeof jpeg);
}

static void test_folder_refusals(void)
{
    /* A class folder whose name is not UTF-8 (or holds a control character, or U+FFFF, which
     * YAML cannot hold) never reaches model.yaml: check and train refuse it, and train leaves
     * no run directory. */
    const char *names[3] = {"bad\xff", "tab\there", "non\xef\xbf\xbf"};
    const char *shown[3] = {"bad\\xff", "tab\\x09here", "non\\xef\\xbf\\xbf"};
    for (int k = 0; k < 3; k++) {
        char *root = ns_asprintf("%s/named%d", test_util_tmp(), k);
        write_shapes(root, 3, 5);
        char *odd = ns_asprintf("%s/%s", root, names[k]);
        CU_ASSERT_FATAL(mkdir(odd, 0755) == 0);
        char *cp = ns_asprintf("cp %s/disc/disc_000.png '%s/'", root, odd);
        struct test_util_run sh = test_util_shell(cp);
        CU_ASSERT_EQUAL_FATAL(sh.exit_code, 0);
        test_util_run_free(&sh);
        char *spec_path = ns_asprintf("%s/named%d.yaml", test_util_tmp(), k);
        char *spec = shapes_spec(root, "fail", 1);
        test_util_write_text(spec_path, spec);
        char *want = ns_asprintf("error: class folder \"%s\" in \"%s\" is not a UTF-8 name without control characters",
                                 shown[k], root);
        char *spec_name = ns_asprintf("named%d.yaml", k);
        expect_refused_before_run(spec_name, "named_run", want);
        free(spec_name);
        free(want);
        free(spec);
        free(spec_path);
        free(cp);
        free(odd);
        free(root);
    }

    /* One class folder: nothing to classify. */
    char *one = test_util_tmp_path("one_class");
    CU_ASSERT_FATAL(mkdir(one, 0755) == 0);
    char *cp = ns_asprintf("cp -r %s/named0/disc %s/", test_util_tmp(), one);
    struct test_util_run sh = test_util_shell(cp);
    CU_ASSERT_EQUAL_FATAL(sh.exit_code, 0);
    test_util_run_free(&sh);
    char *spec = shapes_spec(one, "fail", 1);
    char *spec_path = test_util_tmp_path("one_class.yaml");
    test_util_write_text(spec_path, spec);
    char *want = ns_asprintf("error: \"%s\" has 1 class folder (\"disc\")", one);
    expect_refused_before_run("one_class.yaml", "one_run", want);
    free(want);
    free(spec_path);
    free(spec);
    free(cp);

    /* An image whose header declares more pixels than netspec decodes, and a FIFO named like an
     * image: both refused with the reason, check as train, and nothing waits. */
    char *root = test_util_tmp_path("named0");
    char *big = ns_asprintf("%s/disc/huge.png", root);
    write_png_header(big, 20000, 20000);
    want = ns_asprintf("error: cannot read image \"%s\": its header declares 20000x20000 pixels, more than netspec "
                       "decodes (at most 33554432, and 8256 per byte of a PNG file)",
                       big);
    char *spec_text = shapes_spec(root, "fail", 1);
    spec_path = test_util_tmp_path("named_ok.yaml");
    char *cmd = ns_asprintf("rm -rf '%s/bad\xff'", root);
    sh = test_util_shell(cmd);
    test_util_run_free(&sh);
    free(cmd);
    test_util_write_text(spec_path, spec_text);
    expect_refused_before_run("named_ok.yaml", "huge_run", want);
    free(want);
    unlink(big);
    /* JPEG packs at most 512 pixels a byte: 300x300 in 23 bytes is a bomb, not a photo (PNG
     * could hold it: 8256 a byte). */
    char *bomb = ns_asprintf("%s/disc/bomb.jpg", root);
    write_jpeg_header(bomb, 300, 300);
    expect_image_refused(bomb,
                         "its header declares 300x300 pixels, more than netspec decodes (at most 33554432, and 512 "
                         "per byte of a JPEG file)",
                         "bomb_run");
    free(bomb);
    /* A PNG chunk longer than the file: stb would grow its buffer to the declared length. */
    char *long_chunk = ns_asprintf("%s/disc/long_chunk.png", root);
    write_png_header(long_chunk, 4, 4);
    size_t png_len;
    unsigned char *png = (unsigned char *)test_util_slurp(long_chunk, &png_len);
    CU_ASSERT_FATAL(png != NULL && png_len > 40 && memcmp(png + 37, "IDAT", 4) == 0);
    png[33] = 0x10; /* IDAT's length, 8, becomes 268435464 */
    test_util_write_bytes(long_chunk, png, png_len);
    free(png);
    expect_image_refused(long_chunk,
                         "a PNG chunk (IDAT) declares 268435464 bytes, more than the file holds: a corrupt or cut-off "
                         "PNG",
                         "long_chunk_run");
    free(long_chunk);
    char *fifo = ns_asprintf("%s/disc/pipe.png", root);
    CU_ASSERT_EQUAL_FATAL(mkfifo(fifo, 0600), 0);
    want = ns_asprintf("error: cannot read image \"%s\": not a regular file (a FIFO)", fifo);
    expect_refused_before_run("named_ok.yaml", "fifo_run", want);
    unlink(fifo);
    free(want);
    free(fifo);
    free(big);
    free(spec_text);
    free(spec_path);
    free(root);
    free(one);
}

/* predict echoes paths as text and says why a file cannot be read; --top above the classes
 * prints them all. Needs run2 from test_train_shapes. */
static void test_predict_paths(void)
{
    char *odd = test_util_tmp_path("odd\x1b\xff.png");
    char *src = test_util_tmp_path("probe/disc.png");
    size_t len;
    char *png = test_util_slurp(src, &len);
    CU_ASSERT_FATAL(len > 0);
    test_util_write_bytes(odd, png, len);
    free(png);
    char *huge = test_util_tmp_path("huge_probe.png");
    write_png_header(huge, 30000, 2000);
    char *fifo = test_util_tmp_path("probe.fifo");
    unlink(fifo);
    CU_ASSERT_EQUAL_FATAL(mkfifo(fifo, 0600), 0);
    struct test_util_run r = run_bounded_in_tmp("predict run2 'odd\x1b\xff.png' missing.png probe.fifo "
                                                "huge_probe.png probe --top 99999999999");
    CU_ASSERT_EQUAL(r.exit_code, 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "odd\\x1b\\xff.png\n"));
    CU_ASSERT_PTR_NULL(strstr(r.out, "\x1b"));
    int lines = 0;
    for (const char *p = r.out; *p; p++)
        lines += *p == '\n';
    CU_ASSERT_EQUAL(lines, 1 + CLASSES); /* the file, then every class */
    const char *errors[4] = {
        "missing.png: error: cannot read image \"missing.png\": No such file or directory",
        "probe.fifo: error: cannot read image \"probe.fifo\": not a regular file (a FIFO)",
        "error: cannot read image \"huge_probe.png\": its header declares 30000x2000 pixels, more than netspec decodes",
        "probe: error: cannot read image \"probe\": not a regular file (a directory)",
    };
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err, errors[i]));
        if (!strstr(r.err, errors[i]))
            fprintf(stderr, "\n  want: %s\n  got:\n%s", errors[i], r.err);
    }
    CU_ASSERT_PTR_NULL(strstr(r.err, "can't fopen"));
    test_util_run_free(&r);
    /* A JPEG whose Huffman table declares 257 codes (fuzz_image's find: Debian's stb_image
     * would write past its table) is refused before stb decodes it. */
    char *jpeg_src = test_util_src_path("tests/fuzz/regressions/fuzz_image/jpeg_huffman_overflow");
    char *jpeg = test_util_slurp(jpeg_src, &len);
    CU_ASSERT_FATAL(len > 3);
    char *bad_jpeg = test_util_tmp_path("huffman.jpg");
    test_util_write_bytes(bad_jpeg, jpeg + 3, len - 3); /* the harness's 3 option bytes come first */
    free(jpeg);
    free(jpeg_src);
    free(bad_jpeg);
    expect_images_run("predict run2 huffman.jpg", 3,
                      "cannot decode image \"huffman.jpg\": a JPEG Huffman table (DHT) declares more than 256 codes: "
                      "corrupt JPEG");
    /* A PNM whose width has 11 digits (stb would overflow an int reading it) is refused. */
    char *big_pnm = test_util_tmp_path("big.pgm");
    test_util_write_text(big_pnm, "P5\n99999999999 2\n255\n\x01\x02");
    free(big_pnm);
    expect_images_run("predict run2 big.pgm", 3,
                      "cannot decode image \"big.pgm\": a number in its PGM/PPM header has more than 9 digits");
    r = run_bounded_in_tmp("predict run2 'odd\x1b\xff.png' --json --top 1");
    CU_ASSERT_EQUAL(r.exit_code, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "{\"file\": \"odd\\\\x1b\\\\xff.png\", \"top\": [{\"class\": "));
    test_util_run_free(&r);
    unlink(fifo);
    free(fifo);
    free(huge);
    free(src);
    free(odd);
}

/* ---- separate test and validation folders ---- */

/* A spec over tf_train with the classes listed in an order that is not the folders' sorted
 * one, so test folders are right only when their classes are matched by name. */
static char *test_folder_spec(const char *extra)
{
    return ns_asprintf("version: 1\nname: folders\nseed: 5\n"
                       "data:\n  format: image_folder\n  root: tf_train\n%s"
                       "  image: {size: [%d, %d], channels: 1}\n"
                       "  classes: [plus, frame, disc, cross]\n"
                       "  normalize: {scale: 0.00392156862745098, mean: 0.25, std: 0.3}\n"
                       "model:\n  layers:\n"
                       "    - conv2d: {filters: 8, kernel: 3, padding: same, activation: relu}\n"
                       "    - maxpool2d: {size: 2}\n"
                       "    - conv2d: {filters: 16, kernel: 3, padding: same, activation: relu}\n"
                       "    - global_avgpool2d\n"
                       "    - dense: {units: auto}\n"
                       "loss: cross_entropy\noptimizer: {type: adam, lr: 0.01}\n"
                       "train: {epochs: 12, batch_size: 16}\nruntime: {threads: 1}\n",
                       extra, SIDE, SIDE);
}

static struct test_util_run run_in_tmp(const char *args)
{
    return test_util_netspec_opts((struct test_util_opts){.cwd = test_util_tmp()}, args);
}

/* test: FOLDER beside root. check and train count its images; root is split into training and
 * validation only (144 + 16 of 160); the model, trained with permuted class names, scores far
 * above chance on the folder (so its classes were matched by name, not by position); eval of
 * the test split and eval --data on the folder agree, and --data writes nothing into the run. */
static void test_test_folder(void)
{
    char *root = test_util_tmp_path("tf_train"), *test = test_util_tmp_path("tf_test");
    write_shapes(root, 40, 21);
    write_shapes(test, 10, 22);
    char *spec = test_folder_spec("  test: tf_test\n  split: {validation: 0.1}\n");
    char *spec_path = test_util_tmp_path("folders.yaml");
    test_util_write_text(spec_path, spec);
    free(spec);

    struct test_util_run r = run_in_tmp("check folders.yaml");
    CU_ASSERT_EQUAL(r.exit_code, 0);
    CU_ASSERT(strstr(r.out, "160 images in 4 classes, split 0.9/0.1/0, 40 test images") != NULL);
    test_util_run_free(&r);
    r = run_in_tmp("resolve folders.yaml");
    CU_ASSERT(strstr(r.out, "    train: 0.9\n    validation: 0.1\n    test: 0.0\n") != NULL);
    char *line = ns_asprintf("  test: %s\n", test);
    CU_ASSERT(strstr(r.out, line) != NULL);
    free(line);
    test_util_run_free(&r);

    r = run_in_tmp("train folders.yaml -o tf_run");
    CU_ASSERT_EQUAL(r.exit_code, 0);
    if (r.exit_code)
        fprintf(stderr, "\n%s%s", r.out, r.err);
    CU_ASSERT(strstr(r.out, "144 training, 16 validation, 40 test samples") != NULL);
    test_util_run_free(&r);

    r = run_in_tmp("eval tf_run --json");
    CU_ASSERT_EQUAL(r.exit_code, 0);
    double acc = test_util_json_number(r.out, "accuracy");
    CU_ASSERT_EQUAL(test_util_json_number(r.out, "count"), 40);
    printf("\n    test folder: accuracy %.4f on 40 images (must be >= 0.80; chance 0.25) ", acc);
    CU_ASSERT(acc >= 0.80);
    CU_ASSERT(strstr(r.out, "\"classes\": [\"plus\", \"frame\", \"disc\", \"cross\"]") != NULL);
    test_util_run_free(&r);

    r = run_in_tmp("eval tf_run --data tf_test --json");
    CU_ASSERT_EQUAL(r.exit_code, 0);
    CU_ASSERT_EQUAL(test_util_json_number(r.out, "count"), 40);
    CU_ASSERT_DOUBLE_EQUAL(test_util_json_number(r.out, "accuracy"), acc, 1e-12);
    CU_ASSERT(strstr(r.out, "\"split\": \"data\",\n  \"data\": \"tf_test\"") != NULL);
    test_util_run_free(&r);
    r = run_in_tmp("eval tf_run --data tf_test");
    CU_ASSERT_EQUAL(r.exit_code, 0);
    CU_ASSERT(strncmp(r.out, "folders: tf_test, 40 samples\n", 29) == 0);
    test_util_run_free(&r);
    char *data_report = test_util_tmp_path("tf_run/eval_data.json");
    CU_ASSERT_NOT_EQUAL(access(data_report, F_OK), 0);
    free(data_report);

    /* A validation folder too: all of root trains, and early stopping has its data. */
    r = run_in_tmp("train folders.yaml -o tf_run2 --set data.validation=tf_test --set data.split={} "
                   "--set train.epochs=2 --set train.early_stopping.patience=1");
    CU_ASSERT_EQUAL(r.exit_code, 0);
    CU_ASSERT(strstr(r.out, "160 training, 40 validation, 40 test samples") != NULL);
    if (r.exit_code)
        fprintf(stderr, "\n%s%s", r.out, r.err);
    test_util_run_free(&r);
    free(spec_path);
    free(root);
    free(test);
}

/* Class folders are matched by name: a class without a folder and a folder that is no class
 * are errors naming them, in check and in eval --data; the wrong kind of --data and option
 * mix-ups are refused; split.test cannot also hold out root's images. Needs tf_run. */
static void test_test_folder_errors(void)
{
    char *bad = test_util_tmp_path("tf_bad");
    write_shapes(bad, 2, 23);
    char *from = ns_asprintf("%s/plus", bad), *to = ns_asprintf("%s/star", bad);
    CU_ASSERT_FATAL(rename(from, to) == 0);
    free(from);
    free(to);
    char *spec = test_folder_spec("  test: tf_bad\n");
    char *spec_path = test_util_tmp_path("folders_bad.yaml");
    test_util_write_text(spec_path, spec);
    free(spec);

    struct test_util_run r = run_in_tmp("check folders_bad.yaml");
    CU_ASSERT_EQUAL(r.exit_code, 3);
    char *missing = ns_asprintf("folders_bad.yaml:7:9: error: the test folder \"%s\" has no sub-folder for class "
                                "\"plus\"\n", bad);
    char *extra = ns_asprintf("folders_bad.yaml:7:9: error: the test folder \"%s\" has a sub-folder \"star\", which "
                              "is not one of the model's classes\n", bad);
    CU_ASSERT(strstr(r.err, missing) != NULL);
    CU_ASSERT(strstr(r.err, extra) != NULL);
    if (!strstr(r.err, missing) || !strstr(r.err, extra))
        fprintf(stderr, "\n%s", r.err);
    free(missing);
    free(extra);
    CU_ASSERT(strstr(r.err, "every class the model knows (plus, frame, disc, cross) needs a sub-folder") != NULL);
    test_util_run_free(&r);

    r = run_in_tmp("eval tf_run --data tf_bad");
    CU_ASSERT_EQUAL(r.exit_code, 3);
    CU_ASSERT(strstr(r.err, "tf_bad: error: the folder \"tf_bad\" has no sub-folder for class \"plus\"\n") != NULL);
    CU_ASSERT(strstr(r.err, "tf_bad: error: the folder \"tf_bad\" has a sub-folder \"star\", which is not one of "
                            "the model's classes\n") != NULL);
    test_util_run_free(&r);

    static const struct {
        const char *args, *message;
        int exit_code;
    } refusals[] = {
        {"eval tf_run --data folders.yaml",
         "folders.yaml: error: \"folders.yaml\" is not a folder, but tf_run was trained on an image folder\n", 3},
        {"eval tf_run --data tf_test --labels x.idx",
         "error: --labels is for idx runs; in an image folder the sub-folders are the labels\n", 2},
        {"eval tf_run --data tf_test --split test",
         "error: --split names a part of the run's own data and --data other data: give one\n", 2},
        {"eval tf_run --labels x.idx",
         "error: --labels is the labels file of --data IMAGES (idx runs): give --data too\n", 2},
        {"eval tf_run --data", "error: --data needs a path\n", 2},
        {"check folders.yaml --set data.split.test=0.2",
         "--set data.split.test=0.2: error: data.test names a test folder, so split.test must be 0: root's images "
         "would be a second test set\n", 2},
    };
    for (size_t i = 0; i < sizeof refusals / sizeof *refusals; i++) {
        r = run_in_tmp(refusals[i].args);
        CU_ASSERT_EQUAL(r.exit_code, refusals[i].exit_code);
        bool said = strstr(r.err, refusals[i].message) != NULL;
        CU_ASSERT(said);
        if (!said || r.exit_code != refusals[i].exit_code)
            fprintf(stderr, "\nnetspec %s: exit %d\n%s", refusals[i].args, r.exit_code, r.err);
        test_util_run_free(&r);
    }
    free(spec_path);
    free(bad);
}

int main(void)
{
    static const struct test_util_case cases[] = {
        {"a CNN learns drawn shapes; 1 and 2 threads agree", test_train_shapes},
        {"predict: JSON, text, stdin list, unreadable files", test_predict},
        {"a truncated PNG: on_error fail and skip", test_truncated_png},
        {"Fashion-MNIST PNGs: predict equals eval", test_fashion_png_equals_eval},
        {"class folders: not UTF-8, one class, oversized headers, FIFOs", test_folder_refusals},
        {"predict: paths shown as text, reasons from the OS, --top above the classes", test_predict_paths},
        {"a test folder beside root: classes matched by name, eval --data", test_test_folder},
        {"test folders: missing and extra classes, wrong --data, split.test", test_test_folder_errors},
    };
    return test_util_main("images", suite_init, test_util_tmp_clean, cases, sizeof cases / sizeof *cases);
}
