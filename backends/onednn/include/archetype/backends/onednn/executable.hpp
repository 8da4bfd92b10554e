#pragma once
/// \file
/// \brief The oneDNN (CPU) backend: a `Program` compiled for one batch size into oneDNN
/// primitives, created once and executed many times.
///
/// Data in and out of an Executable is plain fp32 NCHW (`batch x c x h x w`, row-major);
/// inside, layouts are chosen by oneDNN (`format_tag::any`) and kept blocked from layer to
/// layer, with reorders only at the edges. Parameters, gradients and buffers are the flat
/// blocks of `codegen/program.hpp` (PyTorch state_dict order, plain layouts), so the
/// optimizer is one loop over one array and checkpoints are one copy.

#include <archetype/codegen/backend.hpp>
#include <archetype/codegen/program.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <vector>

namespace archetype::onednn {

/// The contract's options (codegen/backend.hpp), shared with every backend.
using Mode = codegen::Mode;
using Precision =
    codegen::Precision;  ///< bf16: AVX512-BF16 where the CPU has it; plain-loop ops run in fp32
using ConvAlgorithm = codegen::ConvAlgorithm;

struct Options {
  int threads = 0;  ///< OpenMP threads for oneDNN (0: all cores)
  double batch_norm_momentum = 0.1;  ///< running = (1 - m) * running + m * batch (PyTorch)
  double batch_norm_epsilon = 1e-5;
  /// Synchronised BatchNorm (data-parallel training, `--sync-bn`): called in the forward
  /// pass of every BatchNorm with its per-channel sums of x and x^2, and in its backward
  /// with the sums of dy and dy * x_hat, to sum each array over all processes in place
  /// (blocking). The statistics are then those of the global batch: mean and variance over
  /// `batch_norm_processes` x batch images, and the backward's mean terms over the same
  /// (every process holds the same batch). Empty: each process uses its own batch. fp32 only.
  std::function<void(std::span<double>)> batch_norm_all_reduce{};
  int batch_norm_processes = 1;  ///< processes batch_norm_all_reduce sums over
  std::uint64_t dropout_seed =
      0x5eed;           ///< Dropout masks: codegen/dropout.hpp's draws (those of every backend)
  bool dropout = true;  ///< false: Dropout is the identity also in training, for parity checks
  /// direct: reproducible, quick to build; layouts chosen by oneDNN per primitive.
  /// winograd: Winograd for every 3x3 stride-1 layer oneDNN has it for (inference on a CPU
  /// without AVX-512, where oneDNN has none: ours, `own_winograd`), direct elsewhere; in
  /// fp32, values with a multiple of 16 channels are kept blocked by 16 channels everywhere
  /// (nChw16c; 8 and nChw8c on a CPU without AVX-512), the one
  /// layout both algorithms' kernels take, so that no reorder runs
  /// between layers of the two. Winograd rounds differently from direct (same accuracy, not
  /// the same bits).
  /// fastest: never slower than direct, as measured when the executable is built. It builds
  /// the Winograd plan: the layouts of winograd and, per 3x3 stride-1 layer and per pass
  /// (forward, backward data, backward weights), Winograd or direct, whichever runs this
  /// batch faster alone (about a second per distinct layer shape at batch 128). A layer's
  /// time leaves out what its layout costs the rest of the net (reorders at depthwise,
  /// squeeze-and-excitation and concatenation boundaries, their slower blocked kernels:
  /// MobileNetV2 and EfficientNet-B0, with no layer that may run Winograd, ran 15-28%
  /// slower in the Winograd plan's layouts than direct in issue 31's benchmark), so fastest
  /// then times one step (inference: a forward pass; training: forward and backward) of
  /// that plan and of the direct plan, whole, and keeps the Winograd plan only where it
  /// measured at least `ConvPlan::margin` faster: the direct plan itself elsewhere
  /// (`conv_plan()` says which, with both times). Building costs both plans' builds and a
  /// few steps of each (bf16 with no Winograd layer: one plan, which is direct's).
  ConvAlgorithm conv_algorithm = ConvAlgorithm::direct;
  /// Inference: run the folded program (`codegen::fold_inference`: BatchNorm folded into the
  /// convolution before it, residual sums and ReLUs as post-ops). An unfolded program is
  /// folded when the executable is built. false: every op runs as written (for checks).
  bool fold = true;
  /// Inference, folded, fp32: a 1x1 convolution and the depthwise convolution reading its
  /// result (`codegen::fuse_depthwise`: MobileNetV2's and EfficientNet's expansions) run as
  /// one kernel, which never stores the expanded tensor (ConvPlan::depthwise_fusions counts
  /// them): our own (`own_depthwise_pairs`), or oneDNN's convolution with a depthwise
  /// post-op where it has a kernel for the pair (at small images or batches it has none).
  /// oneDNN's takes values blocked by 16 channels only, so it runs in the Winograd plan's
  /// layouts (winograd, and fastest's candidate) alone: in direct's channels-last plan the
  /// two reorders around each pair cost what it saves (MobileNetV2, batch 32: 209 against
  /// 207 img/s). false: each runs alone (for A/B).
  bool fuse_depthwise = true;
  /// Inference, fp32, on a CPU with AVX-512, with `fuse_depthwise`: a 1x1 + depthwise pair
  /// runs as our own kernel (src/pointwise_depthwise.hpp), over channels-last or blocked
  /// values: in the direct plan (where oneDNN fuses no pair), for chains with SiLU (where
  /// oneDNN's fused kernel pays 0.27 ns a value for its swish), and where oneDNN has no
  /// fused kernel for the pair (MobileNetV2 at batch 1: 15 of its 16); oneDNN's keeps the
  /// other pairs of the Winograd plan (MobileNetV2's ReLU6 at batch 32: it ties or wins
  /// there). Its ring of rows stays in the cache and both activations run on values in
  /// registers. EfficientNet-B0's pairs at batch 8 (a pass): 27.8 -> 21.9 ms against the
  /// direct plan's unfused kernels (the first, 16 -> 96 channels at 112x112, 8.1 -> 3.7
  /// ms). false: oneDNN's kernels only (A/B).
  bool own_depthwise_pairs = true;
  /// Inference, fp32, on a CPU with AVX-512: a SiLU folded into a convolution runs as our
  /// own vectorised pass over the convolution's output, right after it, instead of oneDNN's
  /// swish post-op: convolution and pass run 1.03-1.21x faster than the convolution with
  /// the post-op (src/silu.hpp; EfficientNet-B0, batch 32: 140 -> 149 img/s). Left as
  /// post-ops: the SiLU between a fused 1x1 and depthwise pair, whose result is never
  /// stored, and those on outputs under 16 K values. false: every SiLU is oneDNN's (A/B).
  bool vector_silu = true;
  /// fp32, on a CPU with AVX2 and FMA but no AVX-512 (where oneDNN 2.6 has no Winograd),
  /// winograd and fastest: a 3x3 stride-1 convolution whose chain ends in ReLU or nothing (a
  /// residual sum allowed) may run Winograd's F(4x4, 3x3) as our own kernel over nChw8c
  /// values (src/winograd.hpp), in inference and in training's forward and, at pad 1, its
  /// data gradient (the weights gradient stays oneDNN's): always under winograd, under
  /// fastest per pass where it measured faster than oneDNN's direct kernel (2x faster where its
  /// transformed weights, 4x the weights, take over 16 MB). ResNet-18-CIFAR's 3x3 layers at
  /// batch 64 ran 1.5-3.2x faster than jit:avx2; fastest, same run: ResNet-18-CIFAR at
  /// batch 128 1.88x, ResNet-50 at 32 1.26x and at 1 1.24x (session 22). Peak RSS grows
  /// by 3x the weights of the layers that take it (ResNet-50 at 1: 226 -> 286 MB).
  /// Training, ResNet-18-CIFAR at 128: 1.34x. false: oneDNN's only (A/B).
  bool own_winograd = true;
  /// Inference: run a batch as passes of this many images through the whole network, one
  /// after the other (the last one filled up with zeros where the batch does not divide):
  /// the values and the scratchpad are then one pass's, and a pass's layers work in the
  /// cache. 0: `images_per_pass(program, batch, ...)`'s choice, the whole batch where its
  /// largest layer fits the last-level cache, else passes of what fits (8 images at
  /// least); a value of the batch or more: the whole batch. Issue 31's A/B (fastest, 5
  /// rounds), the chosen passes against one pass: at batch 32, passes of 8, peak RSS
  /// 595 -> 437 MB (ResNet-50), 272 -> 121 (MobileNetV2), 289 -> 138 (EfficientNet-B0); at
  /// batch 128, passes of 64, 403 -> 324 (ResNet-18-CIFAR), 562 -> 480 (VGG-16-CIFAR);
  /// setup 1.7-3.4x shorter (fastest times one pass); throughput 0.98-1.04x, inside the
  /// rounds' spread.
  /// Ignored in training (BatchNorm's statistics are the batch's).
  int images_per_pass = 0;
  /// Training: compute d(loss)/d(input) (`input_gradient()`). false skips every backward
  /// step that leads only there, e.g. the first convolution's backward data (training
  /// needs gradients of parameters only; LeNet-5 spends half its step there otherwise).
  bool input_gradient = true;
  Precision precision = Precision::f32;
  /// Check every op's output after its forward step and every gradient it writes (its
  /// inputs', its weights') after its backward step, and stop at the first value that is not
  /// finite with a `NumericsError` naming the op (`layer3.1.bn2 (BatchNorm): Inf in the
  /// backward pass, weight gradient`). Costs a pass over every value; off by default.
  bool check_numerics = false;
  /// Lay forward values and gradients out in one arena planned from their lifetimes (learnt
  /// while the executable is built, placed by codegen::pack_arena). false: a best-fit pool.
  bool plan_memory = true;
  /// Training: per parameter group (codegen::TrainingPlan::groups, state_dict order), whether
  /// it trains (codegen::trainable_mask, from layer paths). A frozen group's op computes no
  /// weight gradient (its gradients() stay zero) and keeps nothing only its weight gradient
  /// needed; a frozen BatchNorm normalises with its running statistics and leaves them
  /// unchanged. Empty: every group trains.
  std::vector<bool> trainable{};
  /// Training: every BatchNorm normalises with its running statistics, left unchanged, and
  /// its scale and shift train where their group does (codegen::PlanOptions).
  bool batch_norm_inference = false;
};

/// Thrown by forward() and backward() with Options::check_numerics at the first op whose
/// output or gradient holds a NaN or an infinity; what() names the op's path and kind, the
/// pass and the value.
struct NumericsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A parameter group's gradient is final (`Executable::on_gradient_ready`): the contract's
/// type, shared with every backend.
using GradientReady = codegen::GradientReady;

class Executable {
 public:
  using Options = onednn::Options;

