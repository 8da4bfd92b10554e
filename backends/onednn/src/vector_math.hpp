#pragma once
/// \file
/// \brief Internal: AVX-512 arithmetic shared by our own kernels (silu.cpp,
/// pointwise_depthwise.cpp). Every function here runs only where the CPU has AVX-512F
/// (`__builtin_cpu_supports("avx512f")`, checked by the callers' `*_available()`).
#include <immintrin.h>

// GCC 12's AVX-512 intrinsics start their results from _mm512_undefined_ps, which its
// -Wmaybe-uninitialized and -Wuninitialized report where they are inlined: false positives.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

/// Compiles a function for AVX-512F whatever the target of the rest of the build.
#define ARCHETYPE_AVX512 __attribute__((target("avx512f")))

namespace archetype::onednn::detail {

/// x * sigmoid(x) = x / (1 + e^u), u = -x clamped to [-87, 87] (e^87 < 2^126: no overflow).
/// Cody-Waite: n = round(u log2(e)), r = u - n ln(2) with ln(2) in two parts (so that r keeps
/// its bits when |u| is large), in [-0.35, 0.35]; e^r by its Taylor polynomial of degree 7
/// (error below 6e-9), scaled by 2^n (vscalefps). 1 / (1 + e^u) by the 14-bit reciprocal and
/// one Newton step (28 bits). Within 3e-7 of the exact value, relatively.
ARCHETYPE_AVX512 inline __m512 silu16(__m512 x) {
  const __m512 limit = _mm512_set1_ps(87.f);
  const __m512 u = _mm512_max_ps(_mm512_min_ps(_mm512_sub_ps(_mm512_setzero_ps(), x), limit),
                                 _mm512_sub_ps(_mm512_setzero_ps(), limit));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(u, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), u);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.f / 5040);  // 1 / k!, k = 7 .. 0
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 720));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
  const __m512 d = _mm512_add_ps(_mm512_scalef_ps(p, n), _mm512_set1_ps(1.f));
  __m512 q = _mm512_rcp14_ps(d);
  q = _mm512_mul_ps(q, _mm512_fnmadd_ps(d, q, _mm512_set1_ps(2.f)));
  return _mm512_mul_ps(x, q);
}

}  // namespace archetype::onednn::detail
