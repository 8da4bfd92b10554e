// TrainStep and EvalStep: the generated steps learn, evaluate the folded program as the
// unfolded one computes, and refuse what they cannot run.
#include "steps.hpp"

#include <archetype/archetype.hpp>
#include <archetype/architectures/cifar_resnet.hpp>
#include <archetype/codegen/program.hpp>

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

// bf16 (AVX512-BF16): the step computes what fp32 computes, to bf16's precision (8 bits of
// mantissa in activations and weights; fp32 master weights), and it learns.
TEST(TrainStep, Bf16FollowsFp32) {
  if (!onednn::native_bf16()) GTEST_SKIP() << "this CPU has no AVX512-BF16 (oneDNN's effective ISA)";
  const codegen::ProgramView program = codegen::program_v<ResNet8>.view();
  const int batch = 16;
  const Batch b = random_batch(batch, ResNet8::input_shape, 9);
  onednn::Options f32, bf16;
  f32.threads = bf16.threads = 2;
  bf16.precision = onednn::Precision::bf16;
  TrainStep a(program, batch, f32, Optimizer::sgd(std::size_t(program.params), {}));
  TrainStep h(program, batch, bf16, Optimizer::sgd(std::size_t(program.params), {}));
  onednn::initialize_parameters(program, a.parameters(), a.buffers(), 3);
  std::copy(a.parameters().begin(), a.parameters().end(), h.parameters().begin());
  std::copy(a.buffers().begin(), a.buffers().end(), h.buffers().begin());
  const float la = a(b.images, b.labels, 0.0).loss;  // lr 0: parameters stay, gradients compared
  const float lh = h(b.images, b.labels, 0.0).loss;
  EXPECT_NEAR(lh, la, 0.02 * la);
  double diff = 0, norm = 0;
  const auto ga = a.executable().gradients();
  const auto gh = h.executable().gradients();
  for (std::size_t i = 0; i < ga.size(); ++i) {
    diff += (double(gh[i]) - ga[i]) * (double(gh[i]) - ga[i]);
    norm += double(ga[i]) * ga[i];
  }
  // Measured: 0.4% at the classifier, growing smoothly to about 15-20% at the first layers
  // (each BatchNorm backward subtracts nearly equal bf16 terms); a wrong op shows as ~100%.
  EXPECT_LT(std::sqrt(diff / norm), 0.25) << "relative gradient error of bf16 against fp32";
  float last = lh;
  for (int i = 0; i < 30; ++i) last = h(b.images, b.labels, 0.05).loss;
  EXPECT_LT(last, 0.5f * lh);

  EvalStep e32(program, batch, f32), e16(program, batch, bf16);
  e32.load(h.parameters(), h.buffers());
  e16.load(h.parameters(), h.buffers());
  const std::vector<float> y32(e32(b.images).begin(), e32(b.images).end());
  const auto y16 = e16(b.images);
  double d = 0, n = 0;
  for (std::size_t i = 0; i < y32.size(); ++i) {
    d += (double(y16[i]) - y32[i]) * (double(y16[i]) - y32[i]);
    n += double(y32[i]) * y32[i];
  }
  EXPECT_LT(std::sqrt(d / n), 0.05) << "relative logit error of bf16 inference against fp32";
}

// A step rebuilt with another thread count (runtime's oneDNN engine does it when the load on
// the cores changes) continues the run: the same parameters as never rebuilding, bit for bit
// at the same count, with momentum and Dropout's draws (numbered by the optimizer's steps)
// carried over.
TEST(TrainStep, RebuiltContinuesTheRunExactly) {
  using N = Net<Input<Shape{3, 8, 8}>,
                Seq<Conv3x3<8>, BatchNorm, ReLU, Flatten, Dropout<0.5>, Linear<10>>>;
  const codegen::ProgramView program = codegen::program_v<N>.view();
  const int batch = 8;
  onednn::Options o;
  o.threads = 1;
  SgdOptions sgd;
  sgd.momentum = 0.9;
  const auto make = [&] {
    TrainStep s(program, batch, o, Optimizer::sgd(std::size_t(program.params), sgd));
    onednn::initialize_parameters(program, s.parameters(), s.buffers(), 3);
    return s;
  };
  TrainStep straight = make();
  TrainStep rebuilt = make();
  for (int i = 0; i < 6; ++i) {
    const Batch b = random_batch(batch, N::input_shape, 100 + std::uint64_t(i));
    (void)straight(b.images, b.labels, 0.05);
    if (i == 3) rebuilt = std::move(rebuilt).rebuilt(o);
    (void)rebuilt(b.images, b.labels, 0.05);
  }
  EXPECT_EQ(rebuilt.optimizer().steps(), 6);
  const std::vector<float> want(straight.parameters().begin(), straight.parameters().end());
  const std::vector<float> got(rebuilt.parameters().begin(), rebuilt.parameters().end());
  EXPECT_EQ(got, want);
  const std::vector<float> want_stats(straight.buffers().begin(), straight.buffers().end());
  const std::vector<float> got_stats(rebuilt.buffers().begin(), rebuilt.buffers().end());
  EXPECT_EQ(got_stats, want_stats);

  // At two threads the sums are ordered differently, not the run: the same parameters within
  // rounding.
  o.threads = 2;
  rebuilt = std::move(rebuilt).rebuilt(o);
  o.threads = 1;
  const Batch b = random_batch(batch, N::input_shape, 200);
  (void)straight(b.images, b.labels, 0.05);
  (void)rebuilt(b.images, b.labels, 0.05);
  for (std::size_t i = 0; i < want.size(); ++i) {
    ASSERT_NEAR(rebuilt.parameters()[i], straight.parameters()[i],
                1e-4f * (1.f + std::abs(straight.parameters()[i])))
        << "parameter " << i;
  }
}

}  // namespace
}  // namespace archetype::runtime
