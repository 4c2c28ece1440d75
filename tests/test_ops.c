/* The ops and kernels: a gradient check that walks the op table, determinism across thread
 * counts, and the shape errors users see (SGEMM against an fmaf loop is in test_kernels.c).
 *
 * The gradient check builds each node by hand (no graph builder, no validator): parameters
 * come from the op's schema defaults plus the `key=value` settings of the case, parsed through
 * the same schema fields. The loss is sum(output * w) for random w, evaluated in double from
 * the float outputs; the numerical gradient is a central difference with step h = 5e-3 using
 * the step actually representable in float. Rounding noise of the float forward is about
 * 1e-7 * |L| / h ~ 1e-5 and the truncation error h^2 f'''/6 ~ 1e-5 for these smooth
 * functions (measured worst: under 1e-4), so |analytic - numeric| <= 1e-3 + 5e-3 * max(|analytic|,
 * |numeric|) leaves a wide margin while a wrong term (off by O(1) relative) still fails.
 * Ops with kinks (relu, max) skip the rare points where the two one-sided differences
 * disagree, i.e. where the step straddles the kink; smooth cases must skip none.
 */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ns_error.h"
#include "core/ns_util.h"
#include "graph/graph.h"
#include "ops/op.h"
#include "kernels/activation.h"
#include "kernels/kernels.h"
#include "kernels/nsk.h"
#include "kernels/rng.h"

#include "test_util.h"

/* ---- helpers ---- */

/* The threads and ISA the kernels and ops are handed (op_run_args.cpu), as the executor
 * hands them the context's. */
static struct kernels_cpu test_cpu = {.threads = 2};

static void set_threads(int n)
{
    test_cpu.threads = n;
}

/* A deterministic test stream on top of the counter-based generator. */
struct trng {
    uint64_t key, n;
};

static float trand(struct trng *r, float lo, float hi)
{
    return lo + (hi - lo) * rng_uniform(r->key, r->n++);
}

static float *falloc(size_t n)
{
    return ns_xcalloc(n ? n : 1, sizeof(float));
}

static float *fdup(const float *src, size_t n)
{
    float *p = falloc(n);
    if (n)
        memcpy(p, src, n * sizeof *p);
    return p;
}

#define S1(n) {.rank = 1, .dims = {(n), 0, 0}}
#define S3(h, w, c) {.rank = 3, .dims = {(h), (w), (c)}}

/* Stores YAML-ish text into a parameter struct through its schema field. */
static void field_set_text(const struct schema_field *f, void *params, const char *text)
{
    char *at = (char *)params + f->offset;
    switch (f->type) {
    case SCHEMA_INT: {
        int v = strcmp(text, "auto") == 0 ? SPEC_AUTO : atoi(text);
        memcpy(at, &v, sizeof v);
        break;
    }
    case SCHEMA_FLOAT: {
        double v = strtod(text, NULL);
        memcpy(at, &v, sizeof v);
        break;
    }
    case SCHEMA_BOOL: {
        bool v = strcmp(text, "true") == 0;
        memcpy(at, &v, sizeof v);
        break;
    }
    case SCHEMA_ENUM: {
        int v = -1;
        for (int i = 0; f->names[i]; i++)
            if (strcmp(f->names[i], text) == 0)
                v = i;
        CU_ASSERT_FATAL(v >= 0);
        memcpy(at, &v, sizeof v);
        break;
    }
    case SCHEMA_PAIR: {
        struct spec_pair v;
        if (strcmp(text, "auto") == 0)
            v.h = v.w = SPEC_AUTO;
        else if (sscanf(text, "[%d, %d]", &v.h, &v.w) != 2)
            v.h = v.w = atoi(text);
        memcpy(at, &v, sizeof v);
        break;
    }
    case SCHEMA_PADDING: {
        struct spec_padding v = {0};
        if (strcmp(text, "valid") == 0) {
            v.mode = SPEC_PAD_VALID;
        } else if (strcmp(text, "same") == 0) {
            v.mode = SPEC_PAD_SAME;
        } else {
            v.mode = SPEC_PAD_EXPLICIT;
            if (sscanf(text, "[%d, %d]", &v.h, &v.w) != 2)
                v.h = v.w = atoi(text);
        }
        memcpy(at, &v, sizeof v);
        break;
    }
    case SCHEMA_SHAPE: {
        struct spec_shape v = {0};
        if (sscanf(text, "[%d, %d, %d]", &v.dims[0], &v.dims[1], &v.dims[2]) == 3)
            v.rank = 3;
        else if (sscanf(text, "[%d]", &v.dims[0]) == 1)
            v.rank = 1;
        CU_ASSERT_FATAL(v.rank > 0);
        memcpy(at, &v, sizeof v);
        break;
    }
    default:
        CU_FAIL_FATAL("op parameter of a type the test does not handle");
    }
}

/* A parameter struct from the schema defaults plus "key=value" settings, NULL-terminated. Every
 * required key must be among the settings. */
static void *params_new(const struct op_def *op, const char *const *sets)
{
    void *params = ns_xcalloc(1, op->layer.param_size ? op->layer.param_size : 1);
    const struct schema_section *schema = op->layer.param_schema;
    for (size_t i = 0; schema && i < schema->field_count; i++)
        if (schema->fields[i].def)
            field_set_text(&schema->fields[i], params, schema->fields[i].def);
    for (size_t s = 0; sets && sets[s]; s++) {
        char key[32];
        const char *eq = strchr(sets[s], '=');
        CU_ASSERT_FATAL(eq != NULL && (size_t)(eq - sets[s]) < sizeof key);
        memcpy(key, sets[s], (size_t)(eq - sets[s]));
        key[eq - sets[s]] = '\0';
        CU_ASSERT_PTR_NOT_NULL_FATAL(schema);
        const struct schema_field *f = schema_find(schema, key);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        field_set_text(f, params, eq + 1);
    }
    for (size_t i = 0; schema && i < schema->field_count; i++) {
        if (!schema->fields[i].required)
            continue;
        bool given = false;
        size_t len = strlen(schema->fields[i].key);
        for (size_t s = 0; sets && sets[s]; s++)
            given = given || (strncmp(sets[s], schema->fields[i].key, len) == 0 && sets[s][len] == '=');
        CU_ASSERT(given);
    }
    return params;
}

/* One op node with its buffers, built by hand. */
struct fixture {
    const struct op_def *op;
    void *params;
    struct spec_layer layer;
    struct op_node node;
    int batch;
    float *inputs[OP_MAX_INPUTS];   /* (batch, in size) */
    float *output;                  /* (batch, out size) */
    float *tensors[OP_MAX_TENSORS];
    float *saved;                   /* (batch, saved_floats) */
    float *scratch;
    float *d_output;
    float *d_inputs[OP_MAX_INPUTS];
    float *d_tensors[OP_MAX_TENSORS];
    uint32_t ids[64];
};

/* Shapes the node; false (and the diag) when the op refuses the shapes. */
static bool fixture_shape(struct fixture *fx, const char *op_name, const char *const *sets, int input_count,
                          const struct spec_shape *inputs, int class_count, int layer_index,
                          struct ns_diag *diag)
{
    memset(fx, 0, sizeof *fx);
    fx->op = op_find(op_name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->op);
    fx->params = params_new(fx->op, sets);
    fx->layer = (struct spec_layer){.type = &fx->op->layer, .index = layer_index, .name = op_name, .params = fx->params};
    struct op_shape_args args = {.params = fx->params, .layer = &fx->layer, .input_count = input_count,
                                 .class_count = class_count};
    for (int i = 0; i < input_count; i++)
        args.inputs[i] = inputs[i];
    if (!fx->op->shape(&args, diag))
        return false;
    struct op_node *n = &fx->node;
    n->index = layer_index;
    n->name = op_name;
    n->layer = &fx->layer;
    n->op = fx->op;
    n->params = fx->params;
    n->input_count = input_count;
    for (int i = 0; i < input_count; i++) {
        n->inputs[i] = OP_MODEL_INPUT;
        n->in_shapes[i] = inputs[i];
        n->in_sizes[i] = op_shape_size(&inputs[i]);
    }
    n->out_shape = args.output;
    n->out_size = op_shape_size(&args.output);
    n->tensor_count = args.tensor_count;
    for (int t = 0; t < args.tensor_count; t++)
        n->tensors[t] = args.tensors[t];
    n->flops = args.flops;
    n->saved_floats = args.saved_floats;
    return true;
}

/* Allocates and fills the buffers: inputs uniform with |x| in [0.05, 1] (away from relu's
 * kink), weights scaled by 1/sqrt(fan_in), running variances positive. */
