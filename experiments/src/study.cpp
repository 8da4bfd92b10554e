// run_study(): trains or measures a study's models and writes its metrics and report.
#include <archetype/experiments/report.hpp>
#include <archetype/experiments/study.hpp>

#include <archetype/architectures/registry.hpp>
#include <archetype/bench/workload.hpp>
#include <archetype/runtime/batches.hpp>
#include <archetype/runtime/cifar.hpp>
#include <archetype/runtime/idx.hpp>
#include <archetype/runtime/synthetic.hpp>
#include <archetype/runtime/trainer.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>

namespace archetype::experiments {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

[[noreturn]] void study_usage(std::string_view study, const std::string& problem) {
  if (!problem.empty()) std::cerr << study << ": " << problem << "\n";
  std::cerr
      << "usage: " << study
      << " [--quick] [--epochs N] [--data fashion-mnist[:DIR]|cifar10:DIR|synthetic] [--out DIR]"
         " [--checkpoints DIR] [--threads N] [--conv-algorithm direct|fastest|winograd]"
         " [--precision f32|bf16] [--resume] [--models A,B] [--device cpu|cuda] [--draw]\n"
         "  --models train only these of the study's models now; the others are taken from\n"
         "           finished earlier runs in OUT/"
      << study << "/ where there are any, else left out of the report\n"
         "  --quick  a few steps on a tiny subset (checks the pipeline; into runs/quick/)\n"
         "  --draw   run nothing: draw the plots a run left undrawn in OUT/"
      << study << ".md (it ran where gnuplot is not installed)\n"
         "  --out    report OUT/"
      << study << ".md, metrics and plots in OUT/" << study << "/ (default: reports)\n";
  std::exit(problem.empty() ? 0 : 2);
}

// ---------------------------------------------------------------------------------------
// Data

struct Data {
  runtime::Dataset train, test;
  std::string description;
};

Data load_data(const std::string& spec, const QuickRun* quick) {
  const auto colon = spec.find(':');
  const std::string kind = spec.substr(0, colon);
  const fs::path dir = colon == std::string::npos ? fs::path{} : fs::path(spec.substr(colon + 1));
  using runtime::Split;
  Data d;
  if (kind == "fashion-mnist") {
    d.train = dir.empty() ? runtime::load_fashion_mnist(Split::train)
                          : runtime::load_fashion_mnist(dir, Split::train);
    d.test = dir.empty() ? runtime::load_fashion_mnist(Split::test)
                         : runtime::load_fashion_mnist(dir, Split::test);
  } else if (kind == "cifar10") {
    if (dir.empty())
      throw std::invalid_argument("--data cifar10 needs a directory: --data cifar10:DIR");
    d.train = runtime::load_cifar10(dir, Split::train);
    d.test = runtime::load_cifar10(dir, Split::test);
  } else if (kind == "synthetic") {
    d.train = runtime::make_synthetic(runtime::SyntheticSpec{4096, {1, 28, 28}, 10, 1, 0.2f});
    d.test = runtime::make_synthetic(runtime::SyntheticSpec{1024, {1, 28, 28}, 10, 2, 0.2f});
  } else {
    throw std::invalid_argument("unknown data set '" + spec +
                                "': use fashion-mnist[:DIR], cifar10:DIR or synthetic");
  }
  const std::size_t full_train = d.train.size(), full_test = d.test.size();
  if (quick != nullptr) {
    d.train = d.train.subset(std::min(quick->train_images, d.train.size()));
    d.test = d.test.subset(std::min(quick->test_images, d.test.size()));
  }
  const auto stats = d.train.channel_stats();
  d.train.normalize(stats.mean, stats.stddev);
  d.test.normalize(stats.mean, stats.stddev);
  d.description = d.train.name + ": " + grouped((long long)d.train.size()) + " training images" +
                  (quick ? " (of " + grouped((long long)full_train) + ")" : "") + ", " +
                  grouped((long long)d.test.size()) + " test images" +
                  (quick ? " (of " + grouped((long long)full_test) + ")" : "") + ", " +
                  std::to_string(d.train.dims.c) + "x" + std::to_string(d.train.dims.h) + "x" +
                  std::to_string(d.train.dims.w) +
                  "; normalized with the training set's per-channel mean and deviation";
  return d;
}

// ---------------------------------------------------------------------------------------
// Figures of a program

bool weighted(LayerKind k) { return k == LayerKind::conv || k == LayerKind::linear; }

/// Weight layers (convolutions and linear layers) on the longest path from the input to
/// the output: the depth papers name a net by (ResNet-50: 49 convolutions + 1 linear;
/// projection shortcuts are off that path).
std::vector<int> weight_depths(const codegen::ProgramView& p) {
  std::vector<int> depth(p.tensors.size(), 0);
  for (const codegen::Op& op : p.ops) {
    int d = 0;
    for (int i = 0; i < op.input_count; ++i) d = std::max(d, depth[std::size_t(op.inputs[i])]);
    depth[std::size_t(op.output)] = d + (weighted(op.layer.op) ? 1 : 0);
  }
  return depth;
}

int depth_of(const codegen::ProgramView& p) { return weight_depths(p)[std::size_t(p.output)]; }

std::int64_t macs_of(const codegen::ProgramView& p) {
  std::int64_t macs = 0;
  for (const codegen::Op& op : p.ops) macs += op.layer.macs;
  return macs;
}

/// Bytes a training step holds by the plan: the saved forward values at `batch`, and the
/// weights, gradients and momentum of SGD, with the BatchNorm statistics (fp32).
double planned_training_bytes(const codegen::ProgramView& p, int batch) {
  return 4.0 * (double(p.training_saved) * batch + 3.0 * double(p.params) + double(p.buffers));
}

std::string threads_text(int n) { return std::to_string(n) + (n == 1 ? " thread" : " threads"); }

std::string mib(double bytes) { return fixed(bytes / (1024.0 * 1024.0), 1); }

std::string shape_text(const Shape& s) {
  return std::to_string(s.c) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w);
}

/// "B, T threads, after W warm-up steps, at least S timed steps[ and M s]": how a time was measured.
std::string measured_as(int batch, int threads, int steps, double min_time) {
  return std::to_string(batch) + ", " + threads_text(threads) + ", after " + std::to_string(bench::warmup_steps) +
         " warm-up steps, at least " + std::to_string(steps) + (steps == 1 ? " timed step" : " timed steps") +
         (min_time > 0 ? " and " + fixed(min_time, 0) + " s" : "");
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
  return buffer;
}

double mean(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
}
/// The middle value (the mean of the two middle ones for an even count): a time per epoch
/// that one disturbed epoch (a paused or shared run) does not move.
double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  const auto mid = v.begin() + std::ptrdiff_t(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  if (v.size() % 2 == 1) return *mid;
  return (*mid + *std::max_element(v.begin(), mid)) / 2;
}
double deviation(const std::vector<double>& v) {
  if (v.size() < 2) return 0.0;
  const double m = mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / double(v.size() - 1));
}

/// The context of one run of a study: where it writes, what it says about itself.
struct Context {
  const StudySpec& spec;
  const StudyOptions& options;
  fs::path out;  ///< OUT
  fs::path dir;  ///< OUT/NAME
  int threads = 0;
  Markdown md;
  std::vector<std::string> plots;  ///< PNG files drawn (relative to OUT)
  nlohmann::json summary;

