// The study engine (study_engine.hpp): data, the run policy, aggregation over seeds, the
// results table and curves every training study reports.
#include "study_engine.hpp"

#include <archetype/bench/workload.hpp>
#include <archetype/runtime/batches.hpp>
#include <archetype/runtime/cifar.hpp>
#include <archetype/runtime/idx.hpp>
#include <archetype/runtime/image_folder.hpp>
#include <archetype/runtime/metrics.hpp>
#include <archetype/runtime/synthetic.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <numeric>
#include <stdexcept>

namespace archetype::experiments::engine {

// ---------------------------------------------------------------------------------------
// Data

/// folder:DIR: the images decoded at the input the study's models share.
static runtime::ImageFolder load_folder(const fs::path& dir,
                                        const std::vector<ModelPrograms>& models) {
  if (models.empty())
    throw std::invalid_argument("--data folder:DIR: no model to decode the images for");
  const auto input = [](const ModelPrograms& m) {
    return m.native.tensors[std::size_t(m.native.input)].shape;
  };
  const auto text = [](const Shape& s) {
    return std::to_string(s.c) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w);
  };
  const Shape in = input(models.front());
  for (const ModelPrograms& m : models) {
    const Shape other = input(m);
    if (other != in) {
      throw std::invalid_argument("--data folder:DIR decodes the images at one input size, but " +
                                  models.front().label + " takes " + text(in) + " and " + m.label +
                                  " takes " + text(other));
    }
  }
  runtime::ImageFolderOptions fo;
  fo.dims = {in.c, in.h, in.w};
  return runtime::load_image_folder(dir, fo);
}

Data load_data(const std::string& spec, const QuickRun* quick,
               const std::vector<ModelPrograms>& models) {
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
  } else if (kind == "folder") {
    if (dir.empty())
      throw std::invalid_argument("--data folder needs a directory: --data folder:DIR");
    const runtime::ImageFolder folder = load_folder(dir, models);
    d.train = folder.train;
    d.test = folder.val;
    d.folder = true;
  } else if (kind == "synthetic") {
    d.train = runtime::make_synthetic(runtime::SyntheticSpec{4096, {1, 28, 28}, 10, 1, 0.2f});
    d.test = runtime::make_synthetic(runtime::SyntheticSpec{1024, {1, 28, 28}, 10, 2, 0.2f});
  } else {
    throw std::invalid_argument("unknown data set '" + spec +
                                "': use fashion-mnist[:DIR], cifar10:DIR, folder:DIR or synthetic");
  }
  const std::size_t full_train = d.train.size(), full_test = d.test.size();
  if (quick != nullptr) {
    d.train = d.train.subset(std::min(quick->train_images, d.train.size()));
    d.test = d.test.subset(std::min(quick->test_images, d.test.size()));
  }
  if (!d.folder) {
    const auto stats = d.train.channel_stats();
    d.train.normalize(stats.mean, stats.stddev);
    d.test.normalize(stats.mean, stats.stddev);
  }
  d.description =
      d.train.name + ": " + grouped((long long)d.train.size()) + " training images" +
      (quick ? " (of " + grouped((long long)full_train) + ")" : "") + ", " +
      grouped((long long)d.test.size()) + " test images" +
      (quick ? " (of " + grouped((long long)full_test) + ")" : "") + ", " +
      std::to_string(d.train.dims.c) + "x" + std::to_string(d.train.dims.h) + "x" +
      std::to_string(d.train.dims.w) +
      (d.folder ? "; JPEG/PNG decoded and resized to it (antialiased bilinear), normalized with "
                  "ImageNet's mean and deviation"
                : "; normalized with the training set's per-channel mean and deviation");
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

