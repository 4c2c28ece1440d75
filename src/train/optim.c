#include "train/optim.h"

#include <float.h>
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
    size_t chunks = 0;
    for (size_t k = 0; k < tensor_count; k++)
        chunks += (tensors[k].size + OPTIM_CHUNK - 1) / OPTIM_CHUNK;
    o->chunks = ns_xcalloc(chunks ? chunks : 1, sizeof *o->chunks);
    for (size_t k = 0; k < tensor_count; k++)
        for (size_t at = 0; at < tensors[k].size; at += OPTIM_CHUNK) {
            size_t left = tensors[k].size - at;
            o->chunks[o->chunk_count++] =
                (struct optim_chunk){.tensor = k, .begin = at, .size = left < OPTIM_CHUNK ? left : OPTIM_CHUNK};
        }
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
    free(o->chunks);
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

/* Optimizer state that decays towards zero without reaching it, such as Adam's m for a weight
 * whose gradient has been 0 for a few hundred steps (the first layer's weights of pixels that
 * are nearly always black), ends in the subnormal range and stays there: about 5% of m in
 * fashion_mlp from epoch 3 on. Subnormal operands cost a microcode assist per operation on
 * many x86 CPUs (training ran at half speed by epoch 8 on an Intel machine). Every float the
 * optimizer stores is therefore flushed: |x| < FLT_MIN becomes +0. It is plain C on every
 * path, so the bits do not depend on the CPU's flush modes (MXCSR FTZ/DAZ are never set), the
 * ISA or the machine. It hardly ever moves a weight: a subnormal m changes w by at most
 * step_size * 2^-126 / eps (about 1e-32 at lr 1e-3, eps 1e-8), under half an ulp of any weight
 * above 1e-24; fashion_mlp's weights after 20 epochs are the same bits with and without it.
 * NaN compares false and is kept. */
static inline float flush_tiny(float x)
{
    return fabsf(x) < FLT_MIN ? 0.0f : x;
}

#ifdef __SSE2__
static inline __m128 flush_tiny4(__m128 x)
{
    const __m128 abs_mask = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff));
    __m128 tiny = _mm_cmplt_ps(_mm_and_ps(x, abs_mask), _mm_set1_ps(FLT_MIN));
    return _mm_andnot_ps(tiny, x);
}
#endif

/* The per-step scalars, prepared once in double and rounded to float: every element then
 * does the same float operations whichever chunk or thread it falls in. */
struct step_scalars {
    float lr, mu;                 /* sgd */
    float b1, b2, c1, c2, eps;    /* adam */
    float step_size, inv_sqrt_bc2;
    float keep;                   /* adam decoupled decay for "weight" tensors, else 1 */
    float wd;                     /* sgd L2 decay for "weight" tensors, else 0 */
};

static void sgd_range(const struct optim *o, const struct step_scalars *sc, float *restrict w,
                      const float *restrict g, float *restrict b, size_t n)
{
    float wd = sc->wd, mu = sc->mu, lr = sc->lr;
    for (size_t i = 0; i < n; i++) {
        float d = g[i];
        if (wd != 0.0f)
            d += wd * w[i];
        if (b) {
            b[i] = flush_tiny(mu * b[i] + d);
            d = o->nesterov ? d + mu * b[i] : b[i];
        }
        w[i] = flush_tiny(w[i] - lr * d);
    }
}

