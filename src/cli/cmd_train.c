/* netspec train: load the spec and data, train, and keep everything in a run directory. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/ns_util.h"
#include "run/run.h"
#include "run/run_dir.h"

static const char usage[] =
    "netspec train SPEC [-o RUN_DIR] [--set path=value]... [--threads N] [--resume RUN_DIR]\n"
    "                     [--stop-after BATCHES] [--isa NAME] [--json]";

void cmd_train_help(void)
{
    printf("usage: %s\n\n"
           "Trains the model SPEC describes and keeps the run in RUN_DIR (default runs/NAME, or\n"
           "runs/NAME-2, -3, ... when that holds a run):\n"
           "spec.resolved.yaml, manifest.json, metrics.csv, curves.svg, summary.json and\n"
           "model.nsm (weights, optimizer state and position, written every\n"
           "train.checkpoint_every epochs and at the end). The same spec, data and seed give\n"
           "the same model.nsm bytes on any number of threads.\n"
           "With train.early_stopping, best.nsm keeps the checkpoint of the best epoch so far,\n"
           "and the run ends with that epoch's weights in model.nsm (restore_best: false keeps\n"
           "the last epoch's).\n"
           "Ctrl-C (or SIGTERM) saves a checkpoint and stops; --resume continues it to the\n"
           "same result as an uninterrupted run.\n"
           "A kill at any moment (SIGKILL, power loss) leaves whole files and the last\n"
           "checkpoint, which --resume continues.\n"
           "Exit status: 0 ok, 2 spec or usage error, 3 data error, 4 training diverged,\n"
           "5 a file of the run cannot be written (disk full, no permission, a path in the way:\n"
           "  the last checkpoint is kept),\n"
           "130/143 interrupted by SIGINT/SIGTERM (checkpoint saved).\n"
           "-o refuses a directory that holds files of anything but a netspec run; model.nsm\n"
           "records the hashes of spec.resolved.yaml and model.yaml, and --resume, eval,\n"
           "predict and emit refuse a run whose files do not belong together (exit 3).\n\n"
           "options:\n"
           "  -o, --output DIR      the run directory (default runs/NAME)\n"
           "  -s, --set PATH=VALUE  override a spec value (repeatable)\n"
           "      --threads N       OpenMP threads (default: runtime.threads, else all cores)\n"
           CLI_ISA_HELP
           "      --resume DIR      continue the interrupted run in DIR (same SPEC and --set)\n"
           "      --stop-after N    pause after N batches of this session: save a checkpoint,\n"
           "                        print the resume command and exit 0 (time-boxed training)\n"
           "      --json            print one JSON object per line on stdout for each event:\n"
           "                        start, every epoch, end (with the status and exit code);\n"
           "                        what people read goes to stderr\n",
           usage);
}

struct train_args {
    const char *spec_path;
    const char **sets;
    size_t set_count;
    const char *out_dir;
    const char *resume_dir;
    int threads; /* 0 = not given */
    long long stop_after; /* 0 = not given */
    bool json;
};

static bool parse_int_arg(const char *text, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < 1 || v > 1024)
        return false;
    *out = (int)v;
    return true;
}

