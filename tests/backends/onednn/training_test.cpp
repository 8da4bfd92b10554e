// The loss, the backward pass (exact differences on nets that are linear in each input and
// parameter, so that fp32 central differences are exact up to rounding), a few SGD steps,
// initialisation, zoo nets end to end, and the error cases.
#include "naive.hpp"

#include <archetype/architectures/cifar_resnet.hpp>
#include <archetype/architectures/lenet.hpp>
#include <archetype/codegen/training_plan.hpp>

#include <algorithm>
#include <array>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

namespace archetype::onednn::test {
namespace {

TEST(Loss, SoftmaxCrossEntropyValueAndGradient) {
  using N = Net<Input<Shape{6, 1, 1}>, Linear<5>>;
  const int batch = 3, classes = 5;
  Executable exe(program<N>(), batch, Mode::training);
  randomize(exe, 7);
  const Vec x = random_vec(batch * 6, 8, -3.f, 3.f);
  const auto z = exe.forward(x);
  const std::array<int, 3> labels{4, 0, 2};
  double loss = 0;
  Vec g(z.size());
  for (int n = 0; n < batch; ++n) {
    double sum = 0;
    for (int c = 0; c < classes; ++c) sum += std::exp(double(z[std::size_t(n * classes + c)]));
    loss -= std::log(std::exp(double(z[std::size_t(n * classes + labels[std::size_t(n)])])) / sum);
    for (int c = 0; c < classes; ++c) {
      const double p = std::exp(double(z[std::size_t(n * classes + c)])) / sum;
      g[std::size_t(n * classes + c)] = float((p - (c == labels[std::size_t(n)])) / batch);
    }
  }
  EXPECT_NEAR(exe.softmax_cross_entropy(labels), loss / batch, 1e-5);
  exe.backward();
  // Linear: d(bias) = sum over the batch of d(logits); d(input) = W^T d(logits).
  const float* w = exe.parameters().data();
  const auto grads = exe.gradients();
  for (int c = 0; c < classes; ++c) {
    double want = 0;
    for (int n = 0; n < batch; ++n) want += g[std::size_t(n * classes + c)];
    EXPECT_NEAR(grads[std::size_t(30 + c)], want, 1e-6) << "bias " << c;
  }
  const auto dx = exe.input_gradient();
  for (int n = 0; n < batch; ++n)
    for (int i = 0; i < 6; ++i) {
      double want = 0;
      for (int c = 0; c < classes; ++c)
        want += double(w[c * 6 + i]) * g[std::size_t(n * classes + c)];
      EXPECT_NEAR(dx[std::size_t(n * 6 + i)], want, 1e-6) << "input " << n << "," << i;
    }
}

TEST(Loss, StableForLargeLogits) {
  using N = Net<Input<Shape{2, 1, 1}>, Linear<2, false>>;
  Executable exe(program<N>(), 1, Mode::training);
  const std::array<float, 4> w{1000.f, 0.f, 0.f, 1000.f};
  std::copy(w.begin(), w.end(), exe.parameters().begin());
  const std::array<float, 2> x{1.f, 0.f};  // logits 1000, 0
  exe.forward(x);
  const std::array<int, 1> label{1};
  EXPECT_NEAR(exe.softmax_cross_entropy(label), 1000.f, 1e-3f);
}

/// L = sum(w * out) for a random w; checks d(L)/d(input) and d(L)/d(params) of the backend
/// against central differences. The nets are linear in each input and parameter, so the
/// differences are exact up to fp32 rounding whatever the step.
template <class N>
void check_linear_gradients(int batch) {
  constexpr Shape in = N::input_shape;
  Executable exe(program<N>(), batch, Mode::training);
  randomize(exe, 21);
  Vec x = random_vec(std::size_t(batch * in.elements()), 22);
  const auto y0 = exe.forward(x);
  const Vec w = random_vec(y0.size(), 23);
  exe.set_output_gradient(w);
  exe.backward();
  const Vec dx(exe.input_gradient().begin(), exe.input_gradient().end());
  const Vec dp(exe.gradients().begin(), exe.gradients().end());
  auto loss = [&] {
    const auto y = exe.forward(x);
    return std::inner_product(y.begin(), y.end(), w.begin(), 0.0);
  };
  auto check = [&](float& v, float analytic, const char* what, std::size_t i) {
    const float saved = v;
    v = saved + 0.5f;
    const double up = loss();
    v = saved - 0.5f;
    const double down = loss();
    v = saved;
    EXPECT_NEAR(analytic, (up - down), 2e-3 * std::max(1.0, std::abs(up - down)))
        << what << " " << i;
  };
  // A sample of about 30 inputs and 60 parameters (each check is two forward passes).
  for (std::size_t i = 0; i < x.size(); i += x.size() / 30 + 1) check(x[i], dx[i], "input", i);
  auto p = exe.parameters();
  for (std::size_t i = 1; i < p.size(); i += p.size() / 60 + 1) check(p[i], dp[i], "parameter", i);
}

TEST(Backward, ResidualConcatAndPoolsAccumulateEveryReader) {
  // The input feeds three readers (two Concat branches and the Residual shortcut);
  // blocked and plain layouts meet at the joins.
  using N = Net<Input<Shape{4, 6, 6}>,
                Seq<Residual<Seq<Concat<Conv1x1<3>, Identity, Conv3x3<17, 1, true>>, Conv1x1<4>>>,
                    Residual<Seq<Conv3x3<8, 2>>, ZeroPadShortcut<8, 2>>, AvgPool<2, 1, 0, true>,
                    AdaptiveAvgPool<1>, Flatten, Linear<3>>>;
  check_linear_gradients<N>(2);
}

TEST(Backward, AdaptersResizeAndPadTo) {
  using N = Net<Input<Shape{2, 5, 5}>, Seq<Resize<7, 6>, PadTo<9, 9>, Conv<4, 3, 2, 0, 2, true>,
                                           AdaptiveAvgPool<3>, Flatten, Linear<3>>>;
  check_linear_gradients<N>(2);
}

TEST(Backward, FusedBatchNormReluMatchesUnfused) {
  expect_fused_batch_norm_relu_matches_unfused(Options{}, 31);
}

TEST(Inference, ReusedBuffersGiveTheSameOutputsAsTraining) {
  // Inference places tensors with disjoint lifetimes in shared buffers; without BatchNorm
  // or Dropout its outputs equal the training forward's, where every tensor is kept.
  using N = Net<
      Input<Shape{4, 8, 8}>,
      Seq<Conv3x3<16>, ReLU, Residual<Seq<Conv3x3<16>, ReLU, Conv3x3<16>>, Identity, ReLU>,
          Concat<Conv1x1<8>, Seq<Conv3x3<16, 2>, Resize<8, 8>>, Identity>,
          Residual<Seq<Conv3x3<48, 2>>, ZeroPadShortcut<48, 2>>, MaxPool<2>, Flatten, Linear<6>>>;
  const int batch = 3;
  Executable train(program<N>(), batch, Mode::training);
  Executable infer(program<N>(), batch, Mode::inference);
  randomize(train, 41);
  std::copy(train.parameters().begin(), train.parameters().end(), infer.parameters().begin());
  for (std::uint64_t seed : {42u, 43u}) {
    const Vec x = random_vec(std::size_t(batch) * 4 * 8 * 8, seed);
    const auto y = train.forward(x);
    const Vec want(y.begin(), y.end());
    expect_close(infer.forward(x), want, 1e-4f);  // different kernels: rounding differs
  }
  // Inference holds no gradient block (as large as the parameters).
  EXPECT_EQ(train.gradients().size(), train.parameters().size());
  EXPECT_TRUE(infer.gradients().empty());
}

TEST(Options, WinogradAndFastestConvolutionsAgreeWithDirectOnes) {
  // Winograd (forced, or picked by measurement) for 3x3 stride-1 layers: other rounding,
  // the same results to fp32 accuracy, forward and backward.
  using N = Net<Input<Shape{32, 8, 8}>,
                Seq<Conv3x3<64>, BatchNorm, ReLU, Conv3x3<64>, GlobalAvgPool, Linear<5>>>;
  const int batch = 8;
  Executable direct(program<N>(), batch, Mode::training);
  initialize_parameters(program<N>(), direct.parameters(), direct.buffers(), 51);
  const Vec x = random_vec(std::size_t(batch) * 32 * 8 * 8, 52);
  const auto y = direct.forward(x);
  const Vec want(y.begin(), y.end());
  const Vec w = random_vec(want.size(), 53);
  direct.set_output_gradient(w);
  direct.backward();
  for (ConvAlgorithm algorithm : {ConvAlgorithm::winograd, ConvAlgorithm::fastest}) {
    SCOPED_TRACE(algorithm == ConvAlgorithm::winograd ? "winograd" : "fastest");
    Executable other(program<N>(), batch, Mode::training, Options{.conv_algorithm = algorithm});
    std::copy(direct.parameters().begin(), direct.parameters().end(), other.parameters().begin());
    expect_close(other.forward(x), want, 1e-3f);
    other.set_output_gradient(w);
    other.backward();
    expect_close(other.gradients(), Vec(direct.gradients().begin(), direct.gradients().end()),
                 1e-3f);
    expect_close(other.input_gradient(),
                 Vec(direct.input_gradient().begin(), direct.input_gradient().end()), 1e-3f);
    if (algorithm == ConvAlgorithm::winograd && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma") && !__builtin_cpu_supports("avx512f")) {
      // oneDNN has no Winograd there: both layers ran ours, forward and backward data.
      EXPECT_EQ(other.conv_plan().winograd_convolutions, 2);
      const Executable onednn(program<N>(), batch, Mode::training,
                              Options{.conv_algorithm = algorithm, .own_winograd = false});
      EXPECT_EQ(onednn.conv_plan().winograd_convolutions, 0);
    }
  }
}

// Winograd layers between direct ones (a strided convolution, batch norm, pooling): one
// layout for all of them, so the only reorder of a forward pass is the input's (channels
// first, as the user gives it). Left to pick their own layouts, oneDNN's direct kernels
// take channels-last and its Winograd ones only blocked, with two reorders around each.
TEST(Options, WinogradAndDirectLayersShareOneLayout) {
  using N =
      Net<Input<Shape{32, 16, 16}>,
          Seq<Conv3x3<32>, BatchNorm, ReLU, Conv<64, 3, 2, 1, 1, false>, BatchNorm, ReLU,
              Conv3x3<64>, BatchNorm, ReLU, MaxPool<2>, Conv3x3<64>, GlobalAvgPool, Linear<5>>>;
  const int batch = 4;
  for (Mode mode : {Mode::inference, Mode::training}) {
    SCOPED_TRACE(mode == Mode::training ? "training" : "inference");
    const Executable direct(program<N>(), batch, mode);
    const Executable winograd(program<N>(), batch, mode,
                              Options{.conv_algorithm = ConvAlgorithm::winograd});
    EXPECT_EQ(winograd.passes().forward_reorders, 1);
    EXPECT_EQ(direct.passes().forward_reorders, 1);
    EXPECT_LE(winograd.passes().backward_reorders, direct.passes().backward_reorders);
    EXPECT_GT(winograd.passes().forward, 5);
    if (mode == Mode::training) {
      EXPECT_GT(winograd.passes().backward, 5);
    }
  }
}

// Inference with Winograd picked for the folded chains (BatchNorm folded into the weights,
// residual sum and ReLU as post-ops): the logits of direct convolutions, to fp32 accuracy.
TEST(Options, WinogradInferenceOfFoldedChainsAgreesWithDirect) {
  using N =
      Net<Input<Shape{32, 8, 8}>,
          Seq<Conv3x3<64>, BatchNorm, ReLU,
              Residual<Seq<Conv3x3<64>, BatchNorm, ReLU, Conv3x3<64>, BatchNorm>, Identity, ReLU>,
              GlobalAvgPool, Linear<5>>>;
  const int batch = 8;
  Executable direct(program<N>(), batch, Mode::inference);
  randomize(direct, 61);  // random running statistics too: the fold has work to do
  const Vec x = random_vec(std::size_t(batch) * 32 * 8 * 8, 62);
  const auto y = direct.forward(x);
  const Vec want(y.begin(), y.end());
  for (ConvAlgorithm algorithm : {ConvAlgorithm::winograd, ConvAlgorithm::fastest}) {
    SCOPED_TRACE(algorithm == ConvAlgorithm::winograd ? "winograd" : "fastest");
    Executable other(program<N>(), batch, Mode::inference, Options{.conv_algorithm = algorithm});
    std::copy(direct.parameters().begin(), direct.parameters().end(), other.parameters().begin());
    std::copy(direct.buffers().begin(), direct.buffers().end(), other.buffers().begin());
    expect_close(other.forward(x), want, 1e-3f);
    if (algorithm == ConvAlgorithm::winograd && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma") && !__builtin_cpu_supports("avx512f")) {
      // oneDNN has no Winograd there: the three chains ran ours (Options::own_winograd).
      EXPECT_EQ(other.conv_plan().winograd_convolutions, 3);
      Executable onednn(program<N>(), batch, Mode::inference,
                        Options{.conv_algorithm = algorithm, .own_winograd = false});
      EXPECT_EQ(onednn.conv_plan().winograd_convolutions, 0);
    }
  }
}

// Building with fastest runs whole steps of two plans (Executable::conv_plan) on zeroed
// values: nothing of that shows afterwards. The running statistics keep their initial
// values, the gradients stay zero, the dropout count is 0, synchronised BatchNorm's
// all-reduce was not called during the build (a collective there could deadlock processes
// that time differently) and is called by the steps after it.
TEST(Options, FastestTimesBothPlansWithoutSideEffects) {
  using N = Net<Input<Shape{16, 8, 8}>, Seq<Conv3x3<32>, BatchNorm, ReLU, Dropout<0.5>, Conv3x3<32>,
                                            BatchNorm, ReLU, GlobalAvgPool, Linear<5>>>;
  const int batch = 4;
  int all_reduce_calls = 0;
  Options options{.conv_algorithm = ConvAlgorithm::fastest};
  options.batch_norm_all_reduce = [&all_reduce_calls](std::span<double>) { ++all_reduce_calls; };
  Executable exe(program<N>(), batch, Mode::training, options);
  const Executable::ConvPlan plan = exe.conv_plan();
  EXPECT_GT(plan.direct_seconds, 0.0);  // fp32: the two plans' layouts differ, both timed
  EXPECT_GT(plan.winograd_seconds, 0.0);
  EXPECT_EQ(plan.algorithm == ConvAlgorithm::direct,
            plan.direct_seconds <= plan.winograd_seconds * Executable::ConvPlan::margin);
  EXPECT_EQ(all_reduce_calls, 0);
  EXPECT_EQ(exe.dropout_passes(), 0u);
  for (const float g : exe.gradients()) ASSERT_EQ(g, 0.f);
  const std::span<const float> buffers = exe.buffers();
  for (const int bn : {0, 1}) {  // mean 0, variance 1 (PyTorch's start), 32 channels each
    for (int c = 0; c < 32; ++c) {
      ASSERT_EQ(buffers[std::size_t(bn * 64 + c)], 0.f) << "BatchNorm " << bn << " mean " << c;
      ASSERT_EQ(buffers[std::size_t(bn * 64 + 32 + c)], 1.f)
          << "BatchNorm " << bn << " variance " << c;
    }
  }
  initialize_parameters(program<N>(), exe.parameters(), exe.buffers(), 71);
  exe.forward(random_vec(std::size_t(batch) * 16 * 8 * 8, 72));
  EXPECT_EQ(all_reduce_calls, 2);  // one per BatchNorm: the user's callback is back
  EXPECT_EQ(exe.dropout_passes(), 1u);
}

TEST(Training, LossDecreasesOverTwentySgdSteps) {
  using N =
      Net<Input<Shape{3, 8, 8}>,
          Seq<Conv3x3<16>, BatchNorm, ReLU,
              Residual<Seq<Conv3x3<16>, BatchNorm, ReLU, Conv3x3<16>, BatchNorm>, Identity, ReLU>,
              MaxPool<2>, Dropout<0.1>, GlobalAvgPool, Linear<4>>,
          4>;
  const int batch = 16;
  Executable exe(program<N>(), batch, Mode::training, Options{.threads = 2});
  initialize_parameters(program<N>(), exe.parameters(), exe.buffers(), 42);
  const Vec x = random_vec(std::size_t(batch) * 3 * 8 * 8, 43);
  std::vector<int> labels(static_cast<std::size_t>(batch), 0);
  for (int i = 0; i < batch; ++i) labels[std::size_t(i)] = i % 4;
  float first = 0, last = 0;
  for (int step = 0; step < 20; ++step) {
    exe.forward(x);
    const float loss = exe.softmax_cross_entropy(labels);
    ASSERT_TRUE(std::isfinite(loss));
    if (step == 0) first = loss;
    last = loss;
    exe.backward();
    auto p = exe.parameters();
    auto g = exe.gradients();
    for (std::size_t i = 0; i < p.size(); ++i) p[i] -= 0.1f * g[i];
  }
  EXPECT_LT(last, 0.7f * first) << "first " << first << ", last " << last;
}

TEST(Zoo, CifarResNet20AndAdaptedLeNet5RunForwardAndBackward) {
  using R = architectures::CifarResNet<20>;
  Executable resnet(program<R>(), 2, Mode::training);
  initialize_parameters(program<R>(), resnet.parameters(), resnet.buffers(), 1);
  const Vec x = random_vec(2 * 3 * 32 * 32, 2);
  const auto y = resnet.forward(x);
  ASSERT_EQ(y.size(), 20u);
  const std::array<int, 2> labels{3, 7};
  EXPECT_TRUE(std::isfinite(resnet.softmax_cross_entropy(labels)));
  resnet.backward();
  double norm = 0;
  for (float g : resnet.gradients()) norm += double(g) * g;
  EXPECT_TRUE(std::isfinite(norm));
  EXPECT_GT(norm, 0.0);

  using L = Adapted<architectures::LeNet5, Shape{1, 28, 28}>;
  Executable lenet(program<L>(), 3, Mode::training);
  Executable lenet_eval(program<L>(), 3, Mode::inference);
  initialize_parameters(program<L>(), lenet.parameters(), lenet.buffers(), 1);
  std::copy(lenet.parameters().begin(), lenet.parameters().end(), lenet_eval.parameters().begin());
  const Vec img = random_vec(3 * 28 * 28, 3);
  const auto a = lenet.forward(img);
  const Vec train_out(a.begin(), a.end());
  expect_close(lenet_eval.forward(img), train_out, 1e-5f);  // no BatchNorm, no Dropout
  lenet.set_output_gradient(random_vec(30, 4));
  lenet.backward();
  EXPECT_EQ(lenet.input_gradient().size(), 3u * 28 * 28);
}

// Without the input gradient (what training steps build), the backward skips the steps that
// lead only to it (LeNet-5 through its PadTo adapter: the PadTo backward and conv1's backward
// data) and every parameter gradient is what the full backward computes.
TEST(Backward, WithoutInputGradientSameParameterGradients) {
  using L = Adapted<architectures::LeNet5, Shape{1, 28, 28}>;
  Options without;
  without.input_gradient = false;
  Executable full(program<L>(), 4, Mode::training);
  Executable lean(program<L>(), 4, Mode::training, without);
  initialize_parameters(program<L>(), full.parameters(), full.buffers(), 2);
  std::copy(full.parameters().begin(), full.parameters().end(), lean.parameters().begin());
  const Vec img = random_vec(4 * 28 * 28, 5);
  const std::array<int, 4> labels{1, 7, 3, 3};
  for (Executable* e : {&full, &lean}) {
    e->forward(img);
    e->softmax_cross_entropy(labels);
    e->backward();
  }
  EXPECT_EQ(full.input_gradient().size(), 4u * 28 * 28);
  EXPECT_TRUE(lean.input_gradient().empty());
  expect_close(lean.gradients(), Vec(full.gradients().begin(), full.gradients().end()), 1e-6f);
  double norm = 0;
  for (float g : lean.gradients().first(6 * 25)) norm += double(g) * g;  // conv1's weights
  EXPECT_GT(norm, 0.0);
}

// The gradient-final hook: during backward() every trainable parameter group is reported
// exactly once, in the plan's backward order, and when it is reported its gradient already
// has its final value (a copy taken in the callback equals gradients() after backward()).
TEST(Backward, GradientReadyReportsEachGroupOnceInBackwardOrderWhenFinal) {
  using R = architectures::CifarResNet<20>;
  const codegen::TrainingPlan plan = codegen::plan_training(program<R>(), {});
  ASSERT_EQ(plan.groups.size(), 2u + 9u * 4u + 1u);  // stem conv, bn; 9 x (conv, bn, conv, bn); fc
  Executable exe(program<R>(), 2, Mode::training);
  initialize_parameters(program<R>(), exe.parameters(), exe.buffers(), 4);
  std::vector<int> order;
  std::vector<Vec> at_report;
  exe.on_gradient_ready([&](const GradientReady& g) {
    order.push_back(g.group);
    const auto all = exe.gradients().subspan(std::size_t(g.offset), std::size_t(g.size));
    at_report.emplace_back(all.begin(), all.end());
  });
  const std::array<int, 2> labels{1, 6};
  for (int step = 0; step < 2; ++step) {  // other images each step: other gradients
    order.clear();
    at_report.clear();
    exe.forward(random_vec(2 * 3 * 32 * 32, 8 + std::uint64_t(step)));
    exe.softmax_cross_entropy(labels);
    exe.backward();
    ASSERT_EQ(order, plan.gradient_final) << "step " << step;
    for (std::size_t k = 0; k < order.size(); ++k) {
      const codegen::ParameterGroup& g = plan.groups[std::size_t(order[k])];
      const auto final_values = exe.gradients().subspan(std::size_t(g.offset), std::size_t(g.size));
      ASSERT_EQ(at_report[k], Vec(final_values.begin(), final_values.end()))
          << "group " << order[k];
    }
  }
  // Backward order: the classifier first, the stem last; every group once.
  EXPECT_EQ(order.front(), int(plan.groups.size()) - 1);
  EXPECT_EQ(order.back(), 0);
  std::vector<int> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t k = 0; k < sorted.size(); ++k) EXPECT_EQ(sorted[k], int(k));
  exe.on_gradient_ready({});  // unregistered: nothing is called
  order.clear();
  exe.forward(random_vec(2 * 3 * 32 * 32, 10));
  exe.softmax_cross_entropy(labels);
  exe.backward();
  EXPECT_TRUE(order.empty());
}

// Frozen groups (Options::trainable) compute no gradient and are not reported: the reports
// are the frozen plan's gradient_final, the trainable groups alone, in backward order.
TEST(Backward, GradientReadySkipsFrozenGroups) {
  using R = architectures::CifarResNet<20>;
  const std::size_t groups = codegen::plan_training(program<R>(), {}).groups.size();
  std::vector<bool> trainable(groups, true);
  for (std::size_t g = 0; g < groups / 2; ++g) trainable[g] = false;  // the first half
  codegen::PlanOptions frozen_plan;
  frozen_plan.trainable = trainable;
  const codegen::TrainingPlan plan = codegen::plan_training(program<R>(), frozen_plan);
  ASSERT_EQ(plan.gradient_final.size(), groups - groups / 2);
  Options options;
  options.trainable = trainable;
  Executable exe(program<R>(), 2, Mode::training, options);
  initialize_parameters(program<R>(), exe.parameters(), exe.buffers(), 4);
  std::vector<int> order;
  exe.on_gradient_ready([&](const GradientReady& g) { order.push_back(g.group); });
  const std::array<int, 2> labels{2, 7};
  exe.forward(random_vec(2 * 3 * 32 * 32, 11));
  exe.softmax_cross_entropy(labels);
  exe.backward();
  EXPECT_EQ(order, plan.gradient_final);
  for (int g : order) EXPECT_TRUE(trainable[std::size_t(g)]) << "frozen group " << g << " reported";
}

// --check-numerics: the first op whose output (forward) or gradient (backward) is not
// finite stops the pass with its path; without the option the same values pass silently.
TEST(Numerics, TheFirstNonFiniteValueNamesItsOp) {
  using N = Net<Input<Shape{1, 8, 8}>,
                Seq<Named<"conv1", Conv3x3<4>>, Named<"bn1", BatchNorm>, ReLU,
                    Named<"conv2", Conv3x3<4>>, GlobalAvgPool, Flatten, Named<"fc", Linear<3>>>,
                3>;
  Options checked;
  checked.check_numerics = true;
  Executable exe(program<N>(), 2, Mode::training, checked);
  Executable quiet(program<N>(), 2, Mode::training);
  initialize_parameters(program<N>(), exe.parameters(), exe.buffers(), 5);
  const Vec x = random_vec(2 * 64, 6);
  exe.forward(x);  // finite: no error
  exe.set_output_gradient(random_vec(6, 7));
  exe.backward();

  // An infinite weight in conv2: its output is the first value that is not finite.
  const std::size_t conv2_weight = std::size_t(program<N>().ops[3].param_offset);
  exe.parameters()[conv2_weight] = std::numeric_limits<float>::infinity();
  std::copy(exe.parameters().begin(), exe.parameters().end(), quiet.parameters().begin());
  std::copy(exe.buffers().begin(), exe.buffers().end(), quiet.buffers().begin());
  try {
    exe.forward(x);
    ADD_FAILURE() << "an infinite weight passed the forward check";
  } catch (const NumericsError& e) {
    EXPECT_NE(std::string(e.what()).find("conv2 (Conv): "), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("in the forward pass"), std::string::npos) << e.what();
  }
  const auto y = quiet.forward(x);
  EXPECT_FALSE(std::all_of(y.begin(), y.end(), [](float v) { return std::isfinite(v); }));

  // Finite weights, an infinite output gradient: the classifier's backward is the first.
  exe.parameters()[conv2_weight] = 0.5f;
  exe.forward(x);
  Vec dy = random_vec(6, 8);
  dy[4] = std::numeric_limits<float>::infinity();
  exe.set_output_gradient(dy);
  try {
    exe.backward();
    ADD_FAILURE() << "an infinite gradient passed the backward check";
  } catch (const NumericsError& e) {
    EXPECT_NE(std::string(e.what()).find("fc (Linear): Inf in the backward pass"),
              std::string::npos)
        << e.what();
  }
}

// Forward values and gradients laid out in one arena planned from their lifetimes: the
// same results, bit for bit, as the best-fit pool, in no more memory than the pool and no
// less than the most bytes alive at one time.
TEST(Memory, PlannedArenaComputesWhatTheBestFitPoolDoes) {
  using R = architectures::CifarResNet<20>;
  Options pool_only;
  pool_only.plan_memory = false;
  Executable planned(program<R>(), 4, Mode::training);
  Executable pooled(program<R>(), 4, Mode::training, pool_only);
  initialize_parameters(program<R>(), planned.parameters(), planned.buffers(), 3);
  std::copy(planned.parameters().begin(), planned.parameters().end(), pooled.parameters().begin());
  std::copy(planned.buffers().begin(), planned.buffers().end(), pooled.buffers().begin());
  const Vec x = random_vec(4 * 3 * 32 * 32, 6);
  const std::array<int, 4> labels{0, 9, 4, 4};
  for (int step = 0; step < 2; ++step) {
    for (Executable* e : {&planned, &pooled}) {
      e->forward(x);
      e->softmax_cross_entropy(labels);
      e->backward();
    }
    const auto a = planned.gradients();
    const auto b = pooled.gradients();
    ASSERT_EQ(a.size(), b.size());
    EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin())) << "step " << step;
    EXPECT_TRUE(
        std::equal(planned.buffers().begin(), planned.buffers().end(), pooled.buffers().begin()));
  }
  const Executable::Footprint p = planned.footprint();
  const Executable::Footprint q = pooled.footprint();
  EXPECT_EQ(q.values, q.values_best_fit);
  EXPECT_EQ(p.values_best_fit, q.values_best_fit);
  EXPECT_GE(p.values, p.values_live_peak);
  EXPECT_LT(p.values, q.values) << "the plan saves nothing on ResNet-20";
  EXPECT_LE(double(p.values), 1.05 * double(p.values_live_peak)) << "the plan leaves holes";

  Executable inference(program<R>(), 4, Mode::inference);
  std::copy(planned.parameters().begin(), planned.parameters().end(),
            inference.parameters().begin());
  std::copy(planned.buffers().begin(), planned.buffers().end(), inference.buffers().begin());
  Executable inference_pooled(program<R>(), 4, Mode::inference, [] {
    Options o;
    o.plan_memory = false;
    return o;
  }());
  std::copy(planned.parameters().begin(), planned.parameters().end(),
            inference_pooled.parameters().begin());
  std::copy(planned.buffers().begin(), planned.buffers().end(), inference_pooled.buffers().begin());
  const auto y = inference.forward(x);
  const Vec y_planned(y.begin(), y.end());
  const auto z = inference_pooled.forward(x);
  EXPECT_TRUE(std::equal(y_planned.begin(), y_planned.end(), z.begin()));
  EXPECT_LE(inference.footprint().values, inference_pooled.footprint().values);
  EXPECT_GE(inference.footprint().values, inference.footprint().values_live_peak);
}

