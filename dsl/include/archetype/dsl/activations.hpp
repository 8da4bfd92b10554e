#pragma once
/// \file
/// \brief Activations beyond ReLU: `ReLU6` (MobileNet), `SiLU` (EfficientNet), `Sigmoid`
/// (the gate of squeeze-and-excitation).

#include <archetype/dsl/layer.hpp>

namespace archetype {

namespace detail {
/// An elementwise activation: output the input shape, no parameters, no MACs.
template <LayerKind Kind, FixedString Name>
struct Activation {
  using archetype_leaf = leaf_tag;
  template <Shape In>
  static consteval Shape output_shape() { return In; }
  template <Shape In>
  static consteval LayerRow describe() {
    LayerRow row;
    row.op = Kind;
    row.kind = Name.view();
    return row;
  }
};
}  // namespace detail

/// min(max(0, x), 6) (Sandler et al. 2018, MobileNetV2). Output: the input shape.
/// Parameters: 0. MACs: 0.
struct ReLU6 : detail::Activation<LayerKind::relu6, "ReLU6"> {};

/// x * sigmoid(x), also called swish (Ramachandran et al. 2017; EfficientNet). Output: the
/// input shape. Parameters: 0. MACs: 0.
struct SiLU : detail::Activation<LayerKind::silu, "SiLU"> {};

/// 1 / (1 + exp(-x)). Output: the input shape. Parameters: 0. MACs: 0.
struct Sigmoid : detail::Activation<LayerKind::sigmoid, "Sigmoid"> {};

}  // namespace archetype
