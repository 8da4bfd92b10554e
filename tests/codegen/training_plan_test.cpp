// codegen's training plan (codegen/training_plan.hpp) and its arena packer, on their own:
// what every backend builds from. Each case states a decision a backend would otherwise make.
#include <archetype/archetype.hpp>
#include <archetype/architectures/cifar_resnet.hpp>
#include <archetype/architectures/lenet.hpp>
#include <archetype/codegen/training_plan.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace archetype::codegen_tests {
namespace {

using codegen::PlanOptions;
using codegen::TrainingPlan;

// conv(0) -> bn(1) -> relu(2) -> gap(3) -> flatten(4) -> linear(5)
struct Chain final : Net<Input<Shape{3, 8, 8}>,
                         Seq<Conv3x3<4>, BatchNorm, ReLU, GlobalAvgPool, Flatten, Linear<5>>, 5> {};

TrainingPlan plan_of(const codegen::ProgramView& p, PlanOptions o = {}) {
  return codegen::plan_training(p, o);
}

TEST(TrainingPlan, GroupsInStateDictOrderAndGradientsFinalInBackwardOrder) {
  const TrainingPlan p = plan_of(codegen::program_v<Chain>.view());
  ASSERT_EQ(p.groups.size(), 3u);  // conv, bn, linear
  EXPECT_EQ(p.groups[0].op, 0);
  EXPECT_EQ(p.groups[1].op, 1);
  EXPECT_EQ(p.groups[2].op, 5);
  EXPECT_EQ(p.groups[1].offset, p.groups[0].size);
  EXPECT_EQ(p.gradient_final, (std::vector<int>{2, 1, 0}));
  EXPECT_TRUE(p.view_op[4]);   // Flatten
  EXPECT_FALSE(p.view_op[3]);  // GlobalAvgPool
}

// Freezing the convolution: no weight gradient, nothing saved only for it (the input),
// and — the input's gradient not being asked for — no backward step for it at all.
TEST(TrainingPlan, AFrozenGroupComputesAndKeepsNothingOnlyForItself) {
  const auto program = codegen::program_v<Chain>.view();
  PlanOptions o;
  o.input_gradient = false;
  const TrainingPlan all = plan_of(program, o);
  EXPECT_TRUE(all.saved[0]);  // the conv's input, for its weight gradient
  EXPECT_TRUE(all.backward[0]);
  o.trainable = {false, true, true};
  const TrainingPlan frozen = plan_of(program, o);
  EXPECT_FALSE(frozen.weight_gradient[0]);
  EXPECT_FALSE(frozen.backward[0]);
  EXPECT_FALSE(frozen.saved[0]);
  EXPECT_FALSE(frozen.needs_grad[1]);  // the conv's output: nothing trainable upstream
  EXPECT_TRUE(frozen.weight_gradient[1]);
  EXPECT_EQ(frozen.gradient_final, (std::vector<int>{2, 1}));
  EXPECT_LT(frozen.saved_elements, all.saved_elements);
  // A frozen head with a trainable stem still passes gradients through the head.
  o.trainable = {true, true, false};
  const TrainingPlan head = plan_of(program, o);
  EXPECT_TRUE(head.backward[5]);
  EXPECT_FALSE(head.weight_gradient[5]);
  EXPECT_FALSE(head.saved[5]);  // the linear's input was kept only for its weights
  PlanOptions too_short;
  too_short.trainable = {true};
  EXPECT_THROW(plan_of(program, too_short), std::invalid_argument);
}

TEST(TrainingPlan, FusionsWhereTheBackendRunsThem) {
  const auto program = codegen::program_v<Chain>.view();
  EXPECT_EQ(plan_of(program).fused_relu[1], -1);  // no fusion asked
  PlanOptions o;
  o.fusions.batch_norm_relu = true;
  const TrainingPlan p = plan_of(program, o);
  EXPECT_EQ(p.fused_relu[1], 2);
  EXPECT_TRUE(p.absorbed[2]);
  EXPECT_FALSE(p.backward[2]);  // the BatchNorm's backward does the ReLU's
  EXPECT_TRUE(p.saved[3]);      // the ReLU's output: the mask the fused backward reads
  // ResNet-20's block endings: Add + ReLU, nine of them.
  o.fusions = {false, true};
  const TrainingPlan r = plan_of(codegen::program_v<architectures::CifarResNet<20>>.view(), o);
  EXPECT_EQ(std::count_if(r.fused_relu.begin(), r.fused_relu.end(), [](int x) { return x >= 0; }),
            9);
  // No fusion at inference.
  o.training = false;
  const TrainingPlan inference = plan_of(program, o);
  EXPECT_TRUE(std::all_of(inference.fused_relu.begin(), inference.fused_relu.end(),
                          [](int x) { return x < 0; }));
}

// Dropout is a view at inference and with masks off, a new tensor in training.
TEST(TrainingPlan, ViewsPerMode) {
  struct D final : Net<Input<Shape{8, 1, 1}>, Seq<Flatten, Dropout<0.5>, Linear<3>>, 3> {};
  const auto program = codegen::program_v<D>.view();
  EXPECT_FALSE(plan_of(program).view_op[1]);
  PlanOptions masks_off;
  masks_off.dropout = false;
  EXPECT_TRUE(plan_of(program, masks_off).view_op[1]);
  PlanOptions inference;
  inference.training = false;
  EXPECT_TRUE(plan_of(program, inference).view_op[1]);
}

// With every group trainable, the plan saves exactly the compile-time `Tensor::saved` set,
// and its figure is the published one (activation_bytes_v).
TEST(TrainingPlan, SavedIsTheCompileTimeSetWhenEverythingTrains) {
  const auto& program = codegen::program_v<architectures::CifarResNet<20>>;
  const TrainingPlan p = plan_of(program.view());
  for (std::size_t t = 0; t < program.tensors.size(); ++t)
    EXPECT_EQ(p.saved[t], program.tensors[t].saved) << t;
  EXPECT_EQ(p.saved_elements, program.training_saved);
  EXPECT_EQ(4 * p.saved_elements,
            (activation_bytes_v<architectures::CifarResNet<20>, 1>.training_saved));
}

TEST(PackArena, OverlappingLifetimesNeverShareBytes) {
  const std::vector<codegen::ArenaRequest> r{{100, {0, 3}}, {64, {2, 5}}, {300, {4, 9}},
                                             {50, {6, 7}},  {10, {0, 9}}, {200, {8, 9}}};
  const codegen::ArenaLayout l = codegen::pack_arena(r, 64);
  for (std::size_t i = 0; i < r.size(); ++i) {
    EXPECT_EQ(l.offsets[i] % 64, 0u);
    EXPECT_LE(l.offsets[i] + r[i].bytes, l.total);
    for (std::size_t j = i + 1; j < r.size(); ++j) {
      if (!r[i].life.overlaps(r[j].life)) continue;
      const bool apart =
          l.offsets[i] + r[i].bytes <= l.offsets[j] || l.offsets[j] + r[j].bytes <= l.offsets[i];
      EXPECT_TRUE(apart) << i << " and " << j;
    }
  }
  // Reuse: less than the sum, no less than the most alive at once (300 + 200 + 10 at 8-9).
  EXPECT_LT(l.total, std::size_t(128 + 64 + 320 + 64 + 64 + 256));
  EXPECT_EQ(l.live_peak, 510u);
  EXPECT_GE(l.total, l.live_peak);
}

}  // namespace
}  // namespace archetype::codegen_tests
