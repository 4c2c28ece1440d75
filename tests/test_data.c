/* The data layer: IDX (plain and gz), CSV, image folders, splits, preprocessing, SHA-256.
 * Every test writes its own small files into a fresh folder under /tmp. */
#include <CUnit/Basic.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb_image_write.h>

#include "core/ns_ctx.h"
#include "ops/op.h"
#include "core/ns_error.h"
#include "core/ns_sha256.h"
#include "core/ns_util.h"
#include "data/data_csv.h"
#include "data/data_folder.h"
#include "data/data_idx.h"
#include "data/data_load.h"
#include "data/data_prep.h"
#include "data/data_split.h"
#include "data/dataset.h"
#include "kernels/activation.h"
#include "model/model.h"
#include "runtime/exec.h"
#include "spec/spec.h"
#include "spec/spec_tree.h"
#include "train/trainset.h"

#include "test_util.h"

static const char *const FASHION = "/usr/share/datasets/fashion-mnist";

/* ---- helpers ---- */

/* The first diag line containing `needle`, or NULL; the caller frees. */
static char *find_error(const struct ns_diag *diag, const char *needle)
{
    for (size_t i = 0; i < diag->count; i++) {
        char *line = ns_error_first_line(&diag->items[i]);
        if (strstr(line, needle))
            return line;
        free(line);
    }
    return NULL;
}

static bool has_error(const struct ns_diag *diag, const char *needle)
{
    char *line = find_error(diag, needle);
    free(line);
    return line != NULL;
}

static void print_diag(const struct ns_diag *diag)
{
    for (size_t i = 0; i < diag->count; i++) {
        char *line = ns_error_first_line(&diag->items[i]);
        fprintf(stderr, "  diag: %s\n", line);
        free(line);
    }
}

static int suite_init(void)
{
    return test_util_tmp_init("data");
}

/* 5 images of 4x3, pixel value = 12 * i + j; labels 0,1,2,1,0. */
static const uint32_t img_dims[3] = {5, 4, 3};
static const uint32_t lab_dims[1] = {5};
static unsigned char pixels[60];
static const unsigned char labels5[5] = {0, 1, 2, 1, 0};

static void write_idx_pair(const char *images, const char *labels, bool gz)
{
    for (int i = 0; i < 60; i++)
        pixels[i] = (unsigned char)(i * 4);
    unsigned char buf[256];
    size_t n = test_util_make_idx(buf, 0x08, 3, img_dims, pixels, sizeof pixels);
    (gz ? test_util_write_gz : test_util_write_bytes)(images, buf, n);
    n = test_util_make_idx(buf, 0x08, 1, lab_dims, labels5, sizeof labels5);
    (gz ? test_util_write_gz : test_util_write_bytes)(labels, buf, n);
}

/* ---- IDX ---- */

static void check_idx_dataset(const struct dataset *ds, int class_count)
{
    CU_ASSERT_EQUAL(ds->count, 5);
    CU_ASSERT_EQUAL(ds->shape.rank, 3);
    CU_ASSERT_EQUAL(ds->shape.dims[0], 4);
    CU_ASSERT_EQUAL(ds->shape.dims[1], 3);
    CU_ASSERT_EQUAL(ds->shape.dims[2], 1);
    CU_ASSERT_EQUAL(ds->sample_size, 12);
    CU_ASSERT_EQUAL(ds->class_count, class_count);
    CU_ASSERT_PTR_NULL(ds->targets);
    /* Pixels are held as bytes. */
    CU_ASSERT_PTR_NULL(ds->x);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ds->bytes);
    for (int i = 0; i < 60; i++)
        CU_ASSERT_EQUAL(ds->bytes[i], i * 4);
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(ds->labels[i], labels5[i]);
    CU_ASSERT_EQUAL(dataset_value(ds, 2, 0), 96.0f);
}

static void test_idx_plain_and_gz(void)
{
    for (int gz = 0; gz < 2; gz++) {
        char *images = test_util_tmp_path(gz ? "img.idx.gz" : "img.idx");
        char *labels = test_util_tmp_path(gz ? "lab.idx.gz" : "lab.idx");
        write_idx_pair(images, labels, gz);
        struct ns_diag diag = {0};
        struct ns_loc none = {0};
        struct dataset ds = {0};
        CU_ASSERT_TRUE(data_idx_load(&diag, none, images, none, labels, 0, &ds));
        print_diag(&diag);
        check_idx_dataset(&ds, 3);
        dataset_free(&ds);
        CU_ASSERT_TRUE(data_idx_load(&diag, none, images, none, labels, 10, &ds));
        check_idx_dataset(&ds, 10);
        dataset_free(&ds);

        struct data_header h = {0};
        CU_ASSERT_TRUE(data_idx_read_header(&diag, none, images, none, labels, 0, &h));
        CU_ASSERT_EQUAL(h.count, 5);
        CU_ASSERT_EQUAL(h.shape.rank, 3);
        CU_ASSERT_EQUAL(h.shape.dims[0], 4);
        CU_ASSERT_EQUAL(h.shape.dims[1], 3);
        CU_ASSERT_EQUAL(h.shape.dims[2], 1);
        CU_ASSERT_EQUAL(h.class_count, 3);
        CU_ASSERT_EQUAL(diag.count, 0);
        ns_diag_free(&diag);
        free(images);
        free(labels);
    }
}

static void test_idx_4d(void)
{
    uint32_t dims[4] = {2, 2, 2, 3};
    unsigned char px[24], buf[128];
    for (int i = 0; i < 24; i++)
        px[i] = (unsigned char)(200 - i);
    char *images = test_util_tmp_path("rgb.idx");
    char *labels = test_util_tmp_path("rgb-labels.idx");
    test_util_write_bytes(images, buf, test_util_make_idx(buf, 0x08, 4, dims, px, sizeof px));
    const unsigned char lab[2] = {1, 0};
    test_util_write_bytes(labels, buf, test_util_make_idx(buf, 0x08, 1, dims, lab, 2));
    struct ns_diag diag = {0};
    struct dataset ds = {0};
    CU_ASSERT_TRUE_FATAL(data_idx_load(&diag, (struct ns_loc){0}, images, (struct ns_loc){0}, labels, 0, &ds));
    CU_ASSERT_EQUAL(ds.shape.dims[0], 2);
    CU_ASSERT_EQUAL(ds.shape.dims[1], 2);
    CU_ASSERT_EQUAL(ds.shape.dims[2], 3);
    CU_ASSERT_EQUAL(ds.sample_size, 12);
    CU_ASSERT_EQUAL(ds.bytes[23], 177);
    CU_ASSERT_EQUAL(ds.labels[0], 1);
    CU_ASSERT_EQUAL(ds.class_count, 2);
    dataset_free(&ds);
    ns_diag_free(&diag);
    free(images);
    free(labels);
}

/* Loads images+labels expecting failure; returns the first error line (caller frees). */
static char *idx_fail(const char *images, const char *labels, int class_count, struct ns_loc loc)
{
    struct ns_diag diag = {0};
    struct dataset ds = {0};
    bool ok = data_idx_load(&diag, loc, images, loc, labels, class_count, &ds);
    CU_ASSERT_FALSE(ok);
    CU_ASSERT_PTR_NULL(ds.x);
    CU_ASSERT_PTR_NULL(ds.bytes);
    CU_ASSERT_TRUE(diag.count >= 1);
    char *line = diag.count ? ns_error_first_line(&diag.items[0]) : ns_xstrdup("");
    if (diag.count)
        CU_ASSERT_EQUAL(diag.items[0].code, NS_ERR_DATA);
    ns_diag_free(&diag);
    return line;
}

static void test_idx_errors(void)
{
    char *images = test_util_tmp_path("e-img.idx");
    char *labels = test_util_tmp_path("e-lab.idx");
    char *good_images = test_util_tmp_path("g-img.idx");
    char *good_labels = test_util_tmp_path("g-lab.idx");
    write_idx_pair(good_images, good_labels, false);
    struct ns_loc none = {0};
    unsigned char buf[256];
    char *want, *line;

    /* Not IDX at all. */
    test_util_write_text(images, "PK\x03\x04 a zip file");
    line = idx_fail(images, good_labels, 0, none);
    want = ns_asprintf("%s: error: \"%s\" is not an IDX file (magic 0x504b0304)", images, images);
    CU_ASSERT_STRING_EQUAL(line, want);
    free(want);
    free(line);

    /* Compressed twice: after one gunzip it is still gzip. */
    char *inner = test_util_tmp_path("inner.gz");
    char *twice = test_util_tmp_path("twice.gz");
    size_t n = test_util_make_idx(buf, 0x08, 3, img_dims, pixels, sizeof pixels);
    test_util_write_gz(inner, buf, n);
    FILE *f = fopen(inner, "rb");
    unsigned char gzbytes[512];
    size_t gzn = fread(gzbytes, 1, sizeof gzbytes, f);
    fclose(f);
    test_util_write_gz(twice, gzbytes, gzn);
    struct ns_diag diag = {0};
    struct data_idx_file h;
    CU_ASSERT_FALSE(data_idx_read_file_header(&diag, none, twice, &h));
    CU_ASSERT_TRUE(has_error(&diag, "is not an IDX file (magic 0x1f8b0800)"));
    CU_ASSERT_PTR_NOT_NULL(diag.items[0].hint);
    if (diag.items[0].hint)
        CU_ASSERT_PTR_NOT_NULL(strstr(diag.items[0].hint, "compressed twice"));
    ns_diag_free(&diag);
    free(inner);
    free(twice);

    /* Truncated pixels. */
    test_util_write_bytes(images, buf, test_util_make_idx(buf, 0x08, 3, img_dims, pixels, 10));
    line = idx_fail(images, good_labels, 0, none);
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "is truncated: expected 60 bytes of pixels, file ends after 10"));
    free(line);

    /* Truncated gzip stream. */
    char *trunc_gz = test_util_tmp_path("trunc.gz");
    unsigned char big[4 + 12 + 6000];
    uint32_t big_dims[3] = {5, 30, 40};
    unsigned char big_px[6000];
    for (int i = 0; i < 6000; i++)
        big_px[i] = (unsigned char)((i * 7919) >> 3);
    n = test_util_make_idx(big, 0x08, 3, big_dims, big_px, sizeof big_px);
    test_util_write_gz(trunc_gz, big, n);
    f = fopen(trunc_gz, "rb");
    unsigned char whole[8192];
    size_t whole_n = fread(whole, 1, sizeof whole, f);
    fclose(f);
    test_util_write_bytes(trunc_gz, whole, whole_n / 2);
    line = idx_fail(trunc_gz, good_labels, 0, none);
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "is truncated: expected 6000 bytes of pixels, file ends after"));
    free(line);
    free(trunc_gz);

    /* Counts that disagree. */
    uint32_t four[1] = {4};
    test_util_write_bytes(labels, buf, test_util_make_idx(buf, 0x08, 1, four, labels5, 4));
    line = idx_fail(good_images, labels, 0, none);
    want = ns_asprintf("%s: error: labels count 4 in \"%s\" does not match images count 5 in \"%s\"", labels, labels,
                       good_images);
    CU_ASSERT_STRING_EQUAL(line, want);
    free(want);
    free(line);

    /* A label outside the listed classes. */
    line = idx_fail(good_images, good_labels, 2, none);
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "1 label in"));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "is outside classes 0..1 (the first: 2 at index 2)"));
    free(line);

    /* Not unsigned bytes. */
    test_util_write_bytes(images, buf, test_util_make_idx(buf, 0x0d, 3, img_dims, pixels, sizeof pixels));
    line = idx_fail(images, good_labels, 0, none);
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "holds IDX type 0x0d (float); netspec reads unsigned bytes (0x08)"));
    free(line);

    /* Labels with two dimensions. */
    test_util_write_bytes(labels, buf, test_util_make_idx(buf, 0x08, 2, img_dims, labels5, 5));
    line = idx_fail(good_images, labels, 0, none);
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "has 2 dimensions; labels need 1 [count]"));
    free(line);

    /* More bytes than the header declares. */
    unsigned char more[61];
    memcpy(more, pixels, 60);
    more[60] = 1;
    test_util_write_bytes(images, buf, test_util_make_idx(buf, 0x08, 3, img_dims, more, sizeof more));
    line = idx_fail(images, good_labels, 0, none);
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "has data after the 76 bytes its header declares"));
    free(line);

    /* Too short to hold a magic. */
    test_util_write_bytes(images, "\0\0", 2);
    line = idx_fail(images, good_labels, 0, none);
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "is too short to be an IDX file (2 bytes)"));
    free(line);

    /* A missing file, reported at the spec line that names it. */
    char *missing = test_util_tmp_path("nope.gz");
    struct ns_loc spec = {"specs/x.yaml", 7, 13, 20};
    line = idx_fail(missing, good_labels, 0, spec);
    want = ns_asprintf("specs/x.yaml:7:13: error: cannot open \"%s\": No such file or directory", missing);
    CU_ASSERT_STRING_EQUAL(line, want);
    free(want);
    free(line);
    free(missing);

    free(images);
    free(labels);
    free(good_images);
    free(good_labels);
}

static void test_idx_fashion_headers(void)
{
    char *tr_img = ns_asprintf("%s/train-images-idx3-ubyte.gz", FASHION);
    char *tr_lab = ns_asprintf("%s/train-labels-idx1-ubyte.gz", FASHION);
    char *te_img = ns_asprintf("%s/t10k-images-idx3-ubyte.gz", FASHION);
    char *te_lab = ns_asprintf("%s/t10k-labels-idx1-ubyte.gz", FASHION);
    if (access(tr_img, R_OK) != 0 || access(te_img, R_OK) != 0) {
        CU_PASS("Fashion-MNIST not installed; header test skipped");
    } else {
        struct ns_diag diag = {0};
        struct data_header h = {0};
        CU_ASSERT_TRUE(data_idx_read_header(&diag, (struct ns_loc){0}, tr_img, (struct ns_loc){0}, tr_lab, 0, &h));
        CU_ASSERT_EQUAL(h.shape.rank, 3);
        CU_ASSERT_EQUAL(h.shape.dims[0], 28);
        CU_ASSERT_EQUAL(h.shape.dims[1], 28);
        CU_ASSERT_EQUAL(h.shape.dims[2], 1);
        CU_ASSERT_EQUAL(h.count, 60000);
        CU_ASSERT_EQUAL(h.class_count, 10);
        CU_ASSERT_TRUE(data_idx_read_header(&diag, (struct ns_loc){0}, te_img, (struct ns_loc){0}, te_lab, 10, &h));
        CU_ASSERT_EQUAL(h.count, 10000);
        CU_ASSERT_EQUAL(h.class_count, 10);
        struct data_idx_file f;
        CU_ASSERT_TRUE(data_idx_read_file_header(&diag, (struct ns_loc){0}, te_img, &f));
        CU_ASSERT_EQUAL(f.type, 0x08);
        CU_ASSERT_EQUAL(f.ndim, 3);
        CU_ASSERT_EQUAL(f.dims[0], 10000);
        CU_ASSERT_EQUAL(diag.count, 0);
        /* Labels against images of the other split: the counts disagree. */
        CU_ASSERT_FALSE(data_idx_read_header(&diag, (struct ns_loc){0}, tr_img, (struct ns_loc){0}, te_lab, 0, &h));
        CU_ASSERT_TRUE(has_error(&diag, "labels count 10000 in"));
        CU_ASSERT_TRUE(has_error(&diag, "does not match images count 60000"));
        ns_diag_free(&diag);
    }
    free(tr_img);
    free(tr_lab);
    free(te_img);
    free(te_lab);
}


