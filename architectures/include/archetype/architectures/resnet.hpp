#pragma once
/// \file
/// \brief ResNet (He, Zhang, Ren, Sun, "Deep residual learning for image recognition",
/// CVPR 2016): torchvision's ImageNet ResNet-18/34/50/101/152, the CIFAR-style
/// ResNet-18/34/50 (3x3 stem, no max pooling) and PlainNet-18.

#include <archetype/archetype.hpp>
#include <archetype/architectures/published.hpp>

namespace archetype::architectures {

/// torchvision's 1x1 projection shortcut: `downsample.0` (conv) and `downsample.1` (BN).
template <int Out, int Stride>
struct Projection final : Seq<Conv1x1<Out, Stride>, BatchNorm> {};

/// The shortcut of a block: identity when shapes agree, else a projection.
template <int In, int Out, int Stride>
using shortcut_t = std::conditional_t<In == Out && Stride == 1, Identity,
                                      Named<"downsample", Seq<Conv1x1<Out, Stride>, BatchNorm>>>;

/// Basic block (two 3x3 convolutions), post-activation: relu(bn2(conv2(relu(bn1(conv1 x))))
/// + shortcut x). Parameters 9·C·P + 9·P² + 4P (+ the shortcut's).
template <int Planes, int Stride, class Shortcut>
struct BasicBlock final
    : Residual<Seq<Named<"conv1", Conv3x3<Planes, Stride>>, Named<"bn1", BatchNorm>,
                   Named<"relu", ReLU>, Named<"conv2", Conv3x3<Planes>>, Named<"bn2", BatchNorm>>,
               Shortcut, Named<"relu", ReLU>> {
  static constexpr int expansion = 1;
};

/// Bottleneck block (1x1 reduce, 3x3 with the stride — torchvision's "v1.5" —, 1x1
/// expand x4), post-activation.
template <int Planes, int Stride, class Shortcut>
struct Bottleneck final
    : Residual<Seq<Named<"conv1", Conv1x1<Planes>>, Named<"bn1", BatchNorm>, Named<"relu", ReLU>,
                   Named<"conv2", Conv3x3<Planes, Stride>>, Named<"bn2", BatchNorm>,
                   Named<"relu", ReLU>, Named<"conv3", Conv1x1<4 * Planes>>,
                   Named<"bn3", BatchNorm>>,
               Shortcut, Named<"relu", ReLU>> {
  static constexpr int expansion = 4;
};

namespace resnet_detail {
template <template <int, int, class> class Block>
inline constexpr int expansion = Block<64, 1, Identity>::expansion;  // any valid block

/// One stage (`layer1` … `layer4`): the first block changes size and channels, the others
/// repeat; numbered 0 … Blocks-1 like torchvision's `_make_layer`.
template <template <int, int, class> class Block, int InChannels, int Planes, int Blocks, int Stride>
struct Stage {
  static constexpr int out = Planes * expansion<Block>;
  using first = Block<Planes, Stride, shortcut_t<InChannels, out, Stride>>;
  using type = std::conditional_t<(Blocks > 1), Seq<first, Repeat<Blocks - 1, Block<Planes, 1, Identity>>>,
                                  Seq<first>>;
};
template <template <int, int, class> class Block, int InChannels, int Planes, int Blocks, int Stride>
using stage_t = typename Stage<Block, InChannels, Planes, Blocks, Stride>::type;

/// The network: `Stem…`, the four stages `layer1` … `layer4` (64, 128, 256, 512 planes),
/// then `Head…`, all in one Seq so that paths read `layer1.0.conv1` as in torchvision.
template <class Stem, template <int, int, class> class Block, int B1, int B2, int B3, int B4, class Head>
struct Body;
template <class... Stem, template <int, int, class> class Block, int B1, int B2, int B3, int B4, class... Head>
struct Body<Seq<Stem...>, Block, B1, B2, B3, B4, Seq<Head...>> {
  using type = Seq<Stem..., Named<"layer1", stage_t<Block, 64, 64, B1, 1>>,
                   Named<"layer2", stage_t<Block, 64 * expansion<Block>, 128, B2, 2>>,
                   Named<"layer3", stage_t<Block, 128 * expansion<Block>, 256, B3, 2>>,
                   Named<"layer4", stage_t<Block, 256 * expansion<Block>, 512, B4, 2>>, Head...>;
};
template <class Stem, template <int, int, class> class Block, int B1, int B2, int B3, int B4, class Head>
using body_t = typename Body<Stem, Block, B1, B2, B3, B4, Head>::type;
}  // namespace resnet_detail

/// torchvision's ImageNet ResNet: 7x7/2 stem, 3x3/2 max pooling, four stages of `Block`
/// (64, 128, 256, 512 planes), global average pooling, a 1000-way linear layer.
template <template <int, int, class> class Block, int B1, int B2, int B3, int B4>
struct ResNet
    : Net<Input<Shape{3, 224, 224}>,
          resnet_detail::body_t<Seq<Named<"conv1", Conv<64, 7, 2, 3>>, Named<"bn1", BatchNorm>,
                                    Named<"relu", ReLU>, Named<"maxpool", MaxPool<3, 2, 1>>>,
                                Block, B1, B2, B3, B4,
                                Seq<Named<"avgpool", GlobalAvgPool>, Named<"fc", Linear<1000>>>>,
          1000> {};

/// ResNet-18: 11,689,512 parameters, 1.81 G MACs.
struct ResNet18 final : ResNet<BasicBlock, 2, 2, 2, 2> {};
/// ResNet-34: 21,797,672 parameters, 3.66 G MACs.
struct ResNet34 final : ResNet<BasicBlock, 3, 4, 6, 3> {};
/// ResNet-50: 25,557,032 parameters, 4.09 G MACs.
struct ResNet50 final : ResNet<Bottleneck, 3, 4, 6, 3> {};
/// ResNet-101: 44,549,160 parameters, 7.80 G MACs.
struct ResNet101 final : ResNet<Bottleneck, 3, 4, 23, 3> {};
/// ResNet-152: 60,192,808 parameters, 11.51 G MACs.
struct ResNet152 final : ResNet<Bottleneck, 3, 8, 36, 3> {};

// torchvision's parameter counts and "GFLOPS" column (MACs), within 1%.
template <>
inline constexpr Published published_v<ResNet18>{
    .params = 11'689'512, .macs = 1'810'000'000, .source = "torchvision"};
template <>
inline constexpr Published published_v<ResNet34>{
    .params = 21'797'672, .macs = 3'660'000'000, .source = "torchvision"};
template <>
inline constexpr Published published_v<ResNet50>{
    .params = 25'557'032, .macs = 4'090'000'000, .source = "torchvision"};
template <>
inline constexpr Published published_v<ResNet101>{
    .params = 44'549'160, .macs = 7'800'000'000, .source = "torchvision"};
template <>
inline constexpr Published published_v<ResNet152>{
    .params = 60'192'808, .macs = 11'510'000'000, .source = "torchvision"};
static_assert(matches_published_v<ResNet18>);
static_assert(matches_published_v<ResNet34>);
static_assert(matches_published_v<ResNet50>);
static_assert(matches_published_v<ResNet101>);
static_assert(matches_published_v<ResNet152>);

/// The CIFAR-style ResNet common in CIFAR-10 code (e.g. the seed notebook): 3x3/1 stem
/// with 64 filters, no max pooling, the four ImageNet stages on 32x32 inputs, global
/// average pooling, a 10-way linear layer.
template <template <int, int, class> class Block, int B1, int B2, int B3, int B4>
struct ResNetCifar
    : Net<Input<Shape{3, 32, 32}>,
          resnet_detail::body_t<Seq<Named<"conv1", Conv3x3<64>>, Named<"bn1", BatchNorm>,
                                    Named<"relu", ReLU>>,
                                Block, B1, B2, B3, B4,
                                Seq<Named<"avgpool", GlobalAvgPool>, Named<"fc", Linear<10>>>>,
          10> {};

/// ResNet-18, CIFAR variant: 11,173,962 parameters.
struct ResNet18Cifar final : ResNetCifar<BasicBlock, 2, 2, 2, 2> {};
/// ResNet-34, CIFAR variant: 21,282,122 parameters.
struct ResNet34Cifar final : ResNetCifar<BasicBlock, 3, 4, 6, 3> {};
/// ResNet-50, CIFAR variant: 23,520,842 parameters.
struct ResNet50Cifar final : ResNetCifar<Bottleneck, 3, 4, 6, 3> {};
/// PlainNet-18: ResNet-18 (CIFAR variant) without its shortcuts, projections included
/// (the seed notebook's `PlainNet18`): 11,000,138 parameters.
struct PlainNet18Cifar final : Plain<ResNet18Cifar> {};

// The PyTorch definitions of the CIFAR-10 variants, counted by torch.
template <>
inline constexpr Published published_v<ResNet18Cifar>{
    .params = 11'173'962, .source = "the common PyTorch CIFAR-10 port"};
template <>
inline constexpr Published published_v<ResNet34Cifar>{
    .params = 21'282'122, .source = "the common PyTorch CIFAR-10 port"};
template <>
inline constexpr Published published_v<ResNet50Cifar>{
    .params = 23'520'842, .source = "the common PyTorch CIFAR-10 port"};
template <>
inline constexpr Published published_v<PlainNet18Cifar>{
    .params = 11'000'138, .source = "the seed notebook's PlainNet18"};
static_assert(matches_published_v<ResNet18Cifar>);
static_assert(matches_published_v<ResNet34Cifar>);
static_assert(matches_published_v<ResNet50Cifar>);
static_assert(matches_published_v<PlainNet18Cifar>);

}  // namespace archetype::architectures
