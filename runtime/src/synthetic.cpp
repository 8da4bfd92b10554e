// The seeded synthetic data set: per-class plane waves plus noise.
#include <archetype/runtime/synthetic.hpp>

#include <archetype/runtime/augment.hpp>  // SplitMix64, mix_seed

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>

namespace archetype::runtime {
namespace {
// Uniform in [0, 1) from the top 24 bits.
float unit(SplitMix64& rng) noexcept { return static_cast<float>(rng() >> 40) * (1.0f / 16777216.0f); }
}  // namespace

Dataset make_synthetic(const SyntheticSpec& spec) {
  if (spec.dims.c <= 0 || spec.dims.h <= 0 || spec.dims.w <= 0 || spec.classes <= 0) {
    throw std::invalid_argument("make_synthetic: dims and classes must be positive");
  }
  Dataset d;
  d.name = "synthetic";
  d.dims = spec.dims;
  d.classes = spec.classes;
  const std::size_t channels = static_cast<std::size_t>(spec.dims.c);
  const std::size_t plane = static_cast<std::size_t>(spec.dims.h) * static_cast<std::size_t>(spec.dims.w);
  const std::size_t image = channels * plane;

  // Class patterns: 0.5 + 0.35·sin(fx·x + fy·y + phase), one wave per class and channel.
  std::vector<float> patterns(static_cast<std::size_t>(spec.classes) * image);
  SplitMix64 rng(mix_seed(spec.seed, 0x5EED));
  for (int k = 0; k < spec.classes; ++k) {
    for (std::size_t c = 0; c < channels; ++c) {
      const float fx = (2.0f * unit(rng) - 1.0f) * 0.8f;
      const float fy = (2.0f * unit(rng) - 1.0f) * 0.8f;
      const float phase = unit(rng) * 2.0f * std::numbers::pi_v<float>;
      float* p = patterns.data() + static_cast<std::size_t>(k) * image + c * plane;
      for (int y = 0; y < spec.dims.h; ++y) {
        for (int x = 0; x < spec.dims.w; ++x) {
          p[static_cast<std::size_t>(y) * static_cast<std::size_t>(spec.dims.w) + static_cast<std::size_t>(x)] =
              0.5f + 0.35f * std::sin(fx * static_cast<float>(x) + fy * static_cast<float>(y) + phase);
        }
      }
    }
  }

  d.labels.resize(spec.samples);
  d.images.resize(spec.samples * image);
  SplitMix64 noise(mix_seed(spec.seed, 0x401E));
  for (std::size_t i = 0; i < spec.samples; ++i) {
    const int label = static_cast<int>(i % static_cast<std::size_t>(spec.classes));
    d.labels[i] = label;
    const float* p = patterns.data() + static_cast<std::size_t>(label) * image;
    float* dst = d.image(i);
    for (std::size_t j = 0; j < image; ++j) {
      dst[j] = std::clamp(p[j] + spec.noise * (2.0f * unit(noise) - 1.0f), 0.0f, 1.0f);
    }
  }
  return d;
}

}  // namespace archetype::runtime
