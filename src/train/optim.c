#include "train/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/ns_util.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

struct optim_tensor *optim_tensors_from_graph(const struct graph *g, size_t *count)
{
    size_t n = 0;
    for (size_t i = 0; i < g->node_count; i++)
        for (int t = 0; t < g->nodes[i].tensor_count; t++)
            n += g->nodes[i].tensors[t].trainable;
    struct optim_tensor *out = ns_xcalloc(n ? n : 1, sizeof *out);
    size_t k = 0;
    for (size_t i = 0; i < g->node_count; i++) {
        const struct op_node *node = &g->nodes[i];
        for (int t = 0; t < node->tensor_count; t++) {
            if (!node->tensors[t].trainable)
                continue;
            out[k].offset = node->tensor_offset[t];
            out[k].size = node->tensors[t].size;
            out[k].decay = node->tensors[t].name && strcmp(node->tensors[t].name, "weight") == 0;
            k++;
        }
    }
    *count = n;
    return out;
}

void optim_init(struct optim *o, const struct spec_optimizer *cfg, size_t param_floats,
                const struct optim_tensor *tensors, size_t tensor_count)
{
    memset(o, 0, sizeof *o);
    o->type = cfg->type;
    o->momentum = cfg->momentum;
    o->nesterov = cfg->nesterov;
    o->weight_decay = cfg->weight_decay;
    o->beta1 = cfg->beta1;
    o->beta2 = cfg->beta2;
    o->eps = cfg->eps;
    o->param_floats = param_floats;
    o->tensor_count = tensor_count;
    o->tensors = ns_xcalloc(tensor_count ? tensor_count : 1, sizeof *o->tensors);
    if (tensor_count)
        memcpy(o->tensors, tensors, tensor_count * sizeof *tensors);
    size_t bytes = (param_floats ? param_floats : 1) * sizeof(float);
    if (o->type != OPT_SGD || o->momentum > 0)
        o->m = ns_xcalloc(1, bytes);
    if (o->type != OPT_SGD)
        o->v = ns_xcalloc(1, bytes);
}

void optim_free(struct optim *o)
{
    if (!o)
        return;
    free(o->tensors);
    free(o->m);
    free(o->v);
    memset(o, 0, sizeof *o);
}

size_t optim_m_floats(const struct optim *o)
{
    return o->m ? o->param_floats : 0;
}

size_t optim_v_floats(const struct optim *o)
{
    return o->v ? o->param_floats : 0;
}

static void sgd_tensor(const struct optim *o, const struct optim_tensor *t, float *restrict w,
                       const float *restrict g, float *restrict b, float lr)
{
    float wd = t->decay ? (float)o->weight_decay : 0.0f;
    float mu = (float)o->momentum;
    for (size_t i = 0; i < t->size; i++) {
        float d = g[i];
        if (wd != 0.0f)
            d += wd * w[i];
        if (b) {
            b[i] = mu * b[i] + d;
            d = o->nesterov ? d + mu * b[i] : b[i];
        }
        w[i] -= lr * d;
    }
}

static void adam_tensor(const struct optim *o, const struct optim_tensor *t, float *restrict w,
                        const float *restrict g, float *restrict m, float *restrict v, double lr)
{
    double t_step = (double)o->step;
    double bc1 = 1.0 - pow(o->beta1, t_step), bc2 = 1.0 - pow(o->beta2, t_step);
    float step_size = (float)(lr / bc1);
    float inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2));
    float b1 = (float)o->beta1, b2 = (float)o->beta2;
    float c1 = (float)(1.0 - o->beta1), c2 = (float)(1.0 - o->beta2);
    float eps = (float)o->eps;
    /* Decoupled decay shrinks the weight before the step, as AdamW does. */
    float keep = t->decay && o->weight_decay > 0 ? (float)(1.0 - lr * o->weight_decay) : 1.0f;
    size_t i = 0;
#ifdef __SSE2__
    /* The same operations in the same order, four lanes at a time: IEEE multiply, add, sqrt
     * and divide are exactly rounded, so every element gets the bits the scalar loop gives.
     * (The compiler cannot vectorise the scalar loop itself: sqrtf may set errno.) */
    __m128 vb1 = _mm_set1_ps(b1), vb2 = _mm_set1_ps(b2), vc1 = _mm_set1_ps(c1), vc2 = _mm_set1_ps(c2);
    __m128 vinv = _mm_set1_ps(inv_sqrt_bc2), veps = _mm_set1_ps(eps), vkeep = _mm_set1_ps(keep);
    __m128 vstep = _mm_set1_ps(step_size);
    for (; i + 4 <= t->size; i += 4) {
        __m128 gi = _mm_loadu_ps(g + i);
        __m128 mi = _mm_add_ps(_mm_mul_ps(vb1, _mm_loadu_ps(m + i)), _mm_mul_ps(vc1, gi));
        __m128 vi = _mm_add_ps(_mm_mul_ps(vb2, _mm_loadu_ps(v + i)), _mm_mul_ps(vc2, _mm_mul_ps(gi, gi)));
        __m128 denom = _mm_add_ps(_mm_mul_ps(_mm_sqrt_ps(vi), vinv), veps);
        __m128 wi = _mm_sub_ps(_mm_mul_ps(_mm_loadu_ps(w + i), vkeep), _mm_mul_ps(vstep, _mm_div_ps(mi, denom)));
        _mm_storeu_ps(m + i, mi);
        _mm_storeu_ps(v + i, vi);
        _mm_storeu_ps(w + i, wi);
    }
#endif
    for (; i < t->size; i++) {
        float gi = g[i];
        m[i] = b1 * m[i] + c1 * gi;
        v[i] = b2 * v[i] + c2 * (gi * gi);
        float denom = sqrtf(v[i]) * inv_sqrt_bc2 + eps;
        w[i] = w[i] * keep - step_size * (m[i] / denom);
    }
}

void optim_step(struct optim *o, float *params, const float *grads, double lr)
{
    o->step++;
    for (size_t k = 0; k < o->tensor_count; k++) {
        const struct optim_tensor *t = &o->tensors[k];
        float *w = params + t->offset;
        const float *g = grads + t->offset;
        if (o->type == OPT_SGD)
            sgd_tensor(o, t, w, g, o->m ? o->m + t->offset : NULL, (float)lr);
        else
            adam_tensor(o, t, w, g, o->m + t->offset, o->v + t->offset, lr);
    }
}
