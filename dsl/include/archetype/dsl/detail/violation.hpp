#pragma once
/// \file
/// \brief `Violation`: a broken rule as a value (which rule, the values involved and, once
/// found by the diagnosis walk, the layer's path). `dsl/errors.hpp` turns it into the one
/// compile error a user reads.
///
/// Why values and not a `static_assert` where the rule fails: the layer that breaks a rule
/// does not know its path, and an error raised deep inside the shape computation comes
/// after one "required from" line per level of nesting (3-8 KB for a ResNet). So a layer
/// only returns a poisoned shape; `Net` then looks for the first violation (walking only
/// the branch that is poisoned) and reports it from its own body, a few lines from the top.

#include <archetype/dsl/detail/text.hpp>
#include <archetype/dsl/shape.hpp>

#include <cstddef>
#include <string_view>

namespace archetype::detail {

/// Every rule a layer or combinator checks where it meets its input shape (the sentence of
/// each is in `dsl/errors.hpp`).
enum class Rule : unsigned char {
  none,
  input_sizes_positive,
  net_classes,
  conv_out_channels_positive,
  conv_kernel_positive,
  conv_stride_positive,
  conv_padding_not_negative,
  conv_groups_positive,
  conv_groups_divide_input,
  conv_groups_divide_output,
  conv_kernel_too_large,
  depthwise_channels_positive,
  depthwise_channels_differ,
  pool_kernel_positive,
  pool_stride_positive,
  pool_padding_range,
  pool_window_too_large,
  linear_out_positive,
  linear_not_flat,
  dropout_probability,
  stochastic_depth_probability,
  lrn_size_positive,
  lrn_beta_positive,
  adaptive_size_positive,
  resize_size_positive,
  pad_to_shrinks,
  zero_pad_stride_positive,
  zero_pad_channels,
  repeat_count_positive,
  residual_shapes_differ,
  concat_spatial_sizes_differ,
  scale_gate_not_pooled,
  scale_gate_channels_differ,
  squeeze_channels_range,
  se_reduction_not_dividing,
  not_a_layer,
  seq_empty,
  concat_empty,
};

/// A broken rule as a layer's `check(in)` reports it: `rule` and the shapes and numbers
/// it involves (their meaning is the rule's, see `dsl/errors.hpp`). Small on purpose: every
/// layer computes one for every input shape it meets.
struct BrokenRule {
  Rule rule = Rule::none;
  Shape first{};    ///< usually the input shape
  Shape second{};   ///< the other shape of a join (shortcut, branch, gate)
  int values[4]{};  ///< the layer's own numbers (kernel, padding, groups, …)
  double p = 0.0;   ///< a probability (Dropout, StochasticDepth) or LRN's beta

  [[nodiscard]] constexpr bool broken() const { return rule != Rule::none; }
};

/// A broken rule and the path of the layer that broke it, as the diagnosis walk finds it.
struct Violation {
  BrokenRule what{};
  Text<64> path{};
  Text<160> type{};  ///< `Rule::not_a_layer`: the type found where a layer was expected

  [[nodiscard]] constexpr bool broken() const { return what.broken(); }
};

/// The name of type `T` as the compiler spells it (from `__PRETTY_FUNCTION__`: g++ writes
/// `[with T = X; …]`, clang `[T = X]`), so that an error can print a type it cannot take
/// as a template argument.
template <class T>
consteval std::string_view type_name() {
  const std::string_view function = __PRETTY_FUNCTION__;
  const std::size_t start = function.find("T = ") + 4;
  std::size_t end = function.find(';', start);
  if (end == std::string_view::npos) end = function.rfind(']');
  return function.substr(start, end - start);
}

/// `T` stands where a layer or a combinator is expected.
template <class T>
constexpr Violation not_a_layer(const Text<64>& path) {
  return {{.rule = Rule::not_a_layer}, path, type_name<T>()};
}

}  // namespace archetype::detail