/// "B, T threads, after W warm-up steps, at least S timed steps[ and M s]": how a time was
/// measured.
std::string measured_as(int batch, int threads, int steps, double min_time) {
  return std::to_string(batch) + ", " + threads_text(threads) + ", after " +
         std::to_string(bench::warmup_steps) + " warm-up steps, at least " + std::to_string(steps) +
         (steps == 1 ? " timed step" : " timed steps") +
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

void Context::figure(const Plot& plot, const std::string& file) {
  const std::string relative = spec.name + "/" + file;
  if (!gnuplot_available()) {
    write_plot(plot, dir / file);
    pending.push_back(relative);
    md.pending_image(plot.title, relative,
                     relative +
                         " not drawn: gnuplot is not installed where this ran. `archetype "
                         "experiment " +
                         spec.name +
                         " --draw --out OUT` draws it (`apt-get install "
                         "gnuplot-nox`)");
    return;
  }
  draw(plot, dir / file);
  plots.push_back(relative);
  md.image(plot.title, relative);
}

// ---------------------------------------------------------------------------------------
// Training studies

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

/// The per-epoch metrics of a finished run of this model and seed in the study's folder,
/// taken by a resumed study (--resume) where no checkpoint is left to continue from: a study
/// longer than one machine's life is finished model by model, on later machines. They count
/// only when they hold every epoch asked for, each at the learning rate this study's
/// schedule gives its last step, and in the study's precision where the file records one
/// (files written before 2026-12-05 do not); otherwise the model is trained (empty result,
/// and why in `why`).
static std::vector<runtime::EpochMetrics> finished_run(const runtime::TrainOptions& t,
                                                       std::size_t train_images, std::string& why) {
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
    why = json.string() + ": " + std::to_string(rows.size()) + " epochs, not " +
          std::to_string(t.epochs);
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
    if (rows[i].epoch != int(i) + 1 ||
        std::abs(rows[i].lr - expected) > 1e-6 * std::max(1.0, t.lr)) {
      why = json.string() + ": epoch " + std::to_string(i + 1) + " ran at lr " +
            std::to_string(rows[i].lr) + ", this study's schedule gives " +
            std::to_string(expected);
      return {};
    }
    if (!rows[i].precision.empty() && rows[i].precision != runtime::precision_of(t)) {
      why = json.string() + ": epoch " + std::to_string(i + 1) + " was trained in " +
            rows[i].precision + ", this study runs in " + runtime::precision_of(t);
      return {};
    }
  }
  return rows;
}

/// The precision a study trains in: --precision where given, else the study's own, except a
/// study's bf16 on a CPU without native bf16 (oneDNN refuses it there), which trains in f32:
/// the study still runs, and its report says so. An explicit --precision bf16 is kept (and
/// refused there, with the backend's message).
std::string study_precision(const Context& c) {
  const StudyOptions& o = c.options;
  if (!o.precision.empty()) return o.precision;
  if (c.spec.precision == "bf16" && o.device != "cuda" && !onednn::native_bf16()) return "f32";
  return c.spec.precision;
}

runtime::TrainOptions base_options(const Context& c, const Data& data) {
  const StudySpec& spec = c.spec;
  const StudyOptions& o = c.options;
  const bool quick = o.quick;
  runtime::TrainOptions base;
  base.epochs = o.epochs > 0 ? o.epochs : quick ? spec.quick.epochs : spec.epochs;
  base.batch = quick ? spec.quick.batch : spec.batch;
  base.eval_batch = quick ? spec.quick.batch : 500;
  base.optimizer = spec.optimizer;
  base.lr = spec.lr;
  base.sgd.momentum = spec.momentum;
  base.sgd.weight_decay = spec.weight_decay;
  base.schedule = spec.schedule;
  base.threads = o.threads;
  base.device = o.device == "cuda" ? runtime::Device::cuda : runtime::Device::cpu;
  base.resume = o.resume;
  if (auto a = bench::parse_conv_algorithm(o.conv_algorithm)) base.conv_algorithm = *a;
  const std::string precision = study_precision(c);
  if (base.device == runtime::Device::cpu && precision == "bf16")
    base.precision = onednn::Precision::bf16;
  if (data.folder) {
    base.augment = runtime::Augment{0, true, true};  // random resized crop and flip
  } else if (data.train.dims.c == 3) {
    base.augment = runtime::Augment{4, true};  // CIFAR: random crop (pad 4) and flip
  }
  base.freezing = spec.freezing;
  base.unfreeze_at = spec.unfreeze_at;
  base.lr_groups = spec.lr_groups;
  return base;
}

