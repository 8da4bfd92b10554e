// gpu.parity.<model>: the cuDNN backend against the oneDNN backend on the same weights and
// images (parity_common.hpp), in fp32 with TF32 off. The steps run through train_step(), so
// the second and third replay the captured CUDA Graph. Asserted:
//  - step 1's logits: |cuDNN - oneDNN| <= 1e-3 * max(|oneDNN|, the batch's largest |logit|);
//  - step 1's loss within 1e-3 relative;
//  - step 1's parameter gradients (sampled), op by op: ||cuDNN - oneDNN|| <= 1e-3 ||oneDNN||
//    (L2 over the op's weights and biases);
//  - the parameters after 3 SGD steps (sampled), op by op, and the running statistics, op
//    by op: relative L2 <= 1e-3.
// Printed, not asserted: the losses of steps 2 and 3, the largest element-wise gradient
// error (in units of 1e-3 of the op's largest |gradient|) and the largest parameter error
// relative to the largest update of its op over the 3 steps. Those are what a ReLU or
// max-pool decision that falls the other way in fp32 moves first (tests/parity explains
// such decisions), and the 3-step trajectory amplifies them (parity_common.hpp: why lr 0.01).
// With ARCHETYPE_GPU_PARITY_OUT=DIR the cuDNN side's values are written there (the fixtures'
// names and layout) for a look offline.
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
double worst(std::span<const float> got, std::span<const float> want, Scale scale,
             std::size_t& at) {
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

/// Values grouped by op (block[i] is element i's op, or -1): per op, ||got - want|| / ||want||
/// (0 for an op whose `want` is all zero and `got` equals it, infinite when only `got` is not).
std::vector<double> relative_l2(std::span<const float> got, std::span<const float> want,
                                const std::vector<int>& block, std::size_t ops) {
  std::vector<double> diff(ops, 0.0), norm(ops, 0.0), out(ops, 0.0);
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (block[i] < 0) continue;
    const double d = double(got[i]) - double(want[i]);
    diff[std::size_t(block[i])] += std::isfinite(d) ? d * d : 1e300;
    norm[std::size_t(block[i])] += double(want[i]) * double(want[i]);
  }
  for (std::size_t o = 0; o < ops; ++o) {
    out[o] = norm[o] > 0 ? std::sqrt(diff[o] / norm[o]) : (diff[o] > 0 ? 1e30 : 0.0);
  }
  return out;
}

/// The largest entry of `v` and its op.
double largest(const std::vector<double>& v, std::size_t& at) {
  double w = 0;
  for (std::size_t o = 0; o < v.size(); ++o) {
    if (v[o] > w) {
      w = v[o];
      at = o;
    }
  }
  return w;
}

void dump(const char* name, const char* what, std::span<const float> v) {
  const char* dir = std::getenv("ARCHETYPE_GPU_PARITY_OUT");
  if (dir == nullptr) return;
  std::filesystem::create_directories(dir);
  write(std::filesystem::path(dir) / (std::string(name) + "." + what + ".f32"),
        std::vector<float>(v.begin(), v.end()));
}

