#pragma once
/// \file
/// \brief Studies: experiments that end in a report. A study is an `Experiment<…>` type
/// that also names a `kind` of report; `archetype_add_experiment()` builds it into its own
/// executable and `archetype experiment NAME` runs the same study from the registry's
/// programs (no network type instantiated again). Both run `run_study()`:
///
/// - `StudyKind::training` trains every model for each seed and reports accuracy, curves,
///   parameters, MACs, planned training memory, time per epoch, images/s, then the sections
///   the study declares in `analyses` (`Analysis`); `precision = "bf16"` trains in bfloat16
///   on the CPU (the study's default; `--precision` overrides it).
/// - `StudyKind::transfer` pretrains each model on a source task and compares four ways of
///   learning a target task from a small labelled budget (`TransferPlan`).
/// - `StudyKind::cost` prints the per-layer MACs and activation memory of the zoo models in
///   `tables` and times its own models (small probe nets) against their compile-time cost.
/// - `StudyKind::lineage` tabulates every model of the zoo (`Models<Zoo>`) and measures
///   its inference images/s.
///
/// Output under OUT (`--out`; reports/ by default, runs/quick/ with `--quick`):
/// `OUT/NAME.md` (the report), `OUT/NAME/` (metrics CSV/JSON per model and seed, gradient
/// norms, `summary.json`, the plots as PNG with their data and gnuplot scripts).
///
/// \code
/// struct DepthStudy final : Experiment<Models<CifarResNet<20>, CifarResNet<56>>, FashionMnist,
///                                      Sgd<100, 900, 1>, Cosine, Epochs<30>> {
///   static constexpr std::string_view name = "depth_study";
///   static constexpr std::string_view labels[] = {"resnet20", "resnet56"};  // registry names
///   static constexpr StudyKind kind = StudyKind::training;
///   static constexpr std::uint64_t seeds[] = {1, 2};
/// };
/// \endcode

#include <archetype/codegen/freezing.hpp>
#include <archetype/experiments/experiment.hpp>
#include <archetype/runtime/trainer.hpp>

#include <concepts>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace archetype::experiments {

enum class StudyKind { training, cost, lineage, transfer };

/// Sections a training study's report adds to the results table and curves every training
/// study has (`static constexpr Analysis analyses[] = {...}` in the study type):
/// - `gradient_norms`: the per-layer gradient norms at initialisation and after each epoch
///   (recorded while training: such runs are never taken from earlier ones);
/// - `against_depth`: accuracy, parameters and MACs against depth, and whether accuracy rises
///   with every step in depth (He et al. 2016, Table 6);
/// - `degradation`: Plain-56 against Plain-20 and ResNet-56 against ResNet-20 (He et al. 2016,
///   Fig. 6), from the models labelled plain20, plain56, resnet20 and resnet56.
enum class Analysis { gradient_norms, against_depth, degradation };

/// Every model of the zoo, as an experiment's models (taken from the registry at run
/// time: their programs are already compiled there).
struct Zoo {};

template <class Data, class Optimizer, class Schedule, int N, int Batch>
struct Experiment<Zoo, Data, Optimizer, Schedule, Epochs<N>, Batch> {
  using data = Data;
  using optimizer = Optimizer;
  using schedule = Schedule;
  static constexpr int epochs = N;
  static constexpr int batch = Batch;  ///< lineage: the inference batch that is timed
  static constexpr std::size_t model_count = 0;
};

/// What `--quick` runs instead of the full study: a few steps on a tiny subset, to check
/// the pipeline end to end (its numbers mean nothing).
struct QuickRun {
  std::size_t train_images = 64;  ///< training: the first N training images
  std::size_t test_images = 64;   ///< training: the first N test images
  int batch = 16;                 ///< training and timing batch
  int epochs = 2;                 ///< training: epochs (train_images / batch steps each)
  int steps = 1;                  ///< timing: timed steps after one warm-up step
  std::int64_t max_macs =
      0;  ///< lineage: only models with at most this many MACs/image are timed (0: all)
};

/// A published top-1 accuracy (lineage).
struct PaperTop1 {
  std::string_view model;  ///< registry name
  double top1 = 0;         ///< fraction
  std::string_view source;
};

/// One model of the transfer study: where its head starts (the first layer the new task's
/// classifier replaces) and where its last blocks start (partial fine-tuning trains them).
struct TransferModel {
  std::string_view label;
  std::string_view head;
  std::string_view last_blocks;
};

