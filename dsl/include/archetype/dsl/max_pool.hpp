#pragma once
/// \file
/// \brief `MaxPool<K, S, P, Ceil>`.

#include <archetype/dsl/detail/pool_core.hpp>

namespace archetype {

/// Max pooling over K x K windows with stride S (default K) and padding P.
/// Output: `C x ((H + 2P - K) / S + 1) x …` (rounded up with `Ceil`, PyTorch's ceil_mode).
/// Parameters: 0. MACs: 0. Rules: K, S positive; 0 <= P <= K/2; K fits the padded input.
template <int K, int S = K, int P = 0, bool Ceil = false>
struct MaxPool : detail::PoolCore<detail::max_pool_name, K, S, P, Ceil> {};

}  // namespace archetype
