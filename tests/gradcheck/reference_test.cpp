// The double-precision reference checked on hand-computed cases, so that the gradient
// checks differentiate something that is itself right (PyTorch's definitions).
#include "reference.hpp"

#include <archetype/archetype.hpp>
#include <archetype/codegen/program.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <stdexcept>
#include <vector>

namespace archetype::gradcheck {
namespace {

using V = std::vector<double>;

template <class N>
V run(int batch, const V& params, const V& input, bool training = true, const V& buffers = {},
      KinkMargins* margins = nullptr) {
  return reference_forward(codegen::program_v<N>.view(), batch, params, input, training, buffers, margins);
}

V iota(std::size_t n, double start = 0.0) {
  V v(n);
  std::iota(v.begin(), v.end(), start);
  return v;
}

void expect_near(const V& got, const V& want, double tol = 1e-12) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "at " << i;
}

TEST(Reference, ConvValidWithBias) {
  using N = Net<Input<Shape{1, 3, 3}>, Conv<1, 3, 1, 0, 1, true>>;
  V params(9, 1.0);
  params.push_back(0.5);                            // bias
  expect_near(run<N>(1, params, iota(9, 1.0)), {45.5});  // 1 + ... + 9 + 0.5
}

TEST(Reference, ConvStrideAndPadding) {
  // 3x3, stride 2, padding 1 on a 3x3 image of ones: every output sees a 2x2 corner.
  using N = Net<Input<Shape{1, 3, 3}>, Conv<1, 3, 2, 1>>;
  expect_near(run<N>(1, V(9, 1.0), V(9, 1.0)), {4, 4, 4, 4});
}

TEST(Reference, ConvGroupsAndAsymmetricKernel) {
  // Groups 2, 1x1: each output channel scales its own input channel.
  using G = Net<Input<Shape{2, 1, 2}>, Conv<2, 1, 1, 0, 2>>;
  expect_near(run<G>(1, {2.0, -3.0}, {1, 2, 10, 20}), {2, 4, -30, -60});
  // 1x3 kernel (padding 0x1) on a 1x1x3 row [1, 2, 3] with weights [1, 10, 100].
  using K = Net<Input<Shape{1, 1, 3}>, ConvKxL<1, 1, 3>>;
  expect_near(run<K>(1, {1, 10, 100}, {1, 2, 3}), {10 + 200, 1 + 20 + 300, 2 + 30});
}

TEST(Reference, BatchNormTrainingAndInference) {
  using N = Net<Input<Shape{1, 1, 1}>, BatchNorm>;
  // Batch {1, 3}: mean 2, biased variance 1.
  const double s = 1.0 / std::sqrt(1.0 + 1e-5);
  expect_near(run<N>(2, {2.0, 0.5}, {1, 3}), {0.5 - 2 * s, 0.5 + 2 * s});
  // Inference: running mean 1, running variance 4.
  const double t = 1.0 / std::sqrt(4.0 + 1e-5);
  expect_near(run<N>(2, {2.0, 0.5}, {1, 3}, false, {1.0, 4.0}), {0.5, 0.5 + 4 * t});
}

TEST(Reference, LocalResponseNormWindow) {
  // alpha / size = 1, beta = 1, k = 1; channels 1, 2, 3 at one pixel.
  using Odd = Net<Input<Shape{3, 1, 1}>, LocalResponseNorm<3, 3.0, 1.0, 1.0>>;
  expect_near(run<Odd>(1, {}, {1, 2, 3}), {1.0 / 6, 2.0 / 15, 3.0 / 14});
  // Even size: the window is [c - 1, c] (PyTorch pads size/2 before, (size-1)/2 after).
  using Even = Net<Input<Shape{3, 1, 1}>, LocalResponseNorm<2, 2.0, 1.0, 1.0>>;
  expect_near(run<Even>(1, {}, {1, 2, 3}), {1.0 / 2, 2.0 / 6, 3.0 / 14});
}

TEST(Reference, ReluAndMargin) {
  using N = Net<Input<Shape{1, 1, 4}>, ReLU>;
  KinkMargins m;
  expect_near(run<N>(1, {}, {-1, 0.25, 2, -0.5}, true, {}, &m), {0, 0.25, 2, 0});
  EXPECT_DOUBLE_EQ(m.relu, 0.25);
}

TEST(Reference, MaxPoolFloorAndCeil) {
  using N = Net<Input<Shape{1, 4, 4}>, MaxPool<2>>;
  KinkMargins m;
  expect_near(run<N>(1, {}, iota(16), true, {}, &m), {5, 7, 13, 15});
  EXPECT_DOUBLE_EQ(m.max_pool, 1.0);
  using C = Net<Input<Shape{1, 3, 3}>, MaxPool<2, 2, 0, true>>;  // 2x2 output, partial windows
  expect_near(run<C>(1, {}, iota(9)), {4, 5, 7, 8});
}

TEST(Reference, AvgPoolCountsPaddingAndClipsCeilWindows) {
  // 3x3, stride 2, padding 1, ceil mode on 4x4 ones: 3x3 output; the last window starts at
  // 3 and is clipped to the padded input [3, 5): divisor 2 along that axis.
  using N = Net<Input<Shape{1, 4, 4}>, AvgPool<3, 2, 1, true>>;
  static_assert(N::output_shape == Shape{1, 3, 3});
  expect_near(run<N>(1, {}, V(16, 1.0)),
              {4.0 / 9, 6.0 / 9, 2.0 / 6, 6.0 / 9, 9.0 / 9, 3.0 / 6, 2.0 / 6, 3.0 / 6, 1.0 / 4});
}

TEST(Reference, GlobalAndAdaptiveAvgPool) {
  using G = Net<Input<Shape{2, 1, 3}>, GlobalAvgPool>;
  expect_near(run<G>(1, {}, {1, 2, 6, -1, 0, 4}), {3, 1});
  // 5 -> 3: bins [0, 2), [1, 4), [3, 5).
  using A = Net<Input<Shape{1, 5, 1}>, AdaptiveAvgPool<3, 1>>;
  expect_near(run<A>(1, {}, {0, 1, 2, 3, 4}), {0.5, 2, 3.5});
}

TEST(Reference, FlattenLinear) {
  using N = Net<Input<Shape{1, 1, 3}>, Seq<Flatten, Linear<2>>>;
  // W = [[1, 2, 3], [-1, 0, 1]], b = [10, 20].
  expect_near(run<N>(2, {1, 2, 3, -1, 0, 1, 10, 20}, {1, 1, 1, 1, 2, 3}), {16, 20, 24, 22});
}

TEST(Reference, ZeroPadShortcut) {
  using N = Net<Input<Shape{2, 3, 3}>, ZeroPadShortcut<4, 2>>;
  V out = run<N>(1, {}, iota(18));
  // channels 0 and 3 are zero; 1 and 2 are x[c][::2, ::2].
  expect_near(out, {0, 0, 0, 0, 0, 2, 6, 8, 9, 11, 15, 17, 0, 0, 0, 0});
}

TEST(Reference, PadTo) {
  using N = Net<Input<Shape{1, 2, 2}>, PadTo<4, 5>>;  // top 1, left 1
  expect_near(run<N>(1, {}, {1, 2, 3, 4}),
              {0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 3, 4, 0, 0, 0, 0, 0, 0, 0});
}

TEST(Reference, ResizeBilinearHalfPixel) {
  // torch.nn.functional.interpolate([[1, 2], [3, 4]], size=4, mode='bilinear').
  using Up = Net<Input<Shape{1, 2, 2}>, Resize<4, 4>>;
  expect_near(run<Up>(1, {}, {1, 2, 3, 4}),
              {1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4});
  // 4 -> 2 along w: sources 0.5 and 2.5.
  using Down = Net<Input<Shape{1, 1, 4}>, Resize<1, 2>>;
  expect_near(run<Down>(1, {}, {0, 1, 4, 9}), {0.5, 6.5});
}

TEST(Reference, ResidualAndConcat) {
  using R = Net<Input<Shape{1, 1, 2}>, Residual<ReLU>>;
  expect_near(run<R>(1, {}, {-1, 2}), {-1, 4});
  using C = Net<Input<Shape{1, 1, 2}>, Concat<Identity, ReLU, Residual<ReLU>>>;
  expect_near(run<C>(1, {}, {-1, 2}), {-1, 2, 0, 2, -1, 4});
}

TEST(Reference, Dropout) {
  using N = Net<Input<Shape{1, 1, 2}>, Dropout<0.5>>;
  EXPECT_THROW(run<N>(1, {}, {1, 2}), std::invalid_argument);
  expect_near(run<N>(1, {}, {1, 2}, false), {1, 2});
  using Z = Net<Input<Shape{1, 1, 2}>, Dropout<0.0>>;
  expect_near(run<Z>(1, {}, {1, 2}), {1, 2});
}

TEST(Reference, SoftmaxCrossEntropy) {
  const V logits{0, 0, 1, 2, 3, 1000};
  const int labels[] = {0, 1};
  // (log 2 + (log(e^1 + e^2 + e^3 + e^1000) - 1000)) / 2, with e^1000 dominating.
  EXPECT_NEAR(reference_softmax_cross_entropy(std::span(logits).subspan(0, 2), 1, 2, std::span(labels, 1)),
              std::log(2.0), 1e-15);
  const V z{1, 2, 3};
  const int l[] = {2};
  EXPECT_NEAR(reference_softmax_cross_entropy(z, 1, 3, l), std::log(std::exp(1) + std::exp(2) + std::exp(3)) - 3,
              1e-14);
  const V big{0, 1000};
  const int l0[] = {0};
  EXPECT_NEAR(reference_softmax_cross_entropy(big, 1, 2, l0), 1000.0, 1e-9);  // no overflow
}

TEST(Reference, RejectsWrongSizes) {
  using N = Net<Input<Shape{1, 1, 2}>, ReLU>;
  EXPECT_THROW(run<N>(1, {}, {1, 2, 3}), std::invalid_argument);
  EXPECT_THROW(run<N>(1, {1.0}, {1, 2}), std::invalid_argument);
}

}  // namespace
}  // namespace archetype::gradcheck