static void fixture_alloc(struct fixture *fx, int batch, uint64_t seed)
{
    struct trng r = {.key = seed};
    struct op_node *n = &fx->node;
    fx->batch = batch;
    for (int i = 0; i < n->input_count; i++) {
        size_t count = (size_t)batch * n->in_sizes[i];
        fx->inputs[i] = falloc(count);
        fx->d_inputs[i] = falloc(count);
        for (size_t e = 0; e < count; e++) {
            float v = trand(&r, 0.05f, 1.0f);
            fx->inputs[i][e] = trand(&r, 0.0f, 1.0f) < 0.5f ? -v : v;
        }
    }
    fx->output = falloc((size_t)batch * n->out_size);
    fx->d_output = falloc((size_t)batch * n->out_size);
    fx->saved = n->saved_floats ? falloc((size_t)batch * n->saved_floats) : NULL;
    size_t scratch = fx->op->scratch_floats(n, batch);
    fx->scratch = scratch ? falloc(scratch) : NULL;
    for (int t = 0; t < n->tensor_count; t++) {
        const struct op_tensor_desc *d = &n->tensors[t];
        fx->tensors[t] = falloc(d->size);
        fx->d_tensors[t] = falloc(d->size);
        bool var = strcmp(d->name, "running_var") == 0;
        float scale = d->constant ? 1.0f : sqrtf(3.0f / (float)(d->fan_in > 0 ? d->fan_in : 1));
        for (size_t e = 0; e < d->size; e++)
            fx->tensors[t][e] = var ? trand(&r, 0.5f, 1.5f) : scale * trand(&r, -1.0f, 1.0f);
    }
    for (int s = 0; s < batch && s < 64; s++)
        fx->ids[s] = (uint32_t)(1000 + 7 * s);
}

static void fixture_free(struct fixture *fx)
{
    for (int i = 0; i < OP_MAX_INPUTS; i++) {
        free(fx->inputs[i]);
        free(fx->d_inputs[i]);
    }
    for (int t = 0; t < OP_MAX_TENSORS; t++) {
        free(fx->tensors[t]);
        free(fx->d_tensors[t]);
    }
    free(fx->output);
    free(fx->d_output);
    free(fx->saved);
    free(fx->scratch);
    free(fx->params);
    memset(fx, 0, sizeof *fx);
}

static struct op_run_args fixture_args(struct fixture *fx, bool training)
{
    struct op_run_args a = {.node = &fx->node, .batch = fx->batch, .cpu = test_cpu, .output = fx->output, .saved = fx->saved,
                            .training = training, .rng_key = 0x5eedULL, .sample_ids = fx->ids,
                            .scratch = fx->scratch};
    for (int i = 0; i < fx->node.input_count; i++)
        a.inputs[i] = fx->inputs[i];
    for (int t = 0; t < fx->node.tensor_count; t++)
        a.tensors[t] = fx->tensors[t];
    return a;
}

static void fixture_forward(struct fixture *fx, bool training)
{
    struct op_run_args a = fixture_args(fx, training);
    fx->op->forward(&a);
}

/* d_inputs accumulate into what they hold; d_tensors of trainable tensors are overwritten. */
static void fixture_backward(struct fixture *fx, bool training)
{
    struct op_run_args a = fixture_args(fx, training);
    a.d_output = fx->d_output;
    for (int i = 0; i < fx->node.input_count; i++)
        a.d_inputs[i] = fx->d_inputs[i];
    for (int t = 0; t < fx->node.tensor_count; t++)
        a.d_tensors[t] = fx->node.tensors[t].trainable ? fx->d_tensors[t] : NULL;
    fx->op->backward(&a);
}

/* ---- the table-driven gradient check ---- */

struct grad_case {
    const char *op;
    const char *sets[8];
    int input_count;
    struct spec_shape inputs[3];
    bool training;
    bool kinks; /* relu- or max-like: steps across a kink are skipped */
};

static const struct grad_case grad_cases[] = {
    {"dense", {"units=4", NULL}, 1, {S1(5)}, true, false},
    {"dense", {"units=4", "activation=relu", NULL}, 1, {S1(6)}, true, true},
    {"dense", {"units=3", "activation=leaky_relu", "use_bias=false", NULL}, 1, {S1(5)}, true, true},
    {"dense", {"units=4", "activation=sigmoid", NULL}, 1, {S1(5)}, true, false},
    {"dense", {"units=4", "activation=tanh", NULL}, 1, {S1(5)}, true, false},
    {"dense", {"units=4", "activation=gelu", NULL}, 1, {S1(5)}, true, false},
    {"dense", {"units=auto", "activation=softmax", NULL}, 1, {S1(5)}, true, false},
    {"conv2d", {"filters=3", "kernel=3", "activation=relu", NULL}, 1, {S3(5, 6, 2)}, true, true},
    {"conv2d", {"filters=2", "kernel=[3, 2]", "stride=2", "padding=same", "activation=tanh", NULL}, 1,
     {S3(6, 5, 3)}, true, false},
    {"conv2d", {"filters=2", "kernel=2", "dilation=2", "padding=1", "use_bias=false", NULL}, 1, {S3(5, 5, 2)}, true,
     false},
    {"conv2d", {"filters=3", "kernel=1", "activation=gelu", NULL}, 1, {S3(3, 4, 2)}, true, false},
    {"conv2d", {"filters=3", "kernel=[1, 3]", "stride=[1, 2]", "activation=softmax", NULL}, 1, {S3(3, 5, 2)}, true,
     false},
    {"maxpool2d", {NULL}, 1, {S3(5, 6, 2)}, true, true},
    {"maxpool2d", {"size=3", "stride=2", "padding=same", NULL}, 1, {S3(5, 5, 2)}, true, true},
    {"avgpool2d", {"padding=same", NULL}, 1, {S3(5, 5, 2)}, true, false},
    {"avgpool2d", {"size=3", "stride=1", "padding=1", NULL}, 1, {S3(4, 3, 2)}, true, false},
    {"global_avgpool2d", {NULL}, 1, {S3(3, 4, 3)}, true, false},
    {"flatten", {NULL}, 1, {S3(2, 3, 2)}, true, false},
    {"flatten", {NULL}, 1, {S1(7)}, true, false},
    {"reshape", {"shape=[3, 2, 2]", NULL}, 1, {S1(12)}, true, false},
    {"reshape", {"shape=[12]", NULL}, 1, {S3(2, 3, 2)}, true, false},
    {"reshape", {"shape=[1, 6, 2]", NULL}, 1, {S3(2, 3, 2)}, true, false},
    {"dropout", {"rate=0.4", NULL}, 1, {S1(12)}, true, false},
    {"dropout", {"rate=0.4", NULL}, 1, {S3(2, 2, 3)}, false, false},
    {"batchnorm", {NULL}, 1, {S3(3, 3, 2)}, true, false},
    {"batchnorm", {"momentum=0.5", NULL}, 1, {S1(5)}, true, false},
    {"batchnorm", {NULL}, 1, {S1(4)}, false, false},
    {"activation", {"type=relu", NULL}, 1, {S1(8)}, true, true},
    {"activation", {"type=leaky_relu", "alpha=0.1", NULL}, 1, {S1(8)}, true, true},
    {"activation", {"type=sigmoid", NULL}, 1, {S1(8)}, true, false},
    {"activation", {"type=tanh", NULL}, 1, {S1(8)}, true, false},
    {"activation", {"type=gelu", NULL}, 1, {S1(8)}, true, false},
    {"activation", {"type=linear", NULL}, 1, {S1(8)}, true, false},
    {"activation", {"type=softmax", NULL}, 1, {S3(2, 2, 3)}, true, false},
    {"softmax", {NULL}, 1, {S1(7)}, true, false},
    {"softmax", {NULL}, 1, {S3(2, 2, 3)}, true, false},
    {"add", {NULL}, 3, {S3(3, 2, 2), S3(3, 2, 2), S3(3, 2, 2)}, true, false},
    {"add", {NULL}, 2, {S1(5), S1(5)}, true, false},
    {"concat", {NULL}, 3, {S3(2, 2, 2), S3(2, 2, 1), S3(2, 2, 3)}, true, false},
    {"concat", {NULL}, 2, {S1(4), S1(2)}, true, false},
};

static double fixture_loss(struct fixture *fx, bool training)
{
    fixture_forward(fx, training);
    size_t n = (size_t)fx->batch * fx->node.out_size;
    double loss = 0.0;
    for (size_t i = 0; i < n; i++)
        loss += (double)fx->output[i] * (double)fx->d_output[i];
    return loss;
}

struct grad_stats {
    int checked, skipped, failed;
    double worst;
};

/* Compares analytic[i] with central differences of the loss in values[i], for up to 40 evenly
 * spread elements. */
static void check_buffer(struct fixture *fx, const struct grad_case *gc, const char *what, float *values,
                         const double *analytic, size_t count, double loss0, struct grad_stats *st)
{
    const float h = 5e-3f;
    size_t picks = count < 40 ? count : 40;
    for (size_t j = 0; j < picks; j++) {
        size_t e = j * count / picks;
        float x0 = values[e];
        values[e] = x0 + h;
        double hp = (double)values[e] - (double)x0;
        double lp = fixture_loss(fx, gc->training);
        values[e] = x0 - h;
        double hm = (double)x0 - (double)values[e];
        double lm = fixture_loss(fx, gc->training);
        values[e] = x0;
        double num = (lp - lm) / (hp + hm);
        double fd = (lp - loss0) / hp, bd = (loss0 - lm) / hm;
        double big = fmax(fabs(fd), fabs(bd));
        if (fabs(fd - bd) > 0.05 + 0.1 * big) {
            st->skipped++;
            continue;
        }
        st->checked++;
        double ana = analytic[e];
        double err = fabs(ana - num);
        double tol = 1e-3 + 5e-3 * fmax(fabs(ana), fabs(num));
        st->worst = fmax(st->worst, err / tol);
        if (err > tol) {
            st->failed++;
            fprintf(stderr, "\n  %s %s%s%s: %s[%zu] analytic %.6g numeric %.6g\n", gc->op,
                    gc->sets[0] ? gc->sets[0] : "", gc->sets[0] && gc->sets[1] ? " " : "",
                    gc->sets[0] && gc->sets[1] ? gc->sets[1] : "", what, e, ana, num);
        }
    }
}