bool train_run(Context& c, ModelRun& run, const std::string& stem, runtime::TrainOptions t,
               const Data& data, runtime::Progress& progress, std::string& left_out) {
  const StudySpec& spec = c.spec;
  const StudyOptions& o = c.options;
  const ModelPrograms& m = *run.model;
  t.metrics = c.dir / (stem + ".csv");
  if (!o.quick) {
    const fs::path root = o.checkpoints.empty() ? fs::path("runs") : o.checkpoints;
    t.checkpoint_dir = root / spec.name / stem;
  }
  if (t.checkpoint_dir.empty()) t.resume = false;  // --quick keeps no checkpoints
  const bool gradients = spec.has(Analysis::gradient_norms);
  if (gradients) {
    t.on_gradients = [&run](int epoch, std::span<const float> g) {
      run.gradients.push_back({epoch, op_gradient_norms(run.program, g)});
    };
  }
  const bool selected =
      o.models.empty() || std::find(o.models.begin(), o.models.end(), m.label) != o.models.end();
  // A model --models leaves out, or one resumed, is taken from an earlier finished run
  // where there is one (resumed from its last checkpoint it would train nothing, and the
  // report would not say its figures are an earlier run's); a left-out one without it is
  // not run, a resumed one continues from its checkpoint or starts anew.
  const bool no_checkpoint =
      t.checkpoint_dir.empty() || !fs::exists(t.checkpoint_dir / "checkpoint.bin");
  std::string why;
  if (!gradients && (!selected || o.resume)) {
    run.result.epochs = finished_run(t, data.train.size(), why);
    if (!run.result.epochs.empty()) {
      std::printf("finished before: its %d epochs are in %s; not trained again\n", t.epochs,
                  t.metrics.c_str());
      run.earlier = true;
      return true;
    }
    if (!why.empty() && selected && no_checkpoint) {
      std::printf("not taken from an earlier run: %s\n", why.c_str());
    }
  }
  if (!selected) {
    std::printf("not in --models and not finished before%s: left out of this report\n",
                why.empty() ? "" : (" (" + why + ")").c_str());
    left_out += (left_out.empty() ? "" : ", ") + stem;
    return false;
  }
  const auto start = Clock::now();
  run.result = runtime::train(run.program, m.label, data.train, data.test, t, progress);
  run.wall_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (gradients) write_gradient_csv(c.dir / (stem + "-gradient-norms.csv"), run);
  return true;
}

std::string optimizer_text(const StudySpec& spec) {
  if (spec.optimizer == "sgd") {
    return "SGD lr " + fixed(spec.lr, 3) + ", momentum " + fixed(spec.momentum, 2) +
           ", weight decay " + fixed(spec.weight_decay, 4);
  }
  return (spec.optimizer == "adam" ? "Adam" : spec.optimizer) + " lr " + significant(spec.lr);
}

