#pragma once
/// \file
/// \brief Throughput measurement shared by `archetype bench` and the Google Benchmark
/// executables `bench_<model>`: one model (its ModelInfo) compiled on the oneDNN backend
/// for one batch size, fed one fixed batch of synthetic inputs, stepped many times.
///
/// Conventions (the PyTorch peer's, ../shared/peers/pytorch_cpu.py): inputs ~ N(0, 1),
/// labels uniform in [0, classes), both drawn once from seed 0; a training step is forward
/// + softmax cross-entropy + backward + SGD (lr 0.01, momentum 0.9, weight decay 5e-4);
/// an inference step is one forward pass. FLOPs are analytic: 2 x MACs per image forward
/// (the compile-time MACs of convolutions and linear layers), a training step 3 x forward.
/// Library `archetype_bench_core`; it does not depend on Google Benchmark.

#include <archetype/architectures/registry.hpp>
#include <archetype/backends/onednn/executable.hpp>
#include <archetype/runtime/optimizer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace archetype::bench {

inline constexpr double learning_rate = 0.01;
inline constexpr runtime::SgdOptions sgd_options{0.9, false, 5e-4};
/// Steps run before timing starts (the peer's warm-up).
inline constexpr int warmup_steps = 2;

/// "direct", "fastest" or "winograd"; nullopt for anything else.
[[nodiscard]] std::optional<onednn::ConvAlgorithm> parse_conv_algorithm(std::string_view name);
/// "f32" or "bf16"; nullopt otherwise.
[[nodiscard]] std::optional<onednn::Precision> parse_precision(std::string_view name);

/// The thread count a benchmark runs with for `requested` (Options::threads): `requested`
/// when > 0, else OMP_NUM_THREADS when set, else the cores this process may use less those
/// other processes kept busy since it started (onednn::ThreadGovernor's first decision; a
/// benchmark keeps it throughout, so that its figures are of one configuration). Says so on
/// stderr when the cores are busy: such figures are not those of a quiet machine.
[[nodiscard]] int effective_threads(int requested);

/// Peak resident set size of this process so far, in MB (2^20 bytes): getrusage's
/// ru_maxrss. It never decreases, so it covers everything the process ran before.
[[nodiscard]] double peak_rss_mb();

/// Analytic FLOPs of one step over the whole batch: 2 x MACs x batch for inference,
/// 3 x that for a training step (forward + backward data + backward weights).
[[nodiscard]] double step_flops(const ModelInfo& info, onednn::Mode mode, int batch);
/// A training step's analytic FLOPs with frozen groups (`trainable`, the plan's groups): the
/// forward, plus each backward step's data gradient where its input needs one and its weight
/// gradient where its group trains (each about the forward's MACs). Empty: 3 x forward.
[[nodiscard]] double step_flops(const ModelInfo& info, int batch,
                                const std::vector<bool>& trainable);

/// Bytes a training (or inference) workload needs at least: the parameter block once for
/// inference; parameters, gradients and SGD momentum plus the saved activations
/// (`activation_bytes`) for training. An estimate to refuse runs that cannot fit, not a
/// measurement.
[[nodiscard]] double estimated_bytes(const ModelInfo& info, onednn::Mode mode, int batch);

/// Physical memory of the machine in bytes (sysconf), 0 when unknown.
[[nodiscard]] double physical_memory_bytes();

/// One model compiled for one batch size and mode, with its parameters initialised
/// (PyTorch's default initialisation, seed 0) and one fixed synthetic batch; `step()`
/// runs one inference or training step on it.
class Workload {
 public:
  /// Builds the Executable (timed: `setup_seconds()`). Throws what the Executable throws.
  Workload(const ModelInfo& info, int batch, onednn::Mode mode, const onednn::Options& options);

  /// Inference: forward. Training: forward, softmax cross-entropy, backward, SGD update.
  void step();

  [[nodiscard]] int batch() const { return batch_; }
  [[nodiscard]] onednn::Mode mode() const { return mode_; }
  /// Seconds spent building the Executable (primitive creation; with
  /// ConvAlgorithm::fastest also the per-layer algorithm measurement and building and
  /// timing the whole direct plan against it).
  [[nodiscard]] double setup_seconds() const { return setup_seconds_; }
  /// The loss of the last training step (a sanity check that training ran), 0 otherwise.
  [[nodiscard]] float last_loss() const { return last_loss_; }
  /// What the Executable holds for values and scratchpad (Executable::memory()).
  [[nodiscard]] onednn::Executable::Footprint footprint() const { return executable_.footprint(); }
  /// What one step runs, reorders counted (Executable::passes()).
  [[nodiscard]] onednn::Executable::Passes passes() const { return executable_.passes(); }
  /// The executable (data-parallel benchmarks register the gradient all-reduce's hook).
  [[nodiscard]] onednn::Executable& executable() { return executable_; }
  /// Training: called after the backward pass, before the SGD update (the gradient
  /// all-reduce completes there). Empty: nothing.
  void before_update(std::function<void()> callback) { before_update_ = std::move(callback); }

 private:
  int batch_;
  onednn::Mode mode_;
  std::vector<float> input_;
  std::vector<int> labels_;
  double setup_seconds_ = 0;  // set while executable_ is built: declared before it
  onednn::Executable executable_;
  std::optional<runtime::Optimizer> sgd_;  // training only
  float last_loss_ = 0;
  std::function<void()> before_update_;
};

/// The result of `timed`.
struct Timing {
  double images_per_second = 0;
  int steps = 0;       ///< timed steps (warm-up excluded)
  double seconds = 0;  ///< wall-clock time of the timed steps
};

/// The peer's `timed`: `warmup_steps` untimed steps, then at least `steps` steps and at
/// least `min_time` seconds, wall clock.
[[nodiscard]] Timing timed(const std::function<void()>& step, int batch, int steps,
                           double min_time);

}  // namespace archetype::bench
