// The AVX-512 SiLU pass inference runs after a convolution (src/silu.hpp), against
// x / (1 + e^-x) in double precision.
#include "silu.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace archetype::onednn::detail {
namespace {

double silu(double x) { return x / (1 + std::exp(-x)); }

TEST(SiluInPlace, IsWithin3e7OfTheExactValue) {
  if (!silu_in_place_available()) GTEST_SKIP() << "this CPU has no AVX-512F";
  // Every 1/1024 from -87 to 87 (178,177 values: not a multiple of 16, so the masked tail
  // runs, in a block of its own), and the far tails.
  std::vector<float> x;
  for (int i = -87 * 1024; i <= 87 * 1024; ++i) x.push_back(float(i) / 1024.f);
  for (float v : {1e-30f, -1e-30f, 1e-7f, -1e-7f, 88.f, 1e4f, 3e38f}) x.push_back(v);
  std::vector<float> y = x;
  silu_in_place(y.data(), std::int64_t(y.size()));
  double worst = 0;
  float at = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double want = silu(double(x[i]));
    const double err = want == 0 ? std::abs(double(y[i])) : std::abs(y[i] - want) / std::abs(want);
    if (err > worst) worst = err, at = x[i];
  }
  EXPECT_LT(worst, 3e-7) << "at x = " << at;
}

TEST(SiluInPlace, KeepsZeroNanAndInfinityAndTouchesNothingElse) {
  if (!silu_in_place_available()) GTEST_SKIP() << "this CPU has no AVX-512F";
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // n = 1 .. 40: the tail mask for every remainder; the float after the n-th stays as it is.
  for (int n = 1; n <= 40; ++n) {
    std::vector<float> y(std::size_t(n) + 1, 2.f);
    y[0] = 0.f;
    if (n > 1) y[1] = nan;
    if (n > 2) y[2] = inf;
    if (n > 3) y[3] = -1e3f;  // x * 2^-126: below 1e-34 in magnitude, negative
    silu_in_place(y.data(), n);
    EXPECT_EQ(y[0], 0.f) << n;
    if (n > 1) {
      EXPECT_TRUE(std::isnan(y[1])) << n;
    }
    if (n > 2) {
      EXPECT_EQ(y[2], inf) << n;
    }
    if (n > 3) {
      EXPECT_TRUE(y[3] <= 0.f && y[3] > -1e-34f) << n << ": " << y[3];
    }
    for (int i = 4; i < n; ++i) EXPECT_NEAR(y[std::size_t(i)], silu(2.0), 1e-6) << n << ", " << i;
    EXPECT_EQ(y[std::size_t(n)], 2.f) << "wrote past n = " << n;
  }
}

}  // namespace
}  // namespace archetype::onednn::detail
