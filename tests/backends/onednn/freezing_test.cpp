// Frozen parameter groups on the oneDNN backend (Options::trainable, from codegen's plan):
// no weight gradient, a frozen BatchNorm that trains as it infers, and the work left out.
#include "naive.hpp"

#include <archetype/architectures/cifar_resnet.hpp>
#include <archetype/codegen/freezing.hpp>
#include <archetype/codegen/training_plan.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace archetype::onednn::test {
namespace {

// conv (group 0), BatchNorm (group 1, frozen), conv (group 2), Linear (group 3): with its
// running statistics the BatchNorm is affine, so the net is linear in every input and every
// trainable parameter, and central differences are exact up to rounding.
using Affine = Net<Input<Shape{3, 6, 6}>,
                   Seq<Conv3x3<16>, BatchNorm, Conv1x1<5>, AdaptiveAvgPool<2>, Flatten, Linear<4>>>;

Options frozen_bn() {
  Options o;
  o.trainable = {true, false, true, true};
  return o;
}

// An inference executable (BatchNorm not folded) with `train`'s parameters and statistics.
Executable inference_twin(Executable& train, int batch) {
  Options unfolded;
  unfolded.fold = false;
  Executable infer(program<Affine>(), batch, Mode::inference, unfolded);
  std::copy(train.parameters().begin(), train.parameters().end(), infer.parameters().begin());
  std::copy(train.buffers().begin(), train.buffers().end(), infer.buffers().begin());
  return infer;
}

// The change of sum(w * forward(x)) when `v` goes from v - 0.5 to v + 0.5 (`v` restored): the
// exact derivative when the output is affine in `v`.
double central_difference(Executable& exe, const Vec& x, const Vec& w, float& v) {
  auto loss = [&] {
    const auto y = exe.forward(x);
    return std::inner_product(y.begin(), y.end(), w.begin(), 0.0);
  };
  const float saved = v;
  v = saved + 0.5f;
  const double up = loss();
  v = saved - 0.5f;
  const double down = loss();
  v = saved;
  return up - down;
}

TEST(Freezing, AFrozenBatchNormTrainsAsItInfersAndKeepsItsStatistics) {
  const int batch = 3;
  Executable train(program<Affine>(), batch, Mode::training, frozen_bn());
  randomize(train, 41);
  Executable infer = inference_twin(train, batch);
  const Vec stats(train.buffers().begin(), train.buffers().end());
  const Vec x = random_vec(std::size_t(batch) * 3 * 6 * 6, 42);
  const auto y = train.forward(x);
  expect_close(y, Vec(infer.forward(x).begin(), infer.forward(x).end()), 1e-5f);
  EXPECT_EQ(Vec(train.buffers().begin(), train.buffers().end()), stats)
      << "a frozen BatchNorm leaves its running statistics as they are";
}

TEST(Freezing, GradientsThroughAFrozenBatchNormAreExactAndItsOwnAreNotComputed) {
  const int batch = 2;
  Executable exe(program<Affine>(), batch, Mode::training, frozen_bn());
  randomize(exe, 51);
  Vec x = random_vec(std::size_t(batch) * 3 * 6 * 6, 52);
  const auto y0 = exe.forward(x);
  const Vec w = random_vec(y0.size(), 53);
  exe.set_output_gradient(w);
  exe.backward();
  const Vec dx(exe.input_gradient().begin(), exe.input_gradient().end());
  const Vec dp(exe.gradients().begin(), exe.gradients().end());
  const codegen::ProgramView p = program<Affine>();
  const codegen::Op& bn = p.ops[1];
  ASSERT_EQ(bn.layer.op, LayerKind::batch_norm);
  for (std::int64_t i = 0; i < bn.layer.params; ++i) {
    EXPECT_EQ(dp[std::size_t(bn.param_offset + i)], 0.f) << "BatchNorm parameter " << i;
  }
  auto check = [&](float& v, float analytic, const char* what, std::size_t i) {
    const double d = central_difference(exe, x, w, v);
    EXPECT_NEAR(analytic, d, 2e-3 * std::max(1.0, std::abs(d))) << what << " " << i;
  };
  for (std::size_t i = 0; i < x.size(); i += x.size() / 30 + 1) check(x[i], dx[i], "input", i);
  auto params = exe.parameters();
  for (std::size_t i = 0; i < params.size(); i += params.size() / 60 + 1) {
    const bool in_bn =
        std::int64_t(i) >= bn.param_offset && std::int64_t(i) < bn.param_offset + bn.layer.params;
    if (!in_bn) check(params[i], dp[i], "parameter", i);
  }
}

// Options::batch_norm_inference (Keras's training=False when fine-tuning): every group
// trains, every BatchNorm normalises with its running statistics and keeps them, and its
// scale and shift get their exact gradients (the net is then affine in each parameter).
TEST(Freezing, ABatchNormInInferenceModeKeepsItsStatisticsAndTrainsItsScale) {
  const int batch = 2;
  Options o;
  o.batch_norm_inference = true;
  Executable exe(program<Affine>(), batch, Mode::training, o);
  randomize(exe, 61);
  Executable infer = inference_twin(exe, batch);
  const Vec stats(exe.buffers().begin(), exe.buffers().end());
  Vec x = random_vec(std::size_t(batch) * 3 * 6 * 6, 62);
  const auto y0 = exe.forward(x);
  expect_close(Vec(y0.begin(), y0.end()), Vec(infer.forward(x).begin(), infer.forward(x).end()),
               1e-5f);
  EXPECT_EQ(Vec(exe.buffers().begin(), exe.buffers().end()), stats);
  const Vec w = random_vec(y0.size(), 63);
  exe.set_output_gradient(w);
  exe.backward();
  const Vec dp(exe.gradients().begin(), exe.gradients().end());
  const codegen::Op& bn = program<Affine>().ops[1];
  auto params = exe.parameters();
  int checked = 0;
  for (std::int64_t i = bn.param_offset; i < bn.param_offset + bn.layer.params; i += 3) {
    const double d = central_difference(exe, x, w, params[std::size_t(i)]);
    EXPECT_NE(dp[std::size_t(i)], 0.f) << "BatchNorm parameter " << i;
    EXPECT_NEAR(dp[std::size_t(i)], d, 2e-3 * std::max(1.0, std::abs(d)))
        << "BatchNorm parameter " << i;
    ++checked;
  }
  EXPECT_GT(checked, 5);
}

// With a ReLU after the frozen BatchNorm the two are fused: fused and unfused agree.
TEST(Freezing, AFrozenFusedBatchNormReluMatchesTheUnfusedOne) {
  Options o;
  o.trainable = {true, false, true};
  expect_fused_batch_norm_relu_matches_unfused(o, 61);
}

// Feature extraction on ResNet-20 (frozen until layer3): the frozen part runs no backward
// step and keeps nothing for one, its gradients stay zero, the trained part's are computed.
TEST(Freezing, FeatureExtractionRunsLessAndKeepsLess) {
  using R = architectures::CifarResNet<20>;
  const codegen::ProgramView p = program<R>();
  Options all;
  all.input_gradient = false;
  Options frozen = all;
  frozen.trainable = codegen::trainable_mask(p, codegen::Freezing{{}, "layer3"});
  const int batch = 8;
  Executable full(p, batch, Mode::training, all);
  Executable head(p, batch, Mode::training, frozen);
  EXPECT_LT(head.passes().backward, full.passes().backward / 2);
  EXPECT_LT(head.footprint().values, full.footprint().values);
  initialize_parameters(p, head.parameters(), head.buffers(), 3);
  const Vec x = random_vec(std::size_t(batch) * 3 * 32 * 32, 71);
  const std::array<int, 8> labels{0, 1, 2, 3, 4, 5, 6, 7};
  head.forward(x);
  head.softmax_cross_entropy(labels);
  head.backward();
  const codegen::TrainingPlan plan = codegen::plan_training(
      p, codegen::PlanOptions{.input_gradient = false, .trainable = frozen.trainable});
  for (std::size_t g = 0; g < plan.groups.size(); ++g) {
    const auto grads = head.gradients().subspan(std::size_t(plan.groups[g].offset),
                                                std::size_t(plan.groups[g].size));
    const double norm = std::inner_product(grads.begin(), grads.end(), grads.begin(), 0.0);
    const std::string path(p.ops[std::size_t(plan.groups[g].op)].layer.path.view());
    if (plan.groups[g].trainable) {
      EXPECT_GT(norm, 0.0) << path;
    } else {
      EXPECT_EQ(norm, 0.0) << path;
    }
  }
}

}  // namespace
}  // namespace archetype::onednn::test
