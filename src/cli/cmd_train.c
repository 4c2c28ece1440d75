/* netspec train: load the spec and data, train, and keep everything in a run directory. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "config.h"
#include "core/ns_sha256.h"
#include "core/ns_util.h"
#include "graph/graph.h"
#include "spec/spec_resolve.h"
#include "train/checkpoint.h"
#include "train/loop.h"
#include "train/rundir.h"

static const char usage[] =
    "netspec train SPEC [-o RUN_DIR] [--set path=value]... [--threads N] [--resume RUN_DIR]";

void cmd_train_help(void)
{
    printf("usage: %s\n\n"
           "Trains the model SPEC describes and keeps the run in RUN_DIR (default runs/NAME, or\n"
           "runs/NAME-2, -3, ... when that holds a run):\n"
           "spec.resolved.yaml, manifest.json, metrics.csv, curves.svg, summary.json and\n"
           "model.nsm (weights, optimizer state and position, written every\n"
           "train.checkpoint_every epochs and at the end). The same spec, data and seed give\n"
           "the same model.nsm bytes on any number of threads.\n"
           "Ctrl-C (or SIGTERM) saves a checkpoint and stops; --resume continues it to the\n"
           "same result as an uninterrupted run.\n"
           "Exit status: 0 ok, 2 spec or usage error, 3 data error, 4 training diverged,\n"
           "130/143 interrupted by SIGINT/SIGTERM (checkpoint saved).\n\n"
           "options:\n"
           "  -o, --output DIR      the run directory (default runs/NAME)\n"
           "  -s, --set PATH=VALUE  override a spec value (repeatable)\n"
           "      --threads N       OpenMP threads (default: runtime.threads, else all cores)\n"
           "      --resume DIR      continue the interrupted run in DIR (same SPEC and --set)\n",
           usage);
}

struct train_args {
    const char *spec_path;
    const char **sets;
    size_t set_count;
    const char *out_dir;
    const char *resume_dir;
    int threads; /* 0 = not given */
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
        } else if (missing) {
            cli_usage_error(ctx, usage, "%s needs a value", argv[i]);
            return false;
        } else if (!cli_take_argument(ctx, usage, argv[i], &a->spec_path)) {
            return false;
        }
    }
    if (!a->spec_path) {
        cli_usage_error(ctx, usage, "no spec file given");
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
    const char *run_dir;
    const char *name;
    const struct train_state *st;
    bool tty;
    bool bar_shown;
    double last_draw;
    long long stop_after;  /* NETSPEC_STOP_AFTER_BATCHES: tests interrupt at an exact batch */
    long long batches_run;
    int bar_epoch, bar_first; /* the epoch the bar shows and the batch it started at */
    bool write_failed;
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
    if (ui->stop_after > 0 && ui->batches_run >= ui->stop_after)
        train_signal = SIGINT;
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

static void on_epoch(void *user, const struct loop_epoch_info *e)
{
    struct train_ui *ui = user;
    if (ui->bar_shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        ui->bar_shown = false;
    }
    const struct train_epoch *s = e->stats;
    int width = snprintf(NULL, 0, "%d", e->epochs);
    printf("epoch %*d/%d", width, e->epoch + 1, e->epochs);
    if (e->regression) {
        printf("  train mse %.5g rmse %.5g", s->train_loss, s->train_metric);
        if (e->has_validation)
            printf("  val mse %.5g rmse %.5g", s->val_loss, s->val_metric);
    } else {
        printf("  train loss %.4f acc %6.2f%%", s->train_loss, 100 * s->train_metric);
        if (e->has_validation)
            printf("  val loss %.4f acc %6.2f%%", s->val_loss, 100 * s->val_metric);
    }
    printf("  lr %.3g  %.1f s  %.0f img/s\n", s->lr, e->seconds, e->images_per_s);
    if (e->stopping_early)
        printf("early stopping: no improvement for %d epochs (best at epoch %d)\n", ui->st->es_bad_epochs,
               ui->st->es_best_epoch + 1);
    fflush(stdout);
    /* The run directory keeps every number printed above. */
    struct ns_diag *diag = &ui->ctx->diag;
    if (!rundir_metrics_append(diag, ui->run_dir, e->epoch, s, e->seconds, e->images_per_s)
        || !rundir_write_curves(diag, ui->run_dir, ui->name, ui->st->history, ui->st->history_count, e->regression))
        ui->write_failed = true;
}

/* ---- run directory setup ---- */

static bool file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static void sha256_text(const char *text, char hex[65])
{
    struct ns_sha256 s;
    uint8_t d[32];
    ns_sha256_init(&s);
    ns_sha256_update(&s, text, strlen(text));
    ns_sha256_final(&s, d);
    ns_sha256_hex(d, hex);
}

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

struct train_run {
    struct ns_ctx *ctx;
    struct train_args args;
    struct spec *spec;
    struct graph *g;
    struct model_info info;
    char *run_dir;
    char *model_path;
    char *resolved;
    struct trainset data;
    struct train_state st;
    struct rundir_file *files;
    size_t file_count;
    struct rundir_manifest manifest;
    const char **argv;
};

static void run_free(struct train_run *r)
{
    free(r->args.sets);
    free(r->run_dir);
    free(r->model_path);
    free(r->resolved);
    trainset_free(&r->data);
    train_state_free(&r->st);
    rundir_files_free(r->files, r->file_count);
    free(r->argv);
}

/* Fresh run: the directory must not hold another run. Resume: it must hold this spec's run. */
static bool setup_run_dir(struct train_run *r)
{
    struct ns_ctx *ctx = r->ctx;
    char *spec_file = rundir_path(r->run_dir, "spec.resolved.yaml");
    bool ok = true;
    if (r->args.resume_dir) {
        char *old = rundir_read_text(spec_file, NULL);
        if (!old || !file_exists(r->model_path)) {
            ns_diag_add(&ctx->diag, NS_ERR_SPEC, (struct ns_loc){r->run_dir, 0, 0, 0},
                        "start a new run without --resume",
                        "%s holds no run to resume (it needs spec.resolved.yaml and model.nsm)", r->run_dir);
            ok = false;
        } else if (strcmp(old, r->resolved) != 0) {
            ns_diag_add(&ctx->diag, NS_ERR_SPEC, (struct ns_loc){r->spec->path, 0, 0, 0},
                        "resume with the spec and --set options the run started with; "
                        "`netspec resolve SPEC` shows what they resolve to",
                        "%s (with these --set options) is not the spec of the run in %s: its resolved "
                        "form differs from %s",
                        r->spec->path, r->run_dir, spec_file);
            ok = false;
        }
        free(old);
    } else {
        if (file_exists(r->model_path)) {
            ns_diag_add(&ctx->diag, NS_ERR_SPEC, (struct ns_loc){r->run_dir, 0, 0, 0}, NULL,
                        "%s already holds a run", r->run_dir);
            ns_diag_hint(&ctx->diag, "continue it with --resume %s, choose another directory with -o, or "
                                     "remove it",
                         r->run_dir);
            ok = false;
        } else {
            ok = rundir_make(&ctx->diag, r->run_dir) && rundir_write_text(&ctx->diag, spec_file, r->resolved);
        }
    }
    free(spec_file);
    return ok;
}

static bool hash_data(struct train_run *r)
{
    struct ns_ctx *ctx = r->ctx;
    struct trainset_files list;
    if (!trainset_list_files(ctx, r->spec, &list))
        return false;
    bool ok = rundir_hash_files(&ctx->diag, &list, &r->files, &r->file_count);
    trainset_files_free(&list);
    if (!ok || !r->args.resume_dir)
        return ok;
    /* A resumed run must see the data the run started with, or it cannot end where it would have. */
    struct rundir_file *old;
    size_t old_count;
    if (!rundir_read_manifest_files(&ctx->diag, r->run_dir, &old, &old_count))
        return false;
    struct ns_buf why = {0};
    ok = rundir_compare_files(old, old_count, r->files, r->file_count, &why);
    if (!ok) {
        ns_diag_add(&ctx->diag, NS_ERR_DATA, (struct ns_loc){r->run_dir, 0, 0, 0},
                    "restore the original data, or start a new run", "the data changed since %s started: %s",
                    r->run_dir, why.data);
    }
    ns_buf_free(&why);
    rundir_files_free(old, old_count);
    return ok;
}

static bool write_manifest(struct train_run *r, const char *status, bool ended)
{
    if (ended)
        rundir_now_iso(r->manifest.end_time);
    r->manifest.status = status;
    return rundir_write_manifest(&r->ctx->diag, r->run_dir, &r->manifest);
}

static bool write_summary(struct train_run *r, const struct loop_eval *test, double seconds)
{
    const struct train_state *st = &r->st;
    struct ns_buf b = {0};
    bool reg = r->data.regression;
    const char *metric = reg ? "rmse" : "accuracy";
    ns_buf_printf(&b, "{\n  \"name\": ");
    rundir_json_put_string(&b, r->spec->name);
    ns_buf_printf(&b, ",\n  \"epochs\": %zu,\n  \"stopped_early\": %s,\n", st->history_count,
                  st->stopped_early ? "true" : "false");
    if (r->spec->train.early_stopping.patience > 0 && st->es_best_epoch >= 0) {
        ns_buf_printf(&b, "  \"early_stopping\": {\"best_epoch\": %d, \"best\": ", st->es_best_epoch + 1);
        rundir_json_put_number(&b, st->es_best);
        ns_buf_printf(&b, ", \"epochs_without_improvement\": %d},\n", st->es_bad_epochs);
    }
    if (st->history_count) {
        const struct train_epoch *e = &st->history[st->history_count - 1];
        ns_buf_printf(&b, "  \"final\": {\"train_loss\": ");
        rundir_json_put_number(&b, e->train_loss);
        ns_buf_printf(&b, ", \"train_%s\": ", metric);
        rundir_json_put_number(&b, e->train_metric);
        ns_buf_puts(&b, ", \"val_loss\": ");
        rundir_json_put_number(&b, e->val_loss);
        ns_buf_printf(&b, ", \"val_%s\": ", metric);
        rundir_json_put_number(&b, e->val_metric);
        ns_buf_puts(&b, ", \"lr\": ");
        rundir_json_put_number(&b, e->lr);
        ns_buf_puts(&b, "},\n");
    }
    ns_buf_puts(&b, "  \"test\": ");
    if (test) {
        ns_buf_printf(&b, "{\"count\": %zu, \"loss\": ", test->count);
        rundir_json_put_number(&b, test->loss);
        if (reg) {
            ns_buf_puts(&b, ", \"mse\": ");
            rundir_json_put_number(&b, test->mse);
            ns_buf_puts(&b, ", \"rmse\": ");
            rundir_json_put_number(&b, test->rmse);
        } else {
            ns_buf_puts(&b, ", \"accuracy\": ");
            rundir_json_put_number(&b, test->accuracy);
        }
        ns_buf_puts(&b, "}");
    } else {
        ns_buf_puts(&b, "null");
    }
    ns_buf_puts(&b, ",\n  \"seconds_this_session\": ");
    rundir_json_put_number(&b, seconds);
    ns_buf_puts(&b, "\n}\n");
    char *path = rundir_path(r->run_dir, "summary.json");
    bool ok = rundir_write_text(&r->ctx->diag, path, b.data);
    free(path);
    ns_buf_free(&b);
    return ok;
}

static bool load_state(struct train_run *r)
{
    if (!r->args.resume_dir) {
        train_state_init(&r->st, r->spec, r->g);
        return true;
    }
    train_state_blank(&r->st, r->spec, r->g);
    return checkpoint_read(&r->ctx->diag, r->model_path, r->g, &r->st);
}

static void print_start(const struct train_run *r)
{
    const struct trainset *d = &r->data;
    printf("%s: %zu parameters; %zu training, %zu validation, %zu test samples; %d thread%s\n",
           r->spec->name, r->g->trainable_params, d->train.count, d->validation.count, d->test.count,
           r->ctx->threads, r->ctx->threads == 1 ? "" : "s");
    if (d->skipped)
        printf("skipped %zu unreadable image%s (data.on_error: skip)\n", d->skipped,
               d->skipped == 1 ? "" : "s");
    if (r->args.resume_dir)
        printf("resuming %s at epoch %d, batch %d\n", r->run_dir, r->st.epoch + 1, r->st.batch);
    fflush(stdout);
}

static int finish(struct train_run *r, double t0)
{
    struct ns_ctx *ctx = r->ctx;
    struct loop_eval test;
    bool has_test = r->data.has_test && r->data.test.count;
    if (has_test) {
        struct loss_config lc = loss_config_from_spec(r->spec, r->data.regression);
        struct exec *ex = exec_new(r->g, r->spec->train.batch_size);
        loop_evaluate(r->g, ex, r->st.params, &r->data, &r->data.test, &lc, &test);
        exec_free(ex);
        if (r->data.regression)
            printf("test: mse %.5g  rmse %.5g  (%zu samples)\n", test.mse, test.rmse, test.count);
        else
            printf("test: loss %.4f  accuracy %.2f%%  (%zu samples)\n", test.loss, 100 * test.accuracy,
                   test.count);
    }
    bool ok = write_summary(r, has_test ? &test : NULL, loop_now() - t0);
    if (has_test)
        loop_eval_free(&test);
    ok = write_manifest(r, "complete", true) && ok;
    printf("run: %s\n", r->run_dir);
    fflush(stdout);
    return ok ? 0 : (int)ns_diag_code(&ctx->diag);
}

/* model.yaml: the input shape and class names the model was built for, so eval's and
 * predict's run loader (cli_run.c) needs no data files to rebuild it. */
static bool write_model_info(const struct train_run *r)
{
    struct ns_buf b = {0};
    ns_buf_puts(&b, "# written by netspec train: what the model takes and what it names\ninput: [");
    for (int i = 0; i < r->info.input.rank; i++)
        ns_buf_printf(&b, "%s%d", i ? ", " : "", r->info.input.dims[i]);
    ns_buf_puts(&b, "]\nclasses: [");
    for (int c = 0; c < r->data.class_count; c++) {
        ns_buf_puts(&b, c ? ", " : "");
        spec_resolve_put_string(&b, r->data.class_names[c]);
    }
    ns_buf_puts(&b, "]\n");
    char *path = rundir_path(r->run_dir, "model.yaml");
    bool ok = rundir_write_text(&r->ctx->diag, path, b.data);
    free(path);
    ns_buf_free(&b);
    return ok;
}

/* runs/NAME, or runs/NAME-2, -3, ... when earlier runs are there: running the same spec
 * twice keeps both runs instead of refusing or overwriting. */
static char *default_run_dir(const char *name)
{
    char *dir = ns_asprintf("runs/%s", name);
    for (int n = 2; n < 100000; n++) {
        char *model = rundir_path(dir, "model.nsm");
        bool taken = file_exists(model);
        free(model);
        if (!taken)
            break;
        free(dir);
        dir = ns_asprintf("runs/%s-%d", name, n);
    }
    return dir;
}

int cmd_train(struct ns_ctx *ctx, int argc, char **argv)
{
    struct train_run r;
    memset(&r, 0, sizeof r);
    r.ctx = ctx;
    int rc = 2;
    if (!parse_args(ctx, argc, argv, &r.args))
        goto out;
    r.spec = spec_load(ctx, op_catalog(), r.args.spec_path, r.args.sets, r.args.set_count);
    if (!r.spec)
        goto out;
    model_choose_threads(ctx, r.args.threads, r.spec);
    trainset_absolute_paths(ctx, r.spec);
    if (!model_prepare(ctx, r.spec, &r.info, &r.g)) {
        rc = (int)ns_diag_code(&ctx->diag);
        goto out;
    }
    r.run_dir = r.args.resume_dir ? ns_xstrdup(r.args.resume_dir)
                : r.args.out_dir  ? ns_xstrdup(r.args.out_dir)
                                  : default_run_dir(r.spec->name);
    r.model_path = rundir_path(r.run_dir, "model.nsm");
    r.resolved = spec_resolve_yaml(r.spec);
    if (!setup_run_dir(&r) || !trainset_load(ctx, r.spec, r.info.class_count, &r.data)
        || !write_model_info(&r) || !hash_data(&r) || !load_state(&r)) {
        rc = (int)ns_diag_code(&ctx->diag);
        goto out;
    }
    if (r.st.finished) {
        printf("%s is complete (%zu epochs); nothing to resume\nrun: %s\n", r.run_dir, r.st.history_count,
               r.run_dir);
        rc = 0;
        goto out;
    }

    struct rundir_manifest *m = &r.manifest;
    m->version = PACKAGE_VERSION;
    m->name = r.spec->name;
    m->spec_path = r.spec->path;
    uint8_t digest[32];
    int err = 0;
    if (ns_sha256_file(r.spec->path, digest, &err))
        ns_sha256_hex(digest, m->spec_sha256);
    sha256_text(r.resolved, m->resolved_sha256);
    m->seed = r.spec->seed;
    m->overrides = r.args.sets;
    m->override_count = r.args.set_count;
    m->threads = ctx->threads;
    m->parameters = r.g->trainable_params;
    m->train_count = r.data.train.count;
    m->validation_count = r.data.validation.count;
    m->test_count = r.data.test.count;
    m->files = r.files;
    m->file_count = r.file_count;
    rundir_now_iso(m->start_time);
    r.argv = ns_xcalloc((size_t)argc + 2, sizeof *r.argv);
    r.argv[0] = "netspec";
    for (int i = 0; i < argc; i++)
        r.argv[i + 1] = argv[i];
    m->argc = argc + 1;
    m->argv = r.argv;
    m->resumed = r.args.resume_dir != NULL;
    m->resumed_epoch = r.st.epoch + 1;
    m->resumed_batch = r.st.batch;
    if (!write_manifest(&r, "running", false)
        || !rundir_metrics_begin(&ctx->diag, r.run_dir, r.data.regression, r.st.history_count)) {
        rc = (int)ns_diag_code(&ctx->diag);
        goto out;
    }
    print_start(&r);

    struct train_ui ui = {.ctx = ctx, .run_dir = r.run_dir, .name = r.spec->name, .st = &r.st,
                          .tty = ctx->progress_tty, .bar_epoch = -1};
    const char *stop_after = getenv("NETSPEC_STOP_AFTER_BATCHES");
    if (stop_after)
        ui.stop_after = atoll(stop_after);
    struct loop_hooks hooks = {.user = &ui, .batch = on_batch, .epoch = on_epoch};
    struct loop_config cfg = {.spec = r.spec, .g = r.g, .data = &r.data, .checkpoint_path = r.model_path};
    struct saved_handlers old;
    install_handlers(ctx, &old);
    double t0 = loop_now();
    enum loop_status status = loop_run(ctx, &cfg, &r.st, &hooks);
    int sig = train_signal;
    restore_handlers(ctx, &old);
    if (ui.bar_shown)
        fputs("\r\033[K", stderr);
    if (ui.write_failed) {
        rc = (int)ns_diag_code(&ctx->diag);
        goto out;
    }
    switch (status) {
    case LOOP_FINISHED:
        rc = finish(&r, t0);
        break;
    case LOOP_INTERRUPTED: {
        write_manifest(&r, "interrupted", true);
        char *cmd = resume_command(&r.args, r.run_dir);
        if (r.st.batch)
            fprintf(stderr, "interrupted: saved %s at epoch %d, batch %d\n", r.model_path, r.st.epoch + 1,
                    r.st.batch);
        else
            fprintf(stderr, "interrupted: saved %s before epoch %d\n", r.model_path, r.st.epoch + 1);
        fprintf(stderr, "resume with: %s\n", cmd);
        free(cmd);
        rc = 128 + (sig ? sig : SIGINT);
        break;
    }
    case LOOP_FAILED:
        rc = (int)ns_diag_code(&ctx->diag);
        write_manifest(&r, rc == NS_ERR_DIVERGED ? "diverged" : "failed", true);
        break;
    }
out:
    run_free(&r);
    return rc;
}
