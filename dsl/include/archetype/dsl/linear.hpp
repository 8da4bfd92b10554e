#pragma once
/// \file
/// \brief `Linear<Out, Bias>`: fully connected layer.

#include <archetype/dsl/layer.hpp>

namespace archetype {

/// Fully connected layer y = W x + b on a flat input.
/// Output: `Out x 1 x 1`. Parameters: `C * Out` (+ `Out` with bias). MACs: `C * Out`.
/// Rule: the input must be flat (`C x 1 x 1`): put `Flatten` or `GlobalAvgPool` before
/// it. This is deliberate (PyTorch's nn.Linear would act on the last axis of a 4-D tensor
/// and silently produce something else): flattening is always written in the type.
template <int Out, bool Bias = true>
struct Linear {
  using archetype_leaf = detail::leaf_tag;
  static consteval detail::BrokenRule check(Shape in) {
    if (Out <= 0) return {.rule = detail::Rule::linear_out_positive, .values = {Out}};
    if (!in.flat()) return {.rule = detail::Rule::linear_not_flat, .first = in, .values = {Out}};
    return {};
  }
  template <Shape In>
  static consteval Shape output_shape() {
    if constexpr (detail::poisoned(In) || check(In).broken()) {
      return detail::poisoned_shape;
    } else {
      return Shape{Out, 1, 1};
    }
  }
  template <Shape In>
  static consteval LayerRow describe() {
    LayerRow row;
    row.op = LayerKind::linear;
    row.kind = "Linear";
    row.bias = Bias;
    if (Bias) row.attributes.append("+bias");
    row.params = std::int64_t{In.c} * Out + (Bias ? Out : 0);
    row.macs = std::int64_t{In.c} * Out;
    row.global = true;
    return row;
  }
};

}  // namespace archetype
