// Every registered model of the zoo really trains on the oneDNN backend: its program, at
// the paper's input, builds a training executable, one SGD step at batch 1 gives every
// parameter tensor a finite, non-zero gradient, and a second forward on the same image has
// a lower loss (after a step of 1e-3 along the gradient, or 1e-4 or 1e-5 where that one
// overshoots; not where the gradient has exploded); and no step runs on one of oneDNN's
// reference kernels, with the layouts of direct or of Winograd convolutions, in training
// or in inference. (Dropout and stochastic depth are off, so no branch is dropped for the
// one image.) One test per model: cpu.zoo.Step/<name>, label slow (about three minutes
// for all on 2 cores).
#include <archetype/architectures/registry.hpp>
#include <archetype/backends/onednn/executable.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace archetype {
namespace {

class Step : public ::testing::TestWithParam<const ModelEntry*> {};

TEST_P(Step, OneSgdStepLowersTheLossAndReachesEveryParameter) {
  const ModelEntry& m = *GetParam();
  const codegen::ProgramView program = m.native.program;
  onednn::Options options;
  options.dropout = false;
  options.input_gradient = false;
  onednn::Executable exe(program, 1, onednn::Mode::training, options);
  // No step of any size on oneDNN's reference kernels (naive loops, Executable::passes),
  // with either conv algorithm's layouts, in training and in inference (whose layouts
  // differ: folded batch norms, fused pairs, padded blocks). The layouts oneDNN picks
  // depend on the CPU (nChw16c with AVX-512, nChw8c with AVX2): squeeze-and-excitation's
  // gate stayed plain over nChw8c values, and its multiplication ran the reference kernel:
  // EfficientNet-B0 10x slower on an AVX2 CPU.
  for (const onednn::Mode mode : {onednn::Mode::training, onednn::Mode::inference}) {
    for (const onednn::ConvAlgorithm algorithm :
         {onednn::ConvAlgorithm::direct, onednn::ConvAlgorithm::winograd}) {
      onednn::Options o = options;
      o.conv_algorithm = algorithm;
      const onednn::Executable two(program, 2, mode, o);
      EXPECT_EQ(two.passes().reference, 0)
          << m.name << ": steps on oneDNN's reference kernels ("
          << (mode == onednn::Mode::training ? "training, " : "inference, ")
          << (algorithm == onednn::ConvAlgorithm::direct ? "direct" : "winograd") << ")";
    }
  }
  onednn::initialize_parameters(program, exe.parameters(), exe.buffers(), 7);

  std::mt19937_64 rng(11);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> image(std::size_t(m.native.input.elements()));
  for (float& v : image) v = normal(rng);
  const std::vector<int> label{3};

  exe.forward(image);
  const float loss0 = exe.softmax_cross_entropy(label);
  ASSERT_TRUE(std::isfinite(loss0)) << m.name << ": loss " << loss0;
  exe.backward();

  // Every parameter tensor (each op's block) gets a finite gradient, not all zero.
  const std::span<const float> grads = exe.gradients();
  for (const codegen::Op& op : program.ops) {
    if (op.layer.params == 0) continue;
    double norm = 0.0;
    for (std::int64_t i = 0; i < op.layer.params; ++i) {
      const float g = grads[std::size_t(op.param_offset + i)];
      ASSERT_TRUE(std::isfinite(g)) << m.name << ": " << op.layer.path.view() << " gradient " << i;
      norm += double(g) * g;
    }
    EXPECT_GT(norm, 0.0) << m.name << ": " << op.layer.path.view() << " (" << op.layer.kind.view()
                         << ") receives no gradient";
  }

  // Plain SGD, then the same image again: the loss must go down. Along the true gradient
  // it does for every step small enough, so a step that overshoots is retried shorter; a
  // wrong gradient raises the loss at every length. Except where the gradient has exploded
  // (plain110, 110 layers without shortcuts: a norm of 4e8 at initialisation, the next
  // largest of the zoo 1.2e5): no float32 step is short enough there, the loss moved by
  // 1e-2 at random from lr 1e-3 down to 1e-8 on an AVX2 CPU, and the check is skipped.
  double norm = 0.0;
  for (const float g : grads) norm += double(g) * g;
  norm = std::sqrt(norm);
  if (norm > 1e6) {
    std::printf("%s: gradient norm %.3g at initialisation (exploded): no descent check\n",
                std::string(m.name).c_str(), norm);
    return;
  }
  std::span<float> params = exe.parameters();
  const std::vector<float> start(params.begin(), params.end());
  const std::vector<float> step(grads.begin(), grads.end());  // the forwards may reuse grads
  std::string losses;
  bool lower = false;
  for (const float lr : {1e-3f, 1e-4f, 1e-5f}) {
    params = exe.parameters();  // marks the parameters changed
    for (std::size_t i = 0; i < params.size(); ++i) params[i] = start[i] - lr * step[i];
    exe.forward(image);
    const float loss1 = exe.softmax_cross_entropy(label);
    losses += " lr " + std::to_string(lr) + ": " + std::to_string(loss1) + ";";
    if (loss1 < loss0) {
      lower = true;
      break;
    }
  }
  EXPECT_TRUE(lower) << m.name << ": no SGD step lowered the loss " << loss0 << " (" << losses
                     << ")";
}

std::vector<const ModelEntry*> all_models() {
  std::vector<const ModelEntry*> out;
  for (const ModelEntry& m : models()) out.push_back(&m);
  return out;
}

INSTANTIATE_TEST_SUITE_P(Zoo, Step, ::testing::ValuesIn(all_models()),
                         [](const ::testing::TestParamInfo<const ModelEntry*>& info) {
                           return std::string(info.param->name);
                         });

}  // namespace
}  // namespace archetype
