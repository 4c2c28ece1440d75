#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/ns_util.h"
#include "kernels/kernels_cpu.h"
#include "spec/spec_schema.h"

void cli_usage_error(struct ns_ctx *ctx, const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = ns_vasprintf(fmt, ap);
    va_end(ap);
    char *hint = ns_asprintf("usage: %s\nrun 'netspec --help' for all commands", usage);
    ns_diag_add(&ctx->diag, NS_ERR_SPEC, (struct ns_loc){"netspec", 0, 0, 0}, hint, "%s", msg);
    free(hint);
    free(msg);
}

bool cli_parse_spec_args(struct ns_ctx *ctx, int argc, char **argv, struct cli_spec_args *out,
                         const char *usage)
{
    return cli_parse_spec_args_flags(ctx, argc, argv, out, usage, NULL, NULL);
}

bool cli_parse_spec_args_flags(struct ns_ctx *ctx, int argc, char **argv, struct cli_spec_args *out,
                               const char *usage, const char *const *flags, bool *seen)
{
    memset(out, 0, sizeof *out);
    out->sets = ns_xcalloc((size_t)argc + 1, sizeof *out->sets);
    for (size_t k = 0; flags && flags[k]; k++)
        seen[k] = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        size_t flag = 0;
        while (flags && flags[flag] && strcmp(flags[flag], arg) != 0)
            flag++;
        if (flags && flags[flag]) {
            seen[flag] = true;
        } else if (!strcmp(arg, "--set") || !strcmp(arg, "-s")) {
            if (i + 1 >= argc) {
                cli_usage_error(ctx, usage, "--set needs path=value");
                return false;
            }
            out->sets[out->set_count++] = argv[++i];
        } else if (!strncmp(arg, "--set=", 6)) {
            out->sets[out->set_count++] = arg + 6;
        } else if (!cli_take_spec_argument(ctx, usage, argc, argv, i, &out->spec_path)) {
            return false;
        }
    }
    if (!out->spec_path) {
        cli_usage_error(ctx, usage, "no spec file given");
        return false;
    }
    return true;
}

void cli_spec_args_free(struct cli_spec_args *args)
{
    free(args->sets);
    args->sets = NULL;
}

bool cli_isa_arg(struct ns_ctx *ctx, const char *usage, const char *value)
{
    enum kernels_isa isa;
    if (!kernels_isa_parse(value, &isa)) {
        cli_usage_error(ctx, usage, "--isa is auto, portable, avx2 or avx512, not \"%s\"", value);
        return false;
    }
    if (!kernels_isa_supported(isa)) {
        cli_usage_error(ctx, usage, "--isa %s: this CPU (or this build) cannot run it; auto picks %s", value,
                        kernels_isa_name(kernels_isa_resolve(KERNELS_ISA_AUTO)));
        return false;
    }
    ctx->isa = (int)isa;
    return true;
}

int cli_isa_option(struct ns_ctx *ctx, const char *usage, int argc, char **argv, int *i)
{
    bool missing = false;
    const char *v = cli_option_value(argc, argv, i, NULL, "--isa", &missing);
    if (!v && !missing)
        return 0;
    if (!v) {
        cli_usage_error(ctx, usage, "--isa needs a value");
        return -1;
    }
    return cli_isa_arg(ctx, usage, v) ? 1 : -1;
}

bool cli_take_argument(struct ns_ctx *ctx, const char *usage, const char *arg, const char **slot)
{
    if (arg[0] == '-' && arg[1]) {
        cli_usage_error(ctx, usage, "unknown option \"%s\"", arg);
        return false;
    }
    if (*slot) {
        cli_usage_error(ctx, usage, "unexpected argument \"%s\"", arg);
        return false;
    }
    *slot = arg;
    return true;
}

