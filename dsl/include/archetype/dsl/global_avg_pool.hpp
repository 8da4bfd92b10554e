#pragma once
/// \file
/// \brief `GlobalAvgPool`: the mean of each channel.

#include <archetype/dsl/layer.hpp>

namespace archetype {

/// Averages each channel over H x W. Output: `C x 1 x 1`. Parameters: 0. MACs: 0.
struct GlobalAvgPool {
  using archetype_leaf = detail::leaf_tag;
  template <Shape In>
  static consteval Shape output_shape() { return detail::poisoned(In) ? In : Shape{In.c, 1, 1}; }
  template <Shape In>
  static consteval LayerRow describe() {
    LayerRow row;
    row.op = LayerKind::global_avg_pool;
    row.kind = "GlobalAvgPool";
    row.global = true;
    return row;
  }
};

}  // namespace archetype
