#pragma once
/// \file
/// \brief The cuDNN/cuBLAS (GPU) backend: a `Program` compiled for one batch size into
/// cuDNN convolutions and batch norms, cuBLAS matrix products and small CUDA kernels,
/// planned once and executed many times; the whole training step (forward, loss, backward,
/// optimizer) can be captured once as a CUDA Graph and replayed.
///
/// The interface mirrors `archetype::onednn::Executable`: the same constructor arguments
/// (program, batch, mode, options), data in and out as plain fp32 NCHW host arrays, and the
/// flat parameter, gradient and buffer blocks of `codegen/program.hpp` (PyTorch state_dict
/// order) as host-visible `std::span<float>`s. This header needs no CUDA header.
///
/// Host and device. The device copies of the parameters, the running statistics and the
/// optimizer state are the master copies; each has a host mirror:
/// - `parameters()`, `buffers()` and `optimizer_state()` first bring the mirror up to date
///   (a device-to-host copy when the device changed it since the last call), then hand it
///   out for reading *and writing*: the next call that runs on the device (`forward`,
///   `backward`, `update`, `train_step`) first copies a mirror that was handed out back to
///   the device. A span stays valid, but its values are those of the moment of the call:
///   call again after a step to read the new values.
/// - `gradients()` and `input_gradient()` are read-only snapshots copied from the device at
///   the call (writing to them changes nothing on the device).
/// - `forward()` returns the output copied to a host array (valid until the next call).
/// Every public call returns with the device idle (the stream synchronised), so host
/// timers around a call measure the device work.

#include <archetype/codegen/backend.hpp>
#include <archetype/codegen/program.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

