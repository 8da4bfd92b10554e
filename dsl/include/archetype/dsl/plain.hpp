#pragma once
/// \file
/// \brief `Plain<Net>`: the same net with every shortcut removed.

#include <archetype/dsl/detail/strip_shortcuts.hpp>
#include <archetype/dsl/net.hpp>

namespace archetype {

/// The "plain" counterpart of a residual net (He et al. 2016, Fig. 3 middle): every
/// `Residual<Body, Shortcut>` replaced by its `Body`, everything else unchanged. Option-A
/// shortcuts have no parameters, so `Plain<CifarResNet<N>>` has exactly the parameters of
/// `CifarResNet<N>`; projection shortcuts' parameters disappear with them.
template <Network N>
struct Plain : detail::NetCore<N::input_shape, typename N::adapter,
                               detail::strip_t<typename N::body>, N::classes> {};

}  // namespace archetype
