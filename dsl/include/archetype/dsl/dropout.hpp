#pragma once
/// \file
/// \brief `Dropout<P>`: zeroes activations with probability P while training.

#include <archetype/dsl/layer.hpp>

namespace archetype {

/// Inverted dropout (kept values scaled by 1 / (1 - P) while training; identity at
/// inference). Output: the input shape. Parameters: 0. MACs: 0. Rule: 0 <= P < 1.
template <double P = 0.5>
struct Dropout {
  using archetype_leaf = detail::leaf_tag;
  static consteval detail::BrokenRule check(Shape) {
    if (!(P >= 0.0 && P < 1.0)) return {.rule = detail::Rule::dropout_probability, .p = P};
    return {};
  }
  template <Shape In>
  static consteval Shape output_shape() {
    if constexpr (!(P >= 0.0 && P < 1.0)) {
      return detail::poisoned_shape;
    } else {
      return In;
    }
  }
  template <Shape In>
  static consteval LayerRow describe() {
    LayerRow row;
    row.op = LayerKind::dropout;
    row.kind = "Dropout";
    row.p = P;
    row.attributes.append("p ").append(std::int64_t(P * 100 + 0.5)).append("%");
    row.view = true;
    return row;
  }
};

}  // namespace archetype
