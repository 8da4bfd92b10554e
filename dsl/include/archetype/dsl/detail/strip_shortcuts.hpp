#pragma once
/// \file
/// \brief The type-level transform behind `Plain<Net>`: every `Residual<Body, Shortcut,
/// After>` becomes `After(Body(x))`, recursively, including blocks declared as structs
/// derived from a combinator (`struct BasicBlock : Residual<…> {}`). Boost.Hana does the
/// pack transforms.

#include <archetype/dsl/concat.hpp>
#include <archetype/dsl/named.hpp>
#include <archetype/dsl/repeat.hpp>
#include <archetype/dsl/residual.hpp>
#include <archetype/dsl/seq.hpp>

#include <boost/hana/basic_tuple.hpp>
#include <boost/hana/transform.hpp>
#include <boost/hana/type.hpp>
#include <boost/hana/unpack.hpp>

namespace archetype::detail {

/// What a Residual becomes without its shortcut: `After(Body(x))`, the body's rows at the
/// Residual's path (so the plain net's paths match the residual net's).
template <class Body, class After>
struct Unshortcut {
  using archetype_block = block_tag;
  template <Shape In>
  static consteval Shape output_shape() {
    return After::template output_shape<Body::template output_shape<In>()>();
  }
  template <Shape In>
  static constexpr Violation violation(const LayerPath& path) {
    constexpr Shape b = Body::template output_shape<In>();
    if constexpr (poisoned(b)) {
      return find_violation<Body, In>(path);
    } else {
      return find_violation_child<After, b>(path, "post");
    }
  }
  template <Shape In, class Visitor>
  static constexpr void walk(Visitor& v, const LayerPath& path) {
    detail::walk<Body, In>(v, path);
    detail::walk_child<After, Body::template output_shape<In>()>(v, path, "post");
  }
};

// Overloads chosen by the pointer's type: a pointer to a struct derived from a combinator
// converts to a pointer to that combinator, which ranks above the conversion to `void*`.
// The overloads below are declared after `strip_t`, so only argument-dependent lookup at
// instantiation finds them: `StripTag` (a class of this namespace) makes that lookup
// search here whatever `L` is (a `struct BasicBlock : Residual<…>` of another namespace
// whose arguments name nothing of `archetype::detail` would otherwise stay unstripped).
struct StripTag {};
template <class L>
L strip(const void*, StripTag);
template <class L>
using strip_t = decltype(strip<L>(static_cast<const L*>(nullptr), StripTag{}));

template <template <class...> class Template, class... Ls>
auto strip_pack() {
  constexpr auto stripped = boost::hana::transform(
      boost::hana::make_basic_tuple(boost::hana::type_c<Ls>...),
      [](auto t) { return boost::hana::type_c<strip_t<typename decltype(t)::type>>; });
  return boost::hana::unpack(stripped, boost::hana::template_<Template>);
}

template <class L, class Body, class Shortcut, class After>
Unshortcut<strip_t<Body>, strip_t<After>> strip(const Residual<Body, Shortcut, After>*, StripTag);
template <class L, class... Ls>
typename decltype(strip_pack<Seq, Ls...>())::type strip(const Seq<Ls...>*, StripTag);
template <class L, class... Bs>
typename decltype(strip_pack<Concat, Bs...>())::type strip(const Concat<Bs...>*, StripTag);
template <class L, FixedString Name, class Child>
Named<Name, strip_t<Child>> strip(const Named<Name, Child>*, StripTag);
template <class L, int N, class B>
Repeat<N, strip_t<B>> strip(const Repeat<N, B>*, StripTag);

}  // namespace archetype::detail
