#include "emit/emit.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/ns_util.h"
#include "emit/emit_nsk.h"
#include "ops/op_emit.h"
#include "spec/spec.h"

void emit_prefix_from_name(const char *name, char out[EMIT_PREFIX_MAX])
{
    size_t n = 0;
    if (!name || !*name)
        name = "model";
    if (!isalpha((unsigned char)name[0]))
        out[n++] = 'm';
    for (const char *p = name; *p && n < EMIT_PREFIX_MAX - 1; p++)
        out[n++] = isalnum((unsigned char)*p) ? *p : '_';
    out[n] = '\0';
}

bool emit_prefix_valid(const char *prefix)
{
    size_t n = strlen(prefix);
    if (n == 0 || n >= EMIT_PREFIX_MAX || !isalpha((unsigned char)prefix[0]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)prefix[i]) && prefix[i] != '_')
            return false;
    return true;
}

void emit_files_free(struct emit_files *files)
{
    if (!files)
        return;
    free(files->header);
    free(files->source);
    free(files->main_source);
    memset(files, 0, sizeof *files);
}

/* ---- text helpers ---- */

/* Text from the user (names, paths) inside a C comment: nothing can end the comment, open one
 * in it (a run directory named "*" made -Wall -Werror fail on -Wcomment) or form a trigraph,
 * and only printable ASCII passes. */
static void put_comment_text(struct ns_buf *b, const char *s)
{
    for (const char *p = s ? s : ""; *p; p++) {
        char c = *p;
        if ((c == '*' && p[1] == '/') || (c == '/' && p[1] == '*') || (c == '?' && p[1] == '?'))
            ns_buf_printf(b, "%c ", c);
        else if (c >= 0x20 && c < 0x7f)
            ns_buf_append(b, p, 1);
        else
            ns_buf_puts(b, "?");
    }
}

/* s as a C string literal: quotes, backslashes and question marks (trigraphs) escaped,
 * everything outside printable ASCII as octal escapes (UTF-8 bytes included). */
static void put_string_literal(struct ns_buf *b, const char *s)
{
    ns_buf_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\' || *p == '?')
            ns_buf_printf(b, "\\%c", *p);
        else if (*p >= 0x20 && *p < 0x7f)
            ns_buf_append(b, (const char *)p, 1);
        else
            ns_buf_printf(b, "\\%03o", *p);
    }
    ns_buf_puts(b, "\"");
}

static void upper_copy(const char *s, char out[EMIT_PREFIX_MAX])
{
    size_t n = 0;
    for (; s[n] && n < EMIT_PREFIX_MAX - 1; n++)
        out[n] = (char)toupper((unsigned char)s[n]);
    out[n] = '\0';
}

/* ---- what the model needs ---- */

struct emit_plan {
    const struct emit_model *m;
    const char *prefix;
    char upper[EMIT_PREFIX_MAX];
    size_t input_size, output_size;
    size_t act_floats, scratch_floats;
    bool regression;     /* no classes: PREFIX_outputs and PREFIX_predict */
    const char *forward; /* "logits", or "outputs" for regression */
    unsigned helpers;
    struct ns_buf *bodies; /* (node_count) each node's function body */
    bool *uses_scratch;    /* (node_count) */
};

static bool all_finite(const float *v, size_t n, size_t *bad)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) {
            *bad = i;
            return false;
        }
    return true;
}

static bool check_model(struct ns_diag *diag, const struct emit_model *m, const char *prefix, bool with_main)
{
    const struct graph *g = m->g;
    struct ns_loc here = {m->source, 0, 0, 0};
    bool regression = m->class_count <= 0;
    size_t k = g->nodes[g->output_node].out_size;
    if (!regression && !(k == (size_t)m->class_count || (k == 1 && m->class_count == 2))) {
        ns_diag_add(diag, NS_ERR_SPEC, here, NULL, "the model has %zu outputs for %d classes", k, m->class_count);
        return false;
    }
    for (size_t i = 0; i < g->node_count; i++)
        if (!g->nodes[i].op->emit_c) {
            ns_diag_add(diag, NS_ERR_SPEC, here, "this op cannot be emitted yet",
                        "layer %d (%s) has no C form", g->nodes[i].layer ? g->nodes[i].layer->index : (int)i,
                        g->nodes[i].op->layer.name);
            return false;
        }
    size_t bad;
    if (!all_finite(m->params, g->param_floats, &bad)) {
        ns_diag_add(diag, NS_ERR_SPEC, here, "retrain the model; its weights hold NaN or infinity",
                    "parameter %zu of the model is not finite", bad);
        return false;
    }
    const struct data_prep_norm *n = m->norm;
    bool norm_ok = isfinite(n->scale);
    for (size_t c = 0; c < n->channels; c++)
        norm_ok = norm_ok && isfinite(n->mean[c]) && isfinite(n->std[c]);
    if (!norm_ok) {
        ns_diag_add(diag, NS_ERR_SPEC, here, NULL, "the normalisation (data.normalize) is not finite");
        return false;
    }
    if (with_main && regression) {
        ns_diag_add(diag, NS_ERR_SPEC, here, NULL, "--main classifies images, but the model is a regression model");
        ns_diag_hint(diag, "leave out --main and call %s_predict from your own program", prefix);
        return false;
    }
    if (with_main && (g->input_shape.rank != 3 || g->input_shape.dims[2] > 4)) {
        char text[48];
        op_shape_format(&g->input_shape, text);
        ns_diag_add(diag, NS_ERR_SPEC, here, NULL, "--main reads PGM/PPM images, but the model's input is %s",
                    text);
        ns_diag_hint(diag, "leave out --main and call %s_classify from your own program", prefix);
        return false;
    }
    return true;
}

