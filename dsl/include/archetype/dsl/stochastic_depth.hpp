#pragma once
/// \file
/// \brief `StochasticDepth<P>` (alias `DropPath<P>`): drops a whole residual branch per
/// sample while training.

#include <archetype/dsl/layer.hpp>

namespace archetype {

/// Stochastic depth (Huang et al. 2016, "Deep networks with stochastic depth"; the
/// drop-connect of EfficientNet), as torchvision's `StochasticDepth(p, "row")`: while
/// training, each sample's whole tensor is zeroed with probability P and the others are
/// scaled by 1 / (1 - P); identity at inference. Placed at the end of a residual body it
/// drops that body for the sample. Output: the input shape. Parameters: 0. MACs: 0.
/// Rule: 0 <= P < 1.
template <double P>
struct StochasticDepth {
  using archetype_leaf = detail::leaf_tag;
  static consteval detail::BrokenRule check(Shape) {
    if (!(P >= 0.0 && P < 1.0)) return {.rule = detail::Rule::stochastic_depth_probability, .p = P};
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
    row.op = LayerKind::stochastic_depth;
    row.kind = "StochasticDepth";
    row.p = P;
    // "p 0.0125": four decimals, trailing zeros dropped.
    const std::int64_t ten_thousandths = std::int64_t(P * 10000 + 0.5);
    row.attributes.append("p ").append(ten_thousandths / 10000).append(".");
    std::int64_t frac = ten_thousandths % 10000;
    int digits = 4;
    while (digits > 1 && frac % 10 == 0) {
      frac /= 10;
      --digits;
    }
    for (std::int64_t bound = 10, k = 1; k < digits; ++k, bound *= 10) {
      if (frac < bound) row.attributes.append("0");  // leading zeros of the fraction
    }
    row.attributes.append(frac);
    row.view = true;
    return row;
  }
};

/// The same layer under the name timm and EfficientNet's code use.
template <double P>
using DropPath = StochasticDepth<P>;

}  // namespace archetype
