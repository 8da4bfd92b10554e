// `archetype bench MODEL`: training and inference throughput of one model of the zoo on the
// oneDNN backend, measured like the PyTorch peer (../shared/peers/pytorch_cpu.py) measures
// it: one fixed batch of synthetic inputs, 2 warm-up steps, then at least --steps steps and
// at least --min-time seconds; a training step is forward + softmax cross-entropy +
// backward + SGD (lr 0.01, momentum 0.9, weight decay 5e-4).
#include "commands.hpp"
#include "format.hpp"

#include <archetype/architectures/registry.hpp>
#include <archetype/backends/onednn/executable.hpp>
#include <archetype/runtime/optimizer.hpp>

#include <nlohmann/json.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace archetype::cli {
namespace {

struct BenchOptions {
  std::string model;
  int batch = 128;
  int threads = 0;
  int steps = 10;
  double min_time = 2.0;
  std::string mode = "both";
  bool fashion_mnist = false;
  std::string conv_algorithm = "direct";
  double peak_gflops = 444.0;
  bool json = false;
};

inline constexpr int warmup_steps = 2;
inline constexpr double learning_rate = 0.01;

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Timing {
  double images_per_second = 0;
  int steps = 0;
  double seconds = 0;
};

/// The peer's `timed`: warm-up, then at least `steps` steps and at least `min_time` seconds.
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

struct Measured {
  Timing timing;
  double setup_seconds = 0;  // building the Executable
  float last_loss = 0;       // training only: the loss of the last step (a sanity check)
};

onednn::ConvAlgorithm parse_algorithm(const std::string& name) {
  if (name == "fastest") return onednn::ConvAlgorithm::fastest;
  if (name == "winograd") return onednn::ConvAlgorithm::winograd;
  return onednn::ConvAlgorithm::direct;
}

/// The thread count oneDNN runs with: --threads, else OpenMP's default (OMP_NUM_THREADS or
/// all cores).
int effective_threads(int requested) {
  if (requested > 0) return requested;
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    const int n = std::atoi(env);
    if (n > 0) return n;
  }
  return int(std::thread::hardware_concurrency());
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0;  // Linux: kilobytes
}

