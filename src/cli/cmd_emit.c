/* netspec emit: a trained run as a standalone C classifier (emit/emit.h writes the text). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "config.h"
#include "core/ns_file.h"
#include "core/ns_util.h"
#include "data/data_prep.h"
#include "emit/emit.h"
#include "graph/graph.h"
#include "run/run_dir.h"

static const char usage[] = "netspec emit RUN_DIR -o DIR [--prefix NAME] [--main]";

void cmd_emit_help(void)
{
    printf("usage: %s\n\n"
           "Writes the model in RUN_DIR (made by `netspec train`) as a standalone C99 classifier:\n"
           "DIR/NAME.h and DIR/NAME.c, needing only <math.h>, with no allocation and no global\n"
           "state. The weights are hex floats, the preprocessing and the class names are in the\n"
           "header, and NAME_logits gives the same float bits as the runtime in eval mode with\n"
           "any compiler, flags, C library and CPU, as long as it is not compiled with\n"
           "-ffast-math or -Ofast (the file refuses them). The header documents NAME_preprocess,\n"
           "NAME_logits, NAME_classify, their _batch forms and NAME_WORKSPACE_BYTES.\n"
           "A regression run gives NAME_outputs and NAME_predict, which returns the predicted\n"
           "value (the runtime's bits too), in place of NAME_logits and NAME_classify.\n"

           "Exit status: 0 ok, 2 usage error or a model that cannot be emitted, 3 data error,\n"
           "5 the files cannot be written.\n\n"
           "options:\n"
           "  -o, --output DIR    where to write the files (created if missing)\n"
           "      --prefix NAME   the files' and symbols' prefix (default: the spec's name made\n"
           "                      a C identifier, fashion-mlp -> fashion_mlp)\n"
           "      --main          also write DIR/NAME_main.c, a program that classifies PGM/PPM\n"
           "                      images given as arguments: cc -std=c99 -O2 NAME.c NAME_main.c -lm\n",
           usage);
}

struct emit_args {
    const char *run_dir;
    const char *out_dir;
    const char *prefix;
    bool with_main;
};

static bool parse_args(struct ns_ctx *ctx, int argc, char **argv, struct emit_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        bool missing = false;
        const char *arg = argv[i], *v;
        if ((v = cli_option_value(argc, argv, &i, "-o", "--output", &missing))) {
            a->out_dir = v;
        } else if ((v = cli_option_value(argc, argv, &i, NULL, "--prefix", &missing))) {
            a->prefix = v;
        } else if (missing) {
            cli_usage_error(ctx, usage, "%s needs a value", arg);
            return false;
        } else if (!strcmp(arg, "--main")) {
            a->with_main = true;
        } else if (!cli_take_argument(ctx, usage, arg, &a->run_dir)) {
            return false;
        }
    }
    if (!a->run_dir) {
        cli_usage_error(ctx, usage, "no run directory given");
        return false;
    }
    if (!a->out_dir) {
        cli_usage_error(ctx, usage, "no output directory given (-o DIR)");
        return false;
    }
    if (!*a->out_dir) {
        cli_usage_error(ctx, usage, "-o needs a directory name, not an empty string");
        return false;
    }
    if (a->prefix && !emit_prefix_valid(a->prefix)) {
        cli_usage_error(ctx, usage,
                        "--prefix \"%s\" is not a C identifier: use letters, digits and _, starting with a "
                        "letter, at most %d characters",
                        a->prefix, EMIT_PREFIX_MAX - 1);
        return false;
    }
    return true;
}

static bool write_file(struct ns_ctx *ctx, const char *dir, const char *prefix, const char *suffix,
                       const char *text)
{
    char *name = ns_asprintf("%s%s", prefix, suffix);
    char *path = ns_path_join(dir, name);
    bool ok = ns_file_write_text(&ctx->diag, path, text);
    if (ok)
        printf("wrote %s\n", path);
    free(name);
    free(path);
    return ok;
}

static int emit_run(struct ns_ctx *ctx, const struct emit_args *a, const struct model *run)
{
    char prefix[EMIT_PREFIX_MAX];
    if (a->prefix)
        snprintf(prefix, sizeof prefix, "%s", a->prefix);
    else
        emit_prefix_from_name(run->spec->name, prefix);
    struct emit_model m = {
        .g = run->g,
        .params = run->st.params,
        .class_count = run->info.class_count,
        .class_names = (const char *const *)run->class_names,
        .target_name = run->info.class_count > 0 ? NULL : run->spec->data.label_column,
        .loss = run->spec->loss.type,
        .norm = &run->norm,
        .csv = run->csv,
        .name = run->spec->name,
        .source = a->run_dir,
        .version = PACKAGE_VERSION,
    };
    struct emit_files files;
    int rc = 0;
    if (!emit_classifier(&ctx->diag, &m, prefix, a->with_main, &files)) {
        rc = (int)ns_diag_code(&ctx->diag);
    } else if (!run_dir_make(&ctx->diag, a->out_dir) || !write_file(ctx, a->out_dir, prefix, ".h", files.header)
               || !write_file(ctx, a->out_dir, prefix, ".c", files.source)
               || (files.main_source && !write_file(ctx, a->out_dir, prefix, "_main.c", files.main_source))) {
        rc = (int)ns_diag_code(&ctx->diag);
    } else {
        if (run->info.class_count > 0)
            printf("%s: %zu parameters, %d classes, a workspace of %zu bytes\n", prefix, run->g->param_floats,
                   run->info.class_count, files.workspace_bytes);
        else
            printf("%s: %zu parameters, regression (%zu output%s), a workspace of %zu bytes\n", prefix,
                   run->g->param_floats, run->g->nodes[run->g->output_node].out_size,
                   run->g->nodes[run->g->output_node].out_size == 1 ? "" : "s", files.workspace_bytes);
        if (files.main_source)
            printf("build: cc -O2 %s/%s.c %s/%s_main.c -lm -o %s\n", a->out_dir, prefix,
                   a->out_dir, prefix, prefix);
    }
    emit_files_free(&files);
    return rc;
}

int cmd_emit(struct ns_ctx *ctx, int argc, char **argv)
{
    struct emit_args a;
    if (!parse_args(ctx, argc, argv, &a))
        return 2;
    struct model run;
    if (!model_load(ctx, a.run_dir, &run))
        return (int)ns_diag_code(&ctx->diag);
    int rc = emit_run(ctx, &a, &run);
    model_free(&run);
    return rc;
}
