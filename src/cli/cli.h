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
#include "model/model.h"

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
/* Parses `SPEC [--set k=v]...`. Returns false on a usage error. */
bool cli_parse_spec_args(struct ns_ctx *ctx, int argc, char **argv, struct cli_spec_args *out,
                         const char *usage);
/* The same, for a command that also takes the value-less options in `flags` (NULL-terminated,
 * such as "--json"): seen[k] says whether flags[k] was given. */
bool cli_parse_spec_args_flags(struct ns_ctx *ctx, int argc, char **argv, struct cli_spec_args *out,
                               const char *usage, const char *const *flags, bool *seen);
/* cli_take_argument for argv[i] in a command that reads a spec: an unknown option named like a
 * spec key (`--epochs 3`, `--lr=0.1`, `--batch-size 8`) is pointed at the --set that does it
 * (`--set train.epochs=3`). */
bool cli_take_spec_argument(struct ns_ctx *ctx, const char *usage, int argc, char **argv, int i,
                            const char **slot);
void cli_spec_args_free(struct cli_spec_args *args);
/* Takes `arg` as the command's one positional argument (SPEC or RUN_DIR) into *slot; a usage
 * error when it looks like an option or *slot is already taken ("-" alone is a value). */
bool cli_take_argument(struct ns_ctx *ctx, const char *usage, const char *arg, const char **slot);
/* The value of argv[*i] when it is `LONG VALUE`, `LONG=VALUE` or `SHORT VALUE` (advancing *i);
 * NULL when it is another option, with *missing set when the value is absent. */
const char *cli_option_value(int argc, char **argv, int *i, const char *shortname,
                             const char *longname, bool *missing);
/* Sets ctx->isa from the value of --isa (auto, portable, avx2, avx512); a usage error when
 * the name is unknown or this CPU cannot run it. */
bool cli_isa_arg(struct ns_ctx *ctx, const char *usage, const char *value);
/* When argv[*i] is `--isa NAME` or `--isa=NAME`: takes it (advancing *i) and returns 1, or -1
 * after a usage error; 0 when it is another argument. */
int cli_isa_option(struct ns_ctx *ctx, const char *usage, int argc, char **argv, int *i);
/* The --isa line every command that runs the model puts in its --help. */
#define CLI_ISA_HELP                                                                             \
    "      --isa NAME        kernel instruction set: auto (default: the best this CPU has),\n" \
    "                        avx512, avx2 or portable; results are identical on every one\n"

/* Records a usage error in the diag (exit 2). */
void cli_usage_error(struct ns_ctx *ctx, const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
