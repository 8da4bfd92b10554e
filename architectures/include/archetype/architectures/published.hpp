#pragma once
/// \file
/// \brief The published figures of a model of the zoo, declared once next to its
/// definition: its header static_asserts them (`matches_published_v`) and the registry
/// reads the same constants for `archetype describe` and the generated documentation.

#include <archetype/dsl/analysis.hpp>
#include <archetype/dsl/net.hpp>

#include <cstdint>
#include <string_view>

namespace archetype::architectures {

/// A paper's (or the reference implementation's) figures for one net.
struct Published {
  std::int64_t params = 0;           ///< trainable parameters, checked exactly; 0: none published
  std::int64_t macs = 0;             ///< MACs per image, forward; 0: none published
  std::int64_t macs_per_mille = 10;  ///< tolerance on `macs`, in thousandths (10 = 1%)
  std::string_view source;           ///< where the figures come from, e.g. "torchvision"
};

/// The published figures of net `N`: specialize it next to the net's definition,
/// `template <> inline constexpr Published published_v<ResNet50>{.params = …, .macs = …}`.
/// Nets without a specialization have none (every field 0).
template <class N>
inline constexpr Published published_v{};

/// `static_assert(matches_published_v<ResNet50>)`: the definition reaches every figure of
/// `published_v<N>` (parameters exactly, MACs within `macs_per_mille`); on a mismatch the
/// error names the computed and the published number (see `has_params_v`,
/// `has_macs_near_v`).
template <Network N>
inline constexpr bool matches_published_v = [] {
  constexpr Published p = published_v<N>;
  static_assert(p.params > 0 || p.macs > 0,
                "archetype: matches_published_v<N> needs published_v<N> to be specialized");
  bool ok = true;
  if constexpr (p.params > 0) ok = ok && has_params_v<N, p.params>;
  if constexpr (p.macs > 0) ok = ok && has_macs_near_v<N, p.macs, p.macs_per_mille>;
  return ok;
}();

namespace published_detail {
template <std::int64_t Computed, std::int64_t Printed, std::int64_t Unit>
struct RoundsTo {
  static_assert(Unit > 0 && 2 * Computed >= (2 * Printed - 1) * Unit &&
                    2 * Computed < (2 * Printed + 1) * Unit,
                "archetype: the figure computed from the definition does not round to the "
                "published figure at its printed precision (Computed vs Printed x Unit below)");
};
}  // namespace published_detail

/// `static_assert(rounds_to_v<params_v<PreActResNet164>, 17, 100'000>)`: a figure a paper
/// prints only rounded ("1.7M" is 17 units of 100,000) is met when the computed figure
/// rounds (half up) to it: `(Printed - 1/2) x Unit <= Computed < (Printed + 1/2) x Unit`.
/// On a mismatch the error names the three numbers.
template <std::int64_t Computed, std::int64_t Printed, std::int64_t Unit>
inline constexpr bool rounds_to_v =
    detail::Reported<published_detail::RoundsTo<Computed, Printed, Unit>, true>::value;

/// `static_assert(params_equal_v<GoogLeNetAux::params, 13'004'888>)`: an exact parameter
/// count of something that is not one `Net` (a net and its auxiliary heads), with the same
/// error as `has_params_v` on a mismatch.
template <std::int64_t Computed, std::int64_t Published>
inline constexpr bool params_equal_v =
    detail::Reported<detail::ParamsMatch<Computed, Published>, Computed == Published>::value;

}  // namespace archetype::architectures
