#pragma once
/// \file
/// \brief `Flatten`: C x H x W becomes (C*H*W) x 1 x 1.

#include <archetype/dsl/layer.hpp>

namespace archetype {

/// Flattens one image's tensor into a feature vector (a view; no copy).
/// Output: `(C * H * W) x 1 x 1`. Parameters: 0. MACs: 0.
struct Flatten {
  using archetype_leaf = detail::leaf_tag;
  template <Shape In>
  static consteval Shape output_shape() {
    return detail::poisoned(In) ? In : Shape{In.c * In.h * In.w, 1, 1};
  }
  template <Shape In>
  static consteval LayerRow describe() {
    LayerRow row;
    row.op = LayerKind::flatten;
    row.kind = "Flatten";
    row.global = true;
    row.view = true;
    return row;
  }
};

}  // namespace archetype
