// The transfer study (StudyKind::transfer, experiments/transfer.hpp): the source and target
// tasks written as image folders, each model pretrained on the source, then four strategies
// on the target, compared in accuracy, epochs to converge, time per epoch and memory.
#include "study_engine.hpp"

#include <archetype/codegen/freezing.hpp>
#include <archetype/codegen/training_plan.hpp>
#include <archetype/runtime/idx.hpp>
#include <archetype/runtime/image.hpp>
#include <archetype/runtime/parameters_file.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace archetype::experiments::engine {
namespace {

/// Fashion-MNIST's class names (its README), as folder names sort: "5-sandal".
constexpr std::string_view fashion_classes[] = {"t-shirt", "trouser",   "pullover", "dress",
                                                "coat",    "sandal",    "shirt",    "sneaker",
                                                "bag",     "ankle-boot"};

struct Task {
  std::string name;  ///< "source" | "target"
  int first = 0, last = 0;
  int train_per_class = 0, val_per_class = 0;
};

/// Writes `per_class` images of each class of `task` from `set` (pixels in [0,1]) as PNG
/// files under DIR/SPLIT/CLASS/; returns how many.
std::size_t write_split(const runtime::Dataset& set, const Task& task, int per_class,
                        const fs::path& dir) {
  std::vector<int> count(10, 0);
  std::size_t written = 0;
  const int w = set.dims.w, h = set.dims.h;
  for (std::size_t i = 0; i < set.size(); ++i) {
    const int label = set.labels[i];
    if (label < task.first || label > task.last || count[std::size_t(label)] >= per_class) continue;
    runtime::Image image{w, h, 1, std::vector<unsigned char>(std::size_t(w * h))};
    const float* pixels = set.image(i);
    for (std::size_t k = 0; k < image.pixels.size(); ++k)
      image.pixels[k] =
          static_cast<unsigned char>(std::lround(std::clamp(pixels[k], 0.0f, 1.0f) * 255));
    const fs::path folder =
        dir / (std::to_string(label) + "-" + std::string(fashion_classes[std::size_t(label)]));
    fs::create_directories(folder);
    char file[32];
    std::snprintf(file, sizeof file, "%05zu.png", i);
    runtime::write_png(folder / file, image);
    ++count[std::size_t(label)];
    ++written;
  }
  for (int label = task.first; label <= task.last; ++label) {
    if (count[std::size_t(label)] < per_class) {
      throw std::invalid_argument(set.name + " has " + std::to_string(count[std::size_t(label)]) +
                                  " images of class " + std::to_string(label) +
                                  ", the study asks " + std::to_string(per_class));
    }
  }
  return written;
}

/// The task's folder, written unless a complete one with these counts is there already (a
/// resumed study reads the same images).
fs::path write_task(const fs::path& root, const Task& task, const runtime::Dataset& train,
                    const runtime::Dataset& test) {
  const fs::path dir = root / task.name;
  const std::string stamp = "fashion-mnist classes " + std::to_string(task.first) + "-" +
                            std::to_string(task.last) + ", " +
                            std::to_string(task.train_per_class) + " training and " +
                            std::to_string(task.val_per_class) + " validation images per class\n";
  const fs::path done = dir / "COMPLETE";
  if (std::ifstream in(done); in) {
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text == stamp) return dir;
  }
  fs::remove_all(dir);
  const std::size_t n = write_split(train, task, task.train_per_class, dir / "train") +
                        write_split(test, task, task.val_per_class, dir / "val");
  std::ofstream(done) << stamp;
  std::printf("wrote %zu PNG images to %s\n", n, dir.c_str());
  return dir;
}

enum class Strategy { pretrain, scratch, feature, partial, full, partial_bn, full_bn };