/* ---- issue 9: declared sizes are bounded by the file before anything is allocated ---- */

/* The first error of data_idx_read_header (what `check` runs) and of data_idx_load (what
 * `train` runs) on the same files; both must fail with `want`. */
static void expect_idx_both(const char *images, const char *labels, const char *want)
{
    struct ns_diag diag = {0};
    struct data_header h;
    CU_ASSERT_FALSE(data_idx_read_header(&diag, (struct ns_loc){0}, images, (struct ns_loc){0}, labels, 0, &h));
    CU_ASSERT_TRUE(has_error(&diag, want));
    if (!has_error(&diag, want)) {
        fprintf(stderr, "\n  check wanted: %s\n", want);
        print_diag(&diag);
    }
    ns_diag_free(&diag);
    char *line = idx_fail(images, labels, 0, (struct ns_loc){0});
    CU_ASSERT_PTR_NOT_NULL(strstr(line, want));
    if (!strstr(line, want))
        fprintf(stderr, "\n  load wanted: %s\n  got: %s\n", want, line);
    free(line);
}

static unsigned char *gz_bytes(const void *data, size_t n, size_t *gz_len)
{
    char *tmp = test_util_tmp_path("gz_bytes.gz");
    test_util_write_gz(tmp, data, n);
    unsigned char *gz = (unsigned char *)test_util_slurp(tmp, gz_len);
    unlink(tmp);
    free(tmp);
    return gz;
}

static void test_idx_bounds(void)
{
    char *good_images = test_util_tmp_path("b-img.idx");
    char *good_labels = test_util_tmp_path("b-lab.idx");
    write_idx_pair(good_images, good_labels, false);
    char *images = test_util_tmp_path("b-bad.idx.gz");
    unsigned char buf[256];

    /* A header that declares more than deflate can expand the file to: refused at once. */
    uint32_t huge[3] = {13000000, 28, 28};
    test_util_write_gz(images, buf, test_util_make_idx(buf, 0x08, 3, huge, pixels, sizeof pixels));
    expect_idx_both(images, good_labels, "declares 10192000000 bytes of pixels, more than a gzip file of ");
    expect_idx_both(images, good_labels, "bytes can hold (at most ");

    /* Within the ratio, but the trailer's length disagrees: counted (1 MiB), not allocated (1 GB). */
    size_t noise_n = 1 << 20;
    unsigned char *noise = ns_xmalloc(16 + noise_n);
    uint64_t rng = 9;
    uint32_t many[3] = {1300000, 28, 28};
    for (size_t i = 0; i < noise_n; i++)
        noise[16 + i] = (unsigned char)(test_util_next_u64(&rng) >> 40);
    test_util_make_idx(buf, 0x08, 3, many, pixels, 0);
    memcpy(noise, buf, 16);
    test_util_write_gz(images, noise, 16 + noise_n);
    expect_idx_both(images, good_labels, "is truncated: expected 1019200000 bytes of pixels, file ends after 1048576");
    free(noise);

    /* Plain files: their size settles it, for check as for train. */
    char *plain = test_util_tmp_path("b-plain.idx");
    unsigned char more[61];
    memcpy(more, pixels, 60);
    more[60] = 1;
    test_util_write_bytes(plain, buf, test_util_make_idx(buf, 0x08, 3, img_dims, more, sizeof more));
    expect_idx_both(plain, good_labels, "has data after the 76 bytes its header declares");
    test_util_write_bytes(plain, buf, test_util_make_idx(buf, 0x08, 3, img_dims, pixels, 10));
    expect_idx_both(plain, good_labels, "is truncated: expected 60 bytes of pixels, file ends after 10");

    /* gzip held to the same strictness: a cut-off trailer, and bytes after the stream. */
    size_t n = test_util_make_idx(buf, 0x08, 3, img_dims, pixels, sizeof pixels);
    size_t gz_n = 0;
    unsigned char *gz = gz_bytes(buf, n, &gz_n);
    unsigned char with_tail[512];
    CU_ASSERT_FATAL(gz_n + 8 <= sizeof with_tail);
    for (size_t cut = 1; cut <= 8; cut += 7) {
        test_util_write_bytes(images, gz, gz_n - cut);
        expect_idx_both(images, good_labels,
                        "is truncated: its gzip data ends without the trailer (CRC-32 and length) that checks it");
    }
    const char *tails[3] = {"garbage!", "\0\0\0\0", "\x1f\0ab"};
    for (int t = 0; t < 3; t++) {
        memcpy(with_tail, gz, gz_n);
        memcpy(with_tail + gz_n, tails[t], 4 + 4 * (t == 0));
        test_util_write_bytes(images, with_tail, gz_n + 4 + 4 * (t == 0));
        expect_idx_both(images, good_labels, "has bytes after the end of its gzip data");
    }
    /* A damaged CRC: the header and length agree, so check passes; reading the data fails. */
    memcpy(with_tail, gz, gz_n);
    with_tail[gz_n - 8] ^= 0x55;
    test_util_write_bytes(images, with_tail, gz_n);
    char *line = idx_fail(images, good_labels, 0, (struct ns_loc){0});
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "\": incorrect data check"));
    free(line);
    /* Two members (gzip a b > ab.gz) are one file. */
    size_t first_n = 0, second_n = 0;
    unsigned char *first = gz_bytes(buf, 30, &first_n), *second = gz_bytes(buf + 30, n - 30, &second_n);
    CU_ASSERT_FATAL(first_n + second_n <= sizeof with_tail);
    memcpy(with_tail, first, first_n);
    memcpy(with_tail + first_n, second, second_n);
    test_util_write_bytes(images, with_tail, first_n + second_n);
    struct ns_diag diag = {0};
    struct dataset ds = {0};
    CU_ASSERT_TRUE(data_idx_load(&diag, (struct ns_loc){0}, images, (struct ns_loc){0}, good_labels, 0, &ds));
    print_diag(&diag);
    check_idx_dataset(&ds, 3);
    dataset_free(&ds);
    ns_diag_free(&diag);
    free(first);
    free(second);
    free(gz);

    /* One class is not a classification problem. */
    char *one_class = test_util_tmp_path("b-one.idx");
    const unsigned char zeros[5] = {0};
    const uint32_t five[1] = {5};
    test_util_write_bytes(one_class, buf, test_util_make_idx(buf, 0x08, 1, five, zeros, 5));
    line = idx_fail(good_images, one_class, 0, (struct ns_loc){0});
    char *want = ns_asprintf("error: every label in \"%s\" is 0: the data has 1 class", one_class);
    CU_ASSERT_PTR_NOT_NULL(strstr(line, want));
    free(want);
    free(line);

    /* A FIFO is refused, never waited on (the alarm ends a hang as a failure). */
    char *fifo = test_util_tmp_path("b-images.fifo");
    unlink(fifo);
    CU_ASSERT_EQUAL_FATAL(mkfifo(fifo, 0600), 0);
    alarm(20);
    line = idx_fail(fifo, good_labels, 0, (struct ns_loc){"spec.yaml", 5, 19, 4});
    alarm(0);
    want = ns_asprintf("spec.yaml:5:19: error: cannot open \"%s\": not a regular file (a FIFO)", fifo);
    CU_ASSERT_STRING_EQUAL(line, want);
    free(want);
    free(line);
    free(fifo);

    free(one_class);
    free(plain);
    free(images);
    free(good_images);
    free(good_labels);
}

/* ---- CSV ---- */

static void test_csv_good(void)
{
    char *path = test_util_tmp_path("good.csv");
    test_util_write_text(path, "\xEF\xBB\xBF" "a,\"b\", \"label\"\r\n1,2,0\r\n\r\n  \n3.5, 4 ,1\r\n-1e2,\"7\",2");
    struct ns_diag diag = {0};
    struct data_csv_header hdr = {0};
    CU_ASSERT_TRUE_FATAL(data_csv_read_header(&diag, (struct ns_loc){0}, path, &hdr));
    CU_ASSERT_EQUAL(hdr.column_count, 3);
    CU_ASSERT_STRING_EQUAL(hdr.columns[0], "a");
    CU_ASSERT_STRING_EQUAL(hdr.columns[1], "b");
    CU_ASSERT_STRING_EQUAL(hdr.columns[2], "label");
    CU_ASSERT_EQUAL(hdr.row_count, 3);
    data_csv_header_free(&hdr);

    struct data_csv_opts o = {.label_column = "label"};
    struct dataset ds = {0};
    CU_ASSERT_TRUE_FATAL(data_csv_load(&diag, (struct ns_loc){0}, path, &o, &ds));
    print_diag(&diag);
    CU_ASSERT_EQUAL(ds.count, 3);
    CU_ASSERT_EQUAL(ds.shape.rank, 1);
    CU_ASSERT_EQUAL(ds.shape.dims[0], 2);
    CU_ASSERT_EQUAL(ds.sample_size, 2);
    const float want[6] = {1, 2, 3.5f, 4, -100, 7};
    for (int i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(ds.x[i], want[i]);
    CU_ASSERT_EQUAL(ds.labels[0], 0);
    CU_ASSERT_EQUAL(ds.labels[1], 1);
    CU_ASSERT_EQUAL(ds.labels[2], 2);
    CU_ASSERT_EQUAL(ds.class_count, 3);
    CU_ASSERT_PTR_NULL(ds.targets);
    dataset_free(&ds);

    /* Regression on b: features a and label, in file order. */
    struct data_csv_opts r = {.label_column = "b", .regression = true};
    CU_ASSERT_TRUE_FATAL(data_csv_load(&diag, (struct ns_loc){0}, path, &r, &ds));
    CU_ASSERT_PTR_NULL(ds.labels);
    CU_ASSERT_EQUAL(ds.class_count, 0);
    CU_ASSERT_EQUAL(ds.targets[0], 2.0f);
    CU_ASSERT_EQUAL(ds.targets[2], 7.0f);
    CU_ASSERT_EQUAL(ds.x[2], 3.5f);
    CU_ASSERT_EQUAL(ds.x[3], 1.0f);
    dataset_free(&ds);

    struct data_header h = {0};
    struct data_csv_opts c = {.label_column = "label", .class_count = 3};
    CU_ASSERT_TRUE(data_csv_check(&diag, (struct ns_loc){0}, path, &c, &h));
    CU_ASSERT_EQUAL(h.shape.rank, 1);
    CU_ASSERT_EQUAL(h.shape.dims[0], 2);
    CU_ASSERT_EQUAL(h.count, 3);
    CU_ASSERT_EQUAL(h.class_count, 3);
    CU_ASSERT_EQUAL(diag.count, 0);
    ns_diag_free(&diag);
    free(path);
}

static char *csv_fail(const char *path, const struct data_csv_opts *o, struct ns_diag *diag)
{
    struct dataset ds = {0};
    CU_ASSERT_FALSE(data_csv_load(diag, (struct ns_loc){0}, path, o, &ds));
    CU_ASSERT_PTR_NULL(ds.x);
    CU_ASSERT_TRUE_FATAL(diag->count >= 1);
    CU_ASSERT_EQUAL(diag->items[0].code, NS_ERR_DATA);
    return ns_error_first_line(&diag->items[0]);
}

/* CSV `text` at path fails to load with first line "PATH" + located (":LINE:COL: error: ..."). */
static void expect_csv_error(const char *path, const char *text, const struct data_csv_opts *o, const char *located)
{
    struct ns_diag diag = {0};
    test_util_write_text(path, text);
    char *line = csv_fail(path, o, &diag);
    char *want = ns_asprintf("%s%s", path, located);
    CU_ASSERT_STRING_EQUAL(line, want);
    free(want);
    free(line);
    ns_diag_free(&diag);
}

static void test_csv_errors(void)
{
    char *path = test_util_tmp_path("bad.csv");
    struct ns_diag diag = {0};
    char *line, *want;

    /* Missing label column: at the spec place, with a suggestion and the columns. */
    test_util_write_text(path, "sepal_length,sepal_width,species\n1,2,0\n");
    struct data_csv_opts o = {.label_column = "specie", .label_loc = {"spec.yaml", 9, 17, 6}};
    line = csv_fail(path, &o, &diag);
    want = ns_asprintf("spec.yaml:9:17: error: no column \"specie\" in \"%s\"", path);
    CU_ASSERT_STRING_EQUAL(line, want);
    CU_ASSERT_STRING_EQUAL(diag.items[0].hint,
                           "did you mean \"species\"? columns: sepal_length, sepal_width, species");
    free(want);
    free(line);
    ns_diag_free(&diag);

    /* A non-numeric cell: at the cell itself. */
    test_util_write_text(path, "a,b,label\n1,2,0\n1, xyz,0\n");
    o = (struct data_csv_opts){.label_column = "label"};
    line = csv_fail(path, &o, &diag);
    want = ns_asprintf("%s:3:4: error: cell \"xyz\" in column \"b\" is not a number", path);
    CU_ASSERT_STRING_EQUAL(line, want);
    CU_ASSERT_EQUAL(diag.items[0].span, 3);
    free(want);
    free(line);
    ns_diag_free(&diag);

    /* A number no float holds (it would train on infinity), as a feature and as a target. */
    test_util_write_text(path, "a,b,label\n1,2,0\n1,-1e39,0\n");
    line = csv_fail(path, &o, &diag);
    want = ns_asprintf("%s:3:3: error: cell \"-1e39\" in column \"b\" is beyond the float range (+-3.4e38)", path);
    CU_ASSERT_STRING_EQUAL(line, want);
    free(want);
    free(line);
    ns_diag_free(&diag);
    test_util_write_text(path, "a,label\n1,2.5\n1,4e38\n");
    struct data_csv_opts r = {.label_column = "label", .regression = true};
    line = csv_fail(path, &r, &diag);
    want = ns_asprintf("%s:3:3: error: target \"4e38\" in column \"label\" is beyond the float range (+-3.4e38)", path);
    CU_ASSERT_STRING_EQUAL(line, want);
    free(want);
    free(line);
    ns_diag_free(&diag);

    /* Names model.yaml records must be UTF-8 text: a column name, a category, a class name. */
    test_util_write_text(path, "a,b\xef\xbb,label\n1,2,0\n3,4,1\n");
    line = csv_fail(path, &o, &diag);
    want = ns_asprintf("%s:1:3: error: column name \"b\\xef\\xbb\" is not UTF-8 text without control characters", path);
    CU_ASSERT_STRING_EQUAL(line, want);
    CU_ASSERT_STRING_EQUAL(diag.items[0].hint,
                           "model.yaml records the run's column names, categories and classes as UTF-8 text");
    free(want);
    free(line);
    ns_diag_free(&diag);
    expect_csv_error(path, "a,\xef\xbf\xbf,label\n1,2,0\n3,4,1\n", &o,
                     ":1:3: error: column name \"\\xef\\xbf\\xbf\" is not UTF-8 text without control characters");
    const char *colour[1] = {"colour"};
    struct data_csv_opts named = {.label_column = "label", .categorical_count = 1, .categorical = colour};
    expect_csv_error(path, "colour,label\nred,cat\nbl\x01ue,dog\n", &named,
                     ":3:1: error: category \"bl\\x01ue\" in column \"colour\" is not UTF-8 text without control "
                     "characters");
    expect_csv_error(path, "a,label\n1,cat\n2,d\xffg\n", &o,
                     ":3:3: error: label \"d\\xffg\" in column \"label\" is not UTF-8 text without control characters");

    /* Ragged rows, CRLF: too few cells points past the end, too many at the first extra cell. */
    test_util_write_text(path, "a,b,label\r\n1,2\r\n1,2,0,9\r\n");
    line = csv_fail(path, &o, &diag);
    want = ns_asprintf("%s:2:4: error: line has 2 cells; the header has 3 columns", path);
    CU_ASSERT_STRING_EQUAL(line, want);
    free(want);
    free(line);
    CU_ASSERT_EQUAL(diag.count, 2);
    line = ns_error_first_line(&diag.items[1]);
    want = ns_asprintf("%s:3:7: error: line has 4 cells; the header has 3 columns", path);
    CU_ASSERT_STRING_EQUAL(line, want);
    free(want);
    free(line);
    ns_diag_free(&diag);

    /* Labels: not an integer; outside the listed classes; an empty feature. */
    test_util_write_text(path, "a,label\n1,1.5\n2,7\n,0\n");
    o.class_count = 3;
    line = csv_fail(path, &o, &diag);
    want = ns_asprintf("%s:2:3: error: label \"1.5\" in column \"label\" is not a class index (an integer 0 or more)",
                       path);
    CU_ASSERT_STRING_EQUAL(line, want);
    free(want);
    free(line);
    CU_ASSERT_TRUE(has_error(&diag, ":3:3: error: label 7 in column \"label\" is outside classes 0..2"));
    CU_ASSERT_TRUE(has_error(&diag, ":4:1: error: empty cell in column \"a\""));
    ns_diag_free(&diag);

    /* Header problems. */
    test_util_write_text(path, "a,,label\n1,2,3\n");
    o.class_count = 0;
    line = csv_fail(path, &o, &diag);
    CU_ASSERT_PTR_NOT_NULL(strstr(line, ":1:3: error: column 2 has no name"));
    free(line);
    ns_diag_free(&diag);
    test_util_write_text(path, "label\n1\n");
    line = csv_fail(path, &o, &diag);
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "has no feature columns besides \"label\""));
    free(line);
    ns_diag_free(&diag);
    test_util_write_text(path, "\n\n");
    line = csv_fail(path, &o, &diag);
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "is empty: expected a header row of column names"));
    free(line);
    ns_diag_free(&diag);
    test_util_write_text(path, "a,\"label\n1,2\n");
    line = csv_fail(path, &o, &diag);
    CU_ASSERT_PTR_NOT_NULL(strstr(line, ":1:3: error: unterminated quote"));
    free(line);
    ns_diag_free(&diag);

    /* Many bad rows: ten errors, then a note. */
    struct ns_buf many = {0};
    ns_buf_puts(&many, "a,label\n");
    for (int i = 0; i < 30; i++)
        ns_buf_puts(&many, "x,0\n");
    test_util_write_text(path, many.data);
    ns_buf_free(&many);
    line = csv_fail(path, &o, &diag);
    free(line);
    CU_ASSERT_EQUAL(diag.count, 10);
    CU_ASSERT_PTR_NOT_NULL(diag.items[9].hint);
    ns_diag_free(&diag);
    free(path);
}

