// The arithmetic of the cuDNN backend's kernels that can be checked without a GPU, run on the
// host from the same headers the device code includes:
// - cpu.cudnn.Layout.*: the NCHW and channels-last index arithmetic (src/layout.hpp) against
//   the plain definitions, NCHW offset ((n C + c) S + k), NHWC offset ((n S + k) C + c);
// - cpu.cudnn.Bf16.*: the host's fp32 <-> bf16 conversions (kernels.hpp), which the data in
//   and out of a bf16 executable go through;
// - cpu.cudnn.BatchNormMath.*: the bf16 path's batch norm (src/batch_norm.hpp), put together as
//   kernels_norm.cu does, against a plain double definition and its finite differences.
#include "batch_norm.hpp"
#include "kernels.hpp"
#include "layout.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <set>
#include <vector>

namespace archetype::cudnn::layout {
namespace {

constexpr int images = 3, channels = 5;
constexpr std::int64_t pixels = 7, count = images * channels * pixels;

std::int64_t nchw(std::int64_t n, std::int64_t c, std::int64_t k) {
  return (n * channels + c) * pixels + k;
}
std::int64_t nhwc(std::int64_t n, std::int64_t c, std::int64_t k) {
  return (n * pixels + k) * channels + c;
}

TEST(Layout, AtIsTheDefinitionAndSplitItsInverse) {
  for (const bool cl : {false, true}) {
    std::set<std::int64_t> seen;
    for (std::int64_t n = 0; n < images; ++n) {
      for (std::int64_t c = 0; c < channels; ++c) {
        for (std::int64_t k = 0; k < pixels; ++k) {
          const std::int64_t i = at(cl, channels, n * channels + c, pixels, k);
          EXPECT_EQ(i, cl ? nhwc(n, c, k) : nchw(n, c, k));
          std::int64_t plane = -1, kk = -1;
          split(cl, channels, pixels, i, plane, kk);
          EXPECT_EQ(plane, n * channels + c);
          EXPECT_EQ(kk, k);
          EXPECT_EQ(channel_of(cl, channels, pixels, i), c);
          EXPECT_EQ(plane_of(cl, channels, pixels, i), n * channels + c);
          seen.insert(i);
        }
      }
    }
    EXPECT_EQ(std::int64_t(seen.size()), count) << "every offset once";
    EXPECT_EQ(*seen.rbegin(), count - 1);
  }
}

TEST(Layout, ChannelElementWalksOneChannel) {
  for (const bool cl : {false, true}) {
    for (int c = 0; c < channels; ++c) {
      for (std::int64_t j = 0; j < images * pixels; ++j) {
        const std::int64_t n = j / pixels, k = j % pixels;
        EXPECT_EQ(channel_element(cl, channels, pixels, c, j), cl ? nhwc(n, c, k) : nchw(n, c, k));
      }
    }
  }
}

// transpose_cast_kernel's rule: dst[i] = src[at(!to_nhwc, plane, k)] with (plane, k) =
// split(to_nhwc, i).
std::vector<int> transpose(const std::vector<int>& src, bool to_nhwc) {
  std::vector<int> dst(src.size());
  for (std::int64_t i = 0; i < count; ++i) {
    std::int64_t plane = 0, k = 0;
    split(to_nhwc, channels, pixels, i, plane, k);
    dst[std::size_t(i)] = src[std::size_t(at(!to_nhwc, channels, plane, pixels, k))];
  }
  return dst;
}

TEST(Layout, TransposeMovesEveryElementToItsChannelsLastPlace) {
  std::vector<int> source(count);
  for (std::int64_t i = 0; i < count; ++i) source[std::size_t(i)] = int(i);
  const std::vector<int> cl = transpose(source, true);
  for (std::int64_t n = 0; n < images; ++n) {
    for (std::int64_t c = 0; c < channels; ++c) {
      for (std::int64_t k = 0; k < pixels; ++k)
        EXPECT_EQ(cl[std::size_t(nhwc(n, c, k))], int(nchw(n, c, k)));
    }
  }
  EXPECT_EQ(transpose(cl, false), source) << "and back";
}

// --- bf16 on the host ---------------------------------------------------------------------------

TEST(Bf16, RoundsToNearestEvenAndKeepsSpecials) {
  using kernels::to_bf16;
  using kernels::to_float;
  EXPECT_EQ(to_bf16(1.0f).bits, 0x3f80);
  EXPECT_EQ(to_float(to_bf16(-2.5f)), -2.5f) << "exact in 8 bits of mantissa";
  // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: to the even one, 1.
  EXPECT_EQ(to_float(to_bf16(1.0f + 0x1p-8f)), 1.0f);
  // 1 + 3 2^-8 lies halfway between 1 + 2^-7 and 1 + 2^-6: to the even one, 1 + 2^-6.
  EXPECT_EQ(to_float(to_bf16(1.0f + 3 * 0x1p-8f)), 1.0f + 0x1p-6f);
  EXPECT_EQ(to_float(to_bf16(1.0f + 0x1p-8f + 0x1p-20f)), 1.0f + 0x1p-7f) << "above halfway: up";
  EXPECT_TRUE(std::isnan(to_float(to_bf16(std::nanf("")))));
  EXPECT_EQ(to_float(to_bf16(INFINITY)), INFINITY);
  EXPECT_EQ(to_float(to_bf16(3.4e38f)), INFINITY) << "beyond bf16's largest finite value";
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<float> u(-100.f, 100.f);
  for (int i = 0; i < 1000;
       ++i) {  // half a unit in the last of 8 significant bits: at most 2^-8 relative
    const float v = u(rng);
    EXPECT_LE(std::abs(to_float(to_bf16(v)) - v), std::abs(v) * 0x1p-8f) << v;
  }
}

// --- batch norm ----------------------------------------------------------------------------------

constexpr double eps = 1e-5, momentum = 0.1;

/// The plain definition, in double, on logical (n, c, k) indices: y = (x - mean) / sqrt(var + eps)
/// g + b, then max(y, 0) with `relu`; the loss is sum w y.
double reference_loss(const std::vector<double>& x, const std::vector<double>& gamma,
                      const std::vector<double>& beta, const std::vector<double>& w, bool relu) {
  double loss = 0;
  const double m = double(images * pixels);
  for (int c = 0; c < channels; ++c) {
    double mean = 0, var = 0;
    for (int n = 0; n < images; ++n) {
      for (int k = 0; k < pixels; ++k) mean += x[std::size_t(nchw(n, c, k))] / m;
    }
    for (int n = 0; n < images; ++n) {
      for (int k = 0; k < pixels; ++k) var += std::pow(x[std::size_t(nchw(n, c, k))] - mean, 2) / m;
    }
    for (int n = 0; n < images; ++n) {
      for (int k = 0; k < pixels; ++k) {
        const std::size_t i = std::size_t(nchw(n, c, k));
        const double y =
            (x[i] - mean) / std::sqrt(var + eps) * gamma[std::size_t(c)] + beta[std::size_t(c)];
        loss += w[i] * (relu ? std::max(y, 0.0) : y);
      }
    }
  }
  return loss;
}

struct HostBatchNorm {
  std::vector<float> y, dx, dgamma, dbeta, running_mean, running_var;
};

/// What kernels_norm.cu computes, step by step (sums per channel, statistics, normalise; sums of dy
/// and dy (x - mean), gradients, dx), on memory in the given layout.
HostBatchNorm kernel_math(bool cl, bool relu, const std::vector<float>& x,
                          const std::vector<float>& dy, const std::vector<float>& gamma,
                          const std::vector<float>& beta) {
  HostBatchNorm r;
  r.y.resize(x.size());
  r.dx.resize(x.size());
  const double m = double(images * pixels);
  for (int c = 0; c < channels; ++c) {
    double s1 = 0, s2 = 0;
    for (std::int64_t j = 0; j < images * pixels; ++j) {
      const double v = x[std::size_t(channel_element(cl, channels, pixels, c, j))];
      s1 += v;
      s2 += v * v;
    }
    const batch_norm::Statistics st = batch_norm::statistics(s1, s2, m, eps, momentum, 0.0, 1.0);
    r.running_mean.push_back(float(st.running_mean));
    r.running_var.push_back(float(st.running_var));
    double d1 = 0, d2 = 0;
    for (std::int64_t j = 0; j < images * pixels; ++j) {
      const auto i = std::size_t(channel_element(cl, channels, pixels, c, j));
      const float y = batch_norm::normalize(x[i], float(st.mean), float(st.inverse_std),
                                            gamma[std::size_t(c)], beta[std::size_t(c)]);
      r.y[i] = relu ? batch_norm::relu(y) : y;
      const float g = relu ? batch_norm::through_relu(dy[i], r.y[i]) : dy[i];
      d1 += g;
      d2 += double(g) * (x[i] - float(st.mean));
    }
    const batch_norm::Gradients g = batch_norm::gradients(d1, d2, m, float(st.inverse_std));
    r.dgamma.push_back(float(g.dgamma));
    r.dbeta.push_back(float(g.dbeta));
    for (std::int64_t j = 0; j < images * pixels; ++j) {
      const auto i = std::size_t(channel_element(cl, channels, pixels, c, j));
      const float gy = relu ? batch_norm::through_relu(dy[i], r.y[i]) : dy[i];
      r.dx[i] = batch_norm::input_gradient(gy, x[i], float(st.mean), float(st.inverse_std),
                                           gamma[std::size_t(c)], float(g.mean_dy), float(g.slope));
    }
  }
  return r;
}

class BatchNormMath : public testing::TestWithParam<bool> {};  // with an absorbed ReLU or without

TEST_P(BatchNormMath, ForwardRunningStatisticsAndGradientsMatchTheDefinition) {
  const bool relu = GetParam();
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<double> x(count), w(count), gamma(channels), beta(channels);
  for (std::size_t i = 0; i < std::size_t(count); ++i)
    x[i] = 0.5 + u(rng) * (1 + double(i % channels)), w[i] = u(rng);
  for (int c = 0; c < channels; ++c)
    gamma[std::size_t(c)] = 1 + 0.3 * u(rng), beta[std::size_t(c)] = u(rng);

  // Finite differences of sum w y, the loss whose dy is w.
  const double h = 1e-4;
  std::vector<double> fd_x(count), fd_gamma(channels), fd_beta(channels);
  const auto central = [&](double& v) {
    const double keep = v;
    v = keep + h;
    const double up = reference_loss(x, gamma, beta, w, relu);
    v = keep - h;
    const double down = reference_loss(x, gamma, beta, w, relu);
    v = keep;
    return (up - down) / (2 * h);
  };
  for (std::size_t i = 0; i < std::size_t(count); ++i) fd_x[i] = central(x[i]);
  for (std::size_t c = 0; c < std::size_t(channels); ++c)
    fd_gamma[c] = central(gamma[c]), fd_beta[c] = central(beta[c]);

  const std::vector<float> gf(gamma.begin(), gamma.end()), bf(beta.begin(), beta.end());
  for (const bool cl : {false, true}) {
    // The same logical tensors laid out in memory.
    std::vector<float> xm(count), wm(count);
    for (int n = 0; n < images; ++n) {
      for (int c = 0; c < channels; ++c) {
        for (int k = 0; k < pixels; ++k) {
          const auto i = std::size_t(at(cl, channels, n * channels + c, pixels, k));
          xm[i] = float(x[std::size_t(nchw(n, c, k))]);
          wm[i] = float(w[std::size_t(nchw(n, c, k))]);
        }
      }
    }
    const HostBatchNorm r = kernel_math(cl, relu, xm, wm, gf, bf);
    double loss = 0;
    for (std::size_t i = 0; i < std::size_t(count); ++i) loss += double(wm[i]) * r.y[i];
    EXPECT_NEAR(loss, reference_loss(x, gamma, beta, w, relu), 1e-4)
        << (cl ? "NHWC" : "NCHW") << ": forward";
    if (relu) {
      EXPECT_GT(std::count(r.y.begin(), r.y.end(), 0.f), count / 4)
          << "the ReLU clips a good share";
    }
    for (int n = 0; n < images; ++n) {
      for (int c = 0; c < channels; ++c) {
        for (int k = 0; k < pixels; ++k) {
          const double want = fd_x[std::size_t(nchw(n, c, k))];
          EXPECT_NEAR(r.dx[std::size_t(at(cl, channels, n * channels + c, pixels, k))], want,
                      1e-3 * (1 + std::abs(want)))
              << (cl ? "NHWC" : "NCHW") << " dx at n " << n << " c " << c << " k " << k;
        }
      }
    }
    for (int c = 0; c < channels; ++c) {
      const auto cc = std::size_t(c);
      EXPECT_NEAR(r.dgamma[cc], fd_gamma[cc], 1e-3 * (1 + std::abs(fd_gamma[cc])))
          << "dgamma " << c;
      EXPECT_NEAR(r.dbeta[cc], fd_beta[cc], 1e-3 * (1 + std::abs(fd_beta[cc]))) << "dbeta " << c;
      // Running statistics from 0 and 1: 0.1 mean and 0.9 + 0.1 unbiased variance.
      double mean = 0, var = 0;
      for (int n = 0; n < images; ++n) {
        for (int k = 0; k < pixels; ++k) mean += x[std::size_t(nchw(n, c, k))] / (images * pixels);
      }
      for (int n = 0; n < images; ++n) {
        for (int k = 0; k < pixels; ++k) var += std::pow(x[std::size_t(nchw(n, c, k))] - mean, 2);
      }
      var /= images * pixels - 1;
      EXPECT_NEAR(r.running_mean[cc], momentum * mean, 1e-5);
      EXPECT_NEAR(r.running_var[cc], 1 - momentum + momentum * var, 1e-5);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Relu, BatchNormMath, testing::Bool(),
                         [](const testing::TestParamInfo<bool>& i) {
                           return i.param ? "absorbed" : "none";
                         });

}  // namespace
}  // namespace archetype::cudnn::layout
