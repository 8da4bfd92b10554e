#pragma once
/// \file
/// \brief Experiments as declared types: which models, on which data, with which optimizer,
/// schedule and epochs. `archetype_add_experiment()` (CMake) turns one into an executable
/// whose training loop is generated for exactly those models:
///
/// \code
/// struct DepthStudy : Experiment<Models<CifarResNet<20>, CifarResNet<56>>, FashionMnist,
///                                Sgd<100, 900, 5>,  // lr 0.100, momentum 0.900, wd 5e-4
///                                Cosine, Epochs<30>> {
///   static constexpr std::string_view name = "depth_study";
/// };
/// \endcode
///
/// Each model is trained in turn (input adapted to the data's 1x28x28 when the paper's
/// input differs); metrics go to `OUT/<name>/<model>.csv|json`, checkpoints to
/// `OUT/<name>/<model>/`, a summary table to standard output.

#include <archetype/codegen/program.hpp>
#include <archetype/dsl/analysis.hpp>
#include <archetype/dsl/net.hpp>
#include <archetype/runtime/trainer.hpp>

#include <cstdint>
#include <iterator>
#include <type_traits>
#include <string>
#include <string_view>
#include <vector>

namespace archetype::experiments {

/// The models of an experiment, each a `Network` type (labels: `E::labels`, see `run`).
template <Network... Nets>
struct Models {};

/// Data sets. `FashionMnist` (Debian's dataset-fashion-mnist) is the default; `Cifar10`
/// reads the directory given on the command line (`--data-dir`).
struct FashionMnist {
  static constexpr std::string_view spec = "fashion-mnist";
};
struct Cifar10 {
  static constexpr std::string_view spec = "cifar10";
};

/// SGD with momentum and weight decay, in thousandths / ten-thousandths so they fit
/// integer template arguments: `Sgd<100, 900, 5>` = lr 0.1, momentum 0.9, wd 5e-4.
template <int LrPerMille, int MomentumPerMille = 900, int WeightDecayPer10k = 5>
struct Sgd {
  static constexpr std::string_view name = "sgd";
  static constexpr double lr = LrPerMille / 1000.0;
  static constexpr double momentum = MomentumPerMille / 1000.0;
  static constexpr double weight_decay = WeightDecayPer10k / 10000.0;
};

/// Adam (Kingma & Ba; β 0.9, 0.999), its learning rate in millionths: `Adam<1000>` = 1e-3,
/// `Adam<1>` = 1e-6 (the fine-tuning rates of the Keras recipes).
template <int LrPerMillion>
struct Adam {
  static constexpr std::string_view name = "adam";
  static constexpr double lr = LrPerMillion / 1e6;
  static constexpr double momentum = 0;
  static constexpr double weight_decay = 0;
};

struct Cosine {
  static constexpr std::string_view spec = "cosine";
};
struct Constant {
  static constexpr std::string_view spec = "constant";
};

template <int N>
struct Epochs {
  static constexpr int value = N;
};

template <class ModelList, class Data, class Optimizer, class Schedule, class EpochCount, int Batch = 128>
struct Experiment;

template <Network... Nets, class Data, class Optimizer, class Schedule, int N, int Batch>
struct Experiment<Models<Nets...>, Data, Optimizer, Schedule, Epochs<N>, Batch> {
  static_assert(sizeof...(Nets) > 0, "archetype: an Experiment needs at least one model");
  static_assert(N > 0, "archetype: an Experiment needs at least one epoch");
  static_assert(Batch > 0, "archetype: an Experiment's batch must be positive");
  using data = Data;
  using optimizer = Optimizer;
  using schedule = Schedule;
  static constexpr int epochs = N;
  static constexpr int batch = Batch;
  static constexpr std::size_t model_count = sizeof...(Nets);
};

/// One model of an experiment as run-time data: its label and both programs (native and
/// fed 1x28x28 images through the input adapter).
struct ModelPrograms {
  std::string label;
  codegen::ProgramView native;
  codegen::ProgramView fashion_mnist;
  std::int64_t params = 0;
  std::int64_t macs = 0;
};

/// Command-line options every generated experiment executable takes.
struct RunOptions {
  int epochs = 0;            ///< 0: the experiment's
  std::string data_dir;      ///< for CIFAR-10 (or another Fashion-MNIST directory)
  std::string out = "runs";  ///< metrics and checkpoints under OUT/<experiment>/
  std::size_t limit_train = 0, limit_test = 0;
  std::int64_t max_steps = 0;
  int threads = 0;
  bool resume = false;
};

/// Parses the executable's arguments; prints usage and exits 2 on a bad one.
RunOptions parse_run_options(int argc, char** argv, std::string_view experiment);

/// Trains each model in turn and prints a summary; returns the process exit code.
int run_models(std::string_view experiment, const std::vector<ModelPrograms>& models,
               std::string_view data, const runtime::TrainOptions& training, const RunOptions& options);

namespace detail {
template <class E, class = void>
struct has_name : std::false_type {};
template <class E>
struct has_name<E, std::void_t<decltype(E::name)>> : std::true_type {};

template <Network N>
ModelPrograms programs_of(int index) {
  return ModelPrograms{"model" + std::to_string(index), codegen::program_v<N>.view(),
                       codegen::program_v<Adapted<N, Shape{1, 28, 28}>>.view(), params_v<N>, macs_v<N>};
}
/// The models of an experiment (deduced from a pointer, so a struct derived from an
/// `Experiment<…>` works too).
template <Network... Nets, class D, class O, class S, int N, int B>
std::vector<ModelPrograms> models_of(const Experiment<Models<Nets...>, D, O, S, Epochs<N>, B>*) {
  int i = 0;
  return {programs_of<Nets>(i++)...};
}
}  // namespace detail

/// The generated `main`: `return archetype::experiments::run<MyExperiment>(argc, argv);`.
/// `E` derives from an `Experiment<…>` and may name itself (`static constexpr
/// std::string_view name`) and its models (`static constexpr std::string_view labels[]`).
template <class E>
int run(int argc, char** argv) {
  std::string_view name = "experiment";
  if constexpr (detail::has_name<E>::value) name = E::name;
  RunOptions options = parse_run_options(argc, argv, name);
  std::vector<ModelPrograms> models = detail::models_of(static_cast<const E*>(nullptr));
  if constexpr (requires { E::labels; }) {
    static_assert(std::size(E::labels) == E::model_count,
                  "archetype: an experiment's labels must name each of its models");
    for (std::size_t i = 0; i < models.size(); ++i) models[i].label = std::string(E::labels[i]);
  }
  runtime::TrainOptions t;
  t.epochs = options.epochs > 0 ? options.epochs : E::epochs;
  t.batch = E::batch;
  t.optimizer = std::string(E::optimizer::name);
  t.lr = E::optimizer::lr;
  t.sgd.momentum = E::optimizer::momentum;
  t.sgd.weight_decay = E::optimizer::weight_decay;
  t.schedule = std::string(E::schedule::spec);
  t.threads = options.threads;
  t.resume = options.resume;
  t.max_steps = options.max_steps;
  return run_models(name, models, E::data::spec, t, options);
}

}  // namespace archetype::experiments
