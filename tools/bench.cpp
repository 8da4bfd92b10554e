// `archetype bench MODEL`: training and inference throughput of one model of the zoo on the
// oneDNN backend, measured like the PyTorch peer (../shared/peers/pytorch_cpu.py) measures
// it: one fixed batch of synthetic inputs, 2 warm-up steps, then at least --steps steps and
// at least --min-time seconds; a training step is forward + softmax cross-entropy +
// backward + SGD (lr 0.01, momentum 0.9, weight decay 5e-4). The workload and the timing
// are bench/'s (archetype/bench/workload.hpp), shared with the bench_<model> executables.
#include "commands.hpp"
#include "format.hpp"

#include <archetype/architectures/registry.hpp>
#include <archetype/backends/onednn/executable.hpp>
#include <archetype/bench/peak.hpp>
#include <archetype/bench/workload.hpp>
#include <archetype/codegen/freezing.hpp>
#include <archetype/codegen/training_plan.hpp>
#include <archetype/runtime/batches.hpp>
#include <archetype/runtime/distributed.hpp>
#include <archetype/runtime/image_folder.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
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
  std::string precision = "f32";
  bool no_fuse_depthwise = false;  // inference: each 1x1 and depthwise convolution alone
  bool onednn_silu = false;        // inference: every SiLU as oneDNN's swish post-op
  bool onednn_pairs = false;       // inference: 1x1 + depthwise pairs by oneDNN's kernels only
  bool onednn_winograd = false;    // no Winograd kernel of ours (AVX2)
  int images_per_pass = 0;         // inference: 0 chosen (Options::images_per_pass)
  double peak_gflops = 0;          // 0: $ARCHETYPE_PEAK_GFLOPS, else measured at start
  bool json = false;
  bool distributed = false;
  double bucket_mb = 25;       ///< gradient all-reduce buckets (the first: 1 MB or less)
  codegen::Freezing freezing;  // training: --freeze, --freeze-until
  std::string decode;          // an image folder: time its decoding too
  int decode_threads = 0;      // 0: every core
};

/// Decoding rate of an image folder's training batches at the model's input (random resized
/// crop and flip, as `archetype train --data folder:DIR` prepares them), alone on the machine:
/// the same timing as the steps, a batch per step, epochs repeated as needed. Unreadable files
/// are skipped silently here (train names them).
bench::Timing measure_decode(const Shape& in, const BenchOptions& o, int& threads) {
  runtime::ImageFolderOptions fo;
  fo.dims = {in.c, in.h, in.w};
  fo.threads = o.decode_threads;
  fo.log = nullptr;
  const runtime::ImageFolder folder = runtime::load_image_folder(o.decode, fo);
  threads = folder.train.source->threads();
  const int batch = int(std::min<std::size_t>(std::size_t(o.batch), folder.train.size()));
  runtime::BatchIterator batches(folder.train,
                                 runtime::BatchOptions::training(batch, 1, {0, true, true}));
  std::uint64_t epoch = 0;
  batches.start_epoch(epoch);
  return bench::timed(
      [&] {
        if (!batches.next()) {
          batches.start_epoch(++epoch);
          (void)batches.next();
        }
      },
      batch, o.steps, o.min_time);
}

/// Data-parallel training steps (under mpirun): the gradient all-reduce per step, means
/// over the timed steps, milliseconds.
struct Communication {
  int processes = 1;
  std::vector<std::size_t> buckets;  ///< floats per bucket, in start order
  double all_reduce_ms = 0;          ///< some bucket's all-reduce in flight
  double overlapped_ms = 0;          ///< of that, while the backward pass ran
  double exposed_ms = 0;             ///< the wait after the backward pass, before the update
};

using bench::peak_rss_mb;

struct Measured {
  bench::Timing timing;
  double setup_seconds = 0;  // building the Executable
  float last_loss = 0;       // training only: the loss of the last step (a sanity check)
  onednn::Executable::Footprint footprint;     // values and scratchpad of the Executable
  onednn::Executable::Passes passes;           // steps and reorders per pass
  std::optional<Communication> communication;  // data-parallel training only
  onednn::Executable::ConvPlan conv_plan;      // the plan kept (fastest: and both plans' times)
  int images_per_pass = 0;                     // inference: the batch runs as passes of these
};