const char *cli_option_value(int argc, char **argv, int *i, const char *shortname,
                             const char *longname, bool *missing)
{
    const char *arg = argv[*i];
    size_t n = strlen(longname);
    if (!strncmp(arg, longname, n) && arg[n] == '=')
        return arg + n + 1;
    if (strcmp(arg, longname) != 0 && !(shortname && !strcmp(arg, shortname)))
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

/* ---- spec keys written as options ---- */

enum { SPEC_KEY_MATCHES = 3 };

struct key_search {
    char name[64];                         /* the option's name, '-' read as '_' */
    char *paths[SPEC_KEY_MATCHES];         /* the spec paths of the keys called name */
    size_t count;
    struct ns_buf all;                     /* every path, for a near miss: "\n" PATH "\n"... */
};

static void key_found(struct key_search *ks, const char *path)
{
    for (size_t i = 0; i < ks->count; i++)
        if (!strcmp(ks->paths[i], path))
            return;
    if (ks->count < SPEC_KEY_MATCHES)
        ks->paths[ks->count++] = ns_xstrdup(path);
}

/* Every key --set can reach through the schema table: values, and the sections written as a
 * single name (`loss: mse`). Layer keys are left out: their path needs the layer's index. */
static void key_walk(struct key_search *ks, const struct schema_section *s, const char *prefix)
{
    for (size_t i = 0; i < s->field_count; i++) {
        const struct schema_field *f = &s->fields[i];
        char *path = *prefix ? ns_asprintf("%s.%s", prefix, f->key) : ns_xstrdup(f->key);
        if (f->type == SCHEMA_SECTION) {
            key_walk(ks, f->section, path);
        } else if (f->type == SCHEMA_VARIANT) {
            for (size_t c = 0; f->variant->tag_names[c]; c++)
                key_walk(ks, f->variant->cases[c], path);
        }
        bool settable = (f->type != SCHEMA_SECTION && f->type != SCHEMA_VARIANT && f->type != SCHEMA_LAYERS)
                        || (f->type == SCHEMA_VARIANT && f->variant->scalar_ok);
        if (settable && strcmp(path, "extends") != 0) {
            if (!strcmp(f->key, ks->name))
                key_found(ks, path);
            ns_buf_printf(&ks->all, "%s\n", path);
        }
        free(path);
    }
}

/* The hint for an unknown option `--NAME[=VALUE]` (VALUE may be the next argument) that names
 * a spec key, or is one letter from one: the --set that does what it meant. NULL otherwise. */
static char *spec_key_hint(int argc, char **argv, int i)
{
    const char *arg = argv[i];
    if (strncmp(arg, "--", 2) != 0 || !arg[2])
        return NULL;
    struct key_search ks = {0};
    const char *eq = strchr(arg, '=');
    size_t n = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
    if (n >= sizeof ks.name)
        return NULL;
    for (size_t k = 0; k < n; k++)
        ks.name[k] = arg[2 + k] == '-' ? '_' : arg[2 + k];
    ns_buf_puts(&ks.all, "");
    key_walk(&ks, &spec_schema_root, "");
    if (!ks.count) {
        /* A near miss (`--epoch`): the closest key name, compared by its last part. */
        const char *leaves[512], *paths[512];
        size_t count = 0;
        for (char *line = ks.all.data; *line && count < 512;) {
            char *nl = strchr(line, '\n');
            *nl = '\0';
            const char *dot = strrchr(line, '.');
            leaves[count] = dot ? dot + 1 : line;
            paths[count++] = line;
            line = nl + 1;
        }
        const char *near = ns_closest(ks.name, leaves, count);
        for (size_t k = 0; near && k < count; k++)
            if (leaves[k] == near)
                key_found(&ks, paths[k]);
    }
    char *hint = NULL;
    if (ks.count) {
        const char *value = eq ? eq + 1 : i + 1 < argc && argv[i + 1][0] != '-' ? argv[i + 1] : "VALUE";
        struct ns_buf b = {0};
        ns_buf_printf(&b, "spec values are set with --set PATH=VALUE: did you mean --set %s=%s", ks.paths[0], value);
        for (size_t k = 1; k < ks.count; k++)
            ns_buf_printf(&b, "%s--set %s=%s", k + 1 == ks.count ? " or " : ", ", ks.paths[k], value);
        ns_buf_puts(&b, "?");
        hint = b.data;
    }
    for (size_t k = 0; k < ks.count; k++)
        free(ks.paths[k]);
    ns_buf_free(&ks.all);
    return hint;
}

bool cli_take_spec_argument(struct ns_ctx *ctx, const char *usage, int argc, char **argv, int i, const char **slot)
{
    char *hint = argv[i][0] == '-' ? spec_key_hint(argc, argv, i) : NULL;
    if (!hint)
        return cli_take_argument(ctx, usage, argv[i], slot);
    char *full = ns_asprintf("%s\nusage: %s", hint, usage);
    ns_diag_add(&ctx->diag, NS_ERR_SPEC, (struct ns_loc){"netspec", 0, 0, 0}, full, "unknown option \"%s\"", argv[i]);
    free(full);
    free(hint);
    return false;
}
