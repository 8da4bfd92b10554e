#pragma once
/// \file
/// \brief `Identity`: the default shortcut of `Residual`.

#include <archetype/dsl/layer.hpp>

namespace archetype {

/// Passes its input through. Output: the input shape. Parameters: 0. MACs: 0. It is a
/// combinator with no children, so it adds no row to the per-layer table.
struct Identity {
  using archetype_block = detail::block_tag;
  template <Shape In>
  static consteval Shape output_shape() { return In; }
  template <Shape In, class Visitor>
  static constexpr void walk(Visitor&, const LayerPath&) {}
};

}  // namespace archetype
