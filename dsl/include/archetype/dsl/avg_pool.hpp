#pragma once
/// \file
/// \brief `AvgPool<K, S, P, Ceil>`.

#include <archetype/dsl/detail/pool_core.hpp>

namespace archetype {

/// Average pooling over K x K windows (padding counted in the divisor, as PyTorch's
/// default). Output and rules as `MaxPool`. Parameters: 0. MACs: 0.
template <int K, int S = K, int P = 0, bool Ceil = false>
struct AvgPool : detail::PoolCore<detail::avg_pool_name, K, S, P, Ceil> {};

}  // namespace archetype
