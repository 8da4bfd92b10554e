#pragma once
/// \file
/// \brief Every rule a net's layers are checked against, as the compile error a user reads.
///
/// `Net` finds the first broken rule (`detail::Violation`) and instantiates the error type
/// of that rule from its own body, so the error comes a few lines from the top of the
/// compiler's output. The type's arguments are the layer's path, as `archetype describe`
/// prints it, and the values involved, labelled:
///
///     error: static assertion failed due to requirement 'rule_holds<archetype::error::at<9>{
///     "block.add"}, archetype::error::body_output{32, 16, 16},
///     archetype::error::shortcut_output{16, 32, 32}>': archetype: Residual body output shape
///     differs from shortcut output shape
///
/// (clang prints them in the error line, g++ in the "In instantiation of" line above it and
/// in the note below it).

#include <archetype/dsl/detail/violation.hpp>

#include <cstddef>
#include <type_traits>

namespace archetype::error {

/// The layer's path (`layer3.0.conv1`), a string the compilers print as such.
template <std::size_t N>
struct at {
  char path[N]{};
  consteval explicit at(const char* text) {
    // Every element written, the terminating zero too: clang prints the argument as a
    // string only when the last element it stores is a zero (otherwise as numbers).
    for (std::size_t i = 0; i < N; ++i) path[i] = i + 1 < N ? text[i] : '\0';
  }
};

/// A type's name, for a type found where a layer was expected.
template <std::size_t N>
struct type {
  char name[N]{};
  consteval explicit type(const char* text) {
    for (std::size_t i = 0; i < N; ++i) name[i] = i + 1 < N ? text[i] : '\0';
  }
};

// Labels of the values, so that an error reads `input{16, 32, 32}, groups{3}`.
struct input {
  int c, h, w;
};
struct output {
  int c, h, w;
};
struct body_output {
  int c, h, w;
};
struct shortcut_output {
  int c, h, w;
};
struct gate_output {
  int c, h, w;
};
template <int Branch>
struct branch_output {
  int c, h, w;
};
struct kernel {
  int h, w;
};
struct stride {
  int h, w;
};
struct padding {
  int h, w;
};
struct size {
  int h, w;
};
struct groups {
  int value;
};
struct out_channels {
  int value;
};
struct channels {
  int value;
};
struct squeeze {
  int value;
};
struct reduction {
  int value;
};
struct count {
  int value;
};
struct classes {
  int value;
};
struct out_features {
  int value;
};
struct probability {
  double value;
};
struct beta {
  double value;
};

/// False for every argument: what each error's `static_assert` claims.
template <auto Where, auto... Values>
inline constexpr bool rule_holds = false;

// One type per rule; the sentence is the static_assert's message.
template <auto W, auto... V>
struct InputSizesNotPositive {
  static_assert(rule_holds<W, V...>, "archetype: Input shape sizes must be positive");
};
template <auto W, auto... V>
struct NetOutputNotClasses {
  static_assert(rule_holds<W, V...>,
                "archetype: Net output is not a vector of Classes scores (Classes x 1 x 1)");
};
template <auto W, auto... V>
struct ConvOutChannelsNotPositive {
  static_assert(rule_holds<W, V...>, "archetype: Conv output channels must be positive");
};
template <auto W, auto... V>
struct ConvKernelNotPositive {
  static_assert(rule_holds<W, V...>, "archetype: Conv kernel size must be positive");
};
template <auto W, auto... V>
struct ConvStrideNotPositive {
  static_assert(rule_holds<W, V...>, "archetype: Conv stride must be positive");
};
template <auto W, auto... V>
struct ConvPaddingNegative {
  static_assert(rule_holds<W, V...>, "archetype: Conv padding must not be negative");
};
template <auto W, auto... V>
struct ConvGroupsNotPositive {
  static_assert(rule_holds<W, V...>, "archetype: Conv groups must be positive");
};
template <auto W, auto... V>
struct ConvGroupsNotDividingInput {
  static_assert(rule_holds<W, V...>, "archetype: Conv groups must divide the input channels");
};
template <auto W, auto... V>
struct ConvGroupsNotDividingOutput {
  static_assert(rule_holds<W, V...>, "archetype: Conv groups must divide the output channels");
};
template <auto W, auto... V>
struct ConvKernelTooLarge {
  static_assert(rule_holds<W, V...>, "archetype: Conv kernel is larger than its padded input");
};
template <auto W, auto... V>
struct DepthwiseChannelsNotPositive {
  static_assert(rule_holds<W, V...>, "archetype: DepthwiseConv channels must be positive");
};
template <auto W, auto... V>
struct DepthwiseChannelsDiffer {
  static_assert(rule_holds<W, V...>,
                "archetype: DepthwiseConv groups (its channels) differ from its input channels");
};
template <auto W, auto... V>
struct PoolKernelNotPositive {
  static_assert(rule_holds<W, V...>, "archetype: pooling kernel size must be positive");
};
template <auto W, auto... V>
struct PoolStrideNotPositive {
  static_assert(rule_holds<W, V...>, "archetype: pooling stride must be positive");
};
template <auto W, auto... V>
struct PoolPaddingOutOfRange {
  static_assert(rule_holds<W, V...>,
                "archetype: pooling padding must be between 0 and half the kernel");
};
template <auto W, auto... V>
struct PoolWindowTooLarge {
  static_assert(rule_holds<W, V...>, "archetype: pooling window is larger than its padded input");
};
template <auto W, auto... V>
struct LinearOutNotPositive {
  static_assert(rule_holds<W, V...>, "archetype: Linear output features must be positive");
};
template <auto W, auto... V>
struct LinearInputNotFlat {
  static_assert(rule_holds<W, V...>,
                "archetype: Linear needs a flat input (C x 1 x 1); put "
                "Flatten or GlobalAvgPool before it");
};
template <auto W, auto... V>
struct DropoutProbabilityOutOfRange {
  static_assert(rule_holds<W, V...>, "archetype: Dropout probability must be in [0, 1)");
};
template <auto W, auto... V>
struct StochasticDepthProbabilityOutOfRange {
  static_assert(rule_holds<W, V...>, "archetype: StochasticDepth probability must be in [0, 1)");
};
template <auto W, auto... V>
struct LocalResponseNormSizeNotPositive {
  static_assert(rule_holds<W, V...>, "archetype: LocalResponseNorm size must be positive");
};
template <auto W, auto... V>
struct LocalResponseNormBetaNotPositive {
  static_assert(rule_holds<W, V...>, "archetype: LocalResponseNorm beta must be positive");
};
template <auto W, auto... V>
struct AdaptiveAvgPoolSizeNotPositive {
  static_assert(rule_holds<W, V...>, "archetype: AdaptiveAvgPool output size must be positive");
};
template <auto W, auto... V>
struct ResizeSizeNotPositive {
  static_assert(rule_holds<W, V...>, "archetype: Resize output size must be positive");
};
template <auto W, auto... V>
struct PadToShrinks {
  static_assert(rule_holds<W, V...>, "archetype: PadTo cannot shrink its input");
};
template <auto W, auto... V>
struct ZeroPadShortcutStrideNotPositive {
  static_assert(rule_holds<W, V...>, "archetype: ZeroPadShortcut stride must be positive");
};
template <auto W, auto... V>
struct ZeroPadShortcutChannels {
  static_assert(rule_holds<W, V...>,
                "archetype: ZeroPadShortcut pads channels with zeros on both sides: Out must be "
                "at least the input channels, and the difference even");
};
template <auto W, auto... V>
struct RepeatCountNotPositive {
  static_assert(rule_holds<W, V...>, "archetype: Repeat count must be positive");
};
template <auto W, auto... V>
struct ResidualShapesDiffer {
  static_assert(rule_holds<W, V...>,
                "archetype: Residual body output shape differs from shortcut output shape");
};
template <auto W, auto... V>
struct ConcatSpatialSizesDiffer {
  static_assert(rule_holds<W, V...>, "archetype: Concat branches produce different spatial sizes");
};
template <auto W, auto... V>
struct ScaleGateNotPooled {
  static_assert(rule_holds<W, V...>,
                "archetype: the gate of Scale must end at 1x1 (one value per channel)");
};
template <auto W, auto... V>
struct ScaleGateChannelsDiffer {
  static_assert(rule_holds<W, V...>,
                "archetype: Scale gate output channels differ from the tensor they scale");
};
template <auto W, auto... V>
struct SqueezeChannelsOutOfRange {
  static_assert(rule_holds<W, V...>,
                "archetype: SqueezeExcitation squeeze channels must be in [1, Channels]");
};
template <auto W, auto... V>
struct SEReductionNotDividing {
  static_assert(rule_holds<W, V...>, "archetype: SE reduction must divide the channels");
};

template <auto W, auto... V>
struct NotALayer {
  static_assert(rule_holds<W, V...>,
                "archetype: not a layer or a combinator, where a Net, Seq, Residual, Concat, "
                "Scale, Repeat or Named expects one");
};
template <auto W, auto... V>
struct PathTooLong {
  static_assert(rule_holds<W, V...>,
                "archetype: a layer path is longer than 63 characters, "
                "shorten the Named names on it");
};
template <auto W, auto... V>
struct SeqEmpty {
  static_assert(rule_holds<W, V...>, "archetype: Seq needs at least one layer");
};
template <auto W, auto... V>
struct ConcatEmpty {
  static_assert(rule_holds<W, V...>, "archetype: Concat needs at least one branch");
};

}  // namespace archetype::error

