#include "train/loss.h"

#include <stdlib.h>
#include <string.h>

#include "core/ns_util.h"
#include "kernels/nsk.h"

/* Classes whose probabilities fit on the stack; more take the heap. */
enum { LOSS_MAX_STACK_CLASSES = 256 };

struct loss_config loss_config_from_spec(const struct spec *spec, bool regression)
{
    struct loss_config cfg = {.type = spec->loss.type, .regression = regression};
    if (spec->loss.type == LOSS_CROSS_ENTROPY)
        cfg.label_smoothing = spec->loss.label_smoothing;
    return cfg;
}

int loss_predict(const struct loss_config *cfg, int k, const float *out)
{
    if (cfg->regression || k < 1)
        return -1;
    if (k == 1)
        return out[0] > 0.0f ? 1 : 0;
    int best = 0;
    for (int j = 1; j < k; j++)
        if (out[j] > out[best])
            best = j;
    return best;
}

/* The target of output j: one-hot for classification (one output: the label itself). */
static double class_target(int k, int j, int32_t label)
{
    if (k == 1)
        return (double)label;
    return j == label ? 1.0 : 0.0;
}

/* In float on netspec's own functions (kernels/nsk.h), so the gradient, and with it every
 * trained model, is the same on every C library and CPU: p = nsk_softmax_row(z), the softmax
 * everyone else uses, d = grad_scale (p - t); the loss -sum t log p with
 * log p = (z - max) - nsk_logf(sum of e^(z - max)), each term added in double. (Until the
 * arithmetic contract this ran in double on libm's exp and log: models trained before it
 * differ in their last bits.) */
static double cross_entropy(const struct loss_config *cfg, int k, const float *z, int32_t label,
                            float grad_scale, float *d)
{
    float p[LOSS_MAX_STACK_CLASSES], *probs = k <= LOSS_MAX_STACK_CLASSES ? p : ns_xmalloc((size_t)k * sizeof *p);
    float m = z[0], sum = 0.0f;
    for (int j = 1; j < k; j++)
        m = z[j] > m ? z[j] : m;
    for (int j = 0; j < k; j++)
        sum += nsk_expf(z[j] - m);
    float log_sum = nsk_logf(sum);
    memcpy(probs, z, (size_t)k * sizeof *probs);
    nsk_softmax_row(probs, (size_t)k);
    float s = (float)cfg->label_smoothing;
    float spread = s / (float)k, peak = (1.0f - s) + spread;
    double loss = 0;
    for (int j = 0; j < k; j++) {
        float t = j == label ? peak : spread;
        float log_p = (z[j] - m) - log_sum;
        if (t != 0.0f)
            loss -= (double)t * (double)log_p;
        if (d)
            d[j] = grad_scale * (probs[j] - t);
    }
    if (probs != p)
        free(probs);
    return loss;
}

/* Per output, in float on nsk.h: the loss max(x, 0) - x t + log(1 + e^-|x|) (nsk_logf; for
 * e^-|x| below float's epsilon that is 0, absolutely off by less than 2^-24), the gradient
 * grad_scale (sigmoid(x) - t) / k with nsk_sigmoidf, the sigmoid the emitted classifier uses.
 * (Formerly double on libm.) */
static double binary_cross_entropy(int k, const float *z, int32_t label, float grad_scale, float *d)
{
    double loss = 0;
    for (int j = 0; j < k; j++) {
        float x = z[j], t = (float)class_target(k, j, label);
        float ax = x < 0.0f ? -x : x;
        float term = ((x > 0.0f ? x : 0.0f) - x * t) + nsk_logf(1.0f + nsk_expf(-ax));
        loss += (double)term;
        if (d)
            d[j] = grad_scale * (nsk_sigmoidf(x) - t) / (float)k;
    }
    return loss / k;
}

static double mean_squared(const struct loss_config *cfg, int k, const float *z, int32_t label,
                           float target, float grad_scale, float *d)
{
    double loss = 0;
    for (int j = 0; j < k; j++) {
        double t = cfg->regression ? (double)target : class_target(k, j, label);
        double e = (double)z[j] - t;
        loss += e * e;
        if (d)
            d[j] = (float)(grad_scale * 2.0 * e / k);
    }
    return loss / k;
}

double loss_sample(const struct loss_config *cfg, int k, const float *out, int32_t label, float target,
                   float grad_scale, float *d_out)
{
    switch (cfg->type) {
    case LOSS_CROSS_ENTROPY:
        return cross_entropy(cfg, k, out, label, grad_scale, d_out);
    case LOSS_BINARY_CROSS_ENTROPY:
        return binary_cross_entropy(k, out, label, grad_scale, d_out);
    default:
        return mean_squared(cfg, k, out, label, target, grad_scale, d_out);
    }
}

double loss_batch(const struct loss_config *cfg, int n, int k, const float *out, const int32_t *labels,
                  const float *targets, float grad_scale, float *d_out, size_t *correct)
{
    double sum = 0;
    for (int i = 0; i < n; i++) {
        const float *row = out + (size_t)i * (size_t)k;
        int32_t label = labels ? labels[i] : 0;
        float target = targets ? targets[i] : 0.0f;
        sum += loss_sample(cfg, k, row, label, target, grad_scale,
                           d_out ? d_out + (size_t)i * (size_t)k : NULL);
        if (correct && !cfg->regression && labels && loss_predict(cfg, k, row) == label)
            (*correct)++;
    }
    return sum;
}
