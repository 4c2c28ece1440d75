/* netspec emit: a trained model as a standalone C99 classifier (PREFIX.h, PREFIX.c and, on
 * request, PREFIX_main.c) whose logits equal the runtime's bit for bit. A regression model
 * (class_count 0) gets PREFIX_outputs and PREFIX_predict, returning the predicted values,
 * in place of PREFIX_logits and PREFIX_classify.
 *
 *   struct emit_model m = {.g = run.g, .params = run.st.params, .class_names = names, ...};
 *   struct emit_files files;
 *   if (!emit_classifier(&ctx->diag, &m, "fashion_mlp", true, &files)) return false;
 *   ... write files.header to DIR/fashion_mlp.h, files.source to DIR/fashion_mlp.c ...
 *   emit_files_free(&files);
 *
 * The emitted code repeats the runtime's arithmetic for one sample: the .c file carries
 * kernels/nsk.h verbatim (emit_nsk.h: its text, embedded at build time), every op writes its
 * forward through its op_def's emit_c as calls of those kernels (ops/op_emit.h), the
 * parameters are one `static const float` array of hex floats (the flat layout of graph.h),
 * the workspace is the caller's. Bit-exact with any compiler and flags but -ffast-math: the
 * arithmetic contract at the top of nsk.h. The caller owns everything it passes; the strings
 * in emit_files are the caller's to free with emit_files_free.
 */
#ifndef EMIT_H
#define EMIT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/ns_error.h"
#include "data/data_csv.h"
#include "data/data_prep.h"
#include "graph/graph.h"

enum { EMIT_PREFIX_MAX = 64 };

struct emit_model {
    const struct graph *g;
    const float *params;              /* (g->param_floats) trained values, running statistics too */
    int class_count;                  /* > 0: a classifier; 0: a regression model */
    const char *const *class_names;   /* (class_count) */
    const char *target_name;          /* regression: the predicted column, for the header; or NULL */
    int loss;                         /* enum spec_loss_type: how probabilities are made */
    const struct data_prep_norm *norm; /* the run's normalisation of raw values */
    const struct data_csv_layout *csv; /* how a CSV row becomes the raw inputs; NULL for images */
    const char *name;                 /* the spec's name, for comments */
    const char *source;               /* where the model came from (the run directory), for comments */
    const char *version;              /* netspec's version, for comments */
};

struct emit_files {
    char *header;      /* PREFIX.h */
    char *source;      /* PREFIX.c */
    char *main_source; /* PREFIX_main.c, or NULL when not asked for */
    size_t workspace_bytes; /* PREFIX_WORKSPACE_BYTES */
};

/* A C identifier made from a spec name: characters other than letters, digits and _ become _,
 * a leading digit or _ gets an "m" in front, at most EMIT_PREFIX_MAX - 1 characters.
 * "fashion-mlp" -> "fashion_mlp". */
void emit_prefix_from_name(const char *name, char out[EMIT_PREFIX_MAX]);
/* true when prefix can be used as is: a C identifier not starting with _, shorter than
 * EMIT_PREFIX_MAX. */
bool emit_prefix_valid(const char *prefix);

/* Writes the three files' text. False + diag (NS_ERR_SPEC) when the model cannot be emitted:
 * an op without an emitted form, a non-finite parameter, a main program asked for a
 * regression model or a model whose input is not an image. */
bool emit_classifier(struct ns_diag *diag, const struct emit_model *m, const char *prefix, bool with_main,
                     struct emit_files *out);
void emit_files_free(struct emit_files *files);

#endif