  /// Builds every primitive of `program` for `batch` images. Throws `std::invalid_argument`
  /// for a batch < 1 and `std::runtime_error` naming the op (path and kind) that oneDNN
  /// cannot build.
  Executable(const codegen::ProgramView& program, int batch, Mode mode, const Options& options = {});
  ~Executable();
  Executable(Executable&&) noexcept;
  Executable& operator=(Executable&&) noexcept;
  Executable(const Executable&) = delete;
  Executable& operator=(const Executable&) = delete;

  [[nodiscard]] int batch() const;
  [[nodiscard]] Mode mode() const;
  /// The images one pass of forward() runs (Options::images_per_pass): the batch, except in
  /// inference where the batch runs as several passes.
  [[nodiscard]] int images_per_pass() const;

  /// The memory the executable holds besides its parameters, gradients and buffers, in bytes.
  struct Footprint {
    /// Forward values and gradients: one arena laid out from every value's lifetime (or,
    /// where that plan saves nothing, the buffers of a best-fit pool).
    std::size_t values = 0;
    /// The most bytes of values alive at one time: no layout of them needs less.
    std::size_t values_live_peak = 0;
    /// What a best-fit pool, handing out buffers in execution order, took for them.
    std::size_t values_best_fit = 0;
    /// The convolutions' shared scratchpad (Winograd's transforms, ...).
    std::size_t scratchpad = 0;
  };
  [[nodiscard]] Footprint footprint() const;

