#pragma once
/// \file
/// \brief The machine's measured arithmetic peak, for the `%peak` of the benchmarks: a loop
/// of independent vector FMAs (fp32) or bf16 dot products, on N threads at once.
///
/// FLOP convention: one fp32 FMA lane is 2 FLOPs (a multiply and an add); one lane of
/// `vdpbf16ps` (`_mm512_dpbf16_ps`: two bf16 products added to an fp32 accumulator) is
/// 4 FLOPs. The instruction set is chosen at run time: fp32 with AVX-512F (AVX2 + FMA
/// where AVX-512 is missing), bf16 with AVX512-BF16 only. Library `archetype_peak`.

#include <string_view>

namespace archetype::bench {

enum class Precision { fp32, bf16 };

[[nodiscard]] constexpr std::string_view precision_name(Precision p) {
  return p == Precision::fp32 ? "fp32" : "bf16";
}

/// The instruction set the peak loop of `precision` runs on this CPU ("avx512f",
/// "avx2+fma", "avx512_bf16"), or "" when the CPU has none of them.
[[nodiscard]] std::string_view peak_isa(Precision precision);

/// The cores this process may run on (its CPU affinity mask; OpenMP's default thread
/// count), at least 1.
[[nodiscard]] int available_cores();

struct PeakMeasurement {
  Precision precision = Precision::fp32;
  std::string_view isa;  ///< see peak_isa()
  int threads = 0;
  double gflops = 0;   ///< all threads together, best repetition
  double seconds = 0;  ///< wall time the measurement took, calibration included
  int repetitions = 0;
};

/// Runs the peak loop of `precision` on `threads` threads at once for about `seconds` of
/// wall time (a short calibration, then repetitions of equal length; the best counts).
/// Throws std::runtime_error when peak_isa(precision) is empty and std::invalid_argument
/// for threads < 1 or seconds <= 0.
[[nodiscard]] PeakMeasurement measure_peak(Precision precision, int threads, double seconds);

}  // namespace archetype::bench
