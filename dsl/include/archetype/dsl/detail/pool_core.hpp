#pragma once
/// \file
/// \brief The windowed pooling MaxPool and AvgPool share.

#include <archetype/dsl/layer.hpp>

namespace archetype::detail {

/// Output size of a pooling window, PyTorch's rule (ceil mode: the last window must start
/// inside the input or its left padding).
constexpr int pooled_size(int in, int k, int s, int p, bool ceil_mode) {
  int span = in + 2 * p - k;
  int out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

template <class Kind, int K, int S, int P, bool Ceil>
struct PoolCore {
  using archetype_leaf = leaf_tag;
  /// The first broken rule, if any: sizes positive, padding at most half the kernel, the
  /// window no larger than the padded input.
  static consteval BrokenRule check(Shape in) {
    using enum Rule;
    if (K <= 0) return {.rule = pool_kernel_positive, .values = {K}};
    if (S <= 0) return {.rule = pool_stride_positive, .values = {S}};
    if (P < 0 || 2 * P > K) return {.rule = pool_padding_range, .values = {K, P}};
    if (K > in.h + 2 * P || K > in.w + 2 * P) {
      return {.rule = pool_window_too_large, .first = in, .values = {K, P}};
    }
    return {};
  }

  template <Shape In>
  static consteval Shape output_shape() {
    if constexpr (poisoned(In) || check(In).broken()) {
      return poisoned_shape;
    } else {
      return Shape{In.c, pooled_size(In.h, K, S, P, Ceil), pooled_size(In.w, K, S, P, Ceil)};
    }
  }
  template <Shape In>
  static consteval LayerRow describe() {
    LayerRow row;
    row.op = Kind::op;
    row.kind = Kind::name;
    row.attributes.append(std::int64_t{K}).append("x").append(std::int64_t{K});
    row.attributes.append(" s").append(std::int64_t{S}).append(" p").append(std::int64_t{P});
    if (Ceil) row.attributes.append(" ceil");
    row.kernel_h = row.kernel_w = K;
    row.stride_h = row.stride_w = S;
    row.pad_h = row.pad_w = P;
    row.ceil_mode = Ceil;
    return row;
  }
};

struct max_pool_name {
  static constexpr std::string_view name = "MaxPool";
  static constexpr LayerKind op = LayerKind::max_pool;
};
struct avg_pool_name {
  static constexpr std::string_view name = "AvgPool";
  static constexpr LayerKind op = LayerKind::avg_pool;
};

}  // namespace archetype::detail
