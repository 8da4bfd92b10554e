// The Google Benchmark suite of one model (model_benchmarks.hpp).
#include <archetype/bench/model_benchmarks.hpp>

#include <archetype/bench/peak.hpp>
#include <archetype/bench/workload.hpp>

#include "flags.hpp"

#include <benchmark/benchmark.h>

#if ARCHETYPE_HAVE_CUDA
#include <archetype/backends/cudnn/executable.hpp>
#include <archetype/codegen/initialize.hpp>
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace archetype::bench {
namespace {

constexpr int exit_usage = 2;
constexpr int inference_batches[] = {1, 32, 128};
constexpr int training_batch = 128;
/// --device cuda also times a training step at 256 (issue 7 compares 128 and 256).
constexpr int cuda_training_batches[] = {128, 256};
/// How long bench_<model> measures the peak at start when none is given.
constexpr double quick_peak_seconds = 0.4;

struct Config {
  std::string program;  // argv[0]'s name, for messages
  const ModelEntry* model = nullptr;
  bool fashion_mnist = false;
  int threads = 0;
  std::string conv_algorithm = "direct";
  std::string precision = "f32";
  bool cuda = false;        // --device cuda: the cuDNN backend
  bool tf32 = false;        // --tf32 (cuda)
  bool cuda_graph = true;   // --no-graph (cuda): the training step launched op by op
  onednn::Options options;
  double peak_gflops = 0;  // 0: unknown, no %peak
  std::string peak_source;

  [[nodiscard]] const ModelInfo& info() const {
    return fashion_mnist ? model->fashion_mnist : model->native;
  }
};

void print_usage(std::ostream& out, std::string_view program, std::string_view model) {
  out << "usage: " << program
      << " [--threads N] [--conv-algorithm direct|fastest|winograd] [--precision f32|bf16]\n"
         "       [--fashion-mnist] [--peak-gflops X] [--device cpu|cuda [--tf32] [--no-graph]]\n"
         "       [--benchmark_...]\n"
         "  Google Benchmark suite of "
      << model
      << " on the oneDNN backend: inference at batch 1, 32, 128 and\n"
         "  one training step (forward, softmax cross-entropy, backward, SGD momentum) at batch\n"
         "  128, on one fixed batch of synthetic inputs. Counters: img/s; GFLOP/s, analytic (2 x "
         "MACs per image\n"
         "  forward, training 3 x forward); %peak of the fp32 peak; setup_s (building the\n"
         "  executable); p50_ms, p99_ms (the median and 99th percentile\n"
         "  of the timed steps' wall times); peak_rss_MB (getrusage\n"
         "  ru_maxrss of the whole process so far: filter one benchmark for its own).\n"
         "  --threads N          oneDNN threads (default: every core this process may use)\n"
         "  --conv-algorithm A   direct (default), fastest (Winograd or direct per layer,\n"
         "                       measured at setup, kept where the whole step times\n"
         "                       faster than direct's) or winograd\n"
         "  --precision P        f32 (default) or bf16 (bfloat16 activations and weights,\n"
         "                       fp32 master weights; %peak stays relative to the fp32 peak)\n"
         "  --fashion-mnist      1x28x28 inputs through the model's input adapter\n"
         "  --peak-gflops X      fp32 peak in GFLOP/s at these threads, for %peak (default:\n"
         "                       $ARCHETYPE_PEAK_GFLOPS, else measured at start for 0.4 s)\n"
         "  --device cuda        the cuDNN backend on GPU 0 instead (where built and a GPU is\n"
         "                       present; exit code 77 with the reason otherwise): inference\n"
         "                       at batch 1, 32, 128 (host images in, host logits out) and the\n"
         "                       whole training step on the device (forward, loss, backward,\n"
         "                       SGD momentum; a CUDA Graph replayed) at batch 128 and 256,\n"
         "                       each step ending with the loss read by the host. Counters:\n"
         "                       img/s, GFLOP/s, device_MB, setup_s; no %peak. fp32 unless\n"
         "                       --precision bf16 or\n"
         "  --tf32               TF32 tensor cores for convolutions and matrix products\n"
         "  --no-graph           the training step launched op by op (no CUDA Graph)\n";
}

/// Returns -1 when the run goes on, else the exit code. Consumes our options from argv
/// and leaves the rest (argv[0] first) in `rest` for Google Benchmark.
int parse(int argc, char** argv, Config& c, std::vector<char*>& rest) {
  rest.push_back(argv[0]);
  std::string peak_text;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto bad = [&](std::string_view flag, std::string_view expected, std::string_view got) {
      std::cerr << c.program << ": " << flag << " expects " << expected << ", got "
                << flags::quoted(got) << "\n";
      return exit_usage;
    };
    if (arg == "--help" || arg == "-h") {
      print_usage(std::cout, c.program, c.model->name);
      rest.push_back(argv[i]);  // Google Benchmark prints its own options and exits
    } else if (arg == "--fashion-mnist") {
      c.fashion_mnist = true;
    } else if (auto v = flags::value_of("--threads", argc, argv, i)) {
      const auto n = flags::positive_int(*v);
      if (!n || *n > 1024) return bad("--threads", "an integer in [1, 1024]", *v);
      c.threads = *n;
    } else if (auto v = flags::value_of("--conv-algorithm", argc, argv, i)) {
      const auto a = parse_conv_algorithm(*v);
      if (!a) return bad("--conv-algorithm", "direct, fastest or winograd", *v);
      c.conv_algorithm = std::string(*v);
      c.options.conv_algorithm = *a;
    } else if (auto v = flags::value_of("--precision", argc, argv, i)) {
      const auto pr = parse_precision(*v);
      if (!pr) return bad("--precision", "f32 or bf16", *v);
      c.precision = std::string(*v);
      c.options.precision = *pr;
    } else if (auto v = flags::value_of("--peak-gflops", argc, argv, i)) {
      const auto x = flags::positive_number(*v);
      if (!x) return bad("--peak-gflops", "a positive number of GFLOP/s", *v);
      c.peak_gflops = *x;
      c.peak_source = "--peak-gflops";
    } else if (auto v = flags::value_of("--device", argc, argv, i)) {
      if (*v != "cpu" && *v != "cuda") return bad("--device", "cpu or cuda", *v);
      c.cuda = *v == "cuda";
    } else if (arg == "--tf32") {
      c.tf32 = true;
    } else if (arg == "--no-graph") {
      c.cuda_graph = false;
    } else if (arg.substr(0, 2) == "--" && arg.substr(0, 12) != "--benchmark_" &&
               arg.substr(0, 3) != "--v") {
      std::cerr << c.program << ": unknown option '" << arg << "' (--help lists the options)\n";
      return exit_usage;
    } else {
      rest.push_back(argv[i]);
    }
  }
  // What belongs to one device only.
  auto conflict = [&](const std::string& what) {
    std::cerr << c.program << ": " << what << "\n";
    return exit_usage;
  };
  if (c.cuda && c.conv_algorithm != "direct")
    return conflict("--conv-algorithm is oneDNN's; --device cuda measures cuDNN's algorithms itself");
  if (!c.cuda && (c.tf32 || !c.cuda_graph))
    return conflict(std::string(c.tf32 ? "--tf32" : "--no-graph") + " needs --device cuda");
  return -1;
}

/// The fp32 peak for %peak: --peak-gflops, else $ARCHETYPE_PEAK_GFLOPS, else measured now.
/// Returns false after printing why when the environment variable is not a number.
bool resolve_peak(Config& c) {
  if (c.peak_gflops > 0) return true;
  if (const char* env = std::getenv("ARCHETYPE_PEAK_GFLOPS"); env != nullptr && *env != '\0') {
    const auto x = flags::positive_number(env);
    if (!x) {
      std::cerr << c.program << ": ARCHETYPE_PEAK_GFLOPS expects a positive number of GFLOP/s, got "
                << flags::quoted(env) << "\n";
      return false;
    }
    c.peak_gflops = *x;
    c.peak_source = "environment ARCHETYPE_PEAK_GFLOPS";
    return true;
  }
  if (peak_isa(Precision::fp32).empty()) {
    c.peak_source = "unknown: this CPU has no FMA loop to measure it, and no --peak-gflops";
    return true;
  }
  const PeakMeasurement m = measure_peak(Precision::fp32, c.threads, quick_peak_seconds);
  c.peak_gflops = m.gflops;
  char text[256];
  std::snprintf(text, sizeof text,
                "measured at start: %.2f s fp32 FMA loop (%s) on %d thread%s (bench_peak measures "
                "longer; --peak-gflops or ARCHETYPE_PEAK_GFLOPS to set it)",
                m.seconds, std::string(m.isa).c_str(), m.threads, m.threads == 1 ? "" : "s");
  c.peak_source = text;
  return true;
}

/// The workload of the benchmark running now, kept across Google Benchmark's repeated
/// calls of the same benchmark (it calls each with growing iteration counts) so that the
/// Executable is built once; released before the next one is built.
std::unique_ptr<Workload> current;

/// What timed_steps measured: the wall-clock seconds of the whole timed loop and the
/// median and 99th percentile of the per-step times in milliseconds.
struct Timing {
  double seconds = 0;
  double p50_ms = 0;
  double p99_ms = 0;
};

/// The q-quantile of sorted `ms` by the nearest rank below, floor(q * n) (what the ONNX Runtime
/// peer computes, so that the two latencies are of one definition).
double quantile(const std::vector<double>& ms, double q) {
  return ms[std::min(ms.size() - 1, std::size_t(q * double(ms.size())))];
}

/// Google Benchmark's timed loop over `w.step()`, also timed here by the wall clock (so that
/// the counters are plain numbers: a rate counter would print as "GFLOP/s=52/s"), each step
/// on its own (two clock reads, ~50 ns, against steps of 0.05 ms and more) for the latency
/// percentiles; nothing when a step threw (the benchmark then carries the error).
template <class Work>
std::optional<Timing> timed_steps(benchmark::State& state, Work& w) {
  std::vector<double> ms;
  // Google Benchmark's planned iterations (kept below 2^20 reserved: 8 MiB, a bound, not a limit)
  ms.reserve(std::size_t(std::min<benchmark::IterationCount>(state.max_iterations, 1 << 20)));
  const auto t0 = std::chrono::steady_clock::now();
  try {
    for (auto _ : state) {
      const auto s0 = std::chrono::steady_clock::now();
      w.step();
      ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s0).count());
    }
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return std::nullopt;
  }
  Timing t;
  t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!ms.empty()) {
    std::sort(ms.begin(), ms.end());
    t.p50_ms = quantile(ms, 0.5);
    t.p99_ms = quantile(ms, 0.99);
  }
  return t;
}

