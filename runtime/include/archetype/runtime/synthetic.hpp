// A seeded synthetic classification set for tests and benchmarks: each class has its own
// smooth pattern (a per-class, per-channel plane wave), and each sample is its class pattern
// plus uniform noise, clamped to [0,1]. A small net learns it in a few steps; noise makes it
// not quite trivial. The same spec gives the same data on every run (no std:: distributions
// are used; only std::sin may differ in the last bit between C libraries).
#pragma once

#include <archetype/runtime/dataset.hpp>

#include <cstddef>
#include <cstdint>

namespace archetype::runtime {

struct SyntheticSpec {
  std::size_t samples = 1024;
  ImageDims dims{1, 28, 28};
  int classes = 10;
  std::uint64_t seed = 0;
  float noise = 0.2f;  // amplitude of the per-pixel uniform noise in [-noise, noise]
};

// Labels are i % classes (balanced, also for every prefix). Throws std::invalid_argument for
// non-positive dims or classes.
[[nodiscard]] Dataset make_synthetic(const SyntheticSpec& spec);

}  // namespace archetype::runtime
