#pragma once
/// \file
/// \brief ResNeXt (Xie, Girshick, Dollár, Tu, He, "Aggregated residual transformations for
/// deep neural networks", CVPR 2017) as torchvision's `resnext50_32x4d` and
/// `resnext101_32x8d`: ResNet's bottleneck with a grouped 3x3 convolution (form (c) of
/// Figure 3: `Groups` paths of `WidthPerGroup` channels each, at the 64-plane stage).

#include <archetype/architectures/resnet.hpp>

namespace archetype::architectures {

/// torchvision's `Bottleneck(groups=Groups, base_width=WidthPerGroup)`: 1x1 to `width`
/// channels, 3x3 grouped (`Groups` groups) with the stride, 1x1 to `4 * Planes`, each
/// followed by BatchNorm, ReLU after the first two and after the sum; `width = (Planes *
/// WidthPerGroup / 64) * Groups` (torchvision's `int(planes * (base_width / 64.)) * groups`).
/// `GroupedBottleneck<1, 64>::Block` is ResNet's `Bottleneck`; `<32, 4>` ResNeXt's 32x4d;
/// `<1, 128>` Wide ResNet-50-2's block. Paths as torchvision's (`layer1.0.conv2`).
template <int Groups, int WidthPerGroup>
struct GroupedBottleneck {
  template <int Planes>
  static constexpr int width = Planes * WidthPerGroup / 64 * Groups;

  template <int Planes, int Stride, class Shortcut>
  struct Block final
      : Residual<Seq<Named<"conv1", Conv1x1<width<Planes>>>, Named<"bn1", BatchNorm>, Named<"relu", ReLU>,
                     Named<"conv2", Conv<width<Planes>, 3, Stride, 1, Groups>>, Named<"bn2", BatchNorm>,
                     Named<"relu", ReLU>, Named<"conv3", Conv1x1<4 * Planes>>, Named<"bn3", BatchNorm>>,
                 Shortcut, Named<"relu", ReLU>> {
    static constexpr int expansion = 4;
  };
};

/// ResNeXt-50 (32x4d): ResNet-50's stages (3, 4, 6, 3) with 32 groups of 4 channels at the
/// first stage (width 128, 256, 512, 1024).
struct ResNeXt50_32x4d final : ResNet<GroupedBottleneck<32, 4>::Block, 3, 4, 6, 3> {};
/// ResNeXt-101 (32x8d): ResNet-101's stages (3, 4, 23, 3) with 32 groups of 8 channels.
struct ResNeXt101_32x8d final : ResNet<GroupedBottleneck<32, 8>::Block, 3, 4, 23, 3> {};

// torchvision 0.14: resnext50_32x4d() 25,028,904 and resnext101_32x8d() 88,791,336
// parameters; its docs print 4.23 and 16.41 GFLOPS (MACs, one 224x224 image).
template <>
inline constexpr Published published_v<ResNeXt50_32x4d>{
    .params = 25'028'904, .macs = 4'230'000'000, .source = "torchvision"};
template <>
inline constexpr Published published_v<ResNeXt101_32x8d>{
    .params = 88'791'336, .macs = 16'410'000'000, .source = "torchvision"};
static_assert(matches_published_v<ResNeXt50_32x4d>);
static_assert(matches_published_v<ResNeXt101_32x8d>);
// Xie et al. Table 1: ResNeXt-50 (32x4d) 25.0 x 10^6 parameters, 4.2 x 10^9 FLOPs
// (multiply-adds), at the table's precision.
static_assert(rounds_to_v<params_v<ResNeXt50_32x4d>, 250, 100'000>);
static_assert(rounds_to_v<macs_v<ResNeXt50_32x4d>, 42, 100'000'000>);

}  // namespace archetype::architectures
