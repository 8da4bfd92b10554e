#pragma once
/// \file
/// \brief Tiny naive loops (plain NCHW, batch first) that the oneDNN backend's forward
/// results are compared with, and the helpers the tests share.

#include <archetype/archetype.hpp>
#include <archetype/backends/onednn/executable.hpp>
#include <archetype/codegen/program.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace archetype::onednn::test {

using Vec = std::vector<float>;

inline Vec random_vec(std::size_t n, std::uint64_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  Vec v(n);
  for (float& x : v) x = u(rng);
  return v;
}

inline void expect_close(std::span<const float> got, std::span<const float> want,
                         float tol = 1e-4f) {
  ASSERT_EQ(got.size(), want.size());
  int reported = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const float bound = tol * std::max(1.f, std::abs(want[i]));
    if (!(std::abs(got[i] - want[i]) <= bound)) {
      ADD_FAILURE() << "element " << i << ": got " << got[i] << ", want " << want[i];
      if (++reported == 10) return;
    }
  }
}

/// The program of net type N.
template <class N>
codegen::ProgramView program() {
  return codegen::program_v<N>.view();
}

/// An executable with random parameters (and, for BatchNorm, random running statistics
/// with a positive variance), deterministic from `seed`.
inline void randomize(Executable& exe, std::uint64_t seed) {
  Vec p = random_vec(exe.parameters().size(), seed);
  std::copy(p.begin(), p.end(), exe.parameters().begin());
  Vec b = random_vec(exe.buffers().size(), seed + 1, 0.2f, 1.5f);
  std::copy(b.begin(), b.end(), exe.buffers().begin());
}

/// BatchNorm + ReLU is fused in training when the ReLU alone reads the BatchNorm (one oneDNN
/// primitive, the ReLU's mask in its workspace); a Dropout<0> (identity) in between prevents
/// the fusion and gives the reference. Checks that both give the same outputs, gradients and
/// running statistics with options `o`, from parameters drawn from `seed`.
inline void expect_fused_batch_norm_relu_matches_unfused(const Options& o, std::uint64_t seed) {
  using Fused =
      Net<Input<Shape{3, 6, 6}>, Seq<Conv3x3<16>, BatchNorm, ReLU, Conv3x3<8>, GlobalAvgPool>>;
  using Unfused = Net<Input<Shape{3, 6, 6}>,
                      Seq<Conv3x3<16>, BatchNorm, Dropout<0.0>, ReLU, Conv3x3<8>, GlobalAvgPool>>;
  const int batch = 4;
  Executable a(program<Fused>(), batch, Mode::training, o);
  Executable b(program<Unfused>(), batch, Mode::training, o);
  randomize(a, seed);
  std::copy(a.parameters().begin(), a.parameters().end(), b.parameters().begin());
  std::copy(a.buffers().begin(), a.buffers().end(), b.buffers().begin());
  const Vec x = random_vec(std::size_t(batch) * 3 * 6 * 6, seed + 1);
  const auto ya = a.forward(x);
  const Vec want(ya.begin(), ya.end());
  expect_close(b.forward(x), want, 1e-5f);
  const Vec w = random_vec(want.size(), seed + 2);
  a.set_output_gradient(w);
  b.set_output_gradient(w);
  a.backward();
  b.backward();
  expect_close(a.gradients(), Vec(b.gradients().begin(), b.gradients().end()), 1e-4f);
  expect_close(a.input_gradient(), Vec(b.input_gradient().begin(), b.input_gradient().end()),
               1e-4f);
  expect_close(a.buffers(), Vec(b.buffers().begin(), b.buffers().end()), 1e-6f);
}

/// Index into a plain N x C x H x W tensor.
struct Dims {
  int n, c, h, w;
  [[nodiscard]] std::size_t at(int in, int ic, int ih, int iw) const {
    return ((std::size_t(in) * std::size_t(c) + std::size_t(ic)) * std::size_t(h) +
            std::size_t(ih)) *
               std::size_t(w) +
           std::size_t(iw);
  }
  [[nodiscard]] std::size_t size() const {
    return std::size_t(n) * std::size_t(c) * std::size_t(h) * std::size_t(w);
  }
};

