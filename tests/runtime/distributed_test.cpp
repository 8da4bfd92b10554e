// The gradient all-reduce's buckets (runtime/distributed.hpp) in one process: assigned in
// the plan's backward order, the first of 1 MB and the others of 25 MB (PyTorch DDP's),
// every gradient handed back unchanged by a sum over one process, and a missing group
// reported. The sums over processes run under mpirun (tests/runtime/distributed).
#include <archetype/architectures/cifar_resnet.hpp>
#include <archetype/architectures/resnet.hpp>
#include <archetype/codegen/program.hpp>
#include <archetype/codegen/training_plan.hpp>
#include <archetype/runtime/distributed.hpp>

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

namespace archetype::runtime::test {
namespace {

TEST(GradientAllReduce, BucketsFollowTheBackwardOrderAtDdpSizes) {
  const auto& program = codegen::program_v<architectures::ResNet50>;
  const codegen::TrainingPlan plan = codegen::plan_training(program.view(), {});
  std::vector<float> gradients(std::size_t(program.params), 0.f);
  GradientAllReduce all_reduce(Processes::single(), plan, gradients);
  const std::vector<std::size_t> sizes = all_reduce.bucket_sizes();
  ASSERT_GE(sizes.size(), 4u);  // 102 MB of gradients
  EXPECT_EQ(std::accumulate(sizes.begin(), sizes.end(), std::size_t{0}),
            std::size_t(program.params));
  // A bucket closes at the first group that takes it to its size: the classifier (2,049,000
  // floats, 8 MB) alone fills the first.
  EXPECT_EQ(sizes[0], 2'049'000u);
  for (std::size_t k = 1; k + 1 < sizes.size(); ++k) {
    EXPECT_GE(sizes[k] * 4, std::size_t{25} << 20) << "bucket " << k;
    EXPECT_LT(sizes[k] * 4, (std::size_t{25} << 20) + (std::size_t{10} << 20)) << "bucket " << k;
  }
}

TEST(GradientAllReduce, OneProcessHandsEveryGradientBackAndNamesAMissingGroup) {
  const auto& program = codegen::program_v<architectures::CifarResNet<20>>;
  const codegen::TrainingPlan plan = codegen::plan_training(program.view(), {});
  std::vector<float> gradients(std::size_t(program.params));
  std::iota(gradients.begin(), gradients.end(), 1.f);
  const std::vector<float> before = gradients;
  GradientAllReduce all_reduce(Processes::single(), plan, gradients, 64 << 10, 16 << 10);
  EXPECT_GT(all_reduce.bucket_sizes().size(), 3u);
  for (int step = 0; step < 2; ++step) {
    for (const int g : plan.gradient_final) all_reduce.ready(g);
    all_reduce.finish();
    EXPECT_EQ(gradients, before);
    EXPECT_GE(all_reduce.last().exposed, 0.0);
  }
  for (std::size_t k = 1; k < plan.gradient_final.size(); ++k)
    all_reduce.ready(plan.gradient_final[k]);
  EXPECT_THROW(all_reduce.finish(), std::logic_error);
}

}  // namespace
}  // namespace archetype::runtime::test
