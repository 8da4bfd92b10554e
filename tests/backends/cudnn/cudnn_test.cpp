// gpu.cudnn.*: what the cuDNN backend has beyond the per-op gradient checks (gpu.gradcheck):
// the device optimizer against runtime::Optimizer, the captured CUDA Graph against the eager
// step, the gradient-final hook inside the graph, and the host mirrors of the flat blocks.
// Skips without a GPU (gpu_main.cpp).
#include <archetype/archetype.hpp>
#include <archetype/backends/cudnn/executable.hpp>
#include <archetype/codegen/program.hpp>
#include <archetype/codegen/training_plan.hpp>
#include <archetype/runtime/optimizer.hpp>

#include "test_data.hpp"

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace archetype::cudnn {
namespace {

using testing_data::Data;
using testing_data::Small;
constexpr int batch = 4;

Data make_data(const codegen::ProgramView& program) {
  return testing_data::make_data(program, batch);
}

double max_relative(std::span<const float> a, std::span<const float> b) {
  double m = a.size() == b.size() ? 0.0 : 1e300;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    m = std::max(m,
                 std::abs(double(a[i]) - double(b[i])) / std::max(1e-30, std::abs(double(b[i]))));
  }
  return m;
}

// The device update equals runtime::Optimizer on the same gradients: same float operations
// in the same order, no fused multiply-adds (kernels_optimizer.cu), so the same bits are
// expected; the assertion leaves one rounding of room.
void expect_optimizer_matches(const OptimizerOptions& device, runtime::Optimizer host,
                              const char* name) {
  const codegen::ProgramView program = codegen::program_v<Small>.view();
  const Data d = make_data(program);
  Options options;
  options.optimizer = device;
  Executable exe(program, batch, Mode::training, options);
  std::copy(d.params.begin(), d.params.end(), exe.parameters().begin());
  std::vector<float> want = d.params;
  double worst = 0;
  for (int step = 0; step < 3; ++step) {
    exe.forward(d.images);
    exe.softmax_cross_entropy(d.labels);
    exe.backward();
    const std::vector<float> g(exe.gradients().begin(), exe.gradients().end());
    host.step(want, g, 0.05);
    exe.update(0.05);
    worst = std::max(worst, max_relative(exe.parameters(), want));
  }
  EXPECT_EQ(exe.optimizer_steps(), 3);
  EXPECT_LE(worst, 2e-7) << name << ": the device update differs from runtime::Optimizer";
  std::printf(
      "[cudnn] optimizer %-14s max relative difference from runtime::Optimizer after 3 steps: "
      "%.2e\n",
      name, worst);
}

TEST(Optimizer, SgdMomentumWeightDecay) {
  const auto n = std::size_t(codegen::program_v<Small>.params);
  expect_optimizer_matches({}, runtime::Optimizer::sgd(n, {}), "sgd");
}
TEST(Optimizer, SgdNesterov) {
  const auto n = std::size_t(codegen::program_v<Small>.params);
  OptimizerOptions o;
  o.nesterov = true;
  expect_optimizer_matches(o, runtime::Optimizer::sgd(n, {0.9, true, 5e-4}), "sgd nesterov");
}
TEST(Optimizer, SgdWithoutMomentum) {
  const auto n = std::size_t(codegen::program_v<Small>.params);
  OptimizerOptions o;
  o.momentum = 0;
  expect_optimizer_matches(o, runtime::Optimizer::sgd(n, {0.0, false, 5e-4}), "sgd plain");
}
TEST(Optimizer, Adam) {
  const auto n = std::size_t(codegen::program_v<Small>.params);
  OptimizerOptions o;
  o.kind = OptimizerOptions::Kind::adam;
  o.weight_decay = 1e-4;
  expect_optimizer_matches(o, runtime::Optimizer::adam(n, {0.9, 0.999, 1e-8, 1e-4, false}), "adam");
}
TEST(Optimizer, AdamW) {
  const auto n = std::size_t(codegen::program_v<Small>.params);
  OptimizerOptions o;
  o.kind = OptimizerOptions::Kind::adam;
  o.weight_decay = 1e-2;
  o.decoupled = true;
  expect_optimizer_matches(o, runtime::Optimizer::adam(n, {0.9, 0.999, 1e-8, 1e-2, true}), "adamw");
}

// The captured graph replays exactly the eager step: with deterministic algorithms both give
// the same bits, step after step (the graph is captured at the second call).
TEST(CudaGraph, ReplayEqualsEagerSteps) {
  const codegen::ProgramView program = codegen::program_v<Small>.view();
  const Data d = make_data(program);
  Options eager_options, graph_options;
  eager_options.deterministic = graph_options.deterministic = true;
  eager_options.cuda_graph = false;
  Executable eager(program, batch, Mode::training, eager_options);
  Executable graph(program, batch, Mode::training, graph_options);
  for (Executable* e : {&eager, &graph})
    std::copy(d.params.begin(), d.params.end(), e->parameters().begin());
  for (int step = 0; step < 4; ++step) {
    const auto a = eager.train_step(d.images, d.labels, 0.05);
    const std::vector<float> logits_a(a.logits.begin(), a.logits.end());
    const auto b = graph.train_step(d.images, d.labels, 0.05);
    EXPECT_EQ(a.loss, b.loss) << "step " << step;
    EXPECT_EQ(max_relative(b.logits, logits_a), 0.0) << "step " << step;
    EXPECT_EQ(graph.graph_captured(), step >= 1) << "step " << step;
  }
  EXPECT_FALSE(eager.graph_captured());
  EXPECT_EQ(max_relative(graph.parameters(), eager.parameters()), 0.0);
  EXPECT_EQ(max_relative(graph.buffers(), eager.buffers()), 0.0) << "running statistics";
  EXPECT_EQ(graph.optimizer_steps(), 4);
}

// NCCL's gradient all-reduce (Options::nccl_ranks) over one rank: the path of data-parallel
// training (buckets started from the backward on their own stream, joined before the
// update, captured in the graph) runs and, averaging over one rank, changes nothing: the
// same bits as without it, eagerly and in the replayed graph.
TEST(Nccl, OneRankAllReduceLeavesTheStepUnchanged) {
  const codegen::ProgramView program = codegen::program_v<Small>.view();
  const Data d = make_data(program);
  Options plain, nccl;
  plain.deterministic = nccl.deterministic = true;
  nccl.nccl_ranks = 1;
  nccl.nccl_rank = 0;
  try {
    nccl.nccl_id = nccl_unique_id();
  } catch (const std::runtime_error& e) {
    GTEST_SKIP() << e.what();
  }
  Executable a(program, batch, Mode::training, plain);
  Executable b(program, batch, Mode::training, nccl);
  for (Executable* e : {&a, &b})
    std::copy(d.params.begin(), d.params.end(), e->parameters().begin());
  for (int step = 0; step < 3; ++step) {
    EXPECT_EQ(a.train_step(d.images, d.labels, 0.05).loss,
              b.train_step(d.images, d.labels, 0.05).loss)
        << "step " << step;
  }
  EXPECT_TRUE(b.graph_captured());
  EXPECT_EQ(max_relative(b.parameters(), a.parameters()), 0.0);
  EXPECT_EQ(max_relative(b.gradients(), a.gradients()), 0.0);
}

void cuda(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}

/// Pinned host floats that the device copies into.
struct Pinned {
  float* data = nullptr;
  explicit Pinned(std::size_t n) {
    void* p = nullptr;
    cuda(cudaMallocHost(&p, n * sizeof(float)), "cudaMallocHost");
    data = static_cast<float*>(p);
  }
  ~Pinned() { cudaFreeHost(data); }
  Pinned(const Pinned&) = delete;
  Pinned& operator=(const Pinned&) = delete;
};

// The gradient-final hook inside the captured graph (executable.hpp): the callback runs while
// a step is enqueued (the eager first step, then once while the graph is recorded), and the
// work it enqueues on `ready.stream` runs in every step, replays included, at the point where
// that group's gradient is final: a host function appends the group to a log (so the log
// grows by gradient_final in every step), and a copy of the whole gradient block taken there
// holds the group's final gradient of this step and, for the groups reported after it, the
// previous step's (not written yet: the hook runs while the backward runs, not after it).
TEST(CudaGraph, GradientReadyWorkRunsInEveryStepWhereTheGroupIsFinal) {
  const codegen::ProgramView program = codegen::program_v<Small>.view();
  const codegen::TrainingPlan plan = codegen::plan_training(program, {});
  const std::vector<int>& order = plan.gradient_final;
  ASSERT_EQ(order.size(), plan.groups.size());  // every group of Small trains
  const Data d = make_data(program);
  Executable exe(program, batch, Mode::training);
  std::copy(d.params.begin(), d.params.end(), exe.parameters().begin());
  const std::size_t params = std::size_t(program.params);
  Pinned snapshots(order.size() * params);  // per report k: the block when group order[k] is final
  std::vector<int> enqueued, ran;
  struct Report {
    std::vector<int>* log;
    int group;
  };
  std::deque<Report> reports;  // what the host functions read (stable addresses)
  exe.on_gradient_ready([&](const GradientReady& g) {
    const std::size_t k = enqueued.size() % order.size();
    enqueued.push_back(g.group);
    const auto stream = static_cast<cudaStream_t>(g.stream);
    cuda(cudaMemcpyAsync(snapshots.data + k * params, g.data - g.offset, params * sizeof(float),
                         cudaMemcpyDeviceToHost, stream),
         "snapshot");
    reports.push_back(Report{&ran, g.group});
    cuda(cudaLaunchHostFunc(
             stream,
             [](void* r) {
               const auto* report = static_cast<const Report*>(r);
               report->log->push_back(report->group);
             },
             &reports.back()),
         "cudaLaunchHostFunc");
  });
  std::vector<float> previous(params, 0.f);  // the gradient block starts zeroed
  for (int step = 0; step < 4; ++step) {
    exe.train_step(d.images, d.labels, 0.05);
    EXPECT_EQ(exe.graph_captured(), step >= 1) << "step " << step;
    // Enqueued by the eager step and while the graph was recorded; replays call nothing.
    EXPECT_EQ(enqueued.size(), order.size() * std::size_t(std::min(step + 1, 2)))
        << "step " << step;
    ASSERT_EQ(ran.size(), order.size() * std::size_t(step + 1)) << "step " << step;
    EXPECT_EQ(std::vector<int>(ran.end() - std::ptrdiff_t(order.size()), ran.end()), order)
        << "step " << step;
    const std::vector<float> final_values(exe.gradients().begin(), exe.gradients().end());
    for (std::size_t k = 0; k < order.size(); ++k) {
      for (std::size_t j = 0; j < order.size(); ++j) {
        const codegen::ParameterGroup& g = plan.groups[std::size_t(order[j])];
        const float* at = snapshots.data + k * params + g.offset;
        const std::vector<float>& want = j <= k ? final_values : previous;
        EXPECT_TRUE(std::equal(at, at + g.size, want.begin() + g.offset))
            << "step " << step << ": when group " << order[k] << " was reported, group " << order[j]
            << " held " << (j <= k ? "not yet its final" : "already this step's") << " gradient";
      }
    }
    for (std::size_t k = 0; k < order.size(); ++k) {  // else the check above proves nothing
      const codegen::ParameterGroup& g = plan.groups[std::size_t(order[k])];
      EXPECT_FALSE(std::equal(previous.begin() + g.offset, previous.begin() + g.offset + g.size,
                              final_values.begin() + g.offset))
          << "step " << step << ": group " << order[k] << "'s gradient did not change";
    }
    previous = final_values;
  }
  // A new callback drops the graph, and the next step records one without the old work.
  exe.on_gradient_ready({});
  EXPECT_FALSE(exe.graph_captured());
  exe.train_step(d.images, d.labels, 0.05);
  EXPECT_TRUE(exe.graph_captured());
  EXPECT_EQ(ran.size(), order.size() * 4) << "the old graph's host functions ran again";
  std::printf(
      "[cudnn] gradient-ready: %zu groups reported in plan order in each of 4 steps "
      "(1 eager, 1 recorded, 2 replayed)\n",
      order.size());
}

// train_step is forward, loss, backward and update.
TEST(TrainStep, EqualsItsParts) {
  const codegen::ProgramView program = codegen::program_v<Small>.view();
  const Data d = make_data(program);
  Options options;
  options.deterministic = true;
  Executable whole(program, batch, Mode::training, options);
  Executable parts(program, batch, Mode::training, options);
  for (Executable* e : {&whole, &parts})
    std::copy(d.params.begin(), d.params.end(), e->parameters().begin());
  const float loss = whole.train_step(d.images, d.labels, 0.1).loss;
  parts.forward(d.images);
  EXPECT_EQ(parts.softmax_cross_entropy(d.labels), loss);
  parts.backward();
  parts.update(0.1);
  EXPECT_EQ(max_relative(whole.parameters(), parts.parameters()), 0.0);
}

// Host mirrors: a write through parameters() reaches the next forward; buffers() shows the
// running statistics a training forward updated.
TEST(HostMirrors, WritesReachTheDeviceAndUpdatesComeBack) {
  using N = Net<Input<Shape{2, 2, 2}>, Seq<BatchNorm, Flatten, Linear<2, false>>, 2>;
  const codegen::ProgramView program = codegen::program_v<N>.view();
  Executable exe(program, 2, Mode::training);
  // gamma 1, beta 0; the first output reads the first element of channel 0 alone.
  ASSERT_EQ(exe.parameters().size(), std::size_t{2 + 2 + 2 * 8});
  std::vector<float> p(20, 0.f);
  p[0] = p[1] = 1.f;
  p[4] = 1.f;
  std::copy(p.begin(), p.end(), exe.parameters().begin());
  const std::vector<float> x{1, 2, 3, 4, 5, 6, 7, 8, -1, -2, -3, -4, -5, -6, -7, -8};
  exe.forward(x);
  const std::span<float> running = exe.buffers();
  ASSERT_EQ(running.size(), 4u);
  // channel 0 holds 1..4 and -1..-4: mean 0; running mean stays 0.9 * 0 + 0.1 * 0.
  EXPECT_NEAR(running[0], 0.0, 1e-6);
  EXPECT_GT(running[2], 1.0f) << "running variance: 0.9 * 1 + 0.1 * unbiased variance (about 8.6)";
  exe.parameters()[0] = 2.0f;  // gamma of channel 0 doubled: the first output doubles
  const std::span<const float> y2 = exe.forward(x);
  const std::vector<float> before(y2.begin(), y2.end());
  exe.parameters()[0] = 1.0f;
  const std::span<const float> y1 = exe.forward(x);
  const std::vector<float> after(y1.begin(), y1.end());
  EXPECT_GT(std::abs(after[0]), 0.1f);
  EXPECT_NEAR(before[0], 2 * after[0], 1e-5);
}

}  // namespace
}  // namespace archetype::cudnn
