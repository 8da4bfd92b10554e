// Gradient checks of the oneDNN backend, op by op: forward against the double reference,
// input and parameter gradients against central finite differences of it (harness.hpp).
#include "harness.hpp"

#include <archetype/archetype.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

namespace archetype::gradcheck {
namespace {

using onednn::Executable;
using onednn::Mode;

// --- Conv ------------------------------------------------------------------------------------
TEST(Conv, Stride1Pad1Bias) { check<Net<Input<Shape{3, 5, 5}>, Conv<4, 3, 1, same, 1, true>>>("conv 3x3 s1 p1 bias"); }
TEST(Conv, Stride2Pad1) { check<Net<Input<Shape{3, 7, 7}>, Conv<4, 3, 2, 1>>>("conv 3x3 s2 p1"); }
TEST(Conv, Stride2NoPadLeavesColumnsUnused) {
  // (6 - 3) / 2 + 1 = 2: the last row and column are never read (zero input gradient).
  check<Net<Input<Shape{2, 6, 6}>, Conv<3, 3, 2, 0>>>("conv 3x3 s2 p0");
}
TEST(Conv, Pointwise1x1Stride2) { check<Net<Input<Shape{3, 6, 6}>, Conv1x1<4, 2>>>("conv 1x1 s2"); }
TEST(Conv, Groups2Bias) { check<Net<Input<Shape{4, 5, 5}>, Conv<6, 3, 1, 1, 2, true>>>("conv 3x3 g2 bias"); }
TEST(Conv, Depthwise) { check<Net<Input<Shape{3, 5, 5}>, Conv<3, 3, 2, 1, 3>>>("conv 3x3 s2 depthwise"); }
TEST(Conv, Asymmetric1x3Bias) { check<Net<Input<Shape{2, 4, 5}>, ConvKxL<3, 1, 3, 1, same, same, 1, true>>>("conv 1x3 bias"); }
TEST(Conv, Asymmetric3x1Stride2) { check<Net<Input<Shape{2, 5, 4}>, ConvKxL<3, 3, 1, 2>>>("conv 3x1 s2"); }

// --- BatchNorm -------------------------------------------------------------------------------
TEST(BatchNorm, Training) { check<Net<Input<Shape{3, 4, 4}>, BatchNorm>>("batch_norm training"); }
TEST(BatchNorm, TrainingAfterConv) {
  check<Net<Input<Shape{2, 4, 4}>, Seq<Conv3x3<3>, BatchNorm>>>("conv+batch_norm training");
}

// Forward in inference mode uses the running statistics (random ones here).
TEST(BatchNorm, InferenceForwardUsesRunningStatistics) {
  check_inference<Net<Input<Shape{3, 3, 3}>, Seq<BatchNorm, Dropout<0.5>>>>("batch_norm+dropout");
  check_inference<Net<Input<Shape{3, 4, 4}>, Seq<Conv3x3<4>, BatchNorm, ReLU>>>("conv+bn+relu (foldable)");
}

// Training forward updates the running statistics as PyTorch does: momentum 0.1, the
// variance unbiased (n / (n - 1) times the variance used for normalising).
TEST(BatchNorm, TrainingUpdatesRunningStatistics) {
  using N = Net<Input<Shape{2, 2, 3}>, BatchNorm>;
  const codegen::ProgramView program = codegen::program_v<N>.view();
  std::mt19937_64 rng(3);
  const std::vector<float> x = random_input(2 * 12, InputKind::uniform, rng);
  Executable exe(program, 2, Mode::training);
  const std::vector<float> params{1.2f, 0.8f, 0.1f, -0.2f};
  std::copy(params.begin(), params.end(), exe.parameters().begin());
  const std::vector<float> start{0.3f, -0.1f, 1.5f, 0.7f};  // mean [2], var [2]
  std::copy(start.begin(), start.end(), exe.buffers().begin());
  exe.forward(x);
  const int count = 2 * 6;
  for (int c = 0; c < 2; ++c) {
    double m = 0, v = 0;
    for (int n = 0; n < 2; ++n)
      for (int i = 0; i < 6; ++i) m += x[std::size_t(n * 12 + c * 6 + i)];
    m /= count;
    for (int n = 0; n < 2; ++n)
      for (int i = 0; i < 6; ++i) v += std::pow(x[std::size_t(n * 12 + c * 6 + i)] - m, 2);
    v /= count - 1;
    EXPECT_NEAR(exe.buffers()[std::size_t(c)], 0.9 * start[std::size_t(c)] + 0.1 * m, 1e-6) << "running mean " << c;
    EXPECT_NEAR(exe.buffers()[std::size_t(2 + c)], 0.9 * start[std::size_t(2 + c)] + 0.1 * v, 1e-6)
        << "running variance " << c << " (PyTorch stores the unbiased variance)";
  }
}

// --- Activations, dropout --------------------------------------------------------------------
TEST(ReLU, AwayFromKinks) { check<Net<Input<Shape{3, 4, 4}>, ReLU>>("relu", {2, InputKind::away_from_zero, 1}); }
TEST(ReLU6, BothKinksOutOfReach) {
  check<Net<Input<Shape{3, 4, 4}>, ReLU6>>("relu6", {2, InputKind::clipping, 1});
}
TEST(ReLU6, AfterConvolution) {
  // The gradient flows through the clip into the weights (values above 6 give none).
  check<Net<Input<Shape{3, 4, 4}>, Seq<Conv3x3<3, 1, true>, ReLU6>>>("conv+relu6", {2, InputKind::clipping, 2});
}
TEST(SiLU, Smooth) { check<Net<Input<Shape{3, 4, 4}>, Seq<Conv3x3<3, 1, true>, SiLU>>>("conv+silu"); }
TEST(Sigmoid, Smooth) { check<Net<Input<Shape{3, 4, 4}>, Seq<Conv3x3<3, 1, true>, Sigmoid>>>("conv+sigmoid"); }
TEST(Dropout, ZeroProbabilityIsIdentity) { check<Net<Input<Shape{2, 3, 3}>, Seq<Conv3x3<2>, Dropout<0.0>>>>("dropout p=0"); }

// With p = 0.5 the mask is random, but every output is 0 or x / (1 - p) and the input
// gradient must use the same mask: dx = w * y / x.
TEST(Dropout, TrainingMaskIsConsistentBetweenForwardAndBackward) {
  using N = Net<Input<Shape{4, 4, 4}>, Dropout<0.5>>;
  const codegen::ProgramView program = codegen::program_v<N>.view();
  std::mt19937_64 rng(5);
  const std::vector<float> x = random_input(2 * 64, InputKind::away_from_zero, rng);
  const std::vector<float> w = random_input(2 * 64, InputKind::away_from_zero, rng);
  Executable exe(program, 2, Mode::training);
  auto y = exe.forward(x);
  const std::vector<float> out(y.begin(), y.end());
  exe.set_output_gradient(w);
  exe.backward();
  auto gx = exe.input_gradient();
  ASSERT_EQ(out.size(), x.size());
  ASSERT_EQ(gx.size(), x.size());
  int dropped = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const bool kept = out[i] != 0.0f;
    dropped += !kept;
    if (kept) {
      EXPECT_NEAR(out[i], 2.0f * x[i], 1e-6) << "kept value not scaled by 1 / (1 - p) at " << i;
    }
    EXPECT_NEAR(gx[i], kept ? 2.0f * w[i] : 0.0f, 1e-6) << "gradient mask differs from the forward mask at " << i;
  }
  EXPECT_GT(dropped, 32) << "p = 0.5 of 128 values";
  EXPECT_LT(dropped, 96) << "p = 0.5 of 128 values";
}

TEST(StochasticDepth, ZeroProbabilityIsIdentity) {
  check<Net<Input<Shape{2, 3, 3}>, Residual<Seq<Conv3x3<2>, StochasticDepth<0.0>>>>>("stochastic depth p=0");
}

// With p = 0.5 each image is either dropped whole (zeros) or kept whole, scaled by 2, and
// the backward uses the same per-image decision.
TEST(StochasticDepth, TrainingDropsWholeImagesConsistently) {
  constexpr int batch = 16;
  using N = Net<Input<Shape{4, 3, 3}>, StochasticDepth<0.5>>;
  const codegen::ProgramView program = codegen::program_v<N>.view();
  std::mt19937_64 rng(6);
  const std::vector<float> x = random_input(batch * 36, InputKind::away_from_zero, rng);
  const std::vector<float> w = random_input(batch * 36, InputKind::away_from_zero, rng);
  Executable exe(program, batch, Mode::training);
  auto y = exe.forward(x);
  const std::vector<float> out(y.begin(), y.end());
  exe.set_output_gradient(w);
  exe.backward();
  auto gx = exe.input_gradient();
  ASSERT_EQ(out.size(), x.size());
  int dropped = 0;
  for (int n = 0; n < batch; ++n) {
    const bool kept = out[std::size_t(n * 36)] != 0.0f;
    dropped += !kept;
    for (int i = 0; i < 36; ++i) {
      const auto k = std::size_t(n * 36 + i);
      EXPECT_NEAR(out[k], kept ? 2.0f * x[k] : 0.0f, 1e-6) << "image " << n << " value " << i;
      EXPECT_NEAR(gx[k], kept ? 2.0f * w[k] : 0.0f, 1e-6) << "gradient mask differs, image " << n << " value " << i;
    }
  }
  EXPECT_GT(dropped, 1) << "p = 0.5 of 16 images";
  EXPECT_LT(dropped, 15) << "p = 0.5 of 16 images";
  // Inference: the identity.
  Executable inference(program, batch, Mode::inference);
  auto yi = inference.forward(x);
  for (std::size_t k = 0; k < x.size(); ++k) ASSERT_EQ(yi[k], x[k]) << "inference is not the identity at " << k;
}

// --- Pooling ---------------------------------------------------------------------------------
TEST(MaxPool, K2S2) { check<Net<Input<Shape{2, 4, 6}>, MaxPool<2>>>("max_pool 2x2 s2", {2, InputKind::distinct, 1}); }
TEST(MaxPool, K3S2Overlapping) { check<Net<Input<Shape{2, 7, 7}>, MaxPool<3, 2>>>("max_pool 3x3 s2", {2, InputKind::distinct, 2}); }
TEST(MaxPool, K3S2P1Ceil) {
  using N = Net<Input<Shape{2, 6, 6}>, MaxPool<3, 2, 1, true>>;
  static_assert(N::output_shape == Shape{2, 4, 4});  // the last window is clipped
  check<N>("max_pool 3x3 s2 p1 ceil", {2, InputKind::distinct, 3});
}
TEST(MaxPool, BetweenConvolutions) {
  // Backward through a max pool whose input is another op's output (ties checked absent).
  check<Net<Input<Shape{3, 6, 6}>, Seq<Conv3x3<4>, MaxPool<3, 2, 1>, Conv1x1<3>>>>("conv+max_pool+conv", {2, InputKind::uniform, 25});
}
TEST(AvgPool, K2S2) { check<Net<Input<Shape{2, 4, 6}>, AvgPool<2>>>("avg_pool 2x2 s2"); }
TEST(AvgPool, K3S1P1CountsPadding) { check<Net<Input<Shape{2, 4, 4}>, AvgPool<3, 1, 1>>>("avg_pool 3x3 s1 p1"); }
TEST(AvgPool, K3S2P1CeilClipsDivisor) {
  using N = Net<Input<Shape{2, 6, 6}>, AvgPool<3, 2, 1, true>>;
  static_assert(N::output_shape == Shape{2, 4, 4});  // last window: [5, 7) -> divisor 2 per axis
  check<N>("avg_pool 3x3 s2 p1 ceil");
}
TEST(AvgPool, K2S2CeilOddInput) {
  using N = Net<Input<Shape{2, 5, 5}>, AvgPool<2, 2, 0, true>>;
  static_assert(N::output_shape == Shape{2, 3, 3});  // last window holds one column
  check<N>("avg_pool 2x2 s2 ceil");
}
TEST(GlobalAvgPool, Mean) { check<Net<Input<Shape{3, 3, 5}>, GlobalAvgPool>>("global_avg_pool"); }
TEST(AdaptiveAvgPool, NonUniformBins5to3) {
  check<Net<Input<Shape{2, 5, 7}>, AdaptiveAvgPool<3, 2>>>("adaptive_avg_pool 5x7->3x2");
}
TEST(AdaptiveAvgPool, Upsampling3to4) { check<Net<Input<Shape{2, 3, 3}>, AdaptiveAvgPool<4, 4>>>("adaptive_avg_pool 3->4"); }
TEST(AdaptiveAvgPool, IdentityView) {
  check<Net<Input<Shape{2, 3, 3}>, Seq<Conv3x3<2>, AdaptiveAvgPool<3, 3>>>>("adaptive_avg_pool identity");
}

// --- Linear ----------------------------------------------------------------------------------
TEST(Linear, FlattenLinearBias) { check<Net<Input<Shape{2, 3, 3}>, Seq<Flatten, Linear<5>>>>("flatten+linear bias"); }
TEST(Linear, AfterGlobalPoolNoBias) {
  check<Net<Input<Shape{4, 3, 3}>, Seq<GlobalAvgPool, Linear<3, false>>>>("gap+linear no bias");
}
TEST(Linear, TwoLayers) {
  check<Net<Input<Shape{6, 1, 1}>, Seq<Linear<5>, Linear<3>>>>("linear+linear");
}

// --- Shape adapters --------------------------------------------------------------------------
TEST(ZeroPadShortcut, Stride2OddSize) { check<Net<Input<Shape{2, 5, 5}>, ZeroPadShortcut<6, 2>>>("zero_pad_shortcut s2"); }
TEST(ZeroPadShortcut, Stride1) { check<Net<Input<Shape{2, 3, 3}>, ZeroPadShortcut<4, 1>>>("zero_pad_shortcut s1"); }
TEST(PadTo, Asymmetric) { check<Net<Input<Shape{2, 3, 4}>, PadTo<6, 7>>>("pad_to 3x4->6x7"); }
TEST(Resize, Upsample) { check<Net<Input<Shape{2, 3, 4}>, Resize<7, 5>>>("resize 3x4->7x5"); }
TEST(Resize, Downsample) { check<Net<Input<Shape{2, 6, 7}>, Resize<4, 3>>>("resize 6x7->4x3"); }

// --- LocalResponseNorm -----------------------------------------------------------------------
// alpha large enough that the normalisation is far from linear.
TEST(LocalResponseNorm, Size3) {
  check<Net<Input<Shape{5, 3, 3}>, LocalResponseNorm<3, 1.0, 0.75, 1.0>>>("lrn size 3");
}
TEST(LocalResponseNorm, AlexNetSize5) {
  check<Net<Input<Shape{7, 2, 2}>, LocalResponseNorm<5, 0.5, 0.75, 2.0>>>("lrn size 5");
}
// PyTorch's window for an even size is [c - size/2, c + (size-1)/2] (here c-2 .. c+1).
TEST(LocalResponseNorm, EvenSize4) {
  check<Net<Input<Shape{6, 2, 2}>, LocalResponseNorm<4, 1.0, 0.5, 1.5>>>("lrn size 4 (even)");
}

// --- Joins -----------------------------------------------------------------------------------
TEST(Add, ResidualIdentity) { check<Net<Input<Shape{3, 4, 4}>, Residual<Conv3x3<3, 1, true>>>>("residual identity"); }
TEST(Add, ResidualProjection) {
  check<Net<Input<Shape{3, 6, 6}>, Residual<Conv3x3<4, 2>, Conv1x1<4, 2>>>>("residual projection");
}
TEST(Add, ResidualZeroPadShortcut) {
  check<Net<Input<Shape{2, 6, 6}>, Residual<Conv3x3<4, 2>, ZeroPadShortcut<4, 2>>>>("residual zero-pad shortcut");
}
TEST(Add, NestedResiduals) {
  check<Net<Input<Shape{2, 4, 4}>, Residual<Seq<Conv3x3<2>, Residual<Conv3x3<2>>>>>>("nested residuals");
}
// --- Scale (squeeze-and-excitation) -----------------------------------------------------------
TEST(Scale, GateAfterConvolution) {
  // The tensor reaches the output twice: scaled directly, and through the gate.
  check<Net<Input<Shape{3, 4, 4}>, Seq<Conv3x3<4, 1, true>, Scale<Seq<GlobalAvgPool, Conv1x1<4, 1, true>, Sigmoid>>>>>(
      "conv+scale");
}
TEST(Scale, SqueezeExcitationSiLU) {
  check<Net<Input<Shape{8, 3, 3}>, Seq<Conv1x1<8>, SqueezeExcitation<8, 2, SiLU>, Conv1x1<3>>>>("squeeze-excitation silu");
}
TEST(Scale, SEBlockInResidual) {
  check<Net<Input<Shape{16, 3, 3}>, Residual<Seq<Conv3x3<16, 1, true>, SE<16, 4>>>>>("residual+se",
                                                                                      {2, InputKind::uniform, 4});
}

// --- Depthwise and separable convolutions ------------------------------------------------------
TEST(DepthwiseConv, Stride2Bias) { check<Net<Input<Shape{4, 6, 6}>, DepthwiseConv<4, 3, 2, same, true>>>("depthwise 3x3 s2"); }
TEST(DepthwiseConv, Kernel5) { check<Net<Input<Shape{3, 6, 6}>, DepthwiseConv<3, 5>>>("depthwise 5x5"); }
TEST(SeparableConv, DepthwiseThenPointwise) {
  check<Net<Input<Shape{3, 5, 5}>, SeparableConv<6, 3, 1, same, true>>>("separable 3x3 -> 6");
}

TEST(Concat, TwoBranches) {
  check<Net<Input<Shape{3, 4, 4}>, Concat<Conv1x1<2>, Conv3x3<3, 1, true>>>>("concat 2 branches");
}
TEST(Concat, ThreeBranchesWithIdentity) {
  check<Net<Input<Shape{3, 4, 4}>, Concat<Identity, Conv1x1<2>, Seq<AvgPool<3, 1, 1>, Conv1x1<1>>>>>(
      "concat 3 branches + identity");
}
TEST(Concat, ThenConv) {
  // The concatenated tensor is read by a later op: its gradient is split back by channels.
  check<Net<Input<Shape{2, 4, 4}>, Seq<Concat<Conv1x1<1>, Conv3x3<2>>, Conv3x3<2>>>>("concat then conv");
}

// --- Softmax cross-entropy -------------------------------------------------------------------
// Logits = W x with W the identity, so the input gradient is d(loss)/d(logits) itself; it is
// compared with central differences of the double-precision loss.
TEST(SoftmaxCrossEntropy, LossAndLogitsGradient) {
  constexpr int batch = 3, classes = 5;
  using N = Net<Input<Shape{classes, 1, 1}>, Linear<classes, false>, classes>;
  const codegen::ProgramView program = codegen::program_v<N>.view();
  std::vector<float> eye(classes * classes, 0.0f);
  for (int i = 0; i < classes; ++i) eye[std::size_t(i * classes + i)] = 1.0f;
  std::mt19937_64 rng(11);
  std::vector<float> logits = random_input(batch * classes, InputKind::uniform, rng);
  for (float& z : logits) z *= 3.0f;
  logits[3] = 40.0f;  // one confident sample: the loss must not overflow
  const int labels[batch] = {3, 0, 4};

  Executable exe(program, batch, Mode::training);
  std::copy(eye.begin(), eye.end(), exe.parameters().begin());
  exe.forward(logits);
  const float loss = exe.softmax_cross_entropy(labels);
  std::vector<double> z = widen(logits);
  const double want = reference_softmax_cross_entropy(z, batch, classes, labels);
  EXPECT_NEAR(loss, want, 1e-5 * std::max(1.0, want));
  exe.backward();
  const std::vector<float> got(exe.input_gradient().begin(), exe.input_gradient().end());
  std::vector<double> fd(z.size());
  for (std::size_t i = 0; i < z.size(); ++i) {
    const double z0 = z[i], h = fd_step * std::max(1.0, std::abs(z0));
    z[i] = z0 + h;
    const double plus = reference_softmax_cross_entropy(z, batch, classes, labels);
    z[i] = z0 - h;
    const double minus = reference_softmax_cross_entropy(z, batch, classes, labels);
    z[i] = z0;
    fd[i] = (plus - minus) / (2 * h);
  }
  // d(loss)/d(logits) = (softmax - onehot) / batch: entries in (-1/3, 1/3), so a missing
  // 1/batch or a sign flip is far outside an absolute 1e-5.
  const Comparison c = compare(got, fd, 1e-5);
  EXPECT_TRUE(c.ok()) << c.mismatches << " mismatches, first " << c.first;
  std::printf("[gradcheck] %-28s loss %.2e  logits-grad %.2e\n", "softmax_cross_entropy",
              std::abs(loss - want) / std::max(1.0, want), c.max_scaled_error);

  const int bad[batch] = {0, classes, 1};
  EXPECT_THROW(exe.softmax_cross_entropy(bad), std::out_of_range);
}

// Through a net: parameter and input gradients of the mean cross-entropy.
TEST(SoftmaxCrossEntropy, ThroughConvNet) {
  constexpr int batch = 2, classes = 4;
  using N = Net<Input<Shape{2, 4, 4}>, Seq<Conv3x3<3, 2, true>, GlobalAvgPool, Linear<classes>>, classes>;
  const codegen::ProgramView program = codegen::program_v<N>.view();
  std::mt19937_64 rng(13);
  const std::vector<float> params = random_parameters(parameter_blocks(program), program.params, rng);
  const std::vector<float> x = random_input(batch * 32, InputKind::uniform, rng);
  const int labels[batch] = {2, 1};
  std::vector<double> p = widen(params), xd = widen(x);
  auto loss = [&] {
    const std::vector<double> z = reference_forward(program, batch, p, xd, true);
    return reference_softmax_cross_entropy(z, batch, classes, labels);
  };
  auto fd = [&](std::vector<double>& v) {
    std::vector<double> g(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
      const double v0 = v[i], h = fd_step * std::max(1.0, std::abs(v0));
      v[i] = v0 + h;
      const double plus = loss();
      v[i] = v0 - h;
      const double minus = loss();
      v[i] = v0;
      g[i] = (plus - minus) / (2 * h);
    }
    return g;
  };
  const std::vector<double> gx = fd(xd), gp = fd(p);
  Executable exe(program, batch, Mode::training);
  std::copy(params.begin(), params.end(), exe.parameters().begin());
  exe.forward(x);
  EXPECT_NEAR(exe.softmax_cross_entropy(labels), loss(), 1e-5);
  exe.backward();
  // These gradients are O(0.01 .. 0.5) (the loss is a mean of a few softmax terms): compare
  // with an absolute 1e-5 so that the check is as sharp as the one on the projected loss.
  const Comparison cx = compare(std::vector<float>(exe.input_gradient().begin(), exe.input_gradient().end()), gx, 1e-5);
  const Comparison cp = compare(std::vector<float>(exe.gradients().begin(), exe.gradients().end()), gp, 1e-5);
  EXPECT_GT(cx.norm_want, 1e-2);
  EXPECT_TRUE(cx.ok()) << "input gradient: " << cx.mismatches << " mismatches, first " << cx.first;
  EXPECT_TRUE(cp.ok()) << "parameter gradients: " << cp.mismatches << " mismatches, first " << cp.first;
  std::printf("[gradcheck] %-28s input-grad %.2e  param-grad %.2e\n", "cross_entropy through net",
              cx.max_scaled_error, cp.max_scaled_error);
}

// --- A composite net -------------------------------------------------------------------------
// conv-BN-ReLU stem, a residual block with a projection shortcut (both paths with BN), a
// concat of two branches, BN-ReLU, global pooling and a linear classifier.
using Composite = Net<Input<Shape{3, 8, 8}>,
                      Seq<Conv3x3<4>, BatchNorm, ReLU,
                          Residual<Seq<Conv3x3<6, 2>, BatchNorm, ReLU, Conv3x3<6>, BatchNorm>,
                                   Seq<Conv1x1<6, 2>, BatchNorm>, ReLU>,
                          Concat<Conv1x1<3>, Seq<Conv3x3<2>, BatchNorm, ReLU, Conv3x3<3>>>,
                          BatchNorm, ReLU, GlobalAvgPool, Linear<5>>,
                      5>;
TEST(Composite, ResidualConcatBatchNorm) { check<Composite>("composite", {2, InputKind::uniform, 25}); }

// torchvision AlexNet's pattern in miniature, behind a Resize adapter (batch 3, no BN):
// conv(bias)-ReLU-LRN-MaxPool, conv-ReLU, AdaptiveAvgPool (2 -> 3, overlapping bins),
// Flatten, Dropout (p = 0), Linear.
using AlexNetLike = Net<Input<Shape{2, 5, 5}>,
                        Seq<Resize<9, 9>, Conv<4, 3, 2, 1, 1, true>, ReLU, LocalResponseNorm<5, 0.1, 0.75, 2.0>,
                            MaxPool<3, 2>, Conv3x3<6, 1, true>, ReLU, AdaptiveAvgPool<3>, Flatten, Dropout<0.0>,
                            Linear<4>>,
                        4>;
TEST(Composite, AlexNetLike) { check<AlexNetLike>("alexnet-like", {3, InputKind::uniform, 17}); }

// Channel counts that oneDNN keeps in blocked layouts (nChw16c on AVX-512): a concat of 16
// and 8 channels (not a multiple of the block), BN and a residual over 24 channels.
using Blocked = Net<Input<Shape{16, 4, 4}>,
                    Seq<Concat<Conv3x3<16>, Conv1x1<8>>, BatchNorm, Residual<Conv1x1<24, 1, true>>,
                        AvgPool<2>, Flatten, Linear<3>>,
                    3>;
TEST(Composite, BlockedLayouts) { check<Blocked>("blocked layouts (16-24 ch)"); }

// A ResNet stage as inference folds it (codegen::fold_inference): Conv+BN+ReLU, then an
// identity block whose last Conv+BN takes the residual sum in place and the ReLU, then a
// projection block whose shortcut Conv+BN takes the body's result as its sum.
using FoldedStage = Net<Input<Shape{3, 6, 6}>,
                        Seq<Conv3x3<16>, BatchNorm, ReLU,
                            Residual<Seq<Conv3x3<16>, BatchNorm, ReLU, Conv3x3<16>, BatchNorm>, Identity, ReLU>,
                            Residual<Seq<Conv3x3<8, 2>, BatchNorm, ReLU, Conv3x3<8>, BatchNorm>,
                                     Seq<Conv1x1<8, 2>, BatchNorm>, ReLU>,
                            GlobalAvgPool, Linear<3>>,
                        3>;
static_assert(codegen::inference_program_v<FoldedStage>.ops[6].fusion.sum >= 0, "identity block: sum folded");

// A MobileNetV2 / EfficientNet block as inference folds it: Conv+BN+ReLU6 and
// depthwise Conv+BN+SiLU chains, the SE gate's Conv+SiLU and Conv+Sigmoid, the projection
// Conv+BN taking the residual sum, then a Linear+Sigmoid head.
template <double DropP, class Last>
using MobileBlockP = Net<Input<Shape{8, 4, 4}>,
                         Seq<Conv1x1<8>, BatchNorm, ReLU6,
                             Residual<Seq<Conv1x1<16>, BatchNorm, SiLU, DepthwiseConv<16, 3>, BatchNorm, SiLU,
                                          SqueezeExcitation<16, 4, SiLU>, Conv1x1<8>, BatchNorm, StochasticDepth<DropP>>>,
                             GlobalAvgPool, Flatten, Linear<5>, Last>,
                         5>;
using MobileBlock = MobileBlockP<0.1, Sigmoid>;
constexpr int folded_activations(LayerKind kind) {
  int n = 0;
  for (const codegen::Op& op : codegen::inference_program_v<MobileBlock>.ops) {
    n += op.fusion.activated && op.fusion.activation == kind ? 1 : 0;
  }
  return n;
}
static_assert(folded_activations(LayerKind::relu6) == 1 && folded_activations(LayerKind::silu) == 3 &&
                  folded_activations(LayerKind::sigmoid) == 2,
              "ReLU6, SiLU (expand, depthwise, SE fc1) and Sigmoid (SE fc2, head) become post-ops");
// Training, with the stochastic depth off (random masks have no finite differences; its
// own tests above check the mask) and without the saturating head.
TEST(Composite, MobileBlockTrains) { check<MobileBlockP<0.0, Identity>>("mobile block", {2, InputKind::uniform, 8}); }

// The same nets in inference mode: running statistics, and whatever the backend folds.
TEST(Composite, InferenceForward) {
  check_inference<MobileBlock>("mobile block (relu6, silu, sigmoid post-ops)");
  check_inference<Composite>("composite");
  check_inference<Blocked>("blocked layouts (16-24 ch)");
  check_inference<AlexNetLike>("alexnet-like");
  check_inference<FoldedStage>("folded resnet stage");
}

// --- The harness itself: a wrong gradient must fail ------------------------------------------
// The comparisons above would be worthless if they could not fail: take the backend's
// (correct) gradients of a residual block and break them the ways backends break.
TEST(Harness, RejectsWrongGradients) {
  using N = Net<Input<Shape{3, 4, 4}>, Residual<Conv3x3<3, 1, true>>>;
  const codegen::ProgramView program = codegen::program_v<N>.view();
  const CheckRun r = compute(program, {});
  ASSERT_TRUE(compare(r.got_input_grad, r.fd_input, gradient_tolerance).ok());
  ASSERT_TRUE(compare(r.got_params_grad, r.fd_params, gradient_tolerance).ok());

  // A sign flip.
  std::vector<float> flipped = r.got_input_grad;
  for (float& g : flipped) g = -g;
  EXPECT_FALSE(compare(flipped, r.fd_input, gradient_tolerance).ok());
  // A missing accumulation: the identity shortcut's contribution (w) dropped.
  std::vector<float> body_only = r.got_input_grad;
  for (std::size_t i = 0; i < body_only.size(); ++i) body_only[i] -= r.projection[i];
  EXPECT_FALSE(compare(body_only, r.fd_input, gradient_tolerance).ok());
  // The bias gradient summed over one image of the batch only.
  std::vector<float> half_bias = r.got_params_grad;
  const std::size_t bias = std::size_t(program.params - 3);
  for (std::size_t i = bias; i < half_bias.size(); ++i) half_bias[i] *= 0.5f;
  EXPECT_FALSE(compare(half_bias, r.fd_params, gradient_tolerance).ok());
  // A small systematic error (1% on every weight gradient) is caught by the block norm.
  std::vector<float> scaled = r.got_params_grad;
  for (float& g : scaled) g *= 1.01f;
  EXPECT_FALSE(compare(scaled, r.fd_params, gradient_tolerance).ok());
  // One transposed kernel tap.
  std::vector<float> swapped = r.got_params_grad;
  std::swap(swapped[0], swapped[8]);
  EXPECT_FALSE(compare(swapped, r.fd_params, gradient_tolerance).ok());
}

}  // namespace
}  // namespace archetype::gradcheck