/// The transfer study (StudyKind::transfer, experiments/transfer.hpp): a source task and a
/// target task cut from one data set by class, written as image folders and read back; each
/// model is pretrained on the source, then trained on the target from scratch, by feature
/// extraction, by partial and by full fine-tuning. `--quick` takes `QuickRun::train_images` and
/// `test_images` per task (split evenly over its classes), one epoch per stage, its batch.
struct TransferPlan {
  int source_first = 0, source_last = 4;  ///< the source task's classes [first, last]
  int target_first = 5, target_last = 9;  ///< the target task's classes
  int source_train = 1000;                ///< training images per source class
  int source_val = 50;                    ///< validation images per source class
  int target_train = 100;                 ///< the labelled budget per target class
  int target_val = 100;                   ///< test images per target class
  int pretrain_epochs = 3;
  double pretrain_lr = 1e-3;                                                       ///< Adam
  int epochs = 15;                                                                 ///< per strategy
  double scratch_lr = 1e-3, feature_lr = 1e-3, partial_lr = 1e-5, full_lr = 1e-6;  ///< Adam
};

/// A study as run-time data (`study_spec<E>()`).
struct StudySpec {
  std::string name, title, question;
  StudyKind kind = StudyKind::training;
  std::vector<std::string> labels;         ///< models: registry names (cost: the probes' names)
  std::vector<std::int64_t> params, macs;  ///< of the declared model types, per label
  std::vector<std::string> tables;         ///< cost: zoo models whose per-layer table is printed
  std::string data = "fashion-mnist";
  std::string schedule = "cosine";
  std::string optimizer = "sgd";  ///< sgd (lr, momentum, weight decay) | adam (lr)
  double lr = 0.1, momentum = 0.9, weight_decay = 5e-4;
  int epochs = 1, batch = 128;
  std::vector<std::uint64_t> seeds{1};
  std::vector<Analysis> analyses;  ///< what the report adds to results and curves
  std::string precision = "f32";  ///< training on the CPU: f32, or bf16 (oneDNN, fp32 master weights)
  /// Transfer learning, as `archetype train`'s flags (docs/transfer-learning.md): layers
  /// frozen by prefix and before a path, unfrozen from an epoch on, learning rates per prefix.
  codegen::Freezing freezing;
  std::vector<runtime::TrainOptions::Unfreeze> unfreeze_at;
  std::vector<runtime::TrainOptions::LearningRate> lr_groups;
  QuickRun quick{};
  std::vector<PaperTop1> paper_top1;
  TransferPlan transfer{};                     ///< StudyKind::transfer
  std::vector<TransferModel> transfer_models;  ///< per label (StudyKind::transfer)

  [[nodiscard]] bool has(Analysis a) const {
    for (Analysis x : analyses)
      if (x == a) return true;
    return false;
  }
};

/// The command line of a study (its executable's, and `archetype experiment`'s).
struct StudyOptions {
  bool quick = false;
  int epochs = 0;    ///< 0: the study's (or the quick run's)
  std::string data;  ///< empty: the study's; else fashion-mnist[:DIR], cifar10:DIR, synthetic
  std::filesystem::path out;          ///< empty: reports (full run) or runs/quick (--quick)
  std::filesystem::path checkpoints;  ///< full runs: CHECKPOINTS/NAME/MODEL-seedS/ (empty: runs)
  int threads = 0;                    ///< 0: all cores
  std::string conv_algorithm =
      "direct";                ///< direct | fastest | winograd (3x3 stride-1 convolutions)
  std::string device = "cpu";  ///< cpu (oneDNN), or cuda (cuDNN) for the training studies
  std::string precision;       ///< empty: the study's; f32 or bf16 (training studies on the CPU)
  bool resume = false;
  /// Training studies: empty, every model; else only these (labels) are trained by this run.
  /// The others are taken from finished earlier runs in OUT/NAME/ where there are any (as
  /// --resume takes them), else left out of this report, which says so: a study too long
  /// for one sitting is run a few models at a time, in any order.
  std::vector<std::string> models;
  bool draw = false;    ///< only draw the plots a run left pending in OUT/NAME.md (no gnuplot there)
  std::string command;  ///< the command as typed, for the report
};

/// Parses a study executable's arguments (`--quick --epochs N --data SPEC --out DIR
/// --checkpoints DIR --threads N --conv-algorithm A --precision f32|bf16 --resume --models A,B
/// --device cpu|cuda --draw`); prints usage
/// and exits 2 on a bad one.
StudyOptions parse_study_options(int argc, char** argv, std::string_view study);

/// Runs the study, writes its metrics and report, prints where; returns the exit code.
/// `models` are the programs of `spec.labels` in order (lineage: empty, the zoo is taken
/// from the registry). Throws nothing: failures are printed and return 1.
int run_study(const StudySpec& spec, const std::vector<ModelPrograms>& models,
              const StudyOptions& options);

/// A type that is a study: an experiment with a name, model labels and a report kind.
template <class E>
concept StudyType = requires {
  { E::name } -> std::convertible_to<std::string_view>;
  { E::kind } -> std::convertible_to<StudyKind>;
  E::title;
  E::question;
};