static void run_grad_case(const struct grad_case *gc, uint64_t seed)
{
    struct ns_diag diag = {0};
    struct fixture fx;
    bool ok = fixture_shape(&fx, gc->op, gc->sets, gc->input_count, gc->inputs, 3, 1, &diag);
    CU_ASSERT_FATAL(ok);
    CU_ASSERT_EQUAL(diag.count, 0);
    const int batch = 3;
    fixture_alloc(&fx, batch, seed);
    struct trng r = {.key = seed ^ 0xabcdefULL};
    size_t out_n = (size_t)batch * fx.node.out_size;
    for (size_t i = 0; i < out_n; i++)
        fx.d_output[i] = trand(&r, -1.0f, 1.0f);

    /* Analytic: d_inputs start at 0.25 to see that backward adds; d_tensors start at 77 to see
     * that it overwrites. */
    double loss0 = fixture_loss(&fx, gc->training);
    for (int i = 0; i < fx.node.input_count; i++)
        for (size_t e = 0; e < (size_t)batch * fx.node.in_sizes[i]; e++)
            fx.d_inputs[i][e] = 0.25f;
    for (int t = 0; t < fx.node.tensor_count; t++)
        for (size_t e = 0; e < fx.node.tensors[t].size; e++)
            fx.d_tensors[t][e] = 77.0f;
    fixture_backward(&fx, gc->training);

    struct grad_stats st = {0};
    for (int i = 0; i < fx.node.input_count; i++) {
        size_t count = (size_t)batch * fx.node.in_sizes[i];
        double *ana = ns_xmalloc(count * sizeof *ana);
        for (size_t e = 0; e < count; e++)
            ana[e] = (double)fx.d_inputs[i][e] - 0.25;
        check_buffer(&fx, gc, "input", fx.inputs[i], ana, count, loss0, &st);
        free(ana);
    }
    for (int t = 0; t < fx.node.tensor_count; t++) {
        if (!fx.node.tensors[t].trainable)
            continue;
        size_t count = fx.node.tensors[t].size;
        double *ana = ns_xmalloc(count * sizeof *ana);
        for (size_t e = 0; e < count; e++)
            ana[e] = fx.d_tensors[t][e];
        check_buffer(&fx, gc, fx.node.tensors[t].name, fx.tensors[t], ana, count, loss0, &st);
        free(ana);
    }
    CU_ASSERT_EQUAL(st.failed, 0);
    CU_ASSERT(st.checked > 0);
    if (gc->kinks) {
        CU_ASSERT(st.skipped * 10 <= st.checked + st.skipped);
    } else {
        CU_ASSERT_EQUAL(st.skipped, 0);
    }
    fixture_free(&fx);
    ns_diag_free(&diag);
}

static void test_gradients_every_op(void)
{
    for (size_t i = 0; i < op_count(); i++) {
        const struct op_def *op = op_at(i);
        int cases = 0;
        for (size_t c = 0; c < sizeof grad_cases / sizeof *grad_cases; c++) {
            if (strcmp(grad_cases[c].op, op->layer.name) != 0)
                continue;
            cases++;
            run_grad_case(&grad_cases[c], 1000 + c);
        }
        /* A new op without a gradient case fails here. */
        if (cases == 0)
            fprintf(stderr, "\n  op %s has no gradient case\n", op->layer.name);
        CU_ASSERT(cases > 0);
    }
}

/* ---- registry ---- */

static void test_registry(void)
{
    CU_ASSERT_EQUAL(op_count(), 13);
    const char *const *names = op_names();
    size_t n = 0;
    for (; names[n]; n++) {
        const struct op_def *op = op_at(n);
        CU_ASSERT_PTR_NOT_NULL_FATAL(op);
        CU_ASSERT_STRING_EQUAL(names[n], op->layer.name);
        CU_ASSERT_PTR_EQUAL(op_find(op->layer.name), op);
        CU_ASSERT(op->shape && op->forward && op->backward && op->layer.check && op->scratch_floats);
        CU_ASSERT(op->layer.min_inputs >= 1 && op->layer.max_inputs >= op->layer.min_inputs && op->layer.max_inputs <= OP_MAX_INPUTS);
        CU_ASSERT_PTR_NOT_NULL(op->layer.doc);
        const struct schema_section *s = op->layer.param_schema;
        CU_ASSERT((s == NULL) == (op->layer.param_size == 0));
        for (size_t f = 0; s && f < s->field_count; f++) {
            CU_ASSERT_PTR_NOT_NULL(s->fields[f].doc);
            CU_ASSERT(s->fields[f].offset < op->layer.param_size);
            CU_ASSERT_FALSE(s->has_node);
        }
        if (op->layer.shorthand_key) {
            CU_ASSERT_PTR_NOT_NULL(schema_find(s, op->layer.shorthand_key));
        }
    }
    CU_ASSERT_EQUAL(n, op_count());
    CU_ASSERT_PTR_NULL(op_at(n));
    CU_ASSERT_PTR_NULL(op_find("conv3d"));
    CU_ASSERT_STRING_EQUAL(op_find("dropout")->layer.shorthand_key, "rate");
    CU_ASSERT_STRING_EQUAL(op_find("activation")->layer.shorthand_key, "type");
    CU_ASSERT_EQUAL(op_find("add")->layer.min_inputs, 2);
    CU_ASSERT_EQUAL(op_find("concat")->layer.max_inputs, OP_MAX_INPUTS);

    char text[48];
    struct spec_shape img = S3(28, 28, 1), vec = S1(128), none = {0};
    op_shape_format(&img, text);
    CU_ASSERT_STRING_EQUAL(text, "[28, 28, 1]");
    op_shape_format(&vec, text);
    CU_ASSERT_STRING_EQUAL(text, "[128]");
    op_shape_format(&none, text);
    CU_ASSERT_STRING_EQUAL(text, "auto");
    CU_ASSERT_EQUAL(op_shape_size(&img), 784);
    CU_ASSERT_EQUAL(op_shape_size(&vec), 128);
}

/* ---- shapes, tensors and FLOPs ---- */

