#pragma once
/// \file
/// \brief The contract every backend keeps: the options they share, one loss and label
/// validation, one optimizer specification, and the `Backend` concept that
/// `onednn::Executable` and `cudnn::Executable` model (each header static_asserts it, and
/// tests/backends/contract runs one typed suite against both).
///
/// A backend builds an executable from a Program for one batch size and mode; data crosses
/// it as plain fp32 NCHW host arrays; parameters, gradients and buffers are the flat blocks
/// of `codegen/program.hpp` (PyTorch state_dict order). Dropout draws are
/// codegen/dropout.hpp's, the training plan is codegen/training_plan.hpp's, and so is the
/// order in which `on_gradient_ready` reports final gradients (`gradient_final`).

#include <archetype/codegen/program.hpp>

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace archetype::codegen {

/// What an executable is built for.
enum class Mode {
  training,   ///< forward with batch statistics and saved tensors, backward, gradients
  inference,  ///< forward only, BatchNorm with running statistics, Dropout off
};

/// Number format of activations, weights and gradients inside an executable.
enum class Precision {
  f32,   ///< fp32 everywhere
  bf16,  ///< bfloat16 activations, weights and activation gradients in the primitives;
         ///< fp32 master parameters, parameter gradients, BatchNorm statistics, logits, loss
};

/// How convolutions choose their algorithm: a hint. The oneDNN backend follows it (see
/// onednn::Options::conv_algorithm); the cuDNN backend measures its algorithms per layer
/// itself whatever the hint says.
enum class ConvAlgorithm {
  direct,    ///< direct convolution everywhere: reproducible, quick to build
  fastest,   ///< per layer and pass, whichever runs this batch faster, measured once; never
             ///< slower than direct (oneDNN: times the whole plan against direct's)
  winograd,  ///< Winograd wherever the backend has it for the layer
};

/// The optimizer of a training step over the flat parameter block, with PyTorch's semantics
/// (torch.optim.SGD, Adam, AdamW): the one specification the host implementation
/// (runtime::Optimizer) and the device one (the cuDNN backend's update) both follow.
/// SGD: d = g + wd p; v = d at the first step, else mu v + d; p -= lr (Nesterov: d + mu v,
/// else v). Adam: m, v moments, bias-corrected, eps added to sqrt(v) / sqrt(1 - beta2^t);
/// AdamW (`decoupled`): p *= 1 - lr wd instead of g += wd p.
/// A run of the parameter block the optimizer updates, at `factor` times the learning rate.
struct ParameterRange {
  std::int64_t offset = 0;
  std::int64_t size = 0;
  double factor = 1.0;
};

struct OptimizerSpec {
  enum class Kind { sgd, adam };
  Kind kind = Kind::sgd;
  double momentum = 0.9;       ///< SGD
  bool nesterov = false;       ///< SGD
  double weight_decay = 5e-4;  ///< SGD and Adam: g + wd p; AdamW: p *= 1 - lr wd
  double beta1 = 0.9;          ///< Adam
  double beta2 = 0.999;        ///< Adam
  double epsilon = 1e-8;       ///< Adam
  bool decoupled = false;      ///< AdamW
  /// The runs updated and their learning-rate factors (codegen/freezing.hpp's
  /// `optimizer_ranges`): frozen parameters are in none, and keep their values and their
  /// state. Empty: the whole block, at the learning rate.
  std::vector<ParameterRange> ranges;
};

/// The one validation of a loss's labels: `batch` labels, each in [0, classes). Throws
/// std::invalid_argument for a wrong count and std::out_of_range naming the first label
/// outside the range and its image; `who` starts the message ("archetype::onednn").
inline void check_labels(std::span<const int> labels, int batch, std::int64_t classes,
                         const char* who) {
  if (std::int64_t(labels.size()) != batch) {
    throw std::invalid_argument(std::string(who) + ": softmax_cross_entropy() expected " +
                                std::to_string(batch) + " labels, got " +
                                std::to_string(labels.size()));
  }
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= classes) {
      throw std::out_of_range(std::string(who) + ": label " + std::to_string(labels[i]) +
                              " of image " + std::to_string(i) + " is outside [0, " +
                              std::to_string(classes) + ")");
    }
  }
}

/// Mean softmax cross-entropy of `logits` (batch x classes) against checked `labels`, and
/// d(loss)/d(logits) into `gradient` (same size): the host definition (log-sum-exp shifted by
/// the row's maximum, in double).
inline float softmax_cross_entropy(std::span<const float> logits, std::span<const int> labels,
                                   int batch, std::int64_t classes, std::span<float> gradient) {
  double loss = 0;
  for (int n = 0; n < batch; ++n) {
    const float* z = logits.data() + n * classes;
    float* g = gradient.data() + n * classes;
    const float top = *std::max_element(z, z + classes);
    double sum = 0;
    for (std::int64_t c = 0; c < classes; ++c) sum += std::exp(double(z[c]) - top);
    const double log_sum = std::log(sum);
    const int label = labels[std::size_t(n)];
    loss -= double(z[label]) - top - log_sum;  // -log softmax[label]
    for (std::int64_t c = 0; c < classes; ++c) {
      const double p = std::exp(double(z[c]) - top - log_sum);
      g[c] = float((p - (c == label ? 1.0 : 0.0)) / batch);
    }
  }
  return float(loss / batch);
}

/// A parameter group's gradient is final: what `on_gradient_ready` reports, once per
/// trainable group and backward pass, in the order of TrainingPlan::gradient_final (each
/// backend's header says when its callback runs).
struct GradientReady {
  int group = 0;            ///< index in TrainingPlan::groups (state_dict order)
  std::int64_t offset = 0;  ///< its first gradient in gradients()
  std::int64_t size = 0;    ///< its number of gradients
  /// Where the backward pass wrote them: host memory on oneDNN (gradients().data() +
  /// offset), device memory on cuDNN.
  float* data = nullptr;
  /// cuDNN: the cudaStream_t the step runs on, where work that must follow the gradient
  /// (an all-reduce of `data`) is enqueued. oneDNN: null (its callback runs when the
  /// gradient is final).
  void* stream = nullptr;
};
using GradientCallback = std::function<void(const GradientReady&)>;

/// What the runtime and the tests ask of an executable of any backend.
template <class E>
concept Backend = requires(E& e, const E& ce, const ProgramView& program, std::span<const float> x,
                           std::span<const int> labels, const typename E::Options& options) {
  requires std::constructible_from<E, const ProgramView&, int, Mode, const typename E::Options&>;
  requires std::movable<E>;
  { ce.batch() } -> std::same_as<int>;
  { ce.mode() } -> std::same_as<Mode>;
  { e.parameters() } -> std::same_as<std::span<float>>;
  { e.gradients() } -> std::same_as<std::span<float>>;
  { e.buffers() } -> std::same_as<std::span<float>>;
  { e.forward(x) } -> std::same_as<std::span<const float>>;
  { e.softmax_cross_entropy(labels) } -> std::same_as<float>;
  { e.set_output_gradient(x) } -> std::same_as<void>;
  { e.backward() } -> std::same_as<void>;
  { e.input_gradient() } -> std::same_as<std::span<const float>>;
  { e.on_gradient_ready(GradientCallback{}) } -> std::same_as<void>;
};

}  // namespace archetype::codegen
