#pragma once
/// \file
/// \brief The training loop: epochs of shuffled (optionally augmented) batches through a
/// compiled program, the optimizer over the flat parameter block, evaluation on the test
/// set after each epoch, metrics, atomic checkpoints and bit-for-bit resumption.

#include <archetype/codegen/backend.hpp>
#include <archetype/codegen/freezing.hpp>
#include <archetype/codegen/program.hpp>
#include <archetype/runtime/augment.hpp>
#include <archetype/runtime/dataset.hpp>
#include <archetype/runtime/metrics.hpp>
#include <archetype/runtime/optimizer.hpp>
#include <archetype/runtime/progress.hpp>
#include <archetype/runtime/schedule.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace archetype::runtime {

/// Where the training loop runs: the CPU (oneDNN) or an NVIDIA GPU (cuDNN, cuBLAS, CUDA
/// Graphs; only where the CUDA backend is built: `cuda_built()`).
enum class Device { cpu, cuda };

/// Whether this build has the cuDNN backend (the CUDA toolkit and cuDNN were found).
[[nodiscard]] bool cuda_built() noexcept;
/// Why `Device::cuda` cannot train here ("" when it can): no CUDA backend in this build, or
/// no usable GPU (the CUDA runtime's words).
[[nodiscard]] std::string cuda_unavailable_reason();

struct TrainOptions {
  Device device = Device::cpu;  ///< --device
  bool tf32 = false;            ///< cuda: TF32 tensor cores in convolutions and products
  /// cpu: stop at the first op whose output or gradient is not finite, with its path
  /// (--check-numerics). Without it a loss that is not finite stops the run all the same.
  bool check_numerics = false;
  int epochs = 10;
  int batch = 128;
  int eval_batch = 500;
  double lr = 0.1;
  std::string schedule = "cosine";  ///< constant | cosine | step | step:E1,E2,…
  int warmup_epochs = 0;
  std::string optimizer = "sgd";    ///< sgd | adam | adamw
  SgdOptions sgd{};
  AdamOptions adam{};
  std::uint64_t seed = 1;           ///< initialisation, shuffling, augmentation, dropout
  int threads = 0;                  ///< cpu: oneDNN threads, 0: all cores
  /// cpu: the training executable's 3x3 stride-1 convolutions: direct, Winograd, or the
  /// faster of the two timed per layer when the executable is built, that plan kept only
  /// where its whole step times 3% faster than the direct plan's (fastest,
  /// onednn::Options::conv_algorithm). (cuda: cuDNN measures its algorithms per layer itself.)
  codegen::ConvAlgorithm conv_algorithm = codegen::ConvAlgorithm::direct;
  codegen::Precision precision =
      codegen::Precision::f32;  ///< --precision (evaluation too; cpu and cuda)
  Augment augment{};
  std::filesystem::path checkpoint_dir;  ///< empty: no checkpoints
  bool resume = false;                   ///< continue from checkpoint_dir/checkpoint.bin
  std::filesystem::path metrics;         ///< empty: none; else STEM.csv and STEM.json
  std::filesystem::path init_parameters; ///< a parameter file to start from (else random)
  /// Layers (path prefixes) that --init never loads (`--init-skip PREFIX`).
  std::vector<std::string> init_fresh;
  /// Layers --init loads only where the file's shapes are theirs (a new head: `--new-head`).
  std::vector<std::string> init_resized;
  std::int64_t max_steps = 0;            ///< stop after this many steps in all (0: no limit)
  /// Data-parallel training over the MPI world (--distributed; on by itself under mpirun):
  /// `batch` is the global batch, split evenly over the processes; rank 0's initial
  /// parameters are broadcast; gradients are averaged over the processes before each
  /// update; only rank 0 writes checkpoints and metrics. docs/distributed.md.
  bool distributed = false;
  /// BatchNorm statistics over the global batch (every process's shard) rather than each
  /// process's own (--sync-bn; cpu).
  bool sync_batch_norm = false;
  double collective_timeout = 300;  ///< seconds a collective waits before ending the job
  /// The gradient all-reduce's bucket size, MB (PyTorch DDP's 25; the first bucket 1 MB, or
  /// this when smaller): codegen::gradient_buckets.
  double bucket_mb = 25;
  /// Transfer learning (cpu; codegen/freezing.hpp): layers frozen by path prefix (--freeze)
  /// and every layer before one (--freeze-until). A frozen layer computes and stores no
  /// weight gradient, keeps nothing only that needed, is not updated, and a frozen BatchNorm
  /// normalises with its running statistics, leaving them unchanged (Keras's behaviour).
  codegen::Freezing freezing;
  /// --unfreeze-at EPOCH:PREFIX: from epoch EPOCH (1-based) on, the layers under PREFIX train.
  struct Unfreeze {
    int epoch = 1;
    std::string prefix;
  };
  std::vector<Unfreeze> unfreeze_at;
  /// --lr-group PREFIX=LR: the layers under PREFIX learn at LR (scaled by the schedule like
  /// the base --lr); the last matching group wins.
  struct LearningRate {
    std::string prefix;
    double lr = 0;
  };
  std::vector<LearningRate> lr_groups;
  /// --bn-inference (cpu): every BatchNorm normalises with its running statistics and leaves
  /// them unchanged, trained or frozen, as Keras recommends when fine-tuning (`training=False`):
  /// batch statistics of a new task's few images would replace the ones the features were
  /// learnt with. Its scale and shift still train where their layer does.
  bool batch_norm_inference = false;
  /// Called with the flat gradient block (parameter order) of one training batch: the
  /// run's first batch, at the initial parameters (`epoch` 0; not on a resumed run), and
  /// the last batch of each epoch (`epoch` 1, 2, …): the loss gradient at the parameters
  /// that batch was computed with (before its update; weight decay not included). Empty:
  /// not called, and the gradients are never read.
  std::function<void(int epoch, std::span<const float> gradients)> on_gradients;
};

