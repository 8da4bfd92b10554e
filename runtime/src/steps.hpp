#pragma once
/// \file
/// \brief The two generated steps every training loop is made of, built from a Program:
///
/// - `TrainStep`: forward in op order (batch statistics), softmax cross-entropy, backward in
///   reverse op order reading only the forward values the plan saved
///   (`codegen::TrainingPlan::saved`; every other buffer is reused), and the optimizer's update as
///   one pass over the flat parameter block.
/// - `EvalStep`: the folded inference program (`codegen::fold_inference`: BatchNorm folded
///   into convolutions, residual sums and ReLUs as post-ops), running statistics, Dropout
///   off, activation memory reused by liveness.
///
/// Both execute on the oneDNN backend: the oneDNN engine's steps (engine_onednn.cpp),
/// private to runtime/ so that its public headers name no backend type.

#include <archetype/backends/onednn/executable.hpp>
#include <archetype/codegen/program.hpp>
#include <archetype/runtime/optimizer.hpp>

#include <functional>
#include <span>
#include <utility>

namespace archetype::runtime {

class TrainStep {
 public:
  /// Builds the step for `batch` images; parameters start at zero (initialise or load them
  /// through parameters() and buffers()).
  TrainStep(const codegen::ProgramView& program, int batch, const onednn::Options& options,
            Optimizer optimizer);

  struct Result {
    float loss = 0;                 ///< mean softmax cross-entropy of the batch
    std::span<const float> logits;  ///< batch x classes, valid until the next step
  };
  /// One step on `images` (batch x input shape, NCHW) with `labels` and learning rate `lr`.
  /// Throws std::runtime_error when the loss is not finite (parameters then not updated).
  Result operator()(std::span<const float> images, std::span<const int> labels, double lr);

  /// This step built anew with `options` (another thread count: oneDNN fixes it when a
  /// primitive is created), continuing where this one is: the parameters and running
  /// statistics are copied, the optimizer (its state and step count, which also numbers
  /// Dropout's draws) moves over. This step is then spent.
  [[nodiscard]] TrainStep rebuilt(const onednn::Options& options) &&;

  [[nodiscard]] std::span<float> parameters() { return executable_.parameters(); }
  [[nodiscard]] std::span<float> buffers() { return executable_.buffers(); }
  [[nodiscard]] Optimizer& optimizer() { return optimizer_; }
  [[nodiscard]] onednn::Executable& executable() { return executable_; }
  [[nodiscard]] int batch() const { return executable_.batch(); }
  /// Called after the backward pass, before the optimizer's update (data-parallel
  /// training: the gradient all-reduce completes there). Empty: nothing.
  void before_update(std::function<void()> callback) { before_update_ = std::move(callback); }

 private:
  codegen::ProgramView program_;
  onednn::Executable executable_;
  Optimizer optimizer_;
  std::function<void()> before_update_;
};

class EvalStep {
 public:
  /// `program` as lowered (it is folded here, by codegen) or already folded.
  EvalStep(const codegen::ProgramView& program, int batch, const onednn::Options& options);

  /// Copies the parameters and running statistics (sizes must be the program's).
  void load(std::span<const float> parameters, std::span<const float> buffers);
  /// Logits of `images` (batch x input shape, NCHW): batch x classes.
  std::span<const float> operator()(std::span<const float> images) {
    return executable_.forward(images);
  }

  [[nodiscard]] onednn::Executable& executable() { return executable_; }
  [[nodiscard]] int batch() const { return executable_.batch(); }

 private:
  onednn::Executable executable_;
};

}  // namespace archetype::runtime
