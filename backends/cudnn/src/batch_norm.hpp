#pragma once
// Internal: the arithmetic of the bf16 path's BatchNorm (kernels_norm.cu), per channel, for the
// device and for the host test that checks it (cpu.cudnn.BatchNormMath.*) against finite
// differences. PyTorch's definitions: normalise with the biased batch variance, keep the
// unbiased one in the running variance, running = (1 - momentum) running + momentum batch.
#include "layout.hpp"

#include <cmath>

namespace archetype::cudnn::batch_norm {

struct Statistics {
  double mean = 0, inverse_std = 0;         ///< of the batch: 1 / sqrt(biased variance + eps)
  double running_mean = 0, running_var = 0;  ///< updated
};

/// From the channel's sum and sum of squares over its m elements.
ARCHETYPE_HOST_DEVICE inline Statistics statistics(double sum, double sum_squares, double m, double epsilon,
                                                   double momentum, double running_mean, double running_var) {
  Statistics s;
  s.mean = sum / m;
  const double var = fmax(sum_squares / m - s.mean * s.mean, 0.0);
  s.inverse_std = 1.0 / sqrt(var + epsilon);
  const double unbiased = m > 1 ? var * m / (m - 1) : var;
  s.running_mean = (1.0 - momentum) * running_mean + momentum * s.mean;
  s.running_var = (1.0 - momentum) * running_var + momentum * unbiased;
  return s;
}

/// y = (x - mean) gamma / std + beta.
ARCHETYPE_HOST_DEVICE inline float normalize(float x, float mean, float inverse_std, float gamma, float beta) {
  return (x - mean) * (gamma * inverse_std) + beta;
}

struct Gradients {
  double dgamma = 0, dbeta = 0;
  double mean_dy = 0;  ///< sum dy / m
  double slope = 0;    ///< sum dy (x - mean) / (m var), var + eps = 1 / inverse_std^2
};

/// From the channel's sums of dy and of dy (x - mean) over its m elements.
ARCHETYPE_HOST_DEVICE inline Gradients gradients(double sum_dy, double sum_dy_centered, double m,
                                                 double inverse_std) {
  Gradients g;
  g.dgamma = sum_dy_centered * inverse_std;
  g.dbeta = sum_dy;
  g.mean_dy = sum_dy / m;
  g.slope = sum_dy_centered / m * inverse_std * inverse_std;
  return g;
}

/// With a ReLU absorbed (the BatchNorm writes max(y, 0)): the output, and the gradient that
/// reaches the BatchNorm from the ReLU's output gradient (dy where that output is positive).
ARCHETYPE_HOST_DEVICE inline float relu(float y) { return y > 0.f ? y : 0.f; }
ARCHETYPE_HOST_DEVICE inline float through_relu(float dy, float relu_output) { return relu_output > 0.f ? dy : 0.f; }

/// dx = gamma / std (dy - mean(dy) - (x - mean) slope).
ARCHETYPE_HOST_DEVICE inline float input_gradient(float dy, float x, float mean, float inverse_std, float gamma,
                                                  float mean_dy, float slope) {
  return gamma * inverse_std * (dy - mean_dy - (x - mean) * slope);
}

}  // namespace archetype::cudnn::batch_norm