namespace detail {
template <Network... Nets, class D, class O, class S, int N, int B>
void figures_of(const Experiment<Models<Nets...>, D, O, S, Epochs<N>, B>*, StudySpec& spec) {
  spec.params = {params_v<Nets>...};
  spec.macs = {macs_v<Nets>...};
}
template <class D, class O, class S, int N, int B>
void figures_of(const Experiment<Zoo, D, O, S, Epochs<N>, B>*, StudySpec&) {}

template <class D, class O, class S, int N, int B>
std::vector<ModelPrograms> models_of(const Experiment<Zoo, D, O, S, Epochs<N>, B>*) {
  return {};
}
/// Cost studies time their models at their own input, the transfer study trains them at it
/// (images decoded at that size): no adapted program.
template <Network... Nets, class D, class O, class S, int N, int B>
std::vector<ModelPrograms> native_models_of(
    const Experiment<Models<Nets...>, D, O, S, Epochs<N>, B>*) {
  return {ModelPrograms{"", codegen::program_v<Nets>.view(), codegen::program_v<Nets>.view(),
                        params_v<Nets>, macs_v<Nets>}...};
}
}  // namespace detail

/// The run-time description of study `E` (reads only its declared constants and the
/// compile-time figures of its models, no program).
template <StudyType E>
StudySpec study_spec() {
  StudySpec s;
  s.name = std::string(E::name);
  s.title = std::string(E::title);
  s.question = std::string(E::question);
  s.kind = E::kind;
  if constexpr (requires { E::labels; }) {
    static_assert(std::size(E::labels) == E::model_count,
                  "archetype: a study's labels must name each of its models");
    for (std::string_view l : E::labels) s.labels.emplace_back(l);
  }
  detail::figures_of(static_cast<const E*>(nullptr), s);
  if constexpr (requires { E::tables; }) {
    for (std::string_view t : E::tables) s.tables.emplace_back(t);
  }
  s.data = std::string(E::data::spec);
  s.schedule = std::string(E::schedule::spec);
  s.lr = E::optimizer::lr;
  s.momentum = E::optimizer::momentum;
  s.weight_decay = E::optimizer::weight_decay;
  s.epochs = E::epochs;
  s.batch = E::batch;
  if constexpr (requires { E::seeds; }) s.seeds.assign(std::begin(E::seeds), std::end(E::seeds));
  if constexpr (requires { E::analyses; })
    s.analyses.assign(std::begin(E::analyses), std::end(E::analyses));
  if constexpr (requires { E::optimizer::name; }) s.optimizer = std::string(E::optimizer::name);
  if constexpr (requires { E::transfer; }) {
    s.transfer = E::transfer;
    s.transfer_models.assign(std::begin(E::transfer_models), std::end(E::transfer_models));
  }
  if constexpr (requires { E::precision; }) s.precision = std::string(E::precision);
  if constexpr (requires { E::quick; }) s.quick = E::quick;
  // Transfer learning: `freeze` (prefixes), `freeze_until` (a path), `unfreeze_at` ({epoch,
  // prefix} pairs), `lr_groups` ({prefix, lr} pairs).
  if constexpr (requires { E::freeze; })
    for (std::string_view f : E::freeze) s.freezing.freeze.emplace_back(f);
  if constexpr (requires { E::freeze_until; })
    s.freezing.freeze_until = std::string(E::freeze_until);
  if constexpr (requires { E::unfreeze_at; })
    for (const auto& [epoch, prefix] : E::unfreeze_at)
      s.unfreeze_at.push_back({epoch, std::string(prefix)});
  if constexpr (requires { E::lr_groups; })
    for (const auto& [prefix, lr] : E::lr_groups) s.lr_groups.push_back({std::string(prefix), lr});
  if constexpr (requires { E::paper_top1; })
    s.paper_top1.assign(std::begin(E::paper_top1), std::end(E::paper_top1));
  return s;
}

/// The programs of study `E`'s models, generated for exactly those types (lineage: none,
/// see `run_study`).
template <StudyType E>
std::vector<ModelPrograms> study_programs() {
  std::vector<ModelPrograms> models;
  if constexpr (E::kind == StudyKind::cost || E::kind == StudyKind::transfer)
    models = detail::native_models_of(static_cast<const E*>(nullptr));
  else
    models = detail::models_of(static_cast<const E*>(nullptr));
  if constexpr (requires { E::labels; }) {
    for (std::size_t i = 0; i < models.size(); ++i) models[i].label = std::string(E::labels[i]);
  }
  return models;
}

/// The generated `main` of a study (chosen over the plain experiment's `run` for a
/// `StudyType`).
template <class E>
requires StudyType<E>
int run(int argc, char** argv) {
  StudyOptions options = parse_study_options(argc, argv, E::name);
  return run_study(study_spec<E>(), study_programs<E>(), options);
}

}  // namespace archetype::experiments