static void test_shapes(void)
{
    struct ns_diag diag = {0};
    struct fixture fx;
    struct spec_shape in = S3(28, 28, 1);
    CU_ASSERT_FATAL(fixture_shape(&fx, "conv2d", (const char *const[]){"filters=32", "kernel=3", "padding=same", "activation=relu", NULL},
                                  1, &in, 10, 0, &diag));
    CU_ASSERT_EQUAL(fx.node.out_shape.rank, 3);
    CU_ASSERT_EQUAL(fx.node.out_shape.dims[0], 28);
    CU_ASSERT_EQUAL(fx.node.out_shape.dims[2], 32);
    CU_ASSERT_EQUAL(fx.node.tensor_count, 2);
    CU_ASSERT_EQUAL(fx.node.tensors[0].size, 3 * 3 * 1 * 32);
    CU_ASSERT_EQUAL(fx.node.tensors[0].fan_in, 9);
    CU_ASSERT_EQUAL(fx.node.tensors[0].init, INIT_HE_NORMAL);
    CU_ASSERT(fx.node.tensors[1].constant && fx.node.tensors[1].init_value == 0.0);
    /* multiply-add = 2: 28*28*32 outputs of 9 taps, + bias + relu */
    CU_ASSERT_DOUBLE_EQUAL(fx.node.flops, 28.0 * 28 * 32 * (2 * 9 + 1 + 1), 0.5);
    /* relu's backward reads the output: nothing saved */
    CU_ASSERT_EQUAL(fx.node.saved_floats, 0);
    fixture_free(&fx);
    /* tanh's needs the pre-activation */
    CU_ASSERT_FATAL(fixture_shape(&fx, "conv2d", (const char *const[]){"filters=32", "kernel=3", "padding=same", "activation=tanh", NULL},
                                  1, &in, 10, 0, &diag));
    CU_ASSERT_EQUAL(fx.node.saved_floats, 28 * 28 * 32);
    fixture_free(&fx);

    struct spec_shape c2 = S3(28, 28, 32);
    CU_ASSERT_FATAL(fixture_shape(&fx, "maxpool2d", NULL, 1, &c2, 10, 1, &diag));
    CU_ASSERT_EQUAL(fx.node.out_shape.dims[0], 14);
    CU_ASSERT_EQUAL(fx.node.out_shape.dims[1], 14);
    CU_ASSERT_EQUAL(fx.node.out_shape.dims[2], 32);
    fixture_free(&fx);

    struct spec_shape odd = S3(7, 7, 4);
    CU_ASSERT_FATAL(fixture_shape(&fx, "maxpool2d", (const char *const[]){"padding=same", NULL}, 1, &odd, 10, 1, &diag));
    CU_ASSERT_EQUAL(fx.node.out_shape.dims[0], 4);
    fixture_free(&fx);
    CU_ASSERT_FATAL(fixture_shape(&fx, "conv2d", (const char *const[]){"filters=2", "kernel=3", "stride=2", NULL}, 1, &odd, 10, 1, &diag));
    CU_ASSERT_EQUAL(fx.node.out_shape.dims[0], 3);
    CU_ASSERT_EQUAL(fx.node.saved_floats, 0); /* linear: nothing to keep */
    fixture_free(&fx);

    struct spec_shape flat = S1(3136);
    CU_ASSERT_FATAL(fixture_shape(&fx, "dense", (const char *const[]){"units=auto", NULL}, 1, &flat, 10, 7, &diag));
    CU_ASSERT_EQUAL(fx.node.out_shape.rank, 1);
    CU_ASSERT_EQUAL(fx.node.out_shape.dims[0], 10);
    CU_ASSERT_EQUAL(fx.node.tensors[0].init, INIT_GLOROT_UNIFORM);
    CU_ASSERT_DOUBLE_EQUAL(fx.node.flops, 2.0 * 3136 * 10 + 10, 0.5);
    fixture_free(&fx);

    CU_ASSERT_FATAL(fixture_shape(&fx, "flatten", NULL, 1, &odd, 10, 1, &diag));
    CU_ASSERT_EQUAL(fx.node.out_shape.rank, 1);
    CU_ASSERT_EQUAL(fx.node.out_shape.dims[0], 196);
    fixture_free(&fx);

    CU_ASSERT_FATAL(fixture_shape(&fx, "batchnorm", NULL, 1, &odd, 10, 1, &diag));
    CU_ASSERT_EQUAL(fx.node.tensor_count, 4);
    CU_ASSERT_STRING_EQUAL(fx.node.tensors[0].name, "gamma");
    CU_ASSERT(fx.node.tensors[0].constant && fx.node.tensors[0].init_value == 1.0 && fx.node.tensors[0].trainable);
    CU_ASSERT(fx.node.tensors[3].constant && fx.node.tensors[3].init_value == 1.0 && !fx.node.tensors[3].trainable);
    CU_ASSERT_FALSE(fx.node.tensors[2].trainable);
    CU_ASSERT_EQUAL(fx.node.tensors[0].size, 4);
    fixture_free(&fx);

    struct spec_shape parts[2] = {S3(7, 7, 4), S3(7, 7, 6)};
    CU_ASSERT_FATAL(fixture_shape(&fx, "concat", NULL, 2, parts, 10, 1, &diag));
    CU_ASSERT_EQUAL(fx.node.out_shape.dims[2], 10);
    fixture_free(&fx);
    CU_ASSERT_FATAL(fixture_shape(&fx, "global_avgpool2d", NULL, 1, &odd, 10, 1, &diag));
    CU_ASSERT_EQUAL(fx.node.out_shape.rank, 1);
    CU_ASSERT_EQUAL(fx.node.out_shape.dims[0], 4);
    fixture_free(&fx);
    CU_ASSERT_EQUAL(diag.count, 0);
    ns_diag_free(&diag);
}

/* ---- shape errors ---- */

static const char *first_message(const struct ns_diag *diag)
{
    return diag->count ? diag->items[0].message : "";
}

static void test_shape_errors(void)
{
    struct ns_diag diag = {0};
    struct fixture fx;

    struct spec_shape small = S3(3, 3, 64);
    CU_ASSERT_FALSE(fixture_shape(&fx, "conv2d", (const char *const[]){"filters=8", "kernel=5", NULL}, 1, &small, 10, 4, &diag));
    CU_ASSERT_EQUAL(diag.count, 1);
    CU_ASSERT_STRING_EQUAL(first_message(&diag), "layer 4 (conv2d): kernel [5, 5] is larger than its input [3, 3, 64]");
    CU_ASSERT_PTR_NOT_NULL(diag.count ? diag.items[0].hint : NULL);
    CU_ASSERT_EQUAL(diag.count ? diag.items[0].code : 0, NS_ERR_SPEC);
    free(fx.params);
    ns_diag_clear(&diag);

    /* padding: same always fits */
    CU_ASSERT_TRUE(fixture_shape(&fx, "conv2d", (const char *const[]){"filters=8", "kernel=5", "padding=same", NULL}, 1, &small, 10, 4, &diag));
    fixture_free(&fx);

    CU_ASSERT_FALSE(fixture_shape(&fx, "conv2d", (const char *const[]){"filters=8", "kernel=3", "dilation=2", NULL}, 1, &small, 10, 2, &diag));
    CU_ASSERT_STRING_EQUAL(first_message(&diag),
                           "layer 2 (conv2d): kernel [3, 3] with dilation [2, 2] (spanning [5, 5]) is larger than its input [3, 3, 64]");
    free(fx.params);
    ns_diag_clear(&diag);

    struct spec_shape image = S3(7, 7, 64);
    CU_ASSERT_FALSE(fixture_shape(&fx, "dense", (const char *const[]){"units=128", NULL}, 1, &image, 10, 5, &diag));
    CU_ASSERT_EQUAL(diag.count, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(first_message(&diag), "layer 5 (dense): dense needs a flat input; add a flatten layer before it"));
    CU_ASSERT_PTR_NOT_NULL(strstr(first_message(&diag), "[7, 7, 64]"));
    CU_ASSERT_PTR_NOT_NULL(diag.count && diag.items[0].hint ? strstr(diag.items[0].hint, "[3136]") : NULL);
    free(fx.params);
    ns_diag_clear(&diag);

    struct spec_shape flat = S1(100);
    CU_ASSERT_FALSE(fixture_shape(&fx, "dense", (const char *const[]){"units=auto", NULL}, 1, &flat, 0, 6, &diag));
    CU_ASSERT_PTR_NOT_NULL(strstr(first_message(&diag), "units: auto means the number of classes"));
    free(fx.params);
    ns_diag_clear(&diag);

    CU_ASSERT_FALSE(fixture_shape(&fx, "conv2d", (const char *const[]){"filters=8", "kernel=3", NULL}, 1, &flat, 10, 1, &diag));
    CU_ASSERT_STRING_EQUAL(first_message(&diag),
                           "layer 1 (conv2d): conv2d needs an image input [height, width, channels], but its input is [100]");
    free(fx.params);
    ns_diag_clear(&diag);

    struct spec_shape mismatch[2] = {S3(4, 4, 8), S3(4, 4, 16)};
    CU_ASSERT_FALSE(fixture_shape(&fx, "add", NULL, 2, mismatch, 10, 9, &diag));
    CU_ASSERT_STRING_EQUAL(first_message(&diag), "layer 9 (add): input 2 has shape [4, 4, 16], but input 1 has [4, 4, 8]");
    free(fx.params);
    ns_diag_clear(&diag);

    struct spec_shape hw[2] = {S3(4, 4, 8), S3(2, 2, 8)};
    CU_ASSERT_FALSE(fixture_shape(&fx, "concat", NULL, 2, hw, 10, 3, &diag));
    CU_ASSERT_PTR_NOT_NULL(strstr(first_message(&diag), "input 2 has shape [2, 2, 8]"));
    free(fx.params);
    ns_diag_clear(&diag);

    struct spec_shape tiny = S3(1, 1, 8);
    CU_ASSERT_FALSE(fixture_shape(&fx, "maxpool2d", NULL, 1, &tiny, 10, 3, &diag));
    CU_ASSERT_STRING_EQUAL(first_message(&diag), "layer 3 (maxpool2d): window [2, 2] is larger than its input [1, 1, 8]");
    free(fx.params);
    ns_diag_clear(&diag);

    /* dropout's rate range is [0, 1): check() refuses 1 */
    const struct op_def *dropout = op_find("dropout");
    void *p = params_new(dropout, (const char *const[]){"rate=1", NULL});
    struct spec_layer layer = {.type = &dropout->layer, .index = 6, .name = "dropout6"};
    CU_ASSERT_FALSE(dropout->layer.check(p, &layer, &diag));
    CU_ASSERT_STRING_EQUAL(first_message(&diag), "layer 6 (dropout): rate must be below 1 (a rate of 1 drops every input)");
    free(p);
    ns_diag_clear(&diag);
    p = params_new(dropout, (const char *const[]){"rate=0.5", NULL});
    CU_ASSERT_TRUE(dropout->layer.check(p, &layer, &diag));
    CU_ASSERT_EQUAL(diag.count, 0);
    free(p);
    ns_diag_free(&diag);
}

/* ---- determinism of whole ops across thread counts ---- */

struct run_result {
    float *output, *d_input, *d_tensors[OP_MAX_TENSORS];
    size_t out_n, in_n, t_n[OP_MAX_TENSORS];
};

