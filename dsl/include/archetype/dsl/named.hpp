#pragma once
/// \file
/// \brief `Named<"name", L>`: gives a layer a name in tables, paths and errors.

#include <archetype/dsl/layer.hpp>

namespace archetype {

/// Names layer `L` (`Named<"conv1", Conv<6, 5>>`): its rows get the path `prefix.name`
/// instead of the position in the enclosing `Seq`. Output, parameters and MACs: those of L.
template <FixedString Name, class L>
struct Named {
  // A wrapped type that is not a layer is reported by Net, with its path.
  using archetype_block = detail::block_tag;
  using archetype_named = void;
  static constexpr std::string_view name = Name.view();
  template <Shape In>
  static consteval Shape output_shape() {
    if constexpr (!Layer<L>) {
      return detail::poisoned_shape;
    } else {
      return L::template output_shape<In>();
    }
  }
  template <Shape In>
  static constexpr detail::Violation violation(const LayerPath& prefix) {
    return detail::find_violation<L, In>(detail::join_path(prefix, name));
  }
  /// `prefix` is the enclosing path; the name is appended here.
  template <Shape In, class Visitor>
  static constexpr void walk(Visitor& v, const LayerPath& prefix) {
    detail::walk<L, In>(v, detail::join_path(prefix, name));
  }
};

namespace detail {
template <class L>
concept NamedLayer = requires { typename L::archetype_named; };

/// Walks child `L` of a combinator: a Named child appends its own name to `prefix`,
/// any other gets `prefix.fallback`.
template <class L, Shape In, class Visitor, class Fallback>
constexpr void walk_child(Visitor& v, const LayerPath& prefix, Fallback fallback) {
  if constexpr (NamedLayer<L>) {
    L::template walk<In>(v, prefix);
  } else {
    walk<L, In>(v, join_path(prefix, fallback));
  }
}

/// The first broken rule in child `L`, with the path `walk_child` gives it.
template <class L, Shape In, class Fallback>
constexpr Violation find_violation_child(const LayerPath& prefix, Fallback fallback) {
  if constexpr (NamedLayer<L>) {
    return L::template violation<In>(prefix);
  } else {
    return find_violation<L, In>(join_path(prefix, fallback));
  }
}
}  // namespace detail

}  // namespace archetype