struct StrategyRun {
  const ModelPrograms* model = nullptr;
  Strategy strategy = Strategy::scratch;
  std::string name, init, trains;
  double lr = 0;
  std::int64_t trainable = 0;  ///< parameters the optimizer updates
  double planned_bytes = 0;    ///< saved values at the batch, weights, Adam state
  ModelRun run;
  bool done = false;
};

std::string strategy_name(Strategy s) {
  switch (s) {
    case Strategy::pretrain:
      return "pretraining (source task)";
    case Strategy::scratch:
      return "from scratch";
    case Strategy::feature:
      return "feature extraction";
    case Strategy::partial:
      return "partial fine-tuning";
    case Strategy::full:
      return "full fine-tuning";
    case Strategy::partial_bn:
      return "partial fine-tuning, BN inference";
    case Strategy::full_bn:
      return "full fine-tuning, BN inference";
  }
  return "";
}

/// The layers with parameters from `head` on: what a new head re-initialises.
std::vector<std::string> head_layers(const codegen::ProgramView& p, std::string_view head) {
  std::vector<std::string> out;
  const std::size_t first = codegen::first_under(p, head, "transfer study head");
  for (std::size_t o = first; o < p.ops.size(); ++o) {
    if (p.ops[o].layer.params > 0) out.emplace_back(p.ops[o].layer.path.view());
  }
  return out;
}

/// Trainable parameters and the planned training bytes (fp32) of a step that freezes as
/// `freezing` says: saved forward values at `batch`, the weights, and for each trained
/// parameter its gradient and Adam's two moments, the BatchNorm statistics.
void plan_figures(const codegen::ProgramView& p, const codegen::Freezing& freezing, int batch,
                  StrategyRun& s) {
  codegen::PlanOptions options;
  if (freezing.any()) options.trainable = codegen::trainable_mask(p, freezing);
  const codegen::TrainingPlan plan = codegen::plan_training(p, options);
  s.trainable = 0;
  for (std::size_t g = 0; g < plan.groups.size(); ++g) {
    if (options.trainable.empty() || options.trainable[g]) s.trainable += plan.groups[g].size;
  }
  s.planned_bytes = 4.0 * (double(plan.saved_elements) * batch + double(p.params) +
                           3.0 * double(s.trainable) + double(p.buffers));
}

/// The first epoch whose test accuracy is within one point of the run's best.
int epochs_to_converge(const std::vector<runtime::EpochMetrics>& e) {
  double best = 0;
  for (const auto& m : e) best = std::max(best, m.test_accuracy);
  for (const auto& m : e) {
    if (m.test_accuracy >= best - 0.01) return m.epoch;
  }
  return 0;
}

double best_accuracy(const std::vector<runtime::EpochMetrics>& e) {
  double best = 0;
  for (const auto& m : e) best = std::max(best, m.test_accuracy);
  return best;
}

}  // namespace

