#pragma once
// Internal: what every kernel file (kernels_<family>.cu) shares, device code only (nvcc):
// the launch geometry (grid-stride loops of `threads` threads per block), the element access
// of T = float or Bf16 (read as float with ld(), computed in fp32, rounded once by put()),
// the plane views of the two layouts and the fixed-order block sum.
#include "kernels.hpp"
#include "layout.hpp"

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

namespace archetype::cudnn::kernels {

inline constexpr int threads = 256;

/// Blocks for `count` elements, grid-stride beyond 65535 * 8 blocks.
inline unsigned blocks_for(std::int64_t count) {
  const std::int64_t b = (count + threads - 1) / threads;
  return unsigned(b < 1 ? 1 : (b > 65535 * 8 ? 65535 * 8 : b));
}

#define ARCHETYPE_GRID_STRIDE(i, count)                                                   \
  for (std::int64_t i = std::int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < (count); \
       i += std::int64_t{blockDim.x} * gridDim.x)

static_assert(sizeof(Bf16) == sizeof(__nv_bfloat16));

__device__ inline float ld(const float* p, std::int64_t i) { return p[i]; }
__device__ inline float ld(const Bf16* p, std::int64_t i) {
  return __bfloat162float(reinterpret_cast<const __nv_bfloat16*>(p)[i]);
}
__device__ inline void put(float* p, std::int64_t i, float v) { p[i] = v; }
__device__ inline void put(Bf16* p, std::int64_t i, float v) {
  reinterpret_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16_rn(v);
}
__device__ inline void atomic_add(float* p, float v) { atomicAdd(p, v); }
__device__ inline void atomic_add(Bf16* p, float v) {
  atomicAdd(reinterpret_cast<__nv_bfloat16*>(p), __float2bfloat16_rn(v));
}

template <class T>
__device__ inline void store(T* dst, std::int64_t i, float v, bool accumulate) {
  put(dst, i, accumulate ? ld(dst, i) + v : v);
}

// --- layouts ---------------------------------------------------------------------------------
// A tensor of n x C planes of S (= h w) elements: NCHW holds plane p = n C + c contiguously;
// NHWC (channels-last) holds its elements C apart.

/// One plane of a tensor, element k at p[k step].
template <class T>
struct Strided {
  T* p;
  std::int64_t step;
};
template <class T>
__device__ inline float ld(Strided<T> s, std::int64_t k) {
  return ld(s.p, k * s.step);
}
template <class T>
__device__ inline Strided<T> plane_at(T* x, bool nhwc, int channels, std::int64_t plane,
                                      std::int64_t S) {
  return Strided<T>{x + layout::at(nhwc, channels, plane, S, 0), nhwc ? channels : 1};
}
using layout::at;
using layout::channel_element;
using layout::channel_of;
using layout::split;

/// Sums of `threads` doubles (two per thread) over the block, in a fixed tree: thread 0 gets them.
__device__ inline void block_sum2(double& a, double& b) {
  __shared__ double sa[threads], sb[threads];
  sa[threadIdx.x] = a;
  sb[threadIdx.x] = b;
  __syncthreads();
  for (int half = threads / 2; half > 0; half /= 2) {
    if (int(threadIdx.x) < half) {
      sa[threadIdx.x] += sa[threadIdx.x + half];
      sb[threadIdx.x] += sb[threadIdx.x + half];
    }
    __syncthreads();
  }
  a = sa[0];
  b = sb[0];
}

}  // namespace archetype::cudnn::kernels