/* ---- image folders ---- */

static void make_dir(const char *path)
{
    CU_ASSERT_FATAL(mkdir(path, 0777) == 0);
}

/* A solid-colour RGB image w x h. */
static void write_solid_png(const char *path, int w, int h, unsigned char r, unsigned char g, unsigned char b)
{
    unsigned char *px = ns_xmalloc((size_t)w * (size_t)h * 3);
    for (int i = 0; i < w * h; i++) {
        px[3 * i] = r;
        px[3 * i + 1] = g;
        px[3 * i + 2] = b;
    }
    CU_ASSERT_FATAL(stbi_write_png(path, w, h, 3, px, w * 3) != 0);
    free(px);
}

/* ROOT/{cat,dog,eel}: cat 2 PNGs, dog 1 JPEG + 1 PNG, eel 2 PNGs and a note. */
static char *make_folder(const char *name)
{
    char *root = test_util_tmp_path(name);
    make_dir(root);
    const char *classes[3] = {"cat", "dog", "eel"};
    for (int c = 0; c < 3; c++) {
        char *dir = ns_asprintf("%s/%s", root, classes[c]);
        make_dir(dir);
        free(dir);
    }
    char *p;
    p = ns_asprintf("%s/cat/b.png", root), write_solid_png(p, 8, 6, 10, 200, 30), free(p);
    p = ns_asprintf("%s/cat/a.PNG", root), write_solid_png(p, 4, 4, 1, 2, 3), free(p);
    unsigned char gray[16 * 16];
    for (int i = 0; i < 256; i++)
        gray[i] = 128;
    p = ns_asprintf("%s/dog/x.jpg", root);
    CU_ASSERT_FATAL(stbi_write_jpg(p, 16, 16, 1, gray, 95) != 0);
    free(p);
    p = ns_asprintf("%s/dog/y.png", root), write_solid_png(p, 4, 4, 255, 255, 255), free(p);
    p = ns_asprintf("%s/eel/1.png", root), write_solid_png(p, 2, 2, 0, 0, 0), free(p);
    p = ns_asprintf("%s/eel/2.png", root), write_solid_png(p, 3, 5, 40, 50, 60), free(p);
    p = ns_asprintf("%s/eel/notes.txt", root), test_util_write_text(p, "not an image"), free(p);
    return root;
}

