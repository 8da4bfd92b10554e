#pragma once
/// \file
/// \brief `AdaptiveAvgPool<H, W>`: PyTorch's AdaptiveAvgPool2d.

#include <archetype/dsl/layer.hpp>

namespace archetype {

/// Averages into an H x W grid whatever the input size (bin i spans
/// [floor(i * in / H), ceil((i + 1) * in / H)) ), as torchvision's AlexNet and VGG heads.
/// Output: `C x H x W`. Parameters: 0. MACs: 0. When the input is already H x W it is the
/// identity; otherwise it ends the receptive field like a global pooling.
template <int H, int W = H>
struct AdaptiveAvgPool {
  using archetype_leaf = detail::leaf_tag;
  static consteval detail::BrokenRule check(Shape) {
    if (H <= 0 || W <= 0) return {.rule = detail::Rule::adaptive_size_positive, .values = {H, W}};
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
    row.op = LayerKind::adaptive_avg_pool;
    row.kind = "AdaptiveAvgPool";
    row.attributes.append(std::int64_t{H}).append("x").append(std::int64_t{W});
    row.global = !(In.h == H && In.w == W);
    row.view = In.h == H && In.w == W;
    return row;
  }
};

}  // namespace archetype