/// The arithmetic a run with these options trains in, as its metrics record it: "bf16"
/// (--precision bf16, cpu or cuda), "tf32" (cuda, --tf32) or "f32".
[[nodiscard]] std::string precision_of(const TrainOptions& options);

struct Evaluation {
  double loss = 0;
  double accuracy = 0;  ///< top-1
  double top5 = 0;
  std::size_t images = 0;
};

struct TrainResult {
  std::vector<EpochMetrics> epochs;
  std::vector<float> parameters;  ///< the final parameter block
  std::vector<float> buffers;     ///< the final BatchNorm statistics
  std::int64_t steps = 0;
  /// The per-channel statistics the training images were normalised with (their
  /// `Dataset::mean` and `stddev`; empty when they were not): what data evaluated with
  /// these parameters must be normalised with too.
  std::vector<float> mean, stddev;
  /// Seconds of this run's training epochs (evaluation excluded), and of them the seconds the
  /// loop waited for its next batch: the prefetching thread had not finished it (an image
  /// folder decoding slower than the step; the first batch of each epoch always waits).
  double train_seconds = 0;
  double data_wait_seconds = 0;
};

/// Checks --freeze, --freeze-until, --unfreeze-at and --lr-group against `program` (every
/// prefix names a layer, something trains in every epoch, the epochs and rates are in range,
/// the device runs them); throws std::invalid_argument naming the flag and the problem.
/// `train` calls it; a front end may call it before loading data.
void check_transfer(const codegen::ProgramView& program, const TrainOptions& options);
/// Trains `program` (its input shape must match the data's) and returns the metrics of
/// every epoch. Throws std::invalid_argument for options or data that do not fit, with a
/// sentence naming the problem. (`train<N>`, train_net.hpp: the same from a net type.)
TrainResult train(const codegen::ProgramView& program, const std::string& model_name,
                  const Dataset& train_data, const Dataset& test_data, const TrainOptions& options,
                  Progress& progress);

/// Inference on `data` with the given parameters and statistics, on `device`'s backend
/// (`threads`: the CPU's; `precision`: either's).
Evaluation evaluate(const codegen::ProgramView& program, std::span<const float> parameters,
                    std::span<const float> buffers, const Dataset& data, int batch, int threads,
                    codegen::Precision precision = codegen::Precision::f32,
                    Device device = Device::cpu);

}  // namespace archetype::runtime