int run_transfer(Context& c, const std::vector<ModelPrograms>& models) {
  const StudySpec& spec = c.spec;
  const StudyOptions& o = c.options;
  const bool quick = o.quick;
  const TransferPlan& plan = spec.transfer;
  if (spec.transfer_models.size() != models.size())
    throw std::logic_error(spec.name + ": transfer_models must name each model");

  // The source data: Fashion-MNIST's IDX files (Debian's, or --data fashion-mnist:DIR).
  const std::string data_spec = o.data.empty() ? spec.data : o.data;
  if (!data_spec.starts_with("fashion-mnist")) {
    throw std::invalid_argument("--data " + data_spec + ": " + spec.name +
                                " cuts its tasks from Fashion-MNIST by class; use "
                                "fashion-mnist[:DIR]");
  }
  const auto colon = data_spec.find(':');
  const fs::path idx_dir =
      colon == std::string::npos ? fs::path{} : fs::path(data_spec.substr(colon + 1));
  const runtime::Dataset all_train =
      idx_dir.empty() ? runtime::load_fashion_mnist(runtime::Split::train)
                      : runtime::load_fashion_mnist(idx_dir, runtime::Split::train);
  const runtime::Dataset all_test =
      idx_dir.empty() ? runtime::load_fashion_mnist(runtime::Split::test)
                      : runtime::load_fashion_mnist(idx_dir, runtime::Split::test);
  Task source{"source", plan.source_first, plan.source_last, plan.source_train, plan.source_val};
  Task target{"target", plan.target_first, plan.target_last, plan.target_train, plan.target_val};
  if (quick) {
    for (Task* t : {&source, &target}) {
      const int classes = t->last - t->first + 1;
      t->train_per_class = std::max<int>(1, int(spec.quick.train_images) / classes);
      t->val_per_class = std::max<int>(1, int(spec.quick.test_images) / classes);
    }
  }
  // The images and the parameter files between stages: under the checkpoints (runs/) on a
  // full run, beside the quick report with --quick; never in reports/.
  const fs::path work =
      quick ? c.dir : (o.checkpoints.empty() ? fs::path("runs") : o.checkpoints) / spec.name;
  const fs::path images = work / "images";
  const fs::path source_dir = write_task(images, source, all_train, all_test);
  const fs::path target_dir = write_task(images, target, all_train, all_test);
  const Data source_data = load_data("folder:" + source_dir.string(), nullptr, models);
  const Data target_data = load_data("folder:" + target_dir.string(), nullptr, models);

  const int pretrain_epochs = o.epochs > 0 ? o.epochs
                              : quick      ? spec.quick.epochs
                                           : plan.pretrain_epochs;
  const int epochs = o.epochs > 0 ? o.epochs : quick ? spec.quick.epochs : spec.epochs;
  const int batch = quick ? spec.quick.batch : spec.batch;

  c.md.heading(2, "Setup");
  c.md.table(
      {"", ""},
      {{"source task", source_data.description},
       {"target task", target_data.description},
       {"images", "written from Fashion-MNIST's IDX files as 28x28 grey PNG files (libpng) into " +
                      images.string() +
                      "/{source,target}/{train,val}/CLASS/, read back by `--data folder:`"},
       {"pretraining", "Adam lr " + significant(spec.lr) + ", " + spec.schedule +
                           " schedule, " + std::to_string(pretrain_epochs) + " epochs, batch " +
                           std::to_string(batch) + ", horizontal flip"},
       {"strategies",
        "Adam, constant learning rate, " + std::to_string(epochs) + " epochs each, batch " +
            std::to_string(batch) + ", horizontal flip; from scratch " +
            significant(plan.scratch_lr) + ", feature extraction " + significant(plan.feature_lr) +
            ", partial fine-tuning " + significant(plan.partial_lr) + ", full fine-tuning " +
            significant(plan.full_lr)},
       {"precision", "fp32, convolutions: " + o.conv_algorithm},
       {"seed", std::to_string(spec.seeds.front())}});

  runtime::Progress progress(stderr);
  std::vector<StrategyRun> runs;
  runs.reserve(models.size() * 5);
  std::string left_out;
  for (std::size_t k = 0; k < models.size(); ++k) {
    const ModelPrograms& m = models[k];
    const TransferModel& tm = spec.transfer_models[k];
    if (tm.label != m.label)
      throw std::logic_error(spec.name + ": transfer_models[" + std::to_string(k) + "] is " +
                             std::string(tm.label) + ", the model " + m.label);
    const codegen::ProgramView& program = m.native;
    const std::vector<std::string> head = head_layers(program, tm.head);
    const fs::path pretrained = work / (m.label + "-pretrained.bin");
    const fs::path extracted = work / (m.label + "-feature-extraction.bin");
    for (const Strategy s :
         {Strategy::pretrain, Strategy::scratch, Strategy::feature, Strategy::partial,
          Strategy::full, Strategy::partial_bn, Strategy::full_bn}) {
      StrategyRun sr;
      sr.model = &m;
      sr.strategy = s;
      sr.name = strategy_name(s);
      runtime::TrainOptions t = base_options(c, target_data);
      t.optimizer = "adam";
      t.seed = spec.seeds.front();
      t.batch = batch;
      t.eval_batch = quick ? batch : 250;
      t.epochs = epochs;
      t.schedule = "constant";
      t.freezing = {};
      t.unfreeze_at.clear();
      t.lr_groups.clear();
      // Horizontal flips only: torchvision's RandomResizedCrop keeps as little as 8% of a
      // 28x28 image (a few pixels), which a few epochs on 100 images per class cannot afford.
      t.augment = runtime::Augment{0, true, false};
      const Data* data = &target_data;
      switch (s) {
        case Strategy::pretrain:
          data = &source_data;
          t.epochs = pretrain_epochs;
          t.schedule = spec.schedule;
          t.lr = spec.lr;
          sr.init = "random";
          sr.trains = "every layer";
          break;
        case Strategy::scratch:
          t.lr = plan.scratch_lr;
          sr.init = "random";
          sr.trains = "every layer";
          break;
        case Strategy::feature:
          t.lr = plan.feature_lr;
          t.init_parameters = pretrained;
          t.init_fresh = head;
          t.freezing.freeze_until = std::string(tm.head);
          sr.init = "pretrained backbone, new head";
          sr.trains = "the head (from " + std::string(tm.head) + ")";
          break;
        case Strategy::partial:
        case Strategy::partial_bn:
          t.lr = plan.partial_lr;
          t.init_parameters = extracted;
          t.freezing.freeze_until = std::string(tm.last_blocks);
          sr.init = "feature extraction's result";
          sr.trains = "from " + std::string(tm.last_blocks) + " on";
          break;
        case Strategy::full:
        case Strategy::full_bn:
          t.lr = plan.full_lr;
          t.init_parameters = extracted;
          sr.init = "feature extraction's result";
          sr.trains = "every layer";
          break;
      }
      // Keras's advice for fine-tuning (training=False): the BatchNorms keep the statistics
      // the features were learnt with rather than a few target images' batch statistics.
      t.batch_norm_inference = s == Strategy::partial_bn || s == Strategy::full_bn;
      if (t.batch_norm_inference) sr.trains += "; every BatchNorm on its running statistics";
      sr.lr = t.lr;
      plan_figures(program, t.freezing, batch, sr);
      sr.run.model = &m;
      sr.run.program = program;
      sr.run.seed = t.seed;
      static constexpr const char* stems[] = {"pretrain",         "scratch", "feature-extraction",
                                              "partial",          "full",    "partial-bn-inference",
                                              "full-bn-inference"};
      const std::string stem = m.label + "-" + stems[int(s)];
      std::printf("\n== %s, %s (%s of %s parameters train, Adam lr %s, %d epochs)\n",
                  m.label.c_str(), sr.name.c_str(), grouped(sr.trainable).c_str(),
                  grouped(program.params).c_str(), significant(t.lr).c_str(), t.epochs);
      std::fflush(stdout);
      if (!t.init_parameters.empty() && !fs::exists(t.init_parameters)) {
        throw std::runtime_error(stem + " starts from " + t.init_parameters.string() +
                                 ", which the stage before did not leave (run the study "
                                 "without --resume or --models to train it again)");
      }
      sr.done = train_run(c, sr.run, stem, t, *data, progress, left_out);
      if (!sr.done) break;  // the later stages need this one's parameters
      const fs::path keep = s == Strategy::pretrain  ? pretrained
                            : s == Strategy::feature ? extracted
                                                     : fs::path{};
      if (!keep.empty() && !sr.run.earlier) {
        runtime::save_parameters(keep, program, sr.run.result.parameters, sr.run.result.buffers);
      }
      runs.push_back(std::move(sr));
    }
  }

  // Results: one row per model and strategy.
  c.md.heading(2, "Results");
  std::vector<std::vector<std::string>> table;
  nlohmann::json results = nlohmann::json::array();
  for (const StrategyRun& s : runs) {
    const auto& e = s.run.result.epochs;
    if (e.empty()) continue;
    std::vector<double> seconds, rate;
    for (const auto& m : e) seconds.push_back(m.seconds), rate.push_back(m.images_per_second);
    double scratch = -1;
    for (const StrategyRun& other : runs) {
      if (other.model == s.model && other.strategy == Strategy::scratch &&
          !other.run.result.epochs.empty())
        scratch = other.run.result.epochs.back().test_accuracy;
    }
    const double final_accuracy = e.back().test_accuracy;
    const bool versus =
        s.strategy != Strategy::pretrain && s.strategy != Strategy::scratch && scratch >= 0;
    const double waited = s.run.result.train_seconds > 0
                              ? s.run.result.data_wait_seconds / s.run.result.train_seconds
                              : 0.0;
    table.push_back({s.model->label, s.name, s.init, s.trains, significant(s.lr),
                     grouped(s.trainable), percent(final_accuracy), percent(best_accuracy(e)),
                     versus ? (final_accuracy >= scratch ? "+" : "") +
                                  fixed(100 * (final_accuracy - scratch), 1)
                            : "",
                     std::to_string(epochs_to_converge(e)) + " of " + std::to_string(e.size()),
                     fixed(median(seconds), 1), fixed(median(rate), 1), mib(s.planned_bytes),
                     s.run.earlier ? "(earlier run)" : percent(waited, 1)});
    results.push_back(
        {{"model", s.model->label},
         {"strategy", s.name},
         {"init", s.init},
         {"trains", s.trains},
         {"lr", s.lr},
         {"trainable_params", s.trainable},
         {"params", s.model->native.params},
         {"final_test_accuracy", final_accuracy},
         {"best_test_accuracy", best_accuracy(e)},
         {"points_over_scratch",
          versus ? nlohmann::json(100 * (final_accuracy - scratch)) : nlohmann::json()},
         {"epochs_to_converge", epochs_to_converge(e)},
         {"epochs", e.size()},
         {"median_epoch_seconds", median(seconds)},
         {"median_images_per_second", median(rate)},
         {"planned_training_bytes", s.planned_bytes},
         {"data_wait_fraction", waited},
         {"earlier", s.run.earlier}});
  }
  c.md.table(
      {"model", "strategy", "starts from", "trains", "Adam lr", "trained params", "final test acc.",
       "best test acc.", "points over scratch", "epochs to converge", "s/epoch", "train img/s",
       "training memory (MiB, planned)", "waited for data"},
      table,
      {false, false, false, false, true, true, true, true, true, true, true, true, true, true});
  c.md.paragraph(
      "Test accuracy: on the target task's validation folder after each epoch (pretraining: the "
      "source task's), top-1; points over scratch: final test accuracy minus the from-scratch "
      "run's, in percentage points. Epochs to converge: the first epoch within one point of the "
      "run's best test accuracy. s/epoch and img/s: training only, the median over the epochs, " +
      threads_text(c.threads) + ". Training memory: the plan's saved forward values at batch " +
      std::to_string(batch) +
      ", all weights, and for each trained parameter its gradient and Adam's two moments, plus "
      "the BatchNorm statistics (fp32; a frozen layer saves nothing for a backward). Waited for "
      "data: the share of the training time the step waited for the decoding threads "
      "(libpng, resize, augmentation) to finish its batch.");
  std::string earlier;
  for (const StrategyRun& s : runs) {
    if (s.run.earlier) earlier += (earlier.empty() ? "" : ", ") + s.model->label + " " + s.name;
  }
  if (!earlier.empty()) {
    c.md.paragraph("Not trained by this run: " + earlier +
                   ". With --resume (or left out by --models) the study took their per-epoch "
                   "metrics, and the parameters the next stages start from, from an earlier run "
                   "in this folder that finished every epoch asked for; their times are that "
                   "run's.");
  }
  if (!left_out.empty()) {
    c.md.paragraph(
        "**Incomplete:** left out of this run (`--models`), with no finished run to take: " +
        left_out + ".");
  }
  c.summary["results"] = results;

  // Curves: test accuracy per epoch, per model, one line per strategy.
  for (const ModelPrograms& m : models) {
    Plot accuracy{.title = "Target task test accuracy, " + m.label,
                  .x_label = "epoch",
                  .y_label = "test top-1 accuracy"};
    Plot loss{.title = "Target task training loss, " + m.label,
              .x_label = "epoch",
              .y_label = "mean cross-entropy"};
    for (const StrategyRun& s : runs) {
      if (s.model != &m || s.strategy == Strategy::pretrain || s.run.result.epochs.empty())
        continue;
      ModelRow row{&m, s.run.program, {}, {}, {}, {}, {&s.run}};
      accuracy.series.push_back(mean_curve(
          row, [](const runtime::EpochMetrics& e) { return e.test_accuracy; }, s.name));
      loss.series.push_back(mean_curve(
          row, [](const runtime::EpochMetrics& e) { return e.train_loss; }, s.name));
    }
    if (accuracy.series.empty()) continue;
    c.figure(accuracy, "test_accuracy_" + m.label + ".png");
    c.figure(loss, "train_loss_" + m.label + ".png");
  }

  // The seed's "expected performance": improvement over random initialisation.
  struct Expected {
    Strategy strategy;
    double low, high;
  };
  const Expected expected[] = {{Strategy::feature, 5, 15},
                               {Strategy::partial, 10, 20},
                               {Strategy::full, 15, 25},
                               {Strategy::partial_bn, 10, 20},
                               {Strategy::full_bn, 15, 25}};
  c.md.heading(2, "Against the seed's expected performance");
  std::vector<std::vector<std::string>> against;
  nlohmann::json seed = nlohmann::json::array();
  for (const ModelPrograms& m : models) {
    double scratch = -1;
    for (const StrategyRun& s : runs)
      if (s.model == &m && s.strategy == Strategy::scratch && !s.run.result.epochs.empty())
        scratch = s.run.result.epochs.back().test_accuracy;
    if (scratch < 0) continue;
    for (const Expected& x : expected) {
      for (const StrategyRun& s : runs) {
        if (s.model != &m || s.strategy != x.strategy || s.run.result.epochs.empty()) continue;
        const double points = 100 * (s.run.result.epochs.back().test_accuracy - scratch);
        const std::string verdict = points < x.low ? "below" : points > x.high ? "above" : "within";
        against.push_back({m.label, s.name, "+" + fixed(x.low, 0) + " to +" + fixed(x.high, 0),
                           (points >= 0 ? "+" : "") + fixed(points, 1), verdict});
        seed.push_back({{"model", m.label},
                        {"strategy", s.name},
                        {"expected_low", x.low},
                        {"expected_high", x.high},
                        {"measured", points},
                        {"verdict", verdict}});
      }
    }
  }
  c.md.table({"model", "strategy", "seed: points over random init.", "measured", "the range"},
             against, {false, false, true, true, false});
  c.md.paragraph(
      quick ? "This is a --quick run: the figures check the pipeline and say nothing about the "
              "seed's "
              "claims."
            : "The seed's ranges are for ImageNet-pretrained models on the user's photographs at "
              "299x299 over tens to hundreds of epochs; here the source task is five Fashion-MNIST "
              "classes and every strategy trains " +
                  std::to_string(epochs) +
                  " epochs, so the comparison is of direction and order, not of the exact points.");
  c.summary["against_seed"] = seed;
  return 0;
}

}  // namespace archetype::experiments::engine
