#pragma once
// The study engine, private to the experiments library: what every training study does —
// load its data, train each model and seed (or take a finished earlier run), aggregate the
// seeds, write the results table and the training curves — and the figures of a program the
// analyses use. A study type declares which analyses its report adds (`StudySpec::analyses`,
// analyses.cpp); the transfer study (transfer.cpp) runs the engine once per strategy.
#include <archetype/experiments/report.hpp>
#include <archetype/experiments/study.hpp>

#include <archetype/runtime/dataset.hpp>
#include <archetype/runtime/progress.hpp>
#include <archetype/runtime/trainer.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace archetype::experiments::engine {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------
// Data

struct Data {
  runtime::Dataset train, test;
  std::string description;
  bool folder = false;  // images decoded from DIR/train and DIR/val as batches need them
};

/// `--data SPEC` (fashion-mnist[:DIR], cifar10:DIR, folder:DIR, synthetic), cut to the quick
/// run's subset when `quick` is given; in-memory sets normalised with the training set's
/// per-channel statistics. A folder is decoded at the input the models share.
Data load_data(const std::string& spec, const QuickRun* quick,
               const std::vector<ModelPrograms>& models);

// ---------------------------------------------------------------------------------------
// Figures of a program, and text

bool weighted(LayerKind k);
/// Weight layers on the longest path to each tensor (the depth papers name a net by).
std::vector<int> weight_depths(const codegen::ProgramView& p);
int depth_of(const codegen::ProgramView& p);
std::int64_t macs_of(const codegen::ProgramView& p);
/// Bytes a training step holds by the plan: saved forward values at `batch`, weights,
/// gradients and SGD momentum, BatchNorm statistics (fp32).
double planned_training_bytes(const codegen::ProgramView& p, int batch);
std::string threads_text(int n);
std::string mib(double bytes);
std::string shape_text(const Shape& s);
std::string measured_as(int batch, int threads, int steps, double min_time);
std::string utc_now();
double mean(const std::vector<double>& v);
double median(std::vector<double> v);
double deviation(const std::vector<double>& v);
std::string significant(double v);

// ---------------------------------------------------------------------------------------
// The context of one run of a study: where it writes, what it says about itself.

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
  void figure(const Plot& plot, const std::string& file);
};

// ---------------------------------------------------------------------------------------
// Training runs

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

/// Per model: the seeds' final figures.
struct ModelRow {
  const ModelPrograms* model;
  codegen::ProgramView program;
  std::vector<double> train_error, test_accuracy, seconds, images_per_second;
  std::vector<const ModelRun*> runs;
};

/// What the engine trained (or took from earlier runs) for a training study.
struct TrainingRuns {
  Data data;
  runtime::TrainOptions base;  ///< the options every run started from
  std::vector<std::uint64_t> seeds;
  std::vector<ModelRun> runs;
  std::vector<ModelRow> rows;  ///< models with at least one run, in the study's order
  std::string left_out;        ///< --models: neither trained nor finished before
};

/// The study's training options (optimizer, schedule, epochs, augmentation, precision,
/// freezing) for `data`, with the command line's overrides.
runtime::TrainOptions base_options(const Context& c, const Data& data);

/// Trains one run by the run policy: taken from a finished earlier run in OUT/NAME/ when
/// --models leaves the model out or --resume finds its metrics complete; left out (returns
/// false, `left_out` extended) when --models leaves it out and nothing finished is there;
/// else trained, with checkpoints under CHECKPOINTS/NAME/STEM/ on full runs.
bool train_run(Context& c, ModelRun& run, const std::string& stem, runtime::TrainOptions t,
               const Data& data, runtime::Progress& progress, std::string& left_out);

/// Every model and seed of the study, by the run policy; writes the Setup section.
TrainingRuns train_models(Context& c, const std::vector<ModelPrograms>& models);

/// The seeds of each model's runs, aggregated.
std::vector<ModelRow> aggregate(const std::vector<ModelPrograms>& models,
                                const std::vector<ModelRun>& runs);

/// The Results section: the table (depth, parameters, MACs, planned memory, errors,
/// accuracies, s/epoch, img/s), what was taken from earlier runs or left out, and the
/// training curves.
void report_results(Context& c, const TrainingRuns& t);

/// One curve per row: the seeds' mean of `field` epoch by epoch.
Series mean_curve(const ModelRow& r, double (*field)(const runtime::EpochMetrics&),
                  const std::string& title);

// ---------------------------------------------------------------------------------------
// Analyses (analyses.cpp) and the transfer study (transfer.cpp)

/// Per-layer gradient norms at initialisation and by epoch (needs `gradient_norms` runs).
void gradient_norms_analysis(Context& c, const TrainingRuns& t);
/// Accuracy, parameters and MACs against depth, and whether accuracy rises with depth.
void against_depth_analysis(Context& c, const TrainingRuns& t);
/// He et al. 2016, Fig. 6: Plain-56 above Plain-20, ResNet-56 at or below ResNet-20.
void degradation_analysis(Context& c, const TrainingRuns& t);

/// A training study: the engine, then the study's declared analyses.
int run_training(Context& c, const std::vector<ModelPrograms>& models);
/// The transfer study (StudyKind::transfer).
int run_transfer(Context& c, const std::vector<ModelPrograms>& models);

// Per-layer gradient norms, from a flat gradient block.
std::vector<double> op_gradient_norms(const codegen::ProgramView& p, std::span<const float> g);
void write_gradient_csv(const fs::path& path, const ModelRun& run);

}  // namespace archetype::experiments::engine
