/* netspec: the only place that prints errors and chooses exit codes. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config.h"
#include "core/ns_ctx.h"
#include "core/ns_util.h"

static const struct command commands[] = {
    {"check", "SPEC [--set path=value]... [--json]",
     "validate a spec, read the data headers, infer shapes; print the layer table", cmd_check,
     cmd_check_help},
    {"resolve", "SPEC [--set path=value]...",
     "print the fully resolved spec (defaults, extends, overrides)", cmd_resolve, cmd_resolve_help},
    {"schema", "", "print the spec language's JSON Schema", cmd_schema, cmd_schema_help},
    {"train", "SPEC [-o RUN_DIR] [--set path=value]... [--threads N] [--isa NAME] [--resume RUN_DIR] [--json]",
     "train the model; keep weights, metrics and plots in a run directory", cmd_train, cmd_train_help},
    {"eval", "RUN_DIR [--split test|validation | --data PATH [--labels PATH]] [--json] [--allow-data-change] [--isa NAME]",
     "evaluate a trained run (its test split, or other data): loss, accuracy, per-class accuracy, confusion matrix", cmd_eval,
     cmd_eval_help},
    {"predict", "RUN_DIR FILE... [--top K] [--json] [-o FILE.csv] [--isa NAME]",
     "classify image files, or the rows of a CSV file, with a trained run; - reads standard input", cmd_predict,
     cmd_predict_help},
    {"emit", "RUN_DIR -o DIR [--prefix NAME] [--main]",
     "write a trained run as a standalone C99 classifier, bit-identical to the runtime",
     cmd_emit, cmd_emit_help},
};

/* OpenMP's idle threads spin before they sleep: libgomp's default is 300,000 rounds, about a
 * millisecond. With as many threads as cores and anything else running, a spinning thread
 * holds a core its partner needs, and every parallel region waits for a thread the scheduler
 * has parked. Measured on 2 cores (AMD Zen4 VM), CNN training on 2 threads beside one busy
 * loop, as a share of 1-thread speed in the same run (medians): libgomp's default 0.42,
 * GOMP_SPINCOUNT=10000 about the same, 1000: 0.83, 100: 0.95, passive: 0.93. On an idle
 * machine the short spin matters for the MLP's many short regions: 2-thread img/s relative to
 * the default 1.0, 1000: 0.9-1.0, 100: 0.7, passive 0.65 (the CNN does not care). 1000 keeps
 * the idle speed and recovers most of the busy case; a machine that is already busy when
 * netspec starts (another runnable process, /proc/loadavg) gets 100, which measured best
 * there (make bench: 1000 gave 0.70-0.83 of the 1-thread speed beside a busy loop). libgomp
 * reads its environment when it is loaded, before main, so the commands that run parallel
 * work set the variable and execute themselves again, once; a user who set OMP_WAIT_POLICY or
 * GOMP_SPINCOUNT keeps their choice (netspec(1), ENVIRONMENT). Only speed changes, never a
 * result. */
#define NETSPEC_SPIN_IDLE "1000"
#define NETSPEC_SPIN_BUSY "100"

/* True when some other process is runnable right now: /proc/loadavg's fourth field is
 * "runnable/total" and counts the reader itself. Unknown (no /proc) counts as idle. */
static bool machine_busy(void)
{
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f)
        return false;
    double l1, l5, l15;
    int runnable = 0, total = 0;
    int got = fscanf(f, "%lf %lf %lf %d/%d", &l1, &l5, &l15, &runnable, &total);
    fclose(f);
    return got == 5 && runnable > 1;
}

static bool runs_parallel_work(const char *command)
{
    return !strcmp(command, "train") || !strcmp(command, "eval") || !strcmp(command, "predict");
}

static void wait_policy_default(char **argv)
{
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT"))
        return;
    /* Under valgrind the new image would run natively, out of the tool's sight. */
    const char *preload = getenv("LD_PRELOAD");
    if (preload && strstr(preload, "vgpreload"))
        return;
    if (setenv("GOMP_SPINCOUNT", machine_busy() ? NETSPEC_SPIN_BUSY : NETSPEC_SPIN_IDLE, 1) != 0)
        return;
    execv("/proc/self/exe", argv);
    /* No /proc (not Linux) or no exec: carry on with the OpenMP runtime's default. */
    unsetenv("GOMP_SPINCOUNT");
}

static void print_help(FILE *out)
{
    fprintf(out, "usage: netspec COMMAND [ARGS]\n\n"
                 "netspec turns a YAML model spec into a trained network.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(out, "  netspec %-8s %s\n      %s\n", commands[i].name, commands[i].args,
                commands[i].summary);
    fprintf(out, "\noptions:\n"
                 "  -h, --help       show this help (or a command's: netspec COMMAND --help)\n"
                 "  -V, --version    show the version\n"
                 "  -s, --set P=V    override a spec value, e.g. --set optimizer.lr=0.01\n"
                 "\nexit codes: 0 ok, 1 internal error, 2 usage or spec error, 3 data error,\n"
                 "            4 training diverged, 5 an output cannot be written\n"
                 "\nsee netspec(1) and netspec-spec(5)\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        print_help(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
        printf("netspec %s\n", PACKAGE_VERSION);
        return 0;
    }
    const struct command *cmd = NULL;
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i].name))
            cmd = &commands[i];
    if (!cmd) {
        fprintf(stderr, "netspec: error: unknown command \"%s\"\n", argv[1]);
        const char *names[sizeof commands / sizeof *commands];
        for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
            names[i] = commands[i].name;
        const char *near = ns_closest(argv[1], names, sizeof commands / sizeof *commands);
        if (near)
            fprintf(stderr, "  did you mean \"%s\"?\n", near);
        fprintf(stderr, "  run 'netspec --help' for the commands\n");
        return 2;
    }
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            cmd->help();
            return 0;
        }
    if (runs_parallel_work(cmd->name))
        wait_policy_default(argv);
    struct ns_ctx ctx;
    ns_ctx_init(&ctx);
    ctx.progress_tty = isatty(STDERR_FILENO);
    int rc = cmd->run(&ctx, argc - 1, argv + 1);
    /* Results go to stdout: a full disk or a closed pipe there is an output that was not
     * written, not success. */
    if ((fflush(stdout) != 0 || ferror(stdout)) && (rc == 0 || !ns_diag_has_errors(&ctx.diag))) {
        ns_diag_add(&ctx.diag, NS_ERR_OUTPUT, (struct ns_loc){"netspec", 0, 0, 0}, NULL,
                    "cannot write to standard output: %s", strerror(errno));
        rc = NS_ERR_OUTPUT;
    }
    if (ns_diag_has_errors(&ctx.diag)) {
        fflush(stdout);
        ns_diag_print(&ctx.diag, stderr, isatty(STDERR_FILENO) && !getenv("NO_COLOR"));
        if (rc == 0)
            rc = (int)ns_diag_code(&ctx.diag);
        size_t n = ctx.diag.count;
        if (n > 1)
            fprintf(stderr, "%zu errors\n", n);
    }
    ns_ctx_free(&ctx);
    return rc;
}
