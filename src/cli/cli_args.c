#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/ns_util.h"
#include "kernels/kernels_cpu.h"

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
    memset(out, 0, sizeof *out);
    out->sets = ns_xcalloc((size_t)argc + 1, sizeof *out->sets);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--set") || !strcmp(arg, "-s")) {
            if (i + 1 >= argc) {
                cli_usage_error(ctx, usage, "--set needs path=value");
                return false;
            }
            out->sets[out->set_count++] = argv[++i];
        } else if (!strncmp(arg, "--set=", 6)) {
            out->sets[out->set_count++] = arg + 6;
        } else if (!cli_take_argument(ctx, usage, arg, &out->spec_path)) {
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