void run_step(benchmark::State& state, const Config& c, onednn::Mode mode, int batch) {
  const ModelInfo& info = c.info();
  const double needed = estimated_bytes(info, mode, batch);
  const double available = physical_memory_bytes();
  // The estimate counts the saved activations but not oneDNN's blocked copies and
  // workspaces (measured: resident memory is about 1.35 x the estimate for ResNet-18-CIFAR).
  if (available > 0 && needed > 0.75 * available) {
    char text[200];
    std::snprintf(text, sizeof text,
                  "skipped: needs about %.1f GiB (parameters, gradients, momentum, saved "
                  "activations), this machine has %.1f GiB",
                  needed / (1 << 30), available / (1 << 30));
    state.SkipWithError(text);
    return;
  }
  if (!current || current->mode() != mode || current->batch() != batch) {
    current.reset();
    try {
      current = std::make_unique<Workload>(info, batch, mode, c.options);
      for (int i = 0; i < warmup_steps; ++i) current->step();
    } catch (const std::exception& e) {
      current.reset();
      state.SkipWithError(e.what());
      return;
    }
  }
  Workload& w = *current;
  const std::optional<Timing> timed = timed_steps(state, w);
  if (!timed) return;
  const double seconds = timed->seconds;
  if (mode == onednn::Mode::training && !std::isfinite(w.last_loss())) {
    state.SkipWithError("the training loss is not finite");
    return;
  }

  const double steps_per_second = double(state.iterations()) / seconds;
  const double gflops = step_flops(info, mode, batch) / 1e9 * steps_per_second;
  state.counters["img/s"] = double(batch) * steps_per_second;
  state.counters["GFLOP/s"] = gflops;
  if (c.peak_gflops > 0) state.counters["%peak"] = 100.0 * gflops / c.peak_gflops;
  state.counters["p50_ms"] = timed->p50_ms;
  state.counters["p99_ms"] = timed->p99_ms;
  state.counters["peak_rss_MB"] = peak_rss_mb();
  state.counters["setup_s"] = w.setup_seconds();  // building the executable (fastest: timing both)
  // Inference runs the batch as passes of this many images (onednn::Options::images_per_pass).
  state.counters["images_per_pass"] = w.executable().images_per_pass();
}

