// Nets made from nets (dsl/transfer.hpp): where heads start, new heads, backbones, other
// inputs, and frozen parts, with their figures.
#include <archetype/archetype.hpp>
#include <archetype/architectures/lenet.hpp>
#include <archetype/architectures/resnet.hpp>
#include <archetype/architectures/vgg.hpp>
#include <archetype/architectures/xception.hpp>
#include <archetype/codegen/program.hpp>

#include <string_view>

namespace archetype::static_tests {
namespace {

using architectures::LeNet5;
using architectures::ResNet50;
using architectures::VGG16;
using architectures::Xception;

// The head starts at the first top-level element without spatial extent: ResNet's avgpool
// (after conv1, bn1, relu, maxpool, layer1..4), Xception's avg_pool (after block1..14),
// LeNet-5's Flatten (after conv1, relu, pool, conv2, relu, pool), VGG's classifier (after
// features and the 7x7 adaptive pooling).
static_assert(head_start_v<ResNet50> == 8);
static_assert(head_start_v<Xception> == 14);
static_assert(head_start_v<LeNet5> == 6);
static_assert(head_start_v<VGG16> == 2);

// Keras's include_top=False.
static_assert(Backbone<ResNet50>::output_shape == Shape{2048, 7, 7});
static_assert(Backbone<Xception>::output_shape == Shape{2048, 10, 10});
static_assert(params_v<Backbone<ResNet50>> == 25'557'032 - (2048 * 1000 + 1000));
static_assert(params_v<Backbone<Xception>> == 22'855'952 - (2048 * 1000 + 1000));

// torchvision's model.fc = nn.Linear(2048, 10), and the seed's Keras head on Xception:
// GlobalAveragePooling2D, Dense 256 ReLU, Dropout 0.5, Dense N.
using ResNet50x10 =
    WithHead<ResNet50, Seq<Named<"avgpool", GlobalAvgPool>, Named<"fc", Linear<10>>>>;
static_assert(ResNet50x10::classes == 10 && ResNet50x10::output_shape == Shape{10, 1, 1});
static_assert(params_v<ResNet50x10> == 25'557'032 - (2048 * 1000 + 1000) + 2048 * 10 + 10);
using XceptionHead =
    Seq<Named<"avg_pool", GlobalAvgPool>, Named<"dense", Linear<256>>, Named<"dense_relu", ReLU>,
        Named<"dropout", Dropout<0.5>>, Named<"predictions", Linear<5>>>;
using Xception5 = WithHead<Xception, XceptionHead>;
static_assert(params_v<Xception5> == params_v<Backbone<Xception>> + 2048 * 256 + 256 + 256 * 5 + 5);

// The shared layers keep their paths and their places in the parameter block: weights of
// the original load into the new net by path.
constexpr bool same_backbone_rows = [] {
  constexpr auto& a = layers_v<ResNet50>;
  constexpr auto& b = layers_v<ResNet50x10>;
  for (std::size_t i = 0; i + 2 < a.size(); ++i) {
    if (a[i].path.view() != b[i].path.view() || a[i].params != b[i].params) return false;
  }
  return b[b.size() - 1].path.view() == std::string_view("fc");
}();
static_assert(same_backbone_rows);
static_assert(codegen::program_v<ResNet50x10>.ops[100].param_offset ==
              codegen::program_v<ResNet50>.ops[100].param_offset);

// Xception at 71x71, the smallest input its strides allow (Keras's minimum), with the new head.
using Xception71 = WithInput<Xception5, Input<Shape{3, 71, 71}>>;
static_assert(Xception71::output_shape == Shape{5, 1, 1});
static_assert(params_v<Xception71> == params_v<Xception5>);
static_assert(Backbone<WithInput<Xception, Input<Shape{3, 71, 71}>>>::output_shape ==
              Shape{2048, 3, 3});

// Frozen parts: the rows say so, the figures count them, paths do not change (a Named and a
// Repeat inside Frozen keep their names and numbering).
using FrozenFeatures =
    Net<Input<Shape{1, 32, 32}>,
        Seq<Frozen<Named<"conv1", Conv<6, 5, 1, 0, 1, true>>>, ReLU, MaxPool<2, 2>,
            Frozen<Repeat<2, Conv3x3<6>>>, Named<"conv2", Conv<16, 5, 1, 0, 1, true>>, Flatten,
            Named<"fc", Linear<10>>>,
        10>;
static_assert(frozen_params_v<FrozenFeatures> == 6 * 25 + 6 + 2 * (6 * 6 * 9));
static_assert(trainable_params_v<FrozenFeatures> ==
              params_v<FrozenFeatures> - frozen_params_v<FrozenFeatures>);
static_assert(layers_v<FrozenFeatures>[0].path.view() == std::string_view("conv1") &&
              layers_v<FrozenFeatures>[0].frozen);
static_assert(layers_v<FrozenFeatures>[3].path.view() == std::string_view("3") &&
              layers_v<FrozenFeatures>[4].path.view() == std::string_view("4") &&
              layers_v<FrozenFeatures>[4].frozen);
static_assert(!layers_v<FrozenFeatures>[5].frozen && !layers_v<FrozenFeatures>[1].frozen);
static_assert(frozen_params_v<ResNet50> == 0);

}  // namespace
}  // namespace archetype::static_tests