  /// What one step runs: the steps of the forward and of the backward pass (oneDNN
  /// primitives and the few plain loops), and how many of them are reorders, i.e. layout
  /// conversions: of values and gradients between ops (the input's and the output's
  /// included) and, in the backward pass, of weights and weight gradients for primitives
  /// whose layout differs from the forward one. The reorders of the parameters into the
  /// forward layouts, once per update, are not counted. `reference`: the steps of both
  /// passes that oneDNN runs with its reference kernel (plain loops, orders of magnitude
  /// slower than its optimized ones), which a layout no optimized kernel takes can cause;
  /// those writing less than 16 KB (a squeeze-and-excitation gate of a few dozen values
  /// per image, say) are not counted: they take microseconds.
  struct Passes {
    int forward = 0, forward_reorders = 0;
    int backward = 0, backward_reorders = 0;  ///< 0 for inference
    int reference = 0;
  };
  [[nodiscard]] Passes passes() const;

  /// The convolution plan the executable runs, and for ConvAlgorithm::fastest what chose it.
  struct ConvPlan {
    /// direct: direct's layouts and algorithms (also what fastest keeps when the Winograd
    /// plan is not faster); winograd: the Winograd plan, Winograd's layouts with Winograd
    /// where each layer chose it, maybe nowhere (Options::conv_algorithm winograd, or
    /// fastest where that plan measured faster).
    ConvAlgorithm algorithm = ConvAlgorithm::direct;
    /// Convolutions of the Winograd plan (the plan run, or fastest's candidate, kept or not)
    /// that run Winograd in at least one pass; 0 for Options::conv_algorithm direct.
    int winograd_convolutions = 0;
    /// fastest: the seconds of one step (inference: a forward pass; training: forward and
    /// backward) of the direct plan and of the Winograd plan, each the best of 3 to 30 runs
    /// after a warm-up, on zeroed parameters and input, measured while building; 0 where
    /// not measured (direct, winograd, and fastest where the two plans are one).
    double direct_seconds = 0, winograd_seconds = 0;
    /// fastest keeps the Winograd plan only where `winograd_seconds * margin` is below
    /// `direct_seconds`. Two plans within 3% are a tie in this machine's noise (issue 31's
    /// benchmark: VGG-16-CIFAR at batch 1, fastest 140.1 img/s with the Winograd plan's 378
    /// MB against direct's 142.3 img/s and 289 MB; EfficientNet-B0 likewise the run
    /// before), and on a tie the direct plan is the one with less memory and steadier.
    static constexpr double margin = 1.03;
    /// Inference: 1x1 + depthwise convolution pairs computed as one kernel, oneDNN's or ours
    /// (Options::fuse_depthwise, Options::own_depthwise_pairs).
    int depthwise_fusions = 0;
  };
  [[nodiscard]] ConvPlan conv_plan() const;

