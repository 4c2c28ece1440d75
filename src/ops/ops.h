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

/* "layer 4 (conv2d)", or "layer 4 \"res1\" (add)" when the user named it; 1-based, as people
 * count. "conv2d" alone without a layer (tests). */
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
/* Per-sample rows and columns of the last axis: [h, w, c] -> (h*w, c), [n] -> (1, n). */
void op_shape_rows_cols(const struct spec_shape *shape, size_t *rows, size_t *cols);
/* The op's parameter tensor descriptor for a bias or batchnorm vector. */
struct op_tensor_desc op_constant_tensor(const char *name, size_t size, double value,
                                         bool trainable);

#endif
