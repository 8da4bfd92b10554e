// The measured peak (peak.hpp): CPU detection, threads, calibration, best of repetitions.
#include <archetype/bench/peak.hpp>

#include "peak_kernels.hpp"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace archetype::bench {
namespace {

using Clock = std::chrono::steady_clock;
using Kernel = float (*)(std::int64_t);

struct Loop {
  Kernel kernel = nullptr;
  std::int64_t flops_per_iteration = 0;
  std::string_view isa;
};

Loop loop_for(Precision precision) {
#if ARCHETYPE_PEAK_X86
  __builtin_cpu_init();
  [[maybe_unused]] const bool avx512f = __builtin_cpu_supports("avx512f") != 0;
#endif
#if ARCHETYPE_PEAK_AVX512
  if (precision == Precision::fp32 && avx512f) {
    return {kernels::fp32_fma_avx512, kernels::fp32_avx512_flops_per_iteration, "avx512f"};
  }
  if (precision == Precision::bf16 && avx512f && __builtin_cpu_supports("avx512bf16") != 0) {
    return {kernels::bf16_dot_avx512, kernels::bf16_avx512_flops_per_iteration, "avx512_bf16"};
  }
#endif
#if ARCHETYPE_PEAK_AVX2
  if (precision == Precision::fp32 && __builtin_cpu_supports("avx2") != 0 &&
      __builtin_cpu_supports("fma") != 0) {
    return {kernels::fp32_fma_avx2, kernels::fp32_avx2_flops_per_iteration, "avx2+fma"};
  }
#endif
  (void)precision;
  return {};
}

// Keeps the kernels' results alive so that no call is optimised away.
std::atomic<float> sink{0.0f};

/// Runs `iterations` of the loop on `threads` threads released together; returns the
/// slowest thread's seconds.
double run_once(const Loop& loop, int threads, std::int64_t iterations) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<double> seconds(std::size_t(threads), 0.0);
  std::vector<std::thread> workers;
  workers.reserve(std::size_t(threads));
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      const auto t0 = Clock::now();
      const float result = loop.kernel(iterations);
      seconds[std::size_t(t)] = std::chrono::duration<double>(Clock::now() - t0).count();
      sink.store(sink.load(std::memory_order_relaxed) + result, std::memory_order_relaxed);
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  go.store(true, std::memory_order_release);
  for (std::thread& w : workers) w.join();
  return *std::max_element(seconds.begin(), seconds.end());
}

}  // namespace

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? int(n) : 1;
}

std::string_view peak_isa(Precision precision) { return loop_for(precision).isa; }

PeakMeasurement measure_peak(Precision precision, int threads, double seconds) {
  const Loop loop = loop_for(precision);
  if (loop.kernel == nullptr) {
    throw std::runtime_error("archetype: this CPU has no instructions for the " +
                             std::string(precision_name(precision)) + " peak loop");
  }
  if (threads < 1) throw std::invalid_argument("archetype: measure_peak needs threads >= 1");
  if (!(seconds > 0)) throw std::invalid_argument("archetype: measure_peak needs seconds > 0");

  const auto t0 = Clock::now();
  // Calibration, on all threads (one thread alone can run faster where clocks drop with
  // the number of busy cores): double the iterations until a run takes 1/20 of the time.
  const double calibration_target = seconds / 20;
  std::int64_t iterations = 1 << 10;
  double elapsed = run_once(loop, threads, iterations);
  while (elapsed < calibration_target && iterations < (std::int64_t{1} << 40)) {
    iterations *= 2;
    elapsed = run_once(loop, threads, iterations);
  }
  // The rest of the time in repetitions of about 1/6 of it each (at least 3).
  const double spent = std::chrono::duration<double>(Clock::now() - t0).count();
  const double left = std::max(seconds - spent, 3 * elapsed);
  const int repetitions = std::max(3, int(left / std::max(seconds / 6, elapsed)));
  const double per_repetition = left / repetitions;
  iterations =
      std::max<std::int64_t>(1, std::int64_t(double(iterations) * per_repetition / elapsed));

  double best = 0;
  for (int r = 0; r < repetitions; ++r) {
    const double s = run_once(loop, threads, iterations);
    best = std::max(
        best, double(threads) * double(iterations) * double(loop.flops_per_iteration) / s / 1e9);
  }
  return PeakMeasurement{
      precision,  loop.isa, threads, best, std::chrono::duration<double>(Clock::now() - t0).count(),
      repetitions};
}

}  // namespace archetype::bench