  /// The flat parameter block (program.params floats), read/write; initialise it with
  /// `initialize_parameters` or load it before the first forward. An inference executable
  /// derives its weights (layouts, folded BatchNorm) from this block and the buffers once,
  /// at the first forward after parameters() or buffers() was called: write through the
  /// span before the next forward, not after it.
  [[nodiscard]] std::span<float> parameters();
  /// Gradients of the last backward(), same layout as parameters(); empty for inference.
  [[nodiscard]] std::span<float> gradients();
  /// Registers `callback` (replacing any earlier one; empty: none), called during every
  /// backward() once per trainable parameter group, as soon as that group's gradient in
  /// gradients() is final, in the order of codegen::TrainingPlan::gradient_final (the
  /// backward's order): the hook where gradient all-reduce starts while the backward runs.
  /// `data` is gradients().data() + offset; `stream` is null.
  void on_gradient_ready(std::function<void(const GradientReady&)> callback);
  /// BatchNorm running statistics (program.buffers floats): per BN op, mean then variance.
  [[nodiscard]] std::span<float> buffers();

  /// Runs the forward pass on `input` (batch x input shape, NCHW) and returns the output
  /// (batch x output shape, NCHW; for a classifier: batch x classes logits).
  std::span<const float> forward(std::span<const float> input);