static void test_folder_load(void)
{
    char *root = make_folder("imgs");
    struct ns_diag diag = {0};
    struct data_folder_opts o = {.root = root, .height = 4, .width = 4, .channels = 3, .threads = 1};
    struct dataset ds = {0};
    CU_ASSERT_TRUE_FATAL(data_folder_load(&diag, &o, &ds));
    print_diag(&diag);
    CU_ASSERT_EQUAL(ds.count, 6);
    CU_ASSERT_EQUAL(ds.shape.rank, 3);
    CU_ASSERT_EQUAL(ds.shape.dims[0], 4);
    CU_ASSERT_EQUAL(ds.shape.dims[1], 4);
    CU_ASSERT_EQUAL(ds.shape.dims[2], 3);
    CU_ASSERT_EQUAL(ds.sample_size, 48);
    CU_ASSERT_EQUAL(ds.class_count, 3);
    CU_ASSERT_STRING_EQUAL(ds.class_names[0], "cat");
    CU_ASSERT_STRING_EQUAL(ds.class_names[2], "eel");
    const int32_t want_labels[6] = {0, 0, 1, 1, 2, 2};
    for (int i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(ds.labels[i], want_labels[i]);
    CU_ASSERT_EQUAL(ds.ignored, 1);
    CU_ASSERT_EQUAL(ds.skipped, 0);
    /* Sorted by strcmp: "a.PNG" before "b.png"; b was 8x6 and is resized, staying solid. */
    CU_ASSERT_EQUAL(dataset_value(&ds, 0, 0), 1.0f);
    CU_ASSERT_EQUAL(dataset_value(&ds, 0, 47), 3.0f);
    for (int k = 0; k < 16; k++) {
        CU_ASSERT_EQUAL(dataset_value(&ds, 1, 3 * k), 10.0f);
        CU_ASSERT_EQUAL(dataset_value(&ds, 1, 3 * k + 1), 200.0f);
        CU_ASSERT_EQUAL(dataset_value(&ds, 1, 3 * k + 2), 30.0f);
    }
    /* The gray JPEG comes out as three equal channels near 128. */
    float jpg[48];
    dataset_sample_floats(&ds, 2, jpg);
    CU_ASSERT_EQUAL(jpg[0], jpg[1]);
    CU_ASSERT_TRUE(fabsf(jpg[0] - 128.0f) <= 2.0f);
    CU_ASSERT_EQUAL(dataset_value(&ds, 3, 5), 255.0f);

    /* Thread count does not change a bit. */
    struct dataset ds2 = {0};
    o.threads = 2;
    CU_ASSERT_TRUE_FATAL(data_folder_load(&diag, &o, &ds2));
    CU_ASSERT_PTR_NULL(ds.x);
    CU_ASSERT_EQUAL(memcmp(ds.bytes, ds2.bytes, ds.count * ds.sample_size), 0);
    dataset_free(&ds2);
    dataset_free(&ds);

    /* Gray output uses stb's luminance: (77 r + 150 g + 29 b) >> 8. */
    o.channels = 1;
    CU_ASSERT_TRUE_FATAL(data_folder_load(&diag, &o, &ds));
    CU_ASSERT_EQUAL(ds.sample_size, 16);
    CU_ASSERT_EQUAL(dataset_value(&ds, 1, 0), (float)((77 * 10 + 150 * 200 + 29 * 30) >> 8));
    dataset_free(&ds);

    /* One image for predict. */
    float one[4 * 4 * 3];
    char *p = ns_asprintf("%s/cat/b.png", root);
    CU_ASSERT_TRUE(data_folder_load_image(&diag, (struct ns_loc){0}, p, 4, 4, 3, one));
    CU_ASSERT_EQUAL(one[1], 200.0f);
    free(p);

    /* The scan and the header check. */
    struct data_folder_index idx;
    o.channels = 3;
    CU_ASSERT_TRUE_FATAL(data_folder_scan(&diag, &o, true, &idx));
    CU_ASSERT_EQUAL(idx.count, 6);
    CU_ASSERT_EQUAL(idx.class_count, 3);
    CU_ASSERT_EQUAL(idx.class_files[1], 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(idx.paths[0], "/cat/a.PNG"));
    data_folder_index_free(&idx);
    struct data_header h;
    CU_ASSERT_TRUE(data_folder_check_opts(&diag, &o, &h));
    CU_ASSERT_EQUAL(h.count, 6);
    CU_ASSERT_EQUAL(h.class_count, 3);
    CU_ASSERT_EQUAL(h.shape.dims[2], 3);
    CU_ASSERT_EQUAL(h.skipped, 0);
    CU_ASSERT_EQUAL(h.ignored, 1);

    /* An explicit class list sets the label order. */
    const char *listed[3] = {"eel", "cat", "dog"};
    o.class_count = 3;
    o.classes = listed;
    CU_ASSERT_TRUE_FATAL(data_folder_load(&diag, &o, &ds));
    CU_ASSERT_EQUAL(ds.labels[0], 0);
    CU_ASSERT_STRING_EQUAL(ds.class_names[0], "eel");
    CU_ASSERT_EQUAL(dataset_value(&ds, 0, 0), 0.0f);
    CU_ASSERT_EQUAL(ds.labels[5], 2);
    dataset_free(&ds);
    CU_ASSERT_EQUAL(diag.count, 0);
    ns_diag_free(&diag);
    free(root);
}

/* Only the documented formats reach stb_image (Debian's 2.27 has memory errors in other
 * decoders); a JPEG Huffman table with more than 256 codes, which 2.27 writes past, an image
 * of height 0, which the resize divides by, a 16-bit PGM, which 2.27 reads past its buffer,
 * and a PPM cut short, whose missing pixels 2.27 leaves uninitialised, are refused before
 * decoding (found by tests/fuzz/fuzz_image). */
static void test_image_formats_gated(void)
{
    static const unsigned char gif[] = "GIF89a\x01\x00\x01\x00\x00\x00\x00;";
    static const unsigned char empty[] = "P6\n2 0\n255\n";
    static const unsigned char deep[] = "P5\n2 1\n525\n\xff\x00\x00\x00";
    static const unsigned char wide[] = "P5 # comment\n2147483648 1\n255\n\x00";
    static const unsigned char cut[] = "P6\n2 2\n255\n\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b";
    static const unsigned char dht[] = {0xff, 0xd8, 0xff, 0xc4, 0x00, 0x13, 0x00, 0xff, 0x2d, 0, 0, 0, 0, 0,
                                        0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xd9};
    const struct {
        const char *name;
        const unsigned char *bytes;
        size_t size;
        const char *why;
    } cases[] = {
        {"gif.png", gif, sizeof gif - 1, "not a PNG, JPEG, BMP, PGM or PPM file"},
        {"dht.jpg", dht, sizeof dht, "a JPEG Huffman table (DHT) declares more than 256 codes: corrupt JPEG"},
        {"empty.ppm", empty, sizeof empty - 1, "the image has no pixels"},
        {"deep.pgm", deep, sizeof deep - 1, "it is a PGM/PPM with more than 8 bits per sample (maxval above 255)"},
        {"wide.pgm", wide, sizeof wide - 1, "a number in its PGM/PPM header has more than 9 digits"},
        {"short.ppm", cut, sizeof cut - 1, "the PGM/PPM file is shorter than its header says"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *path = test_util_tmp_path(cases[i].name);
        FILE *f = fopen(path, "wb");
        CU_ASSERT_FATAL(f != NULL);
        CU_ASSERT(fwrite(cases[i].bytes, 1, cases[i].size, f) == cases[i].size);
        fclose(f);
        struct ns_diag diag = {0};
        float px[4];
        CU_ASSERT_FALSE(data_folder_load_image(&diag, (struct ns_loc){0}, path, 2, 2, 1, px));
        CU_ASSERT_EQUAL_FATAL(diag.count, 1);
        char *line = ns_error_first_line(&diag.items[0]);
        char *want = ns_asprintf("%s: error: cannot decode image \"%s\": %s", path, path, cases[i].why);
        CU_ASSERT_STRING_EQUAL(line, want);
        free(want);
        free(line);
        ns_diag_free(&diag);
        free(path);
    }
}

static void test_folder_errors(void)
{
    char *root = make_folder("bad-imgs");
    struct ns_diag diag = {0};
    struct ns_loc spec = {"spec.yaml", 4, 9, 10};
    struct data_folder_opts o = {.root = root, .root_loc = spec, .height = 4, .width = 4, .channels = 3};
    struct dataset ds = {0};

    /* A truncated PNG: an error naming it, or skipped and counted. */
    char *good = ns_asprintf("%s/eel/2.png", root);
    FILE *f = fopen(good, "rb");
    unsigned char bytes[4096];
    size_t n = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    char *cut = ns_asprintf("%s/dog/z.png", root);
    test_util_write_bytes(cut, bytes, n - 20);
    CU_ASSERT_FALSE(data_folder_load(&diag, &o, &ds));
    CU_ASSERT_PTR_NULL(ds.x);
    CU_ASSERT_PTR_NULL(ds.bytes);
    char *want = ns_asprintf("spec.yaml:4:9: error: cannot decode image \"%s\":", cut);
    char *line = find_error(&diag, want);
    CU_ASSERT_PTR_NOT_NULL(line);
    free(line);
    free(want);
    CU_ASSERT_EQUAL(diag.count, 1);
    CU_ASSERT_EQUAL(diag.items[0].code, NS_ERR_DATA);
    ns_diag_free(&diag);
    o.skip_unreadable = true;
    CU_ASSERT_TRUE_FATAL(data_folder_load(&diag, &o, &ds));
    CU_ASSERT_EQUAL(ds.count, 6);
    CU_ASSERT_EQUAL(ds.skipped, 1);
    CU_ASSERT_EQUAL(ds.labels[3], 1);
    CU_ASSERT_EQUAL(ds.labels[4], 2);
    CU_ASSERT_EQUAL(dataset_value(&ds, 5, 0), 40.0f);
    dataset_free(&ds);

    /* Not an image at all: the header scan catches it. */
    char *junk = ns_asprintf("%s/cat/junk.png", root);
    test_util_write_text(junk, "this is text");
    o.skip_unreadable = false;
    struct data_folder_index idx;
    CU_ASSERT_FALSE(data_folder_scan(&diag, &o, true, &idx));
    want = ns_asprintf("cannot read image \"%s\":", junk);
    CU_ASSERT_TRUE(has_error(&diag, want));
    free(want);
    ns_diag_free(&diag);
    o.skip_unreadable = true;
    CU_ASSERT_TRUE_FATAL(data_folder_scan(&diag, &o, true, &idx));
    /* The text file, and the cut PNG: its last chunk goes past the end of the file, which the
     * header check sees before any decoding. */
    CU_ASSERT_EQUAL(idx.skipped, 2);
    CU_ASSERT_EQUAL(idx.count, 6);
    CU_ASSERT_EQUAL(idx.class_files[0], 2);
    data_folder_index_free(&idx);
    remove(junk);
    remove(cut);
    free(junk);
    free(cut);
    free(good);
    o.skip_unreadable = false;

    /* Listed classes against folders. */
    const char *two[2] = {"cat", "dog"};
    o.classes = two;
    o.class_count = 2;
    CU_ASSERT_FALSE(data_folder_load(&diag, &o, &ds));
    want = ns_asprintf("spec.yaml:4:9: error: folder \"eel\" in \"%s\" is not a listed class", root);
    CU_ASSERT_TRUE(has_error(&diag, want));
    free(want);
    ns_diag_free(&diag);
    const char *four[4] = {"cat", "dog", "eel", "eell"};
    struct ns_loc locs[4] = {{0}, {0}, {0}, {"spec.yaml", 6, 30, 5}};
    o.classes = four;
    o.class_count = 4;
    o.class_locs = locs;
    CU_ASSERT_FALSE(data_folder_load(&diag, &o, &ds));
    want = ns_asprintf("spec.yaml:6:30: error: no folder for class \"eell\" in \"%s\"", root);
    line = find_error(&diag, want);
    CU_ASSERT_PTR_NOT_NULL(line);
    free(line);
    free(want);
    CU_ASSERT_PTR_NOT_NULL(strstr(diag.items[0].hint, "did you mean \"eel\"?"));
    ns_diag_free(&diag);
    o.classes = NULL;
    o.class_count = 0;
    o.class_locs = NULL;

    /* An empty class folder, a missing root. */
    char *empty = ns_asprintf("%s/fox", root);
    make_dir(empty);
    CU_ASSERT_FALSE(data_folder_load(&diag, &o, &ds));
    want = ns_asprintf("class folder \"%s\" has no images", empty);
    CU_ASSERT_TRUE(has_error(&diag, want));
    free(want);
    ns_diag_free(&diag);
    rmdir(empty);
    free(empty);
    o.root = "/nonexistent/netspec-root";
    CU_ASSERT_FALSE(data_folder_load(&diag, &o, &ds));
    CU_ASSERT_TRUE(has_error(&diag,
                             "spec.yaml:4:9: error: cannot open folder \"/nonexistent/netspec-root\": No such file"));
    ns_diag_free(&diag);
    free(root);
}

static void test_folder_write_pngs(void)
{
    /* A dataset written as PNG folders reads back the same. */
    struct dataset ds = {0};
    ds.count = 4;
    ds.shape = (struct spec_shape){3, {3, 2, 1}};
    ds.sample_size = 6;
    ds.class_count = 2;
    ds.x = ns_xmalloc(24 * sizeof(float));
    ds.labels = ns_xmalloc(4 * sizeof(int32_t));
    for (int i = 0; i < 24; i++)
        ds.x[i] = (float)(i * 10);
    const int32_t lab[4] = {1, 0, 1, 0};
    memcpy(ds.labels, lab, sizeof lab);
    char *root = test_util_tmp_path("written");
    struct ns_diag diag = {0};
    const char *names[2] = {"zero", "one"};
    CU_ASSERT_TRUE_FATAL(data_folder_write_pngs(&diag, &ds, root, names));
    struct data_folder_opts o = {.root = root, .height = 3, .width = 2, .channels = 1};
    const char *order[2] = {"zero", "one"};
    o.classes = order;
    o.class_count = 2;
    struct dataset back = {0};
    CU_ASSERT_TRUE_FATAL(data_folder_load(&diag, &o, &back));
    CU_ASSERT_EQUAL(back.count, 4);
    /* zero/000001.png, zero/000003.png, one/000000.png, one/000002.png */
    const int src_of[4] = {1, 3, 0, 2};
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(back.labels[i], lab[src_of[i]]);
        for (size_t k = 0; k < 6; k++)
            CU_ASSERT_EQUAL(dataset_value(&back, (size_t)i, k), dataset_value(&ds, (size_t)src_of[i], k));
    }
    dataset_free(&back);
    dataset_free(&ds);
    ns_diag_free(&diag);
    free(root);
}

/* ---- splits ---- */

static void test_split_stratified(void)
{
    /* 100 samples: 50 of class 0, 30 of class 1, 20 of class 2, interleaved. */
    int32_t labels[100];
    for (int i = 0; i < 100; i++)
        labels[i] = i % 10 < 5 ? 0 : i % 10 < 8 ? 1 : 2;
    const double f[3] = {0.8, 0.1, 0.1};
    struct data_split a, b, c;
    CU_ASSERT_TRUE_FATAL(data_split_stratified(labels, 100, 3, f, 3, 42, &a));
    CU_ASSERT_TRUE_FATAL(data_split_stratified(labels, 100, 3, f, 3, 42, &b));
    CU_ASSERT_TRUE_FATAL(data_split_stratified(labels, 100, 3, f, 3, 43, &c));
    CU_ASSERT_EQUAL(a.count[0], 80);
    CU_ASSERT_EQUAL(a.count[1], 10);
    CU_ASSERT_EQUAL(a.count[2], 10);
    const size_t per_class[3][3] = {{40, 24, 16}, {5, 3, 2}, {5, 3, 2}};
    int seen[100] = {0};
    for (int p = 0; p < 3; p++) {
        size_t cls[3] = {0};
        for (size_t i = 0; i < a.count[p]; i++) {
            cls[labels[a.index[p][i]]]++;
            seen[a.index[p][i]]++;
            if (i)
                CU_ASSERT_TRUE(a.index[p][i - 1] < a.index[p][i]);
        }
        for (int k = 0; k < 3; k++)
            CU_ASSERT_EQUAL(cls[k], per_class[p][k]);
        CU_ASSERT_EQUAL(memcmp(a.index[p], b.index[p], a.count[p] * sizeof(size_t)), 0);
    }
    for (int i = 0; i < 100; i++)
        CU_ASSERT_EQUAL(seen[i], 1);
    CU_ASSERT_NOT_EQUAL(memcmp(a.index[1], c.index[1], a.count[1] * sizeof(size_t)), 0);
    data_split_free(&a);
    data_split_free(&b);
    data_split_free(&c);

    /* Largest remainder: 7 samples at 0.5/0.25/0.25 = 3.5/1.75/1.75 -> 3/2/2. */
    const double g[3] = {0.5, 0.25, 0.25};
    CU_ASSERT_TRUE_FATAL(data_split_stratified(NULL, 7, 0, g, 3, 1, &a));
    CU_ASSERT_EQUAL(a.count[0], 3);
    CU_ASSERT_EQUAL(a.count[1], 2);
    CU_ASSERT_EQUAL(a.count[2], 2);
    data_split_free(&a);

    /* Validation as a fraction of train, two parts. */
    const double v[2] = {0.9, 0.1};
    CU_ASSERT_TRUE_FATAL(data_split_stratified(labels, 100, 3, v, 2, 7, &a));
    CU_ASSERT_EQUAL(a.count[0], 90);
    CU_ASSERT_EQUAL(a.count[1], 10);
    data_split_free(&a);

    /* Bad arguments. */
    const double bad[2] = {0.5, 0.6};
    CU_ASSERT_FALSE(data_split_stratified(labels, 100, 3, bad, 2, 7, &a));
    CU_ASSERT_FALSE(data_split_stratified(labels, 100, 2, v, 2, 7, &a));

    /* Permutations and keys. */
    size_t perm[50], perm2[50];
    data_split_permutation(5, 50, perm);
    data_split_permutation(5, 50, perm2);
    CU_ASSERT_EQUAL(memcmp(perm, perm2, sizeof perm), 0);
    int hits[50] = {0};
    int moved = 0;
    for (int i = 0; i < 50; i++) {
        hits[perm[i]]++;
        moved += perm[i] != (size_t)i;
    }
    for (int i = 0; i < 50; i++)
        CU_ASSERT_EQUAL(hits[i], 1);
    CU_ASSERT_TRUE(moved > 40);
    CU_ASSERT_EQUAL(data_split_key(1234, "split", 0), data_split_key(1234, "split", 0));
    CU_ASSERT_NOT_EQUAL(data_split_key(1234, "split", 0), data_split_key(1234, "shuffle", 0));
    CU_ASSERT_NOT_EQUAL(data_split_key(1234, "shuffle", 0), data_split_key(1234, "shuffle", 1));
}

/* ---- preprocessing ---- */

static void test_prep_norm(void)
{
    struct ns_diag diag = {0};
    struct spec_shape shape = {3, {1, 2, 3}};
    const double mean[3] = {0.5, 0.25, 0.125};
    const double sd[1] = {0.5};
    struct data_prep_norm n;
    CU_ASSERT_TRUE_FATAL(data_prep_norm_init(&diag, (struct ns_loc){0}, shape, 1.0 / 255, mean, 3, sd, 1, &n));
    CU_ASSERT_EQUAL(n.channels, 3);
    float x[12];
    for (int i = 0; i < 12; i++)
        x[i] = (float)(i * 20);
    float want[12];
    for (int i = 0; i < 12; i++)
        want[i] = (x[i] * (float)(1.0 / 255) - (float)mean[i % 3]) / 0.5f;
    data_prep_norm_apply(1, &n, x, 2, 6);
    CU_ASSERT_EQUAL(memcmp(x, want, sizeof x), 0);
    data_prep_norm_free(&n);

    /* Scale only: exactly x * scale. */
    CU_ASSERT_TRUE_FATAL(data_prep_norm_init(&diag, (struct ns_loc){0}, shape, 0.5, NULL, 0, NULL, 0, &n));
    float y[6] = {1, 2, 3, 4, 5, 255};
    data_prep_norm_apply(2, &n, y, 1, 6);
    CU_ASSERT_EQUAL(y[5], 127.5f);
    data_prep_norm_free(&n);
    CU_ASSERT_EQUAL(diag.count, 0);

    /* Wrong counts and a zero std. */
    struct ns_loc loc = {"spec.yaml", 12, 5, 4};
    CU_ASSERT_FALSE(data_prep_norm_init(&diag, loc, shape, 1, mean, 2, NULL, 0, &n));
    CU_ASSERT_TRUE(has_error(&diag, "spec.yaml:12:5: error: normalize.mean has 2 values; expected 1 or 3 (one per channel)"));
    ns_diag_free(&diag);
    const double zero[1] = {0};
    CU_ASSERT_FALSE(data_prep_norm_init(&diag, loc, shape, 1, NULL, 0, zero, 1, &n));
    CU_ASSERT_TRUE(has_error(&diag, "normalize.std value 0 is not positive"));
    ns_diag_free(&diag);
}

static void test_prep_augment(void)
{
    struct spec_shape img = {3, {2, 3, 1}};
    struct spec_shape vec = {1, {6}};
    CU_ASSERT_TRUE(data_prep_augment_applies(img));
    CU_ASSERT_FALSE(data_prep_augment_applies(vec));
    struct data_prep_augment off = {0};
    CU_ASSERT_FALSE(data_prep_augment_active(&off));

    const float in[6] = {1, 2, 3, 4, 5, 6};
    const float flipped[6] = {3, 2, 1, 6, 5, 4};
    struct data_prep_augment flip = {.hflip = true};
    int flips = 0;
    for (uint64_t s = 0; s < 64; s++) {
        float out[6], again[6];
        data_prep_augment_sample(&flip, img, 99, s, in, out);
        data_prep_augment_sample(&flip, img, 99, s, in, again);
        CU_ASSERT_EQUAL(memcmp(out, again, sizeof out), 0);
        bool same = memcmp(out, in, sizeof out) == 0;
        bool mirrored = memcmp(out, flipped, sizeof out) == 0;
        CU_ASSERT_TRUE(same || mirrored);
        flips += mirrored;
    }
    CU_ASSERT_TRUE(flips > 16 && flips < 48);

    /* Crop with padding 1: every output is the input shifted by (dy, dx) in -1..1, zeros outside. */
    struct data_prep_augment crop = {.random_crop = 1};
    int shifts_seen = 0;
    for (uint64_t s = 0; s < 64; s++) {
        float out[6];
        data_prep_augment_sample(&crop, img, 7, s, in, out);
        int match = -1;
        for (int dy = -1; dy <= 1 && match < 0; dy++)
            for (int dx = -1; dx <= 1 && match < 0; dx++) {
                bool ok = true;
                for (int y = 0; y < 2; y++)
                    for (int x = 0; x < 3; x++) {
                        int sy = y + dy, sx = x + dx;
                        float v = sy < 0 || sy >= 2 || sx < 0 || sx >= 3 ? 0.0f : in[sy * 3 + sx];
                        ok = ok && out[y * 3 + x] == v;
                    }
                if (ok)
                    match = (dy + 1) * 3 + dx + 1;
            }
        CU_ASSERT_TRUE(match >= 0);
        if (match >= 0)
            shifts_seen |= 1 << match;
    }
    CU_ASSERT_EQUAL(shifts_seen, 0x1ff);

    /* Gather: augmented then normalised, same as doing it by hand. */
    struct dataset ds = {0};
    ds.count = 3;
    ds.shape = img;
    ds.sample_size = 6;
    ds.x = ns_xmalloc(18 * sizeof(float));
    for (int i = 0; i < 18; i++)
        ds.x[i] = (float)i;
    struct data_prep_norm norm = {.scale = 0.5f};
    struct data_prep_augment both = {.hflip = true, .random_crop = 1};
    const size_t index[2] = {2, 0};
    float batch[12];
    data_prep_gather(2, &ds, index, 2, &norm, &both, 11, batch);
    for (int b = 0; b < 2; b++) {
        float want[6];
        data_prep_augment_sample(&both, img, 11, index[b], dataset_sample(&ds, index[b]), want);
        for (int k = 0; k < 6; k++)
            CU_ASSERT_EQUAL(batch[b * 6 + k], want[k] * 0.5f);
    }
    data_prep_gather(1, &ds, index, 2, NULL, NULL, 0, batch);
    CU_ASSERT_EQUAL(memcmp(batch, dataset_sample(&ds, 2), 6 * sizeof(float)), 0);

    /* Subsets copy rows and labels. */
    ds.labels = ns_xmalloc(3 * sizeof(int32_t));
    ds.labels[0] = 0, ds.labels[1] = 1, ds.labels[2] = 2;
    ds.class_count = 3;
    struct dataset sub;
    dataset_subset(&ds, index, 2, &sub);
    CU_ASSERT_EQUAL(sub.count, 2);
    CU_ASSERT_EQUAL(sub.labels[0], 2);
    CU_ASSERT_EQUAL(sub.x[6], 0.0f);
    CU_ASSERT_EQUAL(sub.x[0], 12.0f);
    dataset_free(&sub);
    dataset_free(&ds);
}

/* ---- from a spec ---- */

static const char spec_tail[] = "model:\n"
                                "  layers:\n"
                                "    - flatten\n"
                                "    - dense: {units: auto}\n"
                                "loss: cross_entropy\n"
                                "optimizer: {type: sgd, lr: 0.1}\n"
                                "schedule: {type: constant}\n"
                                "train: {epochs: 1, batch_size: 2}\n";

static struct spec *load_spec(struct ns_ctx *ctx, const char *name, const char *data_section)
{
    char *path = test_util_tmp_path(name);
    char *text = ns_asprintf("version: 1\nseed: 5\n%s%s", data_section, spec_tail);
    test_util_write_text(path, text);
    struct spec *spec = spec_load(ctx, op_catalog(), path, NULL, 0);
    print_diag(&ctx->diag);
    free(text);
    free(path);
    return spec;
}

/* Pixels held as bytes give the batches pixels held as floats gave, bit for bit: the same
 * float operations on the same values, with and without augmentation, on 1 and 2 threads. */
static void test_prep_bytes_equal_floats(void)
{
    struct spec_shape img = {3, {5, 4, 3}};
    const size_t count = 40, size = 60;
    struct dataset bytes = {.count = count, .shape = img, .sample_size = size};
    struct dataset floats = bytes;
    bytes.bytes = ns_xmalloc(count * size);
    floats.x = ns_xmalloc(count * size * sizeof(float));
    for (size_t i = 0; i < count * size; i++) {
        bytes.bytes[i] = (uint8_t)((i * 97 + i / 7) & 255);
        floats.x[i] = (float)bytes.bytes[i];
    }
    /* Enough samples that the gather runs in parallel (more than 65536 values). */
    const size_t n = 1200;
    size_t *index = ns_xmalloc(n * sizeof *index);
    for (size_t i = 0; i < n; i++)
        index[i] = (i * 13 + 5) % count;
    struct data_prep_norm scale_only = {.scale = (float)(1.0 / 255)};
    float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    struct data_prep_norm per_channel = {.scale = (float)(1.0 / 255), .channels = 3, .mean = mean, .std = std};
    const struct data_prep_norm *norms[3] = {NULL, &scale_only, &per_channel};
    struct data_prep_augment none = {0}, both = {.hflip = true, .random_crop = 2};
    const struct data_prep_augment *augs[2] = {&none, &both};
    float *from_bytes = ns_xmalloc(n * size * sizeof(float)), *from_floats = ns_xmalloc(n * size * sizeof(float));
    for (int k = 0; k < 3; k++)
        for (int a = 0; a < 2; a++)
            for (int threads = 1; threads <= 2; threads++) {
                data_prep_gather(threads, &bytes, index, n, norms[k], augs[a], 77, from_bytes);
                data_prep_gather(3 - threads, &floats, index, n, norms[k], augs[a], 77, from_floats);
                CU_ASSERT_EQUAL(memcmp(from_bytes, from_floats, n * size * sizeof(float)), 0);
            }
    /* And each value is the one formula applied to the byte. */
    data_prep_gather(2, &bytes, index, n, &per_channel, NULL, 0, from_bytes);
    bool exact = true;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < size; j++)
            exact &= from_bytes[i * size + j] ==
                     data_prep_value((float)bytes.bytes[index[i] * size + j], per_channel.scale, mean[j % 3], std[j % 3]);
    CU_ASSERT_TRUE(exact);
    /* Subsets and in-place keeps move bytes like floats. */
    struct dataset sub;
    dataset_subset(&bytes, index, 10, &sub);
    CU_ASSERT_PTR_NULL(sub.x);
    for (size_t i = 0; i < 10; i++)
        CU_ASSERT_EQUAL(memcmp(dataset_sample_bytes(&sub, i), dataset_sample_bytes(&bytes, index[i]), size), 0);
    const size_t keep[3] = {1, 4, 39};
    uint8_t row39[60];
    memcpy(row39, dataset_sample_bytes(&bytes, 39), size);
    dataset_keep(&bytes, keep, 3);
    CU_ASSERT_EQUAL(bytes.count, 3);
    CU_ASSERT_EQUAL(memcmp(dataset_sample_bytes(&bytes, 2), row39, size), 0);
    dataset_free(&sub);
    dataset_free(&bytes);
    dataset_free(&floats);
    free(index);
    free(from_bytes);
    free(from_floats);
}

