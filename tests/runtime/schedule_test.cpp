#include <archetype/runtime/schedule.hpp>

#include <gtest/gtest.h>

namespace archetype::runtime {
namespace {

TEST(Schedule, CosineFromBaseToZero) {
  Schedule s;
  s.kind = Schedule::Kind::cosine;
  s.base_lr = 0.1;
  s.total_steps = 100;
  EXPECT_DOUBLE_EQ(s.lr(0), 0.1);
  EXPECT_NEAR(s.lr(50), 0.05, 1e-12);
  EXPECT_NEAR(s.lr(100), 0.0, 1e-12);
}

TEST(Schedule, StepDecaysAtMilestoneEpochs) {
  Schedule s;
  s.kind = Schedule::parse("step:2,4", s.milestones);
  s.base_lr = 1.0;
  s.steps_per_epoch = 10;
  EXPECT_DOUBLE_EQ(s.lr(19), 1.0);
  EXPECT_NEAR(s.lr(20), 0.1, 1e-12);
  EXPECT_NEAR(s.lr(40), 0.01, 1e-12);
}

TEST(Schedule, LinearWarmup) {
  Schedule s;
  s.kind = Schedule::Kind::constant;
  s.base_lr = 0.4;
  s.warmup_steps = 4;
  EXPECT_DOUBLE_EQ(s.lr(0), 0.1);
  EXPECT_DOUBLE_EQ(s.lr(3), 0.4);
  EXPECT_DOUBLE_EQ(s.lr(10), 0.4);
}

TEST(Schedule, ParseRejectsNonsense) {
  std::vector<int> m;
  EXPECT_THROW(Schedule::parse("linear", m), std::invalid_argument);
  EXPECT_THROW(Schedule::parse("step:a,3", m), std::invalid_argument);
  EXPECT_THROW(Schedule::parse("step:0", m), std::invalid_argument);
  EXPECT_EQ(Schedule::parse("step:30,60", m), Schedule::Kind::step);
  EXPECT_EQ(m, (std::vector<int>{30, 60}));
}

}  // namespace
}  // namespace archetype::runtime
