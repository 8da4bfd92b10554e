#pragma once
/// \file
/// \brief `LocalResponseNorm` across channels (Krizhevsky et al. 2012).

#include <archetype/dsl/layer.hpp>

namespace archetype {

/// b = a / (K + Alpha / Size * sum over Size neighbouring channels of a^2)^Beta, with
/// PyTorch's convention of dividing Alpha by Size. Defaults are AlexNet's (n = 5,
/// alpha = 1e-4, beta = 0.75, k = 2). Output: the input shape. Parameters: 0. MACs: 0.
template <int Size = 5, double Alpha = 1e-4, double Beta = 0.75, double K = 2.0>
struct LocalResponseNorm {
  using archetype_leaf = detail::leaf_tag;
  static consteval detail::BrokenRule check(Shape) {
    if (Size <= 0) return {.rule = detail::Rule::lrn_size_positive, .values = {Size}};
    if (!(Beta > 0.0)) return {.rule = detail::Rule::lrn_beta_positive, .p = Beta};
    return {};
  }
  template <Shape In>
  static consteval Shape output_shape() {
    if constexpr (Size <= 0 || !(Beta > 0.0)) {
      return detail::poisoned_shape;
    } else {
      return In;
    }
  }
  template <Shape In>
  static consteval LayerRow describe() {
    LayerRow row;
    row.op = LayerKind::local_response_norm;
    row.kind = "LRN";
    row.alpha = Alpha;
    row.beta = Beta;
    row.k = K;
    row.lrn_size = Size;
    row.attributes.append("size ").append(std::int64_t{Size});
    return row;
  }
};

}  // namespace archetype