static void test_spec_idx(void)
{
    char *images = test_util_tmp_path("s-img.idx");
    char *labels = test_util_tmp_path("s-lab.idx.gz");
    write_idx_pair(images, labels, false);
    unsigned char buf[256];
    test_util_write_gz(labels, buf, test_util_make_idx(buf, 0x08, 1, lab_dims, labels5, 5));
    struct ns_ctx ctx;
    ns_ctx_init(&ctx);
    struct spec *spec = load_spec(&ctx, "idx.yaml",
                                  "data:\n"
                                  "  format: idx\n"
                                  "  train: {images: s-img.idx, labels: s-lab.idx.gz}\n"
                                  "  test: {images: s-img.idx, labels: s-lab.idx.gz}\n"
                                  "  validation: 0.4\n"
                                  "  classes: [a, b, c]\n"
                                  "  normalize: {scale: 0.5, mean: [1.0], std: [2.0]}\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(spec);
    struct data_load dl, again;
    CU_ASSERT_TRUE_FATAL(data_load_spec(&ctx.diag, spec, 1, &dl));
    /* Classes of 2, 2 and 1 samples at 0.6/0.4: 1+1, 1+1, 1+0. */
    CU_ASSERT_EQUAL(dl.train.count, 3);
    CU_ASSERT_EQUAL(dl.validation.count, 2);
    CU_ASSERT_EQUAL(dl.test.count, 5);
    CU_ASSERT_EQUAL(dl.class_count, 3);
    CU_ASSERT_EQUAL(dl.shape.dims[0], 4);
    CU_ASSERT_STRING_EQUAL(dl.train.class_names[2], "c");
    CU_ASSERT_STRING_EQUAL(dl.test.class_names[0], "a");
    int per_class[3] = {0};
    for (size_t i = 0; i < dl.validation.count; i++)
        per_class[dl.validation.labels[i]]++;
    CU_ASSERT_EQUAL(per_class[0], 1);
    CU_ASSERT_EQUAL(per_class[1], 1);
    /* Every training row is one of the file's rows with its own label. */
    for (size_t i = 0; i < dl.train.count; i++) {
        size_t row = (size_t)(dataset_value(&dl.train, i, 0) / 48.0f);
        CU_ASSERT_EQUAL(dl.train.labels[i], labels5[row]);
    }
    CU_ASSERT_TRUE_FATAL(data_load_spec(&ctx.diag, spec, 2, &again));
    CU_ASSERT_EQUAL(memcmp(dl.train.bytes, again.train.bytes, dl.train.count * 12), 0);
    data_load_free(&again);

    struct data_prep_norm norm;
    struct data_prep_augment aug;
    CU_ASSERT_TRUE_FATAL(data_prep_from_spec(&ctx.diag, spec, dl.shape, &norm, &aug));
    CU_ASSERT_EQUAL(norm.scale, 0.5f);
    CU_ASSERT_EQUAL(norm.channels, 1);
    CU_ASSERT_EQUAL(norm.mean[0], 1.0f);
    CU_ASSERT_EQUAL(norm.std[0], 2.0f);
    CU_ASSERT_FALSE(data_prep_augment_active(&aug));
    size_t all[5] = {0, 1, 2, 3, 4};
    float test_x[5 * 12];
    data_prep_gather(2, &dl.test, all, 5, &norm, NULL, 0, test_x);
    CU_ASSERT_EQUAL(test_x[1], (4.0f * 0.5f - 1.0f) / 2.0f);
    data_prep_norm_free(&norm);
    data_load_free(&dl);
    ns_ctx_free(&ctx);
    free(images);
    free(labels);
}

static void test_spec_folder_and_csv(void)
{
    char *root = make_folder("spec-imgs");
    struct ns_ctx ctx;
    ns_ctx_init(&ctx);
    struct spec *spec = load_spec(&ctx, "folder.yaml",
                                  "data:\n"
                                  "  format: image_folder\n"
                                  "  root: spec-imgs\n"
                                  "  image: {size: [4, 4], channels: 1}\n"
                                  "  split: {train: 0.5, validation: 0.5, test: 0}\n"
                                  "  classes: [eel, dog, cat]\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(spec);
    struct data_header h;
    CU_ASSERT_TRUE(data_folder_check(&ctx.diag, spec, &h));
    CU_ASSERT_EQUAL(h.count, 6);
    CU_ASSERT_EQUAL(h.ignored, 1);
    CU_ASSERT_EQUAL(h.shape.dims[2], 1);
    struct data_load dl;
    CU_ASSERT_TRUE_FATAL(data_load_spec(&ctx.diag, spec, 0, &dl));
    CU_ASSERT_EQUAL(dl.train.count, 3);
    CU_ASSERT_EQUAL(dl.validation.count, 3);
    CU_ASSERT_EQUAL(dl.test.count, 0);
    CU_ASSERT_STRING_EQUAL(dl.validation.class_names[0], "eel");
    CU_ASSERT_EQUAL(dl.train.labels[0], 0);
    CU_ASSERT_EQUAL(dl.train.labels[2], 2);
    data_load_free(&dl);
    ns_ctx_free(&ctx);

    /* A class listed in the spec without a folder: the error is at the list item. */
    ns_ctx_init(&ctx);
    spec = load_spec(&ctx, "folder2.yaml",
                     "data:\n"
                     "  format: image_folder\n"
                     "  root: spec-imgs\n"
                     "  image: {size: [4, 4], channels: 1}\n"
                     "  classes: [eel, dog, cat, bat]\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(spec);
    CU_ASSERT_FALSE(data_folder_check(&ctx.diag, spec, &h));
    CU_ASSERT_TRUE(has_error(&ctx.diag, "folder2.yaml:7:28: error: no folder for class \"bat\""));
    ns_ctx_free(&ctx);

    /* CSV regression: loss mse makes the label a target. */
    char *csv = test_util_tmp_path("reg.csv");
    struct ns_buf rows = {0};
    ns_buf_puts(&rows, "x1,x2,y\n");
    for (int i = 0; i < 10; i++)
        ns_buf_printf(&rows, "%d,%d,%d.5\n", i, 2 * i, i);
    test_util_write_text(csv, rows.data);
    ns_buf_free(&rows);
    ns_ctx_init(&ctx);
    char *path = test_util_tmp_path("reg.yaml");
    test_util_write_text(path,
                         "version: 1\nseed: 2\ndata: {format: csv, train: reg.csv, label_column: y, validation: 0.3}\n"
                         "model: {layers: [{dense: {units: 1}}]}\nloss: mse\noptimizer: {type: sgd, lr: 0.1}\n"
                         "schedule: {type: constant}\n");
    spec = spec_load(&ctx, op_catalog(), path, NULL, 0);
    print_diag(&ctx.diag);
    CU_ASSERT_PTR_NOT_NULL_FATAL(spec);
    CU_ASSERT_TRUE_FATAL(data_load_spec(&ctx.diag, spec, 0, &dl));
    CU_ASSERT_EQUAL(dl.train.count, 7);
    CU_ASSERT_EQUAL(dl.validation.count, 3);
    CU_ASSERT_PTR_NULL(dl.train.labels);
    CU_ASSERT_EQUAL(dl.class_count, 0);
    CU_ASSERT_EQUAL(dl.shape.dims[0], 2);
    for (size_t i = 0; i < dl.validation.count; i++)
        CU_ASSERT_EQUAL(dl.validation.targets[i], dl.validation.x[2 * i] + 0.5f);
    data_load_free(&dl);
    ns_ctx_free(&ctx);
    free(path);
    free(csv);
    free(root);
}

/* ---- CSV as people have it ---- */

/* A CSV training file of `rows` rows: features f1 (number), colour (category), f2 (number),
 * the label kind (a name); blobs around three centres so a small model learns them.
 * `sep` is the delimiter; with `decimal_comma` numbers are written 1,5. Every `missing_every`th
 * row (0 = none) has an empty f2. */
static char *blobs_text(int rows, char sep, bool decimal_comma, int missing_every, uint64_t seed)
{
    static const char *const kinds[3] = {"heron", "egret", "stork"};
    static const char *const colours[3] = {"red", "green", "blue"};
    static const double centre[3][2] = {{-2, 0}, {2, 1}, {0, -2.5}};
    uint64_t rng = seed;
    struct ns_buf b = {0};
    ns_buf_printf(&b, "f1%ccolour%cf2%ckind\n", sep, sep, sep);
    for (int i = 0; i < rows; i++) {
        int c = i % 3;
        char f1[32], f2[32];
        snprintf(f1, sizeof f1, "%.4f", centre[c][0] + 0.6 * test_util_next_normal(&rng));
        snprintf(f2, sizeof f2, "%.4f", centre[c][1] + 0.6 * test_util_next_normal(&rng));
        for (char *p = f1; decimal_comma && *p; p++)
            *p = *p == '.' ? ',' : *p;
        for (char *p = f2; decimal_comma && *p; p++)
            *p = *p == '.' ? ',' : *p;
        const char *colour = colours[(c + (test_util_next_u64(&rng) % 4 == 0)) % 3];
        bool gap = missing_every && i % missing_every == missing_every - 1;
        ns_buf_printf(&b, "%s%c%s%c%s%c%s\n", f1, sep, colour, sep, gap ? "" : f2, sep, kinds[c]);
    }
    return b.data;
}

static struct data_csv_opts blobs_opts(void)
{
    static const char *const categorical[1] = {"colour"};
    return (struct data_csv_opts){.label_column = "kind", .loss_name = "cross_entropy", .categorical_count = 1,
                                  .categorical = categorical};
}

static void want_dir_error(const struct ns_diag *diag, const char *dir)
{
    char *want = ns_asprintf("spec.yaml:6:10: error: cannot read \"%s\": %s", dir, strerror(EISDIR));
    CU_ASSERT_TRUE(has_error(diag, want));
    free(want);
}

/* The same rows as a plain or gzip file, with commas or with semicolons and decimal commas,
 * load to the same bits. */
static void test_csv_formats_same_data(void)
{
    char *comma = blobs_text(60, ',', false, 0, 11), *semi = blobs_text(60, ';', true, 0, 11);
    const char *names[4] = {"fmt_comma.csv", "fmt_comma.csv.gz", "fmt_semi.csv", "fmt_semi.csv.gz"};
    char *paths[4];
    for (int i = 0; i < 4; i++) {
        paths[i] = test_util_tmp_path(names[i]);
        const char *text = i < 2 ? comma : semi;
        if (i % 2)
            test_util_write_gz(paths[i], text, strlen(text));
        else
            test_util_write_text(paths[i], text);
    }
    struct data_csv_opts o = blobs_opts();
    struct dataset ds[4];
    struct ns_diag diag = {0};
    for (int i = 0; i < 4; i++)
        CU_ASSERT_TRUE_FATAL(data_csv_load(&diag, (struct ns_loc){0}, paths[i], &o, &ds[i]));
    print_diag(&diag);
    CU_ASSERT_EQUAL(ds[0].count, 60);
    CU_ASSERT_EQUAL(ds[0].sample_size, 5); /* f1, colour one-hot (blue, green, red), f2 */
    CU_ASSERT_STRING_EQUAL(ds[0].csv->columns[1].categories[0], "blue");
    CU_ASSERT_EQUAL(ds[0].csv->columns[2].offset, 4);
    CU_ASSERT_EQUAL(ds[0].class_count, 3);
    CU_ASSERT_STRING_EQUAL(ds[0].class_names[0], "egret"); /* names, sorted */
    CU_ASSERT_STRING_EQUAL(ds[0].class_names[2], "stork");
    for (int i = 1; i < 4; i++) {
        CU_ASSERT_EQUAL_FATAL(ds[i].count, ds[0].count);
        CU_ASSERT_EQUAL(memcmp(ds[i].x, ds[0].x, ds[0].count * ds[0].sample_size * sizeof(float)), 0);
        CU_ASSERT_EQUAL(memcmp(ds[i].labels, ds[0].labels, ds[0].count * sizeof(int32_t)), 0);
    }
    for (int i = 0; i < 4; i++) {
        dataset_free(&ds[i]);
        free(paths[i]);
    }
    /* Tabs are found too, and a delimiter the spec names is used as given. */
    char *tabbed = ns_xstrdup(comma);
    for (char *p = tabbed; *p; p++)
        *p = *p == ',' ? '\t' : *p;
    char *path = test_util_tmp_path("fmt_tab.tsv");
    test_util_write_text(path, tabbed);
    CU_ASSERT_TRUE(data_csv_load(&diag, (struct ns_loc){0}, path, &o, &ds[0]));
    CU_ASSERT_EQUAL(ds[0].sample_size, 5);
    dataset_free(&ds[0]);
    o.delimiter = DELIMITER_SEMICOLON;
    CU_ASSERT_FALSE(data_csv_load(&diag, (struct ns_loc){0}, path, &o, &ds[0]));
    CU_ASSERT_TRUE(has_error(&diag, "no column \"kind\""));
    ns_diag_free(&diag);
    /* A directory opens but does not read. */
    char *dir = test_util_tmp_path("fmt_dir.csv");
    mkdir(dir, 0755);
    CU_ASSERT_FALSE(data_csv_load(&diag, (struct ns_loc){"spec.yaml", 6, 10, 11}, dir, &o, &ds[0]));
    want_dir_error(&diag, dir);
    ns_diag_free(&diag);
    free(dir);
    /* A gzip file cut short is named as such. */
    char *gz = test_util_tmp_path("fmt_comma.csv.gz");
    char *cut = test_util_tmp_path("fmt_cut.csv.gz");
    size_t n;
    char *bytes = test_util_slurp(gz, &n);
    test_util_write_bytes(cut, bytes, n / 2);
    o.delimiter = DELIMITER_AUTO;
    CU_ASSERT_FALSE(data_csv_load(&diag, (struct ns_loc){0}, cut, &o, &ds[0]));
    char *want = ns_asprintf("%s: error: \"%s\" is a damaged or truncated gzip file", cut, cut);
    CU_ASSERT_TRUE(has_error(&diag, want));
    ns_diag_free(&diag);
    free(want);
    free(bytes);
    free(gz);
    free(cut);
    free(path);
    free(tabbed);
    free(comma);
    free(semi);
}

static char *csv_fail_with(const char *text, const struct data_csv_opts *o, struct ns_diag *diag, char **path_out)
{
    char *path = test_util_tmp_path("labels.csv");
    test_util_write_text(path, text);
    struct dataset ds = {0};
    CU_ASSERT_FALSE(data_csv_load(diag, (struct ns_loc){0}, path, o, &ds));
    CU_ASSERT_TRUE_FATAL(diag->count >= 1);
    *path_out = path;
    return ns_error_first_line(&diag->items[0]);
}

/* Labels: names sorted or in the listed order; integers are class indices from 0; numbers
 * that are not classes say which loss fits them. */
static void test_csv_labels(void)
{
    struct ns_diag diag = {0};
    char *path = test_util_tmp_path("names.csv");
    test_util_write_text(path, "x,y\n1,dog\n2,cat\n3,eel\n4,cat\n");
    struct data_csv_opts o = {.label_column = "y", .loss_name = "cross_entropy"};
    struct dataset ds;
    CU_ASSERT_TRUE_FATAL(data_csv_load(&diag, (struct ns_loc){0}, path, &o, &ds));
    CU_ASSERT_EQUAL(ds.class_count, 3);
    CU_ASSERT_STRING_EQUAL(ds.class_names[0], "cat");
    CU_ASSERT_EQUAL(ds.labels[0], 1);
    CU_ASSERT_EQUAL(ds.labels[2], 2);
    CU_ASSERT_TRUE(ds.csv->label_names);
    dataset_free(&ds);
    static const char *const listed[3] = {"eel", "dog", "cat"};
    o.class_count = 3;
    o.class_names = listed;
    CU_ASSERT_TRUE_FATAL(data_csv_load(&diag, (struct ns_loc){0}, path, &o, &ds));
    CU_ASSERT_EQUAL(ds.labels[0], 1);
    CU_ASSERT_EQUAL(ds.labels[1], 2);
    CU_ASSERT_EQUAL(ds.labels[2], 0);
    dataset_free(&ds);
    /* Listed names the data does not hold: the stray label is an error at its cell. */
    static const char *const other[3] = {"eel", "dog", "bat"};
    o.class_names = other;
    char *file = NULL, *line = csv_fail_with("x,y\n1,dog\n2,cat\n", &o, &diag, &file);
    char *want = ns_asprintf("%s:3:3: error: label \"cat\" in column \"y\" is not one of the classes", file);
    CU_ASSERT_STRING_EQUAL(line, want);
    CU_ASSERT_STRING_EQUAL(diag.items[0].hint, "classes: eel, dog, bat");
    free(want), free(line), free(file), ns_diag_free(&diag);
    o = (struct data_csv_opts){.label_column = "y", .loss_name = "cross_entropy"};

    /* Whole numbers from 1: class 0 would be empty. */
    line = csv_fail_with("x,y\n1,1\n2,2\n3,3\n", &o, &diag, &file);
    want = ns_asprintf("%s:1:3: error: no row has label 0 in column \"y\": labels are class indices from 0, and "
                       "these run from 1 to 3", file);
    CU_ASSERT_STRING_EQUAL(line, want);
    CU_ASSERT_STRING_EQUAL(diag.items[0].hint, "subtract 1 from the labels, or name the classes: `classes: [\"1\", "
                                               "\"2\", \"3\"]` (labels that match listed names are names)");
    free(want), free(line), free(file), ns_diag_free(&diag);
    /* ... which, listed, are names. */
    static const char *const numbers[3] = {"1", "2", "3"};
    o.class_count = 3;
    o.class_names = numbers;
    test_util_write_text(path, "x,y\n1,1\n2,2\n3,3\n");
    CU_ASSERT_TRUE_FATAL(data_csv_load(&diag, (struct ns_loc){0}, path, &o, &ds));
    CU_ASSERT_EQUAL(ds.labels[0], 0);
    CU_ASSERT_EQUAL(ds.labels[2], 2);
    dataset_free(&ds);
    o = (struct data_csv_opts){.label_column = "y", .loss_name = "cross_entropy"};

    /* A continuous target under cross_entropy: not "the data has 347 classes". */
    line = csv_fail_with("x,y\n1,0\n2,2.21858\n3,-1.5\n", &o, &diag, &file);
    want = ns_asprintf("%s:3:3: error: label \"2.21858\" in column \"y\" is not a whole number: cross_entropy needs "
                       "class labels", file);
    CU_ASSERT_STRING_EQUAL(line, want);
    CU_ASSERT_STRING_EQUAL(diag.items[0].hint, "the column looks like a numeric target: use `loss: mse` to predict it "
                                               "(regression)");
    CU_ASSERT_EQUAL(diag.count, 1);
    free(want), free(line), free(file), ns_diag_free(&diag);
    struct ns_buf many = {0};
    ns_buf_puts(&many, "x,y\n");
    for (int i = 0; i < 100; i++)
        ns_buf_printf(&many, "%d,%d\n", i, (i * 37) % 347);
    line = csv_fail_with(many.data, &o, &diag, &file);
    ns_buf_free(&many);
    want = ns_asprintf("%s:1:3: error: column \"y\" holds 100 different whole numbers (0 to 346) in 100 rows: "
                       "cross_entropy needs class labels, and these look like a numeric target", file);
    CU_ASSERT_STRING_EQUAL(line, want);
    CU_ASSERT_PTR_NOT_NULL(strstr(diag.items[0].hint, "use `loss: mse`"));
    free(want), free(line), free(file), ns_diag_free(&diag);
    /* -1 and 1 are names waiting to be listed. */
    line = csv_fail_with("x,y\n1,1\n2,-1\n", &o, &diag, &file);
    want = ns_asprintf("%s:3:3: error: label \"-1\" in column \"y\" is not a class index (an integer 0 or more)", file);
    CU_ASSERT_STRING_EQUAL(line, want);
    CU_ASSERT_STRING_EQUAL(diag.items[0].hint, "to use the labels as class names, list them: `classes: [\"-1\", \"1\"]`");
    free(want), free(line), free(file), ns_diag_free(&diag);
    free(path);
}

/* Categories one-hot; missing cells by policy; a test file read against the training layout. */
static void test_csv_categories_and_missing(void)
{
    struct ns_diag diag = {0};
    char *train = test_util_tmp_path("cat_train.csv"), *test = test_util_tmp_path("cat_test.csv");
    test_util_write_text(train, "size,grade,y\n1,10,a\n2,9,b\nNA,10,a\n4,,b\n5,2,a\n");
    static const char *const grade[1] = {"grade"};
    struct data_csv_opts o = {.label_column = "y", .categorical_count = 1, .categorical = grade,
                              .missing = MISSING_DROP};
    struct dataset ds;
    CU_ASSERT_TRUE_FATAL(data_csv_load(&diag, (struct ns_loc){0}, train, &o, &ds));
    CU_ASSERT_EQUAL(ds.count, 3);
    CU_ASSERT_EQUAL(ds.dropped, 2);
    CU_ASSERT_EQUAL(ds.csv->columns[1].category_count, 3); /* by number: 2, 9, 10 */
    CU_ASSERT_STRING_EQUAL(ds.csv->columns[1].categories[0], "2");
    CU_ASSERT_STRING_EQUAL(ds.csv->columns[1].categories[2], "10");
    const float want_row0[4] = {1, 0, 0, 1};
    CU_ASSERT_EQUAL(memcmp(ds.x, want_row0, sizeof want_row0), 0);
    char *name = data_csv_input_name(ds.csv, 3);
    CU_ASSERT_STRING_EQUAL(name, "grade=10");
    free(name);

    /* The test file: its own column order; a category training never saw is an error at its cell. */
    o.layout = ds.csv;
    test_util_write_text(test, "y,grade,size\nb,9,7\na,3,8\n");
    struct dataset t;
    CU_ASSERT_FALSE(data_csv_load(&diag, (struct ns_loc){0}, test, &o, &t));
    char *want = ns_asprintf("%s:3:3: error: category \"3\" in column \"grade\" is not in the training file", test);
    CU_ASSERT_TRUE(has_error(&diag, want));
    CU_ASSERT_STRING_EQUAL(diag.items[0].hint, "its categories: 2, 9, 10");
    free(want);
    ns_diag_free(&diag);
    test_util_write_text(test, "y,grade,size\nb,9,7\n");
    CU_ASSERT_TRUE_FATAL(data_csv_load(&diag, (struct ns_loc){0}, test, &o, &t));
    const float want_t[4] = {7, 0, 1, 0};
    CU_ASSERT_EQUAL(memcmp(t.x, want_t, sizeof want_t), 0);
    CU_ASSERT_EQUAL(t.labels[0], 1);
    CU_ASSERT_PTR_NULL(t.csv);
    dataset_free(&t);
    test_util_write_text(test, "y,grade,id\nb,9,7\n");
    CU_ASSERT_FALSE(data_csv_load(&diag, (struct ns_loc){0}, test, &o, &t));
    want = ns_asprintf("%s:1:1: error: no column \"size\" in \"%s\"", test, test);
    CU_ASSERT_TRUE(has_error(&diag, want));
    free(want);
    want = ns_asprintf("%s:1:9: error: column \"id\" is not in the training file", test);
    CU_ASSERT_TRUE(has_error(&diag, want));
    free(want);
    ns_diag_free(&diag);
    o.layout = NULL;
    dataset_free(&ds);

    /* error (the default): located, with the way out. */
    o.missing = MISSING_ERROR;
    CU_ASSERT_FALSE(data_csv_load(&diag, (struct ns_loc){0}, train, &o, &ds));
    want = ns_asprintf("%s:4:1: error: missing value \"NA\" in column \"size\"", train);
    CU_ASSERT_TRUE(has_error(&diag, want));
    free(want);
    CU_ASSERT_STRING_EQUAL(diag.items[0].hint,
                           "to accept missing cells set data.missing to drop (leave the row out) or fill_mean");
    want = ns_asprintf("%s:5:3: error: empty cell in column \"grade\"", train);
    CU_ASSERT_TRUE(has_error(&diag, want));
    free(want);
    ns_diag_free(&diag);

    /* fill_mean: the training split's mean per input (the one-hot ones too). */
    o.missing = MISSING_FILL_MEAN;
    CU_ASSERT_TRUE_FATAL(data_csv_load(&diag, (struct ns_loc){0}, train, &o, &ds));
    CU_ASSERT_EQUAL(ds.count, 5);
    CU_ASSERT_TRUE(isnan(ds.x[2 * 4]));
    struct dataset none = {0};
    CU_ASSERT_TRUE(data_csv_fill_missing(&diag, (struct ns_loc){0}, ds.csv, &ds, (struct dataset *const[]){&none}, 1));
    CU_ASSERT_EQUAL(ds.x[2 * 4], (float)((1 + 2 + 4 + 5) / 4.0));
    CU_ASSERT_EQUAL(ds.csv->fill[0], ds.x[2 * 4]);
    CU_ASSERT_EQUAL(ds.x[3 * 4 + 3], 0.5f); /* grade 10 in two of four rows */
    dataset_free(&ds);
    /* Labels are never filled. */
    test_util_write_text(train, "size,grade,y\n1,10,\n2,9,b\n");
    CU_ASSERT_FALSE(data_csv_load(&diag, (struct ns_loc){0}, train, &o, &ds));
    want = ns_asprintf("%s:2:6: error: empty label in column \"y\"", train);
    CU_ASSERT_TRUE(has_error(&diag, want));
    free(want);
    CU_ASSERT_STRING_EQUAL(diag.items[0].hint, "data.missing: fill_mean fills features, never labels; drop leaves such rows out");
    ns_diag_free(&diag);
    /* A column with no value to take the mean of. */
    test_util_write_text(train, "size,grade,y\n,10,a\n?,9,b\n");
    CU_ASSERT_TRUE_FATAL(data_csv_load(&diag, (struct ns_loc){0}, train, &o, &ds));
    CU_ASSERT_FALSE(data_csv_fill_missing(&diag, (struct ns_loc){"spec.yaml", 7, 12, 9}, ds.csv, &ds, NULL, 0));
    CU_ASSERT_TRUE(has_error(&diag, "spec.yaml:7:12: error: column \"size\" has no value in the training split"));
    dataset_free(&ds);
    ns_diag_free(&diag);
    test_util_write_text(train, "size,grade,y\n1,,a\n2,,b\n");
    CU_ASSERT_FALSE(data_csv_load(&diag, (struct ns_loc){0}, train, &o, &ds));
    want = ns_asprintf("%s:1:6: error: categorical column \"grade\" has no values", train);
    CU_ASSERT_TRUE(has_error(&diag, want));
    free(want);
    ns_diag_free(&diag);
    /* drop with every row missing something. */
    o.missing = MISSING_DROP;
    o.categorical_count = 0;
    test_util_write_text(train, "size,grade,y\n,1,a\n2,,b\n");
    CU_ASSERT_FALSE(data_csv_load(&diag, (struct ns_loc){0}, train, &o, &ds));
    want = ns_asprintf("\"%s\" has no rows left: each of its 2 rows has a missing cell", train);
    CU_ASSERT_TRUE(has_error(&diag, want));
    free(want);
    ns_diag_free(&diag);
    /* A numeric column with words in it points at categorical; categorical names are columns. */
    o.missing = MISSING_ERROR;
    test_util_write_text(train, "size,grade,y\n1,A,a\n2,B,b\n");
    CU_ASSERT_FALSE(data_csv_load(&diag, (struct ns_loc){0}, train, &o, &ds));
    CU_ASSERT_STRING_EQUAL(diag.items[0].hint, "a column of categories is listed under data.categorical: `categorical: [grade]`");
    CU_ASSERT_EQUAL(diag.count, 2);
    ns_diag_free(&diag);
    static const char *const label_as_category[1] = {"y"};
    o.categorical_count = 1;
    o.categorical = label_as_category;
    CU_ASSERT_FALSE(data_csv_load(&diag, (struct ns_loc){0}, train, &o, &ds));
    CU_ASSERT_TRUE(has_error(&diag, "error: \"y\" is the label column"));
    ns_diag_free(&diag);
    free(train);
    free(test);
}

/* standardize: the training split's mean and std per input; constants centred; one-hot kept. */
static void test_prep_standardize(void)
{
    struct ns_diag diag = {0};
    char *path = test_util_tmp_path("std.csv");
    test_util_write_text(path, "a,k,c,y\n1,u,5,0\n2,v,5,1\n3,u,5,0\n6,v,5,1\n");
    static const char *const k[1] = {"k"};
    struct data_csv_opts o = {.label_column = "y", .categorical_count = 1, .categorical = k};
    struct dataset ds;
    CU_ASSERT_TRUE_FATAL(data_csv_load(&diag, (struct ns_loc){0}, path, &o, &ds));
    struct data_prep_norm norm;
    CU_ASSERT_TRUE_FATAL(data_prep_norm_fit(&diag, (struct ns_loc){0}, &ds, &norm));
    CU_ASSERT_EQUAL(norm.channels, 4);
    CU_ASSERT_EQUAL(norm.scale, 1.0f);
    CU_ASSERT_EQUAL(norm.mean[0], 3.0f);
    CU_ASSERT_EQUAL(norm.std[0], (float)sqrt(14.0 / 4));
    CU_ASSERT_EQUAL(norm.mean[1], 0.0f); /* one-hot */
    CU_ASSERT_EQUAL(norm.std[2], 1.0f);
    CU_ASSERT_EQUAL(norm.mean[3], 5.0f); /* constant: centred */
    CU_ASSERT_EQUAL(norm.std[3], 1.0f);
    /* What model.yaml keeps reads back to the same floats. */
    struct ns_buf yaml = {0};
    ns_buf_puts(&yaml, "normalize: ");
    data_prep_norm_put_yaml(&yaml, &norm);
    ns_buf_puts(&yaml, "\ncsv:\n");
    data_csv_layout_put_yaml(&yaml, ds.csv, 2);
    struct ns_ctx ctx;
    ns_ctx_init(&ctx);
    const struct spec_node *root = spec_tree_parse(&ctx, "model.yaml", yaml.data, yaml.len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    struct data_prep_norm back;
    CU_ASSERT_TRUE_FATAL(data_prep_norm_from_yaml(&ctx.diag, "model.yaml", spec_tree_get(root, "normalize"),
                                                  ds.shape, &back));
    CU_ASSERT_EQUAL(memcmp(back.mean, norm.mean, 4 * sizeof(float)), 0);
    CU_ASSERT_EQUAL(memcmp(back.std, norm.std, 4 * sizeof(float)), 0);
    struct data_csv_layout *layout = NULL;
    CU_ASSERT_TRUE_FATAL(data_csv_layout_from_yaml(&ctx.diag, "model.yaml", spec_tree_get(root, "csv"), &layout));
    CU_ASSERT_EQUAL(layout->input_size, 4);
    CU_ASSERT_STRING_EQUAL(layout->columns[1].categories[1], "v");
    CU_ASSERT_STRING_EQUAL(layout->label, "y");
    data_csv_layout_free(layout);
    /* A damaged record is refused, not guessed at. */
    data_prep_norm_free(&back);
    CU_ASSERT_FALSE(data_prep_norm_from_yaml(&ctx.diag, "model.yaml", spec_tree_get(root, "csv"), ds.shape, &back));
    CU_ASSERT_FALSE(data_csv_layout_from_yaml(&ctx.diag, "model.yaml", spec_tree_get(root, "normalize"), &layout));
    CU_ASSERT_TRUE(has_error(&ctx.diag, "damaged run file: `normalize:` must be {scale, mean, std}"));
    CU_ASSERT_TRUE(has_error(&ctx.diag, "damaged run file: `csv:` must hold label, labels, missing and columns"));
    ns_ctx_free(&ctx);
    ns_buf_free(&yaml);
    data_prep_norm_free(&back);
    data_prep_norm_free(&norm);
    /* Fixed values: one, or one per input. */
    double two[2] = {1, 2};
    CU_ASSERT_FALSE(data_prep_norm_init(&diag, (struct ns_loc){"spec.yaml", 9, 3, 4}, ds.shape, 1.0, two, 2, NULL, 0, &norm));
    CU_ASSERT_TRUE(has_error(&diag, "spec.yaml:9:3: error: normalize.mean has 2 values; expected 1 or 4 (one per input)"));
    ns_diag_free(&diag);
    /* No training examples: nothing to fit. */
    struct dataset empty = {.shape = ds.shape, .sample_size = 4};
    CU_ASSERT_FALSE(data_prep_norm_fit(&diag, (struct ns_loc){"spec.yaml", 8, 14, 11}, &empty, &norm));
    CU_ASSERT_TRUE(has_error(&diag, "spec.yaml:8:14: error: normalize: standardize needs training examples, and the "
                                    "training split is empty"));
    ns_diag_free(&diag);
    dataset_free(&ds);
    /* Images: one mean and std per channel over every pixel. */
    struct dataset img = {.count = 2, .shape = {3, {1, 2, 2}}, .sample_size = 4};
    uint8_t px[8] = {0, 10, 2, 10, 4, 10, 6, 10};
    img.bytes = px;
    CU_ASSERT_TRUE_FATAL(data_prep_norm_fit(&diag, (struct ns_loc){0}, &img, &norm));
    CU_ASSERT_EQUAL(norm.channels, 2);
    CU_ASSERT_EQUAL(norm.mean[0], 3.0f);
    CU_ASSERT_EQUAL(norm.std[0], (float)sqrt(5.0));
    CU_ASSERT_EQUAL(norm.mean[1], 10.0f);
    CU_ASSERT_EQUAL(norm.std[1], 1.0f);
    data_prep_norm_free(&norm);
    free(path);
}

/* Rows to predict: columns by name, others ignored, a row that cannot be read flagged and
 * reported while the rest are read. */
static void test_csv_read_input(void)
{
    struct ns_diag diag = {0};
    char *train = test_util_tmp_path("in_train.csv"), *rows = test_util_tmp_path("in_rows.csv");
    test_util_write_text(train, "a,k,y\n1,u,0\n3,v,1\n");
    static const char *const k[1] = {"k"};
    struct data_csv_opts o = {.label_column = "y", .categorical_count = 1, .categorical = k,
                              .missing = MISSING_FILL_MEAN};
    struct dataset ds;
    CU_ASSERT_TRUE_FATAL(data_csv_load(&diag, (struct ns_loc){0}, train, &o, &ds));
    CU_ASSERT_TRUE(data_csv_fill_missing(&diag, (struct ns_loc){0}, ds.csv, &ds, NULL, 0));
    test_util_write_text(rows, "id\tk\ta\nr1\tv\t5\nr2\tw\t6\nr3\tu\t\n");
    struct data_csv_input in;
    CU_ASSERT_TRUE_FATAL(data_csv_read_input(&diag, rows, ds.csv, DELIMITER_AUTO, &in));
    CU_ASSERT_EQUAL(in.count, 3);
    CU_ASSERT_EQUAL(in.delimiter, '\t');
    CU_ASSERT_TRUE(in.ok[0]);
    CU_ASSERT_FALSE(in.ok[1]);
    CU_ASSERT_TRUE(in.ok[2]);
    const float want0[3] = {5, 0, 1}, want2[3] = {2, 1, 0};
    CU_ASSERT_EQUAL(memcmp(in.x, want0, sizeof want0), 0);
    CU_ASSERT_EQUAL(memcmp(in.x + 6, want2, sizeof want2), 0); /* the training mean of a */
    CU_ASSERT_STRING_EQUAL(in.text[1], "r2\tw\t6");
    CU_ASSERT_EQUAL(in.line[2], 4);
    char *want = ns_asprintf("%s:3:4: error: category \"w\" in column \"k\" is not in the training file", rows);
    CU_ASSERT_TRUE(has_error(&diag, want));
    CU_ASSERT_EQUAL(diag.count, 1);
    free(want);
    ns_diag_free(&diag);
    data_csv_input_free(&in);
    /* Without fill_mean a missing cell cannot be predicted: the run says why. */
    free(ds.csv->fill);
    ds.csv->fill = NULL;
    ds.csv->missing = MISSING_DROP;
    CU_ASSERT_TRUE_FATAL(data_csv_read_input(&diag, rows, ds.csv, DELIMITER_AUTO, &in));
    CU_ASSERT_FALSE(in.ok[2]);
    CU_ASSERT_TRUE(has_error(&diag, "error: empty cell in column \"a\""));
    CU_ASSERT_STRING_EQUAL(diag.items[1].hint, "the run was trained with data.missing: drop; only fill_mean fills cells");
    ns_diag_free(&diag);
    data_csv_input_free(&in);
    /* Past ten errors the rest are counted. */
    struct ns_buf many = {0};
    ns_buf_puts(&many, "a,k\n");
    for (int i = 0; i < 12; i++)
        ns_buf_puts(&many, "1,w\n");
    test_util_write_text(rows, many.data);
    ns_buf_free(&many);
    CU_ASSERT_TRUE_FATAL(data_csv_read_input(&diag, rows, ds.csv, DELIMITER_AUTO, &in));
    want = ns_asprintf("%s: error: 12 errors in \"%s\" in all", rows, rows);
    CU_ASSERT_TRUE(has_error(&diag, want));
    free(want);
    CU_ASSERT_EQUAL(diag.count, 11);
    ns_diag_free(&diag);
    data_csv_input_free(&in);
    test_util_write_text(rows, "k\nu\n");
    CU_ASSERT_FALSE(data_csv_read_input(&diag, rows, ds.csv, DELIMITER_AUTO, &in));
    want = ns_asprintf("%s:1:1: error: no column \"a\" in \"%s\"", rows, rows);
    CU_ASSERT_TRUE(has_error(&diag, want));
    free(want);
    ns_diag_free(&diag);
    dataset_free(&ds);
    free(train);
    free(rows);
}

/* ---- CSV runs end to end: train, eval, predict ---- */

static const char e2e_model[] = "model:\n  layers:\n    - dense: {units: 8, activation: tanh}\n    - dense: {units: auto}\n"
                                "loss: cross_entropy\noptimizer: {type: adam, lr: 0.02}\n"
                                "train: {epochs: 12, batch_size: 16}\nruntime: {threads: 1}\n";

/* Writes `text` to the test folder's file `name`. */
static void write_tmp(const char *name, const char *text)
{
    char *path = test_util_tmp_path(name);
    test_util_write_text(path, text);
    free(path);
}

/* `netspec ARGS` from the test folder, which must succeed; its standard output. */
static char *netspec_ok(const char *args)
{
    struct test_util_run r = test_util_netspec_opts((struct test_util_opts){.cwd = test_util_tmp(), .timeout = 120}, args);
    if (r.exit_code != 0)
        fprintf(stderr, "\n  netspec %s: exit %d\n%s", args, r.exit_code, r.err);
    CU_ASSERT_EQUAL(r.exit_code, 0);
    char *out = ns_xstrdup(r.out ? r.out : "");
    test_util_run_free(&r);
    return out;
}

/* The same rows, plain or gzip, with commas or semicolons and decimal commas: the same run. */
static void test_csv_formats_same_accuracy(void)
{
    char *comma = blobs_text(120, ',', false, 0, 21), *semi = blobs_text(120, ';', true, 0, 21);
    const char *files[4] = {"acc_comma.csv", "acc_comma.csv.gz", "acc_semi.csv", "acc_semi.csv.gz"};
    double accuracy[4], loss[4];
    for (int i = 0; i < 4; i++) {
        char *path = test_util_tmp_path(files[i]);
        const char *text = i < 2 ? comma : semi;
        if (i % 2)
            test_util_write_gz(path, text, strlen(text));
        else
            test_util_write_text(path, text);
        char *spec_path = test_util_tmp_path("acc.yaml");
        char *spec = ns_asprintf("version: 1\nname: acc\nseed: 3\ndata:\n  format: csv\n  train: %s\n"
                                 "  label_column: kind\n  categorical: [colour]\n  validation: 0.25\n"
                                 "  normalize: standardize\n%s",
                                 files[i], e2e_model);
        test_util_write_text(spec_path, spec);
        char *args = ns_asprintf("train acc.yaml -o acc_run%d", i);
        free(netspec_ok(args));
        free(args);
        args = ns_asprintf("eval acc_run%d --split validation --json", i);
        char *out = netspec_ok(args);
        accuracy[i] = test_util_json_number(out, "accuracy");
        loss[i] = test_util_json_number(out, "loss");
        free(out);
        free(args);
        free(spec);
        free(spec_path);
        free(path);
    }
    printf("\n    csv formats: validation accuracy %.4f ", accuracy[0]);
    CU_ASSERT(accuracy[0] > 0.8);
    for (int i = 1; i < 4; i++) {
        CU_ASSERT_EQUAL(accuracy[i], accuracy[0]);
        CU_ASSERT_EQUAL(loss[i], loss[0]);
    }
    free(comma);
    free(semi);
}

/* The rows of predict's CSV JSON: class names and every class's probability. */
struct row_prediction {
    int line;
    char cls[32];
    float p[3];
};

static int parse_row_predictions(const char *json, const char *const *classes, struct row_prediction *out, int cap)
{
    int n = 0;
    for (const char *at = strstr(json, "{\"line\": "); at && n < cap; at = strstr(at + 1, "{\"line\": ")) {
        struct row_prediction *r = &out[n++];
        r->line = atoi(at + 9);
        const char *c = strstr(at, "\"class\": \"");
        if (!c)
            return -1;
        c += 10;
        size_t len = strcspn(c, "\"");
        snprintf(r->cls, sizeof r->cls, "%.*s", (int)len, c);
        const char *ps = strstr(at, "\"probabilities\": {");
        if (!ps)
            return -1;
        for (int k = 0; k < 3; k++) {
            char *key = ns_asprintf("\"%s\": ", classes[k]);
            const char *v = strstr(ps, key);
            r->p[k] = v ? (float)strtod(v + strlen(key), NULL) : NAN; /* reads back to the float */
            free(key);
        }
    }
    return n;
}

/* Predict on the test rows without their labels, columns in another order, gives eval's
 * classes and probabilities bit for bit; -o writes them beside the rows. */
static void test_csv_predict_equals_eval(void)
{
    char *train = blobs_text(150, ',', false, 7, 31), *test = blobs_text(45, ',', false, 5, 32);
    write_tmp("e2e_train.csv", train);
    char *test_path = test_util_tmp_path("e2e_test.csv");
    test_util_write_text(test_path, test);
    /* The rows to predict: f2;colour;f1 with semicolons, the label left out. */
    struct ns_buf rows = {0};
    ns_buf_puts(&rows, "f2;colour;f1\n");
    for (const char *line = strchr(test, '\n') + 1; *line; line = strchr(line, '\n') + 1) {
        char f1[32], colour[16], f2[32];
        int a = (int)strcspn(line, ","), b = (int)strcspn(line + a + 1, ","), c = (int)strcspn(line + a + b + 2, ",");
        snprintf(f1, sizeof f1, "%.*s", a, line);
        snprintf(colour, sizeof colour, "%.*s", b, line + a + 1);
        snprintf(f2, sizeof f2, "%.*s", c, line + a + b + 2);
        ns_buf_printf(&rows, "%s;%s;%s\n", f2, colour, f1);
    }
    char *rows_path = test_util_tmp_path("e2e_rows.csv");
    test_util_write_text(rows_path, rows.data);
    ns_buf_free(&rows);
    char *spec = ns_asprintf("version: 1\nname: e2e\nseed: 7\ndata:\n  format: csv\n  train: e2e_train.csv\n"
                             "  test: e2e_test.csv\n  label_column: kind\n  categorical: [colour]\n"
                             "  missing: fill_mean\n  validation: 0.2\n  normalize: standardize\n%s",
                             e2e_model);
    write_tmp("e2e.yaml", spec);
    free(spec);
    free(netspec_ok("train e2e.yaml -o e2e_run"));
    char *out = netspec_ok("eval e2e_run --json");
    double eval_acc = test_util_json_number(out, "accuracy");
    free(out);
    /* The test file as other data: read with the run's columns, classes and fill values. */
    out = netspec_ok("eval e2e_run --data e2e_test.csv --json");
    CU_ASSERT_EQUAL(test_util_json_number(out, "accuracy"), eval_acc);
    free(out);

    /* eval's path in this process. */
    struct ns_ctx ctx;
    ns_ctx_init(&ctx);
    char *run_dir = test_util_tmp_path("e2e_run");
    struct model run;
    CU_ASSERT_FATAL(model_load(&ctx, run_dir, &run));
    CU_ASSERT_PTR_NOT_NULL_FATAL(run.csv);
    CU_ASSERT_PTR_NOT_NULL(run.csv->fill);
    struct trainset ts;
    CU_ASSERT_FATAL(trainset_load(&ctx, run.spec, run.info.class_count, &ts));
    CU_ASSERT_EQUAL_FATAL(ts.test.count, 45);
    CU_ASSERT_EQUAL(memcmp(ts.norm.mean, run.norm.mean, run.norm.channels * sizeof(float)), 0);
    size_t n = ts.test.count, *index = ns_xmalloc(n * sizeof *index);
    for (size_t i = 0; i < n; i++)
        index[i] = i;
    float *x = ns_xmalloc(n * run.g->input_size * sizeof *x);
    trainset_gather(&ts, &ts.test, index, n, false, 0, x, NULL, NULL, NULL);
    struct exec *ex = exec_new(run.g, (int)n);
    const float *y = exec_forward(ex, run.st.params, x, (int)n, &(struct exec_run){.training = false});

    out = netspec_ok("predict e2e_run e2e_rows.csv --json");
    struct row_prediction pred[45];
    int got = parse_row_predictions(out, (const char *const *)run.class_names, pred, 45);
    free(out);
    CU_ASSERT_EQUAL_FATAL(got, 45);
    size_t same_class = 0, same_p = 0, correct = 0;
    for (size_t i = 0; i < n; i++) {
        float p[3];
        int best = 0;
        for (int k = 0; k < 3; k++) {
            p[k] = y[i * 3 + (size_t)k];
            best = p[k] > p[best] ? k : best;
        }
        activation_softmax_row(p, 3);
        same_class += !strcmp(pred[i].cls, run.class_names[best]);
        same_p += memcmp(p, pred[i].p, sizeof p) == 0;
        correct += best == ts.test.labels[i];
        CU_ASSERT_EQUAL(pred[i].line, (int)i + 2);
    }
    printf("\n    predict on %zu test rows: %zu same class, %zu same probabilities as eval; accuracy %.4f ", n,
           same_class, same_p, (double)correct / (double)n);
    CU_ASSERT_EQUAL(same_class, n);
    CU_ASSERT_EQUAL(same_p, n);
    CU_ASSERT_DOUBLE_EQUAL((double)correct / (double)n, eval_acc, 1e-12);
    CU_ASSERT(eval_acc > 0.8);

    /* -o: the rows as written, then predicted and probability, in the input's delimiter. */
    out = netspec_ok("predict e2e_run e2e_rows.csv -o e2e_pred.csv");
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "e2e_pred.csv: 45 of 45 rows predicted"));
    free(out);
    char *pred_path = test_util_tmp_path("e2e_pred.csv");
    char *written = test_util_slurp(pred_path, NULL);
    CU_ASSERT_EQUAL(strncmp(written, "f2;colour;f1;predicted;probability\n", 35), 0);
    char *first = ns_asprintf(";%s;", pred[0].cls);
    CU_ASSERT_PTR_NOT_NULL(strstr(written, first));
    free(first);
    free(written);
    /* A second -o on its own output would hide a column: refused. */
    struct test_util_run r = test_util_netspec_opts((struct test_util_opts){.cwd = test_util_tmp()},
                                                    "predict e2e_run e2e_pred.csv -o again.csv");
    CU_ASSERT_EQUAL(r.exit_code, 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "error: the input already has a column \"predicted\", which -o would add"));
    test_util_run_free(&r);
    r = test_util_netspec_opts((struct test_util_opts){.cwd = test_util_tmp()}, "predict e2e_run e2e_rows.csv e2e_rows.csv");
    CU_ASSERT_EQUAL(r.exit_code, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "was trained on CSV data: give one CSV file (or - for standard input), not 2"));
    test_util_run_free(&r);
    /* The emitted header says which column feeds which input. */
    free(netspec_ok("emit e2e_run -o e2e_c"));
    char *header_path = test_util_tmp_path("e2e_c/e2e.h");
    char *header = test_util_slurp(header_path, NULL);
    free(header_path);
    CU_ASSERT_PTR_NOT_NULL(strstr(header, "[1..3] \"colour\": one-hot, 1 at the cell's category and 0 elsewhere"));
    CU_ASSERT_PTR_NOT_NULL(strstr(header, "\"green\", \"red\"; a missing cell is"));
    free(header);

    exec_free(ex);
    free(x);
    free(index);
    trainset_free(&ts);
    model_free(&run);
    ns_ctx_free(&ctx);
    free(pred_path);
    free(run_dir);
    free(rows_path);
    free(test_path);
    free(train);
    free(test);
}