TEST(Initialization, PyTorchDefaultsDeterministicFromTheSeed) {
  using N =
      Net<Input<Shape{3, 5, 5}>, Seq<Conv<8, 3, 1, 1, 1, true>, BatchNorm, Flatten, Linear<4>>>;
  const auto prog = program<N>();
  Vec p1(std::size_t(prog.params)), p2(p1.size()), p3(p1.size());
  Vec b1(std::size_t(prog.buffers)), b2(b1.size()), b3(b1.size());
  initialize_parameters(prog, p1, b1, 9);
  initialize_parameters(prog, p2, b2, 9);
  initialize_parameters(prog, p3, b3, 10);
  EXPECT_EQ(p1, p2);
  EXPECT_NE(p1, p3);
  const float conv_bound = 1.f / std::sqrt(27.f), linear_bound = 1.f / std::sqrt(200.f);
  for (int i = 0; i < 8 * 27 + 8; ++i) EXPECT_LE(std::abs(p1[std::size_t(i)]), conv_bound);
  const std::size_t bn = 8 * 27 + 8, lin = bn + 16;
  for (std::size_t c = 0; c < 8; ++c) {
    EXPECT_EQ(p1[bn + c], 1.f);
    EXPECT_EQ(p1[bn + 8 + c], 0.f);
    EXPECT_EQ(b1[c], 0.f);
    EXPECT_EQ(b1[8 + c], 1.f);
  }
  float largest = 0;
  for (std::size_t i = lin; i < p1.size(); ++i) largest = std::max(largest, std::abs(p1[i]));
  EXPECT_LE(largest, linear_bound);
  EXPECT_GT(largest, 0.8f * linear_bound);
  Vec wrong(3);
  EXPECT_THROW(initialize_parameters(prog, wrong, b1, 1), std::invalid_argument);
}

