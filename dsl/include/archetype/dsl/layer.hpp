#pragma once
/// \file
/// \brief What every layer and combinator shares: the per-layer table row, the walk that
/// visits a net in execution order, and the public concepts `Layer`, `Block`, `Network`.
///
/// A *leaf* layer (Conv, BatchNorm, ReLU, …) is a struct with two static member templates:
///   - `output_shape<In>()`: the output shape, or `detail::poisoned_shape` when one of its
///     rules fails (later layers then stay silent);
///   - `check(in)` (leaves with rules): the first broken rule as a `detail::BrokenRule`,
///     reported by `Net` with the layer's path (`dsl/errors.hpp`). A function of the shape,
///     not a template: one instantiation per layer type, not per layer type and shape;
///   - `describe<In>()`: a `LayerRow` without path and shapes (kind, attributes, params,
///     buffers, MACs, kernel and stride for the receptive field).
/// A *combinator* (Seq, Residual, Concat, …) has `output_shape<In>()` and
/// `walk<In>(visitor, path)`, which visits its children in execution order, and
/// `violation<In>(path)`, which finds the first broken rule below it (only called on a
/// poisoned output: it follows the poisoned child).

#include <archetype/dsl/detail/text.hpp>
#include <archetype/dsl/detail/violation.hpp>
#include <archetype/dsl/shape.hpp>

#include <concepts>
#include <cstdint>
#include <string_view>

namespace archetype {

/// Path of a layer inside its net, torchvision style: `layer1.0.conv1`.
using LayerPath = detail::Text<64>;

/// What a row computes; `LayerRow::kind` is its printable name. The code generator
/// dispatches on this.
enum class LayerKind : unsigned char {
  conv, batch_norm, local_response_norm, relu, dropout, max_pool, avg_pool, global_avg_pool,
  adaptive_avg_pool, flatten, linear, zero_pad_shortcut, pad_to, resize, add, concat,
  relu6, silu, sigmoid, scale, stochastic_depth
};

/// One row of the per-layer table (`layers_v<Net>`): everything the analysis, the
/// command line and the code generator need to know about one layer.
struct LayerRow {
  LayerKind op = LayerKind::relu;
  LayerPath path;               ///< e.g. `layer2.0.downsample.0`
  detail::Text<16> kind;        ///< e.g. `Conv`, `BatchNorm`, `Add`
  detail::Text<32> attributes;  ///< e.g. `3x3 s2 p1`
  Shape in{};                   ///< input shape (for a join: the first branch's output)
  Shape out{};                  ///< output shape
  std::int64_t params = 0;      ///< trainable parameters
  std::int64_t buffers = 0;     ///< non-trainable state (BatchNorm running statistics)
  std::int64_t macs = 0;        ///< multiply-accumulates per image, forward
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1;  ///< for the receptive field
  int pad_h = 0, pad_w = 0, groups = 1;  ///< convolution and pooling geometry
  bool bias = false;       ///< Conv, Linear: has a bias vector
  bool ceil_mode = false;  ///< pooling: PyTorch's ceil_mode
  double p = 0.0;          ///< Dropout / StochasticDepth probability
  int lrn_size = 0;        ///< LocalResponseNorm: channels in the window
  double alpha = 0.0, beta = 0.0, k = 0.0;  ///< LocalResponseNorm constants
  bool global = false;  ///< mixes all positions (GlobalAvgPool, Flatten, Linear): ends the receptive field
  bool view = false;    ///< output aliases the input (Flatten, Dropout at inference): no new memory
  bool frozen = false;  ///< inside a `Frozen<...>`: does not train (codegen/freezing.hpp)
};

namespace detail {

struct leaf_tag {};
struct block_tag {};
struct network_tag {};

template <class L>
concept LeafLayer = requires { typename L::archetype_leaf; };

template <class L>
concept Combinator = requires { typename L::archetype_block; };

/// Child path: `prefix.name` (or `name` at the root).
constexpr LayerPath join_path(const LayerPath& prefix, std::string_view name) {
  LayerPath p = prefix;
  if (!p.empty()) p.append(".");
  p.append(name);
  return p;
}
constexpr LayerPath join_path(const LayerPath& prefix, std::int64_t index) {
  LayerPath p = prefix;
  if (!p.empty()) p.append(".");
  p.append(index);
  return p;
}

/// Visits layer `L` applied to input shape `In`. A visitor has:
///   `leaf(const LayerRow&)`, `begin_block(Shape in)`, `next_branch()`,
///   `end_block(const LayerRow& join)`.
template <class L, Shape In, class Visitor>
constexpr void walk(Visitor& v, const LayerPath& path) {
  if constexpr (poisoned(In)) {
    return;
  } else if constexpr (LeafLayer<L>) {
    LayerRow row = L::template describe<In>();
    row.path = path;
    row.in = In;
    row.out = L::template output_shape<In>();
    v.leaf(row);
  } else {
    L::template walk<In>(v, path);
  }
}

/// The first rule broken by layer `L` applied to `In`, with the path of the layer that
/// broke it (`Rule::none` when its output is not poisoned, or when the error was already
/// reported elsewhere, as for `Rejected`).
template <class L, Shape In>
constexpr Violation find_violation(const LayerPath& path) {
  if constexpr (poisoned(In)) {
    return {};
  } else if constexpr (!LeafLayer<L> && !Combinator<L>) {
    return not_a_layer<L>(path);
  } else if constexpr (LeafLayer<L>) {
    if constexpr (requires { L::check(In); }) {
      return {L::check(In), path};
    } else {
      return {};
    }
  } else {
    return L::template violation<In>(path);
  }
}

/// A block that stands for a definition already rejected by a `static_assert` (e.g. a
/// family instantiated with an impossible size): its output is poisoned, so nothing else
/// is reported about it.
struct Rejected {
  using archetype_block = block_tag;
  template <Shape In>
  static consteval Shape output_shape() { return poisoned_shape; }
  template <Shape In, class Visitor>
  static constexpr void walk(Visitor&, const Text<64>&) {}
  template <Shape In>
  static constexpr Violation violation(const Text<64>&) {
    return {};
  }
};

/// Shapes along a chain of layers: `Chain<In, S1, S2, …>`; used by `Seq` to compute every
/// intermediate shape with a left fold, so that an error deep in a Seq is reported with a
/// short instantiation context (the fold is flat, not recursive).
template <Shape... S>
struct Chain {
  static constexpr Shape last = (S, ...);
  static constexpr Shape all[sizeof...(S)] = {S...};
};
template <class L>
struct Step {};
template <Shape... S, class L>
consteval auto operator|(Chain<S...>, Step<L>) {
  return Chain<S..., L::template output_shape<Chain<S...>::last>()>{};
}

}  // namespace detail

/// A layer or combinator of the vocabulary (anything that can stand in a `Seq`).
template <class L>
concept Layer = detail::LeafLayer<L> || detail::Combinator<L>;

/// A combinator: a layer built from other layers (Seq, Residual, Concat, Repeat, Named).
template <class L>
concept Block = detail::Combinator<L>;

/// A whole network: `Net<Input<Shape>, Body, Classes>` or a struct derived from one.
template <class N>
concept Network = requires {
  typename N::archetype_network;
  { N::input_shape } -> std::convertible_to<Shape>;
  { N::output_shape } -> std::convertible_to<Shape>;
};

}  // namespace archetype
