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
  static_assert(Layer<B>, "archetype: Repeat repeats a layer or a combinator");
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
    static_assert(N > 0, "archetype: Repeat count must be positive");
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
  template <Shape In, class Visitor>
  static constexpr void walk(Visitor& v, const LayerPath& path) {
    walk_numbered<In>(v, path, 0);
  }
};

}  // namespace archetype
