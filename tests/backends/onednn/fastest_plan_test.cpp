// ConvAlgorithm::fastest is never slower than direct, on every model of the zoo (batch 2):
// both whole plans were timed when the executable was built (Executable::conv_plan), and
// the plan kept is the direct plan itself (the same steps, bit for bit the same logits)
// unless the Winograd plan measured faster; then its logits are direct's to fp32 accuracy.
// The times compared are the executable's own, not timed here. A model with no dense 3x3
// stride-1 convolution (MobileNetV2, EfficientNet) has no Winograd convolution. One test
// per model and mode: cpu.onednn.Zoo/FastestPlan.<test>/<model> (label cpu) for the models
// up to 6 GMACs per image, and training for a model with Winograd candidates and one
// without; cpu.zoo.Zoo/FastestPlan.<test>/<model> (tests/zoo, label slow) for the others.
#include <archetype/architectures/registry.hpp>
#include <archetype/backends/onednn/executable.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ostream>
#include <random>
#include <string>
#include <vector>

namespace archetype {
namespace {

using onednn::ConvAlgorithm;
using onednn::Executable;
using onednn::Mode;

struct Case {
  const ModelEntry* model = nullptr;
  Mode mode = Mode::inference;
};

// gtest's name for a case (--gtest_list_tests, failures): the model and the mode.
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.model->name << (c.mode == Mode::training ? ", training" : ", inference");
}

class FastestPlan : public ::testing::TestWithParam<Case> {};

std::vector<float> random_input(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

// Each a[i] within tol times the largest |b| of b[i].
void expect_close(const std::vector<float>& a, const std::vector<float>& b, float tol,
                  const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  float scale = 1e-6f;
  for (const float v : b) scale = std::max(scale, std::abs(v));
  for (std::size_t i = 0; i < b.size(); ++i) {
    ASSERT_NEAR(a[i], b[i], tol * scale) << what << " " << i;
  }
}

TEST_P(FastestPlan, NeverSlowerThanDirect) {
  const ModelEntry& m = *GetParam().model;
  const Mode mode = GetParam().mode;
  const codegen::ProgramView program = m.native.program;
  const int batch = 2;
  onednn::Options options;
  options.dropout = false;  // the two executables' logits compared exactly
  Executable direct(program, batch, mode, options);
  options.conv_algorithm = ConvAlgorithm::fastest;
  Executable fastest(program, batch, mode, options);
  const Executable::ConvPlan plan = fastest.conv_plan();
  SCOPED_TRACE(std::string(m.name) + ": " + std::to_string(plan.winograd_convolutions) +
               " Winograd convolutions, direct " + std::to_string(plan.direct_seconds) +
               " s, Winograd " + std::to_string(plan.winograd_seconds) + " s per step");
  std::printf(
      "%s%s: kept %s, %d Winograd convolutions, per step direct %.3f ms, Winograd %.3f ms\n",
      mode == Mode::training ? "training " : "", std::string(m.name).c_str(),
      plan.algorithm == ConvAlgorithm::direct ? "direct" : "Winograd", plan.winograd_convolutions,
      plan.direct_seconds * 1e3, plan.winograd_seconds * 1e3);
  EXPECT_EQ(direct.conv_plan().algorithm, ConvAlgorithm::direct);
  EXPECT_EQ(direct.conv_plan().winograd_convolutions, 0);

  const bool candidates =
      std::any_of(program.ops.begin(), program.ops.end(), [](const codegen::Op& op) {
        const LayerRow& L = op.layer;
        return L.op == LayerKind::conv && L.kernel_h == 3 && L.kernel_w == 3 && L.stride_h == 1 &&
               L.stride_w == 1 && L.groups == 1;
      });
  if (!candidates) {
    EXPECT_EQ(plan.winograd_convolutions, 0) << "no 3x3 stride-1 dense convolution";
  }

  // fp32: the Winograd plan's layouts differ from direct's, so both plans are timed whole
  // (reorders and all) and the Winograd plan is kept only where it is faster by the margin,
  // the direct plan on a tie.
  EXPECT_GT(plan.direct_seconds, 0.0);
  EXPECT_GT(plan.winograd_seconds, 0.0);
  const double margin = Executable::ConvPlan::margin;
  if (plan.algorithm == ConvAlgorithm::direct) {
    EXPECT_LE(plan.direct_seconds, plan.winograd_seconds * margin);
  } else {
    EXPECT_EQ(plan.algorithm, ConvAlgorithm::winograd);
    EXPECT_LT(plan.winograd_seconds * margin, plan.direct_seconds);
  }

  // The kept plan runs what its report says: direct's plan is direct's steps, bit for bit.
  onednn::initialize_parameters(program, direct.parameters(), direct.buffers(), 5);
  std::copy(direct.parameters().begin(), direct.parameters().end(), fastest.parameters().begin());
  std::copy(direct.buffers().begin(), direct.buffers().end(), fastest.buffers().begin());
  const std::vector<float> x = random_input(std::size_t(batch * m.native.input.elements()), 9);
  const std::span<const float> yd = direct.forward(x);
  const std::vector<float> want(yd.begin(), yd.end());
  const std::span<const float> yf = fastest.forward(x);
  ASSERT_EQ(yf.size(), want.size());
  const std::vector<float> got(yf.begin(), yf.end());
  // Training: the parameters' gradients too, from the same output gradient.
  std::vector<float> want_grads, got_grads;
  if (mode == Mode::training) {
    const std::vector<float> dy = random_input(want.size(), 10);
    direct.set_output_gradient(dy);
    direct.backward();
    want_grads.assign(direct.gradients().begin(), direct.gradients().end());
    fastest.set_output_gradient(dy);
    fastest.backward();
    got_grads.assign(fastest.gradients().begin(), fastest.gradients().end());
  }
  const Executable::Passes pd = direct.passes();
  const Executable::Passes pf = fastest.passes();
  if (plan.algorithm == ConvAlgorithm::direct) {
    EXPECT_EQ(pf.forward, pd.forward);
    EXPECT_EQ(pf.forward_reorders, pd.forward_reorders);
    EXPECT_EQ(pf.backward, pd.backward);
    EXPECT_EQ(pf.backward_reorders, pd.backward_reorders);
    EXPECT_EQ(got, want) << "the kept plan's logits are not direct's";
    EXPECT_EQ(got_grads, want_grads) << "the kept plan's gradients are not direct's";
  } else {  // Winograd rounds differently: the same values to fp32 accuracy
    expect_close(got, want, 1e-2f, "logit");
    expect_close(got_grads, want_grads, 1e-2f, "gradient");
  }
}

// The Winograd plan itself (the plan fastest times against direct, kept or not): its
// layouts (every value blocked by 16 channels, in inference padded where a value's
// channels are not a multiple of 16, MobileNetV2's 24 say; 1x1 + depthwise pairs fused)
// run no step on oneDNN's reference kernels and compute direct's logits (and, in training,
// gradients) to fp32 accuracy, Winograd's rounding included.
TEST_P(FastestPlan, WinogradPlanComputesDirectsValues) {
  const ModelEntry& m = *GetParam().model;
  const Mode mode = GetParam().mode;
  const codegen::ProgramView program = m.native.program;
  const int batch = 2;
  onednn::Options options;
  options.dropout = false;
  Executable direct(program, batch, mode, options);
  options.conv_algorithm = ConvAlgorithm::winograd;
  Executable winograd(program, batch, mode, options);
  EXPECT_EQ(winograd.passes().reference, 0) << m.name << ": steps on oneDNN's reference kernels";
  onednn::initialize_parameters(program, direct.parameters(), direct.buffers(), 5);
  for (float& v : direct.buffers()) v = 0.5f + 0.25f * std::abs(v);  // statistics that fold
  std::copy(direct.parameters().begin(), direct.parameters().end(), winograd.parameters().begin());
  std::copy(direct.buffers().begin(), direct.buffers().end(), winograd.buffers().begin());
  const std::vector<float> x = random_input(std::size_t(batch * m.native.input.elements()), 9);
  const std::span<const float> yd = direct.forward(x);
  const std::vector<float> want(yd.begin(), yd.end());
  const std::span<const float> yw = winograd.forward(x);
  const std::vector<float> got(yw.begin(), yw.end());
  SCOPED_TRACE(std::string(m.name));
  expect_close(got, want, 1e-3f, "logit");
  if (mode != Mode::training) return;
  const std::vector<float> dy = random_input(want.size(), 10);
  direct.set_output_gradient(dy);
  direct.backward();
  winograd.set_output_gradient(dy);
  winograd.backward();
  expect_close({winograd.gradients().begin(), winograd.gradients().end()},
               {direct.gradients().begin(), direct.gradients().end()}, 1e-3f, "gradient");
}

#if !defined(ARCHETYPE_FASTEST_PLAN_HEAVY)
#error "ARCHETYPE_FASTEST_PLAN_HEAVY: 0 for the models up to 6 GMACs per image, 1 for the rest"
#endif

std::vector<Case> cases() {
  // The models above 6 GMACs per image (VGG at 224x224, ResNet-101/152, ResNeXt-101, Wide
  // ResNet-50-2, Xception, EfficientNet-B5 to B7) take minutes together on two cores, most
  // of it fastest's own timing: they are a test executable of their own, labelled slow.
  constexpr std::int64_t heavy_macs = 6'000'000'000;
  std::vector<Case> out;
  for (const ModelEntry& m : models()) {
    if ((m.native.macs > heavy_macs) == bool(ARCHETYPE_FASTEST_PLAN_HEAVY))
      out.push_back({&m, Mode::inference});
  }
  if (ARCHETYPE_FASTEST_PLAN_HEAVY) return out;
  // Training: one model whose 3x3 stride-1 layers may choose Winograd, one with none.
  for (const char* name : {"resnet20", "mobilenet_v2"}) {
    if (const ModelEntry* m = find_model(name)) out.push_back({m, Mode::training});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Zoo, FastestPlan, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.mode == Mode::training ? "training_"
                                                                                : "") +
                                  std::string(info.param.model->name);
                         });

}  // namespace
}  // namespace archetype
