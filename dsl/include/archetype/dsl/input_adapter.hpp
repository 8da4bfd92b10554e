#pragma once
/// \file
/// \brief Input adapters: `PadTo<H, W>` and `Resize<H, W>`, declared in front of a net by
/// `Adapted<Net, Data>` so one definition serves other input sizes (Fashion-MNIST).

#include <archetype/dsl/layer.hpp>

namespace archetype {

/// Zero-pads the image symmetrically to H x W (28x28 -> 32x32 pads 2 on each side).
/// Output: `C x H x W`. Parameters: 0. MACs: 0. Rule: H >= in.h, W >= in.w.
template <int H, int W = H>
struct PadTo {
  using archetype_leaf = detail::leaf_tag;
  static consteval detail::BrokenRule check(Shape in) {
    if (H < in.h || W < in.w)
      return {.rule = detail::Rule::pad_to_shrinks, .first = in, .values = {H, W}};
    return {};
  }
  template <Shape In>
  static consteval Shape output_shape() {
    if constexpr (detail::poisoned(In) || H < In.h || W < In.w) {
      return detail::poisoned_shape;
    } else {
      return Shape{In.c, H, W};
    }
  }
  template <Shape In>
  static consteval LayerRow describe() {
    LayerRow row;
    row.op = LayerKind::pad_to;
    row.kind = "PadTo";
    row.attributes.append(std::int64_t{H}).append("x").append(std::int64_t{W});
    return row;
  }
};

/// Bilinear resize to H x W (28x28 -> 224x224 for the ImageNet nets).
/// Output: `C x H x W`. Parameters: 0. MACs: 0. Rule: H, W positive. The receptive field
/// is counted in pixels of the resized image.
template <int H, int W = H>
struct Resize {
  using archetype_leaf = detail::leaf_tag;
  static consteval detail::BrokenRule check(Shape) {
    if (H <= 0 || W <= 0) return {.rule = detail::Rule::resize_size_positive, .values = {H, W}};
    return {};
  }
  template <Shape In>
  static consteval Shape output_shape() {
    if constexpr (detail::poisoned(In) || H <= 0 || W <= 0) {
      return detail::poisoned_shape;
    } else {
      return Shape{In.c, H, W};
    }
  }
  template <Shape In>
  static consteval LayerRow describe() {
    LayerRow row;
    row.op = LayerKind::resize;
    row.kind = "Resize";
    row.attributes.append(std::int64_t{H}).append("x").append(std::int64_t{W});
    return row;
  }
};

}  // namespace archetype
