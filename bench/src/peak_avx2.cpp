// fp32 FMA peak loop for CPUs with AVX2 and FMA but no AVX-512 (compiled with -mavx2
// -mfma; called only after a run-time CPU check, see peak_kernels.hpp).
#include "peak_kernels.hpp"

#include <immintrin.h>

namespace archetype::bench::kernels {

float fp32_fma_avx2(std::int64_t iterations) {
  const __m256 a = _mm256_set1_ps(0.999f);
  const __m256 b = _mm256_set1_ps(1e-3f);
  __m256 acc[12];
#pragma GCC unroll 12
  for (int k = 0; k < 12; ++k) acc[k] = _mm256_set1_ps(float(k));
  for (std::int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (int k = 0; k < 12; ++k) acc[k] = _mm256_fmadd_ps(acc[k], a, b);
  }
  __m256 sum = acc[0];
#pragma GCC unroll 12
  for (int k = 1; k < 12; ++k) sum = _mm256_add_ps(sum, acc[k]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, sum);
  float total = 0;
  for (float v : lanes) total += v;
  return total;
}

}  // namespace archetype::bench::kernels
