#pragma once
/// \file
/// \brief Optimizers over the flat parameter block: one vectorised pass per step.
///
/// Semantics are PyTorch's (torch.optim.SGD, Adam, AdamW), so a run can be compared with
/// the PyTorch peer step by step.

#include <archetype/codegen/backend.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace archetype::runtime {

struct SgdOptions {
  double momentum = 0.9;
  bool nesterov = false;
  double weight_decay = 5e-4;  ///< L2 added to the gradient: g + wd * p
};

struct AdamOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
  double weight_decay = 0.0;
  bool decoupled = false;  ///< AdamW: p *= 1 - lr * wd, instead of g += wd * p
};

/// One optimizer of the two families, with its state (momentum buffer; Adam moments).
class Optimizer {
 public:
  static Optimizer sgd(std::size_t parameters, const SgdOptions& options);
  static Optimizer adam(std::size_t parameters, const AdamOptions& options);
  /// The optimizer of `spec`, the specification every backend's optimizer follows.
  static Optimizer from(std::size_t parameters, const codegen::OptimizerSpec& spec);

  /// The runs of the block to update and their learning-rate factors (`OptimizerSpec::ranges`:
  /// what is in none stays as it is, its state too). Empty: the whole block at `lr`. Throws
  /// std::invalid_argument for a run outside the block.
  void set_ranges(std::vector<codegen::ParameterRange> ranges);

  /// p <- update(p, g) with learning rate `lr` (times each range's factor). Sizes must equal
  /// the block size.
  void step(std::span<float> parameters, std::span<const float> gradients, double lr);

  /// The state to checkpoint (and restore, same sizes), and the steps taken.
  [[nodiscard]] std::span<const float> state() const { return state_; }
  [[nodiscard]] std::span<float> state() { return state_; }
  [[nodiscard]] std::int64_t steps() const { return steps_; }
  void set_steps(std::int64_t steps) { steps_ = steps; }
  [[nodiscard]] std::string describe() const;

 private:
  enum class Kind { sgd, adam };
  Kind kind_ = Kind::sgd;
  SgdOptions sgd_{};
  AdamOptions adam_{};
  std::vector<float> state_;  // SGD: velocity [n]; Adam: m [n] then v [n]
  std::size_t size_ = 0;
  std::int64_t steps_ = 0;
  std::vector<codegen::ParameterRange> ranges_;  // empty: the whole block

  void update(std::size_t first, std::size_t n, float* p, const float* g, float lr);
};

}  // namespace archetype::runtime