/// Builds the workload (the Executable, initialised parameters, one synthetic batch) and
/// times its steps like the peer does.
/// Under more than one process, training steps all-reduce their gradients as a
/// data-parallel run does (runtime::GradientAllReduce on the gradient-final hook).
Measured measure(const ModelInfo& info, onednn::Mode mode, const BenchOptions& o,
                 const onednn::Options& eo, runtime::Processes& processes) {
  bench::Workload w(info, o.batch, mode, eo);
  std::optional<runtime::GradientAllReduce> all_reduce;
  std::vector<runtime::GradientAllReduce::Times> times;
  const bool parallel = processes.size() > 1 && mode == onednn::Mode::training;
  if (parallel) {
    processes.broadcast(w.executable().parameters());
    codegen::PlanOptions plan_options;
    plan_options.input_gradient = eo.input_gradient;
    plan_options.trainable = eo.trainable;  // --freeze: the frozen groups have no gradient
    const auto bucket = std::size_t(o.bucket_mb * (1 << 20));
    all_reduce.emplace(processes, codegen::plan_training(info.program, plan_options),
                       w.executable().gradients(), bucket, std::min<std::size_t>(bucket, 1u << 20));
    w.executable().on_gradient_ready(
        [&](const onednn::GradientReady& g) { all_reduce->ready(g.group); });
    w.before_update([&] {
      all_reduce->finish();
      times.push_back(all_reduce->last());
    });
  }
  // Every process runs the same number of steps (a minimum time would differ between them).
  const bench::Timing t =
      bench::timed([&] { w.step(); }, o.batch, o.steps, parallel ? 0.0 : o.min_time);
  Measured m{t,
             w.setup_seconds(),
             w.last_loss(),
             w.footprint(),
             w.passes(),
             std::nullopt,
             w.executable().conv_plan(),
             w.executable().images_per_pass()};
  if (parallel) {
    Communication c;
    c.processes = processes.size();
    c.buckets = all_reduce->bucket_sizes();
    const std::size_t timed_steps = std::min(times.size(), std::size_t(t.steps));
    for (std::size_t i = times.size() - timed_steps; i < times.size(); ++i) {
      c.all_reduce_ms += 1e3 * times[i].all_reduce / double(timed_steps);
      c.overlapped_ms += 1e3 * times[i].overlapped / double(timed_steps);
      c.exposed_ms += 1e3 * times[i].exposed / double(timed_steps);
    }
    m.communication = c;
    // Throughput of the whole job: every process's batch per step.
    m.timing.images_per_second *= double(processes.size());
  }
  return m;
}