namespace archetype::cudnn {

/// The contract's options (codegen/backend.hpp), shared with every backend.
using Mode = codegen::Mode;
using Precision = codegen::Precision;

/// A parameter group's gradient is final (`Executable::on_gradient_ready`): the contract's
/// type, shared with every backend.
using GradientReady = codegen::GradientReady;

/// The optimizer `update()` and `train_step()` run over the flat parameter block, on the
/// device: codegen::OptimizerSpec, the specification runtime::Optimizer follows on the host.
using OptimizerOptions = codegen::OptimizerSpec;

struct Options {
  int device = 0;  ///< CUDA device ordinal
  double batch_norm_momentum = 0.1;  ///< running = (1 - m) running + m batch (PyTorch, unbiased variance)
  double batch_norm_epsilon = 1e-5;  ///< at least CUDNN_BN_MIN_EPSILON (1e-5)
  std::uint64_t dropout_seed = 0x5eed;  ///< Dropout masks: a counter-based hash of (seed, step, element)
  bool dropout = true;  ///< false: Dropout is the identity also in training, for parity checks
  /// Inference: accepted for symmetry with oneDNN; the cuDNN backend runs every op as
  /// written (BatchNorm folding is not implemented on it yet): results are the same.
  bool fold = true;
  /// Training: compute d(loss)/d(input) (`input_gradient()`); false skips every backward
  /// step that leads only there.
  bool input_gradient = true;
  /// TF32 tensor cores for convolutions and matrix products (faster, 10-bit mantissa
  /// products). false: every algorithm is plain fp32 FMA (CUDNN_FMA_MATH, CUBLAS_DEFAULT_MATH),
  /// as the parity tests require.
  bool tf32 = false;
  /// bf16: bfloat16 mixed precision, as PyTorch's bf16 autocast: activations and their gradients
  /// are bf16 in the arena; convolutions (cuDNN, tensor cores) and matrix products (cuBLAS)
  /// read bf16 and accumulate in fp32; parameters, weight gradients, running statistics, the
  /// optimizer and the loss stay fp32 (the parameters are rounded to a bf16 copy at the start
  /// of every forward pass; bf16 weight gradients are widened right after their op's backward).
  /// BatchNorm runs this backend's own kernels (statistics in double); data in and out of the
  /// executable stays fp32.
  Precision precision = Precision::f32;
  /// With bf16: activations channels-last (NHWC) where every op of the program has an NHWC
  /// implementation here (not LocalResponseNorm, PadTo, Resize, nor a Linear reading a
  /// flattened map larger than 1x1; `channels_last()` says what was chosen), so that cuDNN's
  /// tensor-core convolutions run without transposes (filters are kept KRSC in the bf16
  /// copy). Data in and out stays NCHW. fp32 is always NCHW.
  bool channels_last = true;
  /// With bf16: a BatchNorm whose output only a ReLU reads writes the ReLU's output itself
  /// (max(y, 0)) and its backward masks the ReLU's gradient: one pass over the activations
  /// less each way. The results are those of the two ops apart (ReLU commutes with bf16
  /// rounding). false: every op runs as written.
  bool fuse_batch_norm_relu = true;
  /// Convolution algorithms restricted to deterministic ones (same bits run to run).
  bool deterministic = false;
  /// `train_step()` captures its whole step as a CUDA Graph at its second call (the first
  /// runs eagerly and warms cuDNN and cuBLAS up) and replays it afterwards. false: every
  /// step is launched op by op (for debugging, and to compare).
  bool cuda_graph = true;
  /// Largest workspace a convolution algorithm may use, in bytes (the one workspace is the
  /// largest need among the chosen algorithms, never more than this).
  std::int64_t workspace_limit = std::int64_t{1} << 30;
  OptimizerOptions optimizer{};
  /// Data-parallel training over NCCL, one process per GPU (`nccl_ranks` >= 1; 0: none; one
  /// rank runs the path alone, for tests; the plug-in must be built with NCCL, else the
  /// executable is refused): during the backward pass each
  /// bucket of the plan's gradient buckets (codegen::gradient_buckets) is averaged over the
  /// ranks (ncclAllReduce with ncclAvg, in place in the fp32 gradient block) on a stream of
  /// its own, started as soon as its last group's gradient is final; the update waits for
  /// all of them. The whole is captured in the CUDA Graph with the rest of the step.
  /// `nccl_id`: rank 0's `nccl_unique_id()`, the same bytes on every rank (sent through MPI).
  int nccl_ranks = 0;
  int nccl_rank = 0;
  std::array<unsigned char, 128> nccl_id{};
};

/// A new NCCL unique id (ncclGetUniqueId), made on rank 0 and sent to every rank. Throws
/// std::runtime_error when the plug-in has no NCCL or no device.
[[nodiscard]] std::array<unsigned char, 128> nccl_unique_id();

/// Why no usable CUDA device is present ("" when there is one: the CUDA runtime sees a
/// device of compute capability 7.0 or newer and cuDNN loads). Tests skip on a non-empty
/// answer.
[[nodiscard]] std::string unavailable_reason(int device = 0);

class Executable {
 public:
  using Options = cudnn::Options;

  /// Plans the memory, creates the cuDNN descriptors, chooses every convolution algorithm
  /// (measured once per distinct geometry with cudnnFind*AlgorithmEx and cached) and
  /// allocates the device memory: parameters, gradients, buffers, optimizer state, one
  /// activation arena and one workspace. Throws `std::invalid_argument` for a batch < 1 or
  /// an inconsistent program, and `std::runtime_error` naming the op (path and kind) that
  /// CUDA, cuDNN or cuBLAS refuses, or when no device is usable (`unavailable_reason`).
  Executable(const codegen::ProgramView& program, int batch, Mode mode, const Options& options = {});
  ~Executable();
  Executable(Executable&&) noexcept;
  Executable& operator=(Executable&&) noexcept;
  Executable(const Executable&) = delete;
  Executable& operator=(const Executable&) = delete;

  [[nodiscard]] int batch() const;
  [[nodiscard]] Mode mode() const;