  std::vector<std::string> pending;  ///< PNG files to draw later (no gnuplot here)

  /// Draws `plot` as OUT/NAME/FILE and shows it in the report. Without gnuplot, writes its
  /// data and script and leaves a marker that `--draw` replaces by the image later.
  void figure(const Plot& plot, const std::string& file) {
    const std::string relative = spec.name + "/" + file;
    if (!gnuplot_available()) {
      write_plot(plot, dir / file);
      pending.push_back(relative);
      md.pending_image(plot.title, relative,
                       relative + " not drawn: gnuplot is not installed where this ran. `archetype "
                       "experiment " + spec.name + " --draw --out OUT` draws it (`apt-get install "
                       "gnuplot-nox`)");
      return;
    }
    draw(plot, dir / file);
    plots.push_back(relative);
    md.image(plot.title, relative);
  }
};

// ---------------------------------------------------------------------------------------
// Training studies

struct GradientSample {
  int epoch = 0;
  std::vector<double> norms;  ///< per op with parameters (0 for the others)
};

struct ModelRun {
  const ModelPrograms* model = nullptr;
  codegen::ProgramView program;  ///< the one trained (native or through the adapter)
  std::uint64_t seed = 1;
  runtime::TrainResult result;
  std::vector<GradientSample> gradients;
  double wall_seconds = 0;
  bool earlier = false;  ///< taken from an earlier run's metrics (finished_run), not trained here
};

std::vector<double> op_gradient_norms(const codegen::ProgramView& p, std::span<const float> g) {
  std::vector<double> norms(p.ops.size(), 0.0);
  for (std::size_t i = 0; i < p.ops.size(); ++i) {
    const codegen::Op& op = p.ops[i];
    if (op.layer.params == 0) continue;
    double s = 0;
    const float* first = g.data() + op.param_offset;
    for (std::int64_t k = 0; k < op.layer.params; ++k) s += double(first[k]) * double(first[k]);
    norms[i] = std::sqrt(s);
  }
  return norms;
}

void write_gradient_csv(const fs::path& path, const ModelRun& run) {
  std::ofstream out(path);
  out << "model,seed,epoch,op,depth,path,kind,params,gradient_norm\n";
  const auto depth = weight_depths(run.program);
  for (const GradientSample& s : run.gradients) {
    for (std::size_t i = 0; i < run.program.ops.size(); ++i) {
      const codegen::Op& op = run.program.ops[i];
      if (op.layer.params == 0) continue;
      out << run.model->label << ',' << run.seed << ',' << s.epoch << ',' << i << ','
          << depth[std::size_t(op.output)] << ',' << op.layer.path.view() << ','
          << op.layer.kind.view() << ',' << op.layer.params << ',' << s.norms[i] << '\n';
    }
  }
}

/// Three significant digits ("0.00823", "447", "1.2e+03").
std::string significant(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", v);
  return text;
}

/// One series of the weight layers' gradient norms of a sample, against their depth.

Series gradient_series(const ModelRun& run, const GradientSample& s, const std::string& title) {
  Series series{title, {}, {}, {}, false, "linespoints"};
  const auto depth = weight_depths(run.program);
  for (std::size_t i = 0; i < run.program.ops.size(); ++i) {
    const codegen::Op& op = run.program.ops[i];
    if (!weighted(op.layer.op) || s.norms[i] <= 0) continue;
    series.x.push_back(depth[std::size_t(op.output)]);
    series.y.push_back(s.norms[i]);
  }
  return series;
}

/// The per-epoch metrics of a finished run of this model and seed in the study's folder,
/// taken by a resumed study (--resume) where no checkpoint is left to continue from: a study
/// longer than one machine's life is finished model by model, on later machines. They count
/// only when they hold every epoch asked for, each at the learning rate this study's
/// schedule gives its last step, and in the study's precision where the file records one
/// (files written before 2026-12-05 do not); otherwise the model is trained (empty result,
/// and why in `why`).
std::vector<runtime::EpochMetrics> finished_run(const runtime::TrainOptions& t, std::size_t train_images,
                                                std::string& why) {
  std::vector<runtime::EpochMetrics> rows;
  fs::path json = t.metrics;
  json.replace_extension(".json");
  try {
    rows = runtime::read_metrics(t.metrics);
  } catch (const std::runtime_error& e) {
    why = e.what();
    return {};
  }
  if (rows.empty()) return rows;
  if (int(rows.size()) != t.epochs) {
    why = json.string() + ": " + std::to_string(rows.size()) + " epochs, not " + std::to_string(t.epochs);
    return {};
  }
  runtime::Schedule schedule;
  schedule.kind = runtime::Schedule::parse(t.schedule, schedule.milestones);
  if (schedule.kind == runtime::Schedule::Kind::step && schedule.milestones.empty()) {
    schedule.milestones = {std::max(1, t.epochs / 2), std::max(1, 3 * t.epochs / 4)};
  }
  schedule.base_lr = t.lr;
  schedule.steps_per_epoch = runtime::batches_per_epoch(train_images, t.batch, true);
  schedule.total_steps = schedule.steps_per_epoch * t.epochs;
  schedule.warmup_steps = schedule.steps_per_epoch * t.warmup_epochs;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const double expected = schedule.lr(std::int64_t(i + 1) * schedule.steps_per_epoch - 1);
    if (rows[i].epoch != int(i) + 1 || std::abs(rows[i].lr - expected) > 1e-6 * std::max(1.0, t.lr)) {
      why = json.string() + ": epoch " + std::to_string(i + 1) + " ran at lr " + std::to_string(rows[i].lr) +
            ", this study's schedule gives " + std::to_string(expected);
      return {};
    }
    if (!rows[i].precision.empty() && rows[i].precision != runtime::precision_of(t)) {
      why = json.string() + ": epoch " + std::to_string(i + 1) + " was trained in " + rows[i].precision +
            ", this study runs in " + runtime::precision_of(t);
      return {};
    }
  }
  return rows;
}

