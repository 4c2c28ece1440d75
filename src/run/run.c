/* A training run's life: open (checks, then the directory), train, finish or stop. */
#include "run/run.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "core/ns_file.h"
#include "core/ns_sha256.h"
#include "core/ns_util.h"
#include "data/data_csv.h"
#include "spec/spec_resolve.h"
#include "train/checkpoint.h"

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

/* The files a netspec run directory may hold; anything else means the directory is not ours. */
static bool run_owns_name(const char *name)
{
    static const char *const names[] = {"spec.resolved.yaml", "model.yaml", "manifest.json",
                                        "metrics.csv", "curves.svg", "summary.json", "model.nsm",
                                        "best.nsm"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        size_t n = strlen(names[i]);
        /* NAME.tmp is what an interrupted atomic write leaves. */
        if (!strncmp(name, names[i], n) && (!name[n] || !strcmp(name + n, ".tmp")))
            return true;
    }
    return !strncmp(name, "eval_", 5) && strstr(name, ".json") != NULL;
}

/* A fresh run may go into a directory that does not exist, is empty, or holds an unfinished
 * run of netspec's that never wrote a checkpoint; nothing else is overwritten. */
static bool fresh_dir_ok(struct ns_ctx *ctx, const char *dir, const char *model_path)
{
    struct ns_loc loc = {dir, 0, 0, 0};
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return true;
    if (!S_ISDIR(sb.st_mode)) {
        ns_diag_add(&ctx->diag, NS_ERR_OUTPUT, loc, "choose another directory with -o",
                    "%s exists and is not a directory", dir);
        return false;
    }
    if (file_exists(model_path)) {
        ns_diag_add(&ctx->diag, NS_ERR_SPEC, loc, NULL, "%s already holds a run", dir);
        ns_diag_hint(&ctx->diag, "continue it with --resume %s, choose another directory with -o, or remove it",
                     dir);
        return false;
    }
    DIR *d = opendir(dir);
    if (!d) {
        ns_diag_add(&ctx->diag, NS_ERR_OUTPUT, loc, "choose another directory with -o",
                    "cannot read the directory %s: %s", dir, strerror(errno));
        return false;
    }
    const char *stranger = NULL;
    char *first = NULL;
    size_t entries = 0;
    bool is_run = false;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        entries++;
        /* A run killed while it wrote its first file leaves only that file's temporary. */
        is_run = is_run || !strcmp(e->d_name, "spec.resolved.yaml") || !strcmp(e->d_name, "spec.resolved.yaml.tmp");
        if (!first && !run_owns_name(e->d_name))
            first = ns_xstrdup(e->d_name);
    }
    closedir(d);
    stranger = first;
    bool ok = entries == 0 || (is_run && !stranger);
    if (!ok)
        ns_diag_add(&ctx->diag, NS_ERR_SPEC, loc,
                    "give -o a new or empty directory; netspec writes a run only where nothing else is",
                    "%s is not empty and is not a netspec run directory (it holds %s)", dir,
                    stranger ? stranger : "no spec.resolved.yaml");
    free(first);
    return ok;
}

/* What the training loop would refuse once the split is known (loop.c says the same), said
 * before the run directory exists: a split that leaves no training samples, or early stopping
 * with a validation fraction too small to hold out any sample. */
static bool splits_usable(struct ns_ctx *ctx, const struct run *r)
{
    const struct spec *spec = r->spec;
    if (r->data.train.count == 0) {
        ns_diag_add(&ctx->diag, NS_ERR_DATA, spec_field_loc(spec, spec->data.node, "train"), NULL,
                    "the training set is empty");
        return false;
    }
    if (spec->train.early_stopping.patience > 0 && (!r->data.has_validation || r->data.validation.count == 0)) {
        ns_diag_add(&ctx->diag, NS_ERR_SPEC, spec_field_loc(spec, spec->train.node, "early_stopping"),
                    "set data.validation to a fraction that holds out at least one sample, or remove early_stopping",
                    "early stopping watches the validation set, but the split leaves it empty (%zu training samples)",
                    r->data.train.count);
        return false;
    }
    return true;
}

