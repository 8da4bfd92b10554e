#pragma once
/// \file
/// \brief The Google Benchmark suite of one model, for the generated `bench_<model>`
/// executables (bench/CMakeLists.txt, `archetype_add_benchmark`; a user's `bench_NAME` from
/// `archetype_add_model`): inference
/// at batch 1, 32 and 128 and one training step at batch 128, with the counters `img/s`,
/// `GFLOP/s` (analytic: 2 x MACs per image forward, a training step 3 x forward), `%peak`
/// (of the fp32 peak on the same threads) and `peak_rss_MB`. Library
/// `archetype_bench_models`; the model comes as its `ModelEntry` (the registry's, or
/// `model_entry<N>()` of a net of one's own), so each executable is one small generated
/// file, and the library links no registry: a user's benchmark does not link the zoo.

#include <archetype/architectures/registry.hpp>

namespace archetype::bench {

/// The whole `main` of bench_<model>: parses the options below, hands the rest to Google
/// Benchmark, runs the suite of `model`. Exit codes: 0 success, 2 usage error (bad or
/// unknown option), 1 other failure.
///
///   --threads N                 oneDNN threads (default: every core this process may use)
///   --conv-algorithm A          direct (default), fastest or winograd
///   --fashion-mnist             1x28x28 inputs through the model's input adapter
///   --peak-gflops X             the fp32 peak at these threads, for %peak (default: the
///                               environment's ARCHETYPE_PEAK_GFLOPS, else measured at start
///                               for 0.4 s; the context line `peak_source` says which)
///   --benchmark_...             Google Benchmark's own options
int run_model_benchmarks(const ModelEntry& model, int argc, char** argv);

}  // namespace archetype::bench
