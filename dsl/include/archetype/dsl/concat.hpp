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
  // No branch, or a branch that is not a layer, is reported by Net, with its path.
  using archetype_block = detail::block_tag;

  template <Shape In>
  static consteval Shape output_shape() {
    if constexpr (sizeof...(Branches) == 0 || !(Layer<Branches> && ...)) {
      return detail::poisoned_shape;
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

  /// The first broken rule: no branch, a branch that is not a layer or whose output is
  /// poisoned, else the first branch whose spatial size differs from the first one's
  /// (both shapes).
  template <Shape In>
  static constexpr detail::Violation violation(const LayerPath& path) {
    detail::Violation v{};
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((v = v.broken() ? v : branch_violation<Branches, In, I>(path)), ...);
    }
    (std::index_sequence_for<Branches...>{});
    if constexpr (sizeof...(Branches) == 0) {
      return {{.rule = detail::Rule::concat_empty}, path};
    } else if constexpr (!(Layer<Branches> && ...)) {
      return v;
    } else {
      if (v.broken()) return v;
      constexpr Shape outs[] = {Branches::template output_shape<In>()...};
      for (std::size_t k = 1; k < sizeof...(Branches); ++k) {
        if (outs[k].h != outs[0].h || outs[k].w != outs[0].w) {
          return {{.rule = detail::Rule::concat_spatial_sizes_differ,
                   .first = outs[0],
                   .second = outs[k],
                   .values = {1, int(k) + 1}},
                  detail::join_path(path, "concat")};
        }
      }
      return v;
    }
  }

 private:
  template <class B, Shape In, std::size_t I>
  static constexpr detail::Violation branch_violation(const LayerPath& path) {
    detail::Text<16> name{"branch"};
    name.append(std::int64_t{I + 1});
    if constexpr (!Layer<B>) {
      return detail::find_violation_child<B, In>(path, name.view());
    } else if constexpr (!detail::poisoned(B::template output_shape<In>())) {
      return {};
    } else {
      return detail::find_violation_child<B, In>(path, name.view());
    }
  }

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