int run_bench(const BenchOptions& o) {
  const ModelEntry* m = model_or_report(o.model);
  if (m == nullptr) return exit_usage;
  const ModelInfo& info = o.fashion_mnist ? m->fashion_mnist : m->native;
  const Shape in = info.input;
  const std::size_t input_size = std::size_t(o.batch) * std::size_t(in.c * in.h * in.w);
  const std::int64_t classes = info.output.c * info.output.h * info.output.w;

  // One fixed batch: inputs ~ N(0, 1) (the peer's torch.randn), labels uniform.
  std::mt19937_64 rng(0);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> input(input_size);
  for (float& x : input) x = normal(rng);
  std::uniform_int_distribution<int> label(0, int(classes) - 1);
  std::vector<int> labels(std::size_t(o.batch));
  for (int& y : labels) y = label(rng);

  onednn::Options eo;
  eo.threads = o.threads;
  eo.conv_algorithm = parse_algorithm(o.conv_algorithm);

  std::optional<Measured> train, infer;
  if (o.mode == "train" || o.mode == "both") {
    const auto t0 = Clock::now();
    onednn::Executable exec(info.program, o.batch, onednn::Mode::training, eo);
    const double setup = seconds_since(t0);
    onednn::initialize_parameters(info.program, exec.parameters(), exec.buffers(), 0);
    runtime::Optimizer sgd =
        runtime::Optimizer::sgd(exec.parameters().size(), runtime::SgdOptions{0.9, false, 5e-4});
    float loss = 0;
    const Timing t = timed(
        [&] {
          exec.forward(input);
          loss = exec.softmax_cross_entropy(labels);
          exec.backward();
          sgd.step(exec.parameters(), exec.gradients(), learning_rate);
        },
        o.batch, o.steps, o.min_time);
    train = Measured{t, setup, loss};
  }
  if (o.mode == "inference" || o.mode == "both") {
    const auto t0 = Clock::now();
    onednn::Executable exec(info.program, o.batch, onednn::Mode::inference, eo);
    const double setup = seconds_since(t0);
    onednn::initialize_parameters(info.program, exec.parameters(), exec.buffers(), 0);
    const Timing t = timed([&] { exec.forward(input); }, o.batch, o.steps, o.min_time);
    infer = Measured{t, setup, 0};
  }
  const double rss = peak_rss_mb();

  // Analytic FLOP/s: forward = 2 x MACs per image, a training step = 3 x forward.
  const double forward_flops = double(info.flops());
  auto gflops = [&](const std::optional<Measured>& r, double factor) {
    return r ? factor * forward_flops * r->timing.images_per_second / 1e9 : 0.0;
  };
  const double train_gflops = gflops(train, 3.0);
  const double infer_gflops = gflops(infer, 1.0);
  const int threads = effective_threads(o.threads);
  const std::string name = std::string(m->name);

  if (o.json) {
    auto or_null = [](bool has, double value) { return has ? nlohmann::json(value) : nlohmann::json(nullptr); };
    nlohmann::json row = {
        {"peer", "archetype"},
        {"model", name},
        {"params", info.params},
        {"batch", o.batch},
        {"threads", threads},
        {"input", nlohmann::json::array({in.c, in.h, in.w})},
        {"fashion_mnist", o.fashion_mnist},
        {"conv_algorithm", o.conv_algorithm},
        {"mode", o.mode},
        {"train_img_s", or_null(bool(train), train ? train->timing.images_per_second : 0)},
        {"infer_img_s", or_null(bool(infer), infer ? infer->timing.images_per_second : 0)},
        {"train_gflops", or_null(bool(train), train_gflops)},
        {"infer_gflops", or_null(bool(infer), infer_gflops)},
        {"train_pct_peak", or_null(bool(train), 100.0 * train_gflops / o.peak_gflops)},
        {"infer_pct_peak", or_null(bool(infer), 100.0 * infer_gflops / o.peak_gflops)},
        {"peak_gflops", o.peak_gflops},
        {"forward_flops_per_image", info.flops()},
        {"train_steps", train ? train->timing.steps : 0},
        {"infer_steps", infer ? infer->timing.steps : 0},
        {"train_seconds", or_null(bool(train), train ? train->timing.seconds : 0)},
        {"infer_seconds", or_null(bool(infer), infer ? infer->timing.seconds : 0)},
        {"train_setup_s", or_null(bool(train), train ? train->setup_seconds : 0)},
        {"infer_setup_s", or_null(bool(infer), infer ? infer->setup_seconds : 0)},
        {"train_last_loss", or_null(bool(train), train ? double(train->last_loss) : 0)},
        {"peak_rss_mb", rss},
    };
    std::cout << row.dump() << std::endl;
    return 0;
  }

  char line[512];
  std::string text;
  std::snprintf(line, sizeof line, "%-16s params=%11s batch=%d threads=%d conv=%s", name.c_str(),
                with_separators(info.params).c_str(), o.batch, threads, o.conv_algorithm.c_str());
  text += line;
  if (train) {
    std::snprintf(line, sizeof line, " train=%9.1f img/s (%.1f GFLOP/s, %.1f%% of peak, setup %.2f s)",
                  train->timing.images_per_second, train_gflops, 100.0 * train_gflops / o.peak_gflops,
                  train->setup_seconds);
    text += line;
  }
  if (infer) {
    std::snprintf(line, sizeof line, " infer=%9.1f img/s (%.1f GFLOP/s, %.1f%% of peak, setup %.2f s)",
                  infer->timing.images_per_second, infer_gflops, 100.0 * infer_gflops / o.peak_gflops,
                  infer->setup_seconds);
    text += line;
  }
  std::snprintf(line, sizeof line, " rss=%.0f MB", rss);
  text += line;
  std::cout << text << std::endl;
  return 0;
}

}  // namespace

Command add_bench(CLI::App& app) {
  auto options = std::make_shared<BenchOptions>();
  CLI::App* sub = app.add_subcommand(
      "bench",
      "Training and inference throughput of a model on the CPU (oneDNN), synthetic inputs, measured "
      "like the PyTorch peer (../shared/peers/pytorch_cpu.py)");
  auto& o = *options;
  sub->add_option("model", o.model, "Model name (see archetype list)")->required();
  sub->add_option("--batch", o.batch, "Batch size")->check(CLI::Range(1, 65536))->capture_default_str();
  sub->add_option("--threads", o.threads, "oneDNN threads (0: all cores)")->check(CLI::Range(0, 1024))->capture_default_str();
  sub->add_option("--steps", o.steps, "Timed steps, at least (after 2 warm-up steps)")
      ->check(CLI::Range(1, 1000000))->capture_default_str();
  sub->add_option("--min-time", o.min_time, "Seconds per measurement, at least")
      ->check(CLI::Range(0.0, 86400.0))->capture_default_str();
  sub->add_option("--mode", o.mode, "train, inference or both")
      ->check(CLI::IsMember({"train", "inference", "both"}))->capture_default_str();
  sub->add_flag("--fashion-mnist", o.fashion_mnist, "1x28x28 inputs through the model's input adapter");
  sub->add_option("--conv-algorithm", o.conv_algorithm,
                  "direct, fastest (Winograd or direct per 3x3 stride-1 layer, measured at setup) or winograd")
      ->check(CLI::IsMember({"direct", "fastest", "winograd"}))->capture_default_str();
  sub->add_option("--peak-gflops", o.peak_gflops,
                  "fp32 peak for the % of peak (default: the measured FMA peak of this machine, 2 Zen 5 cores)")
      ->check(CLI::PositiveNumber)->capture_default_str();
  sub->add_flag("--json", o.json, "One JSON object per line (keys compatible with the peer's rows)");
  return Command{sub, [options] { return run_bench(*options); }};
}

}  // namespace archetype::cli
