/* Everything generated from the schema table: `netspec schema` (checked in as
 * grammar/netspec.schema.json), the key reference of man/netspec-spec.5 and `netspec resolve`.
 *
 * The checked-in copies must equal what the code generates. After changing the schema or op
 * tables, regenerate them with
 *     NETSPEC_UPDATE=1 make check TESTS=tests/test_schema
 * (or NETSPEC_UPDATE=1 NETSPEC_SRCDIR=. tests/test_schema) and review the diff. */
#include <CUnit/Basic.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ns_ctx.h"
#include "core/ns_util.h"
#include "ops/op.h"
#include "spec/spec.h"
#include "spec/spec_doc.h"
#include "spec/spec_jsonschema.h"
#include "spec/spec_resolve.h"
#include "spec/spec_schema.h"

#include "test_util.h"

/* ---- helpers ---- */

static bool updating(void)
{
    const char *u = getenv("NETSPEC_UPDATE");
    return u && *u && strcmp(u, "0") != 0;
}

/* Calls fn(section, context) for every section the table reaches: the root, nested sections,
 * every case of every variant, and every op's parameter schema. */
typedef void (*section_fn)(const struct schema_section *section, void *context);

static void walk_section(const struct schema_section *s, section_fn fn, void *context)
{
    fn(s, context);
    for (size_t i = 0; i < s->field_count; i++) {
        const struct schema_field *f = &s->fields[i];
        if (f->type == SCHEMA_SECTION)
            walk_section(f->section, fn, context);
        if (f->type == SCHEMA_VARIANT)
            for (size_t c = 0; f->variant->tag_names[c]; c++)
                walk_section(f->variant->cases[c], fn, context);
    }
}

static void walk_all(section_fn fn, void *context)
{
    walk_section(&spec_schema_root, fn, context);
    for (size_t i = 0; i < op_count(); i++)
        if (op_at(i)->layer.param_schema)
            walk_section(op_at(i)->layer.param_schema, fn, context);
}

/* ---- a small strict JSON checker ---- */

struct json_check {
    const char *p;
    struct ns_buf keys; /* every object key seen, each as "\n" KEY "\n" */
    int max_depth;
    bool duplicate;
};

