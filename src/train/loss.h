/* Losses on the model's outputs (logits), their gradients and the predicted class.
 *
 *   struct loss_config lc = loss_config_from_spec(spec, regression);
 *   size_t correct = 0;
 *   double sum = loss_batch(&lc, n, k, logits, labels, NULL, 1.0f / n, d_logits, &correct);
 *
 * Per sample: cross_entropy = -sum_j t_j log softmax(z)_j with t = (1 - s) one-hot + s / k
 * (s = label_smoothing), computed through log-sum-exp so large logits cannot overflow;
 * binary_cross_entropy = mean over outputs of the cross-entropy of sigmoid(z_j) against the
 * one-hot target (one output: the target is the label 0 or 1), in the stable form
 * max(z, 0) - z t + log(1 + exp(-|z|)); mse = mean over outputs of (z_j - t_j)^2 with one-hot
 * targets for classification or the value target for regression.
 * The batch loss is the sum of the per-sample losses in sample order, in double, so it does
 * not depend on threads. The per-sample math runs in float on netspec's own functions
 * (kernels/nsk.h: nsk_softmax_row, nsk_logf, nsk_sigmoidf), never on the C library, so
 * gradients and trained models are the same bits on every platform (the arithmetic contract,
 * docs/DESIGN.md); mse is plain IEEE arithmetic in double. The cross-entropy's probabilities are
 * nsk_softmax_row's, the softmax of the softmax op, predict and the emitted classify.
 */
#ifndef LOSS_H
#define LOSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spec/spec.h"

struct loss_config {
    int type;               /* enum spec_loss_type */
    double label_smoothing; /* cross_entropy only */
    bool regression;        /* targets are values, not class labels */
};

struct loss_config loss_config_from_spec(const struct spec *spec, bool regression);
/* The class a row of outputs predicts: the argmax (first on ties), or for one
 * binary_cross_entropy output z > 0. -1 for regression. */
int loss_predict(const struct loss_config *cfg, int k, const float *out /* (k) */);
/* One sample's loss; d_out (k, may be NULL) = grad_scale * dloss/dout. */
double loss_sample(const struct loss_config *cfg, int k, const float *out /* (k) */, int32_t label,
                   float target, float grad_scale, float *d_out);
/* The sum over n samples of loss_sample. labels (n) for classification, targets (n) for
 * regression; d_out (n, k) or NULL; *correct (may be NULL) += samples predicted right. */
double loss_batch(const struct loss_config *cfg, int n, int k, const float *out /* (n, k) */,
                  const int32_t *labels, const float *targets, float grad_scale, float *d_out,
                  size_t *correct);

#endif
