#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "spec/spec_jsonschema.h"

static const char usage[] = "netspec schema";

void cmd_schema_help(void)
{
    printf("usage: %s\n\n"
           "Prints the spec language as a JSON Schema (draft 2020-12), generated from the same\n"
           "table the validator uses. Editors with a YAML language server use it for completion,\n"
           "hover docs and checking as you type; grammar/netspec.schema.json is this output.\n"
           "Point a spec at it with a first line like\n"
           "  # yaml-language-server: $schema=../grammar/netspec.schema.json\n",
           usage);
}

int cmd_schema(struct ns_ctx *ctx, int argc, char **argv)
{
    if (argc > 1) {
        cli_usage_error(ctx, usage, "unexpected argument \"%s\"", argv[1]);
        return 2;
    }
    char *json = spec_jsonschema(op_catalog());
    int rc = fputs(json, stdout) < 0 || fflush(stdout) != 0 ? NS_ERR_OUTPUT : 0;
    free(json);
    if (rc)
        ns_diag_add(&ctx->diag, NS_ERR_OUTPUT, (struct ns_loc){"netspec", 0, 0, 0}, NULL,
                    "cannot write the schema to standard output: %s", strerror(errno));
    return rc;
}
