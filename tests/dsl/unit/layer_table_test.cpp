// The per-layer table read at run time, row by row, against figures computed by hand.
#include "support.hpp"

#include <archetype/architectures/all.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <numeric>
#include <string>
#include <vector>

namespace archetype::unit_tests {
namespace {

using namespace archetype::architectures;

template <class Rows, std::size_t N>
void expect_rows(const Rows& rows, const std::array<ExpectedRow, N>& expected) {
  ASSERT_EQ(rows.size(), N);
  for (std::size_t i = 0; i < N; ++i) {
    SCOPED_TRACE("row " + std::to_string(i) + " (" + str(expected[i].path) + ")");
    const LayerRow& row = rows[i];
    EXPECT_EQ(str(row.path.view()), str(expected[i].path));
    EXPECT_EQ(str(row.kind.view()), str(expected[i].kind));
    EXPECT_EQ(str(row.attributes.view()), str(expected[i].attributes));
    EXPECT_EQ(row.in, expected[i].in);
    EXPECT_EQ(row.out, expected[i].out);
    EXPECT_EQ(row.params, expected[i].params);
    EXPECT_EQ(row.macs, expected[i].macs);
    EXPECT_EQ(row.buffers, expected[i].buffers);
  }
}

// LeNet-5 on 1x32x32, 12 rows:
//   conv1  5x5, 1 -> 6, bias:   params 6*25 + 6 = 156,        MACs 28*28*6*25    = 117,600
//   pool   28 -> 14
//   conv2  5x5, 6 -> 16, bias:  params 16*6*25 + 16 = 2,416,  MACs 10*10*16*150  = 240,000
//   pool   10 -> 5; flatten 16*5*5 = 400
//   fc1    400 -> 120:          params 48,000 + 120 = 48,120, MACs 48,000
//   fc2    120 -> 84:           params 10,080 + 84 = 10,164,  MACs 10,080
//   fc3    84 -> 10:            params 840 + 10 = 850,        MACs 840
TEST(LayerTable, LeNet5RowByRow) {
  constexpr std::array<ExpectedRow, 12> expected{{
      {"conv1", "Conv", "5x5 s1 p0 +bias", {1, 32, 32}, {6, 28, 28}, 156, 117'600},
      {"1", "ReLU", "", {6, 28, 28}, {6, 28, 28}, 0, 0},
      {"2", "MaxPool", "2x2 s2 p0", {6, 28, 28}, {6, 14, 14}, 0, 0},
      {"conv2", "Conv", "5x5 s1 p0 +bias", {6, 14, 14}, {16, 10, 10}, 2'416, 240'000},
      {"4", "ReLU", "", {16, 10, 10}, {16, 10, 10}, 0, 0},
      {"5", "MaxPool", "2x2 s2 p0", {16, 10, 10}, {16, 5, 5}, 0, 0},
      {"6", "Flatten", "", {16, 5, 5}, {400, 1, 1}, 0, 0},
      {"fc1", "Linear", "+bias", {400, 1, 1}, {120, 1, 1}, 48'120, 48'000},
      {"8", "ReLU", "", {120, 1, 1}, {120, 1, 1}, 0, 0},
      {"fc2", "Linear", "+bias", {120, 1, 1}, {84, 1, 1}, 10'164, 10'080},
      {"10", "ReLU", "", {84, 1, 1}, {84, 1, 1}, 0, 0},
      {"fc3", "Linear", "+bias", {84, 1, 1}, {10, 1, 1}, 850, 840},
  }};
  expect_rows(layers_v<LeNet5>, expected);
}

// A post-activation basic block with a projection on 16x8x8, then a head:
//   block.conv1  3x3/2 16 -> 32:  params 32*16*9 = 4,608;  MACs 4*4*32*144 = 73,728
//   block.bn1    32 channels:     params 64, buffers 64
//   block.relu
//   block.conv2  3x3 32 -> 32:    params 9,216;            MACs 16*9,216   = 147,456
//   block.bn2                     params 64, buffers 64
//   block.downsample.0  1x1/2 16 -> 32: params 512;        MACs 16*512     = 8,192
//   block.downsample.1  BN        params 64, buffers 64
//   block.add    (the join: body output 32x4x4)
//   block.relu   (After, applied to the sum)
//   pool         32x4x4 -> 32x1x1
//   fc           32 -> 10:        params 330;              MACs 320
struct SmallResidual final
    : Net<Input<Shape{16, 8, 8}>,
          Seq<Named<"block", Residual<Seq<Named<"conv1", Conv3x3<32, 2>>, Named<"bn1", BatchNorm>,
                                          Named<"relu", ReLU>, Named<"conv2", Conv3x3<32>>,
                                          Named<"bn2", BatchNorm>>,
                                      Named<"downsample", Seq<Conv1x1<32, 2>, BatchNorm>>,
                                      Named<"relu", ReLU>>>,
              Named<"pool", GlobalAvgPool>, Named<"fc", Linear<10>>>,
          10> {};

TEST(LayerTable, SmallResidualRowByRow) {
  constexpr std::array<ExpectedRow, 11> expected{{
      {"block.conv1", "Conv", "3x3 s2 p1", {16, 8, 8}, {32, 4, 4}, 4'608, 73'728},
      {"block.bn1", "BatchNorm", "", {32, 4, 4}, {32, 4, 4}, 64, 0, 64},
      {"block.relu", "ReLU", "", {32, 4, 4}, {32, 4, 4}, 0, 0},
      {"block.conv2", "Conv", "3x3 s1 p1", {32, 4, 4}, {32, 4, 4}, 9'216, 147'456},
      {"block.bn2", "BatchNorm", "", {32, 4, 4}, {32, 4, 4}, 64, 0, 64},
      {"block.downsample.0", "Conv", "1x1 s2 p0", {16, 8, 8}, {32, 4, 4}, 512, 8'192},
      {"block.downsample.1", "BatchNorm", "", {32, 4, 4}, {32, 4, 4}, 64, 0, 64},
      {"block.add", "Add", "", {32, 4, 4}, {32, 4, 4}, 0, 0},
      {"block.relu", "ReLU", "", {32, 4, 4}, {32, 4, 4}, 0, 0},
      {"pool", "GlobalAvgPool", "", {32, 4, 4}, {32, 1, 1}, 0, 0},
      {"fc", "Linear", "+bias", {32, 1, 1}, {10, 1, 1}, 330, 320},
  }};
  expect_rows(layers_v<SmallResidual>, expected);
  // 4,608 + 64 + 9,216 + 64 + 512 + 64 + 330 = 14,858; MACs 73,728 + 147,456 + 8,192 + 320
  EXPECT_EQ(params_v<SmallResidual>, 14'858);
  EXPECT_EQ(buffers_v<SmallResidual>, 192);
  EXPECT_EQ(macs_v<SmallResidual>, 229'696);
}

// Its plain twin: the same rows without the projection and the join, the same paths.
TEST(LayerTable, PlainSmallResidualKeepsPaths) {
  constexpr std::array<ExpectedRow, 8> expected{{
      {"block.conv1", "Conv", "3x3 s2 p1", {16, 8, 8}, {32, 4, 4}, 4'608, 73'728},
      {"block.bn1", "BatchNorm", "", {32, 4, 4}, {32, 4, 4}, 64, 0, 64},
      {"block.relu", "ReLU", "", {32, 4, 4}, {32, 4, 4}, 0, 0},
      {"block.conv2", "Conv", "3x3 s1 p1", {32, 4, 4}, {32, 4, 4}, 9'216, 147'456},
      {"block.bn2", "BatchNorm", "", {32, 4, 4}, {32, 4, 4}, 64, 0, 64},
      {"block.relu", "ReLU", "", {32, 4, 4}, {32, 4, 4}, 0, 0},
      {"pool", "GlobalAvgPool", "", {32, 4, 4}, {32, 1, 1}, 0, 0},
      {"fc", "Linear", "+bias", {32, 1, 1}, {10, 1, 1}, 330, 320},
  }};
  expect_rows(layers_v<Plain<SmallResidual>>, expected);
}

// An Inception-style concat on 8x16x16 (256 positions): 1x1 -> 4 (32 params, 8,192 MACs),
// 3x3 -> 6 (432, 110,592), pool + 1x1 -> 2 (16, 4,096); join 12x16x16.
TEST(LayerTable, ConcatRowByRow) {
  struct Mixed final
      : Net<Input<Shape{8, 16, 16}>,
            Named<"mixed", Concat<Conv1x1<4>, Conv3x3<6>,
                                  Named<"pool", Seq<MaxPool<3, 1, 1>, Conv1x1<2>>>>>> {};
  constexpr std::array<ExpectedRow, 5> expected{{
      {"mixed.branch1", "Conv", "1x1 s1 p0", {8, 16, 16}, {4, 16, 16}, 32, 8'192},
      {"mixed.branch2", "Conv", "3x3 s1 p1", {8, 16, 16}, {6, 16, 16}, 432, 110'592},
      {"mixed.pool.0", "MaxPool", "3x3 s1 p1", {8, 16, 16}, {8, 16, 16}, 0, 0},
      {"mixed.pool.1", "Conv", "1x1 s1 p0", {8, 16, 16}, {2, 16, 16}, 16, 4'096},
      {"mixed.concat", "Concat", "", {8, 16, 16}, {12, 16, 16}, 0, 0},
  }};
  expect_rows(layers_v<Mixed>, expected);
}

// --- Totals are the sums of the rows ----------------------------------------------------------
template <class N>
void expect_totals_are_row_sums() {
  const auto& rows = layers_v<N>;
  std::int64_t params = 0, buffers = 0, macs = 0;
  for (const LayerRow& row : rows) {
    params += row.params;
    buffers += row.buffers;
    macs += row.macs;
  }
  EXPECT_EQ(params, params_v<N>);
  EXPECT_EQ(buffers, buffers_v<N>);
  EXPECT_EQ(macs, macs_v<N>);
  EXPECT_EQ(rows.size(), totals_v<N>.rows);
  EXPECT_EQ(flops_v<N>, 2 * macs_v<N>);
  // each row's output is the next row's input along a chain; the table ends at the output
  EXPECT_EQ(rows.back().out, output_shape_v<N>);
}

TEST(Totals, AreRowSums) {
  expect_totals_are_row_sums<LeNet5>();
  expect_totals_are_row_sums<SmallResidual>();
  expect_totals_are_row_sums<AlexNet>();
  expect_totals_are_row_sums<VGG16>();
  expect_totals_are_row_sums<VGG16BN>();
  expect_totals_are_row_sums<ResNet18>();
  expect_totals_are_row_sums<ResNet50>();
  expect_totals_are_row_sums<CifarResNet<20>>();
  expect_totals_are_row_sums<PlainCifarNet<20>>();
  expect_totals_are_row_sums<ResNet18Cifar>();
  expect_totals_are_row_sums<PlainNet18Cifar>();
  expect_totals_are_row_sums<Adapted<LeNet5, Shape{1, 28, 28}>>();
}

TEST(Totals, MatchPublishedFigures) {
  EXPECT_EQ(params_v<LeNet5>, 61'706);
  EXPECT_EQ(macs_v<LeNet5>, 416'520);
  EXPECT_EQ(params_v<AlexNet>, 61'100'840);
  EXPECT_EQ(params_v<VGG16>, 138'357'544);
  EXPECT_EQ(params_v<ResNet50>, 25'557'032);
  EXPECT_EQ(params_v<CifarResNet<20>>, 269'722);
  EXPECT_EQ(receptive_field_v<ResNet50>, (ReceptiveField{427, 427}));
}

// --- Paths are unique (a path names one layer, for loading weights by path) -------------------
template <class N>
void expect_unique_leaf_paths() {
  std::vector<std::string> paths;
  for (const LayerRow& row : layers_v<N>) paths.push_back(str(row.path.view()));
  std::sort(paths.begin(), paths.end());
  // post-activation blocks name their After `relu` like their body's ReLU (torchvision
  // reuses one module); every other path is unique
  auto twice = std::adjacent_find(
      paths.begin(), paths.end(),
      [](const std::string& a, const std::string& b) { return a == b && !a.ends_with("relu"); });
  EXPECT_TRUE(twice == paths.end()) << "a path appears twice: " << *twice;
  for (const std::string& p : paths) EXPECT_FALSE(p.empty());
}

TEST(LayerTable, PathsAreUnique) {
  expect_unique_leaf_paths<LeNet5>();
  expect_unique_leaf_paths<AlexNet>();
  expect_unique_leaf_paths<VGG16>();
  expect_unique_leaf_paths<ResNet50>();
  expect_unique_leaf_paths<CifarResNet<20>>();
}

// torchvision's state_dict names ResNet layers `layer1.0.conv1`, `layer2.0.downsample.0`.
TEST(LayerTable, ResNetPathsMatchTorchvision) {
  const auto& rows = layers_v<ResNet18>;
  EXPECT_EQ(str(rows[4].path.view()), "layer1.0.conv1");
  bool found = false;
  for (const LayerRow& row : rows) found = found || row.path.view() == "layer2.0.downsample.0";
  EXPECT_TRUE(found);
  EXPECT_EQ(str(layers_v<ResNet18Cifar>[3].path.view()), "layer1.0.conv1");
}

}  // namespace
}  // namespace archetype::unit_tests