int run_training(Context& c, const std::vector<ModelPrograms>& models) {
  const StudySpec& spec = c.spec;
  const StudyOptions& o = c.options;
  const bool quick = o.quick;
  Data data = load_data(o.data.empty() ? spec.data : o.data, quick ? &spec.quick : nullptr);
  const bool colour = data.train.dims.c == 3;

  runtime::TrainOptions base;
  base.epochs = o.epochs > 0 ? o.epochs : quick ? spec.quick.epochs : spec.epochs;
  base.batch = quick ? spec.quick.batch : spec.batch;
  base.eval_batch = quick ? spec.quick.batch : 500;
  base.lr = spec.lr;
  base.sgd.momentum = spec.momentum;
  base.sgd.weight_decay = spec.weight_decay;
  base.schedule = spec.schedule;
  base.threads = o.threads;
  base.device = o.device == "cuda" ? runtime::Device::cuda : runtime::Device::cpu;
  base.resume = o.resume;
  if (auto a = bench::parse_conv_algorithm(o.conv_algorithm)) base.conv_algorithm = *a;
  const std::string precision = o.precision.empty() ? spec.precision : o.precision;
  if (base.device == runtime::Device::cpu && precision == "bf16") base.precision = onednn::Precision::bf16;
  if (colour) base.augment = runtime::Augment{4, true};  // CIFAR: random crop (pad 4) and flip
  base.freezing = spec.freezing;
  base.unfreeze_at = spec.unfreeze_at;
  base.lr_groups = spec.lr_groups;
  const std::vector<std::uint64_t> seeds =
      quick ? std::vector<std::uint64_t>{spec.seeds.front()} : spec.seeds;

  c.md.heading(2, "Setup");
  c.md.table(
      {"", ""},
      {{"data", data.description},
       {"training",
        "SGD lr " + fixed(spec.lr, 3) + ", momentum " + fixed(spec.momentum, 2) +
            ", weight decay " + fixed(spec.weight_decay, 4) + ", " + spec.schedule + " schedule, " +
            std::to_string(base.epochs) + " epochs, batch " + std::to_string(base.batch) +
            (colour ? ", random crop (pad 4) and horizontal flip" : ", no augmentation") +
            ", convolutions: " + o.conv_algorithm +
            (base.device == runtime::Device::cuda ? std::string{}
             : precision == "bf16" ? ", bf16 (bfloat16 activations and weights in oneDNN, fp32 master weights)"
                                   : ", fp32")},
       {"seeds",
        [&] {
          std::string s;
          for (auto seed : seeds) s += (s.empty() ? "" : ", ") + std::to_string(seed);
          return s;
        }()},
       {"gradient norms",
        spec.gradient_norms
            ? "per layer, L2 norm of the loss gradient of each layer's parameters on one training "
              "batch: the first (at initialisation) and the last of each epoch"
            : "not recorded"}});

  runtime::Progress progress(stderr);
  std::vector<ModelRun> runs;
  std::string left_out;  // --models: neither trained nor finished before
  for (const ModelPrograms& m : models) {
    const Shape in = m.native.tensors[std::size_t(m.native.input)].shape;
    const bool native =
        in.c == data.train.dims.c && in.h == data.train.dims.h && in.w == data.train.dims.w;
    for (std::uint64_t seed : seeds) {
      ModelRun run;
      run.model = &m;
      run.program = native ? m.native : m.fashion_mnist;
      run.seed = seed;
      runtime::TrainOptions t = base;
      t.seed = seed;
      const std::string stem = m.label + "-seed" + std::to_string(seed);
      t.metrics = c.dir / (stem + ".csv");
      if (!quick) {
        const fs::path root = o.checkpoints.empty() ? fs::path("runs") : o.checkpoints;
        t.checkpoint_dir = root / spec.name / stem;
      }
      if (t.checkpoint_dir.empty()) t.resume = false;  // --quick keeps no checkpoints
      if (spec.gradient_norms) {
        t.on_gradients = [&run](int epoch, std::span<const float> g) {
          run.gradients.push_back({epoch, op_gradient_norms(run.program, g)});
        };
      }
      std::printf("\n== %s, seed %llu (%s params, %s MACs/image as trained here, depth %d)\n",
                  m.label.c_str(), static_cast<unsigned long long>(seed),
                  grouped(run.program.params).c_str(), grouped(macs_of(run.program)).c_str(),
                  depth_of(run.program));
      std::fflush(stdout);
      const bool selected = o.models.empty() || std::find(o.models.begin(), o.models.end(), m.label) != o.models.end();
      // A model --models leaves out, or one resumed, is taken from an earlier finished run
      // where there is one (resumed from its last checkpoint it would train nothing, and the
      // report would not say its figures are an earlier run's); a left-out one without it is
      // not run, a resumed one continues from its checkpoint or starts anew.
      const bool no_checkpoint = t.checkpoint_dir.empty() || !fs::exists(t.checkpoint_dir / "checkpoint.bin");
      std::string why;
      if (!spec.gradient_norms && (!selected || o.resume)) {
        run.result.epochs = finished_run(t, data.train.size(), why);
        if (!run.result.epochs.empty()) {
          std::printf("finished before: its %d epochs are in %s; not trained again\n", t.epochs,
                      t.metrics.c_str());
          run.earlier = true;
          runs.push_back(std::move(run));
          continue;
        }
        if (!why.empty() && selected && no_checkpoint) {
          std::printf("not taken from an earlier run: %s\n", why.c_str());
        }
      }
      if (!selected) {
        std::printf("not in --models and not finished before%s: left out of this report\n",
                    why.empty() ? "" : (" (" + why + ")").c_str());
        left_out += (left_out.empty() ? "" : ", ") + m.label + " (seed " + std::to_string(seed) + ")";
        continue;
      }
      const auto start = Clock::now();
      run.result = runtime::train(run.program, m.label, data.train, data.test, t, progress);
      run.wall_seconds = std::chrono::duration<double>(Clock::now() - start).count();
      if (spec.gradient_norms) write_gradient_csv(c.dir / (stem + "-gradient-norms.csv"), run);
      runs.push_back(std::move(run));
    }
  }

  // Per model: the seeds' final figures.
  struct Row {
    const ModelPrograms* model;
    codegen::ProgramView program;
    std::vector<double> train_error, test_accuracy, seconds, images_per_second;
    std::vector<const ModelRun*> runs;
  };
  std::vector<Row> rows;
  for (const ModelPrograms& m : models) {
    Row r{&m, {}, {}, {}, {}, {}, {}};
    for (const ModelRun& run : runs) {
      if (run.model != &m || run.result.epochs.empty()) continue;
      r.program = run.program;
      r.runs.push_back(&run);
      const auto& last = run.result.epochs.back();
      r.train_error.push_back(1.0 - last.train_accuracy);
      r.test_accuracy.push_back(last.test_accuracy);
      for (const auto& e : run.result.epochs) {
        r.seconds.push_back(e.seconds);
        r.images_per_second.push_back(e.images_per_second);
      }
    }
    if (!r.runs.empty()) rows.push_back(r);
  }
  auto with_spread = [&](const std::vector<double>& v, bool as_percent) {
    const std::string m = as_percent ? percent(mean(v)) : fixed(mean(v), 1);
    if (v.size() < 2) return m;
    return m + " ± " + (as_percent ? percent(deviation(v)) : fixed(deviation(v), 1));
  };

  c.md.heading(2, "Results");
  std::vector<std::vector<std::string>> table;
  nlohmann::json models_json = nlohmann::json::array();
  for (const Row& r : rows) {
    table.push_back({r.model->label, std::to_string(depth_of(r.program)), grouped(r.program.params),
                     grouped(macs_of(r.program)),
                     mib(planned_training_bytes(r.program, base.batch)),
                     with_spread(r.train_error, true), with_spread(r.test_accuracy, true),
                     fixed(median(r.seconds), 1), fixed(median(r.images_per_second), 1)});
    nlohmann::json mj{{"label", r.model->label},
                      {"depth", depth_of(r.program)},
                      {"params", r.program.params},
                      {"macs_per_image", macs_of(r.program)},
                      {"native_params", r.model->params},
                      {"native_macs_per_image", r.model->macs},
                      {"planned_training_bytes", planned_training_bytes(r.program, base.batch)},
                      {"final_train_error", r.train_error},
                      {"final_test_accuracy", r.test_accuracy},
                      {"mean_epoch_seconds", mean(r.seconds)},
                      {"mean_images_per_second", mean(r.images_per_second)},
                      {"median_epoch_seconds", median(r.seconds)},
                      {"median_images_per_second", median(r.images_per_second)}};
    models_json.push_back(mj);
  }
  c.md.table({"model", "depth", "params", "MACs/image", "training memory (MiB, planned)",
              "final train error", "final test accuracy", "s/epoch", "train img/s"},
             table, {false, true, true, true, true, true, true, true, true});
  c.md.paragraph(
      "Depth: convolutions and linear layers on the longest path (shortcuts off it). Parameters "
      "and MACs (one "
      "forward pass of one image), compile-time, of the net as trained here: the native net when "
      "the data fits its "
      "input, else the net fed through its input adapter (1x28x28 images: the first convolution "
      "takes 1 channel "
      "instead of 3). Training memory: the plan's saved forward values at batch " +
      std::to_string(base.batch) +
      " plus weights, gradients and momentum (fp32), compile-time; the executable adds a pool for "
      "the "
      "transient activations and gradients. s/epoch and img/s: training only (evaluation "
      "excluded), measured, the median over the epochs" +
      std::string(seeds.size() > 1 ? " and seeds" : "") +
      " (wall-clock: an epoch paused or sharing the cores is slower, and the median leaves it "
      "out), " +
      threads_text(c.threads) +
      ". Errors and accuracies are fractions of the images of the last epoch" +
      (seeds.size() > 1 ? ", mean ± standard deviation over the seeds." : "."));
  c.summary["models"] = models_json;
  {
    std::string earlier;
    for (const ModelRun& run : runs) {
      if (!run.earlier) continue;
      earlier += (earlier.empty() ? "" : ", ") + run.model->label + " (seed " + std::to_string(run.seed) + ")";
    }
    if (!earlier.empty()) {
      c.md.paragraph("Not trained by this run: " + earlier +
                     ". Resumed or left out by `--models`, the study took their per-epoch metrics from this "
                     "folder, written by an earlier run that finished every epoch asked for with this schedule's "
                     "learning rates; their times are that run's, on its machine.");
    }
    if (!left_out.empty()) {
      c.md.paragraph("**Incomplete:** left out of this run (`--models`), with no finished run to take: " + left_out +
                     ". Run them with `--models` (and `--resume`) to complete the study.");
    }
  }

  // Curves (the seeds' mean, epoch by epoch).
  auto curve = [&](const Row& r, auto field) {
    Series s{r.model->label, {}, {}, {}, false, "linespoints"};
    std::size_t epochs = SIZE_MAX;
    for (const ModelRun* run : r.runs) epochs = std::min(epochs, run->result.epochs.size());
    for (std::size_t e = 0; e < epochs; ++e) {
      double sum = 0;
      for (const ModelRun* run : r.runs) sum += field(run->result.epochs[e]);
      s.x.push_back(double(e + 1));
      s.y.push_back(sum / double(r.runs.size()));
    }
    return s;
  };
  c.md.heading(3, "Training curves");
  Plot train_error{"Training error (" + data.train.name + ")",
                   "epoch",
                   "training error (last epoch's batches)",
                   "",
                   false,
                   false,
                   {},
                   {},
                   900,
                   520};
  Plot test_accuracy{"Test accuracy (" + data.test.name + ")",
                     "epoch",
                     "test top-1 accuracy",
                     "",
                     false,
                     false,
                     {},
                     {},
                     900,
                     520};
  Plot train_loss{
      "Training loss", "epoch", "mean cross-entropy", "", false, false, {}, {}, 900, 520};
  for (const Row& r : rows) {
    train_error.series.push_back(
        curve(r, [](const runtime::EpochMetrics& e) { return 1.0 - e.train_accuracy; }));
    test_accuracy.series.push_back(
        curve(r, [](const runtime::EpochMetrics& e) { return e.test_accuracy; }));
    train_loss.series.push_back(
        curve(r, [](const runtime::EpochMetrics& e) { return e.train_loss; }));
  }
  c.figure(train_error, "train_error.png");
  c.figure(test_accuracy, "test_accuracy.png");
  c.figure(train_loss, "train_loss.png");

  if (spec.against_depth) {
    c.md.heading(3, "Against depth");
    Plot accuracy{"Final test accuracy against depth",
                  "depth (weight layers)",
                  "test top-1 accuracy",
                  "",
                  false,
                  false,
                  {},
                  {},
                  900,
                  520};
    Plot params{"Parameters against depth (native 3x32x32 input)",
                "depth (weight layers)",
                "trainable parameters",
                "",
                false,
                true,
                {},
                {},
                900,
                520};
    Plot macs{"MACs per image against depth (native 3x32x32 input)",
              "depth (weight layers)",
              "MACs per image (forward)",
              "",
              false,
              true,
              {},
              {},
              900,
              520};
    // Two families: the CIFAR ResNets (16-32-64 filters) and the ImageNet-width CIFAR variants.
    for (const bool wide : {false, true}) {
      const std::string family = wide ? "ResNet-18/50 (CIFAR variants)" : "CIFAR ResNets (6n+2)";
      Series a{family, {}, {}, {}, false, "points pointsize 2"}, p = a, m = a;
      for (const Row& r : rows) {
        if ((r.model->label.find("_cifar") != std::string::npos) != wide) continue;
        const double d = depth_of(r.program);
        a.x.push_back(d), a.y.push_back(mean(r.test_accuracy)), a.labels.push_back(r.model->label);
        p.x.push_back(d), p.y.push_back(double(r.model->params)),
            p.labels.push_back(r.model->label);
        m.x.push_back(d), m.y.push_back(double(r.model->macs)), m.labels.push_back(r.model->label);
      }
      if (a.x.empty()) continue;
      accuracy.series.push_back(a), params.series.push_back(p), macs.series.push_back(m);
    }
    c.figure(accuracy, "accuracy_vs_depth.png");
    c.figure(params, "params_vs_depth.png");
    c.figure(macs, "macs_vs_depth.png");

    // The CIFAR family in order of depth: does accuracy rise with every step, as in He et al.
    // 2016, Table 6? A step that loses test accuracy while its training error rises is a net
    // further from convergence; one that loses it fitting the training set no worse
    // generalises no better.
    std::vector<const Row*> family;
    for (const Row& r : rows) {
      if (r.model->label.find("_cifar") == std::string::npos) family.push_back(&r);
    }
    std::sort(family.begin(), family.end(),
              [](const Row* a, const Row* b) { return depth_of(a->program) < depth_of(b->program); });
    if (family.size() >= 2) {
      std::string chain, errors, steps_down;
      bool any_underfit = false;
      nlohmann::json trend = nlohmann::json::array(), losses = nlohmann::json::array();
      for (std::size_t i = 0; i < family.size(); ++i) {
        const Row& r = *family[i];
        if (i > 0) {
          const Row& p = *family[i - 1];
          const double d_test = mean(r.test_accuracy) - mean(p.test_accuracy);
          const double d_train = mean(r.train_error) - mean(p.train_error);
          if (!(d_test > 0)) {
            const bool underfit = d_train > 0;
            any_underfit = any_underfit || underfit;
            steps_down += std::string(steps_down.empty() ? "" : "; ") + p.model->label + " → " + r.model->label +
                          ": test accuracy " + fixed(100 * d_test, 2) + " points, training error " +
                          (d_train > 0 ? "+" : "") + fixed(100 * d_train, 2) + " points" +
                          (underfit ? " (fits its training set worse: further from convergence)"
                                    : " (fits its training set no worse, tests no better)");
            losses.push_back({{"from", p.model->label}, {"to", r.model->label}, {"test_accuracy_change", d_test},
                              {"train_error_change", d_train}});
          }
        }
        chain += (i ? " → " : "") + r.model->label + " " + percent(mean(r.test_accuracy));
        errors += (i ? ", " : "") + percent(mean(r.train_error));
        trend.push_back({{"label", r.model->label},
                         {"depth", depth_of(r.program)},
                         {"final_test_accuracy", mean(r.test_accuracy)},
                         {"final_train_error", mean(r.train_error)}});
      }
      const bool accuracy_rises = steps_down.empty();
      const auto best = *std::max_element(family.begin(), family.end(), [](const Row* a, const Row* b) {
        return mean(a->test_accuracy) < mean(b->test_accuracy);
      });
      const std::int64_t steps = std::int64_t(base.epochs) * runtime::batches_per_epoch(data.train.size(), base.batch, true);
      std::string text = "CIFAR ResNets in order of depth, final test accuracy: " + chain +
                         " (final training error, same order: " + errors + "). ";
      if (accuracy_rises) {
        text += "Test accuracy rises with every step in depth, as in He et al. 2016, Table 6.";
      } else {
        text += "Unlike He et al. 2016, Table 6, test accuracy does not rise with every step in depth; it is highest at " +
                best->model->label + ". The steps that lose it: " + steps_down + ".";
        if (any_underfit) {
          text += " This run trained " + std::to_string(base.epochs) + " epochs (" + grouped(steps) +
                  " iterations at batch " + std::to_string(base.batch) +
                  "), the paper 64,000 iterations at batch 128 (about 164 epochs of CIFAR-10); deeper nets need more "
                  "of them to converge.";
        }
      }
      if (seeds.size() == 1) {
        text += " One seed per model: differences of a few tenths of a point between neighbours are within what "
                "another seed could change.";
      }
      c.md.heading(3, "Accuracy and depth");
      c.md.paragraph(text);
      c.summary["depth_trend"] = {{"cifar_family", trend},
                                  {"test_accuracy_rises_with_depth", accuracy_rises},
                                  {"steps_losing_accuracy", losses}};
    }
  }

  if (spec.gradient_norms) {
    c.md.heading(3, "Per-layer gradient norms");
    c.md.paragraph(
        "L2 norm of the loss gradient of each convolution's and linear layer's parameters, against "
        "the layer's depth "
        "(1: the first convolution), on one training batch of " +
        std::to_string(base.batch) +
        " images: at initialisation (epoch 0) and the last batch of each epoch (before its update; "
        "a resumed run "
        "records only the epochs it ran). Raw values, BatchNorm layers included: `" +
        spec.name + "/MODEL-seedS-gradient-norms.csv`.");
    auto gradient_plot = [](std::string title) {  // norms against depth, log scale
      return Plot{std::move(title), "layer depth", "gradient L2 norm", "", false, true, {}, {}, 900, 520};
    };
    Plot init = gradient_plot("Gradient norms at initialisation");
    Plot final_epoch = gradient_plot("Gradient norms after the last epoch");
    for (const ModelRun& run : runs) {
      if (run.seed != seeds.front() || run.gradients.empty()) continue;
      init.series.push_back(gradient_series(run, run.gradients.front(), run.model->label));
      final_epoch.series.push_back(gradient_series(run, run.gradients.back(), run.model->label));
    }
    c.figure(init, "gradient_norms_init.png");
    c.figure(final_epoch, "gradient_norms_final.png");
    for (const ModelRun& run : runs) {
      if (run.seed != seeds.front() || run.gradients.empty()) continue;
      Plot per{"Gradient norms of " + run.model->label + " by epoch",
               "layer depth",
               "gradient L2 norm",
               "",
               false,
               true,
               {},
               {},
               900,
               520};
      // At most 8 curves: initialisation, the last epoch, and epochs evenly between.
      const std::size_t n = run.gradients.size();
      std::vector<std::size_t> picks;
      for (std::size_t k = 0; k < std::min<std::size_t>(n, 8); ++k) {
        const std::size_t i = n <= 8 ? k : k * (n - 1) / 7;
        if (picks.empty() || picks.back() != i) picks.push_back(i);
      }
      for (std::size_t i : picks) {
        const int e = run.gradients[i].epoch;
        per.series.push_back(
            gradient_series(run, run.gradients[i], e == 0 ? "init" : "epoch " + std::to_string(e)));
      }
      c.figure(per, "gradient_norms_" + run.model->label + ".png");
    }
    // What reaches the first layer, as a number: its gradient norm over the deepest
    // convolution's (the last before the classifier), at initialisation and at the end.
    std::vector<std::vector<std::string>> table;
    nlohmann::json reach = nlohmann::json::object();
    for (const ModelRun& run : runs) {
      if (run.seed != seeds.front() || run.gradients.empty()) continue;
      const auto depth = weight_depths(run.program);
      std::size_t first = run.program.ops.size(), last = first;
      for (std::size_t i = 0; i < run.program.ops.size(); ++i) {
        const codegen::Op& op = run.program.ops[i];
        if (op.layer.op != LayerKind::conv) continue;
        const int d = depth[std::size_t(op.output)];
        if (first == run.program.ops.size() || d < depth[std::size_t(run.program.ops[first].output)])
          first = i;
        if (last == run.program.ops.size() || d >= depth[std::size_t(run.program.ops[last].output)])
          last = i;
      }
      if (first == run.program.ops.size()) continue;
      std::vector<std::string> row{run.model->label};
      nlohmann::json j = nlohmann::json::object();
      for (const GradientSample* s : {&run.gradients.front(), &run.gradients.back()}) {
        const double a = s->norms[first], b = s->norms[last];
        const double ratio = b > 0 ? a / b : 0.0;
        row.push_back(significant(a) + " / " + significant(b) + " = " + significant(ratio));
        j[s == &run.gradients.front() ? "init" : "final"] = {
            {"epoch", s->epoch}, {"first_conv", a}, {"last_conv", b}, {"ratio", ratio}};
      }
      reach[run.model->label] = j;
      table.push_back(std::move(row));
    }
    if (!table.empty()) {
      c.md.paragraph("The first convolution's gradient norm over the deepest convolution's: above 1, "
                     "the gradient grows on its way back to the input; below 1, it shrinks.");
      c.md.table({"model", "at initialisation: first / last = ratio",
                  "after the last epoch: first / last = ratio"},
                 table);
      c.summary["gradient_reach"] = reach;
    }
  }

  // The degradation problem (He et al. 2016, Fig. 6), when the study has its four nets.
  auto final_error = [&](const std::string& label) -> std::optional<double> {
    for (const Row& r : rows) {
      if (r.model->label == label) return mean(r.train_error);
    }
    return std::nullopt;
  };
  const auto p20 = final_error("plain20"), p56 = final_error("plain56");
  const auto r20 = final_error("resnet20"), r56 = final_error("resnet56");
  if (p20 && p56 && r20 && r56) {
    c.md.heading(3, "The degradation problem");
    const bool degraded = *p56 > *p20;
    const bool residual_ok = *r56 <= *r20;
    std::string text = "Final training error: Plain-20 " + percent(*p20) + ", Plain-56 " +
                       percent(*p56) + ", ResNet-20 " + percent(*r20) + ", ResNet-56 " +
                       percent(*r56) + ". ";
    if (quick) {
      text +=
          "This is a --quick run (a few steps on a tiny subset): it checks the pipeline and says "
          "nothing about "
          "the paper's claim.";
    } else {
      text += std::string("The paper's claim — Plain-56 above Plain-20: ") +
              (degraded ? "**holds**" : "**does not hold**") +
              "; ResNet-56 at or below ResNet-20: " +
              (residual_ok ? "**holds**" : "**does not hold**") + ".";
    }
    c.md.paragraph(text);
    c.summary["degradation"] = {{"plain20", *p20},
                                {"plain56", *p56},
                                {"resnet20", *r20},
                                {"resnet56", *r56},
                                {"plain_degrades", degraded},
                                {"residual_no_worse", residual_ok}};
  }
  return 0;
}