using Small = Net<Input<Shape{3, 4, 4}>, Seq<Conv3x3<4>, GlobalAvgPool, Linear<5>>, 5>;

TEST(Errors, BadBatch) {
  EXPECT_THROW(Executable(program<Small>(), 0, Mode::training), std::invalid_argument);
  EXPECT_THROW(Executable(program<Small>(), -3, Mode::inference), std::invalid_argument);
}

TEST(Errors, BadInputSizeSaysExpectedAndGot) {
  Executable exe(program<Small>(), 2, Mode::inference);
  const Vec x(2 * 3 * 4 * 4 - 1);
  try {
    exe.forward(x);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("expected 96"), std::string::npos) << what;
    EXPECT_NE(what.find("got 95"), std::string::npos) << what;
  }
}

TEST(Errors, BadLabels) {
  Executable exe(program<Small>(), 2, Mode::training);
  exe.forward(Vec(2 * 3 * 4 * 4, 0.5f));
  EXPECT_THROW(exe.softmax_cross_entropy(std::array<int, 2>{0, 5}), std::out_of_range);
  EXPECT_THROW(exe.softmax_cross_entropy(std::array<int, 2>{-1, 0}), std::out_of_range);
  EXPECT_THROW(exe.softmax_cross_entropy(std::array<int, 3>{0, 1, 2}), std::invalid_argument);
  EXPECT_THROW(exe.set_output_gradient(Vec(9)), std::invalid_argument);
  EXPECT_THROW(exe.backward(), std::logic_error);  // no loss yet
}

