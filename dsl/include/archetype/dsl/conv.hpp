#pragma once
/// \file
/// \brief Convolutions: `Conv`, `Conv3x3`, `Conv1x1`, `ConvKxL`.

#include <archetype/dsl/detail/conv_core.hpp>

namespace archetype {

/// 2-D convolution with a square K x K kernel.
///
/// Output: `Out x ((H + 2P - K) / S + 1) x ((W + 2P - K) / S + 1)`, P = (K - 1) / 2 when
/// `Pad == same`. Parameters: `Out * (C / Groups) * K * K` (+ `Out` with `Bias`).
/// MACs per image: `out.h * out.w * Out * (C / Groups) * K * K`.
/// Rules: every size positive, `Groups` divides C and Out, K fits the padded input.
template <int Out, int K, int Stride = 1, int Pad = same, int Groups = 1, bool Bias = false>
struct Conv : detail::ConvCore<Out, K, K, Stride, Stride, Pad, Pad, Groups, Bias> {};

/// 3x3 convolution, padding 1 (keeps the size at stride 1). Formulas as `Conv`.
template <int Out, int Stride = 1, bool Bias = false>
struct Conv3x3 : detail::ConvCore<Out, 3, 3, Stride, Stride, 1, 1, 1, Bias> {};

/// 1x1 (pointwise) convolution, no padding. Parameters `Out * C` (+ bias); MACs
/// `out.h * out.w * Out * C`.
template <int Out, int Stride = 1, bool Bias = false>
struct Conv1x1 : detail::ConvCore<Out, 1, 1, Stride, Stride, 0, 0, 1, Bias> {};

/// Asymmetric Kh x Kw convolution (Inception's 1x7 / 7x1), padding `same` by default in
/// each direction. Output `Out x ((H + 2Ph - Kh) / S + 1) x ((W + 2Pw - Kw) / S + 1)`;
/// parameters `Out * (C / Groups) * Kh * Kw` (+ bias); MACs `out.h * out.w * Out * (C /
/// Groups) * Kh * Kw`.
template <int Out, int Kh, int Kw, int Stride = 1, int PadH = same, int PadW = same,
          int Groups = 1, bool Bias = false>
struct ConvKxL : detail::ConvCore<Out, Kh, Kw, Stride, Stride, PadH, PadW, Groups, Bias> {};

}  // namespace archetype
