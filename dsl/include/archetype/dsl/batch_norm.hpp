#pragma once
/// \file
/// \brief `BatchNorm`: per-channel batch normalization (Ioffe & Szegedy 2015).

#include <archetype/dsl/layer.hpp>

namespace archetype {

/// Batch normalization over N, H, W for each channel.
/// Output: the input shape. Parameters: 2C (gamma, beta). Buffers: 2C (running mean and
/// variance; PyTorch's `num_batches_tracked` counter is not counted). MACs: 0 (not a
/// multiply-accumulate layer; folded into the previous convolution for inference).
struct BatchNorm {
  using archetype_leaf = detail::leaf_tag;
  template <Shape In>
  static consteval Shape output_shape() { return In; }
  template <Shape In>
  static consteval LayerRow describe() {
    LayerRow row;
    row.op = LayerKind::batch_norm;
    row.kind = "BatchNorm";
    row.params = 2 * std::int64_t{In.c};
    row.buffers = 2 * std::int64_t{In.c};
    return row;
  }
};

}  // namespace archetype
