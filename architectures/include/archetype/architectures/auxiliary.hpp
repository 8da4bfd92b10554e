#pragma once
/// \file
/// \brief Nets with auxiliary classifiers (GoogLeNet, Inception v3), declared as the main
/// `Net` plus one `Net` per side head on the tensor it taps.
///
/// A `Net` has one output, and the DSL has no combinator for a side output (a layer that
/// passes its input on and also feeds a second loss). Until it has one, a net with
/// auxiliary heads is declared *params-only*: `WithAuxiliaryHeads<Main, Heads...>` sums the
/// parameters of the main net and of each head, and each head is a net of its own on the
/// shape of the tensor it taps, so its shapes, parameters and MACs are still checked. The
/// main net is the one that trains and runs (the heads are dropped at inference anyway).

#include <archetype/archetype.hpp>

#include <cstdint>

namespace archetype::architectures {

/// A side classifier `Head` applied to a `Tap`-shaped tensor of a net, its rows under
/// `Name` (torchvision's `aux1`, `AuxLogits`), ending in `Classes` scores.
template <Shape Tap, FixedString Name, class Head, int Classes>
struct AuxiliaryHead final : Net<Input<Tap>, Named<Name, Head>, Classes> {};

/// The main net `Main` and its auxiliary heads: parameters and buffers of all of them
/// (what torchvision counts with `aux_logits=True`); the forward pass and its MACs are the
/// main net's.
template <Network Main, Network... Heads>
struct WithAuxiliaryHeads {
  using net = Main;
  static constexpr std::int64_t params = (params_v<Main> + ... + params_v<Heads>);
  static constexpr std::int64_t buffers = (buffers_v<Main> + ... + buffers_v<Heads>);
  static constexpr std::int64_t heads_params = (std::int64_t{0} + ... + params_v<Heads>);
};

}  // namespace archetype::architectures
