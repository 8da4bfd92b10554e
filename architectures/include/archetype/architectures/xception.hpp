#pragma once
/// \file
/// \brief Xception (Chollet, "Xception: deep learning with depthwise separable
/// convolutions", CVPR 2017) as Keras' `keras.applications.Xception` (299x299, 1000
/// classes).
///
/// Paths follow Keras' layer names, grouped by block: Keras' `block2_sepconv1` is
/// `block2.sepconv1` (rows `.depthwise`, `.pointwise`), `block2_sepconv1_bn` is
/// `block2.sepconv1_bn`; the unnamed projection shortcut of blocks 2-4 and 13 is
/// `blockN.residual.conv` / `.bn`. Keras pads its stride-2 3x3 max pooling "same", which
/// on an even input puts the extra row and column at the bottom and right; `MaxPool<3, 2,
/// 1>` pads one on every side: the same output sizes, parameters and MACs.
///
/// Parameters: Keras reports 22,910,480 "total" parameters, of which 22,855,952 are
/// trainable and 54,528 non-trainable: the non-trainable ones are BatchNorm's moving mean
/// and variance, which Archetype counts as buffers (`buffers_v`), not parameters.

#include <archetype/archetype.hpp>
#include <archetype/architectures/published.hpp>

#include <string_view>
#include <type_traits>

namespace archetype::architectures {

/// An entry- or exit-flow block: [ReLU] separable conv (`Mid`), BN, ReLU, separable conv
/// (`Out`), BN, 3x3/2 max pooling, plus a strided 1x1 projection (conv + BN) of the input.
/// `FirstReLU` is false only for block 2, which follows block 1's ReLU.
template <int Mid, int Out, bool FirstReLU>
struct XceptionReductionBlock final
    : Residual<std::conditional_t<
                   FirstReLU,
                   Seq<Named<"sepconv1_act", ReLU>, Named<"sepconv1", SeparableConv<Mid, 3>>, Named<"sepconv1_bn", BatchNorm>,
                       Named<"sepconv2_act", ReLU>, Named<"sepconv2", SeparableConv<Out, 3>>, Named<"sepconv2_bn", BatchNorm>,
                       Named<"pool", MaxPool<3, 2, 1>>>,
                   Seq<Named<"sepconv1", SeparableConv<Mid, 3>>, Named<"sepconv1_bn", BatchNorm>, Named<"sepconv2_act", ReLU>,
                       Named<"sepconv2", SeparableConv<Out, 3>>, Named<"sepconv2_bn", BatchNorm>, Named<"pool", MaxPool<3, 2, 1>>>>,
               Named<"residual", Seq<Named<"conv", Conv1x1<Out, 2>>, Named<"bn", BatchNorm>>>> {};

/// A middle-flow block (728 channels, 19x19): three times ReLU, separable conv, BN; plus
/// the identity.
struct XceptionMiddleBlock final
    : Residual<Seq<Named<"sepconv1_act", ReLU>, Named<"sepconv1", SeparableConv<728, 3>>, Named<"sepconv1_bn", BatchNorm>,
                   Named<"sepconv2_act", ReLU>, Named<"sepconv2", SeparableConv<728, 3>>, Named<"sepconv2_bn", BatchNorm>,
                   Named<"sepconv3_act", ReLU>, Named<"sepconv3", SeparableConv<728, 3>>, Named<"sepconv3_bn", BatchNorm>>> {};

/// Xception (Figure 5): entry flow (3x3/2 conv 32 and 3x3 conv 64 without padding, blocks
/// 2-4 to 728x19x19), middle flow (blocks 5-12), exit flow (block 13 to 1024x10x10, block
/// 14: separable convs 1536 and 2048 with BN and ReLU), global average pooling, a
/// 1000-way linear layer (`predictions`). No dropout (the paper's optional dropout is not
/// in Keras' model).
struct Xception final
    : Net<Input<Shape{3, 299, 299}>,
          Seq<Named<"block1", Seq<Named<"conv1", Conv<32, 3, 2, 0>>, Named<"conv1_bn", BatchNorm>,
                                  Named<"conv1_act", ReLU>, Named<"conv2", Conv<64, 3, 1, 0>>,
                                  Named<"conv2_bn", BatchNorm>, Named<"conv2_act", ReLU>>>,
              Named<"block2", XceptionReductionBlock<128, 128, false>>,
              Named<"block3", XceptionReductionBlock<256, 256, true>>,
              Named<"block4", XceptionReductionBlock<728, 728, true>>, Named<"block5", XceptionMiddleBlock>,
              Named<"block6", XceptionMiddleBlock>, Named<"block7", XceptionMiddleBlock>,
              Named<"block8", XceptionMiddleBlock>, Named<"block9", XceptionMiddleBlock>,
              Named<"block10", XceptionMiddleBlock>, Named<"block11", XceptionMiddleBlock>,
              Named<"block12", XceptionMiddleBlock>, Named<"block13", XceptionReductionBlock<728, 1024, true>>,
              Named<"block14", Seq<Named<"sepconv1", SeparableConv<1536, 3>>, Named<"sepconv1_bn", BatchNorm>, Named<"sepconv1_act", ReLU>,
                                   Named<"sepconv2", SeparableConv<2048, 3>>, Named<"sepconv2_bn", BatchNorm>, Named<"sepconv2_act", ReLU>>>,
              Named<"avg_pool", GlobalAvgPool>, Named<"predictions", Linear<1000>>>,
          1000> {};

// Keras' Xception: 22,855,952 trainable parameters (model.summary()), the parameters here.
template <>
inline constexpr Published published_v<Xception>{
    .params = 22'855'952, .source = "Keras applications (trainable; 22,910,480 with BN moving statistics)"};
static_assert(matches_published_v<Xception>);
// Keras' total, 22,910,480 (the figure of the Keras applications table, 22.9M), is the
// trainable parameters plus the 54,528 BatchNorm moving means and variances.
static_assert(params_equal_v<params_v<Xception> + buffers_v<Xception>, 22'910'480>);
namespace xception_detail {
consteval Shape shape_at(std::string_view path) {
  for (const LayerRow& row : layers_v<Xception>) {
    if (row.path.view() == path) return row.out;
  }
  return Shape{};
}
}  // namespace xception_detail
// Figure 5: the entry flow ends at 728x19x19, the middle flow keeps it, block 13 of the
// exit flow ends at 1024x10x10.
static_assert(xception_detail::shape_at("block4.add") == Shape{728, 19, 19});
static_assert(xception_detail::shape_at("block12.add") == Shape{728, 19, 19});
static_assert(xception_detail::shape_at("block13.add") == Shape{1024, 10, 10});

}  // namespace archetype::architectures
