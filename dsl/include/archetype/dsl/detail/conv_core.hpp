#pragma once
/// \file
/// \brief The convolution every Conv spelling (square, 3x3, 1x1, KxL) shares.

#include <archetype/dsl/layer.hpp>

namespace archetype {

/// Padding that keeps the spatial size at stride 1 for odd kernels: (K - 1) / 2.
inline constexpr int same = -1;

namespace detail {

template <int Out, int Kh, int Kw, int Sh, int Sw, int Ph, int Pw, int Groups, bool Bias>
struct ConvCore {
  using archetype_leaf = leaf_tag;
  static constexpr int pad_h = Ph == same ? (Kh - 1) / 2 : Ph;
  static constexpr int pad_w = Pw == same ? (Kw - 1) / 2 : Pw;

  /// The first broken rule, if any: sizes positive, padding not negative, groups dividing
  /// both channel counts, the kernel no larger than the padded input.
  static consteval BrokenRule check(Shape in) {
    using enum Rule;
    if (Out <= 0) return {.rule = conv_out_channels_positive, .values = {Out}};
    if (Kh <= 0 || Kw <= 0) return {.rule = conv_kernel_positive, .values = {Kh, Kw}};
    if (Sh <= 0 || Sw <= 0) return {.rule = conv_stride_positive, .values = {Sh, Sw}};
    if (pad_h < 0 || pad_w < 0) {
      return {.rule = conv_padding_not_negative, .values = {pad_h, pad_w}};
    }
    if (Groups <= 0) return {.rule = conv_groups_positive, .values = {Groups}};
    if (in.c % Groups != 0)
      return {.rule = conv_groups_divide_input, .first = in, .values = {Groups}};
    if (Out % Groups != 0) return {.rule = conv_groups_divide_output, .values = {Out, Groups}};
    if (Kh > in.h + 2 * pad_h || Kw > in.w + 2 * pad_w) {
      return {.rule = conv_kernel_too_large, .first = in, .values = {Kh, Kw, pad_h, pad_w}};
    }
    return {};
  }

  template <Shape In>
  static consteval Shape output_shape() {
    if constexpr (poisoned(In) || check(In).broken()) {
      return poisoned_shape;
    } else {
      return Shape{Out, (In.h + 2 * pad_h - Kh) / Sh + 1, (In.w + 2 * pad_w - Kw) / Sw + 1};
    }
  }

  /// params = Out * (In.c / Groups) * Kh * Kw (+ Out with bias);
  /// MACs = out.h * out.w * Out * (In.c / Groups) * Kh * Kw.
  template <Shape In>
  static consteval LayerRow describe() {
    constexpr Shape out = output_shape<In>();
    constexpr std::int64_t per_output = std::int64_t{In.c / Groups} * Kh * Kw;
    LayerRow row;
    row.op = LayerKind::conv;
    row.kind = "Conv";
    row.attributes.append(std::int64_t{Kh}).append("x").append(std::int64_t{Kw});
    if (Sh == Sw) {
      row.attributes.append(" s").append(std::int64_t{Sh});
    } else {
      row.attributes.append(" s").append(std::int64_t{Sh}).append("x").append(std::int64_t{Sw});
    }
    if (pad_h == pad_w) {
      row.attributes.append(" p").append(std::int64_t{pad_h});
    } else {
      row.attributes.append(" p").append(std::int64_t{pad_h}).append("x").append(std::int64_t{pad_w});
    }
    if (Groups != 1) row.attributes.append(" g").append(std::int64_t{Groups});
    if (Bias) row.attributes.append(" +bias");
    row.params = Out * per_output + (Bias ? Out : 0);
    row.macs = out.elements() * per_output;
    row.kernel_h = Kh;
    row.kernel_w = Kw;
    row.stride_h = Sh;
    row.stride_w = Sw;
    row.pad_h = pad_h;
    row.pad_w = pad_w;
    row.groups = Groups;
    row.bias = Bias;
    return row;
  }
};

}  // namespace detail
}  // namespace archetype