void check_model(const char* name) {
  const ModelEntry* model = find_model(name);
  ASSERT_NE(model, nullptr) << name;
  const codegen::ProgramView program = model->native.program;
  const int classes = model->native.output.c;
  const std::filesystem::path dir = fixtures();
  const std::int64_t k = stride(program.params);
  const std::size_t sampled = std::size_t((program.params + k - 1) / k);
  const auto file = [&](const char* what) {
    return dir / (std::string(name) + "." + what + ".f32");
  };
  const std::vector<float> want_logits = read(file("logits"), std::size_t(batch * classes));
  const std::vector<float> want_losses = read(file("losses"), steps);
  const std::vector<float> want_gradients = read(file("gradients"), sampled);
  const std::vector<float> want_final = read(file("final"), sampled);
  const std::vector<float> initial_sample = read(file("initial"), sampled);
  const std::vector<float> want_buffers = read(file("buffers"), std::size_t(program.buffers));

  std::vector<float> params, buffers;
  initial_parameters(program, params, buffers, seed);
  ASSERT_EQ(sample(params), initial_sample)
      << name << ": the fixtures were made from other initial parameters";
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
  std::vector<float> logits, losses, gradients;
  for (int step = 0; step < steps; ++step) {
    const auto r = exe.train_step(x, y, lr);
    if (step == 0) {
      logits.assign(r.logits.begin(), r.logits.end());
      const std::vector<float> g(exe.gradients().begin(), exe.gradients().end());
      gradients = sample(g);
    }
    losses.push_back(r.loss);
  }
  EXPECT_TRUE(exe.graph_captured());
  const std::vector<float> final_params(exe.parameters().begin(), exe.parameters().end());
  const std::vector<float> got_final = sample(final_params);
  const std::vector<float> got_buffers(exe.buffers().begin(), exe.buffers().end());
  dump(name, "logits", logits);
  dump(name, "losses", losses);
  dump(name, "gradients", gradients);
  dump(name, "final", got_final);
  dump(name, "buffers", got_buffers);

  std::size_t at = 0;
  double logit_scale = 0;
  for (float v : want_logits) logit_scale = std::max(logit_scale, std::abs(double(v)));
  const double e_logits = worst(
      logits, want_logits, [&](std::size_t) { return logit_scale; }, at);
  EXPECT_LE(e_logits, 1.0) << name << " logit " << at << ": cuDNN " << logits[at] << ", oneDNN "
                           << want_logits[at];
  const double e_loss =
      std::abs(double(losses[0]) - want_losses[0]) / (tolerance * std::abs(double(want_losses[0])));
  EXPECT_LE(e_loss, 1.0) << name << " loss of step 1: cuDNN " << losses[0] << ", oneDNN "
                         << want_losses[0];

  // The op of every sampled parameter, and of every running statistic.
  const std::size_t ops = program.ops.size();
  std::vector<int> op_of(sampled, -1), buffer_op(want_buffers.size(), -1);
  for (std::size_t o = 0; o < ops; ++o) {
    const codegen::Op& op = program.ops[o];
    for (std::int64_t p = (op.param_offset + k - 1) / k * k; p < op.param_offset + op.layer.params;
         p += k) {
      op_of[std::size_t(p / k)] = int(o);
    }
    for (std::int64_t b = 0; b < op.layer.buffers; ++b)
      buffer_op[std::size_t(op.buffer_offset + b)] = int(o);
  }
  const auto path = [&](std::size_t o) { return program.ops[o].layer.path.view(); };

  const std::vector<double> e_gradients = relative_l2(gradients, want_gradients, op_of, ops);
  const double g = largest(e_gradients, at);
  EXPECT_LE(g, tolerance) << name << " step 1 gradients of " << path(at) << ": relative L2 error "
                          << g;
  std::vector<double> gradient_scale(ops, 0.0);
  for (std::size_t i = 0; i < sampled; ++i) {
    if (op_of[i] >= 0)
      gradient_scale[std::size_t(op_of[i])] =
          std::max(gradient_scale[std::size_t(op_of[i])], std::abs(double(want_gradients[i])));
  }
  std::size_t at_element = 0;
  const double g_element = worst(
      gradients, want_gradients,
      [&](std::size_t i) { return op_of[i] < 0 ? 0.0 : gradient_scale[std::size_t(op_of[i])]; },
      at_element);

  const std::vector<double> e_params = relative_l2(got_final, want_final, op_of, ops);
  std::size_t at_params = 0;
  const double p = largest(e_params, at_params);
  EXPECT_LE(p, tolerance) << name << " parameters of " << path(at_params) << " after " << steps
                          << " steps: relative L2 error " << p;
  std::vector<double> block_update(ops, 0.0);
  for (std::size_t i = 0; i < sampled; ++i) {
    if (op_of[i] >= 0)
      block_update[std::size_t(op_of[i])] = std::max(
          block_update[std::size_t(op_of[i])], std::abs(double(want_final[i]) - initial_sample[i]));
  }
  double of_update = 0;
  for (std::size_t i = 0; i < sampled; ++i) {
    const double u = op_of[i] < 0 ? 0.0 : block_update[std::size_t(op_of[i])];
    if (u > 0) of_update = std::max(of_update, std::abs(double(got_final[i]) - want_final[i]) / u);
  }
  double b = 0;
  std::size_t at_buffers = 0;
  if (!want_buffers.empty()) {
    b = largest(relative_l2(got_buffers, want_buffers, buffer_op, ops), at_buffers);
    EXPECT_LE(b, tolerance) << name << " running statistics of " << path(at_buffers) << " after "
                            << steps << " steps: relative L2 error " << b;
  }
  std::printf(
      "[gpu parity] %-15s logits %.3f of the bound; loss 1 %.2e, 2 %.2e, 3 %.2e relative; relative "
      "L2, worst "
      "op: gradients %.2e (%s), parameters %.2e (%s), running stats %.2e; element-wise: gradients "
      "%.2f of the "
      "bound, parameters %.2e of the largest update; %zu of %lld parameters compared\n",
      name, e_logits, e_loss * tolerance,
      std::abs(double(losses[1]) - want_losses[1]) / std::abs(double(want_losses[1])),
      std::abs(double(losses[2]) - want_losses[2]) / std::abs(double(want_losses[2])), g,
      std::string(path(at)).c_str(), p, std::string(path(at_params)).c_str(), b, g_element,
      of_update, sampled, static_cast<long long>(program.params));
}

TEST(Parity, LeNet5) { check_model("lenet5"); }
TEST(Parity, ResNet20) { check_model("resnet20"); }
TEST(Parity, ResNet18Cifar) { check_model("resnet18_cifar"); }
TEST(Parity, VGG16Cifar) { check_model("vgg16_cifar"); }

}  // namespace
}  // namespace archetype::gpu_parity
