#pragma once
/// \file
/// \brief SiLU over a buffer in place, with AVX-512: what inference runs after a kernel whose
/// chain ends in SiLU, instead of oneDNN's swish post-op.
///
/// On the project's 2-core AVX-512 machine (EPYC), a 1x1 convolution with oneDNN 2.6's swish
/// post-op takes 1.03-1.21x the time of the same convolution followed by this pass
/// (EfficientNet-B0's expansions at batch 32 and 1: 14.7 against 12.5 ms for 16 -> 96
/// channels at 112x112, batch 32), and oneDNN's swish eltwise primitive costs 0.33-0.39 ns
/// per element against this pass's 0.16-0.21 (1 MB in cache to 154 MB from memory).
/// EfficientNet-B0 computes 6.2 M SiLUs per image. `reports/performance-targets.md` has the
/// measurements.
#include <cstdint>

namespace archetype::onednn::detail {

/// Whether this CPU runs `silu_in_place` (AVX-512F).
[[nodiscard]] bool silu_in_place_available();

/// x <- x * sigmoid(x) for the `n` floats at `x`, on the OpenMP threads. Within 3e-7 of the
/// exact value, relatively, for x >= -87 (below, x / (1 + e^87), where the exact value is
/// smaller still: both below 1e-30 in magnitude for |x| < 1e8). Zero stays zero (the
/// padding channels of a blocked layout), NaN stays NaN, +-inf stay +-inf. Requires
/// `silu_in_place_available()`.
void silu_in_place(float* x, std::int64_t n);

}  // namespace archetype::onednn::detail
