#pragma once
/// \file
/// \brief Nets made from nets, for transfer learning: `WithHead<Net, Head>` (a new
/// classifier), `Backbone<Net>` (the net without its head, Keras's `include_top=False`),
/// `WithInput<Net, Input<S>>` (another input size) and `Frozen<L>` (layers that do not train).
///
/// The head of a net whose body is a `Seq` starts at the first top-level element whose
/// output has no spatial extent (C x 1 x 1): the global pooling and the classifier after it
/// (ResNet's `avgpool`, `fc`; LeNet-5's `Flatten` and its three Linear layers; VGG's
/// `classifier`, after its 7x7 adaptive pooling). `head_start_v<Net>` is that element's index;
/// a net of another shape specialises `head_start<Net>`. The elements before it keep their
/// types and positions, so every shared layer keeps its path and its place in the parameter
/// block: weights of the original load into the new net by path (`archetype train --init`).

#include <archetype/dsl/analysis.hpp>
#include <archetype/dsl/layer.hpp>
#include <archetype/dsl/net.hpp>
#include <archetype/dsl/seq.hpp>

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

namespace archetype {

namespace detail {

/// Passes every row on to `v` with `frozen` set.
template <class Visitor>
struct FreezingVisitor {
  Visitor& v;
  constexpr void leaf(LayerRow row) {
    row.frozen = true;
    v.leaf(row);
  }
  constexpr void begin_block(Shape in) { v.begin_block(in); }
  constexpr void next_branch() { v.next_branch(); }
  constexpr void end_block(const LayerRow& join) { v.end_block(join); }
};

/// What `Frozen<L>` shows an enclosing `Seq` of L: a name of its own, or a `Repeat`'s
/// numbering, so that freezing a layer changes no path.
template <class L>
struct frozen_kind {};
template <NamedLayer L>
struct frozen_kind<L> {
  using archetype_named = void;
};
template <UnnamedRepeat L>
struct frozen_kind<L> {
  using archetype_repeat = void;
  static constexpr int count = L::count;
};

}  // namespace detail

/// Layer `L` (and everything inside it) does not train: its rows are `frozen`, so the
/// training plan computes no weight gradient for them and their BatchNorms run on their
/// running statistics (codegen/freezing.hpp); `frozen_params_v` counts them. Paths, shapes,
/// parameters and MACs: those of L.
template <class L>
struct Frozen : detail::frozen_kind<L> {
  // A wrapped type that is not a layer is reported by Net, with its path.
  using archetype_block = detail::block_tag;
  template <Shape In>
  static consteval Shape output_shape() {
    if constexpr (!Layer<L>) {
      return detail::poisoned_shape;
    } else {
      return L::template output_shape<In>();
    }
  }
  /// The first broken rule inside L, with the path L would have (dsl/errors.hpp).
  template <Shape In>
  static constexpr detail::Violation violation(const LayerPath& path) {
    if constexpr (detail::NamedLayer<L>) {
      return L::template violation<In>(path);
    } else {
      return detail::find_violation<L, In>(path);
    }
  }
  template <Shape In>
  static constexpr detail::Violation violation_numbered(
      const LayerPath& path, int first) requires detail::UnnamedRepeat<L> {
    return L::template violation_numbered<In>(path, first);
  }
  /// As L would be walked: a Named L appends its own name to `path`.
  template <Shape In, class Visitor>
  static constexpr void walk(Visitor& v, const LayerPath& path) {
    detail::FreezingVisitor<Visitor> frozen{v};
    if constexpr (detail::NamedLayer<L>) {
      L::template walk<In>(frozen, path);
    } else {
      detail::walk<L, In>(frozen, path);
    }
  }
  template <Shape In, class Visitor>
  static constexpr void walk_numbered(Visitor& v, const LayerPath& path,
                                      int first) requires detail::UnnamedRepeat<L> {
    detail::FreezingVisitor<Visitor> frozen{v};
    L::template walk_numbered<In>(frozen, path, first);
  }
};

namespace detail {

template <class Body>
struct seq_parts {
  static constexpr bool is_seq = false;
};
template <class... Ls>
struct seq_parts<Seq<Ls...>> {
  static constexpr bool is_seq = true;
  static constexpr std::size_t size = sizeof...(Ls);
  /// `Seq` of the first K elements.
  template <std::size_t K>
  using first = decltype([]<std::size_t... I>(std::index_sequence<I...>) {
    return Seq<std::tuple_element_t<I, std::tuple<Ls...>>...>{};
  }(std::make_index_sequence<K>{}));
  /// The first K elements followed by `Tail...`.
  template <std::size_t K, class... Tail>
  using first_then = decltype([]<std::size_t... I>(std::index_sequence<I...>) {
    return Seq<std::tuple_element_t<I, std::tuple<Ls...>>..., Tail...>{};
  }(std::make_index_sequence<K>{}));
  /// The index of the first element whose output is C x 1 x 1 (size when none).
  template <Shape In>
  static consteval std::size_t first_flat() {
    using C = decltype(Seq<Ls...>::template chain<In>());
    for (std::size_t i = 0; i < size; ++i) {
      if (C::all[i + 1].h == 1 && C::all[i + 1].w == 1) return i;
    }
    return size;
  }
};

template <class Head>
struct head_elements {
  template <class Parts, std::size_t K>
  using after = typename Parts::template first_then<K, Head>;
};
template <class... Hs>
struct head_elements<Seq<Hs...>> {  // a Seq head is spliced in: its elements are top-level
  template <class Parts, std::size_t K>
  using after = typename Parts::template first_then<K, Hs...>;
};

}  // namespace detail

/// Where the head of `N` starts: the index, in N's body (a `Seq`), of its first element
/// without spatial extent. Specialise it for a net of another shape.
template <class N>
struct head_start {
  static_assert(detail::seq_parts<typename N::body>::is_seq,
                "archetype: the head of a Net is found in a Seq body: specialise head_start");
  static constexpr std::size_t value =
      detail::seq_parts<typename N::body>::template first_flat<N::body_input_shape>();
  static_assert(value > 0 && value < detail::seq_parts<typename N::body>::size,
                "archetype: no head found (no top-level element of the body ends spatial "
                "extent, or the first one does): specialise head_start");
};
template <class N>
inline constexpr std::size_t head_start_v = head_start<N>::value;

/// The body of `N` up to its head: a feature map (`Backbone<ResNet50>`: 2048 x 7 x 7).
template <Network N>
struct Backbone
    : detail::NetCore<N::input_shape, typename N::adapter,
                      typename detail::seq_parts<typename N::body>::template first<head_start_v<N>>,
                      0> {};

namespace detail {
template <class N, class Head>
using with_head_body_t =
    typename head_elements<Head>::template after<seq_parts<typename N::body>, head_start_v<N>>;
}  // namespace detail

/// `N` with its head replaced by `Head` (a layer, or a `Seq` whose elements follow the
/// backbone's at the top level: `WithHead<ResNet50, Seq<Named<"avgpool", GlobalAvgPool>,
/// Named<"fc", Linear<10>>>>` is torchvision's `model.fc = nn.Linear(2048, 10)`). The classes
/// are the head's output channels; its output must be C x 1 x 1.
template <Network N, class Head>
struct WithHead
    : detail::NetCore<
          N::input_shape, typename N::adapter, detail::with_head_body_t<N, Head>,
          detail::with_head_body_t<N, Head>::template output_shape<N::body_input_shape>().c> {};

/// Parameters of the layers inside a `Frozen<...>` (they do not train), and the others.
template <Network N>
inline constexpr std::int64_t frozen_params_v = [] {
  std::int64_t n = 0;
  for (const LayerRow& row : layers_v<N>) n += row.frozen ? row.params : 0;
  return n;
}();
template <Network N>
inline constexpr std::int64_t trainable_params_v = params_v<N> - frozen_params_v<N>;

/// `N` fed with images of shape `S` (Xception at 71 x 71, the smallest its strides allow):
/// the same body, its first layer built for S's channels.
template <Network N, class In>
struct WithInput;
template <Network N, Shape S>
struct WithInput<N, Input<S>> : detail::NetCore<S, void, typename N::body, N::classes> {};

}  // namespace archetype
