// cpu.cudnn.plan: the cuDNN backend's static memory plan (backends/cudnn plan.hpp), which
// needs no GPU: no two buffers live at the same time share memory, every gradient has
// exactly one first writer (the first contribution in backward order) and memory is reused.
#include <archetype/archetype.hpp>
#include <archetype/architectures/cifar_resnet.hpp>
#include <archetype/architectures/lenet.hpp>
#include <archetype/architectures/resnet.hpp>
#include <archetype/backends/cudnn/plan.hpp>
#include <archetype/codegen/program.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

namespace archetype::cudnn {
namespace {

/// Every gradient's contributions, in backward order, must start with the one that writes.
void expect_single_first_writer(const codegen::ProgramView& program, const MemoryPlan& plan) {
  std::map<int, std::vector<std::pair<std::pair<int, int>, bool>>>
      contributions;  // base -> ((time, slot), accumulates)
  const int out_base = plan.base[std::size_t(program.output)];
  if (plan.needs_grad[std::size_t(out_base)])
    contributions[out_base].push_back({{plan.loss_time(), -1}, false});
  for (int o = 0; o < plan.ops; ++o) {
    if (plan.view_op[std::size_t(o)]) continue;
    const codegen::Op& op = program.ops[std::size_t(o)];
    for (int i = 0; i < op.input_count; ++i) {
      const int b = plan.base[std::size_t(op.inputs[i])];
      if (!plan.needs_grad[std::size_t(b)]) continue;
      contributions[b].push_back(
          {{plan.backward_time(o), i}, plan.accumulate[std::size_t(o)][std::size_t(i)]});
    }
  }
  for (auto& [base, list] : contributions) {
    std::sort(list.begin(), list.end());
    ASSERT_FALSE(list.empty());
    EXPECT_FALSE(list.front().second)
        << "tensor " << base << ": the first contribution must write, not add";
    for (std::size_t k = 1; k < list.size(); ++k) {
      EXPECT_TRUE(list[k].second) << "tensor " << base
                                  << ": a later contribution overwrites the gradient";
    }
    EXPECT_GE(plan.gradient[std::size_t(base)], 0)
        << "tensor " << base << " has contributions but no gradient buffer";
  }
}

template <class N>
void check_net(const char* name, int batch = 4) {
  const codegen::ProgramView program = codegen::program_v<N>.view();
  for (const bool training : {true, false}) {
    EXPECT_EQ(check_plan(plan_memory(program, batch, training, true, true, true)), "")
        << name << (training ? " training" : " inference") << ", BatchNorm + ReLU fused";
    const MemoryPlan plan = plan_memory(program, batch, training, true, true);
    EXPECT_EQ(check_plan(plan), "") << name << (training ? " training" : " inference");
    std::int64_t sum = 0;
    for (const PlannedBuffer& b : plan.buffers) sum += b.size;
    EXPECT_LE(plan.arena, sum) << name;
    for (std::size_t t = 0; t < program.tensors.size(); ++t) {
      EXPECT_GE(plan.value[t], 0) << name << ": tensor " << t << " has no memory";
      if (!training) {
        EXPECT_LT(plan.gradient[t], 0) << name << ": inference plans no gradients";
      }
    }
    if (training) {
      expect_single_first_writer(program, plan);
      EXPECT_TRUE(plan.needs_grad[std::size_t(program.input)])
          << name << ": the input gradient was asked for";
      EXPECT_GE(plan.gradient[std::size_t(program.input)], 0);
    }
    std::printf("[plan] %-22s %-9s arena %.2f MB at batch %d (%.2f MB without reuse)\n", name,
                training ? "training" : "inference", double(plan.arena) * 4 / 1e6, batch,
                double(sum) * 4 / 1e6);
  }
}

TEST(Plan, LeNet5) { check_net<architectures::LeNet5>("LeNet-5"); }
TEST(Plan, ResNet20) { check_net<architectures::CifarResNet<20>>("ResNet-20"); }
TEST(Plan, ResNet18Cifar) { check_net<architectures::ResNet18Cifar>("ResNet-18-CIFAR", 32); }
TEST(Plan, ConcatWithIdentityBranch) {
  check_net<
      Net<Input<Shape{3, 4, 4}>, Concat<Identity, Conv1x1<2>, Seq<AvgPool<3, 1, 1>, Conv1x1<1>>>>>(
      "concat+identity");
}
TEST(Plan, SqueezeExcitationInResidual) {
  check_net<Net<Input<Shape{16, 3, 3}>, Residual<Seq<Conv3x3<16, 1, true>, SE<16, 4>>>>>(
      "residual+se");
}

// Memory is reused: the deeper the net, the smaller the arena against the sum of its
// buffers (ResNet-18-CIFAR keeps most activations for the backward, but not all, and no
// gradient outlives its producer's backward step).
TEST(Plan, ReusesMemory) {
  const codegen::ProgramView program = codegen::program_v<architectures::ResNet18Cifar>.view();
  const MemoryPlan plan = plan_memory(program, 8, true, true, false);
  std::int64_t sum = 0;
  for (const PlannedBuffer& b : plan.buffers) sum += b.size;
  EXPECT_LT(plan.arena, sum / 2);
  EXPECT_FALSE(plan.needs_grad[std::size_t(program.input)]) << "input gradient not asked for";
}

// Views: Flatten always; Dropout only when it draws nothing (inference, switched off, p = 0).
TEST(Plan, ViewsShareTheirInputsMemory) {
  using N = Net<Input<Shape{2, 3, 3}>, Seq<Conv3x3<2>, Dropout<0.5>, Flatten, Linear<3>>, 3>;
  const codegen::ProgramView program = codegen::program_v<N>.view();
  const MemoryPlan active = plan_memory(program, 2, true, true, true);
  EXPECT_FALSE(active.view_op[1]) << "an active Dropout writes its own output";
  EXPECT_TRUE(active.view_op[2]) << "Flatten is a view";
  EXPECT_EQ(active.value[3], active.value[2]);
  EXPECT_EQ(active.gradient[3], active.gradient[2]) << "a view's gradient is its base's";
  const MemoryPlan off = plan_memory(program, 2, true, false, true);
  EXPECT_TRUE(off.view_op[1]) << "Options::dropout = false: Dropout is the identity";
  EXPECT_EQ(off.value[2], off.value[1]);
  EXPECT_EQ(check_plan(off), "");
  const MemoryPlan inference = plan_memory(program, 2, false, true, true);
  EXPECT_TRUE(inference.view_op[1]);
}

// BatchNorm + ReLU (the bf16 path): ResNet-20 fuses the stem's and the first of each block's
// (10; the second BatchNorm of a block feeds the Add). The BatchNorm writes the ReLU's output,
// and its backward reads that output and its gradient: both live from the BatchNorm's forward
// to its backward. Without the switch, or when another op reads the BatchNorm's output,
// nothing is fused.
TEST(Plan, BatchNormAbsorbsTheReluThatAloneReadsIt) {
  const codegen::ProgramView program = codegen::program_v<architectures::CifarResNet<20>>.view();
  const MemoryPlan plan = plan_memory(program, 4, true, true, false, true);
  int fused = 0;
  for (int o = 0; o < plan.ops; ++o) {
    const int r = plan.fused_relu[std::size_t(o)];
    if (r < 0) continue;
    ++fused;
    EXPECT_EQ(program.ops[std::size_t(o)].layer.op, LayerKind::batch_norm);
    EXPECT_EQ(program.ops[std::size_t(r)].layer.op, LayerKind::relu);
    EXPECT_EQ(program.ops[std::size_t(r)].inputs[0], program.ops[std::size_t(o)].output);
    EXPECT_TRUE(plan.absorbed[std::size_t(r)]);
    const int u = program.ops[std::size_t(r)].output;
    for (const PlannedBuffer& b : plan.buffers) {
      if (b.tensor != u) continue;
      if (b.kind == PlannedBuffer::Kind::value) {
        EXPECT_LE(b.birth, plan.forward_time(o)) << "written by the BatchNorm";
      }
      EXPECT_GE(b.death, plan.backward_time(o))
          << (b.kind == PlannedBuffer::Kind::value ? "value" : "gradient")
          << " read by the BatchNorm's backward";
    }
  }
  EXPECT_EQ(fused, 10);
  EXPECT_EQ(check_plan(plan), "");
  const MemoryPlan unfused = plan_memory(program, 4, true, true, false);
  EXPECT_EQ(std::count(unfused.absorbed.begin(), unfused.absorbed.end(), true), 0);
  // The BatchNorm's output read by the ReLU and by the Add: not fused.
  using Shared = Net<Input<Shape{2, 4, 4}>,
                     Seq<Conv3x3<2>, BatchNorm, Residual<ReLU>, GlobalAvgPool, Linear<3>>, 3>;
  const codegen::ProgramView shared = codegen::program_v<Shared>.view();
  const MemoryPlan s = plan_memory(shared, 2, true, true, false, true);
  EXPECT_EQ(std::count(s.absorbed.begin(), s.absorbed.end(), true), 0);
}

// Channels-last (bf16): the ResNets can; a Flatten of a map larger than 1x1 into a Linear
// (LeNet-5), LocalResponseNorm or a 2x2 output cannot.
TEST(Plan, ChannelsLastWhereEveryOpHasIt) {
  const auto possible = [](const codegen::ProgramView& p) {
    return channels_last_possible(p, plan_memory(p, 2, true, true, true));
  };
  EXPECT_TRUE(possible(codegen::program_v<architectures::CifarResNet<20>>.view()));
  EXPECT_TRUE(possible(codegen::program_v<architectures::ResNet18Cifar>.view()));
  EXPECT_FALSE(possible(codegen::program_v<architectures::LeNet5>.view()))
      << "Flatten of 16x5x5 into a Linear";
  using Pooled = Net<Input<Shape{2, 4, 4}>, Seq<Conv3x3<4>, GlobalAvgPool, Flatten, Linear<3>>, 3>;
  EXPECT_TRUE(possible(codegen::program_v<Pooled>.view())) << "Flatten of a 1x1 map";
  using Lrn =
      Net<Input<Shape{2, 4, 4}>,
          Seq<Conv3x3<4>, LocalResponseNorm<3, 0.1, 0.75, 2.0>, GlobalAvgPool, Linear<3>>, 3>;
  EXPECT_FALSE(possible(codegen::program_v<Lrn>.view()));
  using Map = Net<Input<Shape{2, 4, 4}>, Seq<Conv3x3<4>, MaxPool<2>>>;
  EXPECT_FALSE(possible(codegen::program_v<Map>.view()))
      << "a 2x2 output would reach the host channels-last";
}

}  // namespace
}  // namespace archetype::cudnn