// ---------------------------------------------------------------------------------------
// Cost study

ModelInfo info_of(const codegen::ProgramView& p) {
  ModelInfo info;
  info.input = p.tensors[std::size_t(p.input)].shape;
  info.output = p.tensors[std::size_t(p.output)].shape;
  info.params = p.params;
  info.buffers = p.buffers;
  info.macs = macs_of(p);
  info.inference_peak_elements = p.inference_arena;
  info.training_saved_elements = p.training_saved;
  info.program = p;
  return info;
}

/// Receptive field of a chain of convolutions and poolings, up to the first global layer.
std::int64_t chain_receptive_field(const codegen::ProgramView& p) {
  std::int64_t size = 1, jump = 1;
  for (const codegen::Op& op : p.ops) {
    if (op.layer.global) break;
    size += (op.layer.kernel_h - 1) * jump;
    jump *= op.layer.stride_h;
  }
  return size;
}

double measure(const ModelInfo& info, int batch, onednn::Mode mode, int steps, double min_time,
               int threads, const std::string& conv_algorithm) {
  onednn::Options eo;
  eo.threads = threads;
  if (auto a = bench::parse_conv_algorithm(conv_algorithm)) eo.conv_algorithm = *a;
  bench::Workload w(info, batch, mode, eo);
  return bench::timed([&w] { w.step(); }, batch, steps, min_time).images_per_second;
}

