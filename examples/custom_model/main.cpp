// Trains SEMixNet (se_mix_net.hpp) briefly through Archetype's public API and runs it for
// inference: a few steps on a small slice of Fashion-MNIST (Debian's dataset-fashion-mnist,
// or ARCHETYPE_FASHION_MNIST_DIR), or on a synthetic set when it is not installed or with
// --synthetic. Exit status 0 when the training loss fell below chance level (ln 10) and two
// inference paths (runtime::evaluate, and an inference executable driven by hand) agree.
//
//   custom_model [--synthetic] [--steps N] [--save FILE]
#include "se_mix_net.hpp"

#include <archetype/backends/onednn/executable.hpp>
#include <archetype/codegen/program.hpp>
#include <archetype/runtime/idx.hpp>
#include <archetype/runtime/parameters_file.hpp>
#include <archetype/runtime/synthetic.hpp>
#include <archetype/runtime/train_net.hpp>
#include <archetype/runtime/trainer.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace {

using custom::SEMixNet;
namespace runtime = archetype::runtime;

struct Data {
  runtime::Dataset train, test;
};

Data load(bool synthetic) {
  if (!synthetic && runtime::find_fashion_mnist_dir()) {
    return {runtime::load_fashion_mnist(runtime::Split::train).subset(2048),
            runtime::load_fashion_mnist(runtime::Split::test).subset(512)};
  }
  // One synthetic set (its class patterns come from the seed), split 2048 / 512.
  const runtime::Dataset all = runtime::make_synthetic({2048 + 512, {1, 28, 28}, 10, 1, 0.2f});
  return {all.subset(2048), all.subset(2048, 512)};
}

int run(int argc, char** argv) {
  bool synthetic = false;
  long long steps = 64;
  std::string save;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--synthetic") {
      synthetic = true;
    } else if (arg == "--steps" && i + 1 < argc) {
      steps = std::atoll(argv[++i]);
    } else if (arg == "--save" && i + 1 < argc) {
      save = argv[++i];
    } else {
      std::cerr << "usage: custom_model [--synthetic] [--steps N] [--save FILE]\n";
      return 2;
    }
  }

  // Everything about the net is known before it runs.
  std::cout << "SEMixNet: " << archetype::params_v<SEMixNet> << " parameters, "
            << archetype::macs_v<SEMixNet> << " MACs per image\n";

  const Data data = load(synthetic);

  runtime::TrainOptions options;
  options.batch = 32;
  // As many epochs of the slice as `steps` needs; the run stops after `steps` steps.
  options.epochs = int((steps * options.batch + std::int64_t(data.train.size()) - 1) /
                       std::int64_t(data.train.size()));
  options.eval_batch = 256;
  options.lr = 0.02;
  options.schedule = "constant";
  options.max_steps = steps;
  options.threads = 1;
  // Trains the type: its program is lowered at compile time, both sets are normalised with
  // the training set's statistics, which come back in `result` for whatever is evaluated.
  const runtime::TrainResult result = runtime::train<SEMixNet>(data.train, data.test, options);
  std::cout << "trained " << result.steps << " steps on " << data.train.name << "\n";

  // Inference, two ways: the library's evaluation of the test slice, and the oneDNN backend's
  // inference executable (the folded program) fed its first 256 images by hand.
  constexpr int batch = 256;
  const runtime::Evaluation evaluation = runtime::evaluate<SEMixNet>(result, data.test, options);
  const runtime::Evaluation first_batch =
      runtime::evaluate<SEMixNet>(result, data.test.subset(batch), options);
  // By hand, the program the compiler lowered from the type (what every backend executes)
  // and the test images normalised as in training.
  const archetype::codegen::ProgramView program = archetype::codegen::program_v<SEMixNet>.view();
  runtime::Dataset test = data.test.subset(batch);
  test.normalize(result.mean, result.stddev);
  archetype::onednn::Executable infer(program, batch, archetype::onednn::Mode::inference,
                                      archetype::onednn::Options{.threads = 1});
  std::copy(result.parameters.begin(), result.parameters.end(), infer.parameters().begin());
  std::copy(result.buffers.begin(), result.buffers.end(), infer.buffers().begin());
  const std::span<const float> logits = infer.forward(test.images);
  int correct = 0;
  for (int i = 0; i < batch; ++i) {
    const auto row = logits.subspan(std::size_t(i) * 10, 10);
    const auto predicted = int(std::max_element(row.begin(), row.end()) - row.begin());
    correct += predicted == data.test.labels[std::size_t(i)] ? 1 : 0;
  }
  std::cout << "test accuracy " << 100.0 * evaluation.accuracy << "% on " << evaluation.images
            << " images of " << data.test.name << "; inference executable: " << correct << "/"
            << batch << " of the first " << batch << "\n";
  if (!save.empty()) {
    runtime::save_parameters(save, program, result.parameters, result.buffers);
    std::cout << "parameters written to " << save << "\n";
  }

  if (result.steps != steps) {
    std::cerr << "custom_model: trained " << result.steps << " steps, expected " << steps << "\n";
    return 1;
  }
  // Ten classes: an untrained net's cross-entropy is about ln 10 = 2.30.
  const double last_loss = result.epochs.back().train_loss;
  if (!(last_loss < 2.0)) {
    std::cerr << "custom_model: the last epoch's training loss " << last_loss
              << " is not below 2.0 (chance: 2.30)\n";
    return 1;
  }
  const int evaluated = int(first_batch.accuracy * batch + 0.5);
  if (evaluated != correct) {
    std::cerr << "custom_model: runtime::evaluate finds " << evaluated << " of the first " << batch
              << " right, the inference executable " << correct << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "custom_model: " << e.what() << "\n";
    return 1;
  }
}
