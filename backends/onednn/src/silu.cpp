// SiLU in place with AVX-512 (silu.hpp).
#include "silu.hpp"

#include "vector_math.hpp"

#include <algorithm>

namespace archetype::onednn::detail {
namespace {

ARCHETYPE_AVX512 void silu_avx512(float* x, std::int64_t n) {
  constexpr std::int64_t block = 4096;  // floats per task: 16 KB, half of a 32 KB L1
  const std::int64_t blocks = (n + block - 1) / block;
#pragma omp parallel for schedule(static)
  for (std::int64_t b = 0; b < blocks; ++b) {
    float* p = x + b * block;
    const std::int64_t m = std::min(block, n - b * block);
    std::int64_t i = 0;
    for (; i + 16 <= m; i += 16) _mm512_storeu_ps(p + i, silu16(_mm512_loadu_ps(p + i)));
    if (i < m) {
      const auto k = static_cast<__mmask16>((1u << (m - i)) - 1u);
      _mm512_mask_storeu_ps(p + i, k, silu16(_mm512_maskz_loadu_ps(k, p + i)));
    }
  }
}

}  // namespace

bool silu_in_place_available() { return __builtin_cpu_supports("avx512f"); }

void silu_in_place(float* x, std::int64_t n) { silu_avx512(x, n); }

}  // namespace archetype::onednn::detail
