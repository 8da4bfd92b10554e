#pragma once
/// \file
/// \brief A net type's compile-time figures as run-time data: `model_info<N>()` (shapes,
/// parameters, MACs, memory, per-layer table, the lowered program) and `model_entry<N>()`
/// (those figures, at the net's input and fed 1x28x28 Fashion-MNIST, with its name and
/// paper). `register_models` (registry.hpp) adds entries to what the `archetype` command
/// line and the benchmarks look models up in; the zoo's own entries are made here too.
/// The CMake function `archetype_add_model` generates this registration for a user's net.
///
/// Include it only where the net type is known: it instantiates the analysis and the
/// lowering of `N` (one translation unit per family or model keeps compile times short).

#include <archetype/architectures/published.hpp>
#include <archetype/architectures/registry.hpp>
#include <archetype/codegen/program.hpp>
#include <archetype/dsl/analysis.hpp>
#include <archetype/dsl/net.hpp>
#include <archetype/dsl/type_name.hpp>

#include <cstddef>
#include <span>
#include <string_view>

namespace archetype {

/// The Fashion-MNIST image: 1x28x28 (what `ModelEntry::fashion_mnist` is fed).
inline constexpr Shape fashion_mnist_shape{1, 28, 28};

/// The figures of net `N` at its own input.
template <Network N>
consteval ModelInfo model_info() {
  static_assert(N::valid, "archetype: model_info<N>: N must be a valid net");
  constexpr NetTotals t = totals_v<N>;
  return ModelInfo{N::input_shape,
                   output_shape_v<N>,
                   t.params,
                   t.buffers,
                   t.macs,
                   t.receptive_field,
                   t.inference_peak_elements,
                   codegen::program_v<N>.training_saved,
                   std::span<const LayerRow>{layers_v<N>},
                   codegen::program_v<N>.view()};
}

/// Where a model comes from: the short reference `ModelEntry::paper`, its authors, venue
/// and link (all may be empty for a model of one's own).
struct Paper {
  std::string_view reference;
  std::string_view authors;
  std::string_view venue;
  std::string_view link;
};

/// The registry entry of net `N` under `name` (lower case, digits and '_', as `archetype
/// list` shows it): its figures at its input and fed 1x28x28 images (through its input
/// adapter, `Adapted<N, fashion_mnist_shape>`; the same figures when its input is
/// 1x28x28), and the published figures its header declares (`published_v<N>`, none by
/// default).
template <Network N>
consteval ModelEntry model_entry(std::string_view name, std::string_view title,
                                 const Paper& paper = {}, int year = 0) {
  ModelInfo fashion_mnist{};
  if constexpr (N::input_shape == fashion_mnist_shape) {
    fashion_mnist = model_info<N>();
  } else {
    fashion_mnist = model_info<Adapted<N, fashion_mnist_shape>>();
  }
  return ModelEntry{name,
                    title,
                    paper.reference,
                    year,
                    model_info<N>(),
                    fashion_mnist,
                    paper.authors,
                    paper.venue,
                    paper.link,
                    type_name<N>(),
                    architectures::published_v<N>};
}

}  // namespace archetype
