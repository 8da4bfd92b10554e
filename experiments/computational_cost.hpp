#pragma once
/// \file
/// \brief Study 4, `computational_cost`: where the MACs and the activation memory of
/// VGG-16 and ResNet-50 are, layer by layer; and the VGG argument (Simonyan & Zisserman
/// 2015, Sec. 2.3) — a stack of 3x3 convolutions has the receptive field of one larger
/// kernel with fewer parameters and MACs (two 3x3 = one 5x5: 18C^2 against 25C^2; three
/// 3x3 = one 7x7: 27C^2 against 49C^2) — checked at compile time and timed at run time.
///
/// The probes are 64 channels on 32x32 maps (a CIFAR ResNet's first stage, widened), each
/// convolution followed by a ReLU, then global average pooling and a 10-way linear layer so
/// that they train like any net (the head adds 650 parameters and 640 MACs to each). Full
/// run: inference and training steps at batch 32, at least 10 timed steps and 2 seconds
/// each (about a minute).

#include <archetype/archetype.hpp>
#include <archetype/experiments/study.hpp>

namespace archetype::experiments {

namespace cost_probes {
using Head = Seq<Named<"avgpool", GlobalAvgPool>, Named<"fc", Linear<10>>>;
inline constexpr Shape probe_input{64, 32, 32};

/// Two 3x3 convolutions (receptive field 5x5).
struct TwoConv3x3 final : Net<Input<probe_input>,
                              Seq<Named<"conv1", Conv3x3<64>>, Named<"relu1", ReLU>,
                                  Named<"conv2", Conv3x3<64>>, Named<"relu2", ReLU>, Head>,
                              10> {};
/// One 5x5 convolution.
struct OneConv5x5 final
    : Net<Input<probe_input>, Seq<Named<"conv1", Conv<64, 5>>, Named<"relu1", ReLU>, Head>, 10> {};
/// Three 3x3 convolutions (receptive field 7x7).
struct ThreeConv3x3 final
    : Net<Input<probe_input>,
          Seq<Named<"conv1", Conv3x3<64>>, Named<"relu1", ReLU>, Named<"conv2", Conv3x3<64>>,
              Named<"relu2", ReLU>, Named<"conv3", Conv3x3<64>>, Named<"relu3", ReLU>, Head>,
          10> {};
/// One 7x7 convolution.
struct OneConv7x7 final
    : Net<Input<probe_input>, Seq<Named<"conv1", Conv<64, 7>>, Named<"relu1", ReLU>, Head>, 10> {};

// The argument, as the compiler checks it: same receptive field, fewer parameters and MACs.
inline constexpr std::int64_t head_params = 64 * 10 + 10;
inline constexpr std::int64_t head_macs = 64 * 10;
static_assert(params_v<TwoConv3x3> - head_params == 2 * 9 * 64 * 64);
static_assert(params_v<OneConv5x5> - head_params == 25 * 64 * 64);
static_assert(params_v<ThreeConv3x3> - head_params == 3 * 9 * 64 * 64);
static_assert(params_v<OneConv7x7> - head_params == 49 * 64 * 64);
static_assert(macs_v<TwoConv3x3> - head_macs == 2 * 9 * 64 * 64 * 32 * 32);
static_assert(macs_v<ThreeConv3x3> - head_macs == 3 * 9 * 64 * 64 * 32 * 32);
static_assert(macs_v<TwoConv3x3> < macs_v<OneConv5x5> && macs_v<ThreeConv3x3> < macs_v<OneConv7x7>);
}  // namespace cost_probes

struct ComputationalCost final
    : Experiment<Models<cost_probes::TwoConv3x3, cost_probes::OneConv5x5, cost_probes::ThreeConv3x3,
                        cost_probes::OneConv7x7>,
                 FashionMnist, Sgd<10, 900, 5>, Constant, Epochs<1>, 32> {
  static constexpr std::string_view name = "computational_cost";
  static constexpr std::string_view title =
      "Computational cost: per-layer MACs and memory, stacked 3x3 convolutions";
  static constexpr std::string_view question =
      "Where do VGG-16's and ResNet-50's MACs and activation memory go, layer by layer? And is a "
      "stack of 3x3 convolutions cheaper than one 5x5 or 7x7 of the same receptive field, on paper "
      "(compile-time parameters and MACs) and in measured time?";
  static constexpr std::string_view labels[] = {"two_3x3", "one_5x5", "three_3x3", "one_7x7"};
  static constexpr std::string_view tables[] = {"vgg16", "resnet50"};
  static constexpr StudyKind kind = StudyKind::cost;
  static constexpr QuickRun quick{.batch = 2, .steps = 1};
};

}  // namespace archetype::experiments