static void json_ws(struct json_check *j)
{
    while (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r')
        j->p++;
}

static bool json_string(struct json_check *j, struct ns_buf *out)
{
    if (*j->p != '"')
        return false;
    j->p++;
    while (*j->p != '"') {
        unsigned char c = (unsigned char)*j->p;
        if (c < 0x20)
            return false;
        if (c == '\\') {
            j->p++;
            if (*j->p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", j->p[i]) || !j->p[i])
                        return false;
                j->p += 5;
                continue;
            }
            if (!*j->p || !strchr("\"\\/bfnrt", *j->p))
                return false;
        }
        if (out)
            ns_buf_append(out, j->p, 1);
        j->p++;
    }
    j->p++;
    return true;
}

static bool json_digits(struct json_check *j)
{
    const char *start = j->p;
    while (*j->p >= '0' && *j->p <= '9')
        j->p++;
    return j->p > start;
}

static bool json_number(struct json_check *j)
{
    if (*j->p == '-')
        j->p++;
    if (*j->p == '0')
        j->p++;
    else if (!json_digits(j))
        return false;
    if (*j->p == '.') {
        j->p++;
        if (!json_digits(j))
            return false;
    }
    if (*j->p == 'e' || *j->p == 'E') {
        j->p++;
        if (*j->p == '+' || *j->p == '-')
            j->p++;
        if (!json_digits(j))
            return false;
    }
    return true;
}

static bool json_value(struct json_check *j, int depth)
{
    if (depth > j->max_depth)
        j->max_depth = depth;
    json_ws(j);
    if (*j->p == '{') {
        j->p++;
        json_ws(j);
        struct ns_buf seen = {0};
        ns_buf_puts(&seen, "\n");
        bool ok = true;
        if (*j->p == '}') {
            j->p++;
        } else {
            for (;;) {
                json_ws(j);
                struct ns_buf key = {0};
                ns_buf_puts(&key, "\n");
                if (!json_string(j, &key)) {
                    ok = false;
                    ns_buf_free(&key);
                    break;
                }
                ns_buf_puts(&key, "\n");
                if (strstr(seen.data, key.data))
                    j->duplicate = true;
                ns_buf_append(&seen, key.data + 1, key.len - 1);
                ns_buf_append(&j->keys, key.data, key.len);
                ns_buf_free(&key);
                json_ws(j);
                if (*j->p++ != ':' || !json_value(j, depth + 1)) {
                    ok = false;
                    break;
                }
                json_ws(j);
                if (*j->p == ',') {
                    j->p++;
                    continue;
                }
                if (*j->p == '}') {
                    j->p++;
                    break;
                }
                ok = false;
                break;
            }
        }
        ns_buf_free(&seen);
        return ok;
    }
    if (*j->p == '[') {
        j->p++;
        json_ws(j);
        if (*j->p == ']') {
            j->p++;
            return true;
        }
        for (;;) {
            if (!json_value(j, depth + 1))
                return false;
            json_ws(j);
            if (*j->p == ',') {
                j->p++;
                continue;
            }
            if (*j->p == ']') {
                j->p++;
                return true;
            }
            return false;
        }
    }
    if (*j->p == '"')
        return json_string(j, NULL);
    if (!strncmp(j->p, "true", 4) || !strncmp(j->p, "null", 4)) {
        j->p += 4;
        return true;
    }
    if (!strncmp(j->p, "false", 5)) {
        j->p += 5;
        return true;
    }
    return json_number(j);
}

/* Parses a whole document; returns false on any syntax error or trailing garbage. */
static bool json_parse(const char *text, struct json_check *j)
{
    memset(j, 0, sizeof *j);
    j->p = text;
    ns_buf_puts(&j->keys, "\n");
    if (!json_value(j, 0))
        return false;
    json_ws(j);
    return *j->p == '\0';
}

static bool json_has_key(const struct json_check *j, const char *key)
{
    char *needle = ns_asprintf("\n%s\n", key);
    bool found = strstr(j->keys.data, needle) != NULL;
    free(needle);
    return found;
}

/* ---- (a) JSON Schema ---- */

static void test_json_checker(void)
{
    struct json_check j;
    CU_ASSERT_TRUE(json_parse("{\"a\": [1, -2.5e+3, true, null, \"x\\n\\u00e9\"], \"b\": {}}", &j));
    CU_ASSERT_TRUE(json_has_key(&j, "a"));
    CU_ASSERT_TRUE(json_has_key(&j, "b"));
    CU_ASSERT_FALSE(j.duplicate);
    ns_buf_free(&j.keys);
    static const char *const bad[] = {"{\"a\": 1,}", "[1 2]", "{\"a\" 1}", "01", "1.", "\"\\x\"", "{} {}",
                                      "[tru]", "{\"a\": .5}", NULL};
    for (size_t i = 0; bad[i]; i++) {
        CU_ASSERT_FALSE(json_parse(bad[i], &j));
        ns_buf_free(&j.keys);
    }
    CU_ASSERT_TRUE(json_parse("{\"a\": 1, \"a\": 2}", &j));
    CU_ASSERT_TRUE(j.duplicate);
    ns_buf_free(&j.keys);
}

static void check_section_in_json(const struct schema_section *s, void *context)
{
    const struct json_check *j = context;
    for (size_t i = 0; i < s->field_count; i++) {
        bool found = json_has_key(j, s->fields[i].key);
        if (!found)
            fprintf(stderr, "\n  key \"%s\" of %s is missing from the JSON schema", s->fields[i].key, s->name);
        CU_ASSERT_TRUE(found);
    }
}

static void test_jsonschema_valid(void)
{
    char *json = spec_jsonschema(op_catalog());
    CU_ASSERT_FATAL(json != NULL);
    size_t n = strlen(json);
    CU_ASSERT_TRUE(n > 1000);
    CU_ASSERT_EQUAL(json[n - 1], '\n');
    CU_ASSERT_TRUE(n < 2 || json[n - 2] != '\n');
    CU_ASSERT_EQUAL(strncmp(json, "{\n  \"$schema\": \"https://json-schema.org/draft/2020-12/schema\",\n", 62), 0);

    struct json_check j;
    CU_ASSERT_TRUE_FATAL(json_parse(json, &j));
    CU_ASSERT_FALSE(j.duplicate);
    CU_ASSERT_TRUE(j.max_depth >= 6);
    walk_all(check_section_in_json, &j);
    for (size_t i = 0; i < op_count(); i++) {
        char *def = ns_asprintf("layer_%s", op_at(i)->layer.name);
        char *ref = ns_asprintf("\"$ref\": \"#/$defs/layer_%s\"", op_at(i)->layer.name);
        CU_ASSERT_TRUE(json_has_key(&j, def));
        CU_ASSERT_TRUE(json_has_key(&j, op_at(i)->layer.name));
        CU_ASSERT_PTR_NOT_NULL(strstr(json, ref));
        free(def);
        free(ref);
    }
    static const char *const keywords[] = {"$defs", "additionalProperties", "required", "properties", "default",
                                           "minimum", "maximum", "exclusiveMinimum", "enum", "oneOf", "anyOf",
                                           "const", "items", "minItems", "maxItems", "description", "title", NULL};
    for (size_t i = 0; keywords[i]; i++)
        CU_ASSERT_TRUE(json_has_key(&j, keywords[i]));
    ns_buf_free(&j.keys);

    /* Spot checks of values the table holds. */
    /* The strict form requires the table's required keys; the lenient root requires none. */
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"spec\": {\n      \"description\": \"a complete spec (one without `extends:`)\",\n"
                                        "      \"type\": \"object\",\n      \"additionalProperties\": false,\n"
                                        "      \"required\": [\n        \"version\",\n        \"data\",\n"
                                        "        \"model\",\n        \"loss\"\n      ],\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\n  \"if\": {\n    \"not\": {\n      \"required\": [\n        \"extends\"\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"default\": 1234"));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"default\": 1.0e-08"));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"const\": \"adamw\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"exclusiveMinimum\": 0.0"));
    CU_ASSERT_PTR_NULL(strstr(json, "\"required\": []"));

    /* Deterministic. */
    char *again = spec_jsonschema(op_catalog());
    CU_ASSERT_STRING_EQUAL(json, again);
    free(again);
    free(json);
}

