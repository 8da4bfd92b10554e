#pragma once
/// \file
/// \brief `Residual<Body, Shortcut>`: y = Body(x) + Shortcut(x).

#include <archetype/dsl/identity.hpp>
#include <archetype/dsl/named.hpp>

namespace archetype {

/// Residual connection (He et al. 2016): `After(Body(x) + Shortcut(x))`, body and shortcut
/// applied to the same input, `After` (default `Identity`) applied to the sum, as the ReLU
/// of a post-activation block. The shortcut is `Identity` (default), a projection
/// (`Seq<Conv1x1<C, 2>, BatchNorm>`) or `ZeroPadShortcut` (option A). Output: `After`
/// applied to the body's output shape. Parameters and MACs: body + shortcut + after (the
/// addition is not counted as MACs).
/// Rule: body and shortcut output shapes are equal.
/// Paths: the body's rows sit directly under the Residual's path (torchvision's
/// `layer1.0.conv1`); an unnamed shortcut is called `shortcut`, the sum `add`, an unnamed
/// `After` `post`.
template <class Body, class Shortcut = Identity, class After = Identity>
struct Residual {
  // A body, shortcut or after that is not a layer is reported by Net, with its path.
  using archetype_block = detail::block_tag;
  using archetype_residual = void;
  using body = Body;
  using shortcut = Shortcut;
  using after = After;

  template <Shape In>
  static consteval Shape output_shape() {
    if constexpr (!(Layer<Body> && Layer<Shortcut> && Layer<After>)) {
      return detail::poisoned_shape;
    } else {
      constexpr Shape b = Body::template output_shape<In>();
      constexpr Shape s = Shortcut::template output_shape<In>();
      if constexpr (detail::poisoned(b) || detail::poisoned(s)) {
        return detail::poisoned_shape;
      } else {
        if constexpr (b != s) {
          return detail::poisoned_shape;
        } else {
          return After::template output_shape<b>();
        }
      }
    }
  }

  /// The first broken rule: in the body, in the shortcut, the sum (both shapes), in After.
  template <Shape In>
  static constexpr detail::Violation violation(const LayerPath& path) {
    if constexpr (!Layer<Body>) {
      return detail::not_a_layer<Body>(path);
    } else if constexpr (!Layer<Shortcut>) {
      return detail::find_violation_child<Shortcut, In>(path, "shortcut");
    } else if constexpr (!Layer<After>) {
      return detail::find_violation_child<After, In>(path, "post");
    } else {
      constexpr Shape b = Body::template output_shape<In>();
      constexpr Shape s = Shortcut::template output_shape<In>();
      if constexpr (detail::poisoned(b)) {
        return detail::find_violation<Body, In>(path);
      } else if constexpr (detail::poisoned(s)) {
        return detail::find_violation_child<Shortcut, In>(path, "shortcut");
      } else if constexpr (b != s) {
        return {{.rule = detail::Rule::residual_shapes_differ, .first = b, .second = s},
                detail::join_path(path, "add")};
      } else {
        return detail::find_violation_child<After, b>(path, "post");
      }
    }
  }

  template <Shape In, class Visitor>
  static constexpr void walk(Visitor& v, const LayerPath& path) {
    v.begin_block(In);
    detail::walk<Body, In>(v, path);
    v.next_branch();
    detail::walk_child<Shortcut, In>(v, path, "shortcut");
    LayerRow join;
    join.path = detail::join_path(path, "add");
    join.op = LayerKind::add;
    join.kind = "Add";
    join.in = Body::template output_shape<In>();
    join.out = join.in;
    v.end_block(join);
    detail::walk_child<After, Body::template output_shape<In>()>(v, path, "post");
  }
};

}  // namespace archetype
