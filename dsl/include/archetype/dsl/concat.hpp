#pragma once
/// \file
/// \brief `Concat<Branch...>`: branches on the same input, joined along channels.

#include <archetype/dsl/named.hpp>

#include <utility>

namespace archetype {

/// Channel concatenation of branches applied to the same input (Inception). Output:
/// `(sum of branch channels) x H x W`. Parameters and MACs: the sums over branches.
/// Rule: every branch produces the same H x W. Unnamed branches are called `branch1`,
/// `branch2`, … in paths (torchvision's Inception naming); the join is `concat`.
template <class... Branches>
struct Concat {
  static_assert(sizeof...(Branches) > 0, "archetype: Concat needs at least one branch");
  static_assert((Layer<Branches> && ...), "archetype: every Concat branch must be a layer");
  using archetype_block = detail::block_tag;

  template <Shape In>
  static consteval Shape output_shape() {
    if constexpr (!(Layer<Branches> && ...)) {
      return detail::poisoned_shape;  // reported by the static_assert above
    } else {
      return checked_output_shape<In>();
    }
  }

  template <Shape In, class Visitor>
  static constexpr void walk(Visitor& v, const LayerPath& path) {
    v.begin_block(In);
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (walk_branch<Branches, In, I>(v, path), ...);
    }(std::index_sequence_for<Branches...>{});
    LayerRow join;
    join.path = detail::join_path(path, "concat");
    join.op = LayerKind::concat;
    join.kind = "Concat";
    join.in = In;
    join.out = output_shape<In>();
    v.end_block(join);
  }

 private:
  template <Shape In>
  static consteval Shape checked_output_shape() {
    constexpr Shape outs[] = {Branches::template output_shape<In>()...};
    constexpr bool any_poisoned = (detail::poisoned(Branches::template output_shape<In>()) || ...);
    if constexpr (any_poisoned) {
      return detail::poisoned_shape;
    } else {
      constexpr bool same_size = [&] {
        for (const Shape& s : outs) {
          if (s.h != outs[0].h || s.w != outs[0].w) return false;
        }
        return true;
      }();
      static_assert(same_size, "archetype: Concat branches produce different spatial sizes");
      if constexpr (!same_size) {
        return detail::poisoned_shape;
      } else {
        int channels = 0;
        for (const Shape& s : outs) channels += s.c;
        return Shape{channels, outs[0].h, outs[0].w};
      }
    }
  }

  template <class B, Shape In, std::size_t I, class Visitor>
  static constexpr void walk_branch(Visitor& v, const LayerPath& path) {
    if constexpr (I > 0) v.next_branch();
    detail::Text<16> name{"branch"};
    name.append(std::int64_t{I + 1});
    detail::walk_child<B, In>(v, path, name.view());
  }
};

}  // namespace archetype