static void test_jsonschema_checked_in(void)
{
    char *json = spec_jsonschema(op_catalog());
    char *path = test_util_src_path("grammar/netspec.schema.json");
    if (updating())
        CU_ASSERT_TRUE(test_util_save_text(path, json));
    char *file = ns_read_file(path, 0, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL(file);
    if (file) {
        bool same = strcmp(file, json) == 0;
        if (!same)
            fprintf(stderr, "\n  %s differs from `netspec schema`; regenerate with NETSPEC_UPDATE=1", path);
        CU_ASSERT_TRUE(same);
    }
    free(file);
    free(path);
    free(json);
}

/* ---- (a') the JSON Schema agrees with netspec ----
 *
 * Every spec in tests/specs/schema_corpus says in its first line what netspec makes of it
 * (`# corpus: valid` or `# corpus: invalid`); a second line `# beyond JSON Schema: WHY` marks
 * a spec netspec refuses for a reason JSON Schema cannot state (references between layers,
 * sums, the data), which the schema must then accept. netspec's verdict is `netspec check`'s;
 * the schema's is tests/schema_corpus.py's, a JSON Schema validator (python3-jsonschema)
 * reading the YAML as YAML 1.2 does, as editors do. Any other disagreement fails. */

struct corpus_entry {
    char *name;
    bool valid;     /* netspec's verdict, as the file says */
    bool beyond;    /* refused for a reason beyond JSON Schema */
    bool schema_valid, schema_seen;
    char *schema_message;
};

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The corpus's file names, sorted; the count in *n. */
static char **corpus_names(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    size_t count = 0, cap = 16;
    char **names = ns_xmalloc(cap * sizeof *names);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") != 0)
            continue;
        if (count == cap)
            names = ns_xrealloc(names, (cap *= 2) * sizeof *names);
        names[count++] = ns_xstrdup(e->d_name);
    }
    closedir(d);
    qsort(names, count, sizeof *names, compare_strings);
    *n = count;
    return names;
}

