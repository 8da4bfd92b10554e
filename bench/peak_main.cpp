// bench_peak: the measured fp32 and bf16 arithmetic peak of this machine (GFLOP/s), on one
// thread and on all threads, for the `%peak` of the benchmarks (peak.hpp has the loops and
// the FLOP convention).
//
//   bench_peak [--threads N] [--seconds S] [--json]
#include <archetype/bench/peak.hpp>

#include "src/flags.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using archetype::bench::PeakMeasurement;
using archetype::bench::Precision;

constexpr int exit_usage = 2;

struct Options {
  int threads = 0;  // 0: every available core
  double seconds = 1.0;
  bool json = false;
};

void print_usage(std::ostream& out) {
  out << "usage: bench_peak [--threads N] [--seconds S] [--json]\n"
         "  Measures the fp32 (AVX-512 FMA) and bf16 (AVX512-BF16 dot product) arithmetic peak\n"
         "  on 1 thread and on N threads (default: every core this process may use).\n"
         "  --threads N   the larger thread count (default: all cores)\n"
         "  --seconds S   wall time of each measurement (default 1.0)\n"
         "  --json        one JSON object on stdout instead of a table\n"
         "  FLOPs: an fp32 FMA lane = 2, a bf16 dot-product lane (vdpbf16ps) = 4.\n";
}

/// Returns -1 when the run goes on, else the exit code (0 after --help).
int parse(int argc, char** argv, Options& o) {
  namespace flags = archetype::bench::flags;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      print_usage(std::cout);
      return 0;
    }
    if (arg == "--json") {
      o.json = true;
    } else if (auto v = flags::value_of("--threads", argc, argv, i)) {
      const auto n = flags::positive_int(*v);
      if (!n) {
        std::cerr << "bench_peak: --threads expects a positive integer, got " << flags::quoted(*v)
                  << "\n";
        return exit_usage;
      }
      o.threads = *n;
    } else if (auto v = flags::value_of("--seconds", argc, argv, i)) {
      const auto s = flags::positive_number(*v);
      if (!s || *s > 3600) {
        std::cerr << "bench_peak: --seconds expects a number of seconds in (0, 3600], got "
                  << flags::quoted(*v) << "\n";
        return exit_usage;
      }
      o.seconds = *s;
    } else {
      std::cerr << "bench_peak: unknown option '" << arg << "'\n";
      print_usage(std::cerr);
      return exit_usage;
    }
  }
  return -1;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  }
  return "unknown";
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (const int rc = parse(argc, argv, o); rc >= 0) return rc;
  const int all = o.threads > 0 ? o.threads : archetype::bench::available_cores();
  std::vector<int> thread_counts = {1};
  if (all > 1) thread_counts.push_back(all);

  std::vector<PeakMeasurement> results;
  nlohmann::json unsupported = nlohmann::json::array();
  for (Precision p : {Precision::fp32, Precision::bf16}) {
    if (archetype::bench::peak_isa(p).empty()) {
      unsupported.push_back(std::string(archetype::bench::precision_name(p)));
      continue;
    }
    for (int threads : thread_counts) {
      results.push_back(archetype::bench::measure_peak(p, threads, o.seconds));
    }
  }

  auto peak_at = [&](Precision p, int threads) -> nlohmann::json {
    for (const PeakMeasurement& r : results) {
      if (r.precision == p && r.threads == threads) return r.gflops;
    }
    return nullptr;
  };

  if (o.json) {
    nlohmann::json rows = nlohmann::json::array();
    for (const PeakMeasurement& r : results) {
      rows.push_back({{"precision", archetype::bench::precision_name(r.precision)},
                      {"isa", r.isa},
                      {"threads", r.threads},
                      {"gflops", r.gflops},
                      {"gflops_per_thread", r.gflops / r.threads},
                      {"seconds", r.seconds},
                      {"repetitions", r.repetitions}});
    }
    const nlohmann::json out = {
        {"cpu", cpu_model()},
        {"threads", all},
        {"measurements", rows},
        {"fp32_peak_gflops", peak_at(Precision::fp32, all)},
        {"bf16_peak_gflops", peak_at(Precision::bf16, all)},
        {"unsupported", unsupported},
        {"flop_convention", "fp32 FMA lane = 2 FLOPs; bf16 dot-product lane (vdpbf16ps) = 4 FLOPs"},
    };
    std::cout << out.dump(2) << std::endl;
    return 0;
  }

  std::cout
      << "CPU: " << cpu_model() << "\n"
      << "Measured peak, GFLOP/s (fp32 FMA lane = 2 FLOPs, bf16 dot-product lane = 4 FLOPs)\n";
  std::printf("%-9s %-12s %7s %12s %12s\n", "precision", "isa", "threads", "GFLOP/s", "per thread");
  for (const PeakMeasurement& r : results) {
    std::printf("%-9s %-12s %7d %12.1f %12.1f\n",
                std::string(archetype::bench::precision_name(r.precision)).c_str(),
                std::string(r.isa).c_str(), r.threads, r.gflops, r.gflops / r.threads);
  }
  for (const auto& p : unsupported) {
    std::cout << p.get<std::string>() << ": not measured (this CPU lacks the instructions)\n";
  }
  return 0;
}
