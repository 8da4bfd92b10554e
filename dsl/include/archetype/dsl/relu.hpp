#pragma once
/// \file
/// \brief `ReLU`: max(0, x).

#include <archetype/dsl/layer.hpp>

namespace archetype {

/// Rectified linear unit. Output: the input shape. Parameters: 0. MACs: 0.
struct ReLU {
  using archetype_leaf = detail::leaf_tag;
  template <Shape In>
  static consteval Shape output_shape() { return In; }
  template <Shape In>
  static consteval LayerRow describe() {
    LayerRow row;
    row.op = LayerKind::relu;
    row.kind = "ReLU";
    return row;
  }
};

}  // namespace archetype
