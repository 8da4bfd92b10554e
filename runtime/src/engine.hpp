#pragma once
// What the training loop (trainer.cpp) asks of a backend: one training step, the flat
// blocks to checkpoint, and evaluation batches. One engine per backend: the oneDNN one
// (engine_onednn.cpp: TrainStep and EvalStep, the optimizer on the host) and the cuDNN one
// (engine_cudnn.cpp, where the CUDA backend is built: the whole step on the device, a CUDA
// Graph replayed from the second step). Private to runtime/.
#include <archetype/codegen/program.hpp>
#include <archetype/runtime/distributed.hpp>
#include <archetype/runtime/trainer.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace archetype::runtime {

class Engine {
 public:
  virtual ~Engine() = default;

  struct Result {
    float loss = 0;                 ///< mean softmax cross-entropy of the batch
    std::span<const float> logits;  ///< batch x classes, valid until the next call
  };
  /// One step (forward, loss, backward, optimizer update) on a full training batch. Throws
  /// std::runtime_error when the loss is not finite (the parameters are then not updated).
  virtual Result step(std::span<const float> images, std::span<const int> labels, double lr) = 0;

  /// The flat blocks, read/write (a resumed run writes them before its first step).
  virtual std::span<float> parameters() = 0;
  virtual std::span<float> buffers() = 0;
  virtual std::span<float> optimizer_state() = 0;
  virtual void set_optimizer_steps(std::int64_t steps) = 0;
  /// The gradients of the last step (before its update).
  virtual std::span<const float> gradients() = 0;

  /// Called between steps: follows the load on the cores (onednn::ThreadGovernor) and returns
  /// a line for people when the engine changed its thread count (or starts below its
  /// maximum). Engines without a CPU thread pool return nothing.
  virtual std::optional<std::string> adapt_to_load() { return std::nullopt; }

  /// Called before each epoch's first step (0-based `epoch`): applies what --unfreeze-at
  /// changes then, and returns a line for people when something changed.
  virtual std::optional<std::string> begin_epoch(int epoch) {
    (void)epoch;
    return std::nullopt;
  }

  /// Starts an evaluation pass: the inference program takes the current parameters and
  /// running statistics (built at the first call).
  virtual void begin_evaluation() = 0;
  /// Logits (eval_batch() x classes) of one evaluation batch (inference: BatchNorm with the
  /// running statistics, Dropout off), with what the last begin_evaluation() took.
  virtual std::span<const float> evaluate(std::span<const float> images) = 0;
  [[nodiscard]] virtual int eval_batch() const = 0;
};

/// The optimizers a TrainOptions can name (`optimizer`: sgd | adam | adamw), parsed once for
/// both engines. Throws std::invalid_argument for any other name.
enum class OptimizerKind { sgd, adam, adamw };
OptimizerKind optimizer_kind(const std::string& name);
/// The optimizer `options` name, as the one specification both engines' optimizers follow
/// (the host's runtime::Optimizer, the cuDNN backend's device update).
codegen::OptimizerSpec optimizer_spec(const TrainOptions& options);

/// What trains in `epoch` (0-based): --freeze and --freeze-until, less what --unfreeze-at has
/// unfrozen by then (codegen::trainable_mask's order: the plan's parameter groups). Empty
/// when every group trains. Throws std::invalid_argument for a prefix that names no layer.
std::vector<bool> trainable_at(const codegen::ProgramView& program, const TrainOptions& options,
                               int epoch);
/// `optimizer_spec(options)` with the runs of `trainable` groups and --lr-group's factors.
codegen::OptimizerSpec optimizer_spec(const codegen::ProgramView& program,
                                      const TrainOptions& options,
                                      const std::vector<bool>& trainable);
/// "12 of 62 layers train (1,234,567 of 23,512,130 parameters)".
std::string describe_trainable(const codegen::ProgramView& program,
                               const std::vector<bool>& trainable);

/// Inference of one batch (of the size it was made for) with fixed parameters and statistics.
using Evaluator = std::function<std::span<const float>(std::span<const float> images)>;
Evaluator make_onednn_evaluator(const codegen::ProgramView& program,
                                std::span<const float> parameters, std::span<const float> buffers,
                                int batch, int threads, codegen::Precision precision);
Evaluator make_cudnn_evaluator(const codegen::ProgramView& program,
                               std::span<const float> parameters, std::span<const float> buffers,
                               int batch, codegen::Precision precision);

/// The engine of `options.device` for `program`, training batch `options.batch` (this
/// process's shard) and evaluation batch `eval_batch`, its gradients all-reduced over
/// `processes` (more than one) and its BatchNorm statistics too (`sync_batch_norm`). Throws
/// std::invalid_argument when that backend is not built or its device is not there, with
/// the reason.
std::unique_ptr<Engine> make_engine(const codegen::ProgramView& program,
                                    const TrainOptions& options, int eval_batch,
                                    Processes& processes);

std::unique_ptr<Engine> make_onednn_engine(const codegen::ProgramView& program,
                                           const TrainOptions& options, int eval_batch,
                                           Processes& processes);
/// cudnn::unavailable_reason() (engine_cudnn.cpp, where the CUDA backend is built).
std::string cudnn_unavailable_reason();
/// With more than one process: one GPU each (the node-local rank's), gradients averaged
/// over NCCL (its id made by rank 0 and broadcast through `processes`).
std::unique_ptr<Engine> make_cudnn_engine(const codegen::ProgramView& program,
                                          const TrainOptions& options, int eval_batch,
                                          Processes& processes);

}  // namespace archetype::runtime
