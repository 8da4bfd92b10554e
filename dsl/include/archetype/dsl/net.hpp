#pragma once
/// \file
/// \brief `Net<Input<Shape>, Body, Classes>` and `Adapted<Net, Data>`.

#include <archetype/dsl/errors.hpp>
#include <archetype/dsl/input_adapter.hpp>
#include <archetype/dsl/layer.hpp>

#include <type_traits>

namespace archetype {

/// The input of a net: one image's shape, `Input<Shape{3, 224, 224}>`.
template <Shape S>
struct Input {
  static constexpr Shape shape = S;
};

namespace detail {

template <Shape In, class Adapter, class Body, int Classes>
struct NetCore {
  using archetype_network = network_tag;
  using body = Body;
  using adapter = Adapter;  ///< `void`, or the input adapter layer in front of the body
  static constexpr int classes = Classes;

  static consteval Shape checked_input() {
    if constexpr (!In.positive()) {
      return poisoned_shape;
    } else {
      return In;
    }
  }
  /// The data's shape (before the adapter, if any).
  static constexpr Shape input_shape = checked_input();
  /// The shape the body sees (after the adapter, if any).
  static constexpr Shape body_input_shape = [] {
    if constexpr (std::is_void_v<Adapter>) {
      return input_shape;
    } else {
      return Adapter::template output_shape<input_shape>();
    }
  }();

  static consteval Shape checked_output() {
    if constexpr (!Layer<Body>) {
      return poisoned_shape;  // reported by `violation()`
    } else {
      constexpr Shape out = Body::template output_shape<body_input_shape>();
      if constexpr (Classes == 0 || poisoned(out)) {
        return out;
      } else {
        if constexpr (out != Shape{Classes, 1, 1}) {
          return poisoned_shape;
        } else {
          return out;
        }
      }
    }
  }
  static constexpr Shape output_shape = checked_output();
  /// False when a rule failed somewhere: the analysis of such a net stays silent.
  static constexpr bool valid = !poisoned(output_shape);

  /// The first broken rule (none for a valid net), with the path of the layer that broke
  /// it; `Net` and `Adapted` report it (`dsl/errors.hpp`).
  static constexpr Violation violation() {
    if constexpr (valid) {
      return {};
    } else if constexpr (!In.positive()) {
      return {{.rule = Rule::input_sizes_positive, .first = In}, "input"};
    } else if constexpr (!std::is_void_v<Adapter> && poisoned(body_input_shape)) {
      return find_violation<Adapter, input_shape>(LayerPath{"adapter"});
    } else if constexpr (!Layer<Body>) {
      return not_a_layer<Body>(LayerPath{});
    } else {
      constexpr Shape out = Body::template output_shape<body_input_shape>();
      if constexpr (poisoned(out)) {
        return find_violation<Body, body_input_shape>(LayerPath{});
      } else {
        // The output does not match Classes: named by the net's last row.
        struct LastRow {
          LayerPath path;
          constexpr void leaf(const LayerRow& row) { path = row.path; }
          constexpr void begin_block(Shape) {}
          constexpr void next_branch() {}
          constexpr void end_block(const LayerRow& join) { path = join.path; }
        } last;
        detail::walk<Body, body_input_shape>(last, LayerPath{});
        return {{.rule = Rule::net_classes, .first = out, .values = {Classes}}, last.path};
      }
    }
  }

  /// Visits every layer in execution order (see `detail::walk`).
  template <class Visitor>
  static constexpr void walk(Visitor& v) {
    if constexpr (!std::is_void_v<Adapter>) {
      detail::walk<Adapter, input_shape>(v, LayerPath{"adapter"});
    }
    detail::walk<Body, body_input_shape>(v, LayerPath{});
  }
};

}  // namespace detail

template <class In, class Body, int Classes = 0>
struct Net;

/// A network: an input shape, a body (any layer or combinator) and, optionally, the
/// number of classes, checked against the body's output (`Classes x 1 x 1`).
template <Shape S, class Body, int Classes>
struct Net<Input<S>, Body, Classes> : detail::NetCore<S, void, Body, Classes> {
  // The first broken rule of the net, if any, as one error a few lines from the top.
  static_assert(sizeof(detail::report_t<Net>) > 0);
};

namespace detail {
/// Pads when the data is at most 8 pixels smaller on each side (28 -> 32), resizes
/// otherwise (28 -> 224).
template <int DataH, int DataW, int TargetH, int TargetW>
struct default_adapter {
  static constexpr bool pad =
      DataH <= TargetH && DataW <= TargetW && TargetH - DataH <= 8 && TargetW - DataW <= 8;
  using type = std::conditional_t<pad, PadTo<TargetH, TargetW>, Resize<TargetH, TargetW>>;
};
template <class N, Shape Data, class Adapter>
struct adapted_base {
  using adapter = std::conditional_t<
      std::is_void_v<Adapter>,
      typename default_adapter<Data.h, Data.w, N::body_input_shape.h, N::body_input_shape.w>::type,
      Adapter>;
  using type = NetCore<Data, adapter, typename N::body, N::classes>;
};
}  // namespace detail

/// The same net fed with `Data` images through a declared input adapter (not a second
/// copy of the definition): 1x28x28 Fashion-MNIST into LeNet-5's 32x32 is zero-padded
/// (`PadTo`), into ResNet-50's 224x224 resized (`Resize`); pass `Adapter` to choose.
/// The body keeps its layers; layers whose parameters depend on the channel count (the
/// first convolution) are built for `Data.c` channels.
template <Network N, Shape Data, class Adapter = void>
struct Adapted : detail::adapted_base<N, Data, Adapter>::type {
  static_assert(sizeof(detail::report_t<Adapted>) > 0);
};

}  // namespace archetype
