// gpu.bf16.*: the cuDNN backend's bf16 mixed precision (Options::precision bf16) against its own
// fp32 path on the same weights and images. bf16 keeps 8 bits of mantissa, so the two differ by
// rounding: about 2^-8 relative per op, growing with depth. The bounds below are loose enough
// for that (each test prints what it measured) and far below what a wrong kernel, a missing
// cast or a gradient that never reaches the fp32 block gives (differences of order 1). Every
// op kind the backend runs in bf16 is in one of the nets. Skips without a GPU (gpu_main.cpp).
#include <archetype/archetype.hpp>
#include <archetype/architectures/registry.hpp>
#include <archetype/backends/cudnn/executable.hpp>
#include <archetype/codegen/program.hpp>

#include "test_data.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ostream>
#include <span>
#include <string>
#include <vector>

namespace archetype::cudnn {
namespace {

constexpr double logits_bound = 5e-2;      // relative L2
constexpr double gradient_bound = 1e-1;    // relative L2, per op's parameter block and the input's
constexpr double statistics_bound = 2e-2;  // relative L2 of the running statistics after a step

using testing_data::Data;
using testing_data::make_data;
using testing_data::Small;

// Strided convolutions, a projection shortcut, Concat.
using Composite = Net<Input<Shape{3, 8, 8}>,
                      Seq<Conv3x3<4>, BatchNorm, ReLU,
                          Residual<Seq<Conv3x3<6, 2>, BatchNorm, ReLU, Conv3x3<6>, BatchNorm>,
                                   Seq<Conv1x1<6, 2>, BatchNorm>, ReLU>,
                          Concat<Conv1x1<3>, Seq<Conv3x3<2>, BatchNorm, ReLU, Conv3x3<3>>>,
                          BatchNorm, ReLU, GlobalAvgPool, Linear<5>>,
                      5>;
// Resize, a strided convolution with bias, LRN, max pooling, adaptive average pooling, a
// Linear on a 3x3 map (the flatten order matters), Dropout (off: Options::dropout false).
using AlexNetLike =
    Net<Input<Shape{2, 5, 5}>,
        Seq<Resize<9, 9>, Conv<4, 3, 2, 1, 1, true>, ReLU, LocalResponseNorm<5, 0.1, 0.75, 2.0>,
            MaxPool<3, 2>, Conv3x3<6, 1, true>, ReLU, AdaptiveAvgPool<3>, Flatten, Dropout<0.5>,
            Linear<4>>,
        4>;
// ReLU6, SiLU, a depthwise convolution, squeeze-and-excitation (Scale, Sigmoid), average
// pooling, stochastic depth (off), a Sigmoid head.
using Mobile = Net<
    Input<Shape{8, 4, 4}>,
    Seq<Conv1x1<8>, BatchNorm, ReLU6,
        Residual<Seq<Conv1x1<16>, BatchNorm, SiLU, DepthwiseConv<16, 3>, BatchNorm, SiLU,
                     SqueezeExcitation<16, 4, SiLU>, Conv1x1<8>, BatchNorm, StochasticDepth<0.1>>>,
        AvgPool<2>, GlobalAvgPool, Flatten, Linear<5>, Sigmoid>,
    5>;

struct Case {
  std::string name;
  codegen::ProgramView program;
  int batch;
  bool channels_last;  ///< what Options::channels_last gives (AlexNetLike's LRN and Resize keep
                       ///< NCHW)
};

// Names the case in test listings (instead of its bytes).
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

std::vector<Case> cases() {
  std::vector<Case> c{{"small", codegen::program_v<Small>.view(), 4, true},
                      {"composite", codegen::program_v<Composite>.view(), 4, true},
                      {"alexnet_like", codegen::program_v<AlexNetLike>.view(), 3, false},
                      {"mobile", codegen::program_v<Mobile>.view(), 4, true}};
  // ResNet-20: 19 convolutions deep, option-A shortcuts (ZeroPadShortcut).
  if (const ModelEntry* m = find_model("resnet20"))
    c.push_back({"resnet20", m->native.program, 8, true});
  return c;
}

double norm(std::span<const float> a) {
  double s = 0;
  for (float v : a) s += double(v) * v;
  return std::sqrt(s);
}

/// ||a - b|| / max(||b||, floor).
double relative_l2(std::span<const float> a, std::span<const float> b, double floor = 1e-30) {
  if (a.size() != b.size()) return 1e300;
  double d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return std::sqrt(d) / std::max(norm(b), floor);
}

Executable make(const Case& c, Mode mode, bool bf16, const Data& d, bool graph = true,
                bool channels_last = true, bool fuse = true) {
  Options o;
  o.precision = bf16 ? codegen::Precision::bf16 : codegen::Precision::f32;
  o.channels_last = channels_last;
  o.fuse_batch_norm_relu = fuse;
  o.dropout =
      false;  // Dropout and StochasticDepth as the identity: both sides compute the same function
  o.deterministic = true;
  o.cuda_graph = graph;
  Executable e(c.program, c.batch, mode, o);
  std::copy(d.params.begin(), d.params.end(), e.parameters().begin());
  return e;
}

class NearFp32 : public testing::TestWithParam<Case> {};

// One training forward, loss and backward on both paths: the logits, the loss, every op's
// parameter gradients, the input gradient and the running statistics; then inference.
TEST_P(NearFp32, ForwardBackwardAndInference) {
  const Case& c = GetParam();
  const Data d = make_data(c.program, c.batch);
  Executable f32 = make(c, Mode::training, false, d);
  Executable b16 = make(c, Mode::training, true, d);
  EXPECT_FALSE(f32.channels_last());
  EXPECT_EQ(b16.channels_last(), c.channels_last) << c.name;

  const std::span<const float> y32 = f32.forward(d.images);
  const std::vector<float> logits32(y32.begin(), y32.end());
  const std::span<const float> y16 = b16.forward(d.images);
  const double logits = relative_l2(y16, logits32);
  EXPECT_LT(logits, logits_bound) << c.name << ": training logits";
  const float loss32 = f32.softmax_cross_entropy(d.labels),
              loss16 = b16.softmax_cross_entropy(d.labels);
  EXPECT_NEAR(loss16, loss32, 0.05 * std::abs(loss32) + 1e-3) << c.name << ": loss";

  f32.backward();
  b16.backward();
  const std::vector<float> g32(f32.gradients().begin(), f32.gradients().end());
  const std::vector<float> g16(b16.gradients().begin(), b16.gradients().end());
  const double floor =
      1e-3 * norm(g32);  // a block whose gradient is ~0 is measured against the whole
  double worst = 0;
  std::string worst_op;
  for (const codegen::Op& op : c.program.ops) {
    if (op.layer.params == 0) continue;
    const auto begin = std::size_t(op.param_offset), n = std::size_t(op.layer.params);
    const double r = relative_l2(std::span<const float>(g16).subspan(begin, n),
                                 std::span<const float>(g32).subspan(begin, n), floor);
    EXPECT_LT(r, gradient_bound) << c.name << ": parameter gradients of " << op.layer.path.view();
    if (r > worst) worst = r, worst_op = std::string(op.layer.path.view());
  }
  const std::vector<float> dx32(f32.input_gradient().begin(), f32.input_gradient().end());
  ASSERT_FALSE(dx32.empty());
  const double dx = relative_l2(b16.input_gradient(), dx32);
  EXPECT_LT(dx, gradient_bound) << c.name << ": input gradient";
  // Running means and running variances apart (the variances, near 1, would hide the means).
  const std::vector<float> s32(f32.buffers().begin(), f32.buffers().end());
  const std::vector<float> s16(b16.buffers().begin(), b16.buffers().end());
  std::vector<float> mean32, mean16, var32, var16;
  for (const codegen::Op& op : c.program.ops) {
    if (op.layer.op != LayerKind::batch_norm) continue;
    const auto at = std::size_t(op.buffer_offset), ch = std::size_t(op.layer.in.c);
    mean32.insert(mean32.end(), s32.begin() + long(at), s32.begin() + long(at + ch));
    mean16.insert(mean16.end(), s16.begin() + long(at), s16.begin() + long(at + ch));
    var32.insert(var32.end(), s32.begin() + long(at + ch), s32.begin() + long(at + 2 * ch));
    var16.insert(var16.end(), s16.begin() + long(at + ch), s16.begin() + long(at + 2 * ch));
  }
  const double means = mean32.empty() ? 0.0 : relative_l2(mean16, mean32, 1e-3);
  const double vars = var32.empty() ? 0.0 : relative_l2(var16, var32);
  EXPECT_LT(means, gradient_bound) << c.name << ": running means";
  EXPECT_LT(vars, statistics_bound) << c.name << ": running variances";
  const double stats = std::max(means, vars);

  // Inference with the statistics of that step.
  Executable i32 = make(c, Mode::inference, false, d);
  Executable i16 = make(c, Mode::inference, true, d);
  std::copy(s32.begin(), s32.end(), i32.buffers().begin());
  std::copy(s32.begin(), s32.end(), i16.buffers().begin());
  const std::span<const float> z32 = i32.forward(d.images);
  const std::vector<float> inference32(z32.begin(), z32.end());
  const double inference = relative_l2(i16.forward(d.images), inference32);
  EXPECT_LT(inference, logits_bound) << c.name << ": inference logits";
  std::printf(
      "[bf16] %-13s relative L2 to fp32: logits %.2e, loss %.5f vs %.5f, worst parameter gradient "
      "%.2e (%s), "
      "input gradient %.2e, running statistics %.2e, inference logits %.2e\n",
      c.name.c_str(), logits, double(loss16), double(loss32), worst, worst_op.c_str(), dx, stats,
      inference);
}

/// One training forward, loss and backward on two executables of the same program and
/// weights: `a`'s logits, parameter gradients, input gradient and running statistics, in
/// relative L2 to `b`'s.
struct StepDifference {
  double logits = 0, gradients = 0, input = 0, statistics = 0;
};
StepDifference one_step(Executable& a, Executable& b, const Data& d) {
  StepDifference r;
  const std::span<const float> y = b.forward(d.images);
  const std::vector<float> logits(y.begin(), y.end());
  r.logits = relative_l2(a.forward(d.images), logits);
  a.softmax_cross_entropy(d.labels);
  b.softmax_cross_entropy(d.labels);
  a.backward();
  b.backward();
  const std::vector<float> g(b.gradients().begin(), b.gradients().end());
  r.gradients = relative_l2(a.gradients(), g);
  const std::vector<float> dx(b.input_gradient().begin(), b.input_gradient().end());
  r.input = relative_l2(a.input_gradient(), dx);
  const std::vector<float> s(b.buffers().begin(), b.buffers().end());
  r.statistics = s.empty() ? 0.0 : relative_l2(a.buffers(), s);
  return r;
}

// bf16 channels-last against bf16 NCHW: the same arithmetic in another order (cuDNN's
// algorithms differ), so much closer than either is to fp32.
TEST_P(NearFp32, ChannelsLastMatchesNchw) {
  const Case& c = GetParam();
  if (!c.channels_last) GTEST_SKIP() << c.name << " has ops without a channels-last implementation";
  const Data d = make_data(c.program, c.batch);
  Executable cl = make(c, Mode::training, true, d, true, true);
  Executable nchw = make(c, Mode::training, true, d, true, false);
  ASSERT_TRUE(cl.channels_last());
  ASSERT_FALSE(nchw.channels_last());
  const StepDifference r = one_step(cl, nchw, d);
  EXPECT_LT(r.logits, logits_bound / 2) << c.name << ": logits";
  EXPECT_LT(r.gradients, gradient_bound / 2) << c.name << ": parameter gradients";
  EXPECT_LT(r.input, gradient_bound / 2)
      << c.name << ": input gradient (NHWC on the device, NCHW out)";
  std::printf(
      "[bf16] %-13s channels-last vs NCHW, relative L2: logits %.2e, parameter gradients %.2e, "
      "input "
      "gradient %.2e\n",
      c.name.c_str(), r.logits, r.gradients, r.input);
}

// BatchNorm + ReLU fused against the two ops apart: ReLU commutes with bf16 rounding and the
// mask is the same, so the same bits but for cuDNN's algorithm choices (measured apart).
TEST_P(NearFp32, FusedBatchNormReluMatchesUnfused) {
  const Case& c = GetParam();
  const Data d = make_data(c.program, c.batch);
  Executable fused = make(c, Mode::training, true, d, true, true, true);
  Executable apart = make(c, Mode::training, true, d, true, true, false);
  const StepDifference r = one_step(fused, apart, d);
  EXPECT_LT(r.logits, 5e-3) << c.name << ": logits";
  EXPECT_LT(r.gradients, 1e-2) << c.name << ": parameter gradients";
  EXPECT_LT(r.statistics, 5e-3) << c.name << ": running statistics";
  std::printf(
      "[bf16] %-13s BatchNorm+ReLU fused vs apart, relative L2: logits %.2e, parameter gradients "
      "%.2e, "
      "running statistics %.2e\n",
      c.name.c_str(), r.logits, r.gradients, r.statistics);
}

INSTANTIATE_TEST_SUITE_P(Nets, NearFp32, testing::ValuesIn(cases()),
                         [](const testing::TestParamInfo<Case>& i) { return i.param.name; });

// The parameters handed in stay fp32: a step reads their bf16 copy and never writes it back.
// With lr 0 the update leaves them exactly as they were (p - 0 v = p), and parameters() then
// reads them from the device.
TEST(Bf16, ParametersStayFp32) {
  const Case c{"small", codegen::program_v<Small>.view(), 4, true};
  const Data d = make_data(c.program, c.batch);
  Executable e = make(c, Mode::training, true, d);
  e.train_step(d.images, d.labels, 0.0);
  const std::span<const float> p = e.parameters();
  EXPECT_TRUE(std::equal(p.begin(), p.end(), d.params.begin()))
      << "a step at lr 0 changed the fp32 parameters";
  e.train_step(d.images, d.labels, 0.05);
  const std::span<const float> q = e.parameters();
  EXPECT_FALSE(std::equal(q.begin(), q.end(), d.params.begin()))
      << "a step at lr 0.05 changed nothing";
}

// The captured graph replays the eager bf16 step bit for bit (deterministic algorithms; the
// parameter cast, the input cast and the gradient casts are inside the graph). The two
// executables measure their algorithms apart: should they pick different ones, the bits
// differ for that reason (as in gpu.cudnn.CudaGraph.ReplayEqualsEagerSteps).
TEST(Bf16, GraphReplayEqualsEagerSteps) {
  const Case c{"small", codegen::program_v<Small>.view(), 4, true};
  const Data d = make_data(c.program, c.batch);
  Executable eager = make(c, Mode::training, true, d, false);
  Executable graph = make(c, Mode::training, true, d, true);
  for (int step = 0; step < 4; ++step) {
    const auto a = eager.train_step(d.images, d.labels, 0.05);
    const std::vector<float> logits_a(a.logits.begin(), a.logits.end());
    const auto b = graph.train_step(d.images, d.labels, 0.05);
    EXPECT_EQ(a.loss, b.loss) << "step " << step;
    EXPECT_EQ(relative_l2(b.logits, logits_a), 0.0) << "step " << step;
  }
  EXPECT_TRUE(graph.graph_captured());
  const std::vector<float> pe(eager.parameters().begin(), eager.parameters().end());
  EXPECT_EQ(relative_l2(graph.parameters(), pe), 0.0);
  EXPECT_NE(relative_l2(pe, d.params), 0.0) << "the steps changed the parameters";
}

// bf16 training learns as fp32 does: 40 SGD steps (momentum 0.9) on one batch lower the loss,
// to within 15% of the first loss of where fp32 takes it (the Sigmoid head of `mobile` bounds
// its logits, so its loss cannot fall far: hence a comparison, not a fixed fraction).
TEST(Bf16, TrainingFollowsFp32) {
  for (const Case& c : cases()) {
    const Data d = make_data(c.program, c.batch);
    float first = 0, last16 = 0, last32 = 0;
    for (const bool bf16 : {false, true}) {
      Executable e = make(c, Mode::training, bf16, d);
      float loss = e.train_step(d.images, d.labels, 0.05).loss;
      if (!bf16) first = loss;
      for (int step = 1; step < 40; ++step) loss = e.train_step(d.images, d.labels, 0.05).loss;
      (bf16 ? last16 : last32) = loss;
    }
    EXPECT_TRUE(std::isfinite(last16)) << c.name;
    EXPECT_LT(last16, first) << c.name << ": bf16 training did not lower the loss";
    EXPECT_NEAR(last16, last32, 0.15 * first)
        << c.name << ": fp32 went from " << first << " to " << last32;
    std::printf("[bf16] %-13s loss over 40 steps on one batch: %.4f -> %.4f (fp32: %.4f)\n",
                c.name.c_str(), double(first), double(last16), double(last32));
  }
}

}  // namespace
}  // namespace archetype::cudnn
