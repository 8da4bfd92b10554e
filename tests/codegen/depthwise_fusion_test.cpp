// codegen::fuse_depthwise: which 1x1 + depthwise convolution pairs a backend may compute as
// one (the oneDNN backend's append_dw, tests/backends/onednn/depthwise_fusion_test.cpp
// checks the values), on the zoo's inverted-residual nets and on nets built to miss a rule.
#include <archetype/archetype.hpp>
#include <archetype/architectures/efficientnet.hpp>
#include <archetype/architectures/mobilenet_v2.hpp>
#include <archetype/codegen/program.hpp>

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace archetype::codegen {
namespace {

template <class N>
std::vector<Op> fused_ops() {
  const auto& p = inference_program_v<N>;
  std::vector<Op> ops(p.ops.begin(), p.ops.end());
  fuse_depthwise(ops, p.output);
  return ops;
}

// (1x1 head path, depthwise head path) of every pair, checking that the marks agree.
std::vector<std::pair<std::string, std::string>> pairs(const std::vector<Op>& ops) {
  std::vector<std::pair<std::string, std::string>> out;
  for (std::size_t o = 0; o < ops.size(); ++o) {
    const int d = ops[o].fusion.depthwise;
    if (d < 0) continue;
    const Op& dw = ops[std::size_t(d)];
    EXPECT_EQ(dw.fusion.depthwise_of, int(o));
    EXPECT_EQ(ops[o].layer.kernel_h, 1);
    EXPECT_EQ(dw.layer.groups, dw.layer.in.c);
    out.emplace_back(std::string(ops[o].layer.path.view()), std::string(dw.layer.path.view()));
  }
  for (const Op& op : ops) {  // every depthwise mark has its pair
    if (op.fusion.depthwise_of >= 0) {
      EXPECT_EQ(ops[std::size_t(op.fusion.depthwise_of)].fusion.depthwise, &op - ops.data());
    }
  }
  return out;
}

TEST(FuseDepthwise, PairsEveryExpansionOfMobileNetV2) {
  const auto got = pairs(fused_ops<architectures::MobileNetV2>());
  // features.2 to features.17 expand (t = 6); features.1 (t = 1) has no 1x1 before its
  // depthwise convolution.
  ASSERT_EQ(got.size(), 16u);
  for (std::size_t i = 0; i < got.size(); ++i) {
    const std::string block = "features." + std::to_string(i + 2) + ".conv.";
    EXPECT_EQ(got[i].first, block + "0.0");
    EXPECT_EQ(got[i].second, block + "1.0");
  }
}

TEST(FuseDepthwise, PairsEveryExpansionOfEfficientNetB0ThreeByThreeAndFiveByFive) {
  const std::vector<Op> ops = fused_ops<architectures::EfficientNetB0>();
  const auto got = pairs(ops);
  ASSERT_EQ(got.size(), 15u);  // 16 MBConv blocks, the first without expansion
  int five = 0;
  for (const Op& op : ops) five += op.fusion.depthwise_of >= 0 && op.layer.kernel_h == 5;
  EXPECT_EQ(five, 9);  // stages 3, 5 and 6 (Table 1): 2 + 3 + 4 blocks of 5x5; 2 + 3 + 1 of 3x3
}

TEST(FuseDepthwise, LeavesPairsThatBreakARule) {
  // The 1x1's result read by the depthwise convolution and by the residual sum.
  using Shared =
      Net<Input<Shape{8, 8, 8}>,
          Seq<Conv1x1<32>, Residual<Seq<DepthwiseConv<32, 3>>>, GlobalAvgPool, Linear<2>>, 2>;
  // A "valid" depthwise convolution (no padding); a 7x7 one; a 1x1 with a stride; a 1x1
  // followed by a dense 3x3.
  using Valid = Net<Input<Shape{8, 16, 16}>,
                    Seq<Conv1x1<32>, BatchNorm, ReLU6, DepthwiseConv<32, 3, 1, 0>, Conv1x1<32>,
                        DepthwiseConv<32, 7>, Conv1x1<32, 2>, DepthwiseConv<32, 3>, Conv1x1<32>,
                        Conv3x3<32>, GlobalAvgPool, Linear<2>>,
                    2>;
  EXPECT_TRUE(pairs(fused_ops<Shared>()).empty());
  EXPECT_TRUE(pairs(fused_ops<Valid>()).empty());
  // The 1x1 + BatchNorm + ReLU6 chain before a padded depthwise convolution is paired.
  using Padded =
      Net<Input<Shape{8, 16, 16}>,
          Seq<Conv1x1<32>, BatchNorm, ReLU6, DepthwiseConv<32, 3, 2>, GlobalAvgPool, Linear<2>>, 2>;
  const auto padded = pairs(fused_ops<Padded>());
  ASSERT_EQ(padded.size(), 1u);
  EXPECT_EQ(padded[0].first, "0");
  EXPECT_EQ(padded[0].second, "3");
}

TEST(FuseDepthwise, IsIdempotentAndLeavesTheSharedInferenceProgramAlone) {
  std::vector<Op> ops = fused_ops<architectures::MobileNetV2>();
  const std::vector<Op> once = ops;
  fuse_depthwise(ops, inference_program_v<architectures::MobileNetV2>.output);
  for (std::size_t o = 0; o < ops.size(); ++o) {
    EXPECT_EQ(ops[o].fusion.depthwise, once[o].fusion.depthwise);
    EXPECT_EQ(ops[o].fusion.depthwise_of, once[o].fusion.depthwise_of);
  }
  // inference_program_v is what every backend (cuDNN's too) builds from: unmarked.
  for (const Op& op : inference_program_v<architectures::MobileNetV2>.ops) {
    EXPECT_EQ(op.fusion.depthwise, -1);
    EXPECT_EQ(op.fusion.depthwise_of, -1);
  }
}

}  // namespace
}  // namespace archetype::codegen