/* Regression rows: predict prints each row's value, the runtime's float. */
static void test_csv_predict_regression(void)
{
    struct ns_buf b = {0};
    ns_buf_puts(&b, "a,b,y\n");
    uint64_t rng = 5;
    for (int i = 0; i < 80; i++) {
        double a = test_util_next_normal(&rng), c = test_util_next_normal(&rng);
        ns_buf_printf(&b, "%.4f,%.4f,%.4f\n", a, c, 2 * a - c + 0.5);
    }
    write_tmp("reg_rows.csv", b.data);
    ns_buf_free(&b);
    write_tmp("reg.yaml",
                         "version: 1\nname: reg\nseed: 2\ndata: {format: csv, train: reg_rows.csv, label_column: y, "
                         "normalize: standardize}\nmodel: {layers: [dense: {units: 1}]}\nloss: mse\n"
                         "optimizer: {type: adam, lr: 0.05}\ntrain: {epochs: 5, batch_size: 16}\n");
    free(netspec_ok("train reg.yaml -o reg_run"));
    char *out = netspec_ok("predict reg_run reg_rows.csv --json");
    double first = test_util_json_number(out, "value");
    free(out);
    out = netspec_ok("predict reg_run reg_rows.csv");
    CU_ASSERT_EQUAL(strncmp(out, "  line  y\n", 10), 0);
    free(out);
    struct ns_ctx ctx;
    ns_ctx_init(&ctx);
    char *run_dir = test_util_tmp_path("reg_run");
    struct model run;
    CU_ASSERT_FATAL(model_load(&ctx, run_dir, &run));
    struct data_csv_input in;
    char *rows_path = test_util_tmp_path("reg_rows.csv");
    CU_ASSERT_FATAL(data_csv_read_input(&ctx.diag, rows_path, run.csv, 0, &in));
    free(rows_path);
    float x[2];
    struct dataset one = {.count = 1, .shape = run.g->input_shape, .sample_size = 2, .x = in.x};
    size_t zero = 0;
    data_prep_gather(1, &one, &zero, 1, &run.norm, NULL, 0, x);
    struct exec *ex = exec_new(run.g, 1);
    const float *y = exec_forward(ex, run.st.params, x, 1, &(struct exec_run){.training = false});
    CU_ASSERT_EQUAL((float)first, y[0]);
    exec_free(ex);
    data_csv_input_free(&in);
    model_free(&run);
    ns_ctx_free(&ctx);
    free(run_dir);

    /* A training file that changed its columns cannot be evaluated, even when allowed to change. */
    write_tmp("reg_rows.csv", "a,b,c,y\n1,2,3,4\n2,3,4,5\n3,4,5,6\n4,5,6,7\n5,6,7,8\n6,7,8,9\n7,8,9,1\n8,9,1,2\n"
                              "9,1,2,3\n1,1,1,1\n");
    struct test_util_run r = test_util_netspec_opts((struct test_util_opts){.cwd = test_util_tmp()},
                                                    "eval reg_run --split validation --allow-data-change");
    CU_ASSERT_EQUAL(r.exit_code, 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "reg_run: error: the data now gives 3 inputs per example; the model takes 2"));
    test_util_run_free(&r);
}

