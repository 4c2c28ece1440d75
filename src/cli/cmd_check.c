#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/ns_util.h"
#include "graph/graph.h"
#include "ops/op.h"
#include "run/run_dir.h"
#include "spec/spec_size.h"

static const char usage[] = "netspec check SPEC [--set path=value]... [--json]";

void cmd_check_help(void)
{
    printf("usage: %s\n\n"
           "Validates SPEC (after `extends` and every --set), reads the headers of its data\n"
           "files, infers every layer's shape and prints the layer table: index, name, op,\n"
           "output shape, parameters and forward FLOPs per sample, with totals, then the\n"
           "memory training needs (estimated from the memory plan and the data) and the\n"
           "limit, runtime.max_memory; above the limit is a spec error.\n"
           "Exit status: 0 ok, 2 spec or usage error, 3 data error, 5 output cannot be written.\n\n"
           "options:\n"
           "  -s, --set PATH=VALUE   override a value, e.g. --set optimizer.lr=0.01 (repeatable)\n"
           "      --json             print one JSON object instead: the spec's name, the data\n"
           "                         summary, every layer (inputs, output shape, parameters,\n"
           "                         FLOPs), the totals and the memory estimate; nothing on\n"
           "                         stdout when the spec is refused (errors go to stderr)\n",
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

struct table_row {
    char index[16], name[96], op[64], shape[48], params[32], flops[32];
};

/* The fused activation is part of what the layer does. */
static int layer_activation(const struct op_node *n)
{
    const struct schema_field *f = n->op->layer.param_schema ? schema_find(n->op->layer.param_schema, "activation") : NULL;
    if (!f && n->op->layer.param_schema)
        f = schema_find(n->op->layer.param_schema, "type"); /* the activation layer itself */
    if (f && f->type == SCHEMA_ENUM && f->names == spec_activation_names)
        return *(const int *)((const char *)n->params + f->offset);
    return ACT_LINEAR;
}

static void layer_row(const struct op_node *n, struct table_row *row)
{
    int act = layer_activation(n);
    snprintf(row->index, sizeof row->index, "%d", n->index);
    if (activation_needs_input(act)) /* linear adds nothing to show */
        snprintf(row->op, sizeof row->op, "%s+%s", n->op->layer.name, spec_activation_name(act));
    else
        snprintf(row->op, sizeof row->op, "%s", n->op->layer.name);
    struct ns_buf name = {0};
    ns_buf_puts(&name, n->name);
    for (size_t k = 0; k < n->layer->from.count; k++)
        ns_buf_printf(&name, "%s%s", k ? "," : " <- ", n->layer->from.names[k]);
    snprintf(row->name, sizeof row->name, "%s", name.data);
    ns_buf_free(&name);
    op_shape_format(&n->out_shape, row->shape);
    format_count((double)n->param_count, row->params);
    format_count(n->flops, row->flops);
}

static void print_table(const struct graph *g)
{
    size_t rows = g->node_count + 3;
    struct table_row *table = ns_xcalloc(rows, sizeof *table);
    table[0] = (struct table_row){"#", "name", "op", "output", "params", "FLOPs"};
    snprintf(table[1].name, sizeof table[1].name, "input");
    op_shape_format(&g->input_shape, table[1].shape);
    for (size_t i = 0; i < g->node_count; i++)
        layer_row(&g->nodes[i], &table[i + 2]);
    struct table_row *total = &table[rows - 1];
    snprintf(total->name, sizeof total->name, "total");
    format_count((double)g->trainable_params, total->params);
    format_count(g->flops, total->flops);
    int w[6] = {0};
    for (size_t r = 0; r < rows; r++) {
        const char *cells[6] = {table[r].index, table[r].name, table[r].op, table[r].shape, table[r].params, table[r].flops};
        for (int c = 0; c < 6; c++)
            if ((int)strlen(cells[c]) > w[c])
                w[c] = (int)strlen(cells[c]);
    }
    for (size_t r = 0; r < rows; r++)
        printf("%*s  %-*s  %-*s  %-*s  %*s  %*s\n", w[0], table[r].index, w[1], table[r].name, w[2],
               table[r].op, w[3], table[r].shape, w[4], table[r].params, w[5], table[r].flops);
    free(table);
}

static void put_shape_json(struct ns_buf *b, const struct spec_shape *shape)
{
    ns_buf_puts(b, "[");
    for (int i = 0; i < shape->rank; i++)
        ns_buf_printf(b, "%s%d", i ? ", " : "", shape->dims[i]);
    ns_buf_puts(b, "]");
}

/* The name of data.format, from the schema table. */
static const char *data_format_name(int format)
{
    const struct schema_field *f = schema_find(&spec_schema_root, "data");
    for (int i = 0; f && f->type == SCHEMA_VARIANT && f->variant->tag_names[i]; i++)
        if (i == format)
            return f->variant->tag_names[i];
    return "?";
}

/* What the table and the lines around it say, for scripts: one object, keys in a fixed order. */
static void print_json(const struct spec *spec, const struct model_info *info, const struct graph *g)
{
    struct ns_buf b = {0};
    ns_buf_puts(&b, "{\n  \"name\": ");
    run_dir_json_put_string(&b, spec->name);
    ns_buf_puts(&b, ",\n  \"spec\": ");
    run_dir_json_put_string(&b, spec->path);
    ns_buf_puts(&b, ",\n  \"valid\": true,\n  \"data\": {\"format\": ");
    run_dir_json_put_string(&b, data_format_name(spec->data.format));
    ns_buf_printf(&b, ", \"task\": \"%s\", \"input\": ", info->class_count ? "classification" : "regression");
    put_shape_json(&b, &info->input);
    ns_buf_printf(&b, ", \"classes\": %d, \"samples\": %zu, \"summary\": ", info->class_count, info->held_samples);
    run_dir_json_put_string(&b, info->summary);
    ns_buf_puts(&b, "},\n  \"layers\": [");
    for (size_t i = 0; i < g->node_count; i++) {
        const struct op_node *n = &g->nodes[i];
        ns_buf_printf(&b, "%s\n    {\"index\": %d, \"name\": ", i ? "," : "", n->index);
        run_dir_json_put_string(&b, n->name);
        ns_buf_puts(&b, ", \"op\": ");
        run_dir_json_put_string(&b, n->op->layer.name);
        ns_buf_puts(&b, ", \"activation\": ");
        run_dir_json_put_string(&b, spec_activation_name(layer_activation(n)));
        ns_buf_puts(&b, ", \"inputs\": [");
        for (int k = 0; k < n->input_count; k++) {
            ns_buf_puts(&b, k ? ", " : "");
            run_dir_json_put_string(&b, n->inputs[k] == OP_MODEL_INPUT ? "input" : g->nodes[n->inputs[k]].name);
        }
        ns_buf_puts(&b, "], \"output\": ");
        put_shape_json(&b, &n->out_shape);
        ns_buf_printf(&b, ", \"params\": %zu, \"flops\": ", n->param_count);
        run_dir_json_put_number(&b, n->flops);
        ns_buf_puts(&b, "}");
    }
    ns_buf_puts(&b, "\n  ],\n  \"input\": ");
    put_shape_json(&b, &g->input_shape);
    ns_buf_puts(&b, ",\n  \"output\": ");
    put_shape_json(&b, &g->nodes[g->output_node].out_shape);
    ns_buf_printf(&b, ",\n  \"params\": %zu,\n  \"flops\": ", g->trainable_params);
    run_dir_json_put_number(&b, g->flops);
    ns_buf_printf(&b, ",\n  \"memory\": {\"bytes\": %.0f, \"limit\": %.0f, \"batch_size\": %d}\n}\n",
                  info->memory.total, info->memory.limit, info->memory.batch_size);
    fputs(b.data, stdout);
    ns_buf_free(&b);
}

int cmd_check(struct ns_ctx *ctx, int argc, char **argv)
{
    struct cli_spec_args args;
    static const char *const flags[] = {"--json", NULL};
    bool json = false;
    if (!cli_parse_spec_args_flags(ctx, argc, argv, &args, usage, flags, &json)) {
        cli_spec_args_free(&args);
        return 2;
    }
    struct spec *spec = spec_load(ctx, op_catalog(), args.spec_path, args.sets, args.set_count);
    cli_spec_args_free(&args);
    if (!spec)
        return 2;
    struct model_info info;
    struct graph *g;
    if (!model_prepare(ctx, spec, &info, &g))
        return (int)ns_diag_code(&ctx->diag);
    if (json) {
        print_json(spec, &info, g);
        return 0;
    }
    printf("%s: %s is valid\n", spec->name, spec->path);
    printf("data: %s\n", info.summary);
    print_table(g);
    char need[SPEC_SIZE_TEXT_MAX], limit[SPEC_SIZE_TEXT_MAX];
    spec_size_format(info.memory.total, need);
    spec_size_format(info.memory.limit, limit);
    printf("memory: ~%s to train at batch %d (limit %s, runtime.max_memory)\n", need,
           info.memory.batch_size, limit);
    return 0;
}