/// The fp32 peak that "% of peak" divides by: --peak-gflops, else $ARCHETYPE_PEAK_GFLOPS,
/// else measured now (the FMA loop of bench_peak, 0.4 s on the benchmark's threads), never
/// a figure assumed for this machine. 0 where none can be had (a CPU with no FMA loop);
/// `source` says where it came from. Throws std::invalid_argument for a malformed variable.
double resolve_peak(double flag, int threads, std::string& source) {
  if (flag > 0) {
    source = "--peak-gflops";
    return flag;
  }
  if (const char* env = std::getenv("ARCHETYPE_PEAK_GFLOPS"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    const double x = std::strtod(env, &end);
    if (end == env || *end != '\0' || !(x > 0)) {
      throw std::invalid_argument(
          std::string("ARCHETYPE_PEAK_GFLOPS expects a positive number of GFLOP/s, got '") + env +
          "'");
    }
    source = "ARCHETYPE_PEAK_GFLOPS";
    return x;
  }
  if (bench::peak_isa(bench::Precision::fp32).empty()) {
    source = "none: this CPU has no FMA loop to measure, and no --peak-gflops";
    return 0;
  }
  const bench::PeakMeasurement m = bench::measure_peak(bench::Precision::fp32, threads, 0.4);
  source = "measured at start (" + std::string(m.isa) + " FMA loop, " + std::to_string(threads) +
           " threads)";
  return m.gflops;
}

int run_bench(const BenchOptions& o) {
  const ModelEntry* m = model_or_report(o.model);
  if (m == nullptr) return exit_usage;
  runtime::Processes* world = &runtime::Processes::single();
  if (o.distributed || runtime::launched_by_mpi()) {
    if (!runtime::mpi_built()) {
      std::cerr << "archetype bench: " << (o.distributed ? "--distributed" : "launched by mpirun")
                << ", but this build has no MPI (install libopenmpi-dev and configure again)\n";
      return 1;
    }
    world = &runtime::Processes::world();
    if (!world->root() && std::freopen("/dev/null", "w", stdout) == nullptr) {
      std::cout.setstate(std::ios::badbit);
    }
  }
  runtime::Processes& processes = *world;
  const ModelInfo& info = o.fashion_mnist ? m->fashion_mnist : m->native;
  const Shape in = info.input;

  std::vector<bool> trainable;
  try {
    trainable = codegen::trainable_mask(info.program, o.freezing);  // Frozen<...> too
    if (std::all_of(trainable.begin(), trainable.end(), [](bool t) { return t; }))
      trainable.clear();
  } catch (const std::invalid_argument& e) {
    std::cerr << "archetype bench: " << e.what() << "\n";
    return exit_usage;
  }
  const int threads = bench::effective_threads(o.threads);
  std::string peak_source;
  double peak = 0;
  try {
    peak = resolve_peak(o.peak_gflops, threads, peak_source);
  } catch (const std::exception& e) {
    std::cerr << "archetype bench: " << e.what() << "\n";
    return exit_usage;
  }
  // Percent of the peak (0 where there is none).
  const auto pct = [peak](double gflops) { return peak > 0 ? 100.0 * gflops / peak : 0.0; };
  onednn::Options eo;
  eo.threads = threads;
  eo.trainable = trainable;
  eo.conv_algorithm =
      bench::parse_conv_algorithm(o.conv_algorithm).value_or(onednn::ConvAlgorithm::direct);
  eo.precision = bench::parse_precision(o.precision).value_or(onednn::Precision::f32);
  eo.fuse_depthwise = !o.no_fuse_depthwise;
  eo.vector_silu = !o.onednn_silu;
  eo.own_depthwise_pairs = !o.onednn_pairs;
  eo.own_winograd = !o.onednn_winograd;
  eo.images_per_pass = o.images_per_pass;

  std::optional<Measured> train, infer;
  if (o.mode == "train" || o.mode == "both") {
    train = measure(info, onednn::Mode::training, o, eo, processes);
  }
  if (o.mode == "inference" || o.mode == "both") {
    infer = measure(info, onednn::Mode::inference, o, eo, runtime::Processes::single());
  }
  std::optional<bench::Timing> decode;
  int decode_threads = 0;
  if (!o.decode.empty()) decode = measure_decode(in, o, decode_threads);
  const double rss = peak_rss_mb();

  // Analytic FLOP/s: forward = 2 x MACs per image, a training step = 3 x forward.
  auto gflops = [&](const std::optional<Measured>& r, onednn::Mode mode) {
    const double flops = mode == onednn::Mode::training ? bench::step_flops(info, 1, trainable)
                                                        : bench::step_flops(info, mode, 1);
    return r ? flops * r->timing.images_per_second / 1e9 : 0.0;
  };
  const double train_gflops = gflops(train, onednn::Mode::training);
  const double infer_gflops = gflops(infer, onednn::Mode::inference);
  const std::string name = std::string(m->name);
  const long frozen = std::count(trainable.begin(), trainable.end(), false);

  if (o.json) {
    auto or_null = [](bool has, double value) {
      return has ? nlohmann::json(value) : nlohmann::json(nullptr);
    };
    nlohmann::json row = {
        {"peer", "archetype"},
        {"model", name},
        {"params", info.params},
        {"batch", o.batch},
        {"threads", threads},
        {"input", nlohmann::json::array({in.c, in.h, in.w})},
        {"fashion_mnist", o.fashion_mnist},
        {"conv_algorithm", o.conv_algorithm},
        {"precision", o.precision},
        {"mode", o.mode},
        {"frozen_layers", frozen},
        {"freeze", o.freezing.freeze},
        {"freeze_until", o.freezing.freeze_until},
        {"train_img_s", or_null(bool(train), train ? train->timing.images_per_second : 0)},
        {"infer_img_s", or_null(bool(infer), infer ? infer->timing.images_per_second : 0)},
        {"train_gflops", or_null(bool(train), train_gflops)},
        {"infer_gflops", or_null(bool(infer), infer_gflops)},
        {"train_pct_peak", or_null(bool(train) && peak > 0, pct(train_gflops))},
        {"infer_pct_peak", or_null(bool(infer) && peak > 0, pct(infer_gflops))},
        {"peak_gflops", or_null(peak > 0, peak)},
        {"peak_source", peak_source},
        {"forward_flops_per_image", info.flops()},
        {"train_steps", train ? train->timing.steps : 0},
        {"infer_steps", infer ? infer->timing.steps : 0},
        {"train_seconds", or_null(bool(train), train ? train->timing.seconds : 0)},
        {"infer_seconds", or_null(bool(infer), infer ? infer->timing.seconds : 0)},
        {"train_setup_s", or_null(bool(train), train ? train->setup_seconds : 0)},
        {"infer_setup_s", or_null(bool(infer), infer ? infer->setup_seconds : 0)},
        {"train_last_loss", or_null(bool(train), train ? double(train->last_loss) : 0)},
        {"peak_rss_mb", rss},
        {"decode_img_s", or_null(bool(decode), decode ? decode->images_per_second : 0)},
        {"decode_threads", or_null(bool(decode), decode_threads)},
        {"processes", processes.size()},
    };
    if (train && train->communication) {
      const Communication& c = *train->communication;
      row["allreduce_ms"] = c.all_reduce_ms;
      row["allreduce_overlapped_ms"] = c.overlapped_ms;
      row["allreduce_exposed_ms"] = c.exposed_ms;
      row["allreduce_buckets"] = c.buckets.size();
      row["train_step_ms"] = 1e3 * train->timing.seconds / double(std::max(1, train->timing.steps));
    }
    for (const auto& [key, r] : {std::pair{"train", &train}, std::pair{"infer", &infer}}) {
      if (!*r) continue;
      const onednn::Executable::Footprint& mem = (*r)->footprint;
      row[std::string(key) + "_values_mb"] = double(mem.values) / 1e6;
      row[std::string(key) + "_values_live_peak_mb"] = double(mem.values_live_peak) / 1e6;
      row[std::string(key) + "_values_best_fit_mb"] = double(mem.values_best_fit) / 1e6;
      row[std::string(key) + "_scratchpad_mb"] = double(mem.scratchpad) / 1e6;
      const onednn::Executable::Passes& p = (*r)->passes;
      row[std::string(key) + "_pass_steps"] = p.forward + p.backward;
      row[std::string(key) + "_pass_reorders"] = p.forward_reorders + p.backward_reorders;
      row[std::string(key) + "_pass_reference_kernels"] = p.reference;
      row[std::string(key) + "_images_per_pass"] = (*r)->images_per_pass;
      const onednn::Executable::ConvPlan& plan = (*r)->conv_plan;
      row[std::string(key) + "_conv_plan"] =
          plan.algorithm == onednn::ConvAlgorithm::direct ? "direct" : "winograd";
      row[std::string(key) + "_conv_winograd_layers"] = plan.winograd_convolutions;
      row[std::string(key) + "_depthwise_fusions"] = plan.depthwise_fusions;
      // fastest: one step of each whole plan, timed while building (0: not timed)
      row[std::string(key) + "_conv_direct_plan_ms"] = 1e3 * plan.direct_seconds;
      row[std::string(key) + "_conv_winograd_plan_ms"] = 1e3 * plan.winograd_seconds;
    }
    std::cout << row.dump() << std::endl;
    return 0;
  }

  char line[512];
  std::string text;
  std::snprintf(line, sizeof line, "%-16s params=%11s batch=%d threads=%d conv=%s %s", name.c_str(),
                with_separators(info.params).c_str(), o.batch, threads, o.conv_algorithm.c_str(),
                o.precision.c_str());
  text += line;
  if (frozen > 0) {
    std::snprintf(line, sizeof line, " frozen=%ld of %zu layers", frozen, trainable.size());
    text += line;
  }
  if (train) {
    std::snprintf(
        line, sizeof line, " train=%9.1f img/s (%.1f GFLOP/s, %.1f%% of peak, setup %.2f s)",
        train->timing.images_per_second, train_gflops, pct(train_gflops), train->setup_seconds);
    text += line;
  }
  if (infer) {
    std::snprintf(
        line, sizeof line, " infer=%9.1f img/s (%.1f GFLOP/s, %.1f%% of peak, setup %.2f s)",
        infer->timing.images_per_second, infer_gflops, pct(infer_gflops), infer->setup_seconds);
    text += line;
  }
  if (decode) {
    std::snprintf(line, sizeof line, " decode=%9.1f img/s (%d threads, alone)",
                  decode->images_per_second, decode_threads);
    text += line;
  }
  std::snprintf(line, sizeof line, " rss=%.0f MB", rss);
  text += line;
  if (peak > 0) {
    std::snprintf(line, sizeof line, "\n  %% of peak: of %.1f GFLOP/s fp32, %s", peak,
                  peak_source.c_str());
  } else {
    std::snprintf(line, sizeof line, "\n  no %% of peak: %s", peak_source.c_str());
  }
  text += line;
  // Where the memory goes: forward values and gradients (their planned arena, the most
  // alive at one time, what a best-fit pool took) and the convolutions' scratchpad.
  for (const auto& [key, r] : {std::pair{"train", &train}, std::pair{"infer", &infer}}) {
    if (!*r) continue;
    const onednn::Executable::Footprint& mem = (*r)->footprint;
    std::snprintf(line, sizeof line,
                  "\n  %-5s values %.0f MB (alive at once at most %.0f MB; best-fit pool %.0f MB), "
                  "scratchpad %.0f MB",
                  key, double(mem.values) / 1e6, double(mem.values_live_peak) / 1e6,
                  double(mem.values_best_fit) / 1e6, double(mem.scratchpad) / 1e6);
    text += line;
    if ((*r)->images_per_pass < o.batch) {  // inference in passes: the figures are a pass's
      std::snprintf(line, sizeof line, " (a pass of %d images)", (*r)->images_per_pass);
      text += line;
    }
    const onednn::Executable::Passes& p = (*r)->passes;
    std::snprintf(line, sizeof line, "; a step runs %d kernels, %d of them reorders",
                  p.forward + p.backward, p.forward_reorders + p.backward_reorders);
    text += line;
    if (p.reference > 0) {
      std::snprintf(line, sizeof line, ", %d on oneDNN's reference (slow) kernels", p.reference);
      text += line;
    }
    const onednn::Executable::ConvPlan& plan = (*r)->conv_plan;
    if (plan.depthwise_fusions > 0) {
      std::snprintf(line, sizeof line, "; %d 1x1 + depthwise convolution pairs run as one kernel",
                    plan.depthwise_fusions);
      text += line;
    }
    if (plan.direct_seconds > 0 && plan.winograd_seconds > 0) {  // fastest, both plans timed
      std::snprintf(line, sizeof line,
                    "; fastest kept the %s plan (a step at setup: direct %.2f ms, Winograd plan "
                    "%.2f ms with %d Winograd layers)",
                    plan.algorithm == onednn::ConvAlgorithm::direct ? "direct" : "Winograd",
                    1e3 * plan.direct_seconds, 1e3 * plan.winograd_seconds,
                    plan.winograd_convolutions);
      text += line;
    }
  }
  if (train && train->communication) {
    // Data-parallel: where the gradient all-reduce's time went, per step (means).
    const Communication& c = *train->communication;
    std::size_t floats = 0;
    for (const std::size_t b : c.buckets) floats += b;
    std::snprintf(line, sizeof line,
                  "\n  data-parallel over %d processes, batch %d each (train img/s: all of them): "
                  "gradients %.1f MB in %zu buckets; all-reduce %.2f ms per step, %.2f ms of it "
                  "overlapped with the backward pass, %.2f ms exposed (step %.2f ms)",
                  c.processes, o.batch, double(floats) * 4 / 1e6, c.buckets.size(), c.all_reduce_ms,
                  c.overlapped_ms, c.exposed_ms,
                  1e3 * train->timing.seconds / double(std::max(1, train->timing.steps)));
    text += line;
  }
  std::cout << text << std::endl;
  return 0;
}

}  // namespace

