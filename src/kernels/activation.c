#include "kernels/activation.h"

#include <math.h>
#include <string.h>


/* Below this many elements a parallel region costs more than it saves. */
enum { ACT_PARALLEL_MIN = 1 << 15 };

static const float gelu_c = 0.7978845608028654f; /* sqrt(2/pi) */
static const float gelu_k = 0.044715f;

static float act_sigmoid(float x)
{
    /* Both branches stay finite: exp never sees a large positive argument. */
    if (x >= 0.0f)
        return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

static float act_gelu(float x)
{
    float inner = gelu_c * (x + gelu_k * x * x * x);
    return 0.5f * x * (1.0f + tanhf(inner));
}

static float act_gelu_grad(float x)
{
    float x2 = x * x;
    float t = tanhf(gelu_c * (x + gelu_k * x2 * x));
    float dinner = gelu_c * (1.0f + 3.0f * gelu_k * x2);
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * dinner;
}

bool activation_needs_input(int act)
{
    return act != ACT_LINEAR;
}

double activation_flops(int act)
{
    switch (act) {
    case ACT_LINEAR:
        return 0;
    case ACT_RELU:
    case ACT_LEAKY_RELU:
        return 1;
    case ACT_GELU:
        return 10;
    default:
        return 4;
    }
}

static void softmax_row(float *x, size_t cols)
{
    /* Subtracting the row maximum keeps exp from overflowing; sums run left to right. */
    float m = x[0];
    for (size_t j = 1; j < cols; j++)
        m = x[j] > m ? x[j] : m;
    float sum = 0.0f;
    for (size_t j = 0; j < cols; j++) {
        x[j] = expf(x[j] - m);
        sum += x[j];
    }
    float inv = 1.0f / sum;
    for (size_t j = 0; j < cols; j++)
        x[j] *= inv;
}

/* Elementwise forward on [begin, end): one loop per function so the simple ones vectorise. */
static void forward_range(int act, float alpha, float *x, size_t begin, size_t end)
{
    switch (act) {
    case ACT_RELU:
#pragma omp simd
        for (size_t i = begin; i < end; i++)
            x[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case ACT_LEAKY_RELU:
#pragma omp simd
        for (size_t i = begin; i < end; i++)
            x[i] = x[i] > 0.0f ? x[i] : alpha * x[i];
        break;
    case ACT_SIGMOID:
        for (size_t i = begin; i < end; i++)
            x[i] = act_sigmoid(x[i]);
        break;
    case ACT_TANH:
        for (size_t i = begin; i < end; i++)
            x[i] = tanhf(x[i]);
        break;
    case ACT_GELU:
        for (size_t i = begin; i < end; i++)
            x[i] = act_gelu(x[i]);
        break;
    default:
        break;
    }
}

/* Elements per parallel chunk; a fixed split, so the work per element never depends on it. */
enum { ACT_CHUNK = 1 << 14 };

void activation_forward(int act, float alpha, float *x, size_t rows, size_t cols)
{
    size_t n = rows * cols;
    if (act == ACT_LINEAR || n == 0)
        return;
    if (act == ACT_SOFTMAX) {
        long long r_count = (long long)rows;
#pragma omp parallel for schedule(static) if (n >= ACT_PARALLEL_MIN)
        for (long long r = 0; r < r_count; r++)
            softmax_row(x + (size_t)r * cols, cols);
        return;
    }
    long long chunks = (long long)((n + ACT_CHUNK - 1) / ACT_CHUNK);
#pragma omp parallel for schedule(static) if (n >= ACT_PARALLEL_MIN)
    for (long long ch = 0; ch < chunks; ch++) {
        size_t begin = (size_t)ch * ACT_CHUNK;
        size_t end = begin + ACT_CHUNK < n ? begin + ACT_CHUNK : n;
        forward_range(act, alpha, x, begin, end);
    }
}

static void softmax_backward_row(const float *z, const float *dy, float *dz, size_t cols,
                                 bool accumulate)
{
    /* Recomputes y = softmax(z) in the same order as forward, so y is bit-identical; then
     * dz = y * (dy - sum(dy * y)). */
    float m = z[0];
    for (size_t j = 1; j < cols; j++)
        m = z[j] > m ? z[j] : m;
    float sum = 0.0f;
    for (size_t j = 0; j < cols; j++)
        sum += expf(z[j] - m);
    float inv = 1.0f / sum;
    float dot = 0.0f;
    for (size_t j = 0; j < cols; j++)
        dot += dy[j] * (expf(z[j] - m) * inv);
    for (size_t j = 0; j < cols; j++) {
        float y = expf(z[j] - m) * inv;
        float g = y * (dy[j] - dot);
        dz[j] = accumulate ? dz[j] + g : g;
    }
}

/* g[i] = dy[i] * f'(z[i]) on [begin, end), then stored or added. */
static void backward_range(int act, float alpha, const float *z, const float *dy, float *dz,
                           size_t begin, size_t end, bool accumulate)
{
    float g[256];
    for (size_t b0 = begin; b0 < end; b0 += 256) {
        size_t len = end - b0 < 256 ? end - b0 : 256;
        const float *zb = z + b0, *db = dy + b0;
        switch (act) {
        case ACT_RELU:
#pragma omp simd
            for (size_t i = 0; i < len; i++) {
                float d = db[i]; /* loaded either way, so the select needs no branch */
                g[i] = zb[i] > 0.0f ? d : 0.0f;
            }
            break;
        case ACT_LEAKY_RELU:
#pragma omp simd
            for (size_t i = 0; i < len; i++) {
                float d = db[i];
                g[i] = zb[i] > 0.0f ? d : alpha * d;
            }
            break;
        case ACT_SIGMOID:
            for (size_t i = 0; i < len; i++) {
                float s = act_sigmoid(zb[i]);
                g[i] = db[i] * (s * (1.0f - s));
            }
            break;
        case ACT_TANH:
            for (size_t i = 0; i < len; i++) {
                float t = tanhf(zb[i]);
                g[i] = db[i] * (1.0f - t * t);
            }
            break;
        case ACT_GELU:
            for (size_t i = 0; i < len; i++)
                g[i] = db[i] * act_gelu_grad(zb[i]);
            break;
        default: /* linear */
            for (size_t i = 0; i < len; i++)
                g[i] = db[i];
            break;
        }
        float *out = dz + b0;
        if (accumulate) {
#pragma omp simd
            for (size_t i = 0; i < len; i++)
                out[i] += g[i];
        } else {
            memmove(out, g, len * sizeof *g);
        }
    }
}

void activation_backward(int act, float alpha, const float *z, const float *dy, float *dz,
                         size_t rows, size_t cols, bool accumulate)
{
    size_t n = rows * cols;
    if (n == 0)
        return;
    if (act == ACT_SOFTMAX) {
        long long r_count = (long long)rows;
#pragma omp parallel for schedule(static) if (n >= ACT_PARALLEL_MIN)
        for (long long r = 0; r < r_count; r++) {
            size_t o = (size_t)r * cols;
            softmax_backward_row(z + o, dy + o, dz + o, cols, accumulate);
        }
        return;
    }
    long long chunks = (long long)((n + ACT_CHUNK - 1) / ACT_CHUNK);
#pragma omp parallel for schedule(static) if (n >= ACT_PARALLEL_MIN)
    for (long long ch = 0; ch < chunks; ch++) {
        size_t begin = (size_t)ch * ACT_CHUNK;
        size_t end = begin + ACT_CHUNK < n ? begin + ACT_CHUNK : n;
        backward_range(act, alpha, z, dy, dz, begin, end, accumulate);
    }
}