static void run_with_threads(const char *op, const char *const *sets, struct spec_shape in, int batch, int threads,
                             struct run_result *res)
{
    struct ns_diag diag = {0};
    struct fixture fx;
    CU_ASSERT_FATAL(fixture_shape(&fx, op, sets, 1, &in, 10, 1, &diag));
    fixture_alloc(&fx, batch, 99);
    struct trng r = {.key = 5};
    res->out_n = (size_t)batch * fx.node.out_size;
    res->in_n = (size_t)batch * fx.node.in_sizes[0];
    for (size_t i = 0; i < res->out_n; i++)
        fx.d_output[i] = trand(&r, -1, 1);
    set_threads(threads);
    fixture_forward(&fx, true);
    fixture_backward(&fx, true);
    set_threads(2);
    res->output = fdup(fx.output, res->out_n);
    res->d_input = fdup(fx.d_inputs[0], res->in_n);
    for (int t = 0; t < OP_MAX_TENSORS; t++) {
        res->t_n[t] = t < fx.node.tensor_count ? fx.node.tensors[t].size : 0;
        res->d_tensors[t] = res->t_n[t] ? fdup(fx.d_tensors[t], res->t_n[t]) : NULL;
    }
    fixture_free(&fx);
    ns_diag_free(&diag);
}

static void free_result(struct run_result *res)
{
    free(res->output);
    free(res->d_input);
    for (int t = 0; t < OP_MAX_TENSORS; t++)
        free(res->d_tensors[t]);
}

static void test_ops_threads(void)
{
    static const struct {
        const char *op;
        const char *sets[6];
        struct spec_shape in;
        int batch;
    } cases[] = {
        {"conv2d", {"filters=16", "kernel=3", "padding=same", "activation=relu", NULL}, S3(14, 14, 8), 6},
        {"conv2d", {"filters=8", "kernel=[3, 2]", "stride=2", "dilation=[1, 2]", "activation=tanh", NULL}, S3(20, 20, 8), 6},
        {"dense", {"units=200", "activation=gelu", NULL}, S1(300), 16},
        {"maxpool2d", {"size=3", "stride=2", NULL}, S3(16, 16, 8), 8},
        {"batchnorm", {NULL}, S3(16, 16, 32), 8},
        {"activation", {"type=softmax", NULL}, S3(16, 16, 32), 8},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        struct run_result one, two;
        run_with_threads(cases[c].op, cases[c].sets, cases[c].in, cases[c].batch, 1, &one);
        run_with_threads(cases[c].op, cases[c].sets, cases[c].in, cases[c].batch, 2, &two);
        CU_ASSERT_EQUAL(memcmp(one.output, two.output, one.out_n * sizeof(float)), 0);
        CU_ASSERT_EQUAL(memcmp(one.d_input, two.d_input, one.in_n * sizeof(float)), 0);
        for (int t = 0; t < OP_MAX_TENSORS; t++)
            if (one.t_n[t]) {
                CU_ASSERT_EQUAL(memcmp(one.d_tensors[t], two.d_tensors[t], one.t_n[t] * sizeof(float)), 0);
            }
        free_result(&one);
        free_result(&two);
    }
}

/* conv2d's input gradient works through the batch in chunks that bound its column buffer; a
 * chunk's results equal those of its samples run alone. (dW is one split_k GEMM over the whole
 * batch, its fixed k chunks crossing samples: tests/test_kernels.c checks it against the
 * contract's fmaf loop.) */
static void test_conv_chunks(void)
{
    const char *const sets[] = {"filters=4", "kernel=3", "padding=same", "activation=relu", NULL};
    struct spec_shape in = S3(64, 64, 32); /* 4096 * 288 floats of im2col per sample: one per chunk */
    struct ns_diag diag = {0};
    struct fixture both, single;
    CU_ASSERT_FATAL(fixture_shape(&both, "conv2d", sets, 1, &in, 10, 0, &diag));
    fixture_alloc(&both, 2, 3);
    CU_ASSERT_FATAL(fixture_shape(&single, "conv2d", sets, 1, &in, 10, 0, &diag));
    fixture_alloc(&single, 1, 3);
    size_t in_n = both.node.in_sizes[0], out_n = both.node.out_size, w_n = both.node.tensors[0].size;
    memcpy(single.tensors[0], both.tensors[0], w_n * sizeof(float));
    memcpy(single.tensors[1], both.tensors[1], 4 * sizeof(float));
    struct trng r = {.key = 11};
    for (size_t i = 0; i < 2 * out_n; i++)
        both.d_output[i] = trand(&r, -1, 1);
    fixture_forward(&both, true);
    fixture_backward(&both, true);
    for (int s = 0; s < 2; s++) {
        memcpy(single.inputs[0], both.inputs[0] + (size_t)s * in_n, in_n * sizeof(float));
        memcpy(single.d_output, both.d_output + (size_t)s * out_n, out_n * sizeof(float));
        memset(single.d_inputs[0], 0, in_n * sizeof(float));
        fixture_forward(&single, true);
        fixture_backward(&single, true);
        CU_ASSERT_EQUAL(memcmp(single.output, both.output + (size_t)s * out_n, out_n * sizeof(float)), 0);
        CU_ASSERT_EQUAL(memcmp(single.d_inputs[0], both.d_inputs[0] + (size_t)s * in_n, in_n * sizeof(float)), 0);
    }
    fixture_free(&both);
    fixture_free(&single);
    ns_diag_free(&diag);
}

/* ---- op behaviour ---- */

static void test_maxpool_ties(void)
{
    struct ns_diag diag = {0};
    struct fixture fx;
    struct spec_shape in = S3(2, 2, 2);
    CU_ASSERT_FATAL(fixture_shape(&fx, "maxpool2d", NULL, 1, &in, 10, 0, &diag));
    fixture_alloc(&fx, 1, 1);
    /* NHWC: channel 0 is {1, 5, 5, 2} (a tie at positions 1 and 2), channel 1 all 3 */
    const float x[8] = {1, 3, 5, 3, 5, 3, 2, 3};
    memcpy(fx.inputs[0], x, sizeof x);
    fixture_forward(&fx, true);
    CU_ASSERT_EQUAL(fx.output[0], 5.0f);
    CU_ASSERT_EQUAL(fx.output[1], 3.0f);
    fx.d_output[0] = 1.0f;
    fx.d_output[1] = 10.0f;
    memset(fx.d_inputs[0], 0, sizeof x);
    fixture_backward(&fx, true);
    /* The first maximum in scan order takes the gradient: position 1 for channel 0, 0 for 1. */
    const float expect[8] = {0, 10, 1, 0, 0, 0, 0, 0};
    CU_ASSERT_EQUAL(memcmp(fx.d_inputs[0], expect, sizeof expect), 0);
    fixture_free(&fx);
    ns_diag_free(&diag);
}

static void test_dropout_mask(void)
{
    struct ns_diag diag = {0};
    struct fixture a, b;
    struct spec_shape in = S1(10000);
    const char *const sets[] = {"rate=0.3", NULL};
    CU_ASSERT_FATAL(fixture_shape(&a, "dropout", sets, 1, &in, 10, 2, &diag));
    fixture_alloc(&a, 4, 1);
    CU_ASSERT_FATAL(fixture_shape(&b, "dropout", sets, 1, &in, 10, 2, &diag));
    fixture_alloc(&b, 2, 1);
    for (size_t i = 0; i < 4 * 10000; i++)
        a.inputs[0][i] = 1.0f;
    for (size_t i = 0; i < 2 * 10000; i++)
        b.inputs[0][i] = 1.0f;
    b.ids[0] = a.ids[2];
    b.ids[1] = a.ids[3];
    fixture_forward(&a, true);
    fixture_forward(&b, true);
    /* The mask follows the sample, not its row or batch. */
    CU_ASSERT_EQUAL(memcmp(a.output + 2 * 10000, b.output, 2 * 10000 * sizeof(float)), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(a.output, a.output + 10000, 10000 * sizeof(float)), 0);
    size_t dropped = 0;
    float keep = (float)(1.0 / 0.7);
    bool values_ok = true;
    for (size_t i = 0; i < 4 * 10000; i++) {
        dropped += a.output[i] == 0.0f;
        values_ok = values_ok && (a.output[i] == 0.0f || a.output[i] == keep);
    }
    CU_ASSERT(values_ok);
    CU_ASSERT(dropped > 11400 && dropped < 12600); /* 30% of 40000, +-3% */
    /* Evaluation is the identity. */
    fixture_forward(&a, false);
    CU_ASSERT_EQUAL(memcmp(a.output, a.inputs[0], 4 * 10000 * sizeof(float)), 0);
    fixture_free(&a);
    fixture_free(&b);
    ns_diag_free(&diag);
}

