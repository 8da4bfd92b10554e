#pragma once
// The peak loops (peak.hpp), each in a translation unit compiled with its own -m flags
// (peak_avx512.cpp, peak_avx2.cpp). Those files include nothing but <immintrin.h> and
// define nothing inline, so no function compiled with AVX-512 can be picked by the linker
// for code that runs on a CPU without it; callers check the CPU first (peak.cpp).

#include <cstdint>

namespace archetype::bench::kernels {

/// FLOPs of one iteration of each loop: accumulators x lanes x FLOPs per lane.
inline constexpr std::int64_t fp32_avx512_flops_per_iteration = 16 * 16 * 2;
inline constexpr std::int64_t bf16_avx512_flops_per_iteration = 16 * 16 * 4;
inline constexpr std::int64_t fp32_avx2_flops_per_iteration = 12 * 8 * 2;

/// Each runs `iterations` iterations and returns a value computed from every accumulator
/// (so that nothing is optimised away).
float fp32_fma_avx512(std::int64_t iterations);
float bf16_dot_avx512(std::int64_t iterations);
float fp32_fma_avx2(std::int64_t iterations);

}  // namespace archetype::bench::kernels
