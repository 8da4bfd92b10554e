#pragma once
/// \file
/// \brief Pre-activation ResNets (He, Zhang, Ren, Sun, "Identity mappings in deep residual
/// networks", ECCV 2016): BatchNorm and ReLU move before each convolution, the sum is not
/// followed by a ReLU, and the last unit is followed by BatchNorm + ReLU. The CIFAR-10
/// ResNet-164 and ResNet-1001 of the paper (bottleneck units, 16-32-64 bottleneck widths)
/// and the CIFAR-style PreAct ResNet-18 common in CIFAR-10 code.
///
/// A unit whose shape changes has a 1x1 projection shortcut that, as in the common ports
/// (kuangliu/pytorch-cifar's `PreActBlock`), reads the pre-activated input: such a unit is
/// `bn1`, `relu`, then `residual` (the convolutions and `residual.shortcut`); other units
/// are one residual block (`layer1.1.bn1`, `layer1.1.conv1`, …). Convolutions have no bias.

#include <archetype/archetype.hpp>
#include <archetype/architectures/published.hpp>

#include <type_traits>

namespace archetype::architectures {

namespace preact_detail {
/// A unit: `Convs` on the pre-activated input, plus an identity or projection shortcut.
template <class Convs, int Out, int Stride, bool Project>
using unit_t = std::conditional_t<
    Project,
    Seq<Named<"bn1", BatchNorm>, Named<"relu", ReLU>,
        Named<"residual", Residual<Convs, Named<"shortcut", Conv1x1<Out, Stride>>>>>,
    Residual<Seq<Named<"bn1", BatchNorm>, Named<"relu", ReLU>, Convs>>>;
}  // namespace preact_detail

/// Pre-activation basic unit (Figure 4(e) with two 3x3 convolutions): bn1, relu, conv1
/// (stride), bn2, relu, conv2, plus the shortcut. Output `Planes` channels.
template <int Planes, int Stride, bool Project>
struct PreActBasicBlock final
    : preact_detail::unit_t<Seq<Named<"conv1", Conv3x3<Planes, Stride>>, Named<"bn2", BatchNorm>,
                                Named<"relu", ReLU>, Named<"conv2", Conv3x3<Planes>>>,
                            Planes, Stride, Project> {
  static constexpr int expansion = 1;
};

/// Pre-activation bottleneck unit (Section 4.2): bn1, relu, 1x1 conv1 (`Planes`), bn2,
/// relu, 3x3 conv2 (`Planes`, with the stride), bn3, relu, 1x1 conv3 (`4 * Planes`), plus the
/// shortcut.
template <int Planes, int Stride, bool Project>
struct PreActBottleneck final
    : preact_detail::unit_t<Seq<Named<"conv1", Conv1x1<Planes>>, Named<"bn2", BatchNorm>, Named<"relu", ReLU>,
                                Named<"conv2", Conv3x3<Planes, Stride>>, Named<"bn3", BatchNorm>,
                                Named<"relu", ReLU>, Named<"conv3", Conv1x1<4 * Planes>>>,
                            4 * Planes, Stride, Project> {
  static constexpr int expansion = 4;
};

namespace preact_detail {
template <template <int, int, bool> class Block>
inline constexpr int expansion = Block<1, 1, false>::expansion;

/// A stage: the first unit changes stride and channels (projection), the others repeat.
template <template <int, int, bool> class Block, int In, int Planes, int Units, int Stride>
struct Stage {
  static constexpr bool project = In != Planes * expansion<Block> || Stride != 1;
  using first = Block<Planes, Stride, project>;
  using type = std::conditional_t<(Units > 1), Seq<first, Repeat<Units - 1, Block<Planes, 1, false>>>, Seq<first>>;
};
template <template <int, int, bool> class Block, int In, int Planes, int Units, int Stride>
using stage_t = typename Stage<Block, In, Planes, Units, Stride>::type;

/// The CIFAR-10 head after the last unit: BatchNorm, ReLU, global average pooling, fc.
using head = Seq<Named<"bn", BatchNorm>, Named<"relu", ReLU>, Named<"avgpool", GlobalAvgPool>,
                 Named<"fc", Linear<10>>>;

template <int Depth>
struct Checked {
  static constexpr bool valid = Depth >= 11 && (Depth - 2) % 9 == 0;
  static_assert(valid, "archetype: PreActResNetCifar depth must be 9n+2 with n >= 1 (164, 1001, ...)");
  static constexpr int n = valid ? (Depth - 2) / 9 : 1;
};

template <int Depth, int N = Checked<Depth>::n>
using bottleneck_body_t = std::conditional_t<
    Checked<Depth>::valid,
    Seq<Named<"conv1", Conv3x3<16>>, Named<"layer1", stage_t<PreActBottleneck, 16, 16, N, 1>>,
        Named<"layer2", stage_t<PreActBottleneck, 64, 32, N, 2>>,
        Named<"layer3", stage_t<PreActBottleneck, 128, 64, N, 2>>, head>,
    detail::Rejected>;  // already reported
}  // namespace preact_detail

/// `PreActResNetCifar<9n+2>`: He et al. 2016b's CIFAR-10 bottleneck ResNet: 3x3 conv (16),
/// three stages of n pre-activation bottleneck units (bottleneck widths 16, 32, 64; outputs
/// 64, 128, 256; stride 2 at the first unit of stages 2 and 3), BatchNorm + ReLU, global
/// average pooling, a 10-way linear layer. ResNet-164 is n = 18, ResNet-1001 n = 111.
template <int Depth>
struct PreActResNetCifar final : Net<Input<Shape{3, 32, 32}>, preact_detail::bottleneck_body_t<Depth>, 10> {};

/// ResNet-164 (pre-activation), CIFAR-10.
using PreActResNet164 = PreActResNetCifar<164>;
/// ResNet-1001 (pre-activation), CIFAR-10.
using PreActResNet1001 = PreActResNetCifar<1001>;

/// PreAct ResNet-18, CIFAR variant: ResNet18Cifar's layout (3x3 stem with 64 filters, no
/// max pooling, stages of 2 basic units with 64, 128, 256, 512 filters) with
/// pre-activation units and the paper's final BatchNorm + ReLU (which
/// kuangliu/pytorch-cifar's `PreActResNet18` omits: 1,024 parameters fewer).
struct PreActResNet18Cifar final
    : Net<Input<Shape{3, 32, 32}>,
          Seq<Named<"conv1", Conv3x3<64>>, Named<"layer1", preact_detail::stage_t<PreActBasicBlock, 64, 64, 2, 1>>,
              Named<"layer2", preact_detail::stage_t<PreActBasicBlock, 64, 128, 2, 2>>,
              Named<"layer3", preact_detail::stage_t<PreActBasicBlock, 128, 256, 2, 2>>,
              Named<"layer4", preact_detail::stage_t<PreActBasicBlock, 256, 512, 2, 2>>,
              Named<"bn", BatchNorm>, Named<"relu", ReLU>, Named<"avgpool", GlobalAvgPool>,
              Named<"fc", Linear<10>>>,
          10> {};

// Exact counts of the same nets declared in PyTorch (scripts/reference-counts.py).
template <>
inline constexpr Published published_v<PreActResNet18Cifar>{
    .params = 11'172'170, .source = "PyTorch re-declaration (scripts/reference-counts.py)"};
template <>
inline constexpr Published published_v<PreActResNet164>{
    .params = 1'703'258, .source = "He et al. 2016b, Table 3: 1.7M"};
template <>
inline constexpr Published published_v<PreActResNet1001>{
    .params = 10'327'706, .source = "He et al. 2016b, Table 3: 10.2M (conv and fc weights)"};
static_assert(matches_published_v<PreActResNet18Cifar>);
static_assert(matches_published_v<PreActResNet164>);
static_assert(matches_published_v<PreActResNet1001>);
// He et al. 2016b, Table 3 (and Table 4) prints ResNet-164 at 1.7M and ResNet-1001 at 10.2M
// parameters. The figures count convolution and linear weights only: with BatchNorm's
// gamma and beta (as many as its running statistics, `buffers_v`) ResNet-1001 has 10.33M.
static_assert(rounds_to_v<params_v<PreActResNet164> - buffers_v<PreActResNet164>, 17, 100'000>);
static_assert(rounds_to_v<params_v<PreActResNet1001> - buffers_v<PreActResNet1001>, 102, 100'000>);

}  // namespace archetype::architectures