static void plan_free(struct emit_plan *p)
{
    if (p->bodies)
        for (size_t i = 0; i < p->m->g->node_count; i++)
            ns_buf_free(&p->bodies[i]);
    free(p->bodies);
    free(p->uses_scratch);
}

/* Every node's body, through its op's emit_c; the scratch and helpers they need. */
static void plan_bodies(struct emit_plan *p)
{
    const struct graph *g = p->m->g;
    p->bodies = ns_xcalloc(g->node_count ? g->node_count : 1, sizeof *p->bodies);
    p->uses_scratch = ns_xcalloc(g->node_count ? g->node_count : 1, sizeof *p->uses_scratch);
    for (size_t i = 0; i < g->node_count; i++) {
        struct op_emit_state st = {0};
        ns_buf_puts(&p->bodies[i], "");
        struct op_emit_args a = {.node = &g->nodes[i], .prefix = p->prefix, .out = &p->bodies[i], .state = &st};
        g->nodes[i].op->emit_c(&a);
        p->uses_scratch[i] = st.scratch_floats > 0;
        p->scratch_floats = st.scratch_floats > p->scratch_floats ? st.scratch_floats : p->scratch_floats;
        p->helpers |= st.helpers;
    }
    p->input_size = g->input_size;
    p->output_size = g->nodes[g->output_node].out_size;
    /* The inference plan: outputs share memory once their consumers have run. */
    p->act_floats = g->plan[GRAPH_INFERENCE].act_floats;
}

/* ---- the header ---- */

static const char *loss_probabilities(const struct emit_plan *p)
{
    if (p->output_size == 1)
        return "class 1 has sigmoid(logit), class 0 the rest (one binary_cross_entropy output)";
    if (p->m->loss == LOSS_BINARY_CROSS_ENTROPY)
        return "sigmoid of each logit (binary_cross_entropy)";
    if (p->m->loss == LOSS_MSE)
        return "softmax of the outputs (the model was trained with mse)";
    return "softmax of the logits, as the runtime computes it";
}

/* text as comment lines wrapped at 96 columns: the first line begins with `first` (the comment
 * opener or " *"), the others with " *". text is already safe inside a comment. */
static void put_wrapped(struct ns_buf *b, const char *first, const char *text)
{
    size_t col = strlen(first);
    ns_buf_puts(b, first);
    for (const char *p = text; *p;) {
        const char *w = p;
        while (*w && *w != ' ')
            w++;
        size_t len = (size_t)(w - p);
        if (col + 1 + len > 96 && col > 2) {
            ns_buf_puts(b, "\n *");
            col = 2;
        }
        ns_buf_puts(b, " ");
        ns_buf_append(b, p, len);
        col += 1 + len;
        for (p = w; *p == ' '; p++)
            ;
    }
    ns_buf_puts(b, "\n");
}

/* The header's opening comment, the source's too: what the files are and where from. */
static void put_origin(struct ns_buf *b, const struct emit_plan *p, const char *file, const char *more)
{
    struct ns_buf t = {0};
    ns_buf_printf(&t, "%s: the %s \"", file, p->regression ? "regression model" : "classifier");
    put_comment_text(&t, p->m->name);
    ns_buf_puts(&t, "\", written by netspec ");
    put_comment_text(&t, p->m->version);
    ns_buf_puts(&t, " (netspec emit) from ");
    put_comment_text(&t, p->m->source);
    ns_buf_printf(&t, ".%s", more);
    put_wrapped(b, "/*", t.data);
    ns_buf_free(&t);
}

/* Which CSV column feeds each raw input, so a caller can build the vector from a row: numbers
 * as read, categories one-hot, missing cells as the run treated them. */
static void put_csv_inputs(struct ns_buf *h, const struct data_csv_layout *l)
{
    struct ns_buf t = {0};
    ns_buf_puts(&t, "The raw inputs come from the columns of the CSV file the model was trained on (by name):");
    put_wrapped(h, " *", t.data);
    for (size_t j = 0; j < l->column_count; j++) {
        const struct data_csv_column *col = &l->columns[j];
        t.len = 0;
        if (!col->category_count) {
            ns_buf_printf(&t, "   [%zu] \"", col->offset);
            put_comment_text(&t, col->name);
            ns_buf_puts(&t, "\": the number in the cell");
        } else {
            ns_buf_printf(&t, "   [%zu..%zu] \"", col->offset, col->offset + col->category_count - 1);
            put_comment_text(&t, col->name);
            ns_buf_puts(&t, "\": one-hot, 1 at the cell's category and 0 elsewhere, in the order");
            for (size_t k = 0; k < col->category_count; k++) {
                ns_buf_puts(&t, k ? ", \"" : " \"");
                put_comment_text(&t, col->categories[k]);
                ns_buf_puts(&t, "\"");
            }
        }
        if (l->fill) {
            ns_buf_puts(&t, "; a missing cell is");
            size_t width = col->category_count ? col->category_count : 1;
            for (size_t k = 0; k < width; k++)
                ns_buf_printf(&t, "%s %.9g", k ? "," : "", (double)l->fill[col->offset + k]);
            ns_buf_puts(&t, " (the training split's mean)");
        }
        put_wrapped(h, " *", t.data);
    }
    ns_buf_free(&t);
}