void layer_table(Context& c, const ModelEntry& m) {
  const ModelInfo& info = m.native;
  c.md.heading(3, std::string(m.title) + " (" + shape_text(info.input) + ")");
  std::vector<std::vector<std::string>> rows;
  Plot plot{std::string(m.title) + ": MACs and activation memory per layer",
            "layer (execution order)",
            "MMACs per image",
            "output activation, KiB per image (fp32)",
            false,
            false,
            {},
            {},
            1000,
            520};
  Series macs{"MMACs", {}, {}, {}, false, "impulses lw 3"};
  Series memory{"activation KiB", {}, {}, {}, true, "lines"};
  std::int64_t total_elements = 0;
  for (std::size_t i = 0; i < info.layers.size(); ++i) {
    const LayerRow& r = info.layers[i];
    const std::int64_t elements = r.view ? 0 : r.out.elements();
    total_elements += elements;
    rows.push_back({std::to_string(i + 1), std::string(r.path.view()), std::string(r.kind.view()),
                    shape_text(r.out), grouped(r.params), fixed(double(r.macs) / 1e6, 2),
                    r.view ? "(view)" : fixed(4.0 * double(elements) / 1024.0, 1)});
    macs.x.push_back(double(i + 1));
    macs.y.push_back(double(r.macs) / 1e6);
    memory.x.push_back(double(i + 1));
    memory.y.push_back(4.0 * double(elements) / 1024.0);
  }
  rows.push_back({"", "**total**", "", "", grouped(info.params), fixed(double(info.macs) / 1e6, 2),
                  fixed(4.0 * double(total_elements) / 1024.0, 1)});
  c.md.paragraph(
      std::string("Compile-time figures of `") + std::string(m.name) +
      "` for one image: MACs of the forward pass, and each layer's output in fp32 (the sum is "
      "every "
      "activation the forward pass writes, before any reuse; the planned inference peak is " +
      mib(4.0 * double(info.inference_peak_elements) * 1) + " MiB per image, and training keeps " +
      mib(4.0 * double(info.training_saved_elements)) + " MiB per image for the backward pass).");
  plot.series = {macs, memory};
  c.figure(plot, std::string(m.name) + "_layers.png");
  c.md.table({"#", "layer", "kind", "output", "params", "MMACs", "activation KiB"}, rows,
             {true, false, false, false, true, true, true});
}

