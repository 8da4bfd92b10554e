// gpu.parity.<model>: the cuDNN backend against the oneDNN backend on the same weights and
// images (parity_common.hpp): step 1's logits, the 3 losses, the parameters (sampled) and
// running statistics after 3 SGD steps agree within 1e-3, in fp32 with TF32 off. The steps
// run through train_step(), so the second and third replay the captured CUDA Graph.
//
// Tolerance: |cuDNN - oneDNN| <= 1e-3 * max(|oneDNN|, scale), scale = the largest |value| of
// the same tensor (logits: of the batch; parameters: of the op's block), as in
// tests/parity: an element near 0 carries the rounding of its larger neighbours. Also
// printed, not asserted: the largest parameter error relative to the largest update of its
// block over the 3 steps, the stricter figure (a ReLU or max-pool decision that falls the
// other way in fp32 moves it first; tests/parity explains why VGG-16 has such decisions).
#include "parity_common.hpp"

#include <archetype/architectures/registry.hpp>
#include <archetype/backends/cudnn/executable.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace archetype::gpu_parity {
namespace {

constexpr double tolerance = 1e-3;

std::filesystem::path fixtures() {
  if (const char* env = std::getenv("ARCHETYPE_GPU_PARITY_DIR")) return env;
  return ARCHETYPE_GPU_PARITY_DIR;
}

/// max over i of |got - want| / (tolerance * max(|want|, scale(i))), <= 1 passes.
template <class Scale>
double worst(std::span<const float> got, std::span<const float> want, Scale scale, std::size_t& at) {
  double w = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const double d = std::abs(double(got[i]) - double(want[i]));
    const double bound = tolerance * std::max(std::abs(double(want[i])), scale(i));
    const double r = std::isfinite(d) ? (bound > 0 ? d / bound : (d > 0 ? 1e30 : 0.0)) : 1e30;
    if (r > w) {
      w = r;
      at = i;
    }
  }
  return w;
}

void check_model(const char* name) {
  const ModelEntry* model = find_model(name);
  ASSERT_NE(model, nullptr) << name;
  const codegen::ProgramView program = model->native.program;
  const int classes = model->native.output.c;
  const std::filesystem::path dir = fixtures();
  const std::int64_t k = stride(program.params);
  const std::size_t sampled = std::size_t((program.params + k - 1) / k);
  const std::vector<float> want_logits = read(dir / (std::string(name) + ".logits.f32"), std::size_t(batch * classes));
  const std::vector<float> want_losses = read(dir / (std::string(name) + ".losses.f32"), steps);
  const std::vector<float> want_final = read(dir / (std::string(name) + ".final.f32"), sampled);
  const std::vector<float> initial_sample = read(dir / (std::string(name) + ".initial.f32"), sampled);
  const std::vector<float> want_buffers = read(dir / (std::string(name) + ".buffers.f32"), std::size_t(program.buffers));

  std::vector<float> params, buffers;
  initial_parameters(program, params, buffers, seed);
  ASSERT_EQ(sample(params), initial_sample) << name << ": the fixtures were made from other initial parameters";
  const std::vector<float> x = input(program, seed);
  const std::vector<int> y = labels(classes);

  cudnn::Options options;
  options.dropout = false;
  options.tf32 = false;
  options.optimizer.momentum = momentum;
  options.optimizer.weight_decay = weight_decay;
  cudnn::Executable exe(program, batch, cudnn::Mode::training, options);
  std::copy(params.begin(), params.end(), exe.parameters().begin());
  std::copy(buffers.begin(), buffers.end(), exe.buffers().begin());
  std::vector<float> logits, losses;
  for (int step = 0; step < steps; ++step) {
    const auto r = exe.train_step(x, y, lr);
    if (step == 0) logits.assign(r.logits.begin(), r.logits.end());
    losses.push_back(r.loss);
  }
  EXPECT_TRUE(exe.graph_captured());
  const std::vector<float> final_params(exe.parameters().begin(), exe.parameters().end());
  const std::vector<float> got_final = sample(final_params);
  const std::vector<float> got_buffers(exe.buffers().begin(), exe.buffers().end());

  std::size_t at = 0;
  double logit_scale = 0;
  for (float v : want_logits) logit_scale = std::max(logit_scale, std::abs(double(v)));
  const double e_logits = worst(logits, want_logits, [&](std::size_t) { return logit_scale; }, at);
  EXPECT_LE(e_logits, 1.0) << name << " logit " << at << ": cuDNN " << logits[at] << ", oneDNN " << want_logits[at];
  const double e_losses = worst(losses, want_losses, [](std::size_t) { return 0.0; }, at);
  EXPECT_LE(e_losses, 1.0) << name << " loss of step " << at + 1 << ": cuDNN " << losses[at] << ", oneDNN "
                           << want_losses[at];

  // Per sampled parameter: its op's block (scale: the largest |value| of the block's samples).
  std::vector<int> op_of(sampled, -1);
  std::vector<double> block_scale(program.ops.size(), 0.0), block_update(program.ops.size(), 0.0);
  for (std::size_t i = 0; i < sampled; ++i) {
    const std::int64_t index = std::int64_t(i) * k;
    for (std::size_t o = 0; o < program.ops.size(); ++o) {
      const codegen::Op& op = program.ops[o];
      if (index >= op.param_offset && index < op.param_offset + op.layer.params) op_of[i] = int(o);
    }
    const auto o = std::size_t(op_of[i]);
    block_scale[o] = std::max(block_scale[o], std::abs(double(want_final[i])));
    block_update[o] = std::max(block_update[o], std::abs(double(want_final[i]) - initial_sample[i]));
  }
  const double e_params = worst(got_final, want_final, [&](std::size_t i) { return block_scale[std::size_t(op_of[i])]; }, at);
  EXPECT_LE(e_params, 1.0) << name << " parameter " << std::int64_t(at) * k << " ("
                           << program.ops[std::size_t(op_of[at])].layer.path.view() << "): cuDNN " << got_final[at]
                           << ", oneDNN " << want_final[at];
  double of_update = 0;
  for (std::size_t i = 0; i < sampled; ++i) {
    const double u = block_update[std::size_t(op_of[i])];
    if (u > 0) of_update = std::max(of_update, std::abs(double(got_final[i]) - want_final[i]) / u);
  }
  double buffer_scale = 0;
  for (float v : want_buffers) buffer_scale = std::max(buffer_scale, std::abs(double(v)));
  const double e_buffers = worst(got_buffers, want_buffers, [&](std::size_t) { return buffer_scale; }, at);
  if (!want_buffers.empty()) {
    EXPECT_LE(e_buffers, 1.0) << name << " running statistic " << at << ": cuDNN " << got_buffers[at] << ", oneDNN "
                              << want_buffers[at];
  }
  std::printf("[gpu parity] %-15s logits %.3f, losses %.3f, parameters %.3f, running stats %.3f of the 1e-3 bound; "
              "parameter error %.2e of the largest update; %zu of %lld parameters compared\n",
              name, e_logits, e_losses, e_params, e_buffers, of_update, sampled, static_cast<long long>(program.params));
}

TEST(Parity, LeNet5) { check_model("lenet5"); }
TEST(Parity, ResNet20) { check_model("resnet20"); }
TEST(Parity, ResNet18Cifar) { check_model("resnet18_cifar"); }
TEST(Parity, VGG16Cifar) { check_model("vgg16_cifar"); }

}  // namespace
}  // namespace archetype::gpu_parity
