/* One op = one file: its parameter schema, shape rule, parameter tensors, FLOPs, forward,
 * backward and C emission, in one `const struct op_def`. ops.def lists them all once;
 * op_registry.c turns that list into the table. Layers, the graph and the runtime never switch
 * on op names: they call through the op_def.
 *
 *   const struct op_def *op = op_find("conv2d");
 *   op->shape(&shape_args) ... op->forward(&fwd_args) ...
 *
 * Shapes are per sample: [h, w, c] (rank 3, stored NHWC, channels fastest) or [n] (rank 1).
 * Batches are (N, per-sample size) row-major float32.
 */
#ifndef OP_H
#define OP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ns_error.h"
#include "kernels/gemm.h"
#include "kernels/kernels_cpu.h"
#include "spec/spec.h"
#include "spec/spec_schema.h"

enum { OP_MAX_INPUTS = 8, OP_MAX_TENSORS = 4 };

struct ns_buf;

/* A parameter tensor an op owns (weights, bias, batchnorm gamma/beta). */
struct op_tensor_desc {
    const char *name;   /* "weight", "bias", ... */
    size_t size;        /* floats */
    int fan_in, fan_out;/* for initialisers */
    int init;           /* enum spec_init, resolved (never INIT_AUTO) */
    double init_value;  /* for constant initialisation (INIT_ZEROS uses 0; batchnorm gamma 1) */
    bool constant;      /* filled with init_value instead of random numbers */
    bool trainable;     /* false: running statistics, updated in forward, not by the optimizer */
};

enum { OP_MODEL_INPUT = -1 }; /* an input index naming the model input */

/* One op in a model, as graph/ lowers it from a layer: its wiring, shapes, parameter tensors
 * and its saved-buffer offset. The ops read it; graph/ fills it (activation offsets are in
 * the graph's plan, graph.h). */
struct op_node {
    int index;
    const char *name;
    const struct spec_layer *layer;
    const struct op_def *op;
    const void *params;
    int input_count;
    int inputs[OP_MAX_INPUTS];               /* node indices, or OP_MODEL_INPUT */
    struct spec_shape in_shapes[OP_MAX_INPUTS];
    size_t in_sizes[OP_MAX_INPUTS];          /* floats per sample */
    struct spec_shape out_shape;
    size_t out_size;                         /* floats per sample */
    int tensor_count;
    struct op_tensor_desc tensors[OP_MAX_TENSORS];
    size_t tensor_offset[OP_MAX_TENSORS];    /* into the flat parameter buffer */
    size_t param_count;                      /* trainable floats */
    size_t state_count;                      /* non-trainable floats (running statistics) */
    double flops;                            /* forward, per sample */
    size_t saved_floats;                     /* per sample, kept from forward for backward */
    size_t saved_offset;                     /* per-sample offset into the saved buffer */
    /* Fusions the graph's plan chose (graph_plan.c): a relu output read only by a maxpool gets
     * relu's gradient applied by the maxpool's backward (relu_mask_input on the maxpool), so
     * its producer takes d_output as the gradient of its pre-activation (output_grad_masked). */
    bool relu_mask_input;
    bool output_grad_masked;
};

struct op_shape_args {
    const void *params;                 /* the op's parameter struct */
    const struct spec_layer *layer;     /* for error locations */
    int input_count;
    struct spec_shape inputs[OP_MAX_INPUTS];
    int class_count;                    /* from the data; 0 when unknown */
    /* out: */
    struct spec_shape output;
    int tensor_count;
    struct op_tensor_desc tensors[OP_MAX_TENSORS];
    double flops;          /* forward FLOPs per sample (multiply-add = 2) */
    size_t saved_floats;   /* per-sample floats the forward keeps for backward (masks, argmax) */
};

struct op_run_args {
    const struct op_node *node;
    int batch;                            /* samples in this batch */
    struct kernels_cpu cpu;               /* threads and ISA the kernels may use (the context's) */
    struct gemm_workspace gemm_work;      /* packing space for kernels_gemm on cpu.threads threads */
    const float *inputs[OP_MAX_INPUTS];   /* (batch, input size) */
    float *output;                        /* (batch, output size) */
    float *tensors[OP_MAX_TENSORS];       /* the node's parameter tensors */
    float *saved;                         /* (batch, saved_floats) */
    bool training;
    uint64_t rng_key;                     /* (seed, "dropout" stream, epoch, batch) already mixed */
    const uint32_t *sample_ids;           /* global sample index of each row, for per-sample RNG */
    /* backward only: */
    const float *d_output;                /* (batch, output size) */
    float *d_inputs[OP_MAX_INPUTS];       /* accumulate (+=); NULL when not needed */
    /* d_inputs[k] holds no value yet (only for an op with fills_fresh_gradients): the op writes
     * every element, with the bits of adding into zeros, and the executor skips zeroing it. */
    bool d_inputs_fresh[OP_MAX_INPUTS];
    float *d_tensors[OP_MAX_TENSORS];     /* overwrite with this batch's gradient sums */
    float *scratch;                       /* workspace of scratch_floats(batch) */
};

struct op_emit_state;

/* emit_c writes the body of the node's function in the emitted C (ops/op_emit.h describes
 * the names the body sees and the helpers that write it, kernel by kernel). */
struct op_emit_args {
    const struct op_node *node;
    const char *prefix;   /* symbol prefix of the emitted classifier */
    struct ns_buf *out;
    struct op_emit_state *state; /* scratch and helper functions the body needs (emit_c.h) */
};

struct op_def {
    /* What the spec language knows of the op: name, keys, arity (spec/spec_schema.h). */
    struct spec_layer_type layer;
    /* Output shape, parameter tensors and FLOPs from input shapes; false + diag on a mismatch. */
    bool (*shape)(struct op_shape_args *args, struct ns_diag *diag);
    size_t (*scratch_floats)(const struct op_node *node, int batch);
    void (*forward)(const struct op_run_args *args);
    void (*backward)(const struct op_run_args *args);
    /* backward honours d_inputs_fresh (writes every element of a fresh input gradient). */
    bool fills_fresh_gradients;
    /* The elementwise activation the op applies to its output (enum activation_kind), for the
     * plan's fusions; NULL when none. */
    int (*output_activation)(const struct op_node *node);
    /* backward can apply relu's gradient to its input gradient (relu_mask_input). */
    bool masks_relu_input;
    /* Writes the op's forward as C99 (see emit/). */
    void (*emit_c)(const struct op_emit_args *args);
};

const struct op_def *op_find(const char *name);
/* Every op's spec_layer_type, for spec_load, spec_jsonschema and spec_doc. */
const struct spec_layer_catalog *op_catalog(void);
size_t op_count(void);
const struct op_def *op_at(size_t index);
/* Names of every op, NULL-terminated (for suggestions and docs). */
const char *const *op_names(void);

/* Shape helpers the op files share. */
size_t op_shape_size(const struct spec_shape *shape);
void op_shape_format(const struct spec_shape *shape, char out[48]);

#endif
