#pragma once
/// \file
/// \brief Depthwise and separable convolutions: `DepthwiseConv` (MobileNet, EfficientNet),
/// `SeparableConv` (Xception).

#include <archetype/dsl/conv.hpp>
#include <archetype/dsl/named.hpp>
#include <archetype/dsl/seq.hpp>

namespace archetype {

namespace detail {
/// A depthwise K x K convolution over however many channels its input has (groups =
/// channels, one filter per channel, no bias): the first half of `SeparableConv`.
template <int K, int Stride, int Pad>
struct DepthwiseOf {
  using archetype_leaf = leaf_tag;
  template <Shape In>
  using core = ConvCore<In.c, K, K, Stride, Stride, Pad, Pad, In.c, false>;
  /// The convolution's rules that can fail here (kernel, stride, padding, size): its
  /// channels and groups are the input's.
  static consteval BrokenRule check(Shape in) {
    BrokenRule broken =
        ConvCore<1, K, K, Stride, Stride, Pad, Pad, 1, false>::check(Shape{1, in.h, in.w});
    if (broken.broken()) broken.first = in;
    return broken;
  }
  template <Shape in>
  static consteval Shape output_shape() {
    if constexpr (poisoned(in)) {
      return poisoned_shape;
    } else {
      return core<in>::template output_shape<in>();
    }
  }
  template <Shape In>
  static consteval LayerRow describe() { return core<In>::template describe<In>(); }
};
}  // namespace detail

/// Depthwise convolution (Howard et al. 2017; Sandler et al. 2018): one K x K filter per
/// channel, `groups == Channels`. Output: `Channels x ((H + 2P - K) / S + 1) x …`,
/// P = (K - 1) / 2 when `Pad == same`. Parameters: `Channels * K * K` (+ `Channels` with
/// `Bias`). MACs per image: `out.h * out.w * Channels * K * K`.
/// Rules: as `Conv`, and the input has exactly `Channels` channels (a depthwise
/// convolution's groups are its channels).
template <int Channels, int K, int Stride = 1, int Pad = same, bool Bias = false>
struct DepthwiseConv {
  using archetype_leaf = detail::leaf_tag;
  using core = detail::ConvCore<Channels, K, K, Stride, Stride, Pad, Pad, Channels, Bias>;
  /// Channels positive and equal to the input's, then the convolution's own rules.
  static consteval detail::BrokenRule check(Shape in) {
    using enum detail::Rule;
    if (Channels <= 0) return {.rule = depthwise_channels_positive, .values = {Channels}};
    if (in.c != Channels)
      return {.rule = depthwise_channels_differ, .first = in, .values = {Channels}};
    return core::check(in);
  }
  template <Shape In>
  static consteval Shape output_shape() {
    if constexpr (detail::poisoned(In) || check(In).broken()) {
      return detail::poisoned_shape;
    } else {
      return core::template output_shape<In>();
    }
  }
  template <Shape In>
  static consteval LayerRow describe() { return core::template describe<In>(); }
};

/// Depthwise separable convolution as Keras' `SeparableConv2D` (Chollet 2017, Xception):
/// a depthwise K x K convolution with the stride (channel multiplier 1, no bias), then a
/// pointwise 1x1 convolution to `Out` channels (with the bias when `Bias`). Rows:
/// `<path>.depthwise`, `<path>.pointwise`. Output: `Out x ((H + 2P - K) / S + 1) x …`.
/// Parameters: `C * K * K + Out * C` (+ `Out`).
/// MACs per image: `out.h * out.w * C * (K * K + Out)`.
template <int Out, int K, int Stride = 1, int Pad = same, bool Bias = false>
struct SeparableConv : Seq<Named<"depthwise", detail::DepthwiseOf<K, Stride, Pad>>,
                           Named<"pointwise", Conv1x1<Out, 1, Bias>>> {};

}  // namespace archetype
