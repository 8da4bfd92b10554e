#pragma once
/// \file
/// \brief How many OpenMP threads the oneDNN backend runs, when the cores are shared.
///
/// oneDNN's OpenMP threads meet at barriers, and a thread that arrives first spins there
/// (libgomp's default wait policy) for its whole time slice when its partner has been
/// descheduled by another process. With as many threads as cores and one more busy process,
/// a step takes 5-15x longer instead of the ~1.5x that fair sharing costs
/// (reports/reliability.md, section 7). Waiting passively (OMP_WAIT_POLICY=passive) removes
/// the collapse but costs up to half the speed of a quiet machine on small models, and it can
/// only be chosen before the process starts. So the policy is about the thread count: never
/// more threads than the cores other processes leave free.
///
/// - `usable_cores()`: the cores this process may run on: its affinity mask, capped by a
///   cgroup v2 CPU quota (`cpu.max`) where one is set.
/// - `LoadMonitor`: how many of those cores other processes kept busy over a window, from the
///   per-CPU counters of /proc/stat minus this process's own CPU time (its spinning threads
///   are its own, not load).
/// - `threads_for_load()`: the rule, a pure function.
/// - `ThreadGovernor`: the rule over time, with hysteresis (a new count must be seen in two
///   windows in a row), polled between steps. oneDNN fixes a primitive's thread count when
///   it is created, so a caller that follows a change rebuilds its executable (cheap: the
///   primitives, not the data; runtime's oneDNN engine does).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace archetype::onednn {

/// The cores this process may use: the CPUs of its affinity mask, at most the cgroup CPU
/// quota rounded up (a container given 1.5 CPUs on 2 cores: 2; given 1: 1). At least 1.
[[nodiscard]] int usable_cores();

/// The threads to run with when `busy_other` of the `cores` this process may use are kept
/// busy by other processes (in cores, e.g. 1.3): the cores less than half used by others,
/// i.e. round(cores - busy_other), within [1, max_threads].
[[nodiscard]] int threads_for_load(int max_threads, int cores, double busy_other);

/// Busy time of other processes on this process's CPUs, between calls to `sample()`.
class LoadMonitor {
 public:
  /// Starts the first window now. Where /proc/stat cannot be read (not Linux, a sandbox),
  /// `sample()` always returns nullopt and the caller keeps its thread count.
  LoadMonitor();

  /// The cores other processes kept busy on average since the previous sample (or the
  /// construction), and starts the next window; nullopt when the window was shorter than
  /// `min_window` (the counters tick at 100 Hz) or /proc/stat is unreadable.
  [[nodiscard]] std::optional<double> sample(
      std::chrono::milliseconds min_window = std::chrono::milliseconds(200));

  [[nodiscard]] int cores() const { return int(cpus_.size()); }

  /// One reading: the busy time of the CPUs in `cpus`, in seconds, from /proc/stat's text
  /// (user + nice + system + irq + softirq + steal: the hypervisor's steal is lost to us too).
  /// nullopt when a CPU's line is missing or malformed. Public for the tests.
  [[nodiscard]] static std::optional<double> busy_seconds(const std::string& proc_stat,
                                                          const std::vector<int>& cpus,
                                                          double ticks_per_second);

 private:
  struct Reading {
    double busy = 0;  ///< the CPUs' busy seconds
    double own = 0;   ///< this process's CPU seconds
    std::chrono::steady_clock::time_point at;
  };
  [[nodiscard]] std::optional<Reading> read() const;

  std::vector<int> cpus_;  ///< the affinity mask's CPUs
  double ticks_ = 100;     ///< sysconf(_SC_CLK_TCK)
  std::optional<Reading> last_;
};

/// The count the caller fixed: `requested` if > 0, else OMP_NUM_THREADS if set, else 0 (none).
[[nodiscard]] int fixed_threads(int requested);

/// The thread count to run with, following the load. Fixed when the caller asked for a
/// count (`--threads N`); adaptive otherwise.
class ThreadGovernor {
 public:
  /// `fixed_threads(requested)` > 0: always that many threads. 0: adaptive, at most
  /// `usable_cores()`, starting from the load seen since this process started (waiting for 200 ms
  /// of it if the process is younger); then a window of `window` between decisions.
  explicit ThreadGovernor(int requested,
                          std::chrono::milliseconds window = std::chrono::milliseconds(500));

  [[nodiscard]] int threads() const { return threads_; }
  [[nodiscard]] int max_threads() const { return max_; }
  [[nodiscard]] bool adaptive() const { return adaptive_; }
  /// Other processes' busy cores in the last window (0 before the first one).
  [[nodiscard]] double busy_other() const { return busy_other_; }

  /// Called between steps; cheap (a clock read) until a window has passed. Returns the new
  /// thread count when it should change: the rule gave it in two windows in a row.
  std::optional<int> poll();

  /// The rule's decision for a window's load, with the hysteresis; public for the tests
  /// (poll() feeds it the monitor's samples).
  std::optional<int> observe(double busy_other);

 private:
  bool adaptive_ = false;
  int max_ = 1;
  int threads_ = 1;
  std::optional<int> candidate_;  ///< a different count seen in the last window
  double busy_other_ = 0;
  std::chrono::milliseconds window_;
  std::chrono::steady_clock::time_point next_;
  LoadMonitor monitor_;
};

/// One line for people: "2 threads" or "1 thread of 2 (other processes keep 1.3 of 2 cores
/// busy)".
[[nodiscard]] std::string describe(const ThreadGovernor& governor);

}  // namespace archetype::onednn