static void put_header(struct ns_buf *h, const struct emit_plan *p)
{
    const struct emit_model *m = p->m;
    const struct graph *g = m->g;
    const char *x = p->prefix, *X = p->upper;
    char shape[48], lit[OP_EMIT_FLOAT_MAX];
    op_shape_format(&g->input_shape, shape);
    const struct data_prep_norm *n = m->norm;
    size_t workspace = p->act_floats + p->scratch_floats + p->input_size + p->output_size;
    char *file = ns_asprintf("%s.h", x);
    put_origin(h, p, file, "");
    free(file);
    bool image = g->input_shape.rank == 3;
    if (p->regression)
        ns_buf_printf(h,
                      " *\n"
                      " *   static float workspace[%s_WORKSPACE_BYTES / sizeof(float)];\n"
                      " *   float raw[%s_INPUT_SIZE];         %s\n"
                      " *   float y = %s_predict(raw, NULL, workspace);\n"
                      " *   printf(\"%%g\\n\", y);\n"
                      " *\n",
                      X, X, image ? "(values 0..255, [h, w, c] order)" : "(the raw feature values)", x);
    else
        ns_buf_printf(h,
                      " *\n"
                      " *   static float workspace[%s_WORKSPACE_BYTES / sizeof(float)];\n"
                      " *   float raw[%s_INPUT_SIZE];         %s\n"
                      " *   float p[%s_CLASS_COUNT];\n"
                      " *   int c = %s_classify(raw, p, workspace);\n"
                      " *   printf(\"%%s %%.3f\\n\", %s_class_names[c], p[c]);\n"
                      " *\n",
                      X, X, image ? "(values 0..255, [h, w, c] order)" : "(the raw feature values)", X, x, x);
    struct ns_buf t = {0};
    ns_buf_printf(&t, "Plain C99 needing only <math.h> for fmaf and sqrtf (link with -lm): no allocation, no state. The caller passes "
                      "a workspace of %s_WORKSPACE_BYTES bytes aligned for float; calls with different workspaces "
                      "may run at the same time.", X);
    put_wrapped(h, " *", t.data);
    ns_buf_puts(h, " *\n");
    t.len = 0;
    if (image)
        ns_buf_printf(&t, "Input: %s = [height, width, channels], stored [h, w, c] with channels fastest: "
                          "%s_INPUT_SIZE floats.", shape, X);
    else
        ns_buf_printf(&t, "Input: %s, a vector of %s_INPUT_SIZE features.", shape, X);
    if (m->csv) {
        put_wrapped(h, " *", t.data);
        put_csv_inputs(h, m->csv);
        t.len = 0;
        ns_buf_printf(&t, "Preprocessing (%s_preprocess), for the raw value v at index i, in float:", x);
    } else {
        ns_buf_printf(&t, " Preprocessing (%s_preprocess), for the raw value v at index i, in float:", x);
    }
    put_wrapped(h, " *", t.data);
    if (n->channels) {
        ns_buf_printf(h, " *     x = (v * scale - mean[i %% %zu]) / std[i %% %zu]\n", n->channels, n->channels);
        t.len = 0;
        ns_buf_printf(&t, "with scale = %.9g (%s), mean = [", (double)n->scale, op_emit_float(n->scale, lit));
        for (size_t c = 0; c < n->channels; c++)
            ns_buf_printf(&t, "%s%.9g", c ? ", " : "", (double)n->mean[c]);
        ns_buf_puts(&t, "], std = [");
        for (size_t c = 0; c < n->channels; c++)
            ns_buf_printf(&t, "%s%.9g", c ? ", " : "", (double)n->std[c]);
        ns_buf_printf(&t, "] (the exact floats are in %s.c): the formula of the netspec runtime.", x);
    } else {
        ns_buf_puts(h, " *     x = (v * scale - 0.0f) / 1.0f\n");
        t.len = 0;
        ns_buf_printf(&t, "with scale = %.9g (%s): the formula of the netspec runtime.", (double)n->scale,
                      op_emit_float(n->scale, lit));
    }
    put_wrapped(h, " *", t.data);
    t.len = 0;
    if (p->regression) {
        ns_buf_printf(&t, "Output: %s_OUTPUT_SIZE regression value%s, the model's last layer as it is (no softmax), "
                          "in the units of the training targets", X, p->output_size == 1 ? "" : "s");
        if (m->target_name) {
            ns_buf_puts(&t, " (the column \"");
            put_comment_text(&t, m->target_name);
            ns_buf_printf(&t, "\", %s_TARGET_NAME)", X);
        }
        ns_buf_printf(&t, ". %s_predict returns the first and, when outputs is not NULL, fills all "
                          "%s_OUTPUT_SIZE: the values `netspec eval` scores with mse.", x, X);
    } else {
        ns_buf_printf(&t, "Output: %s_OUTPUT_SIZE logits. %s_classify returns the class of the largest (the first "
                          "on ties) and, when probabilities is not NULL, fills %s_CLASS_COUNT of them: %s.",
                      X, x, X, loss_probabilities(p));
    }
    put_wrapped(h, " *", t.data);
    ns_buf_puts(h, " *\n");
    t.len = 0;
    ns_buf_printf(&t, "Bit for bit: %s_%s and %s are the netspec runtime's own float values "
                      "(eval mode: batchnorm running statistics, dropout off) with any C99 compiler, optimisation "
                      "level, -march, C library and CPU, under one condition: do not compile with -ffast-math "
                      "(or -Ofast). %s.c refuses to compile under it, and where float expressions are evaluated in "
                      "a wider type (FLT_EVAL_METHOD 1 or 2: x87 without SSE). The file carries netspec's kernels "
                      "(kernels/nsk.h) verbatim; their first comment states the arithmetic contract.", x, p->forward,
                  p->regression ? "the predicted values" : "the probabilities", x);
    put_wrapped(h, " *", t.data);
    ns_buf_puts(h, " */\n");
    ns_buf_free(&t);
    ns_buf_printf(h, "#ifndef %s_H\n#define %s_H\n\n#include <stddef.h>\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n", X, X);
    if (g->input_shape.rank == 3)
        ns_buf_printf(h, "#define %s_INPUT_HEIGHT %d\n#define %s_INPUT_WIDTH %d\n#define %s_INPUT_CHANNELS %d\n", X,
                      g->input_shape.dims[0], X, g->input_shape.dims[1], X, g->input_shape.dims[2]);
    ns_buf_printf(h, "#define %s_INPUT_SIZE %zu\n#define %s_OUTPUT_SIZE %zu\n", X, p->input_size, X, p->output_size);
    if (p->regression && m->target_name) {
        ns_buf_printf(h, "#define %s_TARGET_NAME ", X);
        put_string_literal(h, m->target_name);
        ns_buf_puts(h, "\n");
    } else if (!p->regression) {
        ns_buf_printf(h, "#define %s_CLASS_COUNT %d\n", X, m->class_count);
    }
    ns_buf_printf(h,
                  "/* The layers' outputs, sharing memory where their lifetimes allow (%zu floats),\n"
                  " * convolution scratch (%zu), and for %s_%s\n"
                  " * the preprocessed input and the %s. */\n"
                  "#define %s_WORKSPACE_BYTES (%zu * sizeof(float))\n\n",
                  p->act_floats, p->scratch_floats, x, p->regression ? "predict" : "classify", p->forward, X,
                  workspace);
    if (p->regression) {
        ns_buf_printf(h,
                      "/* x (%s_INPUT_SIZE) = the normalised raw values (%s_INPUT_SIZE, 0..255 for images). */\n"
                      "void %s_preprocess(const float *raw, float *x);\n"
                      "/* outputs (%s_OUTPUT_SIZE) of the preprocessed input x; workspace as above. */\n"
                      "void %s_outputs(const float *x, float *outputs, void *workspace);\n"
                      "/* The predicted value of raw values (preprocess + outputs): the first output; outputs\n"
                      " * (%s_OUTPUT_SIZE) receives them all unless NULL. */\n"
                      "float %s_predict(const float *raw, float *outputs, void *workspace);\n"
                      "/* %s_predict for n inputs one after another: raw (n, %s_INPUT_SIZE), outputs\n"
                      " * (n, %s_OUTPUT_SIZE). The same bits as n single calls. */\n"
                      "void %s_predict_batch(const float *raw, size_t n, float *outputs, void *workspace);\n"
                      "/* %s_outputs for n preprocessed inputs x (n, %s_INPUT_SIZE) into outputs (n, %s_OUTPUT_SIZE). */\n"
                      "void %s_outputs_batch(const float *x, size_t n, float *outputs, void *workspace);\n\n"
                      "#ifdef __cplusplus\n}\n#endif\n\n#endif\n",
                      X, X, x, X, x, X, x, x, X, X, x, x, X, X, x);
        return;
    }
    ns_buf_printf(h, "static const char *const %s_class_names[%s_CLASS_COUNT] = {\n", x, X);
    for (int c = 0; c < m->class_count; c++) {
        ns_buf_puts(h, "    ");
        put_string_literal(h, m->class_names[c]);
        ns_buf_puts(h, ",\n");
    }
    ns_buf_puts(h, "};\n\n");
    ns_buf_printf(h,
                  "/* x (%s_INPUT_SIZE) = the normalised raw values (%s_INPUT_SIZE, 0..255 for images). */\n"
                  "void %s_preprocess(const float *raw, float *x);\n"
                  "/* logits (%s_OUTPUT_SIZE) of the preprocessed input x; workspace as above. */\n"
                  "void %s_logits(const float *x, float *logits, void *workspace);\n"
                  "/* The class of raw values (preprocess + logits); probabilities (%s_CLASS_COUNT) may be\n"
                  " * NULL. */\n"
                  "int %s_classify(const float *raw, float *probabilities, void *workspace);\n"
                  "/* %s_classify for n inputs one after another: raw (n, %s_INPUT_SIZE); classes (n) and\n"
                  " * probabilities (n, %s_CLASS_COUNT) may each be NULL. The same bits as n single calls. */\n"
                  "void %s_classify_batch(const float *raw, size_t n, int *classes, float *probabilities, void *workspace);\n"
                  "/* %s_logits for n preprocessed inputs x (n, %s_INPUT_SIZE) into logits (n, %s_OUTPUT_SIZE). */\n"
                  "void %s_logits_batch(const float *x, size_t n, float *logits, void *workspace);\n\n"
                  "#ifdef __cplusplus\n}\n#endif\n\n#endif\n",
                  X, X, x, X, x, X, x, x, X, X, x, x, X, X, x);
}