TrainingRuns train_models(Context& c, const std::vector<ModelPrograms>& models) {
  const StudySpec& spec = c.spec;
  const StudyOptions& o = c.options;
  const bool quick = o.quick;
  TrainingRuns t;
  t.data = load_data(o.data.empty() ? spec.data : o.data, quick ? &spec.quick : nullptr, models);
  const Data& data = t.data;
  const bool colour = data.train.dims.c == 3;
  t.base = base_options(c, data);
  const runtime::TrainOptions& base = t.base;
  const std::string precision = study_precision(c);
  const bool fell_back = o.precision.empty() && precision != spec.precision;
  if (fell_back) {
    std::cerr << spec.name << ": the study trains in " << spec.precision << ", which this CPU "
              << "cannot run natively (no AVX512-BF16): training in " << precision << "\n";
  }
  t.seeds = quick ? std::vector<std::uint64_t>{spec.seeds.front()} : spec.seeds;

  c.md.heading(2, "Setup");
  c.md.table(
      {"", ""},
      {{"data", data.description},
       {"training",
        optimizer_text(spec) + ", " + spec.schedule + " schedule, " + std::to_string(base.epochs) +
            " epochs, batch " + std::to_string(base.batch) +
            (data.folder ? ", random resized crop (torchvision's defaults) and horizontal flip"
             : colour    ? ", random crop (pad 4) and horizontal flip"
                         : ", no augmentation") +
            ", convolutions: " + o.conv_algorithm +
            (base.device == runtime::Device::cuda ? std::string{}
             : precision == "bf16"
                 ? ", bf16 (bfloat16 activations and weights in oneDNN, fp32 master weights)"
             : fell_back ? ", fp32 (the study's bf16 needs AVX512-BF16, which this CPU lacks)"
                         : ", fp32")},
       {"seeds",
        [&] {
          std::string s;
          for (auto seed : t.seeds) s += (s.empty() ? "" : ", ") + std::to_string(seed);
          return s;
        }()},
       {"gradient norms",
        spec.has(Analysis::gradient_norms)
            ? "per layer, L2 norm of the loss gradient of each layer's parameters on one training "
              "batch: the first (at initialisation) and the last of each epoch"
            : "not recorded"}});

  runtime::Progress progress(stderr);
  // Every run is kept where it is first put: analyses hold pointers into `runs`.
  t.runs.reserve(models.size() * t.seeds.size());
  for (const ModelPrograms& m : models) {
    const Shape in = m.native.tensors[std::size_t(m.native.input)].shape;
    const bool native =
        in.c == data.train.dims.c && in.h == data.train.dims.h && in.w == data.train.dims.w;
    for (std::uint64_t seed : t.seeds) {
      ModelRun run;
      run.model = &m;
      run.program = native ? m.native : m.fashion_mnist;
      run.seed = seed;
      runtime::TrainOptions options = base;
      options.seed = seed;
      std::printf("\n== %s, seed %llu (%s params, %s MACs/image as trained here, depth %d)\n",
                  m.label.c_str(), static_cast<unsigned long long>(seed),
                  grouped(run.program.params).c_str(), grouped(macs_of(run.program)).c_str(),
                  depth_of(run.program));
      std::fflush(stdout);
      const std::string stem = m.label + "-seed" + std::to_string(seed);
      if (train_run(c, run, stem, options, data, progress, t.left_out))
        t.runs.push_back(std::move(run));
    }
  }
  t.rows = aggregate(models, t.runs);
  return t;
}