/// Convolution: w [Out, C/G, Kh, Kw], optional bias.
inline Vec conv(const Vec& x, Dims d, const float* w, const float* bias, int out_c, int kh, int kw,
                int sh, int sw, int ph, int pw, int groups) {
  const int oh = (d.h + 2 * ph - kh) / sh + 1, ow = (d.w + 2 * pw - kw) / sw + 1;
  const Dims od{d.n, out_c, oh, ow};
  const int cg = d.c / groups, og = out_c / groups;
  Vec y(od.size());
  for (int n = 0; n < d.n; ++n)
    for (int o = 0; o < out_c; ++o)
      for (int i = 0; i < oh; ++i)
        for (int j = 0; j < ow; ++j) {
          double s = bias ? bias[o] : 0.0;
          const int g = o / og;
          for (int c = 0; c < cg; ++c)
            for (int a = 0; a < kh; ++a)
              for (int b = 0; b < kw; ++b) {
                const int yi = i * sh - ph + a, xj = j * sw - pw + b;
                if (yi < 0 || yi >= d.h || xj < 0 || xj >= d.w) continue;
                s += double(w[((o * cg + c) * kh + a) * kw + b]) * x[d.at(n, g * cg + c, yi, xj)];
              }
          y[od.at(n, o, i, j)] = float(s);
        }
  return y;
}

/// BatchNorm with given per-channel mean and (biased) variance.
inline Vec batch_norm(const Vec& x, Dims d, const float* gamma, const float* beta,
                      const std::vector<double>& mean, const std::vector<double>& var,
                      double eps = 1e-5) {
  Vec y(x.size());
  for (int n = 0; n < d.n; ++n)
    for (int c = 0; c < d.c; ++c)
      for (int i = 0; i < d.h; ++i)
        for (int j = 0; j < d.w; ++j) {
          const std::size_t k = d.at(n, c, i, j);
          y[k] = float(gamma[c] * (x[k] - mean[std::size_t(c)]) /
                           std::sqrt(var[std::size_t(c)] + eps) +
                       beta[c]);
        }
  return y;
}

/// Per-channel batch mean and biased variance.
inline void batch_stats(const Vec& x, Dims d, std::vector<double>& mean, std::vector<double>& var) {
  mean.assign(std::size_t(d.c), 0.0);
  var.assign(std::size_t(d.c), 0.0);
  const double count = double(d.n) * d.h * d.w;
  for (int c = 0; c < d.c; ++c) {
    double s = 0, s2 = 0;
    for (int n = 0; n < d.n; ++n)
      for (int i = 0; i < d.h; ++i)
        for (int j = 0; j < d.w; ++j) s += x[d.at(n, c, i, j)];
    const double m = s / count;
    for (int n = 0; n < d.n; ++n)
      for (int i = 0; i < d.h; ++i)
        for (int j = 0; j < d.w; ++j) s2 += (x[d.at(n, c, i, j)] - m) * (x[d.at(n, c, i, j)] - m);
    mean[std::size_t(c)] = m;
    var[std::size_t(c)] = s2 / count;
  }
}