  /// The flat parameter block (program.params floats), host mirror (see the file comment).
  [[nodiscard]] std::span<float> parameters();
  /// Gradients of the last backward(), same layout as parameters(); a snapshot.
  [[nodiscard]] std::span<float> gradients();
  /// Registers `callback` (replacing any earlier one; empty: none): the hook where gradient
  /// all-reduce joins the step. It is called on the host while a backward pass is *enqueued*
  /// (by backward(), by train_step() when it runs eagerly, and once while train_step()
  /// records its CUDA Graph), once per trainable parameter group, in the order of
  /// codegen::TrainingPlan::gradient_final, at the point of the stream (`ready.stream`, a
  /// cudaStream_t) after which that group's gradient (`ready.data`, `ready.size` floats of
  /// device memory) is final. So the work it enqueues on that stream (an NCCL all-reduce, a
  /// copy) runs there in every step, graph replays included: after the group's backward and
  /// before the optimizer's update. The device may not have reached that point when the
  /// callback returns; for a host notification in every step, the callback enqueues one
  /// (cudaLaunchHostFunc). It must enqueue only work a graph can capture (no
  /// synchronisation, no allocation). Registering drops a captured graph: the next
  /// train_step() records one with the new callback's work.
  void on_gradient_ready(std::function<void(const GradientReady&)> callback);
  /// BatchNorm running statistics (program.buffers floats): per BN op, mean then variance.
  [[nodiscard]] std::span<float> buffers();
  /// The optimizer's state: SGD with momentum: the velocity [params]; Adam: m then v
  /// [2 x params]; empty for SGD without momentum. Host mirror, read/write.
  [[nodiscard]] std::span<float> optimizer_state();
  /// Optimizer steps taken (SGD's first step sets the velocity; Adam's bias correction).
  [[nodiscard]] std::int64_t optimizer_steps();
  void set_optimizer_steps(std::int64_t steps);

  /// Runs the forward pass on `input` (batch x input shape, NCHW) and returns the output
  /// (batch x output shape, NCHW; for a classifier: batch x classes logits).
  std::span<const float> forward(std::span<const float> input);

  /// Softmax cross-entropy of the last forward's logits against `labels` (batch values in
  /// [0, classes)), computed on the device: returns the mean loss and stores
  /// d(loss)/d(logits) for backward(). Throws std::out_of_range for a label outside
  /// [0, classes).
  float softmax_cross_entropy(std::span<const int> labels);

  /// Backward pass (training only) from the gradient stored by softmax_cross_entropy() or
  /// set by set_output_gradient(): overwrites gradients().
  void backward();

  /// Sets d(loss)/d(output) directly (batch x output shape), instead of the loss.
  void set_output_gradient(std::span<const float> gradient);

  /// d(loss)/d(input) of the last backward() (batch x input shape), a snapshot; empty when
  /// built with `Options::input_gradient = false` or for inference.
  [[nodiscard]] std::span<const float> input_gradient();

  /// One optimizer step (Options::optimizer) from the gradients of the last backward(),
  /// with learning rate `lr`, on the device.
  void update(double lr);

  struct StepResult {
    float loss = 0;                 ///< mean softmax cross-entropy of the batch
    std::span<const float> logits;  ///< batch x classes, valid until the next call
  };
  /// The whole training step on the device: forward, softmax cross-entropy, backward and the
  /// optimizer's update with learning rate `lr` (a CUDA Graph replay when
  /// Options::cuda_graph, see there). Throws std::runtime_error when the loss is not finite;
  /// the parameters are then not updated (the update kernel reads the loss first).
  StepResult train_step(std::span<const float> images, std::span<const int> labels, double lr);

  /// Whether train_step() now replays a captured graph (false before its second call, or
  /// without Options::cuda_graph).
  [[nodiscard]] bool graph_captured() const;
  /// Whether the activations are channels-last (Options::channels_last with bf16, where the
  /// program allows it).
  [[nodiscard]] bool channels_last() const;
  /// Device memory the executable holds, in bytes: {activation arena, workspace, everything}.
  struct Memory {
    std::int64_t arena = 0, workspace = 0, total = 0;
  };
  [[nodiscard]] Memory memory() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

static_assert(codegen::Backend<Executable>);

}  // namespace archetype::cudnn
