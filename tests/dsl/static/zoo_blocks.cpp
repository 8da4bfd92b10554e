// Blocks of the issue-4 zoo, checked on their own: shapes and parameter counts by hand
// from the formulas in their doc comments, and the paths `describe` shows.
#include "support.hpp"

#include <archetype/architectures/efficientnet.hpp>
#include <archetype/architectures/googlenet.hpp>
#include <archetype/architectures/inception_v3.hpp>
#include <archetype/architectures/mobilenet_v2.hpp>
#include <archetype/architectures/preact_resnet.hpp>
#include <archetype/architectures/resnext.hpp>
#include <archetype/architectures/se_resnet.hpp>
#include <archetype/architectures/xception.hpp>

namespace archetype::static_tests {
namespace {
using namespace archetype::architectures;

// Naive Inception on 192x28x28 (Szegedy et al. Fig. 2a): 64 + 128 + 32 + 192 channels;
// params (64 + 9*128 + 25*32) * 192 + 224 biases
static_assert(shape_after<Shape{192, 28, 28}, InceptionNaive<64, 128, 32>> == Shape{416, 28, 28});
static_assert(params_v<On<Shape{192, 28, 28}, InceptionNaive<64, 128, 32>>> ==
              (64 + 9 * 128 + 25 * 32) * 192 + 224);
// with reductions (Fig. 2b, Table 1 "3a"): 256 channels; 163,328 weights + 368 biases
static_assert(shape_after<Shape{192, 28, 28}, InceptionReduced<64, 96, 128, 16, 32, 32>> ==
              Shape{256, 28, 28});
static_assert(params_v<On<Shape{192, 28, 28}, InceptionReduced<64, 96, 128, 16, 32, 32>>> ==
              163'328 + 368);
// torchvision's 3a: 3x3 in the "5x5" branch, BN instead of biases
static_assert(params_v<On<Shape{192, 28, 28}, Inception<64, 96, 128, 16, 32, 32>>> ==
              192 * 64 + 192 * 96 + 9 * 96 * 128 + 192 * 16 + 9 * 16 * 32 + 192 * 32 +
                  2 * (64 + 96 + 128 + 16 + 32 + 32));
// Inception v3 modules: InceptionA<32> 192 -> 256, InceptionB 288x35x35 -> 768x17x17,
// InceptionD 768x17x17 -> 1280x8x8, InceptionE 1280 -> 2048
static_assert(shape_after<Shape{192, 35, 35}, InceptionA<32>> == Shape{256, 35, 35});
static_assert(shape_after<Shape{288, 35, 35}, InceptionB> == Shape{768, 17, 17});
static_assert(shape_after<Shape{768, 17, 17}, InceptionD> == Shape{1280, 8, 8});
static_assert(shape_after<Shape{1280, 8, 8}, InceptionE> == Shape{2048, 8, 8});
// the auxiliary heads are nets on the tapped tensors, ending in 1000 scores
static_assert(
    output_shape_v<AuxiliaryHead<googlenet_aux1_tap, "aux1", GoogLeNetAuxHead<1000>, 1000>> ==
    Shape{1000, 1, 1});
static_assert(GoogLeNetAux::heads_params == 2 * 3'189'992);
// ResNeXt 32x4d block at layer1: width 128, grouped 3x3 has 128 * (128/32) * 9 weights
static_assert(GroupedBottleneck<32, 4>::width<64> == 128 &&
              GroupedBottleneck<1, 128>::width<64> == 128);
static_assert(params_v<On<Shape{256, 56, 56}, GroupedBottleneck<32, 4>::Block<64, 1, Identity>>> ==
              256 * 128 + 128 * 4 * 9 + 128 * 256 + 2 * (128 + 128 + 256));
// SE-ResNet bottleneck at layer1 (C = 256): ResNet's block plus C^2/8 + C + C/16
static_assert(params_v<On<Shape{256, 56, 56}, SEBottleneck<64, 1, Identity>>> ==
              params_v<On<Shape{256, 56, 56}, Bottleneck<64, 1, Identity>>> + 256 * 256 / 8 + 256 +
                  16);
// pre-activation units: a projecting one keeps its BN on the input (64 channels)
static_assert(params_v<On<Shape{16, 32, 32}, PreActBottleneck<16, 1, true>>> ==
              2 * 16 + 16 * 16 + 2 * 16 + 9 * 16 * 16 + 2 * 16 + 16 * 64 + 16 * 64);
// MobileNetV2 inverted residual 24 -> 24 (t = 6): 144 hidden; a residual without post-ReLU
static_assert(params_v<On<Shape{24, 56, 56}, InvertedResidual<24, 24, 1, 6>>> ==
              24 * 144 + 2 * 144 + 9 * 144 + 2 * 144 + 144 * 24 + 2 * 24);
// EfficientNet: torchvision's _make_divisible (35.2 -> 32, 17.6 -> 16) and the compound scaling of
// B7 (width 2.0, depth 3.1): stem 64 channels, first stage ceil(1 * 3.1) = 4 blocks, last conv 4 *
// 640
static_assert(efficientnet_detail::make_divisible(32 * 1.1) == 32 &&
              efficientnet_detail::make_divisible(16 * 1.1) == 16);
static_assert(efficientnet_detail::Scaled<efficientnet_scaling[7]>::stage(0).in == 64);
static_assert(efficientnet_detail::Scaled<efficientnet_scaling[7]>::stage(0).layers == 4);
static_assert(efficientnet_detail::Scaled<efficientnet_scaling[7]>::total_blocks == 55);
static_assert(EfficientNetB7::input_shape == Shape{3, 600, 600} &&
              EfficientNetB1::input_shape == Shape{3, 240, 240});
// MBConv with SE on 16 -> 24 (t = 6, stride 2): squeeze max(1, 16 / 4) = 4 channels
static_assert(params_v<On<Shape{16, 112, 112}, MBConv<6, 3, 2, 16, 24, 0.0>::type>> ==
              16 * 96 + 2 * 96 + 9 * 96 + 2 * 96 + (2 * 96 * 4 + 4 + 96) + 96 * 24 + 2 * 24);

// Paths: torchvision's (or Keras') names, branches readable, none truncated (64 chars).
constexpr bool has_path(const auto& rows, std::string_view path) {
  for (const LayerRow& row : rows) {
    if (row.path.view() == path) return true;
  }
  return false;
}
constexpr bool paths_fit(const auto& rows) {
  for (const LayerRow& row : rows) {
    if (row.path.view().size() >= 63) return false;
  }
  return true;
}
static_assert(has_path(layers_v<GoogLeNet>, "inception3a.branch2.1.conv"));
static_assert(has_path(layers_v<GoogLeNet>, "inception5b.branch4.0"));
static_assert(has_path(layers_v<InceptionV3>,
                       "Mixed_7b.branch3.branch3x3dbl_3.branch3x3dbl_3a.conv"));
static_assert(has_path(layers_v<Xception>, "block2.sepconv1.depthwise"));
static_assert(has_path(layers_v<MobileNetV2>, "features.2.conv.1.0"));
static_assert(has_path(layers_v<EfficientNetB0>, "features.2.1.block.2.fc1"));
static_assert(has_path(layers_v<EfficientNetB0>, "features.2.1.stochastic_depth"));
static_assert(has_path(layers_v<SEResNet50>, "layer4.2.se_module.fc2"));
static_assert(paths_fit(layers_v<InceptionV3>) && paths_fit(layers_v<EfficientNetB0>) &&
              paths_fit(layers_v<Xception>));

}  // namespace
}  // namespace archetype::static_tests