static bool parse_args(struct ns_ctx *ctx, int argc, char **argv, struct train_args *a)
{
    memset(a, 0, sizeof *a);
    a->sets = ns_xcalloc((size_t)argc + 1, sizeof *a->sets);
    for (int i = 1; i < argc; i++) {
        bool missing = false;
        const char *v;
        if ((v = cli_option_value(argc, argv, &i, "-s", "--set", &missing))) {
            a->sets[a->set_count++] = v;
        } else if ((v = cli_option_value(argc, argv, &i, "-o", "--output", &missing))) {
            a->out_dir = v;
        } else if ((v = cli_option_value(argc, argv, &i, NULL, "--resume", &missing))) {
            a->resume_dir = v;
        } else if ((v = cli_option_value(argc, argv, &i, NULL, "--threads", &missing))) {
            if (!parse_int_arg(v, &a->threads)) {
                cli_usage_error(ctx, usage, "--threads needs a number from 1 to 1024, not \"%s\"", v);
                return false;
            }
        } else if ((v = cli_option_value(argc, argv, &i, NULL, "--isa", &missing))) {
            if (!cli_isa_arg(ctx, usage, v))
                return false;
        } else if ((v = cli_option_value(argc, argv, &i, NULL, "--stop-after", &missing))) {
            char *end;
            errno = 0;
            a->stop_after = strtoll(v, &end, 10);
            if (errno || end == v || *end || a->stop_after < 1) {
                cli_usage_error(ctx, usage, "--stop-after needs a whole number of batches above 0, not \"%s\"", v);
                return false;
            }
        } else if (!strcmp(argv[i], "--json")) {
            a->json = true;
        } else if (missing) {
            cli_usage_error(ctx, usage, "%s needs a value", argv[i]);
            return false;
        } else if (!cli_take_spec_argument(ctx, usage, argc, argv, i, &a->spec_path)) {
            return false;
        }
    }
    if (!a->spec_path) {
        cli_usage_error(ctx, usage, "no spec file given");
        return false;
    }
    if ((a->out_dir && !*a->out_dir) || (a->resume_dir && !*a->resume_dir)) {
        cli_usage_error(ctx, usage, "%s needs a directory name, not an empty string",
                        a->out_dir && !*a->out_dir ? "-o" : "--resume");
        return false;
    }
    if (a->resume_dir && a->out_dir && strcmp(a->resume_dir, a->out_dir) != 0) {
        cli_usage_error(ctx, usage, "--resume %s continues that directory; leave out -o %s", a->resume_dir,
                        a->out_dir);
        return false;
    }
    return true;
}

/* ---- the signal flag: the one piece of mutable static state, because a signal handler can
 * reach nothing else. The loop reads it through ctx->stop_requested. */
_Static_assert(sizeof(sig_atomic_t) == sizeof(int), "ctx->stop_requested points at a sig_atomic_t");
static volatile sig_atomic_t train_signal;

static void on_signal(int sig)
{
    train_signal = sig;
}

struct saved_handlers {
    struct sigaction intr, term;
};

static void install_handlers(struct ns_ctx *ctx, struct saved_handlers *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* A second Ctrl-C while the checkpoint is written kills at once; model.nsm is replaced by a
     * rename, so it is never left half written. */
    sa.sa_flags = SA_RESETHAND;
    train_signal = 0;
    sigaction(SIGINT, &sa, &old->intr);
    sigaction(SIGTERM, &sa, &old->term);
    ctx->stop_requested = &train_signal;
}

static void restore_handlers(struct ns_ctx *ctx, const struct saved_handlers *old)
{
    sigaction(SIGINT, &old->intr, NULL);
    sigaction(SIGTERM, &old->term, NULL);
    ctx->stop_requested = NULL;
}

/* ---- progress and per-epoch output ---- */

struct train_ui {
    struct ns_ctx *ctx;
    const struct train_state *st;
    FILE *human;           /* stdout, or stderr when stdout carries JSON events */
    bool json;
    bool tty;
    bool bar_shown;
    double last_draw;
    long long stop_after;  /* --stop-after N: pause after N batches of this session */
    long long batches_run;
    int bar_epoch, bar_first; /* the epoch the bar shows and the batch it started at */
    bool paused;
};

