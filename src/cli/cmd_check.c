#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/ns_util.h"
#include "graph/graph.h"
#include "ops/op.h"

static const char usage[] = "netspec check SPEC [--set path=value]...";

void cmd_check_help(void)
{
    printf("usage: %s\n\n"
           "Validates SPEC (after `extends` and every --set), reads the headers of its data\n"
           "files, infers every layer's shape and prints the layer table: index, name, op,\n"
           "output shape, parameters and forward FLOPs per sample, with totals.\n"
           "Exit status: 0 ok, 2 spec or usage error, 3 data error.\n\n"
           "options:\n"
           "  -s, --set PATH=VALUE   override a value, e.g. --set optimizer.lr=0.01 (repeatable)\n",
           usage);
}

static void format_count(double value, char out[32])
{
    /* Thousands separators: parameter counts are read at a glance. */
    char digits[32];
    snprintf(digits, sizeof digits, "%.0f", value);
    size_t len = strlen(digits), o = 0;
    for (size_t i = 0; i < len; i++) {
        out[o++] = digits[i];
        if ((len - i - 1) % 3 == 0 && i + 1 < len)
            out[o++] = ',';
    }
    out[o] = '\0';
}

static void print_table(const struct spec *spec, const struct graph *g)
{
    char shape[48], params[32], flops[32];
    printf("%4s  %-20s %-22s %-16s %12s %16s\n", "#", "name", "op", "output", "params", "FLOPs");
    op_shape_format(&g->input_shape, shape);
    printf("%4s  %-20s %-22s %-16s %12s %16s\n", "", "input", "", shape, "", "");
    for (size_t i = 0; i < g->node_count; i++) {
        const struct graph_node *n = &g->nodes[i];
        char op[64];
        int act = 0;
        /* The fused activation is part of what the layer does. */
        if (n->op->param_schema) {
            const struct schema_field *f = schema_find(n->op->param_schema, "activation");
            if (f && f->type == SCHEMA_ENUM)
                act = *(const int *)((const char *)n->params + f->offset);
        }
        if (act != ACT_LINEAR)
            snprintf(op, sizeof op, "%s+%s", n->op->name, spec_activation_name(act));
        else
            snprintf(op, sizeof op, "%s", n->op->name);
        op_shape_format(&n->out_shape, shape);
        format_count((double)n->param_count, params);
        format_count(n->flops, flops);
        char name[64];
        if (n->layer->from.count) {
            struct ns_buf from = {0};
            for (size_t k = 0; k < n->layer->from.count; k++)
                ns_buf_printf(&from, "%s%s", k ? "," : "", n->layer->from.names[k]);
            snprintf(name, sizeof name, "%s<-%s", n->name, from.data);
            ns_buf_free(&from);
        } else {
            snprintf(name, sizeof name, "%s", n->name);
        }
        printf("%4zu  %-20s %-22s %-16s %12s %16s\n", i, name, op, shape, params, flops);
    }
    format_count((double)g->trainable_params, params);
    format_count(g->flops, flops);
    printf("%4s  %-20s %-22s %-16s %12s %16s\n", "", "total", "", "", params, flops);
    (void)spec;
}

int cmd_check(struct ns_ctx *ctx, int argc, char **argv)
{
    struct cli_spec_args args;
    if (!cli_parse_spec_args(ctx, argc, argv, &args, usage)) {
        cli_spec_args_free(&args);
        return 2;
    }
    struct spec *spec = spec_load(ctx, args.spec_path, args.sets, args.set_count);
    cli_spec_args_free(&args);
    if (!spec)
        return 2;
    struct cli_data_info info;
    if (!cli_probe_data(ctx, spec, &info))
        return (int)ns_diag_code(&ctx->diag);
    struct graph *g = graph_build(ctx, spec, info.input, info.class_count);
    if (!g)
        return 2;
    if (!cli_check_output(ctx, spec, g, &info))
        return 2;
    printf("%s: %s is valid\n", spec->name, spec->path);
    printf("data: %s\n", info.summary);
    print_table(spec, g);
    return 0;
}
