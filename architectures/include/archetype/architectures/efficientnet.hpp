#pragma once
/// \file
/// \brief EfficientNet (Tan & Le, "EfficientNet: rethinking model scaling for convolutional
/// neural networks", ICML 2019) as torchvision's `efficientnet_b0` … `efficientnet_b7`:
/// the B0 baseline (Table 1) and compound scaling as a type-level function.

#include <archetype/archetype.hpp>
#include <archetype/architectures/published.hpp>

#include <cstddef>
#include <utility>

namespace archetype::architectures {

/// Compound scaling coefficients (Section 3.3): width multiplier (channels), depth
/// multiplier (layers per stage), input resolution, and the classifier's dropout.
struct EfficientNetScaling {
  double width = 1.0;
  double depth = 1.0;
  int resolution = 224;
  double dropout = 0.2;
};

/// The coefficients of B0 … B7 as released with the paper (the official
/// `efficientnet_builder.py`, copied by torchvision; B2 at the paper's 260x260, where
/// torchvision's weights use 288x288). They approximate the paper's rule depth = 1.2^phi,
/// width = 1.1^phi, resolution = 1.15^phi.
inline constexpr EfficientNetScaling efficientnet_scaling[8] = {
    {1.0, 1.0, 224, 0.2}, {1.0, 1.1, 240, 0.2}, {1.1, 1.2, 260, 0.3}, {1.2, 1.4, 300, 0.3},
    {1.4, 1.8, 380, 0.4}, {1.6, 2.2, 456, 0.4}, {1.8, 2.6, 528, 0.5}, {2.0, 3.1, 600, 0.5}};

namespace efficientnet_detail {
/// torchvision's `_make_divisible(v, 8)`: the nearest multiple of 8, at least 8, never more
/// than 10% below v.
consteval int make_divisible(double v) {
  int rounded = int(v + 4.0) / 8 * 8;
  if (rounded < 8) rounded = 8;
  if (rounded < 0.9 * v) rounded += 8;
  return rounded;
}
/// `adjust_channels(c, width)` and `adjust_depth(n, depth) = ceil(n * depth)`.
consteval int channels(int c, double width) { return make_divisible(c * width); }
consteval int layers(int n, double depth) {
  const double x = n * depth;
  const int i = int(x);
  return x > i ? i + 1 : i;
}

/// One stage of B0 (Table 1): MBConv expansion, kernel, stride, input and output channels,
/// layers.
struct Stage {
  int expand, kernel, stride, in, out, layers;
};
inline constexpr Stage b0[7] = {{1, 3, 1, 32, 16, 1},  {6, 3, 2, 16, 24, 2},  {6, 5, 2, 24, 40, 2},
                                {6, 3, 2, 40, 80, 3},  {6, 5, 1, 80, 112, 3}, {6, 5, 2, 112, 192, 4},
                                {6, 3, 1, 192, 320, 1}};

/// A stage scaled by `S`, and the index of its first block among all blocks.
template <EfficientNetScaling S>
struct Scaled {
  static consteval Stage stage(std::size_t i) {
    Stage s = b0[i];
    s.in = channels(s.in, S.width);
    s.out = channels(s.out, S.width);
    s.layers = layers(s.layers, S.depth);
    return s;
  }
  static consteval int first_block(std::size_t stage_index) {
    int n = 0;
    for (std::size_t i = 0; i < stage_index; ++i) n += stage(i).layers;
    return n;
  }
  static constexpr int total_blocks = first_block(7);
};
}  // namespace efficientnet_detail

/// torchvision's `MBConv` (mobile inverted bottleneck with squeeze-and-excitation, Tan et
/// al. 2019): rows under `block`: [1x1 expansion to `E = make_divisible(In * Expand)`, BN,
/// SiLU] (when E != In), KxK depthwise with the stride, BN, SiLU, `SqueezeExcitation<E,
/// max(1, In / 4), SiLU>`, 1x1 projection to `Out`, BN. When `Stride == 1 && In == Out`
/// the block is residual and `StochasticDepth<DropProb>` (`stochastic_depth`) drops its
/// branch per sample while training.
template <int Expand, int K, int Stride, int In, int Out, double DropProb>
struct MBConv final {
  static constexpr int expanded = efficientnet_detail::make_divisible(double(In) * Expand);
  using depthwise_onwards = Seq<Seq<DepthwiseConv<expanded, K, Stride>, BatchNorm, SiLU>,
                                SqueezeExcitation<expanded, (In / 4 > 1 ? In / 4 : 1), SiLU>,
                                Seq<Conv1x1<Out>, BatchNorm>>;
  using block = std::conditional_t<
      expanded == In, depthwise_onwards,
      Seq<Seq<Conv1x1<expanded>, BatchNorm, SiLU>, Seq<DepthwiseConv<expanded, K, Stride>, BatchNorm, SiLU>,
          SqueezeExcitation<expanded, (In / 4 > 1 ? In / 4 : 1), SiLU>, Seq<Conv1x1<Out>, BatchNorm>>>;
  using type = std::conditional_t<
      Stride == 1 && In == Out,
      Residual<Seq<Named<"block", block>, Named<"stochastic_depth", StochasticDepth<DropProb>>>>,
      Seq<Named<"block", block>>>;
};

namespace efficientnet_detail {
/// Stage `I` of the scaled net: its blocks, each with stochastic-depth probability 0.2 x
/// (global block index) / (total blocks), as torchvision.
template <EfficientNetScaling S, std::size_t I, class Blocks = std::make_index_sequence<Scaled<S>::stage(I).layers>>
struct StageLayers;
template <EfficientNetScaling S, std::size_t I, std::size_t... J>
struct StageLayers<S, I, std::index_sequence<J...>> {
  static constexpr Stage st = Scaled<S>::stage(I);
  using type = Seq<typename MBConv<st.expand, st.kernel, (J == 0 ? st.stride : 1), (J == 0 ? st.in : st.out), st.out,
                                   0.2 * double(Scaled<S>::first_block(I) + int(J)) /
                                       double(Scaled<S>::total_blocks)>::type...>;
};

template <EfficientNetScaling S, class Stages = std::make_index_sequence<7>>
struct Body;
template <EfficientNetScaling S, std::size_t... I>
struct Body<S, std::index_sequence<I...>> {
  static constexpr int last = 4 * Scaled<S>::stage(6).out;
  using type = Seq<Named<"features", Seq<Seq<Conv<Scaled<S>::stage(0).in, 3, 2>, BatchNorm, SiLU>,
                                         typename StageLayers<S, I>::type..., Seq<Conv1x1<last>, BatchNorm, SiLU>>>,
                   Named<"avgpool", GlobalAvgPool>, Named<"classifier", Seq<Dropout<S.dropout>, Linear<1000>>>>;
};
}  // namespace efficientnet_detail

/// `EfficientNet<S>`: B0 (Table 1) scaled by `S` (channels by `make_divisible(c x width)`,
/// stage lengths by `ceil(n x depth)`, input `S.resolution`), as torchvision: 3x3/2 stem
/// (`features.0`), seven MBConv stages (`features.1` … `features.7`), 1x1 conv to 4x the
/// last stage's channels with BN and SiLU (`features.8`), global average pooling, dropout,
/// a 1000-way linear layer (`classifier.1`).
template <EfficientNetScaling S>
struct EfficientNet : Net<Input<Shape{3, S.resolution, S.resolution}>, typename efficientnet_detail::Body<S>::type, 1000> {};

/// EfficientNet-B`Phi`: B0 scaled with the released coefficients of `Phi` (0 … 7).
template <int Phi>
struct EfficientNetB final : EfficientNet<efficientnet_scaling[Phi]> {
  static_assert(Phi >= 0 && Phi <= 7, "archetype: EfficientNetB<Phi> exists for Phi = 0 … 7");
};

using EfficientNetB0 = EfficientNetB<0>;
using EfficientNetB1 = EfficientNetB<1>;
using EfficientNetB2 = EfficientNetB<2>;
using EfficientNetB3 = EfficientNetB<3>;
using EfficientNetB4 = EfficientNetB<4>;
using EfficientNetB5 = EfficientNetB<5>;
using EfficientNetB6 = EfficientNetB<6>;
using EfficientNetB7 = EfficientNetB<7>;

// torchvision 0.14: efficientnet_b0() … efficientnet_b7() parameters; its docs print
// GFLOPS (MACs, one image at the net's resolution) 0.39, 0.69, 1.09 (at 288x288), 1.83,
// 4.39, 10.27, 19.07, 37.75. B0's 0.39 is printed to 0.01: 385.8M is within that
// (+-0.005G, 13 per mille) but 1.1% off 0.39. B2 is checked against the paper (Table 2:
// 1.0B FLOPs at 260x260), not torchvision's 288x288 figure.
template <>
inline constexpr Published published_v<EfficientNetB0>{
    .params = 5'288'548, .macs = 390'000'000, .macs_per_mille = 13, .source = "torchvision"};
template <>
inline constexpr Published published_v<EfficientNetB1>{
    .params = 7'794'184, .macs = 690'000'000, .source = "torchvision"};
template <>
inline constexpr Published published_v<EfficientNetB2>{
    .params = 9'109'994, .macs = 1'000'000'000, .macs_per_mille = 50, .source = "torchvision; Tan & Le Table 2: 1.0B"};
template <>
inline constexpr Published published_v<EfficientNetB3>{
    .params = 12'233'232, .macs = 1'830'000'000, .source = "torchvision"};
template <>
inline constexpr Published published_v<EfficientNetB4>{
    .params = 19'341'616, .macs = 4'390'000'000, .source = "torchvision"};
template <>
inline constexpr Published published_v<EfficientNetB5>{
    .params = 30'389'784, .macs = 10'270'000'000, .source = "torchvision"};
template <>
inline constexpr Published published_v<EfficientNetB6>{
    .params = 43'040'704, .macs = 19'070'000'000, .source = "torchvision"};
template <>
inline constexpr Published published_v<EfficientNetB7>{
    .params = 66'347'960, .macs = 37'750'000'000, .source = "torchvision"};
static_assert(matches_published_v<EfficientNetB0>);
static_assert(matches_published_v<EfficientNetB1>);
static_assert(matches_published_v<EfficientNetB2>);
static_assert(matches_published_v<EfficientNetB3>);
static_assert(matches_published_v<EfficientNetB4>);
static_assert(matches_published_v<EfficientNetB5>);
static_assert(matches_published_v<EfficientNetB6>);
static_assert(matches_published_v<EfficientNetB7>);
// Tan & Le Table 1 / Table 2, at their printed precision: B0 5.3M parameters and 0.39B
// FLOPs (multiply-adds); B2 1.0B FLOPs; B7 66M. (Table 2's 9.2M parameters for B2 are
// not met by torchvision's port, the reference here: 9.11M.)
static_assert(rounds_to_v<params_v<EfficientNetB0>, 53, 100'000> && rounds_to_v<macs_v<EfficientNetB0>, 39, 10'000'000>);
static_assert(rounds_to_v<macs_v<EfficientNetB2>, 10, 100'000'000>);
static_assert(rounds_to_v<params_v<EfficientNetB7>, 66, 1'000'000>);

}  // namespace archetype::architectures