static void adam_range(const struct step_scalars *sc, float *restrict w, const float *restrict g,
                       float *restrict m, float *restrict v, size_t n)
{
    float b1 = sc->b1, b2 = sc->b2, c1 = sc->c1, c2 = sc->c2, eps = sc->eps;
    float inv_sqrt_bc2 = sc->inv_sqrt_bc2, step_size = sc->step_size, keep = sc->keep;
    size_t i = 0;
#ifdef __SSE2__
    /* The same operations in the same order, four lanes at a time: IEEE multiply, add, sqrt
     * and divide are exactly rounded, so every element gets the bits the scalar loop gives.
     * (The compiler cannot vectorise the scalar loop itself: sqrtf may set errno.) */
    __m128 vb1 = _mm_set1_ps(b1), vb2 = _mm_set1_ps(b2), vc1 = _mm_set1_ps(c1), vc2 = _mm_set1_ps(c2);
    __m128 vinv = _mm_set1_ps(inv_sqrt_bc2), veps = _mm_set1_ps(eps), vkeep = _mm_set1_ps(keep);
    __m128 vstep = _mm_set1_ps(step_size);
    for (; i + 4 <= n; i += 4) {
        __m128 gi = _mm_loadu_ps(g + i);
        __m128 mi = flush_tiny4(_mm_add_ps(_mm_mul_ps(vb1, _mm_loadu_ps(m + i)), _mm_mul_ps(vc1, gi)));
        __m128 vi = flush_tiny4(
            _mm_add_ps(_mm_mul_ps(vb2, _mm_loadu_ps(v + i)), _mm_mul_ps(vc2, _mm_mul_ps(gi, gi))));
        __m128 denom = _mm_add_ps(_mm_mul_ps(_mm_sqrt_ps(vi), vinv), veps);
        __m128 wi = flush_tiny4(
            _mm_sub_ps(_mm_mul_ps(_mm_loadu_ps(w + i), vkeep), _mm_mul_ps(vstep, _mm_div_ps(mi, denom))));
        _mm_storeu_ps(m + i, mi);
        _mm_storeu_ps(v + i, vi);
        _mm_storeu_ps(w + i, wi);
    }
#endif
    for (; i < n; i++) {
        float gi = g[i];
        m[i] = flush_tiny(b1 * m[i] + c1 * gi);
        v[i] = flush_tiny(b2 * v[i] + c2 * (gi * gi));
        float denom = sqrtf(v[i]) * inv_sqrt_bc2 + eps;
        w[i] = flush_tiny(w[i] * keep - step_size * (m[i] / denom));
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define OPTIM_X86_WIDE 1
#include <immintrin.h>

/* adam_range eight and sixteen lanes at a time, for the ISA the context picked: the same
 * IEEE operations per element (no fused multiply-add), so the same bits as four lanes or the
 * scalar tail; sqrt and divide dominate, and wider vectors do them about twice as fast. */
__attribute__((target("avx2"))) static void adam_range_avx2(const struct step_scalars *sc, float *restrict w,
                                                            const float *restrict g, float *restrict m,
                                                            float *restrict v, size_t n)
{
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)), tiny = _mm256_set1_ps(FLT_MIN);
    __m256 b1 = _mm256_set1_ps(sc->b1), b2 = _mm256_set1_ps(sc->b2), c1 = _mm256_set1_ps(sc->c1);
    __m256 c2 = _mm256_set1_ps(sc->c2), inv = _mm256_set1_ps(sc->inv_sqrt_bc2), eps = _mm256_set1_ps(sc->eps);
    __m256 keep = _mm256_set1_ps(sc->keep), step = _mm256_set1_ps(sc->step_size);
#define FLUSH8(x) _mm256_andnot_ps(_mm256_cmp_ps(_mm256_and_ps((x), abs_mask), tiny, _CMP_LT_OQ), (x))
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 gi = _mm256_loadu_ps(g + i);
        __m256 mi = _mm256_add_ps(_mm256_mul_ps(b1, _mm256_loadu_ps(m + i)), _mm256_mul_ps(c1, gi));
        mi = FLUSH8(mi);
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(b2, _mm256_loadu_ps(v + i)), _mm256_mul_ps(c2, _mm256_mul_ps(gi, gi)));
        vi = FLUSH8(vi);
        __m256 denom = _mm256_add_ps(_mm256_mul_ps(_mm256_sqrt_ps(vi), inv), eps);
        __m256 wi = _mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(w + i), keep), _mm256_mul_ps(step, _mm256_div_ps(mi, denom)));
        wi = FLUSH8(wi);
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        _mm256_storeu_ps(w + i, wi);
    }
#undef FLUSH8
    adam_range(sc, w + i, g + i, m + i, v + i, n - i);
}