/* A fresh run that failed before training began takes back what it wrote, and the directory
 * when it made it (mkdir -p's parents stay): a run that never started leaves no run behind. */
static void forget_fresh_dir(const char *dir, bool created)
{
    static const char *const names[] = {"spec.resolved.yaml", "model.yaml"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char *path = ns_path_join(dir, names[i]);
        char *tmp = ns_asprintf("%s.tmp", path);
        unlink(path);
        unlink(tmp);
        free(tmp);
        free(path);
    }
    if (created)
        rmdir(dir);
}

/* Resume: the directory must hold this spec's run, bound to its files. */
static bool resume_dir_ok(struct ns_ctx *ctx, struct run *r)
{
    char *spec_file = ns_path_join(r->dir, "spec.resolved.yaml");
    int err = 0;
    char *old = ns_file_read_input(spec_file, SPEC_TREE_MAX_BYTES, NULL, &err);
    bool ok = true;
    if (!old && err != ENOENT && err != ENOTDIR) {
        ns_diag_add(&ctx->diag, NS_ERR_DATA, (struct ns_loc){spec_file, 0, 0, 0}, NULL, "cannot read %s: %s",
                    spec_file, ns_file_strerror(err));
        ok = false;
    } else if (!old || !file_exists(r->model_path)) {
        ns_diag_add(&ctx->diag, NS_ERR_SPEC, (struct ns_loc){r->dir, 0, 0, 0}, "start a new run without --resume",
                    "%s holds no run to resume (it needs spec.resolved.yaml and model.nsm)", r->dir);
        ok = false;
    } else if (!model_verify_binding(ctx, r->dir)) {
        ok = false; /* the run's own files were changed: say that, not that the spec differs */
    } else if (strcmp(old, r->resolved) != 0) {
        ns_diag_add(&ctx->diag, NS_ERR_SPEC, (struct ns_loc){r->spec->path, 0, 0, 0},
                    "resume with the spec and --set options the run started with; "
                    "`netspec resolve SPEC` shows what they resolve to",
                    "%s (with these --set options) is not the spec of the run in %s: its resolved form differs "
                    "from %s",
                    r->spec->path, r->dir, spec_file);
        ok = false;
    }
    free(old);
    free(spec_file);
    return ok;
}

/* runs/NAME, or runs/NAME-2, -3, ... when earlier runs are there: running the same spec
 * twice keeps both runs instead of refusing or overwriting. */
static char *default_run_dir(const char *name)
{
    char *dir = ns_asprintf("runs/%s", name);
    for (int n = 2; n < 100000; n++) {
        char *model = ns_path_join(dir, "model.nsm");
        bool taken = file_exists(model);
        free(model);
        if (!taken)
            break;
        free(dir);
        dir = ns_asprintf("runs/%s-%d", name, n);
    }
    return dir;
}

/* model.yaml: the input shape and class names the model was built for, the preprocessing as
 * training applied it (fitted values included) and how CSV columns became inputs, so
 * model_load needs no data files to rebuild it and predict and emit read raw values. */
static char *model_yaml(const struct run *r)
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
    ns_buf_puts(&b, "]\nnormalize: ");
    data_prep_norm_put_yaml(&b, &r->data.norm);
    ns_buf_puts(&b, "\n");
    if (r->data.train.csv) {
        ns_buf_puts(&b, "csv:\n");
        data_csv_layout_put_yaml(&b, r->data.train.csv, 2);
    }
    return b.data;
}

/* Writes (fresh) or checks (resume) model.yaml, and binds the state to both run files. */
static bool bind_model_files(struct ns_ctx *ctx, struct run *r)
{
    char *text = model_yaml(r);
    char *path = ns_path_join(r->dir, "model.yaml");
    bool ok = true;
    if (r->resumed) {
        char *old = ns_file_read_input(path, SPEC_TREE_MAX_BYTES, NULL, NULL);
        if (!old || strcmp(old, text) != 0) {
            ns_diag_add(&ctx->diag, NS_ERR_DATA, (struct ns_loc){path, 0, 0, 0},
                        "restore the run's model.yaml, or start a new run",
                        "%s does not describe this run's model (input shape and classes differ or it is gone)",
                        path);
            ok = false;
        }
        free(old);
    } else {
        ok = ns_file_replace_text(&ctx->diag, path, text);
    }
    sha256_text(r->resolved, r->st.spec_sha256);
    sha256_text(text, r->st.model_sha256);
    free(path);
    free(text);
    return ok;
}