/// PyTorch's pooled size.
inline int pooled(int in, int k, int s, int p, bool ceil_mode) {
  const int span = in + 2 * p - k;
  int out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

/// PyTorch's max_pool2d / avg_pool2d (count_include_pad = true).
inline Vec pool(const Vec& x, Dims d, int k, int s, int p, bool ceil_mode, bool max) {
  const int oh = pooled(d.h, k, s, p, ceil_mode), ow = pooled(d.w, k, s, p, ceil_mode);
  const Dims od{d.n, d.c, oh, ow};
  Vec y(od.size());
  for (int n = 0; n < d.n; ++n)
    for (int c = 0; c < d.c; ++c)
      for (int i = 0; i < oh; ++i)
        for (int j = 0; j < ow; ++j) {
          int h0 = i * s - p, w0 = j * s - p;
          int h1 = std::min(h0 + k, d.h + p), w1 = std::min(w0 + k, d.w + p);
          const int divisor = (h1 - h0) * (w1 - w0);
          h0 = std::max(h0, 0);
          w0 = std::max(w0, 0);
          h1 = std::min(h1, d.h);
          w1 = std::min(w1, d.w);
          double acc = max ? -1e30 : 0.0;
          for (int a = h0; a < h1; ++a)
            for (int b = w0; b < w1; ++b) {
              const double v = x[d.at(n, c, a, b)];
              acc = max ? std::max(acc, v) : acc + v;
            }
          y[od.at(n, c, i, j)] = float(max ? acc : acc / divisor);
        }
  return y;
}

/// PyTorch's adaptive_avg_pool2d.
inline Vec adaptive_avg(const Vec& x, Dims d, int oh, int ow) {
  const Dims od{d.n, d.c, oh, ow};
  Vec y(od.size());
  for (int n = 0; n < d.n; ++n)
    for (int c = 0; c < d.c; ++c)
      for (int i = 0; i < oh; ++i)
        for (int j = 0; j < ow; ++j) {
          const int h0 = i * d.h / oh, h1 = ((i + 1) * d.h + oh - 1) / oh;
          const int w0 = j * d.w / ow, w1 = ((j + 1) * d.w + ow - 1) / ow;
          double acc = 0;
          for (int a = h0; a < h1; ++a)
            for (int b = w0; b < w1; ++b) acc += x[d.at(n, c, a, b)];
          y[od.at(n, c, i, j)] = float(acc / ((h1 - h0) * (w1 - w0)));
        }
  return y;
}

/// Linear on flat inputs: w [Out, In].
inline Vec linear(const Vec& x, int batch, int in, const float* w, const float* bias, int out) {
  Vec y(std::size_t(batch) * std::size_t(out));
  for (int n = 0; n < batch; ++n)
    for (int o = 0; o < out; ++o) {
      double s = bias ? bias[o] : 0.0;
      for (int i = 0; i < in; ++i) s += double(w[o * in + i]) * x[std::size_t(n * in + i)];
      y[std::size_t(n * out + o)] = float(s);
    }
  return y;
}

/// PyTorch's LocalResponseNorm: window [c - size/2, c + (size-1)/2], alpha / size.
inline Vec lrn(const Vec& x, Dims d, int size, double alpha, double beta, double k) {
  Vec y(x.size());
  for (int n = 0; n < d.n; ++n)
    for (int c = 0; c < d.c; ++c)
      for (int i = 0; i < d.h; ++i)
        for (int j = 0; j < d.w; ++j) {
          double s = 0;
          for (int cc = std::max(0, c - size / 2); cc <= std::min(d.c - 1, c + (size - 1) / 2);
               ++cc) {
            s += double(x[d.at(n, cc, i, j)]) * x[d.at(n, cc, i, j)];
          }
          y[d.at(n, c, i, j)] = float(x[d.at(n, c, i, j)] / std::pow(k + alpha / size * s, beta));
        }
  return y;
}

/// F.interpolate(mode="bilinear", align_corners=False).
inline Vec resize(const Vec& x, Dims d, int oh, int ow) {
  const Dims od{d.n, d.c, oh, ow};
  Vec y(od.size());
  auto coord = [](int o, int in, int out, int& i0, int& i1, double& l) {
    double src = (o + 0.5) * double(in) / out - 0.5;
    if (src < 0) src = 0;
    i0 = std::min(int(src), in - 1);
    i1 = std::min(i0 + 1, in - 1);
    l = src - i0;
  };
  for (int n = 0; n < d.n; ++n)
    for (int c = 0; c < d.c; ++c)
      for (int i = 0; i < oh; ++i)
        for (int j = 0; j < ow; ++j) {
          int h0, h1, w0, w1;
          double lh, lw;
          coord(i, d.h, oh, h0, h1, lh);
          coord(j, d.w, ow, w0, w1, lw);
          const double v =
              (1 - lh) * ((1 - lw) * x[d.at(n, c, h0, w0)] + lw * x[d.at(n, c, h0, w1)]) +
              lh * ((1 - lw) * x[d.at(n, c, h1, w0)] + lw * x[d.at(n, c, h1, w1)]);
          y[od.at(n, c, i, j)] = float(v);
        }
  return y;
}

}  // namespace archetype::onednn::test
