// Forward of each op on the oneDNN backend against a naive loop (naive.hpp), in training
// and inference mode, with channel counts that make oneDNN pick blocked layouts too.
#include "naive.hpp"

#include <archetype/codegen/dropout.hpp>

#include <functional>

namespace archetype::onednn::test {
namespace {

using Reference =
    std::function<Vec(const Vec& x, const Vec& params, const Vec& buffers, Mode mode)>;

/// Runs net N's forward on random input and parameters and compares it with `reference`.
template <class N>
void check_forward(int batch, const Reference& reference, float tol = 1e-4f,
                   std::initializer_list<Mode> modes = {Mode::training, Mode::inference}) {
  constexpr Shape in = N::input_shape;
  for (Mode mode : modes) {
    SCOPED_TRACE(mode == Mode::training ? "training" : "inference");
    Executable exe(program<N>(), batch, mode);
    randomize(exe, 11);
    const Vec x = random_vec(std::size_t(batch * in.elements()), 12);
    const Vec params(exe.parameters().begin(), exe.parameters().end());
    const Vec buffers(exe.buffers().begin(), exe.buffers().end());
    const auto y = exe.forward(x);
    const Vec want = reference(x, params, buffers, mode);
    expect_close(y, want, tol);
  }
}

TEST(Conv, StridePaddingBias) {
  using N = Net<Input<Shape{3, 9, 9}>, Conv<5, 3, 2, 1, 1, true>>;
  check_forward<N>(2, [](const Vec& x, const Vec& p, const Vec&, Mode) {
    return conv(x, {2, 3, 9, 9}, p.data(), p.data() + 5 * 3 * 9, 5, 3, 3, 2, 2, 1, 1, 1);
  });
}

TEST(Conv, GroupsWithBias) {
  using N = Net<Input<Shape{6, 6, 6}>, Conv<9, 3, 1, 1, 3, true>>;
  check_forward<N>(2, [](const Vec& x, const Vec& p, const Vec&, Mode) {
    return conv(x, {2, 6, 6, 6}, p.data(), p.data() + 9 * 2 * 9, 9, 3, 3, 1, 1, 1, 1, 3);
  });
}

TEST(Conv, BlockedChannelsAndDepthwise) {
  using N = Net<Input<Shape{16, 8, 8}>, Seq<Conv3x3<32>, Conv<32, 3, 2, 1, 32>>>;
  check_forward<N>(3, [](const Vec& x, const Vec& p, const Vec&, Mode) {
    Vec y = conv(x, {3, 16, 8, 8}, p.data(), nullptr, 32, 3, 3, 1, 1, 1, 1, 1);
    return conv(y, {3, 32, 8, 8}, p.data() + 32 * 16 * 9, nullptr, 32, 3, 3, 2, 2, 1, 1, 32);
  });
}

TEST(Conv, PointwiseStride2AndAsymmetric) {
  using N = Net<Input<Shape{8, 7, 7}>, Seq<Conv1x1<16, 2>, ConvKxL<8, 1, 3>>>;
  check_forward<N>(2, [](const Vec& x, const Vec& p, const Vec&, Mode) {
    Vec y = conv(x, {2, 8, 7, 7}, p.data(), nullptr, 16, 1, 1, 2, 2, 0, 0, 1);
    return conv(y, {2, 16, 4, 4}, p.data() + 16 * 8, nullptr, 8, 1, 3, 1, 1, 0, 1, 1);
  });
}

TEST(BatchNorm, TrainingUsesBatchStatisticsAndUpdatesRunningOnes) {
  using N = Net<Input<Shape{20, 4, 5}>, BatchNorm>;
  const int batch = 3, c = 20;
  const Dims d{batch, c, 4, 5};
  Executable exe(program<N>(), batch, Mode::training);
  randomize(exe, 3);
  const Vec before(exe.buffers().begin(), exe.buffers().end());
  const Vec x = random_vec(d.size(), 4, -2.f, 3.f);
  const auto y = exe.forward(x);
  std::vector<double> mean, var;
  batch_stats(x, d, mean, var);
  const float* p = exe.parameters().data();
  expect_close(y, batch_norm(x, d, p, p + c, mean, var));
  const double n = batch * 4 * 5;
  Vec want(2 * c);
  for (int i = 0; i < c; ++i) {
    want[std::size_t(i)] = float(0.9 * before[std::size_t(i)] + 0.1 * mean[std::size_t(i)]);
    want[std::size_t(c + i)] =
        float(0.9 * before[std::size_t(c + i)] + 0.1 * var[std::size_t(i)] * n / (n - 1));
  }
  expect_close(exe.buffers(), want, 1e-5f);
}

TEST(BatchNorm, InferenceUsesRunningStatistics) {
  using N = Net<Input<Shape{20, 4, 5}>, BatchNorm>;
  check_forward<N>(2,
                   [](const Vec& x, const Vec& p, const Vec& b, Mode) {
                     std::vector<double> mean(b.begin(), b.begin() + 20),
                         var(b.begin() + 20, b.end());
                     return batch_norm(x, {2, 20, 4, 5}, p.data(), p.data() + 20, mean, var);
                   },
                   1e-4f, {Mode::inference});
}

TEST(Chain, ConvBatchNormReluConvKeepsBlockedLayouts) {
  using N = Net<Input<Shape{3, 6, 6}>, Seq<Conv3x3<16>, BatchNorm, ReLU, Conv3x3<16>>>;
  check_forward<N>(4, [](const Vec& x, const Vec& p, const Vec& b, Mode mode) {
    const Dims d{4, 16, 6, 6};
    Vec y = conv(x, {4, 3, 6, 6}, p.data(), nullptr, 16, 3, 3, 1, 1, 1, 1, 1);
    std::vector<double> mean, var;
    if (mode == Mode::training) {
      batch_stats(y, d, mean, var);
    } else {
      mean.assign(b.begin(), b.begin() + 16);
      var.assign(b.begin() + 16, b.end());
    }
    const float* bn = p.data() + 16 * 3 * 9;
    y = batch_norm(y, d, bn, bn + 16, mean, var);
    for (float& v : y) v = std::max(v, 0.f);
    return conv(y, d, bn + 32, nullptr, 16, 3, 3, 1, 1, 1, 1, 1);
  });
}

TEST(Relu, Forward) {
  using N = Net<Input<Shape{16, 3, 3}>, ReLU>;
  check_forward<N>(2, [](const Vec& x, const Vec&, const Vec&, Mode) {
    Vec y = x;
    for (float& v : y) v = std::max(v, 0.f);
    return y;
  });
}

TEST(Pool, MaxPaddedAndCeilMode) {
  using A = Net<Input<Shape{4, 7, 7}>, MaxPool<3, 2, 1>>;
  check_forward<A>(2, [](const Vec& x, const Vec&, const Vec&, Mode) {
    return pool(x, {2, 4, 7, 7}, 3, 2, 1, false, true);
  });
  using B = Net<Input<Shape{16, 8, 8}>, MaxPool<3, 2, 0, true>>;
  static_assert(output_shape_v<B> == Shape{16, 4, 4});
  check_forward<B>(2, [](const Vec& x, const Vec&, const Vec&, Mode) {
    return pool(x, {2, 16, 8, 8}, 3, 2, 0, true, true);
  });
}

TEST(Pool, AvgIncludesPaddingAndFollowsPyTorchCeilMode) {
  using A = Net<Input<Shape{4, 7, 7}>, AvgPool<3, 2, 1>>;
  check_forward<A>(2, [](const Vec& x, const Vec&, const Vec&, Mode) {
    return pool(x, {2, 4, 7, 7}, 3, 2, 1, false, false);
  });
  // Ceil mode whose last window stays inside the padding: oneDNN.
  using B = Net<Input<Shape{16, 7, 7}>, AvgPool<3, 2, 1, true>>;
  check_forward<B>(2, [](const Vec& x, const Vec&, const Vec&, Mode) {
    return pool(x, {2, 16, 7, 7}, 3, 2, 1, true, false);
  });
  // Ceil mode whose last window runs past the padding: the divisor shrinks (plain loop).
  using C = Net<Input<Shape{4, 5, 5}>, AvgPool<2, 2, 0, true>>;
  static_assert(output_shape_v<C> == Shape{4, 3, 3});
  check_forward<C>(2, [](const Vec& x, const Vec&, const Vec&, Mode) {
    return pool(x, {2, 4, 5, 5}, 2, 2, 0, true, false);
  });
  using D = Net<Input<Shape{16, 6, 6}>, AvgPool<3, 2, 1, true>>;
  check_forward<D>(2, [](const Vec& x, const Vec&, const Vec&, Mode) {
    return pool(x, {2, 16, 6, 6}, 3, 2, 1, true, false);
  });
}

TEST(Pool, GlobalAverage) {
  using N = Net<Input<Shape{16, 5, 5}>, GlobalAvgPool>;
  check_forward<N>(3, [](const Vec& x, const Vec&, const Vec&, Mode) {
    return adaptive_avg(x, {3, 16, 5, 5}, 1, 1);
  });
}

TEST(Pool, AdaptiveAverage) {
  using Uniform = Net<Input<Shape{4, 4, 6}>, AdaptiveAvgPool<2>>;
  check_forward<Uniform>(2, [](const Vec& x, const Vec&, const Vec&, Mode) {
    return adaptive_avg(x, {2, 4, 4, 6}, 2, 2);
  });
  using Bins = Net<Input<Shape{4, 5, 7}>, AdaptiveAvgPool<3>>;
  check_forward<Bins>(2, [](const Vec& x, const Vec&, const Vec&, Mode) {
    return adaptive_avg(x, {2, 4, 5, 7}, 3, 3);
  });
  using Same = Net<Input<Shape{4, 4, 5}>, AdaptiveAvgPool<4, 5>>;
  check_forward<Same>(2, [](const Vec& x, const Vec&, const Vec&, Mode) { return x; });
  using One = Net<Input<Shape{4, 5, 5}>, AdaptiveAvgPool<1>>;
  check_forward<One>(2, [](const Vec& x, const Vec&, const Vec&, Mode) {
    return adaptive_avg(x, {2, 4, 5, 5}, 1, 1);
  });
}

TEST(Linear, FlattenThenLinear) {
  using N = Net<Input<Shape{2, 3, 3}>, Seq<Flatten, Linear<5>, Linear<4, false>>>;
  check_forward<N>(3, [](const Vec& x, const Vec& p, const Vec&, Mode) {
    Vec y = linear(x, 3, 18, p.data(), p.data() + 90, 5);
    return linear(y, 3, 5, p.data() + 95, nullptr, 4);
  });
}

TEST(Linear, AfterBlockedGlobalPool) {
  using N = Net<Input<Shape{3, 4, 4}>, Seq<Conv3x3<32>, GlobalAvgPool, Linear<7>>>;
  check_forward<N>(2, [](const Vec& x, const Vec& p, const Vec&, Mode) {
    Vec y = conv(x, {2, 3, 4, 4}, p.data(), nullptr, 32, 3, 3, 1, 1, 1, 1, 1);
    y = adaptive_avg(y, {2, 32, 4, 4}, 1, 1);
    const float* l = p.data() + 32 * 3 * 9;
    return linear(y, 2, 32, l, l + 32 * 7, 7);
  });
}

TEST(Add, ResidualSumsBodyAndShortcut) {
  using N = Net<Input<Shape{16, 5, 5}>, Residual<Conv3x3<16>>>;
  check_forward<N>(2, [](const Vec& x, const Vec& p, const Vec&, Mode) {
    Vec y = conv(x, {2, 16, 5, 5}, p.data(), nullptr, 16, 3, 3, 1, 1, 1, 1, 1);
    for (std::size_t i = 0; i < y.size(); ++i) y[i] += x[i];
    return y;
  });
}

// Squeeze-and-excitation's gating, y = x * sigmoid(mean over H x W of x) per image and
// channel (16 channels: blocked): in inference the multiplication runs in x's buffer when
// nothing after it reads x; inside a residual block the sum reads x after it, so it must
// not (a wrong in-place multiplication would double-gate the shortcut).
Vec gated(const Vec& x, Dims d) {
  const Vec mean = adaptive_avg(x, d, 1, 1);
  Vec y(x.size());
  for (int n = 0; n < d.n; ++n)
    for (int c = 0; c < d.c; ++c) {
      const double g = 1.0 / (1.0 + std::exp(-double(mean[std::size_t(n * d.c + c)])));
      for (int i = 0; i < d.h; ++i)
        for (int j = 0; j < d.w; ++j) y[d.at(n, c, i, j)] = float(x[d.at(n, c, i, j)] * g);
    }
  return y;
}

TEST(Scale, GatesEachChannelInPlaceOrNot) {
  using Gate = Scale<Seq<GlobalAvgPool, Sigmoid>>;
  const Dims d{2, 16, 5, 5};
  using Alone = Net<Input<Shape{16, 5, 5}>, Seq<Conv1x1<16>, Gate>>;
  check_forward<Alone>(2, [&](const Vec& x, const Vec& p, const Vec&, Mode) {
    return gated(conv(x, d, p.data(), nullptr, 16, 1, 1, 1, 1, 0, 0, 1), d);
  });
  using Shortcut = Net<Input<Shape{16, 5, 5}>, Seq<Conv1x1<16>, Residual<Gate>>>;
  check_forward<Shortcut>(2, [&](const Vec& x, const Vec& p, const Vec&, Mode) {
    const Vec c = conv(x, d, p.data(), nullptr, 16, 1, 1, 1, 1, 0, 0, 1);
    Vec y = gated(c, d);
    for (std::size_t i = 0; i < y.size(); ++i) y[i] += c[i];
    return y;
  });
}

TEST(Concat, JoinsBranchesInOrder) {
  using N = Net<Input<Shape{4, 5, 5}>, Concat<Conv1x1<3>, Identity, Conv3x3<16>>>;
  static_assert(output_shape_v<N> == Shape{23, 5, 5});
  check_forward<N>(2, [](const Vec& x, const Vec& p, const Vec&, Mode) {
    const Dims d{2, 4, 5, 5}, od{2, 23, 5, 5};
    const Vec a = conv(x, d, p.data(), nullptr, 3, 1, 1, 1, 1, 0, 0, 1);
    const Vec c = conv(x, d, p.data() + 12, nullptr, 16, 3, 3, 1, 1, 1, 1, 1);
    Vec y(od.size());
    for (int n = 0; n < 2; ++n)
      for (int ch = 0; ch < 23; ++ch)
        for (int i = 0; i < 5; ++i)
          for (int j = 0; j < 5; ++j) {
            y[od.at(n, ch, i, j)] = ch < 3   ? a[Dims{2, 3, 5, 5}.at(n, ch, i, j)]
                                    : ch < 7 ? x[d.at(n, ch - 3, i, j)]
                                             : c[Dims{2, 16, 5, 5}.at(n, ch - 7, i, j)];
          }
    return y;
  });
}

TEST(ZeroPadShortcut, SubsamplesAndPadsChannels) {
  using N = Net<Input<Shape{4, 5, 5}>, ZeroPadShortcut<8, 2>>;
  static_assert(output_shape_v<N> == Shape{8, 3, 3});
  check_forward<N>(2, [](const Vec& x, const Vec&, const Vec&, Mode) {
    const Dims d{2, 4, 5, 5}, od{2, 8, 3, 3};
    Vec y(od.size(), 0.f);
    for (int n = 0; n < 2; ++n)
      for (int c = 0; c < 4; ++c)
        for (int i = 0; i < 3; ++i)
          for (int j = 0; j < 3; ++j) y[od.at(n, c + 2, i, j)] = x[d.at(n, c, 2 * i, 2 * j)];
    return y;
  });
}

TEST(ZeroPadShortcut, InsideAResidualAfterBlockedLayers) {
  using N = Net<Input<Shape{16, 6, 6}>, Residual<Seq<Conv3x3<32, 2>>, ZeroPadShortcut<32, 2>>>;
  check_forward<N>(2, [](const Vec& x, const Vec& p, const Vec&, Mode) {
    const Dims d{2, 16, 6, 6}, od{2, 32, 3, 3};
    Vec y = conv(x, d, p.data(), nullptr, 32, 3, 3, 2, 2, 1, 1, 1);
    for (int n = 0; n < 2; ++n)
      for (int c = 0; c < 16; ++c)
        for (int i = 0; i < 3; ++i)
          for (int j = 0; j < 3; ++j) y[od.at(n, c + 8, i, j)] += x[d.at(n, c, 2 * i, 2 * j)];
    return y;
  });
}

TEST(PadTo, PadsSymmetrically) {
  using N = Net<Input<Shape{2, 5, 5}>, PadTo<8, 9>>;
  check_forward<N>(2, [](const Vec& x, const Vec&, const Vec&, Mode) {
    const Dims d{2, 2, 5, 5}, od{2, 2, 8, 9};
    Vec y(od.size(), 0.f);
    for (int n = 0; n < 2; ++n)
      for (int c = 0; c < 2; ++c)
        for (int i = 0; i < 5; ++i)
          for (int j = 0; j < 5; ++j) y[od.at(n, c, i + 1, j + 2)] = x[d.at(n, c, i, j)];
    return y;
  });
}

TEST(Resize, BilinearLikeInterpolate) {
  using Up = Net<Input<Shape{2, 4, 5}>, Resize<7, 9>>;
  check_forward<Up>(2, [](const Vec& x, const Vec&, const Vec&, Mode) {
    return resize(x, {2, 2, 4, 5}, 7, 9);
  });
  using Down = Net<Input<Shape{3, 7, 7}>, Resize<3, 4>>;
  check_forward<Down>(2, [](const Vec& x, const Vec&, const Vec&, Mode) {
    return resize(x, {2, 3, 7, 7}, 3, 4);
  });
}

TEST(Lrn, AcrossChannelsOddAndEvenSizes) {
  using Odd = Net<Input<Shape{7, 3, 3}>, LocalResponseNorm<5, 0.5, 0.75, 1.0>>;
  check_forward<Odd>(2, [](const Vec& x, const Vec&, const Vec&, Mode) {
    return lrn(x, {2, 7, 3, 3}, 5, 0.5, 0.75, 1.0);
  });
  using Even = Net<Input<Shape{7, 3, 3}>, LocalResponseNorm<4, 0.5, 0.75, 1.0>>;
  check_forward<Even>(2, [](const Vec& x, const Vec&, const Vec&, Mode) {
    return lrn(x, {2, 7, 3, 3}, 4, 0.5, 0.75, 1.0);
  });
  using AlexNetLike = Net<Input<Shape{16, 4, 4}>, Seq<Conv3x3<32>, LocalResponseNorm<>>>;
  check_forward<AlexNetLike>(2, [](const Vec& x, const Vec& p, const Vec&, Mode) {
    Vec y = conv(x, {2, 16, 4, 4}, p.data(), nullptr, 32, 3, 3, 1, 1, 1, 1, 1);
    return lrn(y, {2, 32, 4, 4}, 5, 1e-4, 0.75, 2.0);
  });
}

TEST(Dropout, ZeroProbabilityIsIdentity) {
  using N = Net<Input<Shape{16, 4, 4}>, Dropout<0.0>>;
  check_forward<N>(
      2, [](const Vec& x, const Vec&, const Vec&, Mode) { return x; }, 0.f);
}

TEST(Dropout, HalfZeroesAboutHalfAndScalesTheRestByTwo) {
  using N = Net<Input<Shape{16, 16, 16}>, Seq<Conv3x3<16>, Dropout<0.5>>>;
  const int batch = 4;
  Executable train(program<N>(), batch, Mode::training);
  Executable infer(program<N>(), batch, Mode::inference);
  randomize(train, 5);
  std::copy(train.parameters().begin(), train.parameters().end(), infer.parameters().begin());
  const Vec x = random_vec(std::size_t(batch) * 16 * 16 * 16, 6);
  const auto identity = infer.forward(x);  // inference: Dropout is the identity
  const Vec kept(identity.begin(), identity.end());
  const auto y = train.forward(x);
  std::size_t zeros = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (y[i] == 0.f) {
      ++zeros;
    } else {
      ASSERT_NEAR(y[i], 2.f * kept[i], 1e-4f * std::max(1.f, std::abs(kept[i]))) << "element " << i;
    }
  }
  const double fraction = double(zeros) / double(y.size());
  EXPECT_GT(fraction, 0.47);
  EXPECT_LT(fraction, 0.53);
  // A new mask at every step.
  const Vec first(y.begin(), y.end());
  const auto second = train.forward(x);
  EXPECT_FALSE(std::equal(first.begin(), first.end(), second.begin()));
}

// The masks are codegen/dropout.hpp's draws (the cuDNN kernels make the same ones): element
// i of forward pass s is kept exactly where dropout::keep(op_seed(seed, op), s, i, p), in
// NCHW order, whatever layout the convolution before it chose; and StochasticDepth draws
// once per image. A mask from another generator, another step or another order fails it.
TEST(Dropout, MasksAreTheSharedDrawsInNchwOrder) {
  using N = Net<Input<Shape{16, 6, 6}>, Seq<Conv3x3<32>, Dropout<0.3>>>;
  const int batch = 3;
  Options o;
  o.dropout_seed = 77;
  Executable train(program<N>(), batch, Mode::training, o);
  Executable infer(program<N>(), batch, Mode::inference, o);
  randomize(train, 9);
  std::copy(train.parameters().begin(), train.parameters().end(), infer.parameters().begin());
  const Vec x = random_vec(std::size_t(batch) * 16 * 6 * 6, 10);
  const auto values = infer.forward(x);
  const Vec kept(values.begin(), values.end());
  const std::uint64_t seed = codegen::dropout::op_seed(77, 1);  // op 1: the Dropout
  for (std::uint64_t step = 1; step <= 2; ++step) {
    const auto y = train.forward(x);
    std::size_t dropped = 0;
    for (std::size_t i = 0; i < y.size(); ++i) {
      const bool keep = codegen::dropout::keep(seed, step, i, 0.3);
      dropped += keep ? 0 : 1;
      ASSERT_NEAR(y[i], keep ? kept[i] / 0.7f : 0.f, 1e-4f * std::max(1.f, std::abs(kept[i])))
          << "step " << step << " element " << i;
    }
    EXPECT_GT(dropped, y.size() / 5);  // about 30% dropped: the draws are not all kept
  }
}

TEST(StochasticDepth, DrawsOncePerImageFromTheSharedDraws) {
  using N = Net<Input<Shape{16, 4, 4}>, Seq<Conv3x3<16>, StochasticDepth<0.5>>>;
  const int batch = 8;
  Options o;
  o.dropout_seed = 5;
  Executable train(program<N>(), batch, Mode::training, o);
  Executable infer(program<N>(), batch, Mode::inference, o);
  randomize(train, 11);
  std::copy(train.parameters().begin(), train.parameters().end(), infer.parameters().begin());
  const Vec x = random_vec(std::size_t(batch) * 16 * 4 * 4, 12);
  const auto values = infer.forward(x);
  const Vec kept(values.begin(), values.end());
  const auto y = train.forward(x);
  const std::size_t per_image = 16 * 4 * 4;
  for (std::size_t i = 0; i < y.size(); ++i) {
    const bool keep =
        codegen::dropout::keep(codegen::dropout::op_seed(5, 1), 1, i / per_image, 0.5);
    ASSERT_NEAR(y[i], keep ? 2.f * kept[i] : 0.f, 1e-4f * std::max(1.f, std::abs(kept[i])))
        << "element " << i;
  }
}

}  // namespace
}  // namespace archetype::onednn::test
