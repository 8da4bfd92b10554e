#pragma once
/// \file
/// \brief Small helpers shared by the static tests: a net made of a list of layers.

#include <archetype/archetype.hpp>

namespace archetype::static_tests {

/// The layers `Ls...` in sequence on an `In` image, without a class count.
template <Shape In, class... Ls>
struct On final : Net<Input<In>, Seq<Ls...>> {};

/// Output shape of the layers `Ls...` applied in sequence to `In`.
template <Shape In, class... Ls>
inline constexpr Shape shape_after = output_shape_v<On<In, Ls...>>;

}  // namespace archetype::static_tests
