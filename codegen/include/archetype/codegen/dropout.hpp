#pragma once
/// \file
/// \brief The one definition of Dropout's and StochasticDepth's random draws, shared by the
/// oneDNN backend (host loops) and the cuDNN backend (device kernels): the same seed gives
/// the same masks on every backend.
///
/// A counter-based generator (splitmix64's finaliser over seed, step and index), so the
/// backward recomputes or reuses the forward's draws and a CUDA Graph replay draws new ones:
/// - `seed`: the op's own, `op_seed(options seed, op index)`;
/// - `step`: the executable's forward passes in training, counted from 1;
/// - `index`: the element's index in the logical NCHW order of the batch divided by the
///   values sharing one draw (1 for Dropout; one image's elements for StochasticDepth, so
///   that the index is the image's). Every Dropout of the zoo sees a 1x1 map or a vector,
///   where every layout orders elements alike.
/// An element is kept when `uniform(...) >= p`, and a kept value is scaled by 1 / (1 - p).
/// Plain C++17 (codegen/host_device.hpp aside), so that nvcc compiles it into the kernels.

#include <cstdint>

#include <archetype/codegen/host_device.hpp>

namespace archetype::codegen::dropout {

/// The seed of op `op`'s draws.
ARCHETYPE_HOST_DEVICE constexpr std::uint64_t op_seed(std::uint64_t seed, int op) {
  return seed + std::uint64_t(op) * 0x632be59bd9b4e019ULL;
}

/// A uniform double in [0, 1) (53 bits) for (seed, step, index).
ARCHETYPE_HOST_DEVICE constexpr double uniform(std::uint64_t seed, std::uint64_t step,
                                               std::uint64_t index) {
  std::uint64_t z = seed ^ (step * 0x9e3779b97f4a7c15ULL) ^ (index * 0xbf58476d1ce4e5b9ULL);
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return double(z >> 11) * (1.0 / 9007199254740992.0);
}

/// Whether draw `index` of `step` keeps its values, for a drop probability `p`.
ARCHETYPE_HOST_DEVICE constexpr bool keep(std::uint64_t seed, std::uint64_t step,
                                          std::uint64_t index, double p) {
  return uniform(seed, step, index) >= p;
}

}  // namespace archetype::codegen::dropout