/* ---- the source ---- */

struct tensor_mark {
    size_t offset;
    const struct op_node *node;
    int tensor;
};

static int mark_cmp(const void *a, const void *b)
{
    const struct tensor_mark *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static void put_layer_label(struct ns_buf *b, const struct op_node *node)
{
    ns_buf_printf(b, "layer %d \"", node->layer ? node->layer->index : node->index);
    put_comment_text(b, node->name ? node->name : "");
    ns_buf_printf(b, "\" (%s)", node->op->layer.name);
}

/* The parameters, one float per value, with a comment where each tensor starts. */
static void put_params(struct ns_buf *c, const struct emit_plan *p)
{
    const struct graph *g = p->m->g;
    if (!g->param_floats)
        return;
    size_t count = 0;
    for (size_t i = 0; i < g->node_count; i++)
        count += (size_t)g->nodes[i].tensor_count;
    struct tensor_mark *marks = ns_xcalloc(count ? count : 1, sizeof *marks);
    size_t n = 0;
    for (size_t i = 0; i < g->node_count; i++)
        for (int t = 0; t < g->nodes[i].tensor_count; t++)
            marks[n++] = (struct tensor_mark){g->nodes[i].tensor_offset[t], &g->nodes[i], t};
    qsort(marks, n, sizeof *marks, mark_cmp);
    ns_buf_printf(c,
                  "/* Every parameter tensor in one array (graph order), written as hex floats so each is\n"
                  " * the trained value exactly. */\n"
                  "static const float %s_params[%zu] = {\n",
                  p->prefix, g->param_floats);
    size_t next = 0, on_line = 0;
    char lit[OP_EMIT_FLOAT_MAX];
    for (size_t i = 0; i < g->param_floats; i++) {
        if (next < n && marks[next].offset == i) {
            if (on_line)
                ns_buf_puts(c, "\n");
            on_line = 0;
            while (next < n && marks[next].offset == i) {
                const struct tensor_mark *mk = &marks[next++];
                ns_buf_puts(c, "    /* ");
                put_layer_label(c, mk->node);
                ns_buf_printf(c, ": %s, %zu floats */\n", mk->node->tensors[mk->tensor].name,
                              mk->node->tensors[mk->tensor].size);
            }
        }
        ns_buf_printf(c, "%s%s,", on_line ? " " : "    ", op_emit_float(p->m->params[i], lit));
        if (++on_line == 6) {
            ns_buf_puts(c, "\n");
            on_line = 0;
        }
    }
    ns_buf_puts(c, on_line ? "\n};\n\n" : "};\n\n");
    free(marks);
}

static void put_preprocess(struct ns_buf *c, const struct emit_plan *p)
{
    const struct data_prep_norm *n = p->m->norm;
    char lit[OP_EMIT_FLOAT_MAX];
    size_t channels = n->channels ? n->channels : 1;
    ns_buf_printf(c, "void %s_preprocess(const float *raw, float *x)\n{\n", p->prefix);
    ns_buf_printf(c, "    static const float mean[%zu] = {", channels);
    for (size_t i = 0; i < channels; i++)
        ns_buf_printf(c, "%s%s", i ? ", " : "", op_emit_float(n->channels ? n->mean[i] : 0.0f, lit));
    ns_buf_printf(c, "};\n    static const float std[%zu] = {", channels);
    for (size_t i = 0; i < channels; i++)
        ns_buf_printf(c, "%s%s", i ? ", " : "", op_emit_float(n->channels ? n->std[i] : 1.0f, lit));
    ns_buf_printf(c, "};\n    nsk_normalize(raw, %zu, %s, mean, std, %zu, x);\n}\n\n", p->input_size,
                  op_emit_float(n->scale, lit), channels);
}

static void put_nodes(struct ns_buf *c, const struct emit_plan *p)
{
    const struct graph *g = p->m->g;
    for (size_t i = 0; i < g->node_count; i++) {
        const struct op_node *node = &g->nodes[i];
        char out_text[48];
        ns_buf_puts(c, "/* ");
        put_layer_label(c, node);
        ns_buf_puts(c, ": ");
        for (int k = 0; k < node->input_count; k++) {
            char in_text[48];
            op_shape_format(&node->in_shapes[k], in_text);
            ns_buf_printf(c, "%s%s", k ? " + " : "", in_text);
        }
        op_shape_format(&node->out_shape, out_text);
        ns_buf_printf(c, " -> %s */\n", out_text);
        ns_buf_printf(c, "static void %s_node%zu(const float *const *in, float *out, float *scratch)\n{\n",
                      p->prefix, i);
        ns_buf_puts(c, p->bodies[i].data);
        if (!p->uses_scratch[i])
            ns_buf_puts(c, "    (void)scratch;\n");
        ns_buf_puts(c, "}\n\n");
    }
}

static void put_logits(struct ns_buf *c, const struct emit_plan *p)
{
    const struct graph *g = p->m->g;
    ns_buf_printf(c,
                  "void %s_%s(const float *x, float *%s, void *workspace)\n"
                  "{\n"
                  "    float *act = (float *)workspace; /* (%zu) the layers' outputs, as planned */\n"
                  "    float *scratch = act + %zu;      /* (%zu) */\n",
                  p->prefix, p->forward, p->forward, p->act_floats, p->act_floats, p->scratch_floats);
    const struct graph_plan *plan = &g->plan[GRAPH_INFERENCE];
    for (size_t s = 0; s < g->node_count; s++) {
        size_t i = (size_t)g->order[s];
        const struct op_node *node = &g->nodes[i];
        ns_buf_printf(c, "    {\n        const float *in[%d];\n", node->input_count);
        for (int k = 0; k < node->input_count; k++) {
            int from = node->inputs[k];
            if (from == OP_MODEL_INPUT)
                ns_buf_printf(c, "        in[%d] = x;\n", k);
            else
                ns_buf_printf(c, "        in[%d] = act + %zu;\n", k, plan->act_offset[from]);
        }
        ns_buf_printf(c, "        %s_node%zu(in, act + %zu, scratch);\n    }\n", p->prefix, i, plan->act_offset[i]);
    }
    ns_buf_printf(c,
                  "    for (size_t i = 0; i < %zu; i++)\n"
                  "        %s[i] = act[%zu + i];\n"
                  "}\n\n",
                  p->output_size, p->forward, plan->act_offset[g->output_node]);
}

static void put_classify(struct ns_buf *c, struct emit_plan *p)
{
    const char *x = p->prefix;
    ns_buf_printf(c,
                  "int %s_classify(const float *raw, float *probabilities, void *workspace)\n"
                  "{\n"
                  "    float *in = (float *)workspace + %zu; /* past what %s_logits uses */\n"
                  "    float *z = in + %zu;\n"
                  "    int best = 0;\n"
                  "    %s_preprocess(raw, in);\n"
                  "    %s_logits(in, z, workspace);\n",
                  x, p->act_floats + p->scratch_floats, x, p->input_size, x, x);
    if (p->output_size == 1) {
        /* One output: loss_predict's threshold, and the two classes' probabilities. */
        p->helpers |= OP_EMIT_HELPER_SIGMOID;
        ns_buf_printf(c,
                      "    best = z[0] > 0.0f ? 1 : 0;\n"
                      "    if (probabilities) {\n"
                      "        float s = %s_sigmoid(z[0], 0.0f);\n"
                      "        probabilities[0] = 1.0f - s;\n"
                      "        probabilities[1] = s;\n"
                      "    }\n",
                      x);
    } else {
        ns_buf_printf(c,
                      "    for (int j = 1; j < %zu; j++)\n"
                      "        if (z[j] > z[best])\n"
                      "            best = j;\n"
                      "    if (probabilities) {\n",
                      p->output_size);
        if (p->m->loss == LOSS_BINARY_CROSS_ENTROPY) {
            p->helpers |= OP_EMIT_HELPER_SIGMOID;
            ns_buf_printf(c,
                          "        for (size_t j = 0; j < %zu; j++)\n"
                          "            probabilities[j] = %s_sigmoid(z[j], 0.0f);\n",
                          p->output_size, x);
        } else {
            p->helpers |= OP_EMIT_HELPER_SOFTMAX;
            ns_buf_printf(c,
                          "        for (size_t j = 0; j < %zu; j++)\n"
                          "            probabilities[j] = z[j];\n"
                          "        %s_softmax_row(probabilities, %zu);\n",
                          p->output_size, x, p->output_size);
        }
        ns_buf_puts(c, "    }\n");
    }
    ns_buf_puts(c, "    return best;\n}\n\n");
    ns_buf_printf(c,
                  "void %s_classify_batch(const float *raw, size_t n, int *classes, float *probabilities, void *workspace)\n"
                  "{\n"
                  "    size_t i;\n"
                  "    for (i = 0; i < n; i++) {\n"
                  "        int best = %s_classify(raw + i * %zu, probabilities ? probabilities + i * %d : NULL, workspace);\n"
                  "        if (classes)\n"
                  "            classes[i] = best;\n"
                  "    }\n"
                  "}\n\n"
                  "void %s_logits_batch(const float *x, size_t n, float *logits, void *workspace)\n"
                  "{\n"
                  "    size_t i;\n"
                  "    for (i = 0; i < n; i++)\n"
                  "        %s_logits(x + i * %zu, logits + i * %zu, workspace);\n"
                  "}\n",
                  x, x, p->input_size, p->m->class_count, x, x, p->input_size, p->output_size);
}

/* A regression model's entry points: the outputs as they are. */
static void put_predict(struct ns_buf *c, const struct emit_plan *p)
{
    const char *x = p->prefix;
    ns_buf_printf(c,
                  "float %s_predict(const float *raw, float *outputs, void *workspace)\n"
                  "{\n"
                  "    float *in = (float *)workspace + %zu; /* past what %s_outputs uses */\n"
                  "    float *z = in + %zu;\n"
                  "    %s_preprocess(raw, in);\n"
                  "    %s_outputs(in, z, workspace);\n"
                  "    if (outputs)\n"
                  "        for (size_t j = 0; j < %zu; j++)\n"
                  "            outputs[j] = z[j];\n"
                  "    return z[0];\n"
                  "}\n\n"
                  "void %s_predict_batch(const float *raw, size_t n, float *outputs, void *workspace)\n"
                  "{\n"
                  "    size_t i;\n"
                  "    for (i = 0; i < n; i++)\n"
                  "        %s_predict(raw + i * %zu, outputs + i * %zu, workspace);\n"
                  "}\n\n"
                  "void %s_outputs_batch(const float *x, size_t n, float *outputs, void *workspace)\n"
                  "{\n"
                  "    size_t i;\n"
                  "    for (i = 0; i < n; i++)\n"
                  "        %s_outputs(x + i * %zu, outputs + i * %zu, workspace);\n"
                  "}\n",
                  x, p->act_floats + p->scratch_floats, x, p->input_size, x, x, p->output_size, x, x,
                  p->input_size, p->output_size, x, x, p->input_size, p->output_size);
}

static void put_source(struct ns_buf *c, struct emit_plan *p)
{
    /* classify decides the last helpers, so it is written first and placed last. */
    struct ns_buf classify = {0};
    if (p->regression)
        put_predict(&classify, p);
    else
        put_classify(&classify, p);
    char *file = ns_asprintf("%s.c", p->prefix);
    char *more = ns_asprintf(" See %s.h. Each layer is one function repeating the runtime's arithmetic for one "
                             "sample in the runtime's order, through netspec's kernels (kernels/nsk.h, copied "
                             "below verbatim): every sum a chain of fused multiply-adds (fmaf) in index order "
                             "from +0, transcendentals netspec's own, no other contraction. Only -ffast-math "
                             "(or -Ofast) can change a bit. For speed on x86-64 compile with -march=native or -mfma: "
                             "the baseline x86-64 has no FMA instruction, so each fmaf becomes a C library call "
                             "and inference runs tens of times slower; results are identical either way.",
                             p->prefix);
    put_origin(c, p, file, more);
    free(file);
    free(more);
    ns_buf_printf(c,
                  " */\n"
                  "#include \"%s.h\"\n\n"
                  "#include <float.h>\n\n"
                  "/* Exactness needs each float operation rounded to float, as written. */\n"
                  "#ifdef __FAST_MATH__\n"
                  "#error \"%s.c gives the netspec runtime's results only without -ffast-math (or -Ofast)\"\n"
                  "#endif\n"
                  "#if defined(FLT_EVAL_METHOD) && (FLT_EVAL_METHOD == 1 || FLT_EVAL_METHOD == 2)\n"
                  "#error \"%s.c needs float arithmetic evaluated as float (on 32-bit x86: -msse2 -mfpmath=sse)\"\n"
                  "#endif\n\n",
                  p->prefix, p->prefix, p->prefix);
    ns_buf_puts(c, emit_nsk_text);
    ns_buf_puts(c, "\n");
    put_params(c, p);
    op_emit_helpers(c, p->prefix, p->helpers);
    put_nodes(c, p);
    put_preprocess(c, p);
    put_logits(c, p);
    ns_buf_puts(c, classify.data);
    ns_buf_free(&classify);
}

/* ---- the command-line program ---- */

static void put_main(struct ns_buf *c, const struct emit_plan *p)
{
    const char *x = p->prefix, *X = p->upper;
    const struct spec_shape *s = &p->m->g->input_shape;
    ns_buf_printf(c,
                  "/* %s_main.c: classifies PGM (P5) and PPM (P6) images with %s.c, written by netspec emit --main.\n"
                  " *\n"
                  " *   cc -std=c99 -O2 %s.c %s_main.c -lm -o %s\n"
                  " *   ./%s shoe.pgm bag.pgm        ->   shoe.pgm: CLASS (0.9731)\n"
                  " *   ./%s --all shoe.pgm           ->   the same line, then every class's probability\n"
                  " *                                       as `  %%.9g NAME` (the exact float)\n"
                  " *\n"
                  " * Images must be %dx%d (width x height) with 8-bit samples (maxval 255); they are not\n"
                  " * resized. Gray and colour convert to the model's %d channel(s) as stb_image (and so\n"
                  " * `netspec predict`) does: luma = (77 r + 150 g + 29 b) >> 8, alpha 255.\n"
                  " * Exit status: 0, or 1 when a file could not be classified, 2 without files.\n"
                  " */\n"
                  "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n\n#include \"%s.h\"\n\n",
                  x, x, x, x, x, x, x, s->dims[1], s->dims[0], s->dims[2], x);
    ns_buf_printf(c,
                  "/* The next number of a PNM header, past whitespace and # comments, and the one\n"
                  " * whitespace character after it; -1 when there is none. */\n"
                  "static long pnm_number(FILE *f)\n"
                  "{\n"
                  "    long v = 0;\n"
                  "    int c = fgetc(f);\n"
                  "    for (;;) {\n"
                  "        while (c == ' ' || c == '\\t' || c == '\\n' || c == '\\r' || c == '\\v' || c == '\\f')\n"
                  "            c = fgetc(f);\n"
                  "        if (c != '#')\n"
                  "            break;\n"
                  "        while (c != '\\n' && c != EOF)\n"
                  "            c = fgetc(f);\n"
                  "    }\n"
                  "    if (c < '0' || c > '9')\n"
                  "        return -1;\n"
                  "    for (; c >= '0' && c <= '9'; c = fgetc(f)) {\n"
                  "        if (v > 1000000L)\n"
                  "            return -1;\n"
                  "        v = v * 10 + (c - '0');\n"
                  "    }\n"
                  "    if (c != ' ' && c != '\\t' && c != '\\n' && c != '\\r' && c != '\\v' && c != '\\f')\n"
                  "        return -1;\n"
                  "    return v;\n"
                  "}\n\n");
    ns_buf_printf(c,
                  "/* raw (%s_INPUT_SIZE) = the image at path as 0..255 values; NULL, or why it cannot.\n"
                  " * bytes holds %s_INPUT_HEIGHT * %s_INPUT_WIDTH * 3. */\n"
                  "static const char *read_image(const char *path, float *raw, unsigned char *bytes, char *why, size_t why_size)\n"
                  "{\n"
                  "    const size_t pixels = (size_t)%s_INPUT_HEIGHT * %s_INPUT_WIDTH;\n"
                  "    const size_t channels = %s_INPUT_CHANNELS;\n"
                  "    long width, height, maxval;\n"
                  "    int comp;\n"
                  "    size_t i, got;\n"
                  "    FILE *f = fopen(path, \"rb\");\n"
                  "    if (!f)\n"
                  "        return \"cannot open it\";\n"
                  "    if (fgetc(f) != 'P') {\n"
                  "        fclose(f);\n"
                  "        return \"not a binary PGM (P5) or PPM (P6) image\";\n"
                  "    }\n"
                  "    comp = fgetc(f);\n"
                  "    if (comp != '5' && comp != '6') {\n"
                  "        fclose(f);\n"
                  "        return \"not a binary PGM (P5) or PPM (P6) image\";\n"
                  "    }\n"
                  "    comp = comp == '5' ? 1 : 3;\n"
                  "    width = pnm_number(f);\n"
                  "    height = pnm_number(f);\n"
                  "    maxval = pnm_number(f);\n"
                  "    if (width < 1 || height < 1 || maxval < 1) {\n"
                  "        fclose(f);\n"
                  "        return \"malformed PNM header\";\n"
                  "    }\n"
                  "    if (maxval != 255) {\n"
                  "        fclose(f);\n"
                  "        return \"not an 8-bit image (its maxval must be 255)\";\n"
                  "    }\n"
                  "    if (width != %s_INPUT_WIDTH || height != %s_INPUT_HEIGHT) {\n"
                  "        fclose(f);\n"
                  "        snprintf(why, why_size, \"the image is %%ldx%%ld; the model needs %%dx%%d\", width, height,\n"
                  "                 %s_INPUT_WIDTH, %s_INPUT_HEIGHT);\n"
                  "        return why;\n"
                  "    }\n"
                  "    got = fread(bytes, 1, pixels * (size_t)comp, f);\n"
                  "    fclose(f);\n"
                  "    if (got != pixels * (size_t)comp)\n"
                  "        return \"truncated pixel data\";\n"
                  "    for (i = 0; i < pixels; i++) {\n"
                  "        const unsigned char *px = bytes + i * (size_t)comp;\n"
                  "        float *out = raw + i * channels;\n",
                  X, X, X, X, X, X, X, X, X, X);
    int channels = s->dims[2];
    if (channels <= 2)
        ns_buf_puts(c, "        out[0] = (float)(comp == 1 ? px[0] : (px[0] * 77 + px[1] * 150 + px[2] * 29) >> 8);\n");
    else
        ns_buf_puts(c, "        out[0] = (float)px[0];\n"
                       "        out[1] = (float)px[comp == 1 ? 0 : 1];\n"
                       "        out[2] = (float)px[comp == 1 ? 0 : 2];\n");
    if (channels == 2 || channels == 4)
        ns_buf_printf(c, "        out[%d] = 255.0f;\n", channels - 1);
    ns_buf_puts(c, "    }\n    return NULL;\n}\n\n");
    ns_buf_printf(c,
                  "int main(int argc, char **argv)\n"
                  "{\n"
                  "    float *workspace, *raw, *p;\n"
                  "    unsigned char *bytes;\n"
                  "    int status = 0, i, all = 0, files = 0;\n"
                  "    for (i = 1; i < argc; i++) {\n"
                  "        if (strcmp(argv[i], \"--all\") == 0)\n"
                  "            all = 1;\n"
                  "        else\n"
                  "            files++;\n"
                  "    }\n"
                  "    if (files == 0) {\n"
                  "        fprintf(stderr, \"usage: %%s [--all] IMAGE.pgm|IMAGE.ppm...\\n\"\n"
                  "                        \"classifies %%dx%%d images with %s\\n\", argv[0], %s_INPUT_WIDTH,\n"
                  "                %s_INPUT_HEIGHT);\n"
                  "        return 2;\n"
                  "    }\n"
                  "    workspace = malloc(%s_WORKSPACE_BYTES);\n"
                  "    raw = malloc(%s_INPUT_SIZE * sizeof *raw);\n"
                  "    p = malloc(%s_CLASS_COUNT * sizeof *p);\n"
                  "    bytes = malloc((size_t)%s_INPUT_HEIGHT * %s_INPUT_WIDTH * 3);\n"
                  "    if (!workspace || !raw || !p || !bytes) {\n"
                  "        fprintf(stderr, \"%%s: out of memory\\n\", argv[0]);\n"
                  "        return 1;\n"
                  "    }\n"
                  "    for (i = 1; i < argc; i++) {\n"
                  "        char why[160];\n"
                  "        const char *err;\n"
                  "        int c, k;\n"
                  "        if (strcmp(argv[i], \"--all\") == 0)\n"
                  "            continue;\n"
                  "        err = read_image(argv[i], raw, bytes, why, sizeof why);\n"
                  "        if (err) {\n"
                  "            fprintf(stderr, \"%%s: %%s: %%s\\n\", argv[0], argv[i], err);\n"
                  "            status = 1;\n"
                  "            continue;\n"
                  "        }\n"
                  "        c = %s_classify(raw, p, workspace);\n"
                  "        printf(\"%%s: %%s (%%.4f)\\n\", argv[i], %s_class_names[c], (double)p[c]);\n"
                  "        for (k = 0; all && k < %s_CLASS_COUNT; k++)\n"
                  "            printf(\"  %%.9g %%s\\n\", (double)p[k], %s_class_names[k]);\n"
                  "    }\n"
                  "    free(workspace);\n"
                  "    free(raw);\n"
                  "    free(p);\n"
                  "    free(bytes);\n"
                  "    return status;\n"
                  "}\n",
                  x, X, X, X, X, X, X, X, x, x, X, x);
}

bool emit_classifier(struct ns_diag *diag, const struct emit_model *m, const char *prefix, bool with_main,
                     struct emit_files *out)
{
    memset(out, 0, sizeof *out);
    if (!emit_prefix_valid(prefix)) {
        ns_diag_add(diag, NS_ERR_SPEC, (struct ns_loc){0}, "use letters, digits and _, starting with a letter",
                    "\"%s\" is not usable as a C name prefix", prefix);
        return false;
    }
    if (!check_model(diag, m, prefix, with_main))
        return false;
    struct emit_plan p = {.m = m, .prefix = prefix, .regression = m->class_count <= 0};
    p.forward = p.regression ? "outputs" : "logits";
    upper_copy(prefix, p.upper);
    plan_bodies(&p);
    struct ns_buf h = {0}, c = {0};
    put_source(&c, &p);
    put_header(&h, &p);
    out->header = h.data;
    out->source = c.data;
    out->workspace_bytes = (p.act_floats + p.scratch_floats + p.input_size + p.output_size) * sizeof(float);
    if (with_main) {
        struct ns_buf mb = {0};
        put_main(&mb, &p);
        out->main_source = mb.data;
    }
    plan_free(&p);
    return true;
}