static void test_batchnorm_running_stats(void)
{
    struct ns_diag diag = {0};
    struct fixture fx;
    struct spec_shape in = S1(2);
    CU_ASSERT_FATAL(fixture_shape(&fx, "batchnorm", NULL, 1, &in, 10, 0, &diag));
    fixture_alloc(&fx, 4, 1);
    const float x[8] = {1, 10, 2, 20, 3, 30, 4, 40};
    memcpy(fx.inputs[0], x, sizeof x);
    for (int c = 0; c < 2; c++) {
        fx.tensors[0][c] = 1.0f; /* gamma */
        fx.tensors[1][c] = 0.0f; /* beta */
        fx.tensors[2][c] = 0.0f; /* running mean */
        fx.tensors[3][c] = 1.0f; /* running var */
    }
    fixture_forward(&fx, true);
    /* feature 0: mean 2.5, biased var 1.25, unbiased 5/3 */
    CU_ASSERT_DOUBLE_EQUAL(fx.output[0], (1 - 2.5) / sqrt(1.25 + 1e-5), 1e-5);
    CU_ASSERT_DOUBLE_EQUAL(fx.tensors[2][0], 0.1 * 2.5, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(fx.tensors[3][0], 0.9 + 0.1 * (5.0 / 3.0), 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(fx.tensors[2][1], 0.1 * 25, 1e-5);
    /* Evaluation uses the running statistics. */
    fixture_forward(&fx, false);
    double rm = fx.tensors[2][1], rv = fx.tensors[3][1];
    CU_ASSERT_DOUBLE_EQUAL(fx.output[1], (10 - rm) / sqrt(rv + 1e-5), 1e-4);
    fixture_free(&fx);
    ns_diag_free(&diag);
}

static void test_activation_values(void)
{
    float x[6] = {-2.0f, 0.0f, 1.0f, 1000.0f, 1001.0f, 999.0f};
    float y[6];
    memcpy(y, x, sizeof y);
    activation_forward(&test_cpu, ACT_GELU, 0, y, 1, 3);
    CU_ASSERT_DOUBLE_EQUAL(y[2], 0.841192, 1e-5); /* tanh approximation */
    CU_ASSERT_DOUBLE_EQUAL(y[0], -0.045402, 1e-5);
    memcpy(y, x, sizeof y);
    activation_forward(&test_cpu, ACT_SIGMOID, 0, y, 1, 6);
    CU_ASSERT_EQUAL(y[1], 0.5f);
    CU_ASSERT_EQUAL(y[3], 1.0f);
    memcpy(y, x, sizeof y);
    activation_forward(&test_cpu, ACT_LEAKY_RELU, 0.2f, y, 1, 3);
    CU_ASSERT_EQUAL(y[0], -0.4f);
    CU_ASSERT_EQUAL(y[2], 1.0f);
    /* softmax per row and stable for large logits */
    memcpy(y, x, sizeof y);
    activation_forward(&test_cpu, ACT_SOFTMAX, 0, y, 2, 3);
    CU_ASSERT_DOUBLE_EQUAL(y[0] + y[1] + y[2], 1.0, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(y[4], exp(1.0) / (1 + exp(1.0) + exp(-1.0)), 1e-6);
    CU_ASSERT(isfinite(y[3]) && isfinite(y[5]));
}

/* ---- netspec's own math (kernels/nsk.h) ---- */

/* |got - want| in units of the float ulp at want (subnormal spacing below FLT_MIN); 0 when
 * both are the same infinity or both NaN, huge when only one is. */
static double ulp_error(float got, double want)
{
    if (isnan(want) || isinf(want))
        return (isnan(want) ? isnan(got) : got == (float)want) ? 0.0 : 1e30;
    if (!isfinite(got))
        return (float)want == got ? 0.0 : 1e30;
    int e;
    frexp(want, &e);
    double ulp = ldexp(1.0, (e - 24 < -149 ? -149 : e - 24));
    return fabs((double)got - want) / ulp;
}

static double sigmoid_exact(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

/* Every 127th float (about 34 million, both signs, zeros to NaNs) plus edge cases, against
 * double libm, whose results are far more accurate than a float ulp. The bounds are the
 * accuracy nsk.h's comment promises; an exhaustive run over all 2^32 floats measured exp
 * 0.98, log 1.13, tanh 1.56, sigmoid 2.41 ulp. */
static void test_nsk_accuracy(void)
{
    static const struct {
        const char *name;
        float (*f)(float);
        double (*exact)(double);
        double bound;
    } fns[] = {
        {"nsk_expf", nsk_expf, exp, 1.0},
        {"nsk_logf", nsk_logf, log, 1.5},
        {"nsk_tanhf", nsk_tanhf, tanh, 2.0},
        {"nsk_sigmoidf", nsk_sigmoidf, sigmoid_exact, 2.5},
    };
    static const float edges[] = {0.0f, -0.0f, 1.0f, -1.0f, 0x1p-149f, -0x1p-149f, 0x1p-126f, 0x1.fffffep127f,
                                  -0x1.fffffep127f, 88.7f, 88.72283f, 88.72284f, 89.0f, -87.33654f, -103.9f,
                                  -103.97208f, -104.0f, -150.0f, 0.55f, 0.5499999f, 9.01f, 0x1.6a09e6p-1f,
                                  0x1.6a09e8p-1f, 1e-20f, -1e-20f, 1e-8f};
    for (size_t f = 0; f < sizeof fns / sizeof *fns; f++) {
        double worst = 0;
        float worst_at = 0;
        for (uint64_t u = 0; u <= 0xffffffffu; u += 127) {
            float x = nsk_float((uint32_t)u);
            double err = ulp_error(fns[f].f(x), fns[f].exact((double)x));
            if (err > worst) {
                worst = err;
                worst_at = x;
            }
        }
        for (size_t i = 0; i < sizeof edges / sizeof *edges; i++) {
            double err = ulp_error(fns[f].f(edges[i]), fns[f].exact((double)edges[i]));
            if (err > worst) {
                worst = err;
                worst_at = edges[i];
            }
        }
        if (worst > fns[f].bound)
            fprintf(stderr, "\n%s: %.3f ulp at %a (bound %.1f)\n", fns[f].name, worst, (double)worst_at,
                    fns[f].bound);
        CU_ASSERT(worst <= fns[f].bound);
    }
    /* The special values C99 gives expf, logf and tanhf. */
    const float inf = INFINITY;
    CU_ASSERT_EQUAL(nsk_expf(-inf), 0.0f);
    CU_ASSERT_EQUAL(nsk_expf(inf), inf);
    CU_ASSERT_EQUAL(nsk_expf(0.0f), 1.0f);
    CU_ASSERT_EQUAL(nsk_expf(89.0f), inf);
    CU_ASSERT_EQUAL(nsk_expf(-104.0f), 0.0f);
    CU_ASSERT(nsk_expf(-100.0f) > 0.0f && nsk_expf(-100.0f) < 0x1p-126f); /* subnormal */
    CU_ASSERT(isnan(nsk_expf(NAN)));
    CU_ASSERT_EQUAL(nsk_logf(0.0f), -inf);
    CU_ASSERT_EQUAL(nsk_logf(-0.0f), -inf);
    CU_ASSERT(isnan(nsk_logf(-1.0f)) && isnan(nsk_logf(-inf)) && isnan(nsk_logf(NAN)));
    CU_ASSERT_EQUAL(nsk_logf(inf), inf);
    CU_ASSERT_EQUAL(nsk_logf(1.0f), 0.0f);
    CU_ASSERT_EQUAL(nsk_tanhf(inf), 1.0f);
    CU_ASSERT_EQUAL(nsk_tanhf(-inf), -1.0f);
    CU_ASSERT(signbit(nsk_tanhf(-0.0f)) && nsk_tanhf(-0.0f) == 0.0f);
    CU_ASSERT(isnan(nsk_tanhf(NAN)));
    CU_ASSERT_EQUAL(nsk_sigmoidf(inf), 1.0f);
    CU_ASSERT_EQUAL(nsk_sigmoidf(-inf), 0.0f);
    CU_ASSERT_EQUAL(nsk_sigmoidf(0.0f), 0.5f);
    CU_ASSERT(isnan(nsk_sigmoidf(NAN)));
}

/* Inputs covering every regime of the activations: tiny, around the branch points, large,
 * infinities, NaN. */
static float *isa_inputs(size_t n)
{
    float *x = falloc(n);
    struct trng r = {.key = 5};
    static const float special[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 0x1p-149f, 88.8f, -104.5f, 0.55f};
    for (size_t i = 0; i < n; i++) {
        float m = trand(&r, -1, 1);
        float scale = ldexpf(1.0f, (int)(i % 16) - 8);
        x[i] = i < sizeof special / sizeof *special ? special[i] : m * scale * (i % 3 == 0 ? 60.0f : 1.0f);
    }
    return x;
}

/* a and b hold the same bits, except that any NaN equals any NaN: IEEE 754 leaves the sign
 * and payload of a NaN result open, and vectorised code may pick another operand's. */
static bool same_bits(const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof *a) != 0 && !(isnan(a[i]) && isnan(b[i]))) {
            fprintf(stderr, "\nelement %zu: %a against %a\n", i, (double)a[i], (double)b[i]);
            return false;
        }
    return true;
}

/* Every activation forward and backward, and batchnorm's affine map, give the same bits on
 * each instruction set this machine runs (portable, avx2, avx512), one thread and two. */
static void test_isa_same_bits(void)
{
    const size_t rows = 37, cols = 1001, n = rows * cols;
    float *x = isa_inputs(n), *dy = isa_inputs(n);
    for (size_t i = 0; i < n; i++)
        dy[i] = isfinite(dy[i]) ? dy[i] * 0.25f : 1.0f;
    float *ref = falloc(n), *got = falloc(n), *dref = falloc(n), *dgot = falloc(n);
    int tested = 0;
    for (int isa = KERNELS_ISA_PORTABLE; isa < KERNELS_ISA_COUNT; isa++) {
        if (!kernels_isa_supported((enum kernels_isa)isa)) {
            fprintf(stderr, "\n*** test_ops: this CPU (or build) has no %s: its activation loops are NOT compared ***\n",
                    kernels_isa_name((enum kernels_isa)isa));
            continue;
        }
        tested++;
        for (int threads = 1; threads <= 2; threads++) {
            struct kernels_cpu cpu = {.threads = threads, .isa = (enum kernels_isa)isa};
            struct kernels_cpu portable = {.threads = 1, .isa = KERNELS_ISA_PORTABLE};
            for (int act = 0; act < ACT_COUNT; act++) {
                memcpy(ref, x, n * sizeof *x);
                memcpy(got, x, n * sizeof *x);
                activation_forward(&portable, act, 0.1f, ref, rows, cols);
                activation_forward(&cpu, act, 0.1f, got, rows, cols);
                CU_ASSERT(same_bits(ref, got, n));
                activation_backward(&portable, act, 0.1f, x, dy, dref, rows, cols, false);
                activation_backward(&cpu, act, 0.1f, x, dy, dgot, rows, cols, false);
                CU_ASSERT(same_bits(dref, dgot, n));
            }
            float *scale = isa_inputs(cols), *shift = isa_inputs(cols);
            kernels_col_affine(&portable, rows, cols, x, scale, shift, ref);
            kernels_col_affine(&cpu, rows, cols, x, scale, shift, got);
            CU_ASSERT(same_bits(ref, got, n));
            nsk_affine_cols(x, scale, shift, rows, cols, got);
            CU_ASSERT(same_bits(ref, got, n));
            free(scale);
            free(shift);
        }
    }
    CU_ASSERT(tested >= 1);
    free(x);
    free(dy);
    free(ref);
    free(got);
    free(dref);
    free(dgot);
}

/* maxpool's backward: the 2x2-stride-2 path (which finds each maximum again from the input or
 * reads the forward's winner bytes, writes a fresh gradient whole, and may apply relu's gradient
 * for the plan's fusion) equals the general one, a scatter of each window's gradient to its first
 * maximum into zeros or into what the buffer held, then relu's select, bit for bit, on every ISA
 * and thread count. Odd sizes leave a row and a column no window covers; ties, NaN, -0 and
 * negative inputs are included. The forward that keeps winners gives the same outputs. */
static void test_maxpool_2x2_backward(void)
{
    struct kernels_window g;
    CU_ASSERT_FATAL(kernels_window_init(&g, 7, 7, 17, 2, 2, 2, 2, 1, 1, KERNELS_PAD_VALID, 0, 0));
    CU_ASSERT_FATAL(kernels_maxpool_is_2x2(&g));
    const int n = 5;
    const size_t in_size = (size_t)g.in_h * g.in_w * g.channels, out_size = (size_t)g.out_h * g.out_w * g.channels;
    const size_t in_n = (size_t)n * in_size, out_n = (size_t)n * out_size;
    struct trng r = {.key = 91};
    float *in = falloc(in_n), *dy = falloc(out_n), *held = falloc(in_n), *want = falloc(in_n), *got = falloc(in_n);
    for (size_t i = 0; i < in_n; i++)
        in[i] = i % 5 == 0 ? 0.5f : i % 11 == 0 ? -0.0f : trand(&r, -2, 2);
    in[3] = NAN;
    in[in_size + 40] = NAN;
    for (size_t i = 0; i < out_n; i++)
        dy[i] = i % 13 == 0 ? -0.0f : trand(&r, -1, 1);
    for (size_t i = 0; i < in_n; i++)
        held[i] = i % 3 == 0 ? -0.0f : trand(&r, -1, 1);
    const size_t saved_n = out_n;
    float *winners = falloc(saved_n), *pooled = falloc(out_n), *pooled_plain = falloc(out_n);
    int compared = 0;
    for (int fresh = 0; fresh <= 1; fresh++) {
        for (int mask = 0; mask <= 1; mask++) {
            /* The general rule, written out. */
            for (size_t i = 0; i < in_n; i++)
                want[i] = fresh ? 0.0f : held[i];
            for (int s = 0; s < n; s++)
                for (int oy = 0; oy < g.out_h; oy++)
                    for (int ox = 0; ox < g.out_w; ox++)
                        for (int c = 0; c < g.channels; c++) {
                            size_t best = 0;
                            float m = 0;
                            for (int t = 0; t < 4; t++) {
                                size_t at = (size_t)s * in_size
                                            + ((size_t)(2 * oy + t / 2) * g.in_w + (size_t)(2 * ox + t % 2)) * g.channels
                                            + (size_t)c;
                                if (t == 0 || in[at] > m) {
                                    m = in[at];
                                    best = at;
                                }
                            }
                            want[best] += dy[(size_t)s * out_size + ((size_t)oy * g.out_w + (size_t)ox) * g.channels + (size_t)c];
                        }
            if (mask)
                for (size_t i = 0; i < in_n; i++)
                    want[i] = in[i] > 0.0f ? want[i] : 0.0f;
            for (int isa = KERNELS_ISA_PORTABLE; isa < KERNELS_ISA_COUNT; isa++) {
                if (!kernels_isa_supported((enum kernels_isa)isa))
                    continue; /* test_isa_same_bits says so loudly */
                for (int threads = 1; threads <= 3; threads++) {
                    struct kernels_cpu cpu = {.threads = threads, .isa = (enum kernels_isa)isa};
                    for (int keep = 0; keep <= 1; keep++) {
                        if (keep) {
                            memset(winners, 0xA5, saved_n * sizeof *winners);
                            kernels_maxpool_forward(&cpu, &g, n, in, pooled, winners);
                            kernels_maxpool_forward(&cpu, &g, n, in, pooled_plain, NULL);
                            CU_ASSERT(same_bits(pooled, pooled_plain, out_n));
                        }
                        for (size_t i = 0; i < in_n; i++)
                            got[i] = fresh ? NAN : held[i]; /* a fresh buffer's old values must not matter */
                        struct kernels_maxpool_grad a = {.in = keep && fresh ? NULL : in, .d_out = dy,
                                                         .saved = keep ? winners : NULL, .d_in = got,
                                                         .fresh = fresh, .relu_mask = mask};
                        kernels_maxpool_backward(&cpu, &g, n, &a);
                        CU_ASSERT(same_bits(want, got, in_n));
                        compared++;
                    }
                }
            }
        }
    }
    CU_ASSERT(compared >= 24);
    free(in);
    free(dy);
    free(held);
    free(want);
    free(got);
    free(winners);
    free(pooled);
    free(pooled_plain);
}

/* The runtime's pooling kernels and nsk.h's (the emitted C's) give the same bits: odd
 * geometries, padding, dilation, several channel counts, and values with ties and NaN. */
static void test_pooling_matches_nsk(void)
{
    static const int geoms[][9] = {
        /* h, w, c, k_h, k_w, stride, dil, pad mode, pad */
        {6, 7, 3, 2, 2, 2, 1, KERNELS_PAD_VALID, 0},
        {5, 5, 2, 3, 3, 2, 1, KERNELS_PAD_SAME, 0},
        {8, 6, 17, 3, 2, 1, 2, KERNELS_PAD_EXPLICIT, 1},
        {4, 9, 300, 2, 3, 1, 1, KERNELS_PAD_SAME, 0},
        {7, 7, 5, 7, 7, 1, 1, KERNELS_PAD_VALID, 0},
    };
    struct trng r = {.key = 77};
    for (size_t gi = 0; gi < sizeof geoms / sizeof *geoms; gi++) {
        const int *q = geoms[gi];
        struct kernels_window g;
        CU_ASSERT_FATAL(kernels_window_init(&g, q[0], q[1], q[2], q[3], q[4], q[5], q[5], q[6], q[6], q[7], q[8], q[8]));
        struct nsk_window w = {g.in_h, g.in_w, g.channels, g.k_h, g.k_w, g.stride_h, g.stride_w, g.dil_h, g.dil_w,
                               g.pad_top, g.pad_left, g.out_h, g.out_w};
        int n = 3;
        size_t in_size = (size_t)g.in_h * g.in_w * g.channels, out_size = (size_t)g.out_h * g.out_w * g.channels;
        float *in = falloc((size_t)n * in_size), *a = falloc((size_t)n * out_size), *b = falloc(out_size);
        for (size_t i = 0; i < (size_t)n * in_size; i++)
            in[i] = (i % 7 == 0) ? 0.5f : trand(&r, -3, 3); /* ties */
        in[1] = NAN;
        kernels_maxpool_forward(&test_cpu, &g, n, in, a, NULL);
        for (int s = 0; s < n; s++) {
            nsk_maxpool(&w, in + (size_t)s * in_size, b);
            CU_ASSERT_EQUAL(memcmp(a + (size_t)s * out_size, b, out_size * sizeof *b), 0);
        }
        kernels_avgpool_forward(&test_cpu, &g, n, in, a);
        for (int s = 0; s < n; s++) {
            nsk_avgpool(&w, in + (size_t)s * in_size, b);
            CU_ASSERT_EQUAL(memcmp(a + (size_t)s * out_size, b, out_size * sizeof *b), 0);
        }
        free(in);
        free(a);
        free(b);
    }
}

static void test_rng(void)
{
    CU_ASSERT_EQUAL(rng_mix(1, 2), rng_mix(1, 2));
    CU_ASSERT_NOT_EQUAL(rng_mix(1, 2), rng_mix(2, 1));
    CU_ASSERT_NOT_EQUAL(rng_mix(1, 2), rng_mix(1, 3));
    double sum = 0, lo = 1, hi = 0;
    for (uint64_t i = 0; i < 100000; i++) {
        float u = rng_uniform(9, i);
        sum += u;
        lo = fmin(lo, u);
        hi = fmax(hi, u);
    }
    CU_ASSERT(lo >= 0.0 && hi < 1.0);
    CU_ASSERT_DOUBLE_EQUAL(sum / 100000, 0.5, 0.005);
    double s1 = 0, s2 = 0;
    for (uint64_t i = 0; i < 100000; i++) {
        double z = rng_normal(3, i);
        s1 += z;
        s2 += z * z;
    }
    CU_ASSERT_DOUBLE_EQUAL(s1 / 100000, 0.0, 0.02);
    CU_ASSERT_DOUBLE_EQUAL(s2 / 100000, 1.0, 0.02);
}

/* ---- per-column sums: fixed row chunks ---- */

/* The documented order: each KERNELS_COL_ROWS chunk summed from +0 in row order, the chunk
 * sums added in chunk order. */
static void reference_col_sum(size_t rows, size_t cols, const float *x, float *out)
{
    for (size_t c = 0; c < cols; c++) {
        float total = 0.0f;
        for (size_t r0 = 0; r0 < rows; r0 += KERNELS_COL_ROWS) {
            float chunk = 0.0f;
            for (size_t r = r0; r < rows && r < r0 + KERNELS_COL_ROWS; r++)
                chunk += x[r * cols + c];
            total = r0 == 0 ? chunk : total + chunk;
        }
        out[c] = total;
    }
}

static void test_col_sums_chunked(void)
{
    /* Several row chunks with a ragged last one, two column blocks with a ragged last one. */
    const size_t rows = 3 * KERNELS_COL_ROWS + 77, cols = 70;
    struct trng r = {.key = 11};
    float *x = falloc(rows * cols), *dy = falloc(rows * cols);
    for (size_t i = 0; i < rows * cols; i++) {
        x[i] = trand(&r, -1, 3);
        dy[i] = trand(&r, -1, 1);
    }
    float mean[70], inv_std[70], gamma[70], want[70];
    for (size_t c = 0; c < cols; c++) {
        gamma[c] = trand(&r, 0.5f, 1.5f);
        inv_std[c] = trand(&r, 0.5f, 2.0f);
    }
    reference_col_sum(rows, cols, x, want);
    float sum[3][70], mu[3][70], var[3][70], dg[3][70], db[3][70];
    float *dx[3];
    for (int t = 0; t < 3; t++) {
        set_threads(t + 1);
        kernels_col_sum(&test_cpu, rows, cols, x, sum[t]);
        kernels_col_moments(&test_cpu, rows, cols, x, mu[t], var[t]);
        if (t == 0)
            memcpy(mean, mu[0], sizeof mean);
        dx[t] = falloc(rows * cols);
        kernels_batchnorm_backward(&test_cpu, rows, cols, x, dy, mean, inv_std, gamma, true, dg[t], db[t], dx[t]);
    }
    set_threads(2);
    CU_ASSERT_EQUAL(memcmp(sum[0], want, sizeof want), 0);
    for (int t = 1; t < 3; t++) {
        CU_ASSERT_EQUAL(memcmp(sum[t], sum[0], sizeof sum[0]), 0);
        CU_ASSERT_EQUAL(memcmp(mu[t], mu[0], sizeof mu[0]), 0);
        CU_ASSERT_EQUAL(memcmp(var[t], var[0], sizeof var[0]), 0);
        CU_ASSERT_EQUAL(memcmp(dg[t], dg[0], sizeof dg[0]), 0);
        CU_ASSERT_EQUAL(memcmp(db[t], db[0], sizeof db[0]), 0);
        CU_ASSERT_EQUAL(memcmp(dx[t], dx[0], rows * cols * sizeof *dx[0]), 0);
    }
    /* Against plain double sums: the chunked statistics are as accurate as expected. */
    for (size_t c = 0; c < cols; c++) {
        double s = 0, sq = 0, sd = 0;
        for (size_t i = 0; i < rows; i++)
            s += x[i * cols + c];
        for (size_t i = 0; i < rows; i++) {
            double d = x[i * cols + c] - s / (double)rows;
            sq += d * d;
            sd += dy[i * cols + c];
        }
        CU_ASSERT_DOUBLE_EQUAL(mu[0][c], s / (double)rows, 1e-6);
        CU_ASSERT_DOUBLE_EQUAL(var[0][c], sq / (double)rows, 1e-5);
        CU_ASSERT_DOUBLE_EQUAL(db[0][c], sd, 1e-3);
        CU_ASSERT_DOUBLE_EQUAL(sum[0][c], s, 1e-2);
    }
    for (int t = 0; t < 3; t++)
        free(dx[t]);
    free(x);
    free(dy);
}

/* ---- reshape ---- */

/* The output shape is the one asked for, the values and their order are the input's, and an
 * element count that differs is refused at the key with a shape that would fit. */
static void test_reshape(void)
{
    struct ns_diag diag = {0};
    struct fixture fx;
    struct spec_shape pixels = S1(64);
    CU_ASSERT_FATAL(fixture_shape(&fx, "reshape", (const char *const[]){"shape=[8, 8, 1]", NULL}, 1, &pixels, 10, 0, &diag));
    CU_ASSERT_EQUAL(fx.node.out_shape.rank, 3);
    CU_ASSERT_EQUAL(fx.node.out_size, 64);
    CU_ASSERT_EQUAL(fx.node.tensor_count, 0);
    CU_ASSERT_EQUAL(fx.node.flops, 0);
    fixture_alloc(&fx, 2, 5);
    fixture_forward(&fx, true);
    CU_ASSERT_EQUAL(memcmp(fx.output, fx.inputs[0], 2 * 64 * sizeof(float)), 0);
    fixture_free(&fx);

    CU_ASSERT_FALSE(fixture_shape(&fx, "reshape", (const char *const[]){"shape=[8, 8, 2]", NULL}, 1, &pixels, 10, 3, &diag));
    CU_ASSERT_EQUAL(diag.count, 1);
    CU_ASSERT_STRING_EQUAL(first_message(&diag), "layer 3 (reshape): shape [8, 8, 2] holds 128 values, but its input [64] holds 64");
    CU_ASSERT_STRING_EQUAL(diag.count ? diag.items[0].hint : "",
                           "a reshape keeps every value: give a shape of 64 values, such as [8, 8, 1]");
    CU_ASSERT_EQUAL(diag.count ? diag.items[0].code : 0, NS_ERR_SPEC);
    free(fx.params);
    ns_diag_clear(&diag);

    struct spec_shape image = S3(28, 28, 1);
    CU_ASSERT_FALSE(fixture_shape(&fx, "reshape", (const char *const[]){"shape=[10, 10, 7]", NULL}, 1, &image, 10, 2, &diag));
    CU_ASSERT_STRING_EQUAL(diag.count ? diag.items[0].hint : "",
                           "a reshape keeps every value: give a shape of 784 values, such as [784]");
    free(fx.params);
    ns_diag_free(&diag);
}

int main(void)
{
    static const struct test_util_case cases[] = {
        {"registry", test_registry},
        {"shapes, tensors and FLOPs", test_shapes},
        {"shape errors", test_shape_errors},
        {"reshape", test_reshape},
        {"gradient check of every op", test_gradients_every_op},
        {"per-column sums: fixed row chunks, same bits on 1, 2 and 3 threads", test_col_sums_chunked},
        {"ops 1 vs 2 threads", test_ops_threads},
        {"conv2d chunks", test_conv_chunks},
        {"maxpool ties", test_maxpool_ties},
        {"dropout mask", test_dropout_mask},
        {"batchnorm running statistics", test_batchnorm_running_stats},
        {"activation values", test_activation_values},
        {"nsk math accuracy against double libm", test_nsk_accuracy},
        {"activations and affine map: same bits on every ISA", test_isa_same_bits},
        {"pooling equals nsk.h's", test_pooling_matches_nsk},
        {"maxpool 2x2 backward equals the general rule (fresh, adding, relu mask)", test_maxpool_2x2_backward},
        {"rng", test_rng},
    };
    return test_util_main("ops", NULL, NULL, cases, sizeof cases / sizeof *cases);
}
