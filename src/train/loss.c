#include "train/loss.h"

#include <math.h>

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

static double cross_entropy(const struct loss_config *cfg, int k, const float *z, int32_t label,
                            float grad_scale, float *d)
{
    double max = z[0];
    for (int j = 1; j < k; j++)
        if (z[j] > max)
            max = z[j];
    double sum = 0;
    for (int j = 0; j < k; j++)
        sum += exp((double)z[j] - max);
    double lse = max + log(sum);
    double s = cfg->label_smoothing;
    double loss = 0;
    for (int j = 0; j < k; j++) {
        double t = (1.0 - s) * (j == label ? 1.0 : 0.0) + s / k;
        double log_p = (double)z[j] - lse;
        if (t != 0)
            loss -= t * log_p;
        if (d)
            d[j] = (float)(grad_scale * (exp(log_p) - t));
    }
    return loss;
}

static double binary_cross_entropy(int k, const float *z, int32_t label, float grad_scale, float *d)
{
    double loss = 0;
    for (int j = 0; j < k; j++) {
        double x = z[j], t = class_target(k, j, label);
        loss += fmax(x, 0.0) - x * t + log1p(exp(-fabs(x)));
        if (d) {
            /* sigmoid without overflow on either side */
            double p = x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
            d[j] = (float)(grad_scale * (p - t) / k);
        }
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