/* -o writes CSV rows: an image run says so. */
static void test_predict_output_needs_csv(void)
{
    char *images = test_util_tmp_path("o_images.idx"), *labels = test_util_tmp_path("o_labels.idx");
    CU_ASSERT_FATAL(test_util_save_stripes(images, labels, 60, 3, 4, NULL));
    char *spec = ns_asprintf("version: 1\nname: stripes\ndata:\n  format: idx\n  train: {images: %s, labels: %s}\n"
                             "  validation: 0\nmodel: {layers: [flatten, dense: {units: auto}]}\nloss: cross_entropy\n"
                             "train: {epochs: 1, checkpoint_every: 0}\n", images, labels);
    write_tmp("stripes.yaml", spec);
    free(spec);
    free(netspec_ok("train stripes.yaml -o stripes_run"));
    struct test_util_run r = test_util_netspec_opts((struct test_util_opts){.cwd = test_util_tmp()},
                                                    "predict stripes_run x.png -o out.csv");
    CU_ASSERT_EQUAL(r.exit_code, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "error: -o writes CSV rows with their predictions; stripes_run classifies images"));
    test_util_run_free(&r);
    free(images);
    free(labels);
}

/* Class names, categories and column names enter model.yaml and the emitted C: not UTF-8
 * text is refused at the cell (found by fuzz_csv: model.yaml did not read back). */