static bool hash_data(struct ns_ctx *ctx, struct run *r)
{
    struct trainset_files list;
    if (!trainset_list_files(ctx, r->spec, &list))
        return false;
    bool ok = run_dir_hash_files(&ctx->diag, &list, &r->files, &r->file_count);
    trainset_files_free(&list);
    if (!ok || !r->resumed)
        return ok;
    /* A resumed run must see the data the run started with, or it cannot end where it would have. */
    struct run_dir_file *old;
    size_t old_count;
    if (!run_dir_read_manifest_files(ctx, r->dir, &old, &old_count))
        return false;
    struct ns_buf why = {0};
    ok = run_dir_compare_files(old, old_count, r->files, r->file_count, &why);
    if (!ok)
        ns_diag_add(&ctx->diag, NS_ERR_DATA, (struct ns_loc){r->dir, 0, 0, 0},
                    "restore the original data, or start a new run", "the data changed since %s started: %s",
                    r->dir, why.data);
    ns_buf_free(&why);
    run_dir_files_free(old, old_count);
    return ok;
}

/* A fresh state, or the checkpoint, which must belong to this run's files. */
static bool load_state(struct ns_ctx *ctx, struct run *r)
{
    char spec_sha[65], model_sha[65];
    memcpy(spec_sha, r->st.spec_sha256, sizeof spec_sha);
    memcpy(model_sha, r->st.model_sha256, sizeof model_sha);
    if (!r->resumed) {
        train_state_init(&r->st, r->spec, r->g);
    } else {
        train_state_blank(&r->st, r->spec, r->g);
        if (!checkpoint_read(&ctx->diag, r->model_path, r->g, &r->st))
            return false;
        if (strcmp(r->st.spec_sha256, spec_sha) != 0 || strcmp(r->st.model_sha256, model_sha) != 0) {
            ns_diag_add(&ctx->diag, NS_ERR_DATA, (struct ns_loc){r->model_path, 0, 0, 0},
                        "a model.nsm belongs to the run directory it was trained in; start a new run",
                        "%s belongs to another run: the %s it records differs from this run's", r->model_path,
                        strcmp(r->st.spec_sha256, spec_sha) != 0 ? "spec.resolved.yaml" : "model.yaml");
            return false;
        }
    }
    memcpy(r->st.spec_sha256, spec_sha, sizeof spec_sha);
    memcpy(r->st.model_sha256, model_sha, sizeof model_sha);
    return true;
}

static void fill_manifest(struct ns_ctx *ctx, struct run *r, const struct run_options *o)
{
    struct run_dir_manifest *m = &r->manifest;
    m->version = PACKAGE_VERSION;
    m->name = r->spec->name;
    m->spec_path = r->spec->path;
    uint8_t digest[32];
    int err = 0;
    if (ns_sha256_file(r->spec->path, digest, &err))
        ns_sha256_hex(digest, m->spec_sha256);
    memcpy(m->resolved_sha256, r->st.spec_sha256, sizeof m->resolved_sha256);
    m->seed = r->spec->seed;
    m->overrides = o->sets;
    m->override_count = o->set_count;
    m->threads = ctx->threads;
    m->parameters = r->g->trainable_params;
    m->train_count = r->data.train.count;
    m->validation_count = r->data.validation.count;
    m->test_count = r->data.test.count;
    m->files = r->files;
    m->file_count = r->file_count;
    run_dir_now_iso(m->start_time);
    r->argv = ns_xcalloc((size_t)o->argc + 2, sizeof *r->argv);
    r->argv[0] = "netspec";
    for (int i = 0; i < o->argc; i++)
        r->argv[i + 1] = o->argv[i];
    m->argc = o->argc + 1;
    m->argv = r->argv;
    m->resumed = r->resumed;
    m->resumed_epoch = r->st.epoch + 1;
    m->resumed_batch = r->st.batch;
}