int run_cost(Context& c, const std::vector<ModelPrograms>& models) {
  const StudySpec& spec = c.spec;
  const StudyOptions& o = c.options;
  c.md.heading(2, "Per-layer MACs and activation memory");
  for (const std::string& name : spec.tables) {
    const ModelEntry* m = find_model(name);
    if (m == nullptr) throw std::invalid_argument("the registry has no model '" + name + "'");
    layer_table(c, *m);
  }

  const int batch = o.quick ? spec.quick.batch : spec.batch;
  const int steps = o.quick ? spec.quick.steps : 10;
  const double min_time = o.quick ? 0.0 : 2.0;
  c.md.heading(2, "Stacked 3x3 convolutions against one larger kernel");
  c.md.paragraph(
      "Probes: " + shape_text(models.front().native.tensors[0].shape) +
      " inputs, each convolution followed by a ReLU, then global average pooling and a 10-way "
      "linear layer "
      "(650 parameters, 640 MACs, included below). Parameters and MACs are compile-time (and "
      "static_asserted in `experiments/computational_cost.hpp`); times are measured at batch " +
      measured_as(batch, c.threads, steps, min_time) +
      "; a training step is forward, backward and an SGD update.");
  std::vector<std::vector<std::string>> rows;
  Plot cost{"Compile-time cost of each probe",
            "",
            "parameters (thousands) / MACs per image (millions)",
            "",
            false,
            false,
            {},
            {},
            900,
            520};
  Plot time{
      "Measured time per image", "", "microseconds per image", "", false, false, {}, {}, 900, 520};
  Series params{"parameters (k)", {}, {}, {}, false, ""},
      macs{"MACs/image (M)", {}, {}, {}, false, ""};
  Series inference{"inference", {}, {}, {}, false, ""},
      training{"training step", {}, {}, {}, false, ""};
  nlohmann::json probes = nlohmann::json::array();
  for (const ModelPrograms& m : models) {
    const ModelInfo info = info_of(m.native);
    std::printf("timing %s (batch %d)\n", m.label.c_str(), batch);
    std::fflush(stdout);
    const double infer =
        measure(info, batch, onednn::Mode::inference, steps, min_time, o.threads, o.conv_algorithm);
    const double train =
        measure(info, batch, onednn::Mode::training, steps, min_time, o.threads, o.conv_algorithm);
    int convs = 0;
    for (const codegen::Op& op : m.native.ops) convs += op.layer.op == LayerKind::conv ? 1 : 0;
    const std::int64_t rf = chain_receptive_field(m.native);
    rows.push_back({m.label, std::to_string(convs), std::to_string(rf) + "x" + std::to_string(rf),
                    grouped(m.params), grouped(m.macs), fixed(1e6 / infer, 1),
                    fixed(1e6 / train, 1), fixed(infer, 1), fixed(train, 1)});
    cost.categories.push_back(m.label);
    time.categories.push_back(m.label);
    params.y.push_back(double(m.params) / 1e3);
    macs.y.push_back(double(m.macs) / 1e6);
    inference.y.push_back(1e6 / infer);
    training.y.push_back(1e6 / train);
    probes.push_back({{"label", m.label},
                      {"convolutions", convs},
                      {"receptive_field", rf},
                      {"params", m.params},
                      {"macs_per_image", m.macs},
                      {"inference_images_per_second", infer},
                      {"training_images_per_second", train},
                      {"batch", batch}});
  }
  c.md.table({"probe", "convs", "receptive field", "params", "MACs/image", "inference µs/image",
              "training µs/image", "inference img/s", "training img/s"},
             rows, {false, true, true, true, true, true, true, true, true});
  cost.series = {params, macs};
  time.series = {inference, training};
  c.figure(cost, "kernels_cost.png");
  c.figure(time, "kernels_time.png");
  c.summary["probes"] = probes;
  return 0;
}

