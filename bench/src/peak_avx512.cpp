// fp32 FMA and bf16 dot-product peak loops for AVX-512 (compiled with -mavx512f -mfma
// -mavx512bf16; called only after a run-time CPU check, see peak_kernels.hpp).
// 16 independent accumulators cover the FMA latency (4-6 cycles) times two FMA pipes.
#include "peak_kernels.hpp"

#include <immintrin.h>

namespace archetype::bench::kernels {
namespace {

// Not _mm512_reduce_add_ps: g++ 12 warns (-Wuninitialized) inside its expansion.
float sum_lanes(__m512 v) {
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, v);
  float total = 0;
  for (float x : lanes) total += x;
  return total;
}

}  // namespace

float fp32_fma_avx512(std::int64_t iterations) {
  // acc <- acc * a + b converges to b / (1 - a): no overflow, no denormals.
  const __m512 a = _mm512_set1_ps(0.999f);
  const __m512 b = _mm512_set1_ps(1e-3f);
  __m512 acc[16];
#pragma GCC unroll 16
  for (int k = 0; k < 16; ++k) acc[k] = _mm512_set1_ps(float(k));
  for (std::int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 16
    for (int k = 0; k < 16; ++k) acc[k] = _mm512_fmadd_ps(acc[k], a, b);
  }
  __m512 sum = acc[0];
#pragma GCC unroll 16
  for (int k = 1; k < 16; ++k) sum = _mm512_add_ps(sum, acc[k]);
  return sum_lanes(sum);
}

float bf16_dot_avx512(std::int64_t iterations) {
  // acc <- acc + x0 * y0 + x1 * y1 per fp32 lane; grows by 2e-6 per iteration.
  const __m512bh x = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(1e-3f));
  const __m512bh y = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(1e-3f));
  __m512 acc[16];
#pragma GCC unroll 16
  for (int k = 0; k < 16; ++k) acc[k] = _mm512_set1_ps(float(k));
  for (std::int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 16
    for (int k = 0; k < 16; ++k) acc[k] = _mm512_dpbf16_ps(acc[k], x, y);
  }
  __m512 sum = acc[0];
#pragma GCC unroll 16
  for (int k = 1; k < 16; ++k) sum = _mm512_add_ps(sum, acc[k]);
  return sum_lanes(sum);
}

}  // namespace archetype::bench::kernels
