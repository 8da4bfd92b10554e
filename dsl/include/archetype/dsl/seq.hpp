#pragma once
/// \file
/// \brief `Seq<L...>`: layers applied one after the other.

#include <archetype/dsl/named.hpp>
#include <archetype/dsl/repeat.hpp>

#include <utility>

namespace archetype {

namespace detail {
template <class L>
concept UnnamedRepeat = requires { typename L::archetype_repeat; };
template <class L>
constexpr int index_span = [] {
  if constexpr (UnnamedRepeat<L>) {
    return L::count;
  } else {
    return 1;
  }
}();
}  // namespace detail

/// Layers in sequence; the output of each is the input of the next. Output: the last
/// layer's. Parameters and MACs: the sums. Children are numbered `0, 1, …` in paths
/// (as `nn.Sequential`) unless `Named`. Shapes are computed by a left fold, so an error
/// in the k-th layer is reported with that layer and its input shape.
template <class... Ls>
struct Seq {
  // An empty Seq or an element that is not a layer is reported by Net, with its path.
  using archetype_block = detail::block_tag;

  template <Shape In>
  static consteval auto chain() { return (detail::Chain<In>{} | ... | detail::Step<Ls>{}); }

  template <Shape In>
  static consteval Shape output_shape() {
    if constexpr (sizeof...(Ls) == 0 || !(Layer<Ls> && ...)) {
      return detail::poisoned_shape;
    } else {
      return decltype(chain<In>())::last;
    }
  }

  template <Shape In, class Visitor>
  static constexpr void walk(Visitor& v, const LayerPath& path) {
    using C = decltype(chain<In>());
    constexpr int spans[] = {detail::index_span<Ls>...};
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (walk_one<Ls, C::all[I]>(v, path, [&] {
         int first = 0;
         for (std::size_t k = 0; k < I; ++k) first += spans[k];
         return first;
       }()),
       ...);
    }(std::index_sequence_for<Ls...>{});
  }

  /// The first broken rule: in the first child whose output is poisoned.
  template <Shape In>
  static constexpr detail::Violation violation(const LayerPath& path) {
    if constexpr (sizeof...(Ls) == 0) {
      return {{.rule = detail::Rule::seq_empty}, path};
    } else if constexpr (!(Layer<Ls> && ...)) {
      constexpr int spans[] = {detail::index_span<Ls>...};
      return [&]<std::size_t... I>(std::index_sequence<I...>) {
        detail::Violation v{};
        int first = 0;
        ((v = v.broken() || Layer<Ls> ? v : detail::not_a_layer<Ls>(detail::join_path(path, first)),
          first += spans[I]),
         ...);
        return v;
      }
      (std::index_sequence_for<Ls...>{});
    } else {
      using C = decltype(chain<In>());
      constexpr int spans[] = {detail::index_span<Ls>...};
      return [&]<std::size_t... I>(std::index_sequence<I...>) {
        detail::Violation v{};
        int first = 0;
        ((v = v.broken() ? v : violation_one<Ls, C::all[I], C::all[I + 1]>(path, first),
          first += spans[I]),
         ...);
        return v;
      }
      (std::index_sequence_for<Ls...>{});
    }
  }

 private:
  template <class L, Shape In, Shape Out>
  static constexpr detail::Violation violation_one(const LayerPath& path, int index) {
    if constexpr (detail::poisoned(In) || !detail::poisoned(Out)) {
      return {};
    } else if constexpr (detail::UnnamedRepeat<L>) {
      return L::template violation_numbered<In>(path, index);
    } else {
      return detail::find_violation_child<L, In>(path, std::int64_t{index});
    }
  }

  template <class L, Shape In, class Visitor>
  static constexpr void walk_one(Visitor& v, const LayerPath& path, int index) {
    if constexpr (detail::poisoned(In)) {
      return;
    } else if constexpr (detail::UnnamedRepeat<L>) {
      L::template walk_numbered<In>(v, path, index);
    } else {
      detail::walk_child<L, In>(v, path, std::int64_t{index});
    }
  }
};

}  // namespace archetype