#if ARCHETYPE_HAVE_CUDA
/// The cuDNN counterpart of `current`: one executable (and its batch of synthetic images
/// and labels) kept across Google Benchmark's repeated calls of one benchmark.
struct CudaWorkload {
  cudnn::Executable executable;
  bool training;
  std::vector<float> images;
  std::vector<int> labels;
  double setup_seconds = 0;
  float loss = 0;
  void step() {
    if (training)
      loss = executable.train_step(images, labels, 0.01).loss;
    else
      (void)executable.forward(images);
  }
};
std::unique_ptr<CudaWorkload> current_cuda;

void run_cuda_step(benchmark::State& state, const Config& c, bool training, int batch) {
  const ModelInfo& info = c.info();
  if (!current_cuda || current_cuda->training != training ||
      current_cuda->executable.batch() != batch) {
    current_cuda.reset();
    try {
      cudnn::Options o;
      o.tf32 = c.tf32;
      o.precision = c.precision == "bf16" ? codegen::Precision::bf16 : codegen::Precision::f32;
      o.cuda_graph = c.cuda_graph;
      o.input_gradient = false;  // a training step updates the parameters only
      o.optimizer.momentum = 0.9;
      const auto t0 = std::chrono::steady_clock::now();
      cudnn::Executable e(info.program, batch, training ? cudnn::Mode::training : cudnn::Mode::inference, o);
      const double setup =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      codegen::initialize_parameters(info.program, e.parameters(), e.buffers(), 1);
      const Shape in = info.program.tensors[std::size_t(info.program.input)].shape;
      std::vector<float> images(std::size_t(batch) * std::size_t(in.elements()));
      std::mt19937_64 rng(2);
      std::normal_distribution<float> normal;
      for (float& v : images) v = normal(rng);
      std::vector<int> labels(static_cast<std::size_t>(batch));
      for (int n = 0; n < batch; ++n) labels[std::size_t(n)] = n % info.output.c;
      current_cuda = std::make_unique<CudaWorkload>(
          CudaWorkload{std::move(e), training, std::move(images), std::move(labels), setup, 0});
      for (int i = 0; i < warmup_steps; ++i) current_cuda->step();
    } catch (const std::exception& e) {
      current_cuda.reset();
      state.SkipWithError(e.what());
      return;
    }
  }
  CudaWorkload& w = *current_cuda;
  const std::optional<Timing> timed = timed_steps(state, w);
  if (!timed) return;
  const double seconds = timed->seconds;
  if (training && !std::isfinite(w.loss)) {
    state.SkipWithError("the training loss is not finite");
    return;
  }
  const double steps_per_second = double(state.iterations()) / seconds;
  state.counters["img/s"] = double(batch) * steps_per_second;
  state.counters["GFLOP/s"] =
      step_flops(info, training ? onednn::Mode::training : onednn::Mode::inference, batch) / 1e9 *
      steps_per_second;
  state.counters["device_MB"] = double(w.executable.memory().total) / 1048576.0;
  state.counters["p50_ms"] = timed->p50_ms;
  state.counters["p99_ms"] = timed->p99_ms;
  state.counters["peak_rss_MB"] = peak_rss_mb();
  state.counters["setup_s"] = w.setup_seconds;
}
#endif

