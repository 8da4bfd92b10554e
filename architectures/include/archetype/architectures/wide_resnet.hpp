#pragma once
/// \file
/// \brief Wide ResNet (Zagoruyko & Komodakis, "Wide residual networks", BMVC 2016) as
/// torchvision's `wide_resnet50_2`: ResNet-50 whose bottleneck 3x3 (and the 1x1 around it)
/// has twice the channels; the blocks' outputs stay 256 … 2048.

#include <archetype/architectures/resnext.hpp>

namespace archetype::architectures {

/// Wide ResNet-50-2: ResNet-50's stages (3, 4, 6, 3), bottleneck width 128, 256, 512, 1024
/// (torchvision's `width_per_group = 64 * 2`).
struct WideResNet50_2 final : ResNet<GroupedBottleneck<1, 128>::Block, 3, 4, 6, 3> {};

// torchvision 0.14: wide_resnet50_2() has 68,883,240 parameters; its docs print 11.4
// GFLOPS (MACs, one 224x224 image).
template <>
inline constexpr Published published_v<WideResNet50_2>{
    .params = 68'883'240, .macs = 11'400'000'000, .source = "torchvision"};
static_assert(matches_published_v<WideResNet50_2>);

}  // namespace archetype::architectures
