/* For the op files and the registry only: the op_def of every op (from ops.def) and the
 * helpers the op files share for errors and initialisers. Everyone else uses op.h.
 *
 *   op_shape_error(args, diag, "conv2d", hint, "kernel %s is larger than its input %s", k, in);
 *   // -> "layer 4 (conv2d): kernel [5, 5] is larger than its input [3, 3, 64]" at the layer
 */
#ifndef OPS_H
#define OPS_H

#include <stdbool.h>

#include "ops/op.h"
#include "kernels/kernels.h"

#define OP(name) extern const struct op_def op_##name;
#include "ops/ops.def"
#undef OP

enum {
#define OP(name) OP_ID_##name,
#include "ops/ops.def"
#undef OP
    OP_ID_COUNT
};

enum { OP_LABEL_MAX = 96 };

/* "layer 4 (conv2d)", or "layer 4 \"res1\" (add)" when the user named it; the 0-based index
 * of model.layers, as the validator and `--set model.layers[4]` count. "conv2d" alone without a
 * layer. */
void op_layer_label(const struct spec_layer *layer, const char *op_name, char out[OP_LABEL_MAX]);
/* Where the layer was written; no place when layer or its node is NULL. */
struct ns_loc op_layer_loc(const struct spec_layer *layer);
/* Where `key` of the layer's parameters was written, else the layer's place. */
struct ns_loc op_key_loc(const struct spec_layer *layer, const char *key);
/* Adds "LABEL: message" at the layer (or at `key` when not NULL). */
void op_shape_error(const struct op_shape_args *args, struct ns_diag *diag, const char *op_name,
                    const char *key, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* init: auto -> he_normal after relu-like activations, glorot_uniform otherwise. */
int op_resolve_init(int init, int activation);
/* A check() for ops whose schema ranges say everything. */
bool op_check_none(const void *params, const struct spec_layer *layer, struct ns_diag *diag);
/* forward, backward and emit_c of ops that keep the values and change only the shape (flatten,
 * reshape): a copy forward, the gradient passed on, a copy in the emitted C. */
void op_same_values_forward(const struct op_run_args *args);
void op_same_values_backward(const struct op_run_args *args);
void op_same_values_emit(const struct op_emit_args *args);
/* A scratch_floats() for ops that need no workspace. */
size_t op_scratch_none(const struct op_node *node, int batch);
/* Per-sample rows and columns of the last axis: [h, w, c] -> (h*w, c), [n] -> (1, n). */
void op_shape_rows_cols(const struct spec_shape *shape, size_t *rows, size_t *cols);
/* args->scratch when the executor passed one (it holds scratch_floats(batch) floats), else a
 * new buffer of `floats` that the caller frees through *owned (NULL when nothing to free). */
float *op_scratch(const struct op_run_args *args, size_t floats, float **owned);
/* The op's parameter tensor descriptor for a bias or batchnorm vector. */
struct op_tensor_desc op_constant_tensor(const char *name, size_t size, double value,
                                         bool trainable);

/* maxpool2d and avgpool2d take the same keys; op_pool.c holds them once. */
struct op_pool_params {
    struct spec_pair size;
    struct spec_pair stride; /* SPEC_AUTO in h and w = size */
    struct spec_padding padding;
};
extern const struct schema_section op_pool_schema_max;
extern const struct schema_section op_pool_schema_avg;
/* Output shape and FLOPs of a pooling op; saved_floats = the output size when keep_argmax. */
bool op_pool_shape(struct op_shape_args *args, struct ns_diag *diag, const char *op_name,
                   bool keep_argmax);
void op_pool_window(const struct op_node *node, struct kernels_window *g);

#endif
