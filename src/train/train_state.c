#include "train/train_state.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/ns_util.h"
#include "train/init.h"

void train_state_blank(struct train_state *st, const struct spec *spec, const struct graph *g)
{
    memset(st, 0, sizeof *st);
    st->seed = (uint64_t)spec->seed;
    st->param_floats = g->param_floats;
    st->params = ns_xcalloc(g->param_floats ? g->param_floats : 1, sizeof *st->params);
    size_t count;
    struct optim_tensor *tensors = optim_tensors_from_graph(g, &count);
    optim_init(&st->opt, &spec->optimizer, g->param_floats, tensors, count);
    free(tensors);
    st->es_best = NAN;
    st->es_best_epoch = -1;
}

void train_state_init(struct train_state *st, const struct spec *spec, const struct graph *g)
{
    train_state_blank(st, spec, g);
    init_params(g, st->seed, st->params);
}

void train_state_free(struct train_state *st)
{
    if (!st)
        return;
    free(st->params);
    free(st->history);
    optim_free(&st->opt);
    memset(st, 0, sizeof *st);
}

void train_state_push_epoch(struct train_state *st, const struct train_epoch *e)
{
    st->history = ns_xrealloc(st->history, (st->history_count + 1) * sizeof *st->history);
    st->history[st->history_count++] = *e;
}