Command add_bench(CLI::App& app) {
  auto options = std::make_shared<BenchOptions>();
  CLI::App* sub = app.add_subcommand("bench",
                                     "Training and inference throughput of a model on the CPU "
                                     "(oneDNN), synthetic inputs, measured "
                                     "like the PyTorch peer (../shared/peers/pytorch_cpu.py)");
  auto& o = *options;
  sub->add_option("model", o.model, "Model name (see archetype list)")->required();
  sub->add_option("--batch", o.batch, "Batch size")->check(CLI::Range(1, 65536))->capture_default_str();
  sub->add_option("--threads", o.threads,
                  "oneDNN threads (0: the usable cores other processes leave free)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  sub->add_option("--steps", o.steps, "Timed steps, at least (after 2 warm-up steps)")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  sub->add_option("--min-time", o.min_time, "Seconds per measurement, at least")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  sub->add_option("--mode", o.mode, "train, inference or both")
      ->check(CLI::IsMember({"train", "inference", "both"}))->capture_default_str();
  sub->add_option(
      "--freeze", o.freezing.freeze,
      "Training: freeze the layers under these path prefixes (as describe prints them)");
  sub->add_option("--freeze-until", o.freezing.freeze_until,
                  "Training: freeze every layer before this path (feature extraction)");
  sub->add_flag("--fashion-mnist", o.fashion_mnist, "1x28x28 inputs through the model's input adapter");
  sub->add_option("--conv-algorithm", o.conv_algorithm,
                  "direct, fastest (Winograd or direct per 3x3 stride-1 layer and pass, measured "
                  "at setup; that plan kept only where its whole step times 3% faster than "
                  "direct's) or winograd")
      ->check(CLI::IsMember({"direct", "fastest", "winograd"}))
      ->capture_default_str();
  sub->add_option("--precision", o.precision,
                  "f32, or bf16 (bfloat16 activations and weights, fp32 master weights)")
      ->check(CLI::IsMember({"f32", "bf16"}))
      ->capture_default_str();
  sub->add_flag("--no-fuse-depthwise", o.no_fuse_depthwise,
                "Inference: run each 1x1 convolution and the depthwise one reading it alone "
                "(for A/B; default: as one kernel, ours or oneDNN's, never storing the 1x1's "
                "result)");
  sub->add_flag("--onednn-depthwise-pairs", o.onednn_pairs,
                "Inference, fp32: 1x1 + depthwise pairs by oneDNN's kernels only, fused in "
                "Winograd's plan alone (for A/B; default on an AVX-512 CPU: our own kernel in "
                "direct's plan, for chains with SiLU, and where oneDNN has none)");
  sub->add_flag("--onednn-winograd", o.onednn_winograd,
                "fp32, winograd or fastest: oneDNN's convolutions only, none of our F(4x4, 3x3) "
                "kernel (for A/B; default on a CPU with AVX2 but no AVX-512, where oneDNN has no "
                "Winograd: ours for 3x3 stride-1 layers, forward and both gradients)");
  sub->add_flag("--onednn-silu", o.onednn_silu,
                "Inference, fp32: every SiLU as oneDNN's swish post-op (for A/B; default on an "
                "AVX-512 CPU: our own vectorised pass over the convolution's output)");
  sub->add_option("--images-per-pass", o.images_per_pass,
                  "Inference: run the batch as passes of this many images through the whole "
                  "network (0: the whole batch where its largest layer fits the last-level "
                  "cache, else passes of the images that fit, 8 at least)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--peak-gflops", o.peak_gflops,
                  "fp32 peak for the % of peak, GFLOP/s at these threads (default: "
                  "$ARCHETYPE_PEAK_GFLOPS, else measured at start: 0.4 s of bench_peak's FMA loop)")
      ->check(CLI::PositiveNumber);
  sub->add_flag("--json", o.json,
                "One JSON object per line (keys compatible with the peer's rows)");
  sub->add_flag(
      "--distributed", o.distributed,
      "Data-parallel training steps over the MPI world (the default under mpirun): --batch per "
      "process, gradients all-reduced in 25 MB buckets; prints the all-reduce's time per step, "
      "overlapped and exposed");
  sub->add_option("--bucket-mb", o.bucket_mb,
                  "--distributed: all-reduce bucket size, MB (PyTorch DDP's 25; the first bucket 1 "
                  "MB or less)")
      ->check(CLI::Range(0.001, 4096.0))
      ->capture_default_str();
  sub->add_option("--decode", o.decode,
                  "An image folder (DIR/train/CLASS/*): also time decoding its training batches at "
                  "the model's "
                  "input (JPEG/PNG, random resized crop, flip), alone, in images/s")
      ->check(CLI::ExistingDirectory);
  sub->add_option("--decode-threads", o.decode_threads,
                  "Threads decoding a batch with --decode (0: every core)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  return Command{sub, [options] { return run_bench(*options); }};
}

}  // namespace archetype::cli