  /// Softmax cross-entropy of the last forward's logits against `labels` (batch values in
  /// [0, classes)): returns the mean loss over the batch and stores d(loss)/d(logits) for
  /// backward(). Throws std::out_of_range for a label outside [0, classes).
  float softmax_cross_entropy(std::span<const int> labels);

  /// The training forward passes run so far, which number Dropout's draws (the next forward
  /// draws those of pass `passes() + 1`): a caller that rebuilds or resumes a step sets it
  /// from its step count, so that its masks are those of an uninterrupted run.
  [[nodiscard]] std::uint64_t dropout_passes() const;
  void set_dropout_passes(std::uint64_t passes);
  /// Backward pass (training mode only) from the gradient stored by
  /// softmax_cross_entropy() or set by set_output_gradient(): overwrites gradients().
  void backward();

  /// Sets d(loss)/d(output) directly (batch x output shape), instead of the loss.
  void set_output_gradient(std::span<const float> gradient);

  /// d(loss)/d(input) of the last backward() (batch x input shape), for gradient checks;
  /// empty when built with `Options::input_gradient = false` or for inference.
  [[nodiscard]] std::span<const float> input_gradient();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

static_assert(codegen::Backend<Executable>);

/// The fewest images `images_per_pass` gives a pass where the batch has them: a pass of 4
/// images ran ResNet-50 (224x224, batch 32) 5-9% slower than one pass of 32 in 4 of 5
/// rounds (its 7x7 layers' matrix products have 4 x 49 rows), a pass of 8 as fast.
inline constexpr int min_images_per_pass = 8;

/// Options::images_per_pass's choice for an inference executable of `program` at `batch`:
/// the batch where one image's largest layer of the folded program (its largest input and
/// its output, in the precision's bytes), times the batch, fits in `cache_bytes`; else
/// passes of at most the images that fit, but of `min_images_per_pass` at least, and of
/// the size from half that up which computes the fewest images (the last pass is filled
/// up). `cache_bytes` 0: the last-level cache of CPU 0 (`last_level_cache_bytes`). With
/// 32 MB: ResNet-18-CIFAR and VGG-16-CIFAR at batch 128, passes of 64; ResNet-50,
/// MobileNetV2 and EfficientNet-B0 at batch 32, passes of 8; ResNet-20 at 128, one pass.
[[nodiscard]] int images_per_pass(const codegen::ProgramView& program, int batch,
                                  Precision precision, std::size_t cache_bytes = 0);

/// The size of CPU 0's last-level cache, one instance of it (Linux sysfs: the highest
/// `index*/level` under /sys/devices/system/cpu/cpu0/cache), or 32 MB where unknown.
[[nodiscard]] std::size_t last_level_cache_bytes();

/// Whether this CPU runs bfloat16 natively (AVX512-BF16), which `Precision::bf16` needs.
[[nodiscard]] bool native_bf16();

/// PyTorch's default initialisation, reproducible from `seed`: `codegen::initialize_parameters`
/// (the same for every backend).
void initialize_parameters(const codegen::ProgramView& program, std::span<float> parameters,
                           std::span<float> buffers, std::uint64_t seed);

}  // namespace archetype::onednn