std::vector<ModelRow> aggregate(const std::vector<ModelPrograms>& models,
                                const std::vector<ModelRun>& runs) {
  std::vector<ModelRow> rows;
  for (const ModelPrograms& m : models) {
    ModelRow r{&m, {}, {}, {}, {}, {}, {}};
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
  return rows;
}

Series mean_curve(const ModelRow& r, double (*field)(const runtime::EpochMetrics&),
                  const std::string& title) {
  Series s{title, {}, {}, {}, false, "linespoints"};
  std::size_t epochs = SIZE_MAX;
  for (const ModelRun* run : r.runs) epochs = std::min(epochs, run->result.epochs.size());
  for (std::size_t e = 0; e < epochs; ++e) {
    double sum = 0;
    for (const ModelRun* run : r.runs) sum += field(run->result.epochs[e]);
    s.x.push_back(double(e + 1));
    s.y.push_back(sum / double(r.runs.size()));
  }
  return s;
}

void report_results(Context& c, const TrainingRuns& t) {
  auto with_spread = [&](const std::vector<double>& v, bool as_percent) {
    const std::string m = as_percent ? percent(mean(v)) : fixed(mean(v), 1);
    if (v.size() < 2) return m;
    return m + " ± " + (as_percent ? percent(deviation(v)) : fixed(deviation(v), 1));
  };

  c.md.heading(2, "Results");
  std::vector<std::vector<std::string>> table;
  nlohmann::json models_json = nlohmann::json::array();
  for (const ModelRow& r : t.rows) {
    table.push_back({r.model->label, std::to_string(depth_of(r.program)), grouped(r.program.params),
                     grouped(macs_of(r.program)),
                     mib(planned_training_bytes(r.program, t.base.batch)),
                     with_spread(r.train_error, true), with_spread(r.test_accuracy, true),
                     fixed(median(r.seconds), 1), fixed(median(r.images_per_second), 1)});
    nlohmann::json mj{{"label", r.model->label},
                      {"depth", depth_of(r.program)},
                      {"params", r.program.params},
                      {"macs_per_image", macs_of(r.program)},
                      {"native_params", r.model->params},
                      {"native_macs_per_image", r.model->macs},
                      {"planned_training_bytes", planned_training_bytes(r.program, t.base.batch)},
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
      std::to_string(t.base.batch) +
      " plus weights, gradients and momentum (fp32), compile-time; the executable adds a pool for "
      "the "
      "transient activations and gradients. s/epoch and img/s: training only (evaluation "
      "excluded), measured, the median over the epochs" +
      std::string(t.seeds.size() > 1 ? " and seeds" : "") +
      " (wall-clock: an epoch paused or sharing the cores is slower, and the median leaves it "
      "out), " +
      threads_text(c.threads) +
      ". Errors and accuracies are fractions of the images of the last epoch" +
      (t.seeds.size() > 1 ? ", mean ± standard deviation over the seeds." : "."));
  c.summary["models"] = models_json;
  {
    std::string earlier;
    for (const ModelRun& run : t.runs) {
      if (!run.earlier) continue;
      earlier += (earlier.empty() ? "" : ", ") + run.model->label + " (seed " +
                 std::to_string(run.seed) + ")";
    }
    if (!earlier.empty()) {
      c.md.paragraph(
          "Not trained by this run: " + earlier +
          ". Resumed or left out by `--models`, the study took their per-epoch metrics from this "
          "folder, written by an earlier run that finished every epoch asked for with this "
          "schedule's "
          "learning rates; their times are that run's, on its machine.");
    }
    if (!t.left_out.empty()) {
      c.md.paragraph(
          "**Incomplete:** left out of this run (`--models`), with no finished run to take: " +
          t.left_out + ". Run them with `--models` (and `--resume`) to complete the study.");
    }
  }

  c.md.heading(3, "Training curves");
  Plot train_error{.title = "Training error (" + t.data.train.name + ")",
                   .x_label = "epoch",
                   .y_label = "training error (last epoch's batches)"};
  Plot test_accuracy{.title = "Test accuracy (" + t.data.test.name + ")",
                     .x_label = "epoch",
                     .y_label = "test top-1 accuracy"};
  Plot train_loss{.title = "Training loss", .x_label = "epoch", .y_label = "mean cross-entropy"};
  for (const ModelRow& r : t.rows) {
    train_error.series.push_back(mean_curve(
        r, [](const runtime::EpochMetrics& e) { return 1.0 - e.train_accuracy; }, r.model->label));
    test_accuracy.series.push_back(mean_curve(
        r, [](const runtime::EpochMetrics& e) { return e.test_accuracy; }, r.model->label));
    train_loss.series.push_back(mean_curve(
        r, [](const runtime::EpochMetrics& e) { return e.train_loss; }, r.model->label));
  }
  c.figure(train_error, "train_error.png");
  c.figure(test_accuracy, "test_accuracy.png");
  c.figure(train_loss, "train_loss.png");
}

}  // namespace archetype::experiments::engine