static bool write_manifest(struct ns_ctx *ctx, struct run *r, const char *status, bool ended)
{
    if (ended)
        run_dir_now_iso(r->manifest.end_time);
    r->manifest.status = status;
    return run_dir_write_manifest(&ctx->diag, r->dir, &r->manifest);
}

bool run_open(struct ns_ctx *ctx, const struct run_options *o, struct run *r)
{
    memset(r, 0, sizeof *r);
    r->spec = spec_load(ctx, op_catalog(), o->spec_path, o->sets, o->set_count);
    if (!r->spec)
        return false;
    model_choose_threads(ctx, o->threads, r->spec);
    trainset_absolute_paths(ctx, r->spec);
    /* Everything the spec and the data headers can refuse is refused before a file is written. */
    if (!model_prepare(ctx, r->spec, &r->info, &r->g))
        return false;
    r->resumed = o->resume;
    r->dir = o->out_dir ? ns_xstrdup(o->out_dir) : default_run_dir(r->spec->name);
    r->model_path = ns_path_join(r->dir, "model.nsm");
    r->resolved = spec_resolve_yaml(r->spec);
    if (r->resumed ? !resume_dir_ok(ctx, r) : !fresh_dir_ok(ctx, r->dir, r->model_path))
        return false;
    /* Reading and hashing every input comes first: a data error leaves no directory. */
    if (!trainset_load(ctx, r->spec, r->info.class_count, &r->data) || !splits_usable(ctx, r) || !hash_data(ctx, r))
        return false;
    bool created = false;
    if (!r->resumed) {
        struct stat sb;
        created = stat(r->dir, &sb) != 0;
        char *spec_file = ns_path_join(r->dir, "spec.resolved.yaml");
        bool ok = run_dir_make(&ctx->diag, r->dir) && ns_file_replace_text(&ctx->diag, spec_file, r->resolved);
        free(spec_file);
        if (!ok) {
            forget_fresh_dir(r->dir, created);
            return false;
        }
    }
    if (!bind_model_files(ctx, r) || !load_state(ctx, r)) {
        if (!r->resumed)
            forget_fresh_dir(r->dir, created);
        return false;
    }
    fill_manifest(ctx, r, o);
    return true;
}

struct run_hooks {
    struct ns_ctx *ctx;
    struct run *run;
    const struct loop_hooks *user;
};

static void on_epoch(void *user, const struct loop_epoch_info *e)
{
    struct run_hooks *h = user;
    struct run *r = h->run;
    struct ns_diag *diag = &h->ctx->diag;
    if (!run_dir_metrics_append(diag, r->dir, e->epoch, e->stats, e->seconds, e->images_per_s)
        || !run_dir_write_curves(diag, r->dir, r->spec->name, r->st.history, r->st.history_count, e->regression))
        r->write_failed = true;
    if (h->user && h->user->epoch)
        h->user->epoch(h->user->user, e);
}

static void on_batch(void *user, const struct loop_batch_info *b)
{
    struct run_hooks *h = user;
    if (h->user && h->user->batch)
        h->user->batch(h->user->user, b);
}

enum loop_status run_train(struct ns_ctx *ctx, struct run *r, const struct loop_hooks *hooks)
{
    if (!write_manifest(ctx, r, "running", false)
        || !run_dir_metrics_begin(&ctx->diag, r->dir, r->data.regression, r->st.history_count))
        return LOOP_FAILED;
    struct run_hooks h = {ctx, r, hooks};
    struct loop_hooks mine = {.user = &h, .batch = on_batch, .epoch = on_epoch};
    struct loop_config cfg = {.spec = r->spec, .g = r->g, .data = &r->data, .checkpoint_path = r->model_path};
    r->started = loop_now();
    enum loop_status status = loop_run(ctx, &cfg, &r->st, &mine);
    return r->write_failed ? LOOP_FAILED : status;
}

