/* The command-line layer: one file per command (cmd_*.c), one table in main.c.
 *
 *   int cmd_check(struct ns_ctx *ctx, int argc, char **argv);   // argv[0] is "check"
 *
 * A command returns its exit code and leaves errors in ctx->diag; main.c prints them once.
 * Commands write results to stdout and progress to stderr.
 */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "core/ns_ctx.h"
#include "ops/op.h"
#include "spec/spec.h"
#include "train/train_state.h"

struct command {
    const char *name;
    const char *args;    /* the synopsis after the command name */
    const char *summary;
    int (*run)(struct ns_ctx *ctx, int argc, char **argv);
    void (*help)(void);  /* the command's own --help */
};

int cmd_check(struct ns_ctx *ctx, int argc, char **argv);
int cmd_resolve(struct ns_ctx *ctx, int argc, char **argv);
int cmd_schema(struct ns_ctx *ctx, int argc, char **argv);
void cmd_check_help(void);
void cmd_resolve_help(void);
void cmd_schema_help(void);
int cmd_train(struct ns_ctx *ctx, int argc, char **argv);
int cmd_eval(struct ns_ctx *ctx, int argc, char **argv);
void cmd_train_help(void);
void cmd_eval_help(void);
int cmd_predict(struct ns_ctx *ctx, int argc, char **argv);
void cmd_predict_help(void);
int cmd_emit(struct ns_ctx *ctx, int argc, char **argv);
void cmd_emit_help(void);

/* Options shared by the commands that read a spec. */
struct cli_spec_args {
    const char *spec_path;
    const char **sets;
    size_t set_count;
};
/* Parses `SPEC [--set k=v]...` plus the extra options a command recognises through
 * `on_option` (return false for an unknown option). Returns false on a usage error. */
bool cli_parse_spec_args(struct ns_ctx *ctx, int argc, char **argv, struct cli_spec_args *out,
                         const char *usage);
void cli_spec_args_free(struct cli_spec_args *args);
/* Takes `arg` as the command's one positional argument (SPEC or RUN_DIR) into *slot; a usage
 * error when it looks like an option or *slot is already taken ("-" alone is a value). */
bool cli_take_argument(struct ns_ctx *ctx, const char *usage, const char *arg, const char **slot);
/* The value of argv[*i] when it is `LONG VALUE`, `LONG=VALUE` or `SHORT VALUE` (advancing *i);
 * NULL when it is another option, with *missing set when the value is absent. */
const char *cli_option_value(int argc, char **argv, int *i, const char *shortname,
                             const char *longname, bool *missing);
/* Records a usage error in the diag (exit 2). */
void cli_usage_error(struct ns_ctx *ctx, const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* What `check` and `train` learn from the data files' headers without loading them. */
struct cli_data_info {
    struct spec_shape input; /* per-sample shape the model sees */
    int class_count;         /* 0 for regression */
    char summary[512];       /* one line for people: counts, classes, shape */
};
/* Reads the headers of the spec's data files (fast: no full decode) and checks them against
 * the spec (model.input, classes). False + diag (exit 3, or 2 for a spec mismatch). */
bool cli_probe_data(struct ns_ctx *ctx, const struct spec *spec, struct cli_data_info *info);

struct graph;
/* Checks the model's output against the data and the loss: class count, regression width. */
bool cli_check_output(struct ns_ctx *ctx, const struct spec *spec, const struct graph *g,
                      const struct cli_data_info *info);

/* Threads for the runtime: `requested` (--threads) when > 0, else runtime.threads, else all
 * cores; sets OpenMP's count and ctx->threads, and returns it. */
int cli_choose_threads(struct ns_ctx *ctx, int requested, const struct spec *spec);
/* cli_probe_data, graph_build and cli_check_output in one step (train, eval). */
bool cli_prepare_model(struct ns_ctx *ctx, const struct spec *spec, struct cli_data_info *info,
                       struct graph **g);

/* A trained run loaded back from RUN_DIR (eval, predict):
 *
 *   struct cli_run run;
 *   if (!cli_run_load(ctx, "runs/x", &run)) return ns_diag_code(&ctx->diag);
 *   ... exec_forward(ex, run.st.params, x, n, &(struct exec_run){.training = false}) ...
 *   cli_run_free(&run);
 *
 * Reads spec.resolved.yaml, chooses the threads from it, probes the data headers and builds
 * the graph as training did (cli_prepare_model), then reads model.nsm. A directory without
 * spec.resolved.yaml is an NS_ERR_SPEC error; a damaged model.nsm an NS_ERR_DATA one. spec and
 * g live in ctx's arena; the rest is the run's. */
struct cli_run {
    struct spec *spec;
    struct graph *g;
    struct cli_data_info info;
    struct train_state st; /* st.params: the trained weights */
    char **class_names;    /* (info.class_count) owned: listed, folder names, or "0", "1", ... */
};
bool cli_run_load(struct ns_ctx *ctx, const char *run_dir, struct cli_run *out);
void cli_run_free(struct cli_run *run);

#endif