static void test_csv_names_must_be_utf8(void)
{
    static const char *const cases[][2] = {
        {"colour,size,label\nred,1,a\nbl\xf6ue,2,b\n",
         "u8.csv:3:1: error: category \"bl\\xf6ue\" in column \"colour\" is not UTF-8 text without control characters"},
        {"colour,size,label\nred,1,a\nblue,2,b\x01\n",
         "u8.csv:3:8: error: label \"b\\x01\" in column \"label\" is not UTF-8 text without control characters"},
        {"col\xffour,size,label\nred,1,a\nblue,2,b\n",
         "u8.csv:1:1: error: column name \"col\\xffour\" is not UTF-8 text without control characters"},
    };
    write_tmp("u8.yaml", "version: 1\ndata: {format: csv, train: u8.csv, label_column: label, categorical: [colour]}\n"
                         "model: {layers: [dense: {units: auto}]}\nloss: cross_entropy\n");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_tmp("u8.csv", cases[i][0]);
        struct test_util_run r = test_util_netspec_opts((struct test_util_opts){.cwd = test_util_tmp()}, "check u8.yaml");
        CU_ASSERT_EQUAL(r.exit_code, 3);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.err, cases[i][1]));
        if (!strstr(r.err, cases[i][1]))
            fprintf(stderr, "\n  case %zu: want \"%s\", got:\n%s", i, cases[i][1], r.err);
        test_util_run_free(&r);
    }
}

/* ---- SHA-256 ---- */

static void test_sha256(void)
{
    uint8_t d[32];
    char hex[65];
    struct ns_sha256 s;
    ns_sha256_init(&s);
    ns_sha256_final(&s, d);
    ns_sha256_hex(d, hex);
    CU_ASSERT_STRING_EQUAL(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    ns_sha256_init(&s);
    ns_sha256_update(&s, "abc", 3);
    ns_sha256_final(&s, d);
    ns_sha256_hex(d, hex);
    CU_ASSERT_STRING_EQUAL(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* The 448-bit message straddles the padding boundary. */
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    ns_sha256_init(&s);
    for (const char *p = m; *p; p++)
        ns_sha256_update(&s, p, 1);
    ns_sha256_final(&s, d);
    ns_sha256_hex(d, hex);
    CU_ASSERT_STRING_EQUAL(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* A million 'a's from a file. */
    char *path = test_util_tmp_path("million.txt");
    char *a = ns_xmalloc(1000000);
    memset(a, 'a', 1000000);
    test_util_write_bytes(path, a, 1000000);
    free(a);
    int err = 0;
    CU_ASSERT_TRUE(ns_sha256_file(path, d, &err));
    ns_sha256_hex(d, hex);
    CU_ASSERT_STRING_EQUAL(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    CU_ASSERT_FALSE(ns_sha256_file("/nonexistent/x", d, &err));
    CU_ASSERT_EQUAL(err, ENOENT);
    free(path);
}

int main(void)
{
    static const struct test_util_case cases[] = {
        {"idx plain and gz", test_idx_plain_and_gz},
        {"idx 4-d", test_idx_4d},
        {"idx errors", test_idx_errors},
        {"idx fashion-mnist headers", test_idx_fashion_headers},
        {"idx: declared sizes bounded by the file; strict gzip; one class; FIFO", test_idx_bounds},
        {"csv good", test_csv_good},
        {"csv errors", test_csv_errors},
        {"folder load", test_folder_load},
        {"folder errors", test_folder_errors},
        {"image formats gated", test_image_formats_gated},
        {"folder write pngs", test_folder_write_pngs},
        {"split stratified", test_split_stratified},
        {"prep norm", test_prep_norm},
        {"prep augment", test_prep_augment},
        {"prep: pixels as bytes give the batches floats gave", test_prep_bytes_equal_floats},
        {"spec idx", test_spec_idx},
        {"spec folder and csv", test_spec_folder_and_csv},
        {"csv: plain, gz, comma, semicolon, tab give the same data", test_csv_formats_same_data},
        {"csv labels: names, indices, numbers that are not classes", test_csv_labels},
        {"csv categories and missing cells", test_csv_categories_and_missing},
        {"prep: standardize, and what model.yaml keeps", test_prep_standardize},
        {"csv rows to predict", test_csv_read_input},
        {"csv: plain, gz, comma, semicolon give the same accuracy", test_csv_formats_same_accuracy},
        {"csv: predict on the test rows equals eval, bit for bit", test_csv_predict_equals_eval},
        {"csv: predict on regression rows", test_csv_predict_regression},
        {"predict -o needs a CSV run", test_predict_output_needs_csv},
        {"csv: names that are not UTF-8 refused at the cell", test_csv_names_must_be_utf8},
        {"sha256", test_sha256},
    };
    return test_util_main("data", suite_init, test_util_tmp_clean, cases, sizeof cases / sizeof *cases);
}