static bool write_summary(struct ns_ctx *ctx, struct run *r, const struct loop_eval *test, double seconds)
{
    const struct train_state *st = &r->st;
    struct ns_buf b = {0};
    bool reg = r->data.regression;
    const char *metric = reg ? "rmse" : "accuracy";
    ns_buf_printf(&b, "{\n  \"name\": ");
    run_dir_json_put_string(&b, r->spec->name);
    ns_buf_printf(&b, ",\n  \"epochs\": %zu,\n  \"stopped_early\": %s,\n", st->history_count,
                  st->stopped_early ? "true" : "false");
    if (r->spec->train.early_stopping.patience > 0 && st->es_best_epoch >= 0) {
        ns_buf_printf(&b, "  \"early_stopping\": {\"best_epoch\": %d, \"best\": ", st->es_best_epoch + 1);
        run_dir_json_put_number(&b, st->es_best);
        bool best_weights = r->spec->train.early_stopping.restore_best;
        ns_buf_printf(&b, ", \"epochs_without_improvement\": %d, \"weights_epoch\": %d},\n", st->es_bad_epochs,
                      best_weights ? st->es_best_epoch + 1 : (int)st->history_count);
    }
    if (st->history_count) {
        const struct train_epoch *e = &st->history[st->history_count - 1];
        ns_buf_printf(&b, "  \"final\": {\"train_loss\": ");
        run_dir_json_put_number(&b, e->train_loss);
        ns_buf_printf(&b, ", \"train_%s\": ", metric);
        run_dir_json_put_number(&b, e->train_metric);
        ns_buf_puts(&b, ", \"val_loss\": ");
        run_dir_json_put_number(&b, e->val_loss);
        ns_buf_printf(&b, ", \"val_%s\": ", metric);
        run_dir_json_put_number(&b, e->val_metric);
        ns_buf_puts(&b, ", \"lr\": ");
        run_dir_json_put_number(&b, e->lr);
        ns_buf_puts(&b, "},\n");
    }
    ns_buf_puts(&b, "  \"test\": ");
    if (test) {
        ns_buf_printf(&b, "{\"count\": %zu, \"loss\": ", test->count);
        run_dir_json_put_number(&b, test->loss);
        if (reg) {
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
    ns_buf_puts(&b, ",\n  \"seconds_this_session\": ");
    run_dir_json_put_number(&b, seconds);
    ns_buf_puts(&b, "\n}\n");
    char *path = ns_path_join(r->dir, "summary.json");
    bool ok = ns_file_replace_text(&ctx->diag, path, b.data);
    free(path);
    ns_buf_free(&b);
    return ok;
}

bool run_finish(struct ns_ctx *ctx, struct run *r, struct loop_eval *test, bool *has_test)
{
    *has_test = r->data.has_test && r->data.test.count;
    if (*has_test) {
        struct loss_config lc = loss_config_from_spec(r->spec, r->data.regression);
        struct exec *ex = exec_new_mode(r->g, r->spec->train.batch_size, GRAPH_INFERENCE);
        exec_set_threads(ex, ctx->threads);
        exec_set_isa(ex, ctx->isa);
        loop_evaluate(r->g, ex, r->st.params, &r->data, &r->data.test, &lc, test);
        exec_free(ex);
    }
    bool ok = write_summary(ctx, r, *has_test ? test : NULL, loop_now() - r->started);
    return write_manifest(ctx, r, "complete", true) && ok;
}

bool run_is_complete(const struct run *r)
{
    char *path = ns_path_join(r->dir, "manifest.json");
    char *text = ns_read_file(path, 0, NULL, NULL);
    /* run_dir_write_manifest writes the status in this one form; "complete" comes last of all,
     * after summary.json. */
    bool complete = text && strstr(text, "\"status\": \"complete\"") != NULL;
    free(text);
    free(path);
    return complete;
}

bool run_stop(struct ns_ctx *ctx, struct run *r, const char *status)
{
    return write_manifest(ctx, r, status, true);
}

void run_close(struct run *r)
{
    free(r->dir);
    free(r->model_path);
    free(r->resolved);
    trainset_free(&r->data);
    train_state_free(&r->st);
    run_dir_files_free(r->files, r->file_count);
    free(r->argv);
    memset(r, 0, sizeof *r);
}