__attribute__((target("avx512f"))) static void adam_range_avx512(const struct step_scalars *sc, float *restrict w,
                                                                 const float *restrict g, float *restrict m,
                                                                 float *restrict v, size_t n)
{
    const __m512i abs_mask = _mm512_set1_epi32(0x7fffffff);
    const __m512 tiny = _mm512_set1_ps(FLT_MIN);
    __m512 b1 = _mm512_set1_ps(sc->b1), b2 = _mm512_set1_ps(sc->b2), c1 = _mm512_set1_ps(sc->c1);
    __m512 c2 = _mm512_set1_ps(sc->c2), inv = _mm512_set1_ps(sc->inv_sqrt_bc2), eps = _mm512_set1_ps(sc->eps);
    __m512 keep = _mm512_set1_ps(sc->keep), step = _mm512_set1_ps(sc->step_size);
#define FLUSH16(x)                                                                                                  \
    _mm512_maskz_mov_ps(                                                                                            \
        (__mmask16)~_mm512_cmp_ps_mask(_mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(x), abs_mask)),     \
                                       tiny, _CMP_LT_OQ),                                                           \
        (x))
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 gi = _mm512_loadu_ps(g + i);
        __m512 mi = _mm512_add_ps(_mm512_mul_ps(b1, _mm512_loadu_ps(m + i)), _mm512_mul_ps(c1, gi));
        mi = FLUSH16(mi);
        __m512 vi = _mm512_add_ps(_mm512_mul_ps(b2, _mm512_loadu_ps(v + i)), _mm512_mul_ps(c2, _mm512_mul_ps(gi, gi)));
        vi = FLUSH16(vi);
        __m512 denom = _mm512_add_ps(_mm512_mul_ps(_mm512_sqrt_ps(vi), inv), eps);
        __m512 wi = _mm512_sub_ps(_mm512_mul_ps(_mm512_loadu_ps(w + i), keep), _mm512_mul_ps(step, _mm512_div_ps(mi, denom)));
        wi = FLUSH16(wi);
        _mm512_storeu_ps(m + i, mi);
        _mm512_storeu_ps(v + i, vi);
        _mm512_storeu_ps(w + i, wi);
    }
#undef FLUSH16
    adam_range(sc, w + i, g + i, m + i, v + i, n - i);
}
#endif

/* Below this many parameters a step is faster on one thread than the cost of waking others. */
enum { OPTIM_PARALLEL_MIN = 1 << 15 };

void optim_step(struct optim *o, const struct kernels_cpu *cpu, float *params, const float *grads, double lr)
{
    int threads = cpu->threads < 1 ? 1 : cpu->threads;
    void (*adam)(const struct step_scalars *, float *restrict, const float *restrict, float *restrict,
                 float *restrict, size_t) = adam_range;
#ifdef OPTIM_X86_WIDE
    enum kernels_isa isa = kernels_isa_resolve(cpu->isa);
    if (isa == KERNELS_ISA_AVX512)
        adam = adam_range_avx512;
    else if (isa == KERNELS_ISA_AVX2)
        adam = adam_range_avx2;
#endif
    o->step++;
    struct step_scalars base = {0};
    if (o->type == OPT_SGD) {
        base.lr = (float)lr;
        base.mu = (float)o->momentum;
    } else {
        double t_step = (double)o->step;
        double bc1 = 1.0 - pow(o->beta1, t_step), bc2 = 1.0 - pow(o->beta2, t_step);
        base.step_size = (float)(lr / bc1);
        base.inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2));
        base.b1 = (float)o->beta1;
        base.b2 = (float)o->beta2;
        base.c1 = (float)(1.0 - o->beta1);
        base.c2 = (float)(1.0 - o->beta2);
        base.eps = (float)o->eps;
    }
    /* Decoupled decay (adam, adamw) shrinks the weight before the step; sgd adds L2 decay to
     * the gradient. Both only for "weight" tensors. */
    base.keep = 1.0f;
    struct step_scalars decayed = base;
    if (o->type == OPT_SGD)
        decayed.wd = (float)o->weight_decay;
    else if (o->weight_decay > 0)
        decayed.keep = (float)(1.0 - lr * o->weight_decay);

    long chunks = (long)o->chunk_count;
    bool parallel = threads > 1 && o->param_floats >= OPTIM_PARALLEL_MIN;
    /* Each element's update reads and writes that element only, so the split into chunks and
     * the thread count never change a bit. */
#pragma omp parallel for schedule(static) if (parallel) num_threads(threads)
    for (long c = 0; c < chunks; c++) {
        const struct optim_chunk *ch = &o->chunks[c];
        const struct optim_tensor *t = &o->tensors[ch->tensor];
        const struct step_scalars *sc = t->decay ? &decayed : &base;
        size_t at = t->offset + ch->begin;
        if (o->type == OPT_SGD)
            sgd_range(o, sc, params + at, grads + at, o->m ? o->m + at : NULL, ch->size);
        else
            adam(sc, params + at, grads + at, o->m + at, o->v + at, ch->size);
    }
}
