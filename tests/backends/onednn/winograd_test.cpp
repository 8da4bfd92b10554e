// Our F(4x4, 3x3) Winograd kernel (src/winograd.hpp) against the convolution computed in
// double precision: pad 1 and 0, images whose sides are not multiples of the 4x4 tile,
// output channels off the product's 16-wide block, with and without bias, residual sum and
// ReLU, chunks private to a thread and chunks shared by the threads, the last one partial.
#include "winograd.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace archetype::onednn::detail {
namespace {

struct Case {
  int batch, in_channels, out_channels, height, width, pad;
  bool bias, sum, relu;
};

std::string name(const Case& c) {
  return "batch " + std::to_string(c.batch) + ", " + std::to_string(c.in_channels) + " -> " +
         std::to_string(c.out_channels) + " at " + std::to_string(c.height) + "x" +
         std::to_string(c.width) + ", pad " + std::to_string(c.pad) + (c.bias ? ", bias" : "") +
         (c.sum ? ", sum" : "") + (c.relu ? ", relu" : "");
}

/// nChw8c index of (n, channel, h, w) for `channels` channels at H x W.
std::size_t at(int n, int channel, int h, int w, int channels, int H, int W) {
  return ((((std::size_t(n) * (channels / 8) + std::size_t(channel / 8)) * std::size_t(H) +
            std::size_t(h)) *
               std::size_t(W) +
           std::size_t(w)) *
          8) +
         std::size_t(channel % 8);
}

Winograd3x3 geometry(const Case& c) {
  const Winograd3x3 g{.batch = c.batch,
                      .in_channels = c.in_channels,
                      .out_channels = c.out_channels,
                      .height = c.height,
                      .width = c.width,
                      .pad = c.pad,
                      .sum = c.sum,
                      .relu = c.relu};
  EXPECT_TRUE(winograd_available(g));
  return g;
}

/// `n` values drawn from N(0, scale^2).
std::vector<float> random(std::mt19937& rng, std::size_t n, float scale = 1.f) {
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> v(n);
  for (float& f : v) f = normal(rng) * scale;
  return v;
}

// The largest difference, relative to 1 + |exact|, over the whole output (1e9 for a value
// not finite: an output never written keeps its NaN).
double worst_error(const Case& c) {
  const Winograd3x3 g = geometry(c);
  const int C = c.in_channels, K = c.out_channels, H = c.height, W = c.width;
  const int Ho = g.out_height(), Wo = g.out_width();
  std::mt19937 rng(11);
  const std::vector<float> x = random(rng, std::size_t(c.batch) * C * H * W);  // nChw8c
  const std::vector<float> w = random(rng, std::size_t(K) * C * 9, 1.f / std::sqrt(9.f * C));
  const std::vector<float> b = random(rng, std::size_t(K), 0.5f);
  const std::vector<float> summand = random(rng, std::size_t(c.batch) * K * Ho * Wo);
  std::vector<float> y = c.sum ? summand : std::vector<float>(summand.size(), std::nanf(""));
  std::vector<float> u(std::size_t(winograd_weights_floats(g)));
  pack_winograd(g, w.data(), u.data());
  const int threads = 2;
  std::vector<float> scratch(std::size_t(winograd_scratch(g, threads)), std::nanf(""));
  winograd(g, x.data(), u.data(), c.bias ? b.data() : nullptr, y.data(), scratch.data(), threads);

  double worst = 0;
  for (int n = 0; n < c.batch; ++n)
    for (int k = 0; k < K; ++k)
      for (int ho = 0; ho < Ho; ++ho)
        for (int wo = 0; wo < Wo; ++wo) {
          double s = c.bias ? b[std::size_t(k)] : 0.0;
          for (int i = 0; i < C; ++i)
            for (int kh = 0; kh < 3; ++kh)
              for (int kw = 0; kw < 3; ++kw) {
                const int h = ho - c.pad + kh, v = wo - c.pad + kw;
                if (h < 0 || h >= H || v < 0 || v >= W) continue;
                s += double(w[((std::size_t(k) * C + std::size_t(i)) * 3 + std::size_t(kh)) * 3 +
                              std::size_t(kw)]) *
                     x[at(n, i, h, v, C, H, W)];
              }
          const std::size_t o = at(n, k, ho, wo, K, Ho, Wo);
          if (c.sum) s += summand[o];
          const double want = c.relu ? std::max(s, 0.0) : s;
          const double got = y[o];
          worst = std::max(worst,
                           std::isfinite(got) ? std::abs(got - want) / (1 + std::abs(want)) : 1e9);
        }
  return worst;
}

TEST(Winograd, ComputesTheConvolution) {
  if (!winograd_cpu()) GTEST_SKIP() << "this CPU has no AVX2 with FMA";
  // 24 and 40 output channels leave half of the last 16-wide block of U as padding; 9x11,
  // 13x7 and 26x26 leave partial tiles at the right and bottom edges; pad 0 on 4x4 gives one
  // tile of 2x2. 16 -> 24 and 40 -> 32 take private chunks (24 tiles at batch 3: one chunk
  // of 12 per thread); 256 -> 512 shares its chunks (49 tiles: 36 + 13).
  for (const Case c :
       {Case{2, 16, 24, 9, 11, 1, true, true, true}, Case{1, 8, 8, 4, 4, 0, false, false, false},
        Case{3, 40, 32, 13, 7, 1, true, false, true}, Case{1, 32, 40, 6, 6, 0, false, true, false},
        Case{1, 256, 512, 26, 26, 1, true, true, true}}) {
    // Measured: at most 5e-5 over 512-channel layers in a standalone harness.
    EXPECT_LT(worst_error(c), 2e-4) << name(c);
  }
}

// The weights gradient's largest difference from the one computed in double, relative to
// 1 + the largest |exact| of each of dw and db (sums over every pixel of every image).
double worst_gradient_error(const Case& c) {
  const Winograd3x3 g = geometry(c);  // its sum and relu ignored
  const int C = c.in_channels, K = c.out_channels, H = c.height, W = c.width;
  const int Ho = g.out_height(), Wo = g.out_width();
  std::mt19937 rng(12);
  const std::vector<float> x = random(rng, std::size_t(c.batch) * C * H * W);     // nChw8c
  const std::vector<float> dy = random(rng, std::size_t(c.batch) * K * Ho * Wo);  // nChw8c
  std::vector<float> dw(std::size_t(K) * C * 9, std::nanf(""));
  std::vector<float> db(std::size_t(K), std::nanf(""));
  std::vector<float> scratch(std::size_t(winograd_gradient_scratch(g)), std::nanf(""));
  winograd_weights_gradient(g, x.data(), dy.data(), dw.data(), c.bias ? db.data() : nullptr,
                            scratch.data(), 2);

  std::vector<double> want_w(dw.size(), 0.0), want_b(db.size(), 0.0);
  for (int n = 0; n < c.batch; ++n)
    for (int k = 0; k < K; ++k)
      for (int ho = 0; ho < Ho; ++ho)
        for (int wo = 0; wo < Wo; ++wo) {
          const double d = dy[at(n, k, ho, wo, K, Ho, Wo)];
          want_b[std::size_t(k)] += d;
          for (int i = 0; i < C; ++i)
            for (int kh = 0; kh < 3; ++kh)
              for (int kw = 0; kw < 3; ++kw) {
                const int h = ho - c.pad + kh, v = wo - c.pad + kw;
                if (h < 0 || h >= H || v < 0 || v >= W) continue;
                want_w[((std::size_t(k) * C + std::size_t(i)) * 3 + std::size_t(kh)) * 3 +
                       std::size_t(kw)] += d * x[at(n, i, h, v, C, H, W)];
              }
        }
  const auto worst = [](const std::vector<float>& got, const std::vector<double>& want) {
    double scale = 0, error = 0;
    for (double w : want) scale = std::max(scale, std::abs(w));
    for (std::size_t i = 0; i < got.size(); ++i) {
      error = std::max(error, std::isfinite(got[i]) ? std::abs(got[i] - want[i]) : 1e9);
    }
    return error / (1 + scale);
  };
  return std::max(worst(dw, want_w), c.bias ? worst(db, want_b) : 0.0);
}

TEST(Winograd, ComputesTheWeightsGradient) {
  if (!winograd_cpu()) GTEST_SKIP() << "this CPU has no AVX2 with FMA";
  // Partial tiles (9x11, 13x7: dy is zero past the edge), pad 0, 24 and 40 input channels
  // (a last 8-wide column block of dU), 40 output channels (rows past the 6-row blocks);
  // batch 40 of 8 -> 16 channels at 16x16 gives 640 tiles: two chunks (512 + 128), so dU
  // accumulates across chunks.
  for (const Case c :
       {Case{2, 16, 24, 9, 11, 1, true, false, false}, Case{1, 8, 8, 4, 4, 0, false, false, false},
        Case{3, 40, 32, 13, 7, 1, true, false, false}, Case{1, 24, 40, 6, 6, 0, true, false, false},
        Case{2, 32, 64, 16, 16, 1, false, false, false},
        Case{40, 8, 16, 16, 16, 1, true, false, false}}) {
    EXPECT_LT(worst_gradient_error(c), 1e-4) << name(c);
  }
  const Winograd3x3 two_chunks{
      .batch = 40, .in_channels = 8, .out_channels = 16, .height = 16, .width = 16};
  EXPECT_EQ(winograd_gradient_chunk(two_chunks), 512);
  EXPECT_EQ(two_chunks.tiles(), 640);
  const Winograd3x3 large{
      .batch = 128, .in_channels = 512, .out_channels = 512, .height = 4, .width = 4};
  EXPECT_EQ(winograd_gradient_chunk(large), 128);  // 2^21 / (36 x 1024) = 56.9 -> 128
  EXPECT_EQ(winograd_gradient_scratch(large), 128 * 36 * 1024 + 36 * 512 * 512);
}

TEST(Winograd, PacksTheDataGradientsFlippedWeights) {
  if (!winograd_cpu()) GTEST_SKIP() << "this CPU has no AVX2 with FMA";
  // A forward convolution in -> out channels has its data gradient run out -> in with each
  // filter transposed and turned by 180 degrees. Packed from the forward's weights with
  // `flipped`, U equals U packed from that copy made by hand: 24 -> 16 (16 columns) and
  // 8 -> 24 (half of the last 16-wide block padding).
  std::mt19937 rng(13);
  for (const auto& [in, out] : {std::pair{24, 16}, std::pair{8, 24}}) {
    const Winograd3x3 g{
        .batch = 1, .in_channels = in, .out_channels = out, .height = 8, .width = 8};
    const std::vector<float> forward = random(rng, std::size_t(in) * out * 9);  // [in][out]
    std::vector<float> copy(forward.size());                                    // [out][in]
    for (std::size_t i = 0; i < std::size_t(in); ++i)
      for (std::size_t o = 0; o < std::size_t(out); ++o)
        for (std::size_t q = 0; q < 9; ++q)
          copy[(o * std::size_t(in) + i) * 9 + q] = forward[(i * std::size_t(out) + o) * 9 + 8 - q];
    std::vector<float> flipped(std::size_t(winograd_weights_floats(g)), std::nanf(""));
    std::vector<float> packed(flipped.size(), std::nanf(""));
    pack_winograd(g, forward.data(), flipped.data(), true);
    pack_winograd(g, copy.data(), packed.data());
    EXPECT_EQ(flipped, packed) << in << " -> " << out;
  }
}

TEST(Winograd, ChunksAreSizedByTheWeights) {
  Winograd3x3 small{.batch = 64, .in_channels = 64, .out_channels = 64, .height = 32, .width = 32};
  EXPECT_TRUE(small.private_chunks());
  EXPECT_EQ(small.chunk(), 12);
  EXPECT_EQ(winograd_scratch(small, 2), 2 * 12 * 36 * (64 + 64));
  Winograd3x3 large{.batch = 1, .in_channels = 256, .out_channels = 512, .height = 26, .width = 26};
  EXPECT_FALSE(large.private_chunks());
  EXPECT_EQ(large.chunk(), 36);  // 2^20 floats / (36 x 768) = 37.9 -> 36, a multiple of 6
  EXPECT_EQ(large.tiles(), 49);
  EXPECT_EQ(winograd_scratch(large, 2), 36 * 36 * (256 + 512));
  Winograd3x3 odd = small;
  odd.in_channels = 12;  // not a multiple of 8: nChw8c would pad it
  EXPECT_FALSE(winograd_available(odd));
}

}  // namespace
}  // namespace archetype::onednn::detail
