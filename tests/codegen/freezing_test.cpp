// Freezing by layer path (codegen/freezing.hpp) and what the plan makes of a frozen group.
#include <archetype/archetype.hpp>
#include <archetype/architectures/cifar_resnet.hpp>
#include <archetype/codegen/freezing.hpp>
#include <archetype/codegen/new_head.hpp>
#include <archetype/codegen/training_plan.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace archetype::codegen {
namespace {

using R = architectures::CifarResNet<20>;

ProgramView resnet20() { return program_v<R>.view(); }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Freezing, PrefixesMatchWholePathComponents) {
  EXPECT_TRUE(under("layer1.0.conv1", "layer1"));
  EXPECT_TRUE(under("layer1", "layer1"));
  EXPECT_TRUE(under("layer1.0.conv1", "layer1.0"));
  EXPECT_FALSE(under("layer10.0.conv1", "layer1"));
  EXPECT_FALSE(under("layer1", "layer1.0"));
  EXPECT_TRUE(under("fc", ""));
}

TEST(Freezing, FreezeUntilFreezesEveryGroupBeforeThePath) {
  const ProgramView p = resnet20();
  const auto mask = trainable_mask(p, Freezing{{}, "layer3"});
  const TrainingPlan plan = plan_training(p, PlanOptions{.trainable = mask});
  ASSERT_EQ(mask.size(), plan.groups.size());
  // conv1, bn1, layer1 and layer2 (3 blocks of conv, bn, conv, bn each, plus layer2's
  // option-A shortcut that has no parameters): 2 + 24 frozen, the rest trains.
  EXPECT_EQ(std::count(mask.begin(), mask.end(), false), 26);
  for (std::size_t g = 0; g < mask.size(); ++g) {
    const std::string path(p.ops[std::size_t(plan.groups[g].op)].layer.path.view());
    EXPECT_EQ(mask[g], path.starts_with("layer3") || path == "fc") << path;
  }
}

TEST(Freezing, FrozenGroupsGetNoGradientNorBatchStatisticsAndSaveLess) {
  const ProgramView p = resnet20();
  // As training steps build it: no gradient of the input image.
  const TrainingPlan all = plan_training(p, PlanOptions{.input_gradient = false});
  const auto mask = trainable_mask(p, Freezing{{}, "layer3"});
  const TrainingPlan frozen =
      plan_training(p, PlanOptions{.input_gradient = false, .trainable = mask});
  // --bn-inference: every BatchNorm on its running statistics, all of them trained.
  const TrainingPlan inference_bn =
      plan_training(p, PlanOptions{.input_gradient = false, .batch_norm_inference = true});
  int first_trained = -1;
  for (std::size_t o = 0; o < p.ops.size(); ++o) {
    const std::string path(p.ops[o].layer.path.view());
    const bool trains = path.starts_with("layer3") || path == "fc";
    if (trains && first_trained < 0) first_trained = int(o);
    if (p.ops[o].layer.params > 0) {
      EXPECT_EQ(frozen.weight_gradient[o], trains) << path;
    }
    if (p.ops[o].layer.op == LayerKind::batch_norm) {
      EXPECT_EQ(frozen.batch_statistics[o], trains) << path;
      EXPECT_TRUE(all.batch_statistics[o]) << path;
      EXPECT_FALSE(inference_bn.batch_statistics[o]) << path;
      EXPECT_TRUE(inference_bn.weight_gradient[o]) << path << ": its scale and shift still train";
    }
    // Nothing before the first trained layer runs a backward step: no gradient flows there.
    if (first_trained < 0) {
      EXPECT_FALSE(frozen.backward[o]) << path;
    }
  }
  EXPECT_LT(frozen.saved_elements, all.saved_elements / 2)
      << "the frozen stem, layer1 and layer2 keep nothing for a backward pass";
  EXPECT_EQ(frozen.gradient_final.size(), std::size_t(std::count(mask.begin(), mask.end(), true)));
}

TEST(Freezing, FreezeByPrefixAndTheErrorsNameTheClosestPaths) {
  const ProgramView p = resnet20();
  const auto mask = trainable_mask(p, Freezing{{"layer2.1", "bn1"}, ""});
  EXPECT_EQ(std::count(mask.begin(), mask.end(), false), 4 + 1);  // two convs, two BNs; bn1
  EXPECT_NE(error_of([&] {
              (void)trainable_mask(p, Freezing{{"layer4"}, ""});
            }).find("--freeze layer4: no layer has this path (closest: layer1, layer2, layer3)"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              (void)trainable_mask(p, Freezing{{}, "layer3.0.conv9"});
            })
                .find("--freeze-until layer3.0.conv9: no layer has this path (closest: "
                      "layer3.0.conv1, layer3.0.conv2"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              (void)trainable_mask(p, Freezing{{""}, ""});
            }).find("every parameter would be frozen"),
            std::string::npos);
}

