/* The source tree keeps the pipeline's shape: folders include each other one way only, in the
 * order README.md writes down (its line "Include order: core → kernels → ..."), and nothing
 * the tests link includes the command-line layer. The order is read from README, so the
 * document and the check can not drift apart. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ns_util.h"
#include "test_util.h"

enum { MAX_FOLDERS = 32 };

struct layering {
    char names[MAX_FOLDERS][32];
    int level[MAX_FOLDERS];
    int count;
};

static int level_of(const struct layering *l, const char *folder)
{
    for (int i = 0; i < l->count; i++)
        if (!strcmp(l->names[i], folder))
            return l->level[i];
    return -1;
}

/* "core → kernels → train, emit → cli": levels 0, 1, 2, 2, 3. */
static bool parse_order(const char *line, struct layering *l)
{
    memset(l, 0, sizeof *l);
    int level = 0;
    const char *p = line;
    while (*p && l->count < MAX_FOLDERS) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!strncmp(p, "\xe2\x86\x92", 3)) { /* → */
            level++;
            p += 3;
            continue;
        }
        size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz_");
        if (n == 0 || n >= sizeof l->names[0])
            break;
        memcpy(l->names[l->count], p, n);
        l->level[l->count++] = level;
        p += n;
    }
    return l->count > 1;
}

static bool read_order(struct layering *l)
{
    char *readme = test_util_src_path("README.md");
    char *text = test_util_slurp(readme, NULL);
    free(readme);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    const char *at = strstr(text, "Include order: ");
    bool ok = at && parse_order(at + strlen("Include order: "), l);
    free(text);
    return ok;
}

/* Appends one line per include of `path` (in folder `from`) that goes against the order. */
static void check_file(const struct layering *l, const char *path, const char *from, struct ns_buf *bad)
{
    char *text = test_util_slurp(path, NULL);
    if (!text)
        return;
    int from_level = level_of(l, from);
    int line = 1;
    for (const char *p = text; *p; line++) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > 10 && !strncmp(p, "#include \"", 10)) {
            const char *name = p + 10, *slash = memchr(name, '/', len - 10);
            if (slash) {
                char folder[64] = {0};
                memcpy(folder, name, (size_t)(slash - name) < 63 ? (size_t)(slash - name) : 63);
                int to = level_of(l, folder);
                if (to >= 0 && strcmp(folder, from) != 0 && (from_level < 0 || to >= from_level))
                    ns_buf_printf(bad, "%s:%d: %s includes %s/, which the include order puts %s it\n", path, line,
                                  from, folder, to == from_level ? "beside" : "above");
            }
        }
        p += len + (end ? 1 : 0);
    }
    free(text);
}

static void check_tree(const struct layering *l, struct ns_buf *bad)
{
    char *src = test_util_src_path("src");
    DIR *d = opendir(src);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *folder = ns_asprintf("%s/%s", src, e->d_name);
        DIR *sub = opendir(folder);
        if (sub) {
            if (level_of(l, e->d_name) < 0)
                ns_buf_printf(bad, "src/%s is not in README's include order\n", e->d_name);
            struct dirent *f;
            while ((f = readdir(sub))) {
                size_t n = strlen(f->d_name);
                if (n > 2 && f->d_name[n - 2] == '.' && (f->d_name[n - 1] == 'c' || f->d_name[n - 1] == 'h')) {
                    char *path = ns_asprintf("%s/%s", folder, f->d_name);
                    check_file(l, path, e->d_name, bad);
                    free(path);
                }
            }
            closedir(sub);
        }
        free(folder);
    }
    closedir(d);
    free(src);
}

static void test_include_order(void)
{
    struct layering l;
    CU_ASSERT_FATAL(read_order(&l));
    CU_ASSERT(level_of(&l, "core") == 0);
    CU_ASSERT(level_of(&l, "cli") > level_of(&l, "run"));
    struct ns_buf bad = {0};
    check_tree(&l, &bad);
    if (bad.len)
        fprintf(stderr, "\n%s", bad.data);
    CU_ASSERT_EQUAL(bad.len, 0);
    ns_buf_free(&bad);
}

/* The checker itself must catch what it is there to catch. */
static void test_checker_catches(void)
{
    struct layering l;
    CU_ASSERT_FATAL(parse_order("core \xe2\x86\x92 spec \xe2\x86\x92 train, emit \xe2\x86\x92 cli", &l));
    CU_ASSERT_EQUAL(level_of(&l, "train"), level_of(&l, "emit"));
    CU_ASSERT(level_of(&l, "cli") > level_of(&l, "emit"));
    char *path = test_util_tmp_path("spec_x.c");
    test_util_write_text(path, "#include \"core/ns_util.h\"\n#include \"spec/spec.h\"\n#include \"cli/cli.h\"\n");
    struct ns_buf bad = {0};
    check_file(&l, path, "spec", &bad);
    CU_ASSERT(bad.len && strstr(bad.data, ":3: spec includes cli/") != NULL);
    CU_ASSERT(strstr(bad.data ? bad.data : "", "core/") == NULL);
    ns_buf_free(&bad);
    test_util_write_text(path, "#include \"emit/emit.h\"\n");
    check_file(&l, path, "train", &bad);
    CU_ASSERT(bad.len && strstr(bad.data, "puts beside it") != NULL);
    ns_buf_free(&bad);
    free(path);
}

/* The command-line layer is not part of the library: no test includes it. */
static void test_tests_skip_cli(void)
{
    char *dir = test_util_src_path("tests");
    DIR *d = opendir(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 3 || strcmp(e->d_name + n - 2, ".c") != 0)
            continue;
        char *path = ns_asprintf("%s/%s", dir, e->d_name);
        char *text = test_util_slurp(path, NULL);
        /* Spelled in two pieces so this file does not match itself. */
        char needle[32];
        snprintf(needle, sizeof needle, "#include \"%s/", "cli");
        if (text && strstr(text, needle))
            fprintf(stderr, "\n%s includes the command-line layer\n", path);
        CU_ASSERT(!text || !strstr(text, needle));
        free(text);
        free(path);
    }
    closedir(d);
    free(dir);
}

static int suite_init(void)
{
    return test_util_tmp_init("layout");
}

int main(void)
{
    static const struct test_util_case cases[] = {
        {"folders include each other in README's order only", test_include_order},
        {"the include checker catches a wrong include", test_checker_catches},
        {"no test includes the command-line layer", test_tests_skip_cli},
    };
    return test_util_main("layout", suite_init, test_util_tmp_clean, cases, sizeof cases / sizeof *cases);
}