static void format_duration(double s, char out[32])
{
    if (!(s >= 0) || s > 1e7)
        s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(out, 32, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(out, 32, "%ld:%02ld", t / 60, t % 60);
}

static void on_batch(void *user, const struct loop_batch_info *b)
{
    struct train_ui *ui = user;
    ui->batches_run++;
    if (ui->stop_after > 0 && ui->batches_run >= ui->stop_after && !ui->paused) {
        ui->paused = true;
        train_signal = -1; /* the loop stops as on Ctrl-C; -1 is no signal */
    }
    if (!ui->tty)
        return;
    if (b->epoch != ui->bar_epoch) {
        ui->bar_epoch = b->epoch; /* a new epoch, or the first batch after a resume */
        ui->bar_first = b->batch - 1;
    }
    double now = loop_now();
    if (b->batch < b->batches && now - ui->last_draw < 0.1)
        return;
    ui->last_draw = now;
    enum { WIDTH = 24 };
    int filled = (int)((long long)WIDTH * b->batch / (b->batches ? b->batches : 1));
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < filled ? '=' : i == filled ? '>' : ' ';
    bar[WIDTH] = '\0';
    double rate = b->seconds > 0 ? (double)b->samples / b->seconds : 0;
    int ran = b->batch - ui->bar_first;
    double eta = ran > 0 ? b->seconds / ran * (b->batches - b->batch) : 0;
    char eta_text[32];
    format_duration(eta, eta_text);
    fprintf(stderr, "\r\033[Kepoch %d/%d [%s] %d/%d  loss %.4f  %.0f img/s  ETA %s", b->epoch + 1, b->epochs, bar,
            b->batch, b->batches, b->loss, rate, eta_text);
    fflush(stderr);
    ui->bar_shown = true;
}

/* {"event": "epoch", ...}: metrics.csv's columns, then early stopping's view. */
static void put_epoch_json(const struct train_ui *ui, const struct loop_epoch_info *e)
{
    const struct train_epoch *s = e->stats;
    const char *metric = e->regression ? "rmse" : "accuracy";
    struct ns_buf b = {0};
    ns_buf_printf(&b, "{\"event\": \"epoch\", \"epoch\": %d, \"epochs\": %d, \"train_loss\": ", e->epoch + 1,
                  e->epochs);
    run_dir_json_put_number(&b, s->train_loss);
    ns_buf_printf(&b, ", \"train_%s\": ", metric);
    run_dir_json_put_number(&b, s->train_metric);
    ns_buf_puts(&b, ", \"val_loss\": ");
    run_dir_json_put_number(&b, e->has_validation ? s->val_loss : NAN);
    ns_buf_printf(&b, ", \"val_%s\": ", metric);
    run_dir_json_put_number(&b, e->has_validation ? s->val_metric : NAN);
    ns_buf_puts(&b, ", \"lr\": ");
    run_dir_json_put_number(&b, s->lr);
    ns_buf_puts(&b, ", \"seconds\": ");
    run_dir_json_put_number(&b, e->seconds);
    ns_buf_puts(&b, ", \"images_per_s\": ");
    run_dir_json_put_number(&b, e->images_per_s);
    if (ui->st->es_best_epoch >= 0)
        ns_buf_printf(&b, ", \"best_epoch\": %d", ui->st->es_best_epoch + 1);
    ns_buf_printf(&b, ", \"stopping_early\": %s", e->stopping_early ? "true" : "false");
    if (e->restored_epoch >= 0)
        ns_buf_printf(&b, ", \"restored_epoch\": %d", e->restored_epoch + 1);
    ns_buf_puts(&b, "}\n");
    fputs(b.data, stdout);
    fflush(stdout);
    ns_buf_free(&b);
}

static void on_epoch(void *user, const struct loop_epoch_info *e)
{
    struct train_ui *ui = user;
    FILE *out = ui->human;
    if (ui->bar_shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        ui->bar_shown = false;
    }
    const struct train_epoch *s = e->stats;
    int width = snprintf(NULL, 0, "%d", e->epochs);
    fprintf(out, "epoch %*d/%d", width, e->epoch + 1, e->epochs);
    if (e->regression) {
        fprintf(out, "  train mse %.5g rmse %.5g", s->train_loss, s->train_metric);
        if (e->has_validation)
            fprintf(out, "  val mse %.5g rmse %.5g", s->val_loss, s->val_metric);
    } else {
        fprintf(out, "  train loss %.4f acc %6.2f%%", s->train_loss, 100 * s->train_metric);
        if (e->has_validation)
            fprintf(out, "  val loss %.4f acc %6.2f%%", s->val_loss, 100 * s->val_metric);
    }
    fprintf(out, "  lr %.3g  %.1f s  %.0f img/s\n", s->lr, e->seconds, e->images_per_s);
    if (e->stopping_early)
        fprintf(out, "early stopping: no improvement for %d epochs (best at epoch %d)\n", ui->st->es_bad_epochs,
                ui->st->es_best_epoch + 1);
    if (e->restored_epoch >= 0)
        fprintf(out, "early stopping: model.nsm holds the weights of epoch %d, the best (restore_best)\n",
                e->restored_epoch + 1);
    fflush(out);
    if (ui->json)
        put_epoch_json(ui, e);
}

/* ---- after the run ---- */

/* A word the shell reads back unchanged. */
static void shell_word(struct ns_buf *b, const char *w)
{
    bool plain = *w != '\0';
    for (const char *p = w; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%", *p))
            plain = false;
    if (plain) {
        ns_buf_puts(b, w);
        return;
    }
    ns_buf_puts(b, "'");
    for (const char *p = w; *p; p++) {
        if (*p == '\'')
            ns_buf_puts(b, "'\\''");
        else
            ns_buf_append(b, p, 1);
    }
    ns_buf_puts(b, "'");
}

static char *resume_command(const struct train_args *a, const char *run_dir)
{
    struct ns_buf b = {0};
    ns_buf_puts(&b, "netspec train ");
    shell_word(&b, a->spec_path);
    for (size_t i = 0; i < a->set_count; i++) {
        ns_buf_puts(&b, " --set ");
        shell_word(&b, a->sets[i]);
    }
    ns_buf_puts(&b, " --resume ");
    shell_word(&b, run_dir);
    return b.data;
}

static void print_start(FILE *out, const struct run *r, struct ns_ctx *ctx)
{
    const struct trainset *d = &r->data;
    fprintf(out, "%s: %zu parameters; %zu training, %zu validation, %zu test samples; %d thread%s\n",
            r->spec->name, r->g->trainable_params, d->train.count, d->validation.count, d->test.count,
            ctx->threads, ctx->threads == 1 ? "" : "s");
    if (d->skipped)
        fprintf(out, "skipped %zu unreadable image%s (data.on_error: skip)\n", d->skipped,
                d->skipped == 1 ? "" : "s");
    if (r->resumed)
        fprintf(out, "resuming %s at epoch %d, batch %d\n", r->dir, r->st.epoch + 1, r->st.batch);
    fflush(out);
}

static void put_start_json(const struct run *r, struct ns_ctx *ctx)
{
    const struct trainset *d = &r->data;
    struct ns_buf b = {0};
    ns_buf_puts(&b, "{\"event\": \"start\", \"name\": ");
    run_dir_json_put_string(&b, r->spec->name);
    ns_buf_puts(&b, ", \"run\": ");
    run_dir_json_put_string(&b, r->dir);
    ns_buf_printf(&b, ", \"resumed\": %s, \"epoch\": %d, \"batch\": %d, \"epochs\": %d, \"parameters\": %zu, "
                      "\"train\": %zu, \"validation\": %zu, \"test\": %zu, \"skipped\": %zu, \"threads\": %d}\n",
                  r->resumed ? "true" : "false", r->st.epoch + 1, r->st.batch, r->spec->train.epochs,
                  r->g->trainable_params, d->train.count, d->validation.count, d->test.count, d->skipped,
                  ctx->threads);
    fputs(b.data, stdout);
    fflush(stdout);
    ns_buf_free(&b);
}

static void print_test(FILE *out, const struct run *r, const struct loop_eval *test)
{
    if (r->data.regression)
        fprintf(out, "test: mse %.5g  rmse %.5g  (%zu samples)\n", test->mse, test->rmse, test->count);
    else
        fprintf(out, "test: loss %.4f  accuracy %.2f%%  (%zu samples)\n", test->loss, 100 * test->accuracy,
                test->count);
}

/* {"event": "end", ...}: how the command ends, as its exit code says; the run's figures when
 * a run was opened (r not NULL). */
static void put_end_json(const struct run *r, const char *status, int rc, const struct loop_eval *test,
                         const char *resume)
{
    struct ns_buf b = {0};
    ns_buf_puts(&b, "{\"event\": \"end\", \"status\": ");
    run_dir_json_put_string(&b, status);
    ns_buf_printf(&b, ", \"exit\": %d, \"run\": ", rc);
    if (r)
        run_dir_json_put_string(&b, r->dir);
    else
        ns_buf_puts(&b, "null");
    if (r) {
        ns_buf_printf(&b, ", \"epochs\": %zu, \"stopped_early\": %s", r->st.history_count,
                      r->st.stopped_early ? "true" : "false");
        const struct spec_early_stopping *es = &r->spec->train.early_stopping;
        if (es->patience > 0 && r->st.es_best_epoch >= 0 && r->st.finished)
            ns_buf_printf(&b, ", \"best_epoch\": %d, \"weights_epoch\": %d", r->st.es_best_epoch + 1,
                          es->restore_best ? r->st.es_best_epoch + 1 : (int)r->st.history_count);
    }
    ns_buf_puts(&b, ", \"test\": ");
    if (r && test) {
        ns_buf_printf(&b, "{\"count\": %zu, \"loss\": ", test->count);
        run_dir_json_put_number(&b, test->loss);
        if (r->data.regression) {
            ns_buf_puts(&b, ", \"mse\": ");
            run_dir_json_put_number(&b, test->mse);
            ns_buf_puts(&b, ", \"rmse\": ");
            run_dir_json_put_number(&b, test->rmse);
        } else {
            ns_buf_puts(&b, ", \"accuracy\": ");
            run_dir_json_put_number(&b, test->accuracy);
        }
        ns_buf_puts(&b, "}");
    } else {
        ns_buf_puts(&b, "null");
    }
    if (resume) {
        ns_buf_puts(&b, ", \"resume\": ");
        run_dir_json_put_string(&b, resume);
    }
    ns_buf_puts(&b, "}\n");
    fputs(b.data, stdout);
    fflush(stdout);
    ns_buf_free(&b);
}

int cmd_train(struct ns_ctx *ctx, int argc, char **argv)
{
    struct train_args a;
    struct run r;
    memset(&r, 0, sizeof r);
    int rc = 2;
    const char *status = "failed";
    bool have_test = false;
    struct loop_eval test;
    char *cmd = NULL;
    bool opened = false;
    if (!parse_args(ctx, argc, argv, &a)) {
        a.json = false; /* a usage error: the command never started */
        goto out;
    }
    FILE *human = a.json ? stderr : stdout;
    struct run_options opts = {.spec_path = a.spec_path, .sets = a.sets, .set_count = a.set_count,
                               .out_dir = a.resume_dir ? a.resume_dir : a.out_dir, .resume = a.resume_dir != NULL,
                               .threads = a.threads, .argc = argc, .argv = (const char *const *)argv};
    if (!run_open(ctx, &opts, &r)) {
        rc = (int)ns_diag_code(&ctx->diag);
        goto out;
    }
    opened = true;
    if (r.st.finished && run_is_complete(&r)) {
        fprintf(human, "%s is complete (%zu epochs); nothing to resume\nrun: %s\n", r.dir, r.st.history_count, r.dir);
        rc = 0;
        status = "complete";
        goto out;
    }
    if (r.st.finished)
        fprintf(human, "%s trained all its epochs but was stopped before its summary: writing it\n", r.dir);
    else
        print_start(human, &r, ctx);
    if (a.json)
        put_start_json(&r, ctx);

    struct train_ui ui = {.ctx = ctx, .st = &r.st, .human = human, .json = a.json, .tty = ctx->progress_tty,
                          .bar_epoch = -1, .stop_after = a.stop_after};
    struct loop_hooks hooks = {.user = &ui, .batch = on_batch, .epoch = on_epoch};
    struct saved_handlers old;
    install_handlers(ctx, &old);
    enum loop_status loop = run_train(ctx, &r, &hooks);
    int sig = train_signal;
    restore_handlers(ctx, &old);
    if (ui.bar_shown)
        fputs("\r\033[K", stderr);
    switch (loop) {
    case LOOP_FINISHED: {
        bool ok = run_finish(ctx, &r, &test, &have_test);
        if (have_test)
            print_test(human, &r, &test);
        fprintf(human, "run: %s\n", r.dir);
        fflush(human);
        rc = ok ? 0 : (int)ns_diag_code(&ctx->diag);
        status = ok ? "complete" : "failed";
        break;
    }
    case LOOP_INTERRUPTED: {
        bool paused = ui.paused && sig == -1;
        run_stop(ctx, &r, paused ? "paused" : "interrupted");
        cmd = resume_command(&a, r.dir);
        status = paused ? "paused" : "interrupted";
        if (r.st.batch)
            fprintf(stderr, "%s: saved %s at epoch %d, batch %d\n", status, r.model_path, r.st.epoch + 1, r.st.batch);
        else
            fprintf(stderr, "%s: saved %s before epoch %d\n", status, r.model_path, r.st.epoch + 1);
        fprintf(stderr, "resume with: %s\n", cmd);
        rc = paused ? 0 : 128 + (sig > 0 ? sig : SIGINT);
        break;
    }
    case LOOP_FAILED:
        rc = (int)ns_diag_code(&ctx->diag);
        status = rc == NS_ERR_DIVERGED ? "diverged" : "failed";
        run_stop(ctx, &r, status);
        break;
    }
out:
    if (a.json)
        put_end_json(opened ? &r : NULL, status, rc, have_test ? &test : NULL, cmd);
    if (have_test)
        loop_eval_free(&test);
    free(cmd);
    run_close(&r);
    free(a.sets);
    return rc;
}