TEST(Errors, BackwardNeedsTraining) {
  Executable exe(program<Small>(), 1, Mode::inference);
  exe.forward(Vec(3 * 4 * 4, 0.5f));
  EXPECT_THROW(exe.backward(), std::logic_error);
  EXPECT_TRUE(exe.input_gradient().empty());
}

TEST(Errors, AnOpOneDnnCannotBuildIsNamed) {
  // A corrupted program: a convolution whose kernel is larger than its padded input.
  const auto prog = program<Small>();
  std::vector<codegen::Op> ops(prog.ops.begin(), prog.ops.end());
  ops[0].layer.path = "stem.conv";
  ops[0].layer.kernel_h = ops[0].layer.kernel_w = 9;
  codegen::ProgramView bad = prog;
  bad.ops = ops;
  try {
    Executable exe(bad, 2, Mode::training);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("stem.conv"), std::string::npos) << what;
    EXPECT_NE(what.find("Conv"), std::string::npos) << what;
  }
}

TEST(Executable, MovesAndReportsItsShape) {
  Executable a(program<Small>(), 2, Mode::training);
  Executable b = std::move(a);
  EXPECT_EQ(b.batch(), 2);
  EXPECT_EQ(b.mode(), Mode::training);
  EXPECT_EQ(b.parameters().size(), std::size_t(program<Small>().params));
  EXPECT_EQ(b.gradients().size(), b.parameters().size());
  EXPECT_EQ(b.forward(Vec(2 * 3 * 4 * 4, 0.5f)).size(), 10u);
}

}  // namespace
}  // namespace archetype::onednn::test
