#pragma once
/// \file
/// \brief Inception v3 (Szegedy, Vanhoucke, Ioffe, Shlens, Wojna, "Rethinking the Inception
/// architecture for computer vision", CVPR 2016) as torchvision's `inception_v3`, 299x299,
/// without and with its auxiliary classifier.
///
/// Paths: every Concat branch is numbered (`branch1` … `branch4`) and its layers keep
/// torchvision's module names, so a row reads `Mixed_5b.branch2.branch5x5_1.conv` where
/// torchvision's state_dict has `Mixed_5b.branch5x5_1.conv`; the functional poolings are
/// named `avg_pool` / `max_pool`.

#include <archetype/architectures/auxiliary.hpp>
#include <archetype/architectures/basic_conv.hpp>
#include <archetype/architectures/published.hpp>

namespace archetype::architectures {

/// InceptionA (Figure 5: the 5x5 factorized into two 3x3, on 35x35): 1x1 (64); 1x1 (48) ->
/// 5x5 (64); 1x1 (64) -> 3x3 (96) -> 3x3 (96); 3x3 average pooling -> 1x1 (`PoolFeatures`).
/// torchvision keeps a 5x5 in its second branch. Output `224 + PoolFeatures` channels.
template <int PoolFeatures>
struct InceptionA final
    : Concat<Seq<Named<"branch1x1", BasicConv2d<64, 1>>>,
             Seq<Named<"branch5x5_1", BasicConv2d<48, 1>>, Named<"branch5x5_2", BasicConv2d<64, 5, 5, 1, 2>>>,
             Seq<Named<"branch3x3dbl_1", BasicConv2d<64, 1>>, Named<"branch3x3dbl_2", BasicConv2d<96, 3, 3, 1, 1>>,
                 Named<"branch3x3dbl_3", BasicConv2d<96, 3, 3, 1, 1>>>,
             Seq<Named<"avg_pool", AvgPool<3, 1, 1>>, Named<"branch_pool", BasicConv2d<PoolFeatures, 1>>>> {};

/// InceptionB (grid reduction 35x35 -> 17x17, Figure 10): 3x3/2 (384); 1x1 (64) -> 3x3 (96)
/// -> 3x3/2 (96); 3x3/2 max pooling. Output `480 + C` channels.
struct InceptionB final
    : Concat<Seq<Named<"branch3x3", BasicConv2d<384, 3, 3, 2>>>,
             Seq<Named<"branch3x3dbl_1", BasicConv2d<64, 1>>, Named<"branch3x3dbl_2", BasicConv2d<96, 3, 3, 1, 1>>,
                 Named<"branch3x3dbl_3", BasicConv2d<96, 3, 3, 2>>>,
             Seq<Named<"max_pool", MaxPool<3, 2>>>> {};

/// InceptionC (Figure 6: 7x7 factorized into 1x7 and 7x1, on 17x17) with `C7` channels in
/// the factorized branches: 1x1 (192); 1x1 -> 1x7 -> 7x1 (192); 1x1 -> 7x1 -> 1x7 -> 7x1 ->
/// 1x7 (192); average pooling -> 1x1 (192). Output 768 channels.
template <int C7>
struct InceptionC final
    : Concat<Seq<Named<"branch1x1", BasicConv2d<192, 1>>>,
             Seq<Named<"branch7x7_1", BasicConv2d<C7, 1>>, Named<"branch7x7_2", BasicConv2d<C7, 1, 7, 1, 0, 3>>,
                 Named<"branch7x7_3", BasicConv2d<192, 7, 1, 1, 3, 0>>>,
             Seq<Named<"branch7x7dbl_1", BasicConv2d<C7, 1>>, Named<"branch7x7dbl_2", BasicConv2d<C7, 7, 1, 1, 3, 0>>,
                 Named<"branch7x7dbl_3", BasicConv2d<C7, 1, 7, 1, 0, 3>>,
                 Named<"branch7x7dbl_4", BasicConv2d<C7, 7, 1, 1, 3, 0>>,
                 Named<"branch7x7dbl_5", BasicConv2d<192, 1, 7, 1, 0, 3>>>,
             Seq<Named<"avg_pool", AvgPool<3, 1, 1>>, Named<"branch_pool", BasicConv2d<192, 1>>>> {};

/// InceptionD (grid reduction 17x17 -> 8x8): 1x1 (192) -> 3x3/2 (320); 1x1 (192) -> 1x7 ->
/// 7x1 -> 3x3/2 (192); 3x3/2 max pooling. Output `512 + C` channels.
struct InceptionD final
    : Concat<Seq<Named<"branch3x3_1", BasicConv2d<192, 1>>, Named<"branch3x3_2", BasicConv2d<320, 3, 3, 2>>>,
             Seq<Named<"branch7x7x3_1", BasicConv2d<192, 1>>, Named<"branch7x7x3_2", BasicConv2d<192, 1, 7, 1, 0, 3>>,
                 Named<"branch7x7x3_3", BasicConv2d<192, 7, 1, 1, 3, 0>>,
                 Named<"branch7x7x3_4", BasicConv2d<192, 3, 3, 2>>>,
             Seq<Named<"max_pool", MaxPool<3, 2>>>> {};

/// InceptionE (Figure 7: expanded filter banks on 8x8): 1x1 (320); 1x1 (384) -> [1x3 (384),
/// 3x1 (384)]; 1x1 (448) -> 3x3 (384) -> [1x3 (384), 3x1 (384)]; average pooling -> 1x1
/// (192). Output 2048 channels.
struct InceptionE final
    : Concat<Seq<Named<"branch1x1", BasicConv2d<320, 1>>>,
             Seq<Named<"branch3x3_1", BasicConv2d<384, 1>>,
                 Named<"branch3x3_2", Concat<Named<"branch3x3_2a", BasicConv2d<384, 1, 3, 1, 0, 1>>,
                                             Named<"branch3x3_2b", BasicConv2d<384, 3, 1, 1, 1, 0>>>>>,
             Seq<Named<"branch3x3dbl_1", BasicConv2d<448, 1>>, Named<"branch3x3dbl_2", BasicConv2d<384, 3, 3, 1, 1>>,
                 Named<"branch3x3dbl_3", Concat<Named<"branch3x3dbl_3a", BasicConv2d<384, 1, 3, 1, 0, 1>>,
                                                Named<"branch3x3dbl_3b", BasicConv2d<384, 3, 1, 1, 1, 0>>>>>,
             Seq<Named<"avg_pool", AvgPool<3, 1, 1>>, Named<"branch_pool", BasicConv2d<192, 1>>>> {};

/// torchvision's `InceptionAux` of Inception v3 (on 768x17x17): 5x5/3 average pooling, 1x1
/// (128), 5x5 (768), global average pooling, a linear layer to `Classes`.
template <int Classes>
struct InceptionV3AuxHead final
    : Seq<Named<"avg_pool", AvgPool<5, 3>>, Named<"conv0", BasicConv2d<128, 1>>,
          Named<"conv1", BasicConv2d<768, 5>>, Named<"avgpool", GlobalAvgPool>, Named<"fc", Linear<Classes>>> {};

namespace inception_v3_detail {
template <class... Ls>
struct Layers {
  template <class... More>
  using then = Layers<Ls..., More...>;
  using seq = Seq<Ls...>;
};
// the stem and Mixed_5b … Mixed_6e: the auxiliary classifier taps Mixed_6e's output
using to_6e = Layers<Named<"Conv2d_1a_3x3", BasicConv2d<32, 3, 3, 2>>, Named<"Conv2d_2a_3x3", BasicConv2d<32, 3>>,
                     Named<"Conv2d_2b_3x3", BasicConv2d<64, 3, 3, 1, 1>>, Named<"maxpool1", MaxPool<3, 2>>,
                     Named<"Conv2d_3b_1x1", BasicConv2d<80, 1>>, Named<"Conv2d_4a_3x3", BasicConv2d<192, 3>>,
                     Named<"maxpool2", MaxPool<3, 2>>, Named<"Mixed_5b", InceptionA<32>>,
                     Named<"Mixed_5c", InceptionA<64>>, Named<"Mixed_5d", InceptionA<64>>,
                     Named<"Mixed_6a", InceptionB>, Named<"Mixed_6b", InceptionC<128>>,
                     Named<"Mixed_6c", InceptionC<160>>, Named<"Mixed_6d", InceptionC<160>>,
                     Named<"Mixed_6e", InceptionC<192>>>;
using all = to_6e::then<Named<"Mixed_7a", InceptionD>, Named<"Mixed_7b", InceptionE>, Named<"Mixed_7c", InceptionE>,
                        Named<"avgpool", GlobalAvgPool>, Named<"dropout", Dropout<0.5>>, Named<"fc", Linear<1000>>>;
inline constexpr Shape input{3, 299, 299};
}  // namespace inception_v3_detail

/// torchvision's `inception_v3(aux_logits=False)` on 299x299 images: the stem (3x3/2, 3x3,
/// 3x3, 3x3/2 max pooling, 1x1, 3x3, 3x3/2 max pooling: 192x35x35), three InceptionA, the
/// InceptionB reduction, four InceptionC (17x17), the InceptionD reduction, two InceptionE
/// (8x8x2048), global average pooling, dropout 0.5, a 1000-way linear layer.
struct InceptionV3 final : Net<Input<inception_v3_detail::input>, inception_v3_detail::all::seq, 1000> {};

/// The tensor the auxiliary classifier taps: Mixed_6e's output.
inline constexpr Shape inception_v3_aux_tap = inception_v3_detail::to_6e::seq::output_shape<inception_v3_detail::input>();
static_assert(inception_v3_aux_tap == Shape{768, 17, 17});  // torchvision's InceptionAux(768, …)

/// torchvision's `inception_v3(aux_logits=True)`, params-only (see auxiliary.hpp): the net
/// and its head `AuxLogits` on Mixed_6e (weighted 0.4 in torchvision's reference training).
struct InceptionV3Aux final
    : WithAuxiliaryHeads<InceptionV3, AuxiliaryHead<inception_v3_aux_tap, "AuxLogits", InceptionV3AuxHead<1000>, 1000>> {};

// torchvision 0.14: inception_v3(weights=None, aux_logits=False, init_weights=False) has
// 23,834,568 parameters; its docs print 5.71 GFLOPS (MACs, one 299x299 image).
template <>
inline constexpr Published published_v<InceptionV3>{
    .params = 23'834'568, .macs = 5'710'000'000, .source = "torchvision"};
static_assert(matches_published_v<InceptionV3>);
// torchvision 0.14: inception_v3(weights=None, aux_logits=True, init_weights=False):
// 27,161,264 parameters and 36,224 BatchNorm buffers.
static_assert(params_equal_v<InceptionV3Aux::params, 27'161'264>);
static_assert(InceptionV3Aux::buffers == 36'224);

}  // namespace archetype::architectures
