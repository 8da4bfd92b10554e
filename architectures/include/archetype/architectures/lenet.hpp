#pragma once
/// \file
/// \brief LeNet-5 (LeCun, Bottou, Bengio, Haffner, "Gradient-based learning applied to
/// document recognition", Proc. IEEE 1998).

#include <archetype/archetype.hpp>
#include <archetype/architectures/published.hpp>

namespace archetype::architectures {

/// LeNet-5 on 1x32x32 images with the ReLU and max-pool heads of the common PyTorch ports
/// (the paper used scaled tanh and trainable subsampling): C1 6@5x5, S2, C3 16@5x5, S4,
/// C5 120 (a full connection of the 16x5x5 maps), F6 84, output 10. 61,706 parameters.
/// Fed with 28x28 Fashion-MNIST through `Adapted<LeNet5, Shape{1, 28, 28}>` (zero-padded
/// to 32x32): the classic layer table applied to 28x28 images as written meets a 4x4 map
/// at its third 5x5 convolution (see tests/dsl/compile_fail/lenet5_28x28.cpp).
struct LeNet5 final
    : Net<Input<Shape{1, 32, 32}>,
          Seq<Named<"conv1", Conv<6, 5, 1, 0, 1, true>>, ReLU, MaxPool<2>,
              Named<"conv2", Conv<16, 5, 1, 0, 1, true>>, ReLU, MaxPool<2>, Flatten,
              Named<"fc1", Linear<120>>, ReLU, Named<"fc2", Linear<84>>, ReLU,
              Named<"fc3", Linear<10>>>,
          10> {};

static_assert(output_shape_v<LeNet5> == Shape{10, 1, 1});
// 61,706 parameters; 416,520 MACs = 117,600 + 240,000 + 48,000 + 10,080 + 840, exactly.
template <>
inline constexpr Published published_v<LeNet5>{
    .params = 61'706, .macs = 416'520, .macs_per_mille = 0,
    .source = "hand count of the layer table"};
static_assert(matches_published_v<LeNet5>);

}  // namespace archetype::architectures