// Frozen<...> in the type (dsl/transfer.hpp) freezes its groups with no flag, and the flags
// add to it.
TEST(Freezing, FrozenPartsOfTheTypeAreInTheMask) {
  using N = Net<Input<Shape{3, 8, 8}>,
                Seq<Frozen<Seq<Named<"conv", Conv3x3<4>>, Named<"bn", BatchNorm>>>, ReLU,
                    Named<"conv2", Conv3x3<4>>, GlobalAvgPool, Named<"fc", Linear<2>>>>;
  const ProgramView p = program_v<N>.view();
  EXPECT_EQ(trainable_mask(p, {}), (std::vector<bool>{false, false, true, true}));
  EXPECT_EQ(trainable_mask(p, Freezing{{"fc"}, ""}),
            (std::vector<bool>{false, false, true, false}));
  const TrainingPlan plan = plan_training(p, PlanOptions{.trainable = trainable_mask(p, {})});
  EXPECT_FALSE(plan.batch_statistics[1]) << "the frozen BatchNorm runs on its running statistics";
}

// --new-head: the last Linear layer for another number of classes; nothing else moves.
TEST(NewHead, TheLastLinearLayerTakesTheClassesAndNothingElseMoves) {
  const ProgramView p = resnet20();
  const OwnedProgram q = with_classes(p, 100);
  const ProgramView v = q.view();
  EXPECT_EQ(q.head, "fc");
  EXPECT_EQ(v.tensors[std::size_t(v.output)].shape, (Shape{100, 1, 1}));
  EXPECT_EQ(v.params, p.params + 64 * 90 + 90);
  for (std::size_t o = 0; o + 1 < p.ops.size(); ++o) {
    EXPECT_EQ(v.ops[o].param_offset, p.ops[o].param_offset);
    EXPECT_EQ(v.ops[o].layer.path.view(), p.ops[o].layer.path.view());
  }
  EXPECT_EQ(v.ops.back().layer.params, 64 * 100 + 100);
  const TrainingPlan plan = plan_training(v, {});  // a program the backends take
  EXPECT_EQ(plan.groups.back().size, 64 * 100 + 100);
  using NoLinear = Net<Input<Shape{3, 8, 8}>, Seq<Conv3x3<4>, GlobalAvgPool>>;
  EXPECT_NE(
      error_of([] { (void)with_classes(program_v<NoLinear>.view(), 3); }).find("no Linear layer"),
      std::string::npos);
}

TEST(Freezing, OptimizerRangesLeaveFrozenGroupsOutAndScaleByPrefix) {
  const ProgramView p = resnet20();
  // Nothing frozen, no factors: one run over the whole block.
  const auto whole = optimizer_ranges(p, {}, {});
  ASSERT_EQ(whole.size(), 1u);
  EXPECT_EQ(whole[0].offset, 0);
  EXPECT_EQ(whole[0].size, p.params);
  // Frozen until layer3, fc at a tenth: layer3's run, then fc's.
  const auto mask = trainable_mask(p, Freezing{{}, "layer3"});
  const auto ranges = optimizer_ranges(p, mask, {{"fc", 0.1}});
  ASSERT_EQ(ranges.size(), 2u);
  const Op& fc = p.ops[p.ops.size() - 1];
  EXPECT_EQ(ranges[1].offset, fc.param_offset);
  EXPECT_EQ(ranges[1].size, fc.layer.params);
  EXPECT_DOUBLE_EQ(ranges[1].factor, 0.1);
  EXPECT_DOUBLE_EQ(ranges[0].factor, 1.0);
  EXPECT_EQ(ranges[0].offset + ranges[0].size, fc.param_offset);
  std::int64_t trained = 0;
  for (std::size_t o = 0, g = 0; o < p.ops.size(); ++o) {
    if (p.ops[o].layer.params > 0 && mask[g++]) trained += p.ops[o].layer.params;
  }
  EXPECT_EQ(ranges[0].size + ranges[1].size, trained);
  EXPECT_NE(error_of([&] {
              (void)optimizer_ranges(p, {}, {{"head", 2.0}});
            }).find("--lr-group head: no layer has this path"),
            std::string::npos);
}

}  // namespace
}  // namespace archetype::codegen