/// Why `--device cuda` cannot run here ("" when it can).
std::string cuda_unavailable() {
#if ARCHETYPE_HAVE_CUDA
  return cudnn::unavailable_reason();
#else
  return "this build has no CUDA backend (the CUDA toolkit and cuDNN 9 were not found when it was "
         "configured; see cmake/ArchetypeCuda.cmake)";
#endif
}

std::string program_name(const char* argv0) {
  const std::string_view path = argv0 != nullptr ? argv0 : "bench";
  const auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace

int run_model_benchmarks(const ModelEntry& model, int argc, char** argv) {
  Config c;
  c.program = program_name(argc > 0 ? argv[0] : nullptr);
  c.model = &model;
  std::vector<char*> rest;
  if (const int rc = parse(argc, argv, c, rest); rc >= 0) return rc;
  bool list_only = false;  // --benchmark_list_tests: no need to measure the peak
  for (int i = 1; i < int(rest.size()); ++i) {
    const std::string_view arg = rest[std::size_t(i)];
    list_only = list_only || arg == "--benchmark_list_tests" ||
                arg == "--benchmark_list_tests=true" || arg == "--benchmark_list_tests=1";
  }
  int rest_count = int(rest.size());
  rest.push_back(nullptr);
  benchmark::Initialize(&rest_count, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rest_count, rest.data())) return exit_usage;

  c.threads = effective_threads(c.threads);
  c.options.threads = c.threads;
  if (c.cuda && !list_only) {
    if (const std::string reason = cuda_unavailable(); !reason.empty()) {
      std::cerr << c.program << ": --device cuda: " << reason << "\n";
      return 77;  // what bench_cuda and the GPU tests return: nothing measured, with the reason
    }
  }
  try {
    if (c.cuda) {
      c.peak_source = "none: --device cuda (the CPU's FMA peak says nothing of a GPU)";
    } else if (list_only && c.peak_gflops <= 0) {
      c.peak_source = "not measured (--benchmark_list_tests)";
    } else if (!resolve_peak(c)) {
      return exit_usage;
    }
  } catch (const std::exception& e) {
    std::cerr << c.program << ": " << e.what() << "\n";
    return 1;
  }

  const ModelInfo& info = c.info();
  const std::string name(c.model->name);
  const std::string input = std::to_string(info.input.c) + "x" + std::to_string(info.input.h) +
                            "x" + std::to_string(info.input.w);
  benchmark::AddCustomContext("model", name);
  benchmark::AddCustomContext(
      "input", c.fashion_mnist ? input + " (Fashion-MNIST through the input adapter)" : input);
  benchmark::AddCustomContext("device", c.cuda ? "cuda (cuDNN backend, GPU 0)" : "cpu (oneDNN backend)");
  if (c.cuda) {
    benchmark::AddCustomContext("precision", c.precision == "bf16" ? "bf16 mixed precision (fp32 master weights)"
                                             : c.tf32                ? "fp32 with TF32 tensor cores"
                                                                     : "fp32");
    benchmark::AddCustomContext("cuda_graph", c.cuda_graph ? "train_step replays a CUDA Graph" : "off (eager)");
  } else {
    benchmark::AddCustomContext("threads", std::to_string(c.threads));
    benchmark::AddCustomContext("conv_algorithm", c.conv_algorithm);
    benchmark::AddCustomContext("precision", c.precision);
  }
  benchmark::AddCustomContext("forward_flops_per_image", std::to_string(info.flops()));
  benchmark::AddCustomContext("peak_gflops_fp32",
                              c.peak_gflops > 0 ? std::to_string(c.peak_gflops) : "unknown");
  benchmark::AddCustomContext("peak_source", c.peak_source);
  benchmark::AddCustomContext(
      "counters",
      "img/s; GFLOP/s analytic, 2 x MACs per image forward, training step 3 x forward, fp32; "
      "%peak of peak_gflops_fp32; p50_ms, p99_ms: median and 99th percentile of the timed steps; "
      "peak_rss_MB: getrusage ru_maxrss of the process so far, MB");

  auto add = [&](const std::string& label, onednn::Mode mode, int batch) {
    benchmark::RegisterBenchmark(
        (name + "/" + label + "/batch:" + std::to_string(batch)).c_str(),
        [&c, mode, batch](benchmark::State& state) { run_step(state, c, mode, batch); })
        ->UseRealTime()
        ->MeasureProcessCPUTime()
        ->Unit(benchmark::kMillisecond);
  };
  if (c.cuda) {
#if ARCHETYPE_HAVE_CUDA
    auto add_cuda = [&](const std::string& label, bool training, int batch) {
      benchmark::RegisterBenchmark(
          (name + "/cuda/" + label + "/batch:" + std::to_string(batch)).c_str(),
          [&c, training, batch](benchmark::State& state) { run_cuda_step(state, c, training, batch); })
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    };
    for (int batch : inference_batches) add_cuda("inference", false, batch);
    for (int batch : cuda_training_batches) add_cuda("train_step", true, batch);
#endif
  } else {
    for (int batch : inference_batches) add("inference", onednn::Mode::inference, batch);
    add("train_step", onednn::Mode::training, training_batch);
  }

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  current.reset();
#if ARCHETYPE_HAVE_CUDA
  current_cuda.reset();
#endif
  return 0;
}

}  // namespace archetype::bench
