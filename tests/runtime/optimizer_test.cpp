// Optimizers against PyTorch's update rules, computed by hand for two steps.
#include <archetype/runtime/optimizer.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

namespace archetype::runtime {
namespace {

TEST(Optimizer, SgdMomentumWeightDecayMatchesTorch) {
  // torch.optim.SGD(lr=0.1, momentum=0.9, weight_decay=0.01), p = 1, g = 0.5 twice:
  // step 1: d = 0.5 + 0.01 = 0.51; v = 0.51; p = 1 - 0.051 = 0.949
  // step 2: d = 0.5 + 0.00949 = 0.50949; v = 0.9 * 0.51 + 0.50949 = 0.96849; p = 0.949 - 0.096849
  Optimizer o = Optimizer::sgd(1, {0.9, false, 0.01});
  std::vector<float> p{1.0f};
  const std::vector<float> g{0.5f};
  o.step(p, g, 0.1);
  EXPECT_NEAR(p[0], 0.949f, 1e-6);
  o.step(p, g, 0.1);
  EXPECT_NEAR(p[0], 0.949 - 0.096849, 1e-6);
  EXPECT_EQ(o.steps(), 2);
}

// Runs of the block (OptimizerSpec::ranges): what is in none keeps its value and state
// (frozen), each run learns at its factor times the learning rate.
TEST(Optimizer, RangesLeaveFrozenParametersAndScaleTheRate) {
  codegen::OptimizerSpec spec;
  spec.momentum = 0.9;
  spec.weight_decay = 0.01;
  spec.ranges = {{0, 2, 1.0}, {4, 1, 0.1}};  // parameters 2 and 3 frozen
  Optimizer o = Optimizer::from(5, spec);
  std::vector<float> p{1, 1, 1, 1, 1};
  const std::vector<float> g{0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
  o.step(p, g, 0.1);
  o.step(p, g, 0.1);
  EXPECT_NEAR(p[0], 0.949 - 0.096849, 1e-6);  // as SgdMomentumWeightDecayMatchesTorch
  EXPECT_NEAR(p[1], 0.949 - 0.096849, 1e-6);
  EXPECT_EQ(p[2], 1.0f);
  EXPECT_EQ(p[3], 1.0f);
  EXPECT_EQ(o.state()[2], 0.0f);
  // At lr 0.01: step 1: v = 0.51, p = 1 - 0.0051; step 2: d = 0.5 + 0.01 * 0.9949, v = 0.9 *
  // 0.51 + d, p -= 0.01 v.
  const double p1 = 1 - 0.0051;
  const double v2 = 0.9 * 0.51 + 0.5 + 0.01 * p1;
  EXPECT_NEAR(p[4], p1 - 0.01 * v2, 1e-6);
  EXPECT_THROW(o.set_ranges({{3, 3, 1.0}}), std::invalid_argument);
}

TEST(Optimizer, SgdNesterov) {
  // nesterov: p -= lr * (d + mu * v). step 1: d = 1, v = 1, p = 0 - 0.1 * (1 + 0.9) = -0.19
  Optimizer o = Optimizer::sgd(1, {0.9, true, 0.0});
  std::vector<float> p{0.0f};
  o.step(p, std::vector<float>{1.0f}, 0.1);
  EXPECT_NEAR(p[0], -0.19f, 1e-6);
}

TEST(Optimizer, SgdWithoutMomentumHasNoState) {
  Optimizer o = Optimizer::sgd(3, {0.0, false, 0.0});
  EXPECT_TRUE(o.state().empty());
  std::vector<float> p{1, 2, 3};
  o.step(p, std::vector<float>{1, 1, 1}, 0.5);
  EXPECT_EQ(p, (std::vector<float>{0.5f, 1.5f, 2.5f}));
}

TEST(Optimizer, AdamFirstStepMovesByLearningRate) {
  // Adam's first step is lr * g / (|g| + eps') = lr * sign(g) (bias-corrected m and v).
  Optimizer o = Optimizer::adam(2, {});
  std::vector<float> p{0.0f, 0.0f};
  o.step(p, std::vector<float>{3.0f, -0.25f}, 0.01);
  EXPECT_NEAR(p[0], -0.01f, 1e-6);
  EXPECT_NEAR(p[1], 0.01f, 1e-6);
}

TEST(Optimizer, AdamWDecaysWeightsDecoupled) {
  // AdamW with g = 0: m = v = 0, only p *= 1 - lr * wd.
  AdamOptions a;
  a.weight_decay = 0.1;
  a.decoupled = true;
  Optimizer o = Optimizer::adam(1, a);
  std::vector<float> p{2.0f};
  o.step(p, std::vector<float>{0.0f}, 0.5);
  EXPECT_NEAR(p[0], 2.0f * (1 - 0.05f), 1e-6);
}

TEST(Optimizer, RejectsBlocksOfTheWrongSize) {
  Optimizer o = Optimizer::sgd(2, {});
  std::vector<float> p{1.0f};
  EXPECT_THROW(o.step(p, std::vector<float>{1.0f}, 0.1), std::invalid_argument);
}

}  // namespace
}  // namespace archetype::runtime
