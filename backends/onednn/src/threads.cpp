// The thread-count policy under shared cores (threads.hpp): the rule, the /proc/stat monitor
// and the governor's hysteresis.
#include <archetype/backends/onednn/threads.hpp>

#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace archetype::onednn {
namespace {

std::vector<int> affinity_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
    }
  }
  if (cpus.empty()) {
    const unsigned n = std::max(1U, std::thread::hardware_concurrency());
    for (unsigned c = 0; c < n; ++c) cpus.push_back(int(c));
  }
  return cpus;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return in ? s.str() : std::string();
}

/// The cgroup v2 CPU quota in CPUs ("max" or no file: none). /proc/self/cgroup's "0::/path"
/// names this process's group under /sys/fs/cgroup.
std::optional<double> cgroup_quota() {
  std::istringstream groups(read_text("/proc/self/cgroup"));
  for (std::string line; std::getline(groups, line);) {
    if (line.rfind("0::", 0) != 0) continue;
    std::istringstream max(read_text("/sys/fs/cgroup" + line.substr(3) + "/cpu.max"));
    std::string quota;
    double period = 0;
    if (!(max >> quota >> period) || quota == "max" || period <= 0) return std::nullopt;
    const double q = std::strtod(quota.c_str(), nullptr);
    return q > 0 ? std::optional<double>(q / period) : std::nullopt;
  }
  return std::nullopt;
}

double own_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

// The first window of every governor starts when the process does (or this library is
// loaded), so that its first decision sees the load during the program's own setup.
const LoadMonitor& process_start_monitor() {
  static const LoadMonitor monitor;
  return monitor;
}
[[maybe_unused]] const LoadMonitor& started_at_load = process_start_monitor();

}  // namespace

int usable_cores() {
  const int cpus = int(affinity_cpus().size());
  if (const auto quota = cgroup_quota()) {
    return std::clamp(int(std::ceil(*quota - 1e-9)), 1, cpus);
  }
  return std::max(1, cpus);
}

int threads_for_load(int max_threads, int cores, double busy_other) {
  const double free = double(cores) - std::max(0.0, busy_other);
  return std::clamp(int(std::floor(free + 0.5)), 1, std::max(1, max_threads));
}

LoadMonitor::LoadMonitor() : cpus_(affinity_cpus()) {
  const long ticks = sysconf(_SC_CLK_TCK);
  if (ticks > 0) ticks_ = double(ticks);
  last_ = read();
}

std::optional<double> LoadMonitor::busy_seconds(const std::string& proc_stat,
                                                const std::vector<int>& cpus,
                                                double ticks_per_second) {
  double busy = 0;
  std::size_t found = 0;
  std::istringstream lines(proc_stat);
  for (std::string line; std::getline(lines, line);) {
    int cpu = -1;
    unsigned long long f[8] = {};  // user nice system idle iowait irq softirq steal
    if (std::sscanf(line.c_str(), "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &f[0],
                    &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7]) != 9) {
      continue;  // the "cpu " total line, intr, ctxt, ...
    }
    if (std::find(cpus.begin(), cpus.end(), cpu) == cpus.end()) continue;
    busy += double(f[0] + f[1] + f[2] + f[5] + f[6] + f[7]);
    ++found;
  }
  if (found != cpus.size() || ticks_per_second <= 0) return std::nullopt;
  return busy / ticks_per_second;
}

std::optional<LoadMonitor::Reading> LoadMonitor::read() const {
  const auto busy = busy_seconds(read_text("/proc/stat"), cpus_, ticks_);
  if (!busy) return std::nullopt;
  return Reading{*busy, own_cpu_seconds(), std::chrono::steady_clock::now()};
}

std::optional<double> LoadMonitor::sample(std::chrono::milliseconds min_window) {
  if (!last_) return std::nullopt;
  if (std::chrono::steady_clock::now() - last_->at < min_window) return std::nullopt;
  const auto now = read();
  if (!now) return std::nullopt;
  const double wall = std::chrono::duration<double>(now->at - last_->at).count();
  const double other = (now->busy - last_->busy) - (now->own - last_->own);
  last_ = now;
  return std::clamp(other / wall, 0.0, double(cores()));
}

int fixed_threads(int requested) {
  if (requested > 0) return requested;
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    const int n = std::atoi(env);  // "4" or a nesting list "4,2": its first level
    if (n > 0) return n;
  }
  return 0;
}

ThreadGovernor::ThreadGovernor(int requested, std::chrono::milliseconds window)
    : adaptive_(fixed_threads(requested) == 0),
      max_(adaptive_ ? usable_cores() : fixed_threads(requested)),
      threads_(max_),
      window_(window),
      monitor_(process_start_monitor()) {
  next_ = std::chrono::steady_clock::now() + window_;
  if (!adaptive_ || max_ == 1) return;
  // The first decision, from the load since the process started (at least 200 ms of it).
  std::optional<double> busy = monitor_.sample();
  if (!busy) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    busy = monitor_.sample();
  }
  if (busy) {
    busy_other_ = *busy;
    threads_ = threads_for_load(max_, monitor_.cores(), *busy);
  }
}

std::optional<int> ThreadGovernor::observe(double busy_other) {
  busy_other_ = busy_other;
  const int want = threads_for_load(max_, monitor_.cores(), busy_other);
  if (want == threads_) {
    candidate_.reset();
    return std::nullopt;
  }
  if (candidate_ != want) {  // seen once: wait for the next window to confirm it
    candidate_ = want;
    return std::nullopt;
  }
  candidate_.reset();
  threads_ = want;
  return want;
}

std::optional<int> ThreadGovernor::poll() {
  if (!adaptive_ || max_ == 1) return std::nullopt;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_) return std::nullopt;
  next_ = now + window_;
  const auto busy = monitor_.sample(window_ / 2);
  if (!busy) return std::nullopt;
  return observe(*busy);
}

std::string describe(const ThreadGovernor& g) {
  char line[160];
  const char* s = g.threads() == 1 ? "" : "s";
  if (g.threads() < g.max_threads()) {
    std::snprintf(line, sizeof line,
                  "%d thread%s of %d (other processes keep %.1f of %d cores busy)", g.threads(), s,
                  g.max_threads(), g.busy_other(), usable_cores());
  } else {
    std::snprintf(line, sizeof line, "%d thread%s", g.threads(), s);
  }
  return line;
}

}  // namespace archetype::onednn
