/* A trained run loaded back from its directory: the one path `eval` and `predict` share, so
 * both see the model exactly as training left it. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/ns_util.h"
#include "data/data_folder.h"
#include "graph/graph.h"
#include "train/checkpoint.h"
#include "train/rundir.h"

/* Listed classes in list order, else a folder's sorted sub-folders, else the label numbers:
 * the names trainset_load gives the same run. */
static bool class_names(struct ns_ctx *ctx, struct cli_run *run)
{
    const struct spec_data *d = &run->spec->data;
    int k = run->info.class_count;
    run->class_names = ns_xcalloc((size_t)(k > 0 ? k : 1), sizeof *run->class_names);
    struct data_folder_index idx;
    bool scanned = false;
    if (!d->classes.count && d->format == DATA_IMAGE_FOLDER) {
        struct data_folder_opts o;
        data_folder_opts_from_spec(run->spec, ctx->threads, &o);
        if (!data_folder_scan(&ctx->diag, &o, false, &idx))
            return false;
        scanned = true;
    }
    for (int c = 0; c < k; c++) {
        const char *name = NULL;
        if ((size_t)c < d->classes.count)
            name = d->classes.names[c];
        else if (scanned && c < idx.class_count)
            name = idx.class_names[c];
        run->class_names[c] = name ? ns_xstrdup(name) : ns_asprintf("%d", c);
    }
    if (scanned)
        data_folder_index_free(&idx);
    return true;
}

bool cli_run_load(struct ns_ctx *ctx, const char *run_dir, struct cli_run *out)
{
    memset(out, 0, sizeof *out);
    char *spec_path = rundir_path(run_dir, "spec.resolved.yaml");
    char *model_path = rundir_path(run_dir, "model.nsm");
    bool ok = false;
    char *spec_text = rundir_read_text(spec_path, NULL);
    bool is_run = spec_text != NULL;
    free(spec_text);
    if (!is_run) {
        ns_diag_add(&ctx->diag, NS_ERR_SPEC, (struct ns_loc){run_dir, 0, 0, 0},
                    "give the directory `netspec train` wrote (runs/NAME by default)",
                    "%s is not a run directory: it has no spec.resolved.yaml", run_dir);
        goto out;
    }
    out->spec = spec_load(ctx, spec_path, NULL, 0);
    if (!out->spec)
        goto out;
    cli_choose_threads(ctx, 0, out->spec);
    if (!cli_prepare_model(ctx, out->spec, &out->info, &out->g))
        goto out;
    train_state_blank(&out->st, out->spec, out->g);
    if (!checkpoint_read(&ctx->diag, model_path, out->g, &out->st))
        goto out;
    ok = class_names(ctx, out);
out:
    if (!ok)
        cli_run_free(out);
    free(spec_path);
    free(model_path);
    return ok;
}

void cli_run_free(struct cli_run *run)
{
    if (!run)
        return;
    train_state_free(&run->st);
    if (run->class_names) {
        for (int c = 0; c < run->info.class_count; c++)
            free(run->class_names[c]);
        free(run->class_names);
    }
    memset(run, 0, sizeof *run);
}
