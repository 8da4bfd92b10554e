#pragma once
/// \file
/// \brief SE-ResNet-50 (Hu, Shen, Sun, "Squeeze-and-excitation networks", CVPR 2018): the
/// ResNet-50 bottleneck with an SE block (reduction ratio 16) on the residual branch,
/// before the sum (Figure 3).

#include <archetype/architectures/resnet.hpp>

namespace archetype::architectures {

/// SE-ResNet bottleneck as the authors' Caffe model (and Cadene's `SEResNetBottleneck`):
/// the stride sits on the first 1x1 convolution (original ResNet, not torchvision's
/// "v1.5"), and `SE<4 * Planes, 16>` (`se_module`: global pooling, fc1 to C/16, ReLU, fc2
/// back to C, sigmoid) scales the branch before the shortcut is added. Parameters: those of
/// ResNet's bottleneck plus `C^2 / 8 + C + C / 16` for C = 4 Planes.
template <int Planes, int Stride, class Shortcut>
struct SEBottleneck final
    : Residual<Seq<Named<"conv1", Conv1x1<Planes, Stride>>, Named<"bn1", BatchNorm>, Named<"relu", ReLU>,
                   Named<"conv2", Conv3x3<Planes>>, Named<"bn2", BatchNorm>, Named<"relu", ReLU>,
                   Named<"conv3", Conv1x1<4 * Planes>>, Named<"bn3", BatchNorm>,
                   Named<"se_module", SE<4 * Planes, 16>>>,
               Shortcut, Named<"relu", ReLU>> {
  static constexpr int expansion = 4;
};

/// SE-ResNet-50: ResNet-50's stem, stages (3, 4, 6, 3) and head with `SEBottleneck`.
struct SEResNet50 final : ResNet<SEBottleneck, 3, 4, 6, 3> {};

// The exact count of the same net declared in PyTorch (torchvision's ResNet-50 with the
// strides moved to conv1 and torchvision's SqueezeExcitation after bn3,
// scripts/reference-counts.py): 28,088,024. Hu et al. 2018 print 3.87 GFLOPs
// (multiply-adds, Table 2) for SE-ResNet-50 at 224x224.
template <>
inline constexpr Published published_v<SEResNet50>{
    .params = 28'088'024, .macs = 3'870'000'000, .source = "Hu et al. 2018: 28.09M, 3.87 GFLOPs"};
static_assert(matches_published_v<SEResNet50>);
// Hu et al. 2018 print SE-ResNet-50's parameters as 28.09M (ResNet-50: 25.56M).
static_assert(rounds_to_v<params_v<SEResNet50>, 2809, 10'000>);

}  // namespace archetype::architectures