namespace archetype::detail {

/// What a valid net reports: nothing.
struct no_error {};

/// The error type of net `N`'s first violation, its arguments the path and the labelled
/// values. (The violation is read here rather than passed as a template argument: g++ 12
/// crashes on a class-type argument computed by a call.)
template <class N>
consteval auto error_for() {
  using enum Rule;
  namespace e = archetype::error;
  constexpr Violation found = N::violation();
  constexpr BrokenRule V = found.what;
  constexpr std::size_t length = found.path.size + 1;
  constexpr e::at<length> w(found.path.data);
  constexpr int i0 = V.values[0], i1 = V.values[1], i2 = V.values[2], i3 = V.values[3];
  constexpr e::input in{V.first.c, V.first.h, V.first.w};
  constexpr Shape a = V.first, b = V.second;
  if constexpr (V.rule == none) {
    return std::type_identity<no_error>{};
  } else if constexpr (V.rule == input_sizes_positive) {
    return std::type_identity<e::InputSizesNotPositive<w, in>>{};
  } else if constexpr (V.rule == net_classes) {
    return std::type_identity<
        e::NetOutputNotClasses<w, e::output{a.c, a.h, a.w}, e::classes{i0}>>{};
  } else if constexpr (V.rule == conv_out_channels_positive) {
    return std::type_identity<e::ConvOutChannelsNotPositive<w, e::out_channels{i0}>>{};
  } else if constexpr (V.rule == conv_kernel_positive) {
    return std::type_identity<e::ConvKernelNotPositive<w, e::kernel{i0, i1}>>{};
  } else if constexpr (V.rule == conv_stride_positive) {
    return std::type_identity<e::ConvStrideNotPositive<w, e::stride{i0, i1}>>{};
  } else if constexpr (V.rule == conv_padding_not_negative) {
    return std::type_identity<e::ConvPaddingNegative<w, e::padding{i0, i1}>>{};
  } else if constexpr (V.rule == conv_groups_positive) {
    return std::type_identity<e::ConvGroupsNotPositive<w, e::groups{i0}>>{};
  } else if constexpr (V.rule == conv_groups_divide_input) {
    return std::type_identity<e::ConvGroupsNotDividingInput<w, in, e::groups{i0}>>{};
  } else if constexpr (V.rule == conv_groups_divide_output) {
    return std::type_identity<
        e::ConvGroupsNotDividingOutput<w, e::out_channels{i0}, e::groups{i1}>>{};
  } else if constexpr (V.rule == conv_kernel_too_large) {
    return std::type_identity<
        e::ConvKernelTooLarge<w, in, e::kernel{i0, i1}, e::padding{i2, i3}>>{};
  } else if constexpr (V.rule == depthwise_channels_positive) {
    return std::type_identity<e::DepthwiseChannelsNotPositive<w, e::channels{i0}>>{};
  } else if constexpr (V.rule == depthwise_channels_differ) {
    return std::type_identity<e::DepthwiseChannelsDiffer<w, in, e::channels{i0}>>{};
  } else if constexpr (V.rule == pool_kernel_positive) {
    return std::type_identity<e::PoolKernelNotPositive<w, e::kernel{i0, i0}>>{};
  } else if constexpr (V.rule == pool_stride_positive) {
    return std::type_identity<e::PoolStrideNotPositive<w, e::stride{i0, i0}>>{};
  } else if constexpr (V.rule == pool_padding_range) {
    return std::type_identity<e::PoolPaddingOutOfRange<w, e::kernel{i0, i0}, e::padding{i1, i1}>>{};
  } else if constexpr (V.rule == pool_window_too_large) {
    return std::type_identity<
        e::PoolWindowTooLarge<w, in, e::kernel{i0, i0}, e::padding{i1, i1}>>{};
  } else if constexpr (V.rule == linear_out_positive) {
    return std::type_identity<e::LinearOutNotPositive<w, e::out_features{i0}>>{};
  } else if constexpr (V.rule == linear_not_flat) {
    return std::type_identity<e::LinearInputNotFlat<w, in, e::out_features{i0}>>{};
  } else if constexpr (V.rule == dropout_probability) {
    return std::type_identity<e::DropoutProbabilityOutOfRange<w, e::probability{V.p}>>{};
  } else if constexpr (V.rule == stochastic_depth_probability) {
    return std::type_identity<e::StochasticDepthProbabilityOutOfRange<w, e::probability{V.p}>>{};
  } else if constexpr (V.rule == lrn_size_positive) {
    return std::type_identity<e::LocalResponseNormSizeNotPositive<w, e::size{i0, i0}>>{};
  } else if constexpr (V.rule == lrn_beta_positive) {
    return std::type_identity<e::LocalResponseNormBetaNotPositive<w, e::beta{V.p}>>{};
  } else if constexpr (V.rule == adaptive_size_positive) {
    return std::type_identity<e::AdaptiveAvgPoolSizeNotPositive<w, e::size{i0, i1}>>{};
  } else if constexpr (V.rule == resize_size_positive) {
    return std::type_identity<e::ResizeSizeNotPositive<w, e::size{i0, i1}>>{};
  } else if constexpr (V.rule == pad_to_shrinks) {
    return std::type_identity<e::PadToShrinks<w, in, e::size{i0, i1}>>{};
  } else if constexpr (V.rule == zero_pad_stride_positive) {
    return std::type_identity<e::ZeroPadShortcutStrideNotPositive<w, e::stride{i0, i0}>>{};
  } else if constexpr (V.rule == zero_pad_channels) {
    return std::type_identity<e::ZeroPadShortcutChannels<w, in, e::out_channels{i0}>>{};
  } else if constexpr (V.rule == repeat_count_positive) {
    return std::type_identity<e::RepeatCountNotPositive<w, e::count{i0}>>{};
  } else if constexpr (V.rule == residual_shapes_differ) {
    return std::type_identity<e::ResidualShapesDiffer<w, e::body_output{a.c, a.h, a.w},
                                                      e::shortcut_output{b.c, b.h, b.w}>>{};
  } else if constexpr (V.rule == concat_spatial_sizes_differ) {
    return std::type_identity<e::ConcatSpatialSizesDiffer<w, e::branch_output<1>{a.c, a.h, a.w},
                                                          e::branch_output<i1>{b.c, b.h, b.w}>>{};
  } else if constexpr (V.rule == scale_gate_not_pooled) {
    return std::type_identity<e::ScaleGateNotPooled<w, in, e::gate_output{b.c, b.h, b.w}>>{};
  } else if constexpr (V.rule == scale_gate_channels_differ) {
    return std::type_identity<e::ScaleGateChannelsDiffer<w, in, e::gate_output{b.c, b.h, b.w}>>{};
  } else if constexpr (V.rule == squeeze_channels_range) {
    return std::type_identity<
        e::SqueezeChannelsOutOfRange<w, in, e::channels{i0}, e::squeeze{i1}>>{};
  } else if constexpr (V.rule == not_a_layer) {
    constexpr std::size_t type_length = found.type.size + 1;
    return std::type_identity<e::NotALayer<w, e::type<type_length>(found.type.data)>>{};
  } else if constexpr (V.rule == seq_empty) {
    return std::type_identity<e::SeqEmpty<w>>{};
  } else if constexpr (V.rule == concat_empty) {
    return std::type_identity<e::ConcatEmpty<w>>{};
  } else {
    static_assert(V.rule == se_reduction_not_dividing, "archetype: a rule without an error type");
    return std::type_identity<
        e::SEReductionNotDividing<w, in, e::channels{i0}, e::reduction{i1}>>{};
  }
}

/// Instantiating it raises the error of net `N`'s first violation (nothing for a valid net,
/// whose violation is not even looked for).
template <bool Valid, class N>
struct report {
  using type = no_error;
};
template <class N>
struct report<false, N> {
  using type = typename decltype(error_for<N>())::type;
};
template <class N>
using report_t = typename report<N::valid, N>::type;

}  // namespace archetype::detail
