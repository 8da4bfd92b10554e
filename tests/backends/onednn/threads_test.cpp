// The thread-count policy under shared cores (threads.hpp): the rule, /proc/stat's reading
// and the governor's hysteresis. The load itself is measured by bench/load.py, not here.
#include <archetype/backends/onednn/threads.hpp>

#include <gtest/gtest.h>

namespace archetype::onednn {
namespace {

TEST(Threads, NoMoreThreadsThanTheCoresOthersLeaveFree) {
  EXPECT_EQ(threads_for_load(2, 2, 0.0), 2);
  EXPECT_EQ(threads_for_load(2, 2, 0.4), 2);  // a core less than half busy counts as free
  EXPECT_EQ(threads_for_load(2, 2, 0.6), 1);
  EXPECT_EQ(threads_for_load(2, 2, 1.3), 1);  // one competing process, sharing fairly
  EXPECT_EQ(threads_for_load(2, 2, 2.0), 1);  // never fewer than one
  EXPECT_EQ(threads_for_load(16, 16, 5.2), 11);
  EXPECT_EQ(threads_for_load(4, 16, 0.0), 4);   // never more than the caller's maximum
  EXPECT_EQ(threads_for_load(4, 16, -1.0), 4);  // a negative reading is no load
  EXPECT_EQ(threads_for_load(0, 2, 0.0), 1);
}

TEST(Threads, BusyTimeOfTheProcessesCpusFromProcStat) {
  const std::string stat =
      "cpu  500 0 300 9000 10 0 5 0 0 0\n"
      "cpu0 100 10 100 4000 5 3 2 7 0 0\n"
      "cpu1 200 0 150 3000 5 0 3 0 0 0\n"
      "cpu3 1000 0 0 0 0 0 0 0 0 0\n"
      "intr 12345 0 0\n"
      "ctxt 999\n";
  // cpu0: user + nice + system + irq + softirq + steal = 100+10+100+3+2+7 (idle and iowait
  // are not busy); cpu1: 200+150+3.
  EXPECT_DOUBLE_EQ(*LoadMonitor::busy_seconds(stat, {0}, 100), 2.22);
  EXPECT_DOUBLE_EQ(*LoadMonitor::busy_seconds(stat, {0, 1}, 100), 5.75);
  EXPECT_DOUBLE_EQ(*LoadMonitor::busy_seconds(stat, {3}, 250), 4.0);
  EXPECT_FALSE(LoadMonitor::busy_seconds(stat, {0, 2}, 100)) << "cpu2 has no line";
  EXPECT_FALSE(LoadMonitor::busy_seconds("cpu0 1 2\n", {0}, 100)) << "a truncated line";
  EXPECT_FALSE(LoadMonitor::busy_seconds("", {0}, 100));
}

TEST(Threads, ANewCountMustBeSeenTwiceInARow) {
  ThreadGovernor g(0);
  if (!g.adaptive()) GTEST_SKIP() << "OMP_NUM_THREADS fixes the count";
  if (g.max_threads() < 2) GTEST_SKIP() << "one usable core: nothing to adapt";
  const int all = g.max_threads();
  const double busy = double(LoadMonitor().cores());
  (void)g.observe(0.0);
  (void)g.observe(0.0);
  ASSERT_EQ(g.threads(), all);
  EXPECT_FALSE(g.observe(busy)) << "one busy window is not enough";
  EXPECT_EQ(g.threads(), all);
  EXPECT_EQ(g.observe(busy), 1);
  EXPECT_EQ(g.threads(), 1);
  EXPECT_FALSE(g.observe(0.0));
  EXPECT_FALSE(g.observe(busy)) << "the load came back: the candidate is dropped";
  EXPECT_FALSE(g.observe(0.0));
  EXPECT_EQ(g.observe(0.0), all);
  EXPECT_NE(describe(g).find(std::to_string(all) + " threads"), std::string::npos) << describe(g);
}

TEST(Threads, AFixedCountNeverChanges) {
  ThreadGovernor g(3);
  EXPECT_FALSE(g.adaptive());
  EXPECT_EQ(g.threads(), 3);
  EXPECT_FALSE(g.poll());
  EXPECT_EQ(fixed_threads(5), 5);
}

TEST(Threads, UsableCoresAreThoseOfTheAffinityMaskAtMost) {
  const int cores = usable_cores();
  EXPECT_GE(cores, 1);
  EXPECT_LE(cores, LoadMonitor().cores());
}

}  // namespace
}  // namespace archetype::onednn
