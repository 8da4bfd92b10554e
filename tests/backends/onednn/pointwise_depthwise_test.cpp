// Our 1x1 + depthwise kernel (src/pointwise_depthwise.hpp) against the two convolutions
// computed one after the other in double precision: channels-last and nChw16c values,
// kernels 3 and 5, strides 1 and 2, each activation, batches that split by images and by
// channel blocks, widths and channel counts off the kernel's register blocks.
#include "pointwise_depthwise.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace archetype::onednn::detail {
namespace {

double activate(Activation a, double v) {
  switch (a) {
    case Activation::relu:
      return std::max(v, 0.0);
    case Activation::relu6:
      return std::min(std::max(v, 0.0), 6.0);
    case Activation::silu:
      return v / (1 + std::exp(-v));
    case Activation::none:
      break;
  }
  return v;
}

struct Case {
  int batch, in_channels, channels, height, width, kernel, stride;
  Activation first, second;
  bool blocked;
};

std::string name(const Case& c) {
  return "batch " + std::to_string(c.batch) + ", " + std::to_string(c.in_channels) + " -> " +
         std::to_string(c.channels) + " at " + std::to_string(c.height) + "x" +
         std::to_string(c.width) + ", kernel " + std::to_string(c.kernel) + " stride " +
         std::to_string(c.stride) + (c.blocked ? ", nChw16c" : ", channels-last");
}

// The largest difference, relative to 1 + |exact|, over the whole output.
double worst_error(const Case& c) {
  PointwiseDepthwise g{.batch = c.batch,
                       .in_channels = c.in_channels,
                       .channels = c.channels,
                       .height = c.height,
                       .width = c.width,
                       .kernel = c.kernel,
                       .stride = c.stride,
                       .pad = c.kernel / 2,
                       .first = c.first,
                       .second = c.second};
  const int H = c.height, W = c.width, Ci = c.in_channels, C = c.channels, K = c.kernel;
  const int Ho = g.out_height(), Wo = g.out_width();
  g.set_layouts(c.blocked, c.blocked);
  EXPECT_TRUE(pointwise_depthwise_available(g));

  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.f, 0.5f);
  const auto random = [&](std::size_t n) {
    std::vector<float> v(n);
    for (float& f : v) f = normal(rng);
    return v;
  };
  const std::vector<float> x = random(std::size_t(c.batch) * Ci * H * W);  // NCHW
  const std::vector<float> w1 = random(std::size_t(C) * Ci), b1 = random(std::size_t(C));
  const std::vector<float> wd = random(std::size_t(C) * K * K), b2 = random(std::size_t(C));

  // The source in the kernel's layout (the blocked padding channels hold NaN: never read).
  std::vector<float> xl(std::size_t(g.x_image * c.batch), std::nanf(""));
  for (int n = 0; n < c.batch; ++n)
    for (int i = 0; i < Ci; ++i)
      for (int p = 0; p < H * W; ++p)
        xl[std::size_t(n * g.x_image + (i / 16) * g.x_block + p * g.x_pixel + i % 16)] =
            x[(std::size_t(n) * Ci + i) * H * W + std::size_t(p)];
  std::vector<float> p1(w1.size()), pd(wd.size());
  pack_pointwise_depthwise(g, w1.data(), wd.data(), p1.data(), pd.data());
  const int threads = 2;
  std::vector<float> scratch(std::size_t(pointwise_depthwise_scratch(g)) * threads, std::nanf(""));
  std::vector<float> y(std::size_t(g.y_image * c.batch), std::nanf(""));
  pointwise_depthwise(g, xl.data(), p1.data(), b1.data(), pd.data(), b2.data(), y.data(),
                      scratch.data(), threads);

  double worst = 0;
  std::vector<double> e(std::size_t(C) * H * W);
  for (int n = 0; n < c.batch; ++n) {
    for (int o = 0; o < C; ++o)
      for (int p = 0; p < H * W; ++p) {
        double s = b1[std::size_t(o)];
        for (int i = 0; i < Ci; ++i)
          s += double(w1[std::size_t(o) * Ci + std::size_t(i)]) *
               x[(std::size_t(n) * Ci + i) * H * W + std::size_t(p)];
        e[std::size_t(o) * H * W + std::size_t(p)] = activate(c.first, s);
      }
    for (int o = 0; o < C; ++o)
      for (int ho = 0; ho < Ho; ++ho)
        for (int wo = 0; wo < Wo; ++wo) {
          double s = b2[std::size_t(o)];
          for (int kh = 0; kh < K; ++kh)
            for (int kw = 0; kw < K; ++kw) {
              const int h = ho * c.stride - g.pad + kh, w = wo * c.stride - g.pad + kw;
              if (h < 0 || h >= H || w < 0 || w >= W) continue;
              s += double(wd[(std::size_t(o) * K + kh) * K + kw]) *
                   e[(std::size_t(o) * H + h) * W + std::size_t(w)];
            }
          const double want = activate(c.second, s);
          const double got = y[std::size_t(n * g.y_image + (o / 16) * g.y_block +
                                           (ho * Wo + wo) * g.y_pixel + o % 16)];
          worst = std::max(worst,
                           std::isfinite(got) ? std::abs(got - want) / (1 + std::abs(want)) : 1e9);
        }
  }
  return worst;
}

TEST(PointwiseDepthwise, ComputesTheTwoConvolutionsOneAfterTheOther) {
  if (!pointwise_depthwise_cpu()) GTEST_SKIP() << "this CPU has no AVX-512F";
  using A = Activation;
  for (const bool blocked : {false, true}) {
    for (const int kernel : {3, 5}) {
      for (const int stride : {1, 2}) {
        // Batch 1 and 3 split each image between the two threads: 48 or 96 channels by
        // blocks, 80 channels at 24 rows (5 blocks) by rows; batch 2 gives each thread
        // images. Widths 10, 15 and 23 leave tails of the 7-wide blocks; 17, 20 and 40
        // input channels, a partial block of 16.
        for (const Case c : {Case{1, 24, 48, 9, 10, kernel, stride, A::silu, A::silu, blocked},
                             Case{3, 40, 96, 14, 15, kernel, stride, A::relu6, A::none, blocked},
                             Case{2, 17, 80, 7, 8, kernel, stride, A::none, A::relu, blocked},
                             Case{1, 20, 80, 24, 23, kernel, stride, A::silu, A::relu6, blocked}}) {
          // Measured: at most 2.1e-6 (float sums over 40 products).
          EXPECT_LT(worst_error(c), 1e-5) << name(c);
        }
      }
    }
  }
}

TEST(PointwiseDepthwise, TakesOnlyTheGeometriesItComputes) {
  PointwiseDepthwise g;
  g.in_channels = 16;
  g.channels = 96;
  g.height = g.width = 14;
  g.kernel = 3;
  g.pad = 1;
  EXPECT_EQ(pointwise_depthwise_available(g), pointwise_depthwise_cpu());
  g.channels = 72;  // not a multiple of 16
  EXPECT_FALSE(pointwise_depthwise_available(g));
  g.channels = 96;
  g.kernel = 7;
  g.pad = 3;
  EXPECT_FALSE(pointwise_depthwise_available(g));
  g.kernel = 3;
  g.pad = 0;  // "valid": not the kernel's
  EXPECT_FALSE(pointwise_depthwise_available(g));
  g.pad = 1;
  g.stride = 3;
  EXPECT_FALSE(pointwise_depthwise_available(g));
}

}  // namespace
}  // namespace archetype::onednn::detail
