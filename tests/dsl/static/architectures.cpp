// The model zoo: every header's own static_asserts (published parameter counts and MACs)
// compile here, plus a few more facts computed independently.
#include <archetype/architectures/all.hpp>

namespace archetype::static_tests {
namespace {

using namespace archetype::architectures;

// --- Output shapes ----------------------------------------------------------------------------
static_assert(output_shape_v<LeNet5> == Shape{10, 1, 1});
static_assert(output_shape_v<AlexNet> == Shape{1000, 1, 1});
static_assert(output_shape_v<VGG16> == Shape{1000, 1, 1} &&
              output_shape_v<VGG19BN> == Shape{1000, 1, 1});
static_assert(output_shape_v<ResNet18> == Shape{1000, 1, 1} &&
              output_shape_v<ResNet50> == Shape{1000, 1, 1});
static_assert(output_shape_v<CifarResNet<20>> == Shape{10, 1, 1} &&
              output_shape_v<CifarResNet<110>> == Shape{10, 1, 1});
static_assert(output_shape_v<PlainCifarNet<20>> == Shape{10, 1, 1});
static_assert(output_shape_v<ResNet18Cifar> == Shape{10, 1, 1} &&
              output_shape_v<PlainNet18Cifar> == Shape{10, 1, 1});
static_assert(output_shape_v<VGG16Cifar> == Shape{10, 1, 1});
static_assert(LeNet5::input_shape == Shape{1, 32, 32} &&
              ResNet50::input_shape == Shape{3, 224, 224} &&
              CifarResNet<20>::input_shape == Shape{3, 32, 32});

// --- Receptive fields (per side, input pixels) ----------------------------------------------
// LeNet-5: 5, pool 6 (jump 2), 5x5 -> 14, pool -> 16
static_assert(receptive_field_v<LeNet5> == ReceptiveField{16, 16});
// AlexNet (torchvision): 11 (j 4), pool +2*4 = 19 (j 8), 5x5 +4*8 = 51, pool +2*8 = 67 (j 16),
// three 3x3 +3*2*16 = 163, pool +2*16 = 195
static_assert(receptive_field_v<AlexNet> == ReceptiveField{195, 195});
// VGG-16: 3x3 pairs and triples between 2x2 poolings: 5, 6 (j 2), 14, 16 (j 4), 40, 44 (j 8),
// 92, 100 (j 16), 196, 212 (the last pooling included)
static_assert(receptive_field_v<VGG16> == ReceptiveField{212, 212});
static_assert(receptive_field_v<VGG16BN> == ReceptiveField{212, 212});
// ResNet-50: 427, larger than the 224 image; ResNet-18: 435
static_assert(receptive_field_v<ResNet50> == ReceptiveField{427, 427});
static_assert(receptive_field_v<ResNet18> == ReceptiveField{435, 435});
// CIFAR ResNet-20: stem 3; layer1 six 3x3 -> 15; layer2 3x3/2 -> 17 (j 2), five 3x3 -> 37;
// layer3 3x3/2 -> 41 (j 4), five 3x3 -> 81. The plain net sees the same.
static_assert(receptive_field_v<CifarResNet<20>> == ReceptiveField{81, 81});
static_assert(receptive_field_v<PlainCifarNet<20>> == ReceptiveField{81, 81});

// --- Per-layer tables -----------------------------------------------------------------------
// LeNet-5: conv1, relu, pool, conv2, relu, pool, flatten, fc1, relu, fc2, relu, fc3
static_assert(layers_v<LeNet5>.size() == 12);
static_assert(layers_v<LeNet5>[0].path.view() == "conv1" &&
              layers_v<LeNet5>[11].path.view() == "fc3");
// ResNet-50: stem 4 rows; 16 bottlenecks x (8 + add + relu); 4 downsamples x 2; pool, fc
static_assert(layers_v<ResNet50>.size() == 4 + 16 * 10 + 4 * 2 + 2);
static_assert(layers_v<ResNet50>[0].path.view() == "conv1" &&
              layers_v<ResNet50>[3].path.view() == "maxpool");
static_assert(layers_v<ResNet50>[173].path.view() == "fc" &&
              layers_v<ResNet50>[172].out == Shape{2048, 1, 1});
// CIFAR ResNet-20: stem 3; 9 basic blocks x (5 + add + relu); 2 option-A shortcuts; pool, fc
static_assert(layers_v<CifarResNet<20>>.size() == 3 + 9 * 7 + 2 + 2);
// their plain counterparts: no add, no shortcut rows
static_assert(layers_v<PlainCifarNet<20>>.size() == 3 + 9 * 6 + 2);
static_assert(layers_v<PlainNet18Cifar>.size() == 3 + 8 * 6 + 2);
constexpr bool has_join_or_shortcut(const auto& rows) {
  for (const LayerRow& row : rows) {
    if (row.kind.view() == "Add" || row.kind.view() == "ShortcutA") return true;
  }
  return false;
}
static_assert(has_join_or_shortcut(layers_v<CifarResNet<20>>) &&
              has_join_or_shortcut(layers_v<ResNet18Cifar>));
static_assert(!has_join_or_shortcut(layers_v<PlainCifarNet<20>>) &&
              !has_join_or_shortcut(layers_v<PlainNet18Cifar>));
// AlexNet's features end at 256x6x6 (so AdaptiveAvgPool<6> is a view there)
static_assert(layers_v<AlexNet>[12].out == Shape{256, 6, 6} && layers_v<AlexNet>[13].view);

// --- Parameters, from the formulas rather than the published tables ---------------------------
// CifarResNet<6n+2>: conv1 432 + bn 32; stage of n blocks with P planes, first on C inputs:
//   first 9CP + 9P^2 + 4P, others 18P^2 + 4P; fc 64*10 + 10 = 650
constexpr std::int64_t cifar_resnet_params(std::int64_t n) {
  auto stage = [n](std::int64_t c, std::int64_t p) {
    return 9 * c * p + 9 * p * p + 4 * p + (n - 1) * (18 * p * p + 4 * p);
  };
  return 432 + 32 + stage(16, 16) + stage(16, 32) + stage(32, 64) + 650;
}
static_assert(cifar_resnet_params(3) == 269'722);
static_assert(params_v<CifarResNet<20>> == cifar_resnet_params(3));
static_assert(params_v<CifarResNet<56>> == cifar_resnet_params(9));
static_assert(params_v<CifarResNet<110>> == cifar_resnet_params(18));
// Plain removes exactly the projections: ResNet-18-CIFAR's three 1x1 + BN shortcuts,
// 64*128 + 256 = 8,448; 128*256 + 512 = 33,280; 256*512 + 1,024 = 132,096: 173,824
static_assert(params_v<ResNet18Cifar> - params_v<PlainNet18Cifar> == 173'824);
static_assert(params_v<PlainCifarNet<20>> == params_v<CifarResNet<20>>);
// the projections' MACs go too: 2,097,152 each (16*16*128*64 = 8*8*256*128 = 4*4*512*256)
static_assert(macs_v<ResNet18Cifar> - macs_v<PlainNet18Cifar> == 3 * 2'097'152);
// Adapted: LeNet-5 fed 1x28x28 is zero-padded, the same 61,706 parameters; CifarResNet<20>
// fed 1x28x28 builds its first conv for one channel: 269,722 - 16 * 2 * 9 = 269,434
static_assert(params_v<Adapted<LeNet5, Shape{1, 28, 28}>> == 61'706);
static_assert(params_v<Adapted<CifarResNet<20>, Shape{1, 28, 28}>> == 269'434);
static_assert(Adapted<ResNet50, Shape{1, 28, 28}>::body_input_shape == Shape{1, 224, 224});
// BatchNorm buffers equal BatchNorm parameters: ResNet-50 has 53,120 of each
// (2 x the 26,560 BN channels: stem 64; per bottleneck P + P + 4P; 4 downsample BNs)
static_assert(buffers_v<ResNet50> == 53'120);
// FLOPs = 2 x MACs
static_assert(flops_v<ResNet50> == 2 * macs_v<ResNet50>);

}  // namespace
}  // namespace archetype::static_tests
