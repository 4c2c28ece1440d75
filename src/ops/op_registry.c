/* The op table, built from ops.def, and the helpers every op file shares. */
#include "ops/ops.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ns_util.h"
#include "kernels/activation.h"
#include "spec/spec_tree.h"

static const struct op_def *const op_table[] = {
#define OP(name) &op_##name,
#include "ops/ops.def"
#undef OP
};

static const char *const op_name_table[] = {
#define OP(name) #name,
#include "ops/ops.def"
#undef OP
    NULL,
};

static const struct spec_layer_type *const op_layer_table[] = {
#define OP(name) &op_##name.layer,
#include "ops/ops.def"
#undef OP
};

static const struct spec_layer_catalog op_layer_catalog = {
    .types = op_layer_table,
    .count = OP_ID_COUNT,
    .names = op_name_table,
};

_Static_assert(sizeof op_table / sizeof *op_table == OP_ID_COUNT,
               "op_table must hold one entry per line of ops.def");
_Static_assert(sizeof op_name_table / sizeof *op_name_table == OP_ID_COUNT + 1,
               "op_name_table must hold one name per line of ops.def");

const struct op_def *op_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < OP_ID_COUNT; i++)
        if (strcmp(op_table[i]->layer.name, name) == 0)
            return op_table[i];
    return NULL;
}

const struct spec_layer_catalog *op_catalog(void)
{
    return &op_layer_catalog;
}

size_t op_count(void)
{
    return OP_ID_COUNT;
}

const struct op_def *op_at(size_t index)
{
    return index < OP_ID_COUNT ? op_table[index] : NULL;
}

const char *const *op_names(void)
{
    return op_name_table;
}

size_t op_shape_size(const struct spec_shape *shape)
{
    if (shape->rank <= 0)
        return 0;
    size_t size = 1;
    for (int i = 0; i < shape->rank && i < 3; i++)
        size *= (size_t)(shape->dims[i] > 0 ? shape->dims[i] : 0);
    return size;
}

void op_shape_format(const struct spec_shape *shape, char out[48])
{
    if (shape->rank <= 0) {
        snprintf(out, 48, "auto");
        return;
    }
    if (shape->rank == 1)
        snprintf(out, 48, "[%d]", shape->dims[0]);
    else if (shape->rank == 2)
        snprintf(out, 48, "[%d, %d]", shape->dims[0], shape->dims[1]);
    else
        snprintf(out, 48, "[%d, %d, %d]", shape->dims[0], shape->dims[1], shape->dims[2]);
}

void op_shape_rows_cols(const struct spec_shape *shape, size_t *rows, size_t *cols)
{
    if (shape->rank == 3) {
        *rows = (size_t)shape->dims[0] * (size_t)shape->dims[1];
        *cols = (size_t)shape->dims[2];
    } else {
        *rows = 1;
        *cols = op_shape_size(shape);
    }
}

void op_layer_label(const struct spec_layer *layer, const char *op_name, char out[OP_LABEL_MAX])
{
    if (!layer)
        snprintf(out, OP_LABEL_MAX, "%s", op_name);
    else if (layer->named && layer->name)
        snprintf(out, OP_LABEL_MAX, "layer %d \"%s\" (%s)", layer->index, layer->name, op_name);
    else
        snprintf(out, OP_LABEL_MAX, "layer %d (%s)", layer->index, op_name);
}

struct ns_loc op_layer_loc(const struct spec_layer *layer)
{
    struct ns_loc none = {0};
    if (!layer || !layer->node)
        return none;
    return spec_node_loc(layer->node);
}

struct ns_loc op_key_loc(const struct spec_layer *layer, const char *key)
{
    if (layer && layer->params_node && key) {
        const struct spec_node *value = spec_tree_get(layer->params_node, key);
        if (value)
            return spec_node_loc(value);
    }
    return op_layer_loc(layer);
}

void op_shape_error(const struct op_shape_args *args, struct ns_diag *diag, const char *op_name,
                    const char *key, const char *hint, const char *fmt, ...)
{
    char label[OP_LABEL_MAX];
    op_layer_label(args->layer, op_name, label);
    va_list ap;
    va_start(ap, fmt);
    char *message = ns_vasprintf(fmt, ap);
    va_end(ap);
    ns_diag_add(diag, NS_ERR_SPEC, op_key_loc(args->layer, key), hint, "%s: %s", label, message);
    free(message);
}

int op_resolve_init(int init, int activation)
{
    if (init != INIT_AUTO)
        return init;
    const struct activation_info *a = activation_info(activation);
    return a && a->init == ACTIVATION_INIT_HE ? INIT_HE_NORMAL : INIT_GLOROT_UNIFORM;
}

bool op_check_none(const void *params, const struct spec_layer *layer, struct ns_diag *diag)
{
    (void)params;
    (void)layer;
    (void)diag;
    return true;
}

struct op_tensor_desc op_constant_tensor(const char *name, size_t size, double value,
                                         bool trainable)
{
    struct op_tensor_desc t = {
        .name = name,
        .size = size,
        .fan_in = (int)size,
        .fan_out = (int)size,
        /* `constant` decides: the tensor is filled with init_value (gamma 1, the rest 0). */
        .init = INIT_ZEROS,
        .init_value = value,
        .constant = true,
        .trainable = trainable,
    };
    return t;
}

float *op_scratch(const struct op_run_args *args, size_t floats, float **owned)
{
    *owned = NULL;
    if (args->scratch || floats == 0)
        return args->scratch;
    *owned = ns_xmalloc(floats * sizeof **owned);
    return *owned;
}

size_t op_scratch_none(const struct op_node *node, int batch)
{
    (void)node;
    (void)batch;
    return 0;
}
