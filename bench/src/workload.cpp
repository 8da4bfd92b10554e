// Throughput measurement shared by `archetype bench` and bench_<model> (workload.hpp).
#include <archetype/bench/workload.hpp>

#include <archetype/backends/onednn/threads.hpp>
#include <archetype/bench/peak.hpp>
#include <archetype/codegen/freezing.hpp>
#include <archetype/codegen/training_plan.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <random>

namespace archetype::bench {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

onednn::Executable build_timed(const ModelInfo& info, int batch, onednn::Mode mode,
                               const onednn::Options& options, double& seconds) {
  const auto t0 = Clock::now();
  onednn::Options o = options;
  o.input_gradient = false;  // a training step updates parameters only (as the peer's)
  onednn::Executable executable(info.program, batch, mode, o);
  seconds = seconds_since(t0);
  return executable;
}

}  // namespace

std::optional<onednn::ConvAlgorithm> parse_conv_algorithm(std::string_view name) {
  if (name == "direct") return onednn::ConvAlgorithm::direct;
  if (name == "fastest") return onednn::ConvAlgorithm::fastest;
  if (name == "winograd") return onednn::ConvAlgorithm::winograd;
  return std::nullopt;
}

std::optional<onednn::Precision> parse_precision(std::string_view name) {
  if (name == "f32") return onednn::Precision::f32;
  if (name == "bf16") return onednn::Precision::bf16;
  return std::nullopt;
}

int effective_threads(int requested) {
  const onednn::ThreadGovernor governor(requested);
  if (governor.threads() < governor.max_threads()) {
    std::fprintf(stderr, "archetype: %s: not the figures of a quiet machine\n",
                 onednn::describe(governor).c_str());
  }
  return governor.threads();
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0;  // Linux: kilobytes
}

double step_flops(const ModelInfo& info, onednn::Mode mode, int batch) {
  const double forward = double(info.flops()) * batch;
  return mode == onednn::Mode::training ? 3.0 * forward : forward;
}

double step_flops(const ModelInfo& info, int batch, const std::vector<bool>& trainable) {
  if (trainable.empty()) return step_flops(info, onednn::Mode::training, batch);
  const codegen::TrainingPlan plan = codegen::plan_training(
      info.program, codegen::PlanOptions{.input_gradient = false, .trainable = trainable});
  double macs = 0;
  for (std::size_t o = 0; o < info.program.ops.size(); ++o) {
    const codegen::Op& op = info.program.ops[o];
    const double m = double(op.layer.macs);
    macs += m;                                                                      // forward
    if (plan.backward[o] && plan.needs_grad[std::size_t(op.inputs[0])]) macs += m;  // data
    if (plan.weight_gradient[o]) macs += m;                                         // weights
  }
  return 2.0 * macs * batch;
}

double estimated_bytes(const ModelInfo& info, onednn::Mode mode, int batch) {
  const double parameters = 4.0 * double(info.params);
  const ActivationBytes activations = info.activation_bytes(batch);
  if (mode == onednn::Mode::inference) return parameters + double(activations.inference_peak);
  return 3.0 * parameters + double(activations.training_saved);
}

double physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  return pages > 0 && page_size > 0 ? double(pages) * double(page_size) : 0.0;
}

Workload::Workload(const ModelInfo& info, int batch, onednn::Mode mode,
                   const onednn::Options& options)
    : batch_(batch),
      mode_(mode),
      input_(std::size_t(batch) * std::size_t(info.input.elements())),
      labels_(std::size_t(batch)),
      executable_(build_timed(info, batch, mode, options, setup_seconds_)) {
  // One fixed batch: inputs ~ N(0, 1) (the peer's torch.randn), labels uniform.
  std::mt19937_64 rng(0);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float& x : input_) x = normal(rng);
  std::uniform_int_distribution<int> label(0, int(info.output.elements()) - 1);
  for (int& y : labels_) y = label(rng);

  onednn::initialize_parameters(info.program, executable_.parameters(), executable_.buffers(), 0);
  if (mode == onednn::Mode::training) {
    sgd_.emplace(runtime::Optimizer::sgd(executable_.parameters().size(), sgd_options));
    // Frozen groups (Options::trainable) are not updated, as in training.
    if (!options.trainable.empty())
      sgd_->set_ranges(codegen::optimizer_ranges(info.program, options.trainable, {}));
  }
}

void Workload::step() {
  executable_.forward(input_);
  if (mode_ != onednn::Mode::training) return;
  last_loss_ = executable_.softmax_cross_entropy(labels_);
  executable_.backward();
  if (before_update_) before_update_();
  sgd_->step(executable_.parameters(), executable_.gradients(), learning_rate);
}

Timing timed(const std::function<void()>& step, int batch, int steps, double min_time) {
  for (int i = 0; i < warmup_steps; ++i) step();
  const auto t0 = Clock::now();
  int done = 0;
  while (done < steps || seconds_since(t0) < min_time) {
    step();
    ++done;
  }
  const double elapsed = seconds_since(t0);
  return Timing{double(batch) * done / elapsed, done, elapsed};
}

}  // namespace archetype::bench
