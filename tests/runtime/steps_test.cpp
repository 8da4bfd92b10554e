// TrainStep and EvalStep: the generated steps learn, evaluate the folded program as the
// unfolded one computes, and refuse what they cannot run.
#include <archetype/architectures/cifar_resnet.hpp>
#include <archetype/codegen/program.hpp>
#include <archetype/runtime/steps.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace archetype::runtime {
namespace {

using ResNet8 = architectures::CifarResNet<8>;  // 3 blocks: identity and option-A shortcuts

struct Batch {
  std::vector<float> images;
  std::vector<int> labels;
};

Batch random_batch(int batch, Shape in, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> x(0.f, 1.f);
  std::uniform_int_distribution<int> y(0, 9);
  Batch b;
  b.images.resize(std::size_t(batch * in.elements()));
  for (float& v : b.images) v = x(rng);
  b.labels.resize(std::size_t(batch));
  for (int& l : b.labels) l = y(rng);
  return b;
}

TEST(TrainStep, FitsOneBatchAndEvalStepAgreesWithTheUnfoldedProgram) {
  const codegen::ProgramView program = codegen::program_v<ResNet8>.view();
  const int batch = 16;
  const Batch b = random_batch(batch, ResNet8::input_shape, 5);
  onednn::Options o;
  o.threads = 2;
  SgdOptions sgd;
  sgd.momentum = 0.9;
  TrainStep step(program, batch, o, Optimizer::sgd(std::size_t(program.params), sgd));
  onednn::initialize_parameters(program, step.parameters(), step.buffers(), 7);
  const float first = step(b.images, b.labels, 0.05).loss;
  float last = first;
  for (int i = 0; i < 30; ++i) last = step(b.images, b.labels, 0.05).loss;
  EXPECT_LT(last, 0.5f * first) << "30 steps on one batch should at least halve the loss";

  // Trained BatchNorm statistics are not the initial ones: folding has something to fold.
  EvalStep folded(program, batch, o);
  folded.load(step.parameters(), step.buffers());
  onednn::Options unfolded_options = o;
  unfolded_options.fold = false;
  onednn::Executable unfolded(program, batch, onednn::Mode::inference, unfolded_options);
  std::copy(step.parameters().begin(), step.parameters().end(), unfolded.parameters().begin());
  std::copy(step.buffers().begin(), step.buffers().end(), unfolded.buffers().begin());
  const std::vector<float> a(folded(b.images).begin(), folded(b.images).end());
  const auto want = unfolded.forward(b.images);
  ASSERT_EQ(a.size(), want.size());
  double worst = 0, scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, std::abs(double(a[i]) - double(want[i])));
    scale = std::max(scale, std::abs(double(want[i])));
  }
  EXPECT_LT(worst, 1e-4 * std::max(scale, 1.0)) << "folded and unfolded inference differ";
}

TEST(TrainStep, RefusesAFoldedProgram) {
  const codegen::ProgramView folded = codegen::inference_program_v<ResNet8>.view();
  EXPECT_THROW(TrainStep(folded, 2, {}, Optimizer::sgd(std::size_t(folded.params), {})), std::invalid_argument);
}

TEST(EvalStep, LoadChecksSizes) {
  const codegen::ProgramView program = codegen::program_v<ResNet8>.view();
  EvalStep eval(program, 2, {});
  std::vector<float> params(std::size_t(program.params) - 1), buffers(std::size_t(program.buffers));
  EXPECT_THROW(eval.load(params, buffers), std::invalid_argument);
}

}  // namespace
}  // namespace archetype::runtime
