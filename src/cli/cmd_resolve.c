#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "spec/spec_resolve.h"

static const char usage[] = "netspec resolve SPEC [--set path=value]...";

void cmd_resolve_help(void)
{
    printf("usage: %s\n\n"
           "Prints SPEC fully resolved as YAML: `extends` merged, every --set applied and every\n"
           "default written out, in schema order. Feeding the output back to netspec gives the\n"
           "same resolution.\n\n"
           "options:\n"
           "  -s, --set PATH=VALUE   override a value, e.g. --set optimizer.lr=0.01 or\n"
           "                         --set model.layers[2].units=256 (repeatable)\n", usage);
}

int cmd_resolve(struct ns_ctx *ctx, int argc, char **argv)
{
    struct cli_spec_args args;
    if (!cli_parse_spec_args(ctx, argc, argv, &args, usage)) {
        cli_spec_args_free(&args);
        return 2;
    }
    struct spec *spec = spec_load(ctx, op_catalog(), args.spec_path, args.sets, args.set_count);
    cli_spec_args_free(&args);
    if (!spec)
        return 2;
    char *yaml = spec_resolve_yaml(spec);
    fputs(yaml, stdout);
    free(yaml);
    return 0;
}
