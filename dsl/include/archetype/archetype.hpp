#pragma once
/// \file
/// \brief The whole vocabulary and its compile-time analysis: `#include <archetype/archetype.hpp>`.

// First, so that a rule's compile error shows the shortest include chain above it.
#include <archetype/dsl/errors.hpp>

#include <archetype/dsl/activations.hpp>
#include <archetype/dsl/adaptive_avg_pool.hpp>
#include <archetype/dsl/analysis.hpp>
#include <archetype/dsl/avg_pool.hpp>
#include <archetype/dsl/batch_norm.hpp>
#include <archetype/dsl/concat.hpp>
#include <archetype/dsl/conv.hpp>
#include <archetype/dsl/depthwise.hpp>
#include <archetype/dsl/dropout.hpp>
#include <archetype/dsl/flatten.hpp>
#include <archetype/dsl/global_avg_pool.hpp>
#include <archetype/dsl/identity.hpp>
#include <archetype/dsl/input_adapter.hpp>
#include <archetype/dsl/layer.hpp>
#include <archetype/dsl/linear.hpp>
#include <archetype/dsl/local_response_norm.hpp>
#include <archetype/dsl/max_pool.hpp>
#include <archetype/dsl/named.hpp>
#include <archetype/dsl/net.hpp>
#include <archetype/dsl/plain.hpp>
#include <archetype/dsl/relu.hpp>
#include <archetype/dsl/repeat.hpp>
#include <archetype/dsl/residual.hpp>
#include <archetype/dsl/scale.hpp>
#include <archetype/dsl/seq.hpp>
#include <archetype/dsl/shape.hpp>
#include <archetype/dsl/stochastic_depth.hpp>
#include <archetype/dsl/transfer.hpp>
#include <archetype/dsl/zero_pad_shortcut.hpp>