// ---------------------------------------------------------------------------------------
// Lineage

int run_lineage(Context& c) {
  const StudySpec& spec = c.spec;
  const StudyOptions& o = c.options;
  const int batch = o.quick ? spec.quick.batch : spec.batch;
  const int steps = o.quick ? spec.quick.steps : 3;
  const double min_time = o.quick ? 0.0 : 2.0;
  std::vector<std::vector<std::string>> rows;
  nlohmann::json all = nlohmann::json::array();
  Series by_year{"models of the zoo", {}, {}, {}, false, "points pointsize 1.5"};
  // Plain nets have their residual twins' MACs: their labels go below the point.
  Series speed{"the other models", {}, {}, {}, false, "points pointsize 1.5"};
  Series plain_speed{"plain (shortcuts removed)", {},        {}, {}, false,
                     "points pointsize 1.5",      "0.6,-0.6"};
  for (const PaperTop1& p : spec.paper_top1) {  // a misspelt name would silently print no figure
    if (find_model(p.model) == nullptr) {
      throw std::logic_error("lineage: paper_top1 names '" + std::string(p.model) + "', which is not a registered model");
    }
  }
  for (const ModelEntry& m : models()) {
    const ModelInfo& info = m.native;
    const int depth = depth_of(info.program);
    std::string top1 = "", source = "";
    for (const PaperTop1& p : spec.paper_top1) {
      if (p.model == m.name) top1 = percent(p.top1, 2), source = std::string(p.source);
    }
    double images_per_second = 0;
    std::string measured = "–";
    if (!o.quick || spec.quick.max_macs == 0 || info.macs <= spec.quick.max_macs) {
      std::printf("timing %s (batch %d)\n", std::string(m.name).c_str(), batch);
      std::fflush(stdout);
      images_per_second = measure(info, batch, onednn::Mode::inference, steps, min_time, o.threads,
                                  o.conv_algorithm);
      measured = fixed(images_per_second, 1);
      Series& series = m.name.starts_with("plain") ? plain_speed : speed;
      series.x.push_back(double(info.macs));
      series.y.push_back(images_per_second);
      series.labels.push_back(std::string(m.name));
    } else {
      measured = "(not timed: --quick)";
    }
    rows.push_back({std::string(m.name), std::string(m.title), std::to_string(m.year),
                    std::to_string(depth), grouped(info.params), fixed(double(info.macs) / 1e6, 1),
                    shape_text(info.input), top1, measured, source});
    by_year.x.push_back(m.year);
    by_year.y.push_back(double(info.params));
    all.push_back({{"name", m.name},
                   {"title", m.title},
                   {"year", m.year},
                   {"depth", depth},
                   {"params", info.params},
                   {"macs_per_image", info.macs},
                   {"input", shape_text(info.input)},
                   {"paper_top1", top1.empty() ? nlohmann::json() : nlohmann::json(top1)},
                   {"inference_images_per_second",
                    images_per_second > 0 ? nlohmann::json(images_per_second) : nlohmann::json()}});
  }
  c.md.heading(2, "The zoo");
  c.md.table({"model", "title", "year", "depth", "params", "MMACs/image", "input", "paper top-1",
              "inference img/s", "paper figure"},
             rows, {false, false, true, true, true, true, false, true, true, false});
  c.md.paragraph(
      "Depth: convolutions and linear layers on the longest path. Parameters and MACs (one image, "
      "forward, "
      "at the paper's input) are compile-time. Inference images/s: measured here at the paper's "
      "input, "
      "batch " +
      measured_as(batch, c.threads, steps, min_time) +
      " (fp32, oneDNN). Paper top-1: as published, on the data set named next to it.");
  Plot year{"Parameters by year of publication (the table names each point)",
            "year",
            "trainable parameters",
            "",
            false,
            true,
            {by_year},
            {},
            1000,
            600};
  Plot throughput{"Measured inference speed against MACs",
                  "MACs per image (forward)",
                  "inference images/s",
                  "",
                  true,
                  true,
                  {speed, plain_speed},
                  {},
                  1000,
                  600};
  c.figure(year, "params_by_year.png");
  if (!speed.x.empty() || !plain_speed.x.empty()) c.figure(throughput, "throughput_vs_macs.png");
  c.summary["models"] = all;
  return 0;
}

/// `--draw`: the plots a run left undrawn in OUT/NAME.md, drawn from their scripts; the
/// report and summary.json then show them as if they had been drawn by the run.
int draw_pending(const StudySpec& spec, const StudyOptions& options) {
  const fs::path out = !options.out.empty() ? options.out
                       : options.quick      ? fs::path("runs/quick")
                                            : fs::path("reports");
  const fs::path report = out / (spec.name + ".md");
  const std::vector<std::string> drawn = draw_pending_plots(report);
  if (drawn.empty()) {
    std::printf("%s: %s has no plots left to draw\n", spec.name.c_str(), report.c_str());
    return 0;
  }
  const fs::path summary_file = out / spec.name / "summary.json";
  if (std::ifstream in(summary_file); in) {
    nlohmann::json summary = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (summary.is_object()) {
      std::vector<std::string> plots = summary.value("plots", std::vector<std::string>{});
      plots.insert(plots.end(), drawn.begin(), drawn.end());
      summary["plots"] = plots;
      summary["undrawn"] = nlohmann::json::array();
      std::ofstream(summary_file) << summary.dump(2) << "\n";
    }
  }
  std::printf("%s: drew %zu plots into %s\n", spec.name.c_str(), drawn.size(), report.c_str());
  return 0;
}

}  // namespace

