// Whole-net figures at run time: activation memory against batch size, Plain and Adapted.
#include "support.hpp"

#include <archetype/architectures/all.hpp>

#include <gtest/gtest.h>

#include <string>

namespace archetype::unit_tests {
namespace {

using namespace archetype::architectures;

// --- Activation memory: fp32 bytes, linear in the batch ------------------------------------------
// input 1x4x4 (16); conv 3x3 -> 2x4x4 (32); relu (32); pool 2 -> 2x2x2 (8); flatten (view);
// linear -> 3. Peak: relu's input and output alive, 32 + 32 = 64 elements = 256 bytes.
// Saved (what the backward reads): the input 16, the relu's output 32, the pool's output 8
// (the linear's input) = 56 elements = 224 bytes per image.
struct Tiny final
    : Net<Input<Shape{1, 4, 4}>, Seq<Conv<2, 3>, ReLU, MaxPool<2>, Flatten, Linear<3>>, 3> {};

TEST(ActivationBytes, TinyNetByHand) {
  EXPECT_EQ((activation_bytes_v<Tiny, 1>.inference_peak), 256);
  EXPECT_EQ((activation_bytes_v<Tiny, 1>.training_saved), 224);
  EXPECT_EQ((activation_bytes_v<Tiny, 32>.inference_peak), 32 * 256);
  EXPECT_EQ((activation_bytes_v<Tiny, 32>.training_saved), 32 * 224);
}

template <class N>
void expect_linear_in_batch() {
  const ActivationBytes one = activation_bytes_v<N, 1>;
  const ActivationBytes b7 = activation_bytes_v<N, 7>;
  const ActivationBytes b128 = activation_bytes_v<N, 128>;
  const ActivationBytes b256 = activation_bytes_v<N, 256>;
  EXPECT_GT(one.inference_peak, 0);
  EXPECT_GT(one.training_saved, 0);
  EXPECT_EQ(b7.inference_peak, 7 * one.inference_peak);
  EXPECT_EQ(b7.training_saved, 7 * one.training_saved);
  EXPECT_EQ(b128.inference_peak, 128 * one.inference_peak);
  EXPECT_EQ(b128.training_saved, 128 * one.training_saved);
  EXPECT_EQ(b256.training_saved, 2 * b128.training_saved);
  // fp32: 4 bytes per element of the per-image totals
  EXPECT_EQ(one.inference_peak, 4 * totals_v<N>.inference_peak_elements);
  EXPECT_EQ(one.training_saved, 4 * totals_v<N>.training_saved_elements);
  // the peak holds at least the input and the largest output of any row
  std::int64_t largest = N::input_shape.elements();
  for (const LayerRow& row : layers_v<N>) largest = std::max(largest, row.out.elements());
  EXPECT_GE(totals_v<N>.inference_peak_elements, largest);
}

TEST(ActivationBytes, LinearInBatch) {
  expect_linear_in_batch<Tiny>();
  expect_linear_in_batch<LeNet5>();
  expect_linear_in_batch<AlexNet>();
  expect_linear_in_batch<ResNet50>();
  expect_linear_in_batch<CifarResNet<20>>();
  expect_linear_in_batch<VGG16Cifar>();
}

// LeNet-5: input 1,024; conv1 4,704 (6x28x28); relu 4,704; pool 1,176; conv2 1,600; relu
// 1,600; pool 400; flatten (view); fc1 120; relu 120; fc2 84; relu 84; fc3 10.
// Peak: conv1's output and relu's, 4,704 * 2 = 9,408 elements.
// Saved (what the backward reads): the input 1,024 (conv1), relu outputs 4,704 + 1,600 + 120
// + 84, the pools' outputs 1,176 + 400 (conv2's and fc1's inputs) = 9,108 elements.
TEST(ActivationBytes, LeNet5ByHand) {
  EXPECT_EQ(totals_v<LeNet5>.inference_peak_elements, 9'408);
  EXPECT_EQ(totals_v<LeNet5>.training_saved_elements, 9'108);
  EXPECT_EQ((activation_bytes_v<LeNet5, 128>.training_saved), 128 * 4 * 9'108);
}

// --- Plain removes exactly the projection shortcuts ---------------------------------------------
std::int64_t shortcut_params(const auto& rows) {
  std::int64_t sum = 0;
  for (const LayerRow& row : rows) {
    const std::string path{row.path.view()};
    if (path.find("downsample") != std::string::npos ||
        path.find("shortcut") != std::string::npos) {
      sum += row.params;
    }
  }
  return sum;
}
std::int64_t rows_of_kind(const auto& rows, std::string_view kind) {
  std::int64_t n = 0;
  for (const LayerRow& row : rows) n += row.kind.view() == kind ? 1 : 0;
  return n;
}

TEST(Plain, RemovesExactlyTheProjectionParameters) {
  // ResNet-18-CIFAR's projections: 64*128 + 256, 128*256 + 512, 256*512 + 1,024 = 173,824
  EXPECT_EQ(shortcut_params(layers_v<ResNet18Cifar>), 173'824);
  EXPECT_EQ(params_v<ResNet18Cifar> - params_v<PlainNet18Cifar>, 173'824);
  EXPECT_EQ(params_v<PlainNet18Cifar>, 11'000'138);
  // ResNet-50: four projections (64->256, 256->512/2, 512->1024/2, 1024->2048/2):
  // 16,384 + 512 + 131,072 + 1,024 + 524,288 + 2,048 + 2,097,152 + 4,096 = 2,776,576
  using PlainResNet50 = Plain<ResNet50>;
  EXPECT_EQ(shortcut_params(layers_v<ResNet50>), 2'776'576);
  EXPECT_EQ(params_v<ResNet50> - params_v<PlainResNet50>, 2'776'576);
  EXPECT_EQ(shortcut_params(layers_v<PlainResNet50>), 0);
  EXPECT_EQ(output_shape_v<PlainResNet50>, output_shape_v<ResNet50>);
  // option-A shortcuts have no parameters: the plain CIFAR nets keep every parameter
  EXPECT_EQ(shortcut_params(layers_v<CifarResNet<20>>), 0);
  EXPECT_EQ(params_v<PlainCifarNet<20>>, params_v<CifarResNet<20>>);
  EXPECT_EQ(params_v<PlainCifarNet<56>>, params_v<CifarResNet<56>>);
}

TEST(Plain, RemovesEveryJoinAndShortcutRow) {
  EXPECT_EQ(rows_of_kind(layers_v<CifarResNet<20>>, "Add"), 9);
  EXPECT_EQ(rows_of_kind(layers_v<CifarResNet<20>>, "ShortcutA"), 2);
  EXPECT_EQ(rows_of_kind(layers_v<PlainCifarNet<20>>, "Add"), 0);
  EXPECT_EQ(rows_of_kind(layers_v<PlainCifarNet<20>>, "ShortcutA"), 0);
  EXPECT_EQ(rows_of_kind(layers_v<ResNet18Cifar>, "Add"), 8);
  EXPECT_EQ(rows_of_kind(layers_v<PlainNet18Cifar>, "Add"), 0);
  // the convolutions stay: 1 + 16 in ResNet-18-CIFAR's plain twin (the 3 projections go)
  EXPECT_EQ(rows_of_kind(layers_v<ResNet18Cifar>, "Conv"), 1 + 16 + 3);
  EXPECT_EQ(rows_of_kind(layers_v<PlainNet18Cifar>, "Conv"), 1 + 16);
  // the shortcuts keep nothing for the backward (an Add reads nothing, its ReLU differentiates
  // from its own output, as the plain twin's ReLU does): the same saved values
  EXPECT_EQ(totals_v<PlainCifarNet<20>>.training_saved_elements,
            totals_v<CifarResNet<20>>.training_saved_elements);
}

// --- Adapted ------------------------------------------------------------------------------------
TEST(Adapted, LeNet5On28x28IsPaddedWithTheSameParameters) {
  using LeNet5Fashion = Adapted<LeNet5, Shape{1, 28, 28}>;
  EXPECT_EQ(LeNet5Fashion::input_shape, (Shape{1, 28, 28}));
  EXPECT_EQ(LeNet5Fashion::body_input_shape, (Shape{1, 32, 32}));
  EXPECT_EQ(params_v<LeNet5Fashion>, params_v<LeNet5>);
  EXPECT_EQ(params_v<LeNet5Fashion>, 61'706);
  EXPECT_EQ(macs_v<LeNet5Fashion>, macs_v<LeNet5>);
  EXPECT_EQ(output_shape_v<LeNet5Fashion>, (Shape{10, 1, 1}));
  const auto& rows = layers_v<LeNet5Fashion>;
  ASSERT_EQ(rows.size(), 13u);
  EXPECT_EQ(str(rows[0].path.view()), "adapter");
  EXPECT_EQ(str(rows[0].kind.view()), "PadTo");
  EXPECT_EQ(rows[0].in, (Shape{1, 28, 28}));
  EXPECT_EQ(rows[0].out, (Shape{1, 32, 32}));
  EXPECT_EQ(str(rows[1].path.view()), "conv1");
  EXPECT_EQ(rows[1].in, (Shape{1, 32, 32}));
  // PadTo's backward reads nothing: the 28x28 image is not kept, the padded 32x32 one is
  // (conv1 reads it, as it reads LeNet-5's own input)
  EXPECT_EQ(totals_v<LeNet5Fashion>.training_saved_elements,
            totals_v<LeNet5>.training_saved_elements);
}

TEST(Adapted, CifarResNet20OnOneChannel) {
  // the first convolution is built for 1 channel: 16 * 1 * 9 instead of 16 * 3 * 9, so
  // 269,722 - 288 = 269,434; 28x28 is padded to 32x32 (within 8 pixels)
  using Fashion = Adapted<CifarResNet<20>, Shape{1, 28, 28}>;
  EXPECT_EQ(params_v<Fashion>, 269'434);
  EXPECT_EQ(Fashion::body_input_shape, (Shape{1, 32, 32}));
  EXPECT_EQ(str(layers_v<Fashion>[0].kind.view()), "PadTo");
  EXPECT_EQ(layers_v<Fashion>[1].params, 144);
  EXPECT_EQ(output_shape_v<Fashion>, (Shape{10, 1, 1}));
}

TEST(Adapted, ResNet50On28x28IsResized) {
  using Fashion = Adapted<ResNet50, Shape{1, 28, 28}>;
  EXPECT_EQ(str(layers_v<Fashion>[0].kind.view()), "Resize");
  EXPECT_EQ(layers_v<Fashion>[0].out, (Shape{1, 224, 224}));
  // conv1 on one channel: 64 * 49 = 3,136 instead of 9,408
  EXPECT_EQ(params_v<ResNet50> - params_v<Fashion>, 9'408 - 3'136);
  EXPECT_EQ(receptive_field_v<Fashion>, receptive_field_v<ResNet50>);
}

}  // namespace
}  // namespace archetype::unit_tests
