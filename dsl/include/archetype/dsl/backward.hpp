#pragma once
/// \file
/// \brief What each op's backward pass reads of the forward pass, and which ops are views:
/// the one table every figure (`activation_bytes_v`, `describe`, the studies) and every
/// backend's training plan (`codegen::plan_training`) follows.
///
/// The gradient formulas decide it:
/// - Conv and Linear: d(weights) = dy (x) x reads the input x; d(x) = W^T dy reads only the
///   weights. A frozen Conv (no weight gradient) keeps nothing.
/// - BatchNorm (batch statistics): d(x) and d(gamma) both need x-hat, recomputed from x.
/// - LocalResponseNorm, SiLU, MaxPool: d(x) reads the input (MaxPool: where the maxima were).
/// - ReLU, ReLU6, Sigmoid: differentiated from their output (ReLU: y > 0 exactly where
///   x > 0; ReLU6: 0 < y < 6; Sigmoid: y (1 - y)).
/// - Scale (x * gate): d(x) reads the gate, d(gate) reads x.
/// - Add, Concat, the poolings that average, ZeroPadShortcut, PadTo, Resize, Flatten:
///   linear in their input, so nothing. Dropout and StochasticDepth: their masks only.

#include <archetype/dsl/layer.hpp>

namespace archetype {

/// The forward values one op's backward pass reads.
struct BackwardReads {
  bool input_for_data = false;     ///< d(input) reads the first input's value
  bool input_for_weights = false;  ///< d(weights) reads the first input's value
  bool output = false;             ///< the op's own output
  bool every_input = false;        ///< every input (Scale: the tensor and its gate)
};

/// The table (see the file comment).
[[nodiscard]] constexpr BackwardReads backward_reads(LayerKind kind) {
  switch (kind) {
    case LayerKind::conv:
    case LayerKind::linear:
      return {false, true, false, false};
    case LayerKind::batch_norm:
      return {true, true, false, false};
    case LayerKind::local_response_norm:
    case LayerKind::silu:
    case LayerKind::max_pool:
      return {true, false, false, false};
    case LayerKind::relu:
    case LayerKind::relu6:
    case LayerKind::sigmoid:
      return {false, false, true, false};
    case LayerKind::scale:
      return {false, false, false, true};
    case LayerKind::dropout:
    case LayerKind::avg_pool:
    case LayerKind::global_avg_pool:
    case LayerKind::adaptive_avg_pool:
    case LayerKind::flatten:
    case LayerKind::zero_pad_shortcut:
    case LayerKind::pad_to:
    case LayerKind::resize:
    case LayerKind::add:
    case LayerKind::concat:
    case LayerKind::stochastic_depth:
      return {};
  }
  return {};
}

/// Whether a layer's output is its input unchanged, sharing its memory, in training:
/// Flatten (NCHW order is the flat order), an AdaptiveAvgPool to the same size, a Dropout or
/// StochasticDepth whose probability is 0. With masks drawn (`dropout`), a Dropout with
/// p > 0 writes a new tensor in training; at inference every `LayerRow::view` is a view.
[[nodiscard]] constexpr bool training_view(const LayerRow& row, bool dropout = true) {
  switch (row.op) {
    case LayerKind::dropout:
    case LayerKind::stochastic_depth:
      return !dropout || row.p == 0.0;
    default:
      return row.view;
  }
}

}  // namespace archetype
