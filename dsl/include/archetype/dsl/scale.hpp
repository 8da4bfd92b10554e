#pragma once
/// \file
/// \brief `Scale<Gate>`: y = x * Gate(x), channel by channel; `SqueezeExcitation` and `SE`.

#include <archetype/dsl/activations.hpp>
#include <archetype/dsl/conv.hpp>
#include <archetype/dsl/global_avg_pool.hpp>
#include <archetype/dsl/named.hpp>
#include <archetype/dsl/relu.hpp>
#include <archetype/dsl/seq.hpp>

namespace archetype {

/// Channel gating (the excitation of Hu et al. 2018): `y[c, i, j] = x[c, i, j] * g[c]`,
/// where `g = Gate(x)` is `C x 1 x 1`. Output: the input shape. Parameters and MACs: the
/// gate's (the product is not counted as MACs).
/// Rule: the gate's output is `C x 1 x 1`, C the input channels.
/// Paths: the gate's rows sit directly under the Scale's path (torchvision's
/// `SqueezeExcitation.fc1`); the product is `scale`.
template <class Gate>
struct Scale {
  // A gate that is not a layer is reported by Net, with its path.
  using archetype_block = detail::block_tag;
  using gate = Gate;

  template <Shape In>
  static consteval Shape output_shape() {
    if constexpr (!Layer<Gate>) {
      return detail::poisoned_shape;
    } else {
      constexpr Shape g = Gate::template output_shape<In>();
      if constexpr (detail::poisoned(g)) {
        return detail::poisoned_shape;
      } else {
        if constexpr (g.h != 1 || g.w != 1 || g.c != In.c) {
          return detail::poisoned_shape;
        } else {
          return In;
        }
      }
    }
  }

  /// The first broken rule: in the gate, else the gate's output against the input (both
  /// shapes).
  template <Shape In>
  static constexpr detail::Violation violation(const LayerPath& path) {
    if constexpr (!Layer<Gate>) {
      return detail::not_a_layer<Gate>(path);
    } else {
      constexpr Shape g = Gate::template output_shape<In>();
      if constexpr (detail::poisoned(g)) {
        return detail::find_violation<Gate, In>(path);
      } else {
        using enum detail::Rule;
        const auto rule = g.h != 1 || g.w != 1 ? scale_gate_not_pooled
                          : g.c != In.c        ? scale_gate_channels_differ
                                               : none;
        return {{.rule = rule, .first = In, .second = g}, detail::join_path(path, "scale")};
      }
    }
  }

  template <Shape In, class Visitor>
  static constexpr void walk(Visitor& v, const LayerPath& path) {
    v.begin_block(In);
    v.next_branch();  // the first factor is the block's input itself
    detail::walk<Gate, In>(v, path);
    LayerRow join;
    join.path = detail::join_path(path, "scale");
    join.op = LayerKind::scale;
    join.kind = "Scale";
    join.in = In;
    join.out = In;
    v.end_block(join);
  }
};

/// torchvision's `SqueezeExcitation(Channels, Squeeze, Activation, Sigmoid)`: global
/// average pooling, a 1x1 convolution to `Squeeze` channels with bias (`fc1`),
/// `Activation`, a 1x1 convolution back to `Channels` with bias (`fc2`), a sigmoid, and
/// the input scaled by the result. Parameters: `2 * Channels * Squeeze + Squeeze +
/// Channels`. Rule: the input has `Channels` channels (Scale's rule).
template <int Channels, int Squeeze, class Activation = ReLU>
struct SqueezeExcitation
    : Scale<Seq<Named<"avgpool", GlobalAvgPool>, Named<"fc1", Conv1x1<Squeeze, 1, true>>,
                Named<"activation", Activation>, Named<"fc2", Conv1x1<Channels, 1, true>>,
                Named<"scale_activation", Sigmoid>>> {
  // The rules are checked where the block meets its input (not when the type is merely
  // named, e.g. by a family probing a constant of a block template).
  template <Shape In>
  static consteval Shape output_shape() {
    if constexpr (!(Squeeze > 0 && Squeeze <= Channels)) {
      return detail::poisoned_shape;
    } else {
      return SqueezeExcitation::Scale::template output_shape<In>();
    }
  }
  template <Shape In>
  static constexpr detail::Violation violation(const LayerPath& path) {
    if constexpr (!(Squeeze > 0 && Squeeze <= Channels)) {
      return {{.rule = detail::Rule::squeeze_channels_range,
               .first = In,
               .values = {Channels, Squeeze}},
              path};
    } else {
      return SqueezeExcitation::Scale::template violation<In>(path);
    }
  }
};

/// The SE block of Hu et al. 2018 ("Squeeze-and-Excitation Networks", CVPR 2018), with
/// reduction ratio r (16 in the paper): `SqueezeExcitation<Channels, Channels / r>`.
/// Usable after any block whose output has `Channels` channels. Rule: r divides Channels.
template <int Channels, int Reduction = 16>
struct SE : SqueezeExcitation<Channels, Channels / (Reduction > 0 ? Reduction : 1)> {
  template <Shape In>
  static consteval Shape output_shape() {
    if constexpr (!(Reduction > 0 && Channels % Reduction == 0)) {
      return detail::poisoned_shape;
    } else {
      return SE::SqueezeExcitation::template output_shape<In>();
    }
  }
  template <Shape In>
  static constexpr detail::Violation violation(const LayerPath& path) {
    if constexpr (!(Reduction > 0 && Channels % Reduction == 0)) {
      return {{.rule = detail::Rule::se_reduction_not_dividing,
               .first = In,
               .values = {Channels, Reduction}},
              path};
    } else {
      return SE::SqueezeExcitation::template violation<In>(path);
    }
  }
};

}  // namespace archetype
