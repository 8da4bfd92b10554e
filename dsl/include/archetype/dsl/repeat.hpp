#pragma once
/// \file
/// \brief `Repeat<N, Block>`: N copies of a block in sequence.

#include <archetype/dsl/named.hpp>

#include <utility>

namespace archetype {

/// N copies of `B` one after the other (each copy has its own parameters). Output: B
/// applied N times. Parameters and MACs: the sum over the copies. Rows are numbered
/// `0 … N-1`; inside a `Seq` an unnamed Repeat continues the Seq's numbering, so
/// `Seq<First, Repeat<2, B>>` is numbered 0, 1, 2 like torchvision's `_make_layer`.
template <int N, class B>
struct Repeat {
  // A repeated type that is not a layer is reported by Net, with its path.
  using archetype_block = detail::block_tag;
  using archetype_repeat = void;
  static constexpr int count = N;

  template <class L, std::size_t>
  using StepOf = detail::Step<L>;

  template <Shape In>
  static consteval auto chain() {
    return []<std::size_t... I>(std::index_sequence<I...>) {
      return (detail::Chain<In>{} | ... | StepOf<B, I>{});
    }(std::make_index_sequence<std::size_t(N > 0 ? N : 0)>{});
  }

  template <Shape In>
  static consteval Shape output_shape() {
    if constexpr (N <= 0 || !Layer<B>) {
      return detail::poisoned_shape;
    } else {
      return decltype(chain<In>())::last;
    }
  }

  /// Walks the copies numbered `first … first + N - 1` under `prefix`.
  template <Shape In, class Visitor>
  static constexpr void walk_numbered(Visitor& v, const LayerPath& prefix, int first) {
    using C = decltype(chain<In>());
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      // Copies are always numbered, even a Named block (`prefix.3.name`), so that no
      // two copies share a path.
      (detail::walk<B, C::all[I]>(v, detail::join_path(prefix, std::int64_t{first} + std::int64_t{I})), ...);
    }(std::make_index_sequence<std::size_t(N)>{});
  }
  /// The first broken rule: the count, then the first copy whose output is poisoned.
  template <Shape In>
  static constexpr detail::Violation violation_numbered(const LayerPath& prefix, int first) {
    if constexpr (!Layer<B>) {
      return detail::not_a_layer<B>(detail::join_path(prefix, std::int64_t{first}));
    } else if constexpr (N <= 0) {
      return {{.rule = detail::Rule::repeat_count_positive, .values = {N}},
              detail::join_path(prefix, std::int64_t{first})};
    } else {
      using C = decltype(chain<In>());
      return [&]<std::size_t... I>(std::index_sequence<I...>) {
        detail::Violation v{};
        ((v = v.broken() ? v
                         : violation_copy<C::all[I], C::all[I + 1]>(
                               detail::join_path(prefix, std::int64_t{first} + std::int64_t{I}))),
         ...);
        return v;
      }
      (std::make_index_sequence<std::size_t(N)>{});
    }
  }
  template <Shape In>
  static constexpr detail::Violation violation(const LayerPath& path) {
    return violation_numbered<In>(path, 0);
  }
  template <Shape In, Shape Out>
  static constexpr detail::Violation violation_copy(const LayerPath& path) {
    if constexpr (detail::poisoned(In) || !detail::poisoned(Out)) {
      return {};
    } else {
      return detail::find_violation<B, In>(path);
    }
  }

  template <Shape In, class Visitor>
  static constexpr void walk(Visitor& v, const LayerPath& path) {
    walk_numbered<In>(v, path, 0);
  }
};

}  // namespace archetype