StudyOptions parse_study_options(int argc, char** argv, std::string_view study) {
  StudyOptions o;
  o.command = command_line(argc, argv);
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) study_usage(study, flag + " needs a value");
      return argv[++i];
    };
    auto number = [&](const std::string& text) {
      char* end = nullptr;
      const long v = std::strtol(text.c_str(), &end, 10);
      if (end == text.c_str() || *end != '\0' || v < 0 || v > 1'000'000) {
        study_usage(study, flag + " wants a non-negative whole number, not '" + text + "'");
      }
      return int(v);
    };
    if (flag == "--help" || flag == "-h")
      study_usage(study, "");
    else if (flag == "--quick")
      o.quick = true;
    else if (flag == "--epochs")
      o.epochs = number(value());
    else if (flag == "--data")
      o.data = value();
    else if (flag == "--out")
      o.out = value();
    else if (flag == "--checkpoints")
      o.checkpoints = value();
    else if (flag == "--threads")
      o.threads = number(value());
    else if (flag == "--conv-algorithm")
      o.conv_algorithm = value();
    else if (flag == "--precision")
      o.precision = value();
    else if (flag == "--resume")
      o.resume = true;
    else if (flag == "--models") {
      const std::string list = value();
      for (std::size_t at = 0; at <= list.size();) {
        const std::size_t comma = std::min(list.find(',', at), list.size());
        if (comma > at) o.models.push_back(list.substr(at, comma - at));
        at = comma + 1;
      }
      if (o.models.empty()) study_usage(study, "--models wants model names separated by commas");
    }
    else if (flag == "--device")
      o.device = value();
    else if (flag == "--draw")
      o.draw = true;
    else
      study_usage(study, "unknown option '" + flag + "'");
  }
  return o;
}

int run_study(const StudySpec& spec, const std::vector<ModelPrograms>& models,
              const StudyOptions& options) {
  const std::string& name = spec.name;
  try {
    if (options.draw) return draw_pending(spec, options);
    if (options.device != "cpu" && options.device != "cuda") {
      throw std::invalid_argument("--device " + options.device + ": use cpu or cuda");
    }
    if (options.device == "cuda" && spec.kind != StudyKind::training) {
      throw std::invalid_argument("--device cuda: " + name +
                                  " measures the CPU backend (oneDNN); only the training studies run on a GPU");
    }
    if (options.device == "cuda") {
      if (const std::string reason = runtime::cuda_unavailable_reason(); !reason.empty()) {
        throw std::invalid_argument("--device cuda: " + reason);
      }
    }
    if (!options.precision.empty() && options.precision != "f32" && options.precision != "bf16") {
      throw std::invalid_argument("--precision " + options.precision + ": use f32 or bf16");
    }
    if (options.precision == "bf16" && spec.kind != StudyKind::training) {
      throw std::invalid_argument("--precision bf16: " + name +
                                  " measures fp32 inference; only the training studies train in bf16");
    }
    if (!options.models.empty() && spec.kind != StudyKind::training) {
      throw std::invalid_argument("--models: " + name + " trains nothing; only the training studies take it");
    }
    for (const std::string& m : options.models) {
      if (std::find(spec.labels.begin(), spec.labels.end(), m) == spec.labels.end()) {
        std::string known;
        for (const auto& l : spec.labels) known += (known.empty() ? "" : ", ") + std::string(l);
        throw std::invalid_argument("--models: " + name + " has no model '" + m + "' (its models: " + known + ")");
      }
    }
    if (!bench::parse_conv_algorithm(options.conv_algorithm)) {
      throw std::invalid_argument("--conv-algorithm " + options.conv_algorithm +
                                  ": use direct, fastest or winograd");
    }
    if (spec.kind != StudyKind::lineage && models.size() != spec.labels.size()) {
      throw std::invalid_argument(name + ": " + std::to_string(models.size()) + " programs for " +
                                  std::to_string(spec.labels.size()) + " models");
    }
    // The programs must be those of the declared types (the command line takes them from
    // the registry by name).
    for (std::size_t i = 0; i < models.size() && i < spec.params.size(); ++i) {
      if (models[i].native.params != spec.params[i] || models[i].params != spec.params[i] ||
          models[i].macs != spec.macs[i]) {
        throw std::logic_error(
            name + ": the program of '" + models[i].label +
            "' does not match the study's declared model (parameters or MACs differ)");
      }
    }
    Context c{spec, options, {}, {}, bench::effective_threads(options.threads), {}, {}, {}, {}};
    c.out = !options.out.empty() ? options.out
            : options.quick      ? fs::path("runs/quick")
                                 : fs::path("reports");
    c.dir = c.out / name;
    fs::create_directories(c.dir);

    const auto start = Clock::now();
    const std::string started = utc_now();
    // The tree as the run starts (the one built into this executable, as a rule): a long
    // run must not report the commit the tree has moved on to by its end.
    const std::string commit = source_commit();
    c.md.heading(1, spec.title);
    c.md.paragraph(spec.question);
    if (options.quick) {
      c.md.paragraph(
          "**This is a `--quick` run**: a few steps on a tiny subset, to check the pipeline end to "
          "end. Its "
          "numbers mean nothing; the full run's report is `reports/" +
          name + ".md`.");
    }
    std::printf("%s: %s%s -> %s\n", name.c_str(), spec.title.c_str(),
                options.quick ? " (--quick)" : "", (c.out / (name + ".md")).c_str());
    std::fflush(stdout);
    int rc = 0;
    if (spec.kind == StudyKind::training)
      rc = run_training(c, models);
    else if (spec.kind == StudyKind::cost)
      rc = run_cost(c, models);
    else
      rc = run_lineage(c);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

    c.md.heading(2, "How this report was made");
    c.md.table({"", ""}, {{"command", "`" + options.command + "`"},
                          {"machine", machine_description(c.threads)},
                          {"commit", commit},
                          {"started", started},
                          {"wall time", fixed(seconds, 1) + " s"}});
    const std::string metrics =
        spec.kind == StudyKind::training
            ? "per model and seed `MODEL-seedS.csv` and `.json` (per epoch: train loss and "
              "accuracy, test loss, "
              "top-1 and top-5 accuracy, learning rate, seconds, images/s)" +
                  std::string(spec.gradient_norms ? ", `MODEL-seedS-gradient-norms.csv`" : "") +
                  ", "
            : "";
    c.md.paragraph(
        "Raw data in `" + name + "/`: " + metrics +
        "`summary.json` (every figure of the tables); each plot's data (`.dat`) and gnuplot script "
        "(`.gp`) next to its PNG.");
    c.summary["study"] = name;
    c.summary["title"] = spec.title;
    c.summary["quick"] = options.quick;
    c.summary["command"] = options.command;
    c.summary["machine"] = machine_description(c.threads);
    c.summary["commit"] = commit;
    c.summary["started"] = started;
    c.summary["seconds"] = seconds;
    c.summary["plots"] = c.plots;
    c.summary["undrawn"] = c.pending;
    std::ofstream(c.dir / "summary.json") << c.summary.dump(2) << "\n";
    c.md.write(c.out / (name + ".md"));
    std::printf("%s: report %s (%zu plots), metrics in %s, %.1f s\n", name.c_str(),
                (c.out / (name + ".md")).c_str(), c.plots.size(), c.dir.c_str(), seconds);
    if (!c.pending.empty()) {
      std::printf("%s: %zu plots not drawn (gnuplot is not installed here); `archetype experiment "
                  "%s --draw --out %s` draws them where it is\n",
                  name.c_str(), c.pending.size(), name.c_str(), c.out.c_str());
    }
    return rc;
  } catch (const std::invalid_argument& e) {
    std::cerr << name << ": " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << name << ": " << e.what() << "\n";
    return 1;
  }
}

}  // namespace archetype::experiments
