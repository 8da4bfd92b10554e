// Random crop with padding and horizontal flip.
#include <archetype/runtime/augment.hpp>

#include <algorithm>
#include <cstring>

namespace archetype::runtime {

std::uint64_t SplitMix64::below(std::uint64_t n) noexcept {
  // Reject the lowest (2^64 mod n) values so that r mod n is uniform.
  const std::uint64_t threshold = (0 - n) % n;
  for (;;) {
    const std::uint64_t r = (*this)();
    if (r >= threshold) return r % n;
  }
}

std::uint64_t mix_seed(std::uint64_t a, std::uint64_t b, std::uint64_t c) noexcept {
  std::uint64_t h = SplitMix64(a ^ 0x243F6A8885A308D3ULL)();
  h = SplitMix64(h ^ b)();
  return SplitMix64(h ^ c)();
}

void crop_flip(const float* in, float* out, ImageDims dims, int pad, int dx, int dy, bool flip,
               std::span<const float> fill) {
  const int h = dims.h;
  const int w = dims.w;
  const std::size_t plane = static_cast<std::size_t>(h) * static_cast<std::size_t>(w);
  // Non-flipped, output x reads source x + dx - pad: valid for x in [x0, x1).
  const int shift = dx - pad;
  const int x0 = std::clamp(-shift, 0, w);
  const int x1 = std::clamp(w - shift, x0, w);
  for (int c = 0; c < dims.c; ++c) {
    const float f = fill.empty() ? 0.0f : fill[static_cast<std::size_t>(c)];
    const float* src = in + static_cast<std::size_t>(c) * plane;
    float* dst = out + static_cast<std::size_t>(c) * plane;
    for (int y = 0; y < h; ++y) {
      float* row = dst + static_cast<std::size_t>(y) * static_cast<std::size_t>(w);
      const int sy = y + dy - pad;
      if (sy < 0 || sy >= h) {
        std::fill(row, row + w, f);
        continue;
      }
      const float* srow = src + static_cast<std::size_t>(sy) * static_cast<std::size_t>(w);
      if (!flip) {
        std::fill(row, row + x0, f);
        if (x1 > x0) std::memcpy(row + x0, srow + x0 + shift, static_cast<std::size_t>(x1 - x0) * sizeof(float));
        std::fill(row + x1, row + w, f);
      } else {
        for (int x = 0; x < w; ++x) {
          const int sx = (w - 1 - x) + shift;
          row[x] = (sx >= 0 && sx < w) ? srow[sx] : f;
        }
      }
    }
  }
}

void augment_image(const float* in, float* out, ImageDims dims, const Augment& augment, SplitMix64& rng,
                   std::span<const float> fill) {
  int dx = augment.pad;
  int dy = augment.pad;
  if (augment.pad > 0) {
    const auto range = static_cast<std::uint64_t>(2 * augment.pad + 1);
    dx = static_cast<int>(rng.below(range));
    dy = static_cast<int>(rng.below(range));
  }
  const bool flip = augment.flip && (rng() >> 63) != 0;
  crop_flip(in, out, dims, augment.pad, dx, dy, flip, fill);
}

void augment_batch(const float* in, float* out, std::size_t n, ImageDims dims, const Augment& augment,
                   SplitMix64& rng, std::span<const float> fill) {
  const std::size_t stride = dims.size();
  for (std::size_t i = 0; i < n; ++i) augment_image(in + i * stride, out + i * stride, dims, augment, rng, fill);
}

}  // namespace archetype::runtime