/* The schema's verdicts from tests/schema_corpus.py; false (after saying loudly why) when no
 * JSON Schema validator runs here. */
static bool schema_verdicts(const char *dir, struct corpus_entry *entries, size_t n)
{
    char *json = spec_jsonschema(op_catalog());
    char *schema = test_util_temp_file(json, strlen(json));
    free(json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(schema);
    char *script = test_util_src_path("tests/schema_corpus.py");
    struct ns_buf cmd = {0};
    ns_buf_printf(&cmd, "cd '%s' && python3 '%s' '%s'", dir, script, schema);
    for (size_t i = 0; i < n; i++)
        ns_buf_printf(&cmd, " '%s'", entries[i].name);
    struct test_util_run r = test_util_shell(cmd.data);
    bool ran = r.exit_code == 0;
    size_t err_len = strlen(r.err);
    while (err_len && r.err[err_len - 1] == '\n')
        r.err[--err_len] = '\0';
    if (!ran) {
        fprintf(stderr,
                "\n*** test_schema: no JSON Schema validator ran (python3 %s exited %d: %s): the spec corpus is NOT "
                "checked against the JSON Schema; install python3-jsonschema and python3-yaml (scripts/deps.sh "
                "does) ***\n",
                script, r.exit_code, r.err);
    }
    for (const char *line = r.out; ran && *line;) {
        const char *nl = strchr(line, '\n');
        char *text = ns_xstrndup(line, nl ? (size_t)(nl - line) : strlen(line));
        char *tab = strchr(text, '\t');
        char *file = tab ? tab + 1 : NULL;
        char *message = file ? strchr(file, '\t') : NULL;
        if (tab)
            *tab = '\0';
        if (message)
            *message++ = '\0';
        for (size_t i = 0; file && i < n; i++)
            if (!strcmp(entries[i].name, file)) {
                entries[i].schema_seen = true;
                entries[i].schema_valid = !strcmp(text, "valid");
                entries[i].schema_message = ns_xstrdup(message ? message : "");
            }
        free(text);
        line = nl ? nl + 1 : line + strlen(line);
    }
    test_util_run_free(&r);
    ns_buf_free(&cmd);
    unlink(schema);
    free(schema);
    free(script);
    return ran;
}

static void test_jsonschema_corpus(void)
{
    char *dir = test_util_src_path("tests/specs/schema_corpus");
    size_t n = 0;
    char **names = corpus_names(dir, &n);
    CU_ASSERT(n >= 100);
    struct corpus_entry *entries = ns_xcalloc(n ? n : 1, sizeof *entries);
    size_t valid = 0, beyond = 0;
    for (size_t i = 0; i < n; i++) {
        struct corpus_entry *c = &entries[i];
        c->name = names[i];
        char *path = ns_asprintf("%s/%s", dir, c->name);
        char *text = test_util_slurp(path, NULL);
        bool said_valid = !strncmp(text, "# corpus: valid\n", 16);
        bool said_invalid = !strncmp(text, "# corpus: invalid\n", 18);
        if (!said_valid && !said_invalid)
            fprintf(stderr, "\n  %s: the first line must be `# corpus: valid` or `# corpus: invalid`\n", c->name);
        CU_ASSERT(said_valid || said_invalid);
        c->valid = said_valid;
        c->beyond = said_invalid && !strncmp(text + 18, "# beyond JSON Schema: ", 22);
        valid += c->valid;
        beyond += c->beyond;
        free(text);
        free(path);

        char *args = ns_asprintf("check '%s'", c->name);
        struct test_util_run r = test_util_netspec_opts((struct test_util_opts){.cwd = dir}, args);
        bool netspec_valid = r.exit_code == 0;
        /* 2 and 3 are refusals (spec, data); anything else is a crash or an internal error. */
        CU_ASSERT(r.exit_code == 0 || r.exit_code == 2 || r.exit_code == 3);
        if (netspec_valid != c->valid)
            fprintf(stderr, "\n  %s: the corpus says %s, but netspec check says %s (exit %d)%s%s\n", c->name,
                    c->valid ? "valid" : "invalid", netspec_valid ? "valid" : "invalid", r.exit_code,
                    netspec_valid ? "" : ": ", r.err);
        CU_ASSERT_EQUAL(netspec_valid, c->valid);
        test_util_run_free(&r);
        free(args);
    }
    /* Both sides must be exercised: specs the schema must pass, refuse, and let through. */
    CU_ASSERT(valid >= 20 && n - valid - beyond >= 50 && beyond >= 10);

    if (schema_verdicts(dir, entries, n)) {
        size_t disagreements = 0;
        for (size_t i = 0; i < n; i++) {
            const struct corpus_entry *c = &entries[i];
            CU_ASSERT(c->schema_seen);
            bool want = c->beyond ? true : c->valid;
            if (!c->schema_seen || c->schema_valid == want)
                continue;
            disagreements++;
            if (c->beyond)
                fprintf(stderr, "\n  %s: listed as beyond JSON Schema, but the schema refuses it (%s): drop the "
                                "`# beyond` line\n", c->name, c->schema_message);
            else if (c->valid)
                fprintf(stderr, "\n  %s: netspec takes it, the JSON Schema refuses it: %s\n", c->name,
                        c->schema_message);
            else
                fprintf(stderr, "\n  %s: netspec refuses it, the JSON Schema takes it\n", c->name);
        }
        CU_ASSERT_EQUAL(disagreements, 0);
    }
    for (size_t i = 0; i < n; i++) {
        free(entries[i].name);
        free(entries[i].schema_message);
    }
    free(entries);
    free(names);
    free(dir);
}

/* ---- (b) the man page ---- */

/* The text between the marker lines (exclusive), or NULL. */
static char *generated_part(const char *page, const char **begin, const char **end)
{
    const char *b = strstr(page, SPEC_DOC_BEGIN "\n");
    const char *e = strstr(page, SPEC_DOC_END "\n");
    if (!b || !e || e < b)
        return NULL;
    b += strlen(SPEC_DOC_BEGIN "\n");
    if (begin)
        *begin = b;
    if (end)
        *end = e;
    return ns_xstrndup(b, (size_t)(e - b));
}

static void check_section_in_man(const struct schema_section *s, void *context)
{
    const char *page = context;
    for (size_t i = 0; i < s->field_count; i++) {
        char *needle = ns_asprintf("\n.B %s\n", s->fields[i].key);
        bool found = strstr(page, needle) != NULL;
        if (!found)
            fprintf(stderr, "\n  key \"%s\" of %s is not in the man page as .B %s", s->fields[i].key, s->name,
                    s->fields[i].key);
        CU_ASSERT_TRUE(found);
        free(needle);
    }
}

static void test_man_keys(void)
{
    struct ns_buf gen = {0};
    spec_doc_man_keys(&gen, op_catalog());
    CU_ASSERT_FATAL(gen.data != NULL);
    CU_ASSERT_TRUE(gen.len > 0 && gen.data[gen.len - 1] == '\n');
    /* No stray control lines: every line starting with '.' is a known request. */
    for (const char *line = gen.data; *line;) {
        if (*line == '.') {
            bool known = !strncmp(line, ".SS \"", 5) || !strncmp(line, ".TP\n", 4) || !strncmp(line, ".B ", 3) ||
                         !strncmp(line, ".PP\n", 4);
            if (!known)
                fprintf(stderr, "\n  unexpected roff line: %.40s", line);
            CU_ASSERT_TRUE(known);
        }
        const char *nl = strchr(line, '\n');
        line = nl ? nl + 1 : line + strlen(line);
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(gen.data, ".SS \"optimizer (type: adamw)\"\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(gen.data, ".SS \"data.train, data.test\"\n"));
    for (size_t i = 0; i < op_count(); i++) {
        char *title = ns_asprintf(".SS \"Layer: %s\"\n", op_at(i)->layer.name);
        CU_ASSERT_PTR_NOT_NULL(strstr(gen.data, title));
        free(title);
    }

    char *path = test_util_src_path("man/netspec-spec.5");
    char *page = ns_read_file(path, 0, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(page);
    const char *b = NULL, *e = NULL;
    char *part = generated_part(page, &b, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(part);
    if (updating() && strcmp(part, gen.data) != 0) {
        struct ns_buf out = {0};
        ns_buf_append(&out, page, (size_t)(b - page));
        ns_buf_puts(&out, gen.data);
        ns_buf_puts(&out, e);
        CU_ASSERT_TRUE(test_util_save_text(path, out.data));
        free(page);
        page = out.data;
        free(part);
        part = generated_part(page, NULL, NULL);
    }
    bool same = strcmp(part, gen.data) == 0;
    if (!same)
        fprintf(stderr, "\n  the generated keys in %s are stale; regenerate with NETSPEC_UPDATE=1", path);
    CU_ASSERT_TRUE(same);
    walk_all(check_section_in_man, page);
    /* The hand-written parts the page promises. */
    static const char *const parts[] = {".TH NETSPEC-SPEC 5", ".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION",
                                        ".SH EXAMPLES", ".SH SEE ALSO", "netspec (1)", NULL};
    for (size_t i = 0; parts[i]; i++)
        CU_ASSERT_PTR_NOT_NULL(strstr(page, parts[i]));
    free(part);
    free(page);
    free(path);
    ns_buf_free(&gen);
}

/* ---- (c) resolve ---- */

static void test_plain_ok(void)
{
    static const char *const plain[] = {"relu", "T-shirt/top", "Ankle boot", "/usr/share/x.gz", "fashion_mlp",
                                        "a.b-c", "Überzieher", "auto", "x=1", NULL};
    static const char *const quoted[] = {"", "yes", "No", "on", "OFF", "true", "Null", "y", "n", "~", "0", "12",
                                         "1e5", "-3", ".5", "inf", "NaN", "0x1f", "a: b", "a #b", "x, y", "[a]",
                                         "{a}", "-", "- a", "?", "*ref", "&a", "!tag", "|", ">", "'q'", "\"q\"",
                                         "%x", "@x", "`x`", " lead", "trail ", "a\nb", "tab\t", NULL};
    for (size_t i = 0; plain[i]; i++)
        CU_ASSERT_TRUE(spec_resolve_plain_ok(plain[i]));
    for (size_t i = 0; quoted[i]; i++) {
        bool ok = spec_resolve_plain_ok(quoted[i]);
        if (ok)
            fprintf(stderr, "\n  \"%s\" should be quoted", quoted[i]);
        CU_ASSERT_FALSE(ok);
    }
    struct ns_buf b = {0};
    spec_resolve_put_string(&b, "say \"hi\"\\\n\t\x01");
    CU_ASSERT_STRING_EQUAL(b.data, "\"say \\\"hi\\\"\\\\\\n\\t\\x01\"");
    ns_buf_free(&b);
    spec_resolve_put_string(&b, "a\xc2\x85" "b\xe2\x80\xa8" "c\xe2\x80\xa9" "\xef\xbb\xbf" "\xc3\xa9");
    CU_ASSERT_STRING_EQUAL(b.data, "\"a\\Nb\\Lc\\P\\uFEFF\xc3\xa9\"");
    ns_buf_free(&b);
    spec_resolve_put_string(&b, "relu");
    CU_ASSERT_STRING_EQUAL(b.data, "relu");
    ns_buf_free(&b);
}

static void test_format_double(void)
{
    static const struct {
        double value;
        const char *text;
    } cases[] = {
        {0.001, "0.001"}, {10, "10.0"}, {1e-8, "1.0e-08"}, {0.00392156862745098, "0.00392156862745098"},
        {1e9, "1000000000.0"}, {1e16, "1.0e+16"}, {0.0001, "0.0001"}, {0.00001, "1.0e-05"}, {-2.5, "-2.5"},
        {0, "0.0"}, {0.1, "0.1"}, {123.456, "123.456"}, {2.5e-300, "2.5e-300"}, {1.0 / 3, "0.3333333333333333"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[SPEC_RESOLVE_DOUBLE_MAX];
        spec_resolve_format_double(cases[i].value, text);
        CU_ASSERT_STRING_EQUAL(text, cases[i].text);
        CU_ASSERT_EQUAL(strtod(text, NULL), cases[i].value);
    }
}

/* Loads `path` (with overrides) and resolves it; NULL when it does not load. */
static char *resolve_file(const char *path, const char *const *sets, size_t set_count)
{
    struct ns_ctx ctx;
    ns_ctx_init(&ctx);
    struct spec *spec = spec_load(&ctx, op_catalog(), path, sets, set_count);
    char *yaml = spec ? spec_resolve_yaml(spec) : NULL;
    if (!spec) {
        fprintf(stderr, "\n  %s does not load:", path);
        for (size_t i = 0; i < ctx.diag.count; i++)
            fprintf(stderr, "\n    %s:%d:%d: %s", ctx.diag.items[i].file ? ctx.diag.items[i].file : "",
                    ctx.diag.items[i].line, ctx.diag.items[i].col, ctx.diag.items[i].message);
    }
    ns_ctx_free(&ctx);
    return yaml;
}

/* resolve(resolve(x)) == resolve(x), and the output's promises hold. */
static void check_round_trip(const char *path, const char *const *sets, size_t set_count, char **first_out)
{
    char *first = resolve_file(path, sets, set_count);
    CU_ASSERT_PTR_NOT_NULL(first);
    if (!first)
        return;
    char *tmp = test_util_temp_file(first, strlen(first));
    CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
    char *second = resolve_file(tmp, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL(second);
    if (second) {
        bool same = strcmp(first, second) == 0;
        if (!same)
            fprintf(stderr, "\n  resolving %s twice differs:\n--- first\n%s--- second\n%s", path, first, second);
        CU_ASSERT_TRUE(same);
    }
    CU_ASSERT_EQUAL(strncmp(first, "# resolved by netspec ", 22), 0);
    CU_ASSERT_PTR_NULL(strstr(first, "\nextends:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(first, "\nversion: 1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(first, "\nname: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(first, "\n  layers:\n    - "));
    /* Every section with a default is written out, and every layer keeps its name. */
    static const char *const always[] = {"\nseed: ", "\noptimizer:\n  type: ", "\nschedule:\n  type: ",
                                         "\ntrain:\n  epochs: ", "\n  early_stopping:\n    patience: ",
                                         "\nruntime:\n  threads: ", "\n  normalize:\n    type: ", NULL};
    for (size_t i = 0; always[i]; i++)
        CU_ASSERT_PTR_NOT_NULL(strstr(first, always[i]));
    for (const char *p = strstr(first, "\n    - "); p; p = strstr(p + 1, "\n    - ")) {
        const char *nl = strchr(p + 1, '\n');
        char *line = ns_xstrndup(p + 1, nl ? (size_t)(nl - p - 1) : strlen(p + 1));
        CU_ASSERT_PTR_NOT_NULL(strstr(line, "name: "));
        CU_ASSERT_EQUAL(line[strlen(line) - 1], '}');
        free(line);
    }
    unlink(tmp);
    free(tmp);
    free(second);
    if (first_out)
        *first_out = first;
    else
        free(first);
}

static void test_resolve_specs(void)
{
    char *dir = test_util_src_path("specs");
    DIR *d = opendir(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    size_t count = 0;
    bool mlp = false, cnn = false;
    struct dirent *ent;
    while ((ent = readdir(d))) {
        size_t n = strlen(ent->d_name);
        if (n < 6 || strcmp(ent->d_name + n - 5, ".yaml") != 0)
            continue;
        char *path = ns_asprintf("%s/%s", dir, ent->d_name);
        check_round_trip(path, NULL, 0, NULL);
        mlp |= !strcmp(ent->d_name, "fashion_mlp.yaml");
        cnn |= !strcmp(ent->d_name, "fashion_cnn.yaml");
        count++;
        free(path);
    }
    closedir(d);
    free(dir);
    CU_ASSERT_TRUE(count >= 2);
    CU_ASSERT_TRUE(mlp);
    CU_ASSERT_TRUE(cnn);
}

static void test_resolve_sets(void)
{
    char *path = test_util_src_path("specs/fashion_mlp.yaml");
    const char *const sets[] = {"optimizer.lr=0.05", "train.epochs=3", "model.layers[1].units=64",
                                "data.normalize.mean=[0.5]", "seed=7"};
    char *first = NULL;
    check_round_trip(path, sets, sizeof sets / sizeof *sets, &first);
    if (first) {
        CU_ASSERT_PTR_NOT_NULL(strstr(first, "\n  lr: 0.05\n"));
        CU_ASSERT_PTR_NOT_NULL(strstr(first, "\n  epochs: 3\n"));
        CU_ASSERT_PTR_NOT_NULL(strstr(first, "\n    mean: [0.5]\n"));
        CU_ASSERT_PTR_NOT_NULL(strstr(first, "\nseed: 7\n"));
        CU_ASSERT_PTR_NOT_NULL(strstr(first, "units: 64,"));
    }
    free(first);
    free(path);
}

/* Values that need quoting, written by hand so every scalar kind is exercised. */
static void test_resolve_quoting(void)
{
    const char *spec_text =
        "version: 1\n"
        "name: \"yes\"\n"
        "data:\n"
        "  format: idx\n"
        "  train: {images: \"/tmp/odd dir/a: b.gz\", labels: /tmp/l.gz}\n"
        "  classes: [\"0\", \"a, b\", 'say \"hi\"', \"null\", plain name, \"#tag\", caf\xc3\xa9, \"x\\Ny\"]\n"
        "  normalize: {scale: 0.00392156862745098, mean: 0.5, std: [0.25]}\n"
        "model:\n"
        "  input: [28, 28, 1]\n"
        "  layers:\n"
        "    - flatten\n"
        "    - dense: {units: 8, name: \"on\"}\n"
        "    - dense: {units: auto, from: \"on\"}\n"
        "loss: cross_entropy\n"
        "optimizer: {type: sgd, lr: 10}\n"
        "schedule: {type: step, step_size: 2}\n"
        "train: {early_stopping: {patience: 2, min_delta: 0.00001}}\n";
    char *tmp = test_util_temp_file(spec_text, strlen(spec_text));
    CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
    char *first = NULL;
    check_round_trip(tmp, NULL, 0, &first);
    if (first) {
        static const char *const want[] = {
            "\nname: \"yes\"\n",
            "\n    images: \"/tmp/odd dir/a: b.gz\"\n",
            "\n    labels: /tmp/l.gz\n",
            "\n  classes: [\"0\", \"a, b\", \"say \\\"hi\\\"\", \"null\", plain name, \"#tag\", caf\xc3\xa9, \"x\\Ny\"]\n",
            "\n    mean: [0.5]\n    std: [0.25]\n",
            "\n  input: [28, 28, 1]\n",
            "\n    - flatten: {name: flatten0}\n",
            "{units: 8, activation: linear, use_bias: true, init: auto, name: \"on\"}\n",
            "{units: auto, activation: linear, use_bias: true, init: auto, name: dense2, from: \"on\"}\n",
            "\nloss:\n  type: cross_entropy\n  label_smoothing: 0.0\n",
            "\n  lr: 10.0\n",
            "\n  step_size: 2\n  gamma: 0.1\n",
            "\n    min_delta: 1.0e-05\n",
        };
        for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
            bool found = strstr(first, want[i]) != NULL;
            if (!found)
                fprintf(stderr, "\n  expected in the resolved spec: %s", want[i]);
            CU_ASSERT_TRUE(found);
        }
        /* An optional section the spec left out stays out. */
        CU_ASSERT_PTR_NULL(strstr(first, "\n  test:"));
    }
    free(first);
    unlink(tmp);
    free(tmp);
}

int main(void)
{
    static const struct test_util_case cases[] = {
        {"json checker", test_json_checker},
        {"jsonschema is valid and complete", test_jsonschema_valid},
        {"jsonschema equals grammar/netspec.schema.json", test_jsonschema_checked_in},
        {"jsonschema and netspec agree on tests/specs/schema_corpus", test_jsonschema_corpus},
        {"man page keys", test_man_keys},
        {"resolve plain or quoted", test_plain_ok},
        {"resolve float text", test_format_double},
        {"resolve specs round trip", test_resolve_specs},
        {"resolve with --set", test_resolve_sets},
        {"resolve quoting round trip", test_resolve_quoting},
    };
    return test_util_main("schema", NULL, NULL, cases, sizeof cases / sizeof *cases);
}
