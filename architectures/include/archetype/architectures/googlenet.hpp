#pragma once
/// \file
/// \brief GoogLeNet, Inception v1 (Szegedy et al., "Going deeper with convolutions", CVPR
/// 2015): the paper's two Inception modules (Figure 2) as reusable blocks, and torchvision's
/// `googlenet` without and with its two auxiliary classifiers.

#include <archetype/architectures/auxiliary.hpp>
#include <archetype/architectures/basic_conv.hpp>
#include <archetype/architectures/published.hpp>

namespace archetype::architectures {

// --- The paper's modules (Szegedy et al. 2015, Figure 2) ------------------------------------

/// A convolution with bias followed by ReLU, as every convolution of the paper ("all the
/// convolutions, including those inside the Inception modules, use rectified linear
/// activation", Section 5): rows `conv`, `relu`.
template <int Out, int K>
struct ConvReLU final : Seq<Named<"conv", Conv<Out, K, 1, same, 1, true>>, Named<"relu", ReLU>> {};

/// Figure 2(a), the naive Inception module: 1x1, 3x3 and 5x5 convolutions and a 3x3 max
/// pooling side by side, concatenated. Output `C1 + C3 + C5 + C` channels: the pooling
/// branch passes all `C` input channels on, which is why the naive module grows from stage
/// to stage (Section 4). Parameters `(C1 + 9 C3 + 25 C5) C + C1 + C3 + C5`.
template <int C1, int C3, int C5>
struct InceptionNaive final
    : Concat<ConvReLU<C1, 1>, ConvReLU<C3, 3>, ConvReLU<C5, 5>, MaxPool<3, 1, 1>> {};

/// Figure 2(b), the Inception module with dimension reductions: 1x1 convolutions reduce the
/// channels before the 3x3 and 5x5 convolutions and after the pooling. Arguments in the
/// order of Table 1's columns (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj).
/// Output `C1 + C3 + C5 + PoolProj` channels.
template <int C1, int C3Reduce, int C3, int C5Reduce, int C5, int PoolProj>
struct InceptionReduced final
    : Concat<ConvReLU<C1, 1>, Seq<ConvReLU<C3Reduce, 1>, ConvReLU<C3, 3>>,
             Seq<ConvReLU<C5Reduce, 1>, ConvReLU<C5, 5>>, Seq<MaxPool<3, 1, 1>, ConvReLU<PoolProj, 1>>> {};

// Table 1, "inception (3a)" and "(3b)" on 28x28 maps: 128M and 304M ops (multiply-adds,
// printed in millions). The table's parameter column (159K, 380K) is not reproducible
// from its own channel counts (163,328 and 388,096 weights), so it is not asserted.
static_assert(rounds_to_v<macs_v<Net<Input<Shape{192, 28, 28}>, InceptionReduced<64, 96, 128, 16, 32, 32>>>,
                          128, 1'000'000>);
static_assert(rounds_to_v<macs_v<Net<Input<Shape{256, 28, 28}>, InceptionReduced<128, 128, 192, 32, 96, 64>>>,
                          304, 1'000'000>);

// --- torchvision's GoogLeNet ----------------------------------------------------------------

/// torchvision's `Inception` module: Figure 2(b) with BatchNorm after every convolution
/// (`BasicConv2d`) and, as torchvision's known deviation kept for its weights, a 3x3
/// convolution in the "5x5" branch; the pooling branch's max pooling rounds up
/// (`ceil_mode=True`). Paths `branch1.conv`, `branch2.0.conv`, `branch2.1.conv`, …,
/// `branch4.0` (the pooling), `branch4.1.conv`, as torchvision's state_dict.
template <int C1, int C3Reduce, int C3, int C5Reduce, int C5, int PoolProj>
struct Inception final
    : Concat<BasicConv2d<C1, 1>, Seq<BasicConv2d<C3Reduce, 1>, BasicConv2d<C3, 3, 3, 1, 1>>,
             Seq<BasicConv2d<C5Reduce, 1>, BasicConv2d<C5, 3, 3, 1, 1>>,
             Seq<MaxPool<3, 1, 1, true>, BasicConv2d<PoolProj, 1>>> {};

/// torchvision's `InceptionAux` of GoogLeNet: 4x4 adaptive average pooling, a 1x1
/// `BasicConv2d` to 128 channels, fc1 (2048 -> 1024) + ReLU, dropout 0.7, fc2 (-> Classes).
template <int Classes>
struct GoogLeNetAuxHead final
    : Seq<Named<"avgpool", AdaptiveAvgPool<4>>, Named<"conv", BasicConv2d<128, 1>>,
          Named<"flatten", Flatten>, Named<"fc1", Linear<1024>>, Named<"relu", ReLU>,
          Named<"dropout", Dropout<0.7>>, Named<"fc2", Linear<Classes>>> {};

namespace googlenet_detail {
template <class... Ls>
struct Layers {
  template <class... More>
  using then = Layers<Ls..., More...>;
  using seq = Seq<Ls...>;
};
// conv1 … inception4a: aux1 taps inception4a's output
using to_4a = Layers<Named<"conv1", BasicConv2d<64, 7, 7, 2, 3>>, Named<"maxpool1", MaxPool<3, 2, 0, true>>,
                     Named<"conv2", BasicConv2d<64, 1>>, Named<"conv3", BasicConv2d<192, 3, 3, 1, 1>>,
                     Named<"maxpool2", MaxPool<3, 2, 0, true>>,
                     Named<"inception3a", Inception<64, 96, 128, 16, 32, 32>>,
                     Named<"inception3b", Inception<128, 128, 192, 32, 96, 64>>,
                     Named<"maxpool3", MaxPool<3, 2, 0, true>>,
                     Named<"inception4a", Inception<192, 96, 208, 16, 48, 64>>>;
// … inception4d: aux2 taps inception4d's output
using to_4d = to_4a::then<Named<"inception4b", Inception<160, 112, 224, 24, 64, 64>>,
                          Named<"inception4c", Inception<128, 128, 256, 24, 64, 64>>,
                          Named<"inception4d", Inception<112, 144, 288, 32, 64, 64>>>;
using all = to_4d::then<Named<"inception4e", Inception<256, 160, 320, 32, 128, 128>>,
                        Named<"maxpool4", MaxPool<2, 2, 0, true>>,
                        Named<"inception5a", Inception<256, 160, 320, 32, 128, 128>>,
                        Named<"inception5b", Inception<384, 192, 384, 48, 128, 128>>,
                        Named<"avgpool", GlobalAvgPool>, Named<"dropout", Dropout<0.2>>,
                        Named<"fc", Linear<1000>>>;
inline constexpr Shape input{3, 224, 224};
}  // namespace googlenet_detail

/// torchvision's `googlenet(aux_logits=False)`: 7x7/2 stem, 3x3/2 pooling, 1x1 and 3x3
/// convolutions, pooling, Inception 3a-3b, pooling, 4a-4e, 2x2 pooling, 5a-5b, global
/// average pooling, dropout 0.2, a 1000-way linear layer (Szegedy et al. Table 1 with
/// BatchNorm). Paths as torchvision's (`inception3a.branch2.1.conv`).
struct GoogLeNet final : Net<Input<googlenet_detail::input>, googlenet_detail::all::seq, 1000> {};

/// The tensors the auxiliary classifiers tap: inception4a's and inception4d's outputs.
inline constexpr Shape googlenet_aux1_tap = googlenet_detail::to_4a::seq::output_shape<googlenet_detail::input>();
inline constexpr Shape googlenet_aux2_tap = googlenet_detail::to_4d::seq::output_shape<googlenet_detail::input>();
// torchvision's InceptionAux(512, …) and InceptionAux(528, …) on 14x14 maps
static_assert(googlenet_aux1_tap == Shape{512, 14, 14} && googlenet_aux2_tap == Shape{528, 14, 14});

/// torchvision's `googlenet(aux_logits=True)`, params-only (see auxiliary.hpp): GoogLeNet
/// and its heads `aux1` (on inception4a) and `aux2` (on inception4d), weighted 0.3 in the
/// paper's training loss.
struct GoogLeNetAux final
    : WithAuxiliaryHeads<GoogLeNet, AuxiliaryHead<googlenet_aux1_tap, "aux1", GoogLeNetAuxHead<1000>, 1000>,
                         AuxiliaryHead<googlenet_aux2_tap, "aux2", GoogLeNetAuxHead<1000>, 1000>> {};

// torchvision 0.14: googlenet(weights=None, aux_logits=False, init_weights=False) has
// 6,624,904 parameters; its docs print 1.5 GFLOPS (MACs, one 224x224 image).
template <>
inline constexpr Published published_v<GoogLeNet>{
    .params = 6'624'904, .macs = 1'500'000'000, .source = "torchvision"};
static_assert(matches_published_v<GoogLeNet>);
// torchvision 0.14: googlenet(weights=None, aux_logits=True, init_weights=False): 13,004,888
// parameters (each head 3,189,992) and 15,072 BatchNorm buffers.
static_assert(params_equal_v<GoogLeNetAux::params, 13'004'888>);
static_assert(GoogLeNetAux::buffers == 15'072);

}  // namespace archetype::architectures
