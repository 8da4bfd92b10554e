#pragma once
/// \file
/// \brief `ZeroPadShortcut<Out, Stride>`: the parameter-free "option A" shortcut.

#include <archetype/dsl/layer.hpp>

namespace archetype {

/// He et al. 2016 (CIFAR experiments, option A): the identity subsampled with stride S
/// (x[:, :, \::S, \::S]) and zero-padded from C to Out channels, (Out - C) / 2 on each side.
/// Output: `Out x ceil(H / S) x ceil(W / S)`. Parameters: 0. MACs: 0.
/// Rules: Out >= C, (Out - C) even, S positive.
template <int Out, int Stride = 2>
struct ZeroPadShortcut {
  using archetype_leaf = detail::leaf_tag;
  static consteval detail::BrokenRule check(Shape in) {
    if (Stride <= 0) return {.rule = detail::Rule::zero_pad_stride_positive, .values = {Stride}};
    if (Out < in.c || (Out - in.c) % 2 != 0) {
      return {.rule = detail::Rule::zero_pad_channels, .first = in, .values = {Out}};
    }
    return {};
  }
  template <Shape In>
  static consteval Shape output_shape() {
    if constexpr (detail::poisoned(In) || check(In).broken()) {
      return detail::poisoned_shape;
    } else {
      return Shape{Out, (In.h + Stride - 1) / Stride, (In.w + Stride - 1) / Stride};
    }
  }
  template <Shape In>
  static consteval LayerRow describe() {
    LayerRow row;
    row.op = LayerKind::zero_pad_shortcut;
    row.kind = "ShortcutA";
    row.attributes.append("s").append(std::int64_t{Stride}).append(" pad+").append(std::int64_t{Out - In.c});
    row.stride_h = row.stride_w = Stride;
    return row;
  }
};

}  // namespace archetype
