// Training-time augmentation, as in He et al. 2016 for CIFAR: pad each side by `pad` pixels,
// take a random H×W crop of the padded image (offsets uniform in [0, 2·pad] on each axis),
// then flip horizontally with probability 1/2 (torchvision's RandomCrop(padding) followed by
// RandomHorizontalFlip). Random choices come from a seeded generator and nothing else, so the
// same seed gives the same images on every run and platform.
#pragma once

#include <archetype/runtime/dataset.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

namespace archetype::runtime {

struct Augment {
  int pad = 0;        // 0: no random crop
  bool flip = false;  // random horizontal flip
  // Data sets with a SampleSource (image folders) only: torchvision's RandomResizedCrop
  // (archetype/runtime/image.hpp) in place of the padded crop.
  bool resized_crop = false;
  [[nodiscard]] constexpr bool enabled() const noexcept { return pad > 0 || flip || resized_crop; }
  friend constexpr bool operator==(const Augment&, const Augment&) = default;
};

// One image, one fixed choice: out(c, y, x) = in(c, y + dy - pad, x' + dx - pad) where
// x' = (flip ? W-1-x : x), and fill[c] where that lies outside the image (fill empty: 0).
// dx, dy in [0, 2·pad]. `in` and `out` must not overlap.
void crop_flip(const float* in, float* out, ImageDims dims, int pad, int dx, int dy, bool flip,
               std::span<const float> fill = {});

// A small, fully specified generator (splitmix64): the augmentation's randomness.
class SplitMix64 {
 public:
  explicit constexpr SplitMix64(std::uint64_t seed) noexcept : state_(seed) {}
  constexpr std::uint64_t operator()() noexcept {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n > 0 (rejection sampling: unbiased).
  std::uint64_t below(std::uint64_t n) noexcept;

 private:
  std::uint64_t state_;
};

// Mixes values into one well-distributed 64-bit seed: mix_seed(seed, epoch, batch).
[[nodiscard]] std::uint64_t mix_seed(std::uint64_t a, std::uint64_t b, std::uint64_t c = 0) noexcept;

// One image with random choices drawn from rng: dx, dy (each uniform in [0, 2·pad], drawn
// only when pad > 0), then the flip (drawn only when augment.flip).
void augment_image(const float* in, float* out, ImageDims dims, const Augment& augment, SplitMix64& rng,
                   std::span<const float> fill = {});

// `n` images, contiguous in `in` (n × dims.size()), augmented into `out`, image by image
// in order with augment_image.
void augment_batch(const float* in, float* out, std::size_t n, ImageDims dims, const Augment& augment,
                   SplitMix64& rng, std::span<const float> fill = {});

}  // namespace archetype::runtime
