// The small CUDA kernels of the cuDNN backend (kernels.hpp): one grid-stride kernel per
// op direction, NCHW, element type T (float or Bf16: read as float with ld(), computed in
// fp32, rounded once by put()). Written for clarity first: they carry the ops cuDNN lacks,
// a small share of a step's time.
#include "kernels.hpp"
#include "batch_norm.hpp"
#include "layout.hpp"

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace archetype::cudnn::kernels {

namespace {

constexpr int threads = 256;

/// Blocks for `count` elements, grid-stride beyond 65535 * 8 blocks.
unsigned blocks_for(std::int64_t count) {
  const std::int64_t b = (count + threads - 1) / threads;
  return unsigned(b < 1 ? 1 : (b > 65535 * 8 ? 65535 * 8 : b));
}

#define ARCHETYPE_GRID_STRIDE(i, count)                                                             \
  for (std::int64_t i = std::int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < (count);           \
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
__device__ inline Strided<T> plane_at(T* x, bool nhwc, int channels, std::int64_t plane, std::int64_t S) {
  return Strided<T>{x + layout::at(nhwc, channels, plane, S, 0), nhwc ? channels : 1};
}
using layout::at;
using layout::channel_element;
using layout::channel_of;
using layout::split;

// --- activations ---------------------------------------------------------------------------

template <class T>
__global__ void activation_forward_kernel(Activation a, const T* x, T* y, std::int64_t count) {
  ARCHETYPE_GRID_STRIDE(i, count) {
    const float v = ld(x, i);
    float r = 0.f;
    switch (a) {
      case Activation::relu: r = v > 0.f ? v : 0.f; break;
      case Activation::relu6: r = fminf(fmaxf(v, 0.f), 6.f); break;
      case Activation::silu: r = v / (1.f + expf(-v)); break;
      case Activation::sigmoid: r = 1.f / (1.f + expf(-v)); break;
    }
    put(y, i, r);
  }
}

template <class T>
__global__ void activation_backward_kernel(Activation a, const T* from, const T* dy, T* dx, std::int64_t count,
                                           bool accumulate) {
  ARCHETYPE_GRID_STRIDE(i, count) {
    const float v = ld(from, i);
    const float g = ld(dy, i);
    float d = 0.f;
    switch (a) {
      case Activation::relu: d = v > 0.f ? g : 0.f; break;               // y > 0 exactly where x > 0
      case Activation::relu6: d = v > 0.f && v < 6.f ? g : 0.f; break;  // 0 < y < 6
      case Activation::sigmoid: d = g * v * (1.f - v); break;            // y (1 - y)
      case Activation::silu: {                                           // s (1 + x (1 - s))
        const float s = 1.f / (1.f + expf(-v));
        d = g * s * (1.f + v * (1.f - s));
        break;
      }
    }
    store(dx, i, d, accumulate);
  }
}

// --- dropout -------------------------------------------------------------------------------

template <class T>
__global__ void dropout_kernel(const T* x, T* y, std::int64_t count, std::int64_t run, double p, std::uint64_t seed,
                               const std::uint64_t* step, bool accumulate) {
  const std::uint64_t s = *step;
  const float scale = float(1.0 / (1.0 - p));
  ARCHETYPE_GRID_STRIDE(i, count) {
    const bool keep = codegen::dropout::keep(seed, s, std::uint64_t(i / run), p);  // one definition
    store(y, i, keep ? ld(x, i) * scale : 0.f, accumulate);
  }
}

__global__ void advance_kernel(std::uint64_t* step) { *step += 1; }

// --- pooling -------------------------------------------------------------------------------

struct Window {
  int start, end, extent;  // clipped to the input; extent: the divisor's (input + padding)
};

__device__ inline Window window(int o, int k, int s, int p, int in, int out, bool adaptive) {
  if (adaptive) {
    const int lo = (o * in) / out, hi = ((o + 1) * in + out - 1) / out;
    return Window{lo, hi, hi - lo};
  }
  const int start = o * s - p;
  const int end = min(start + k, in + p);
  return Window{max(start, 0), min(end, in), end - start};
}

template <class T>
__global__ void max_pool_forward_kernel(Pool g, const T* x, T* y) {
  const std::int64_t count = std::int64_t{g.planes} * g.out_h * g.out_w;
  ARCHETYPE_GRID_STRIDE(i, count) {
    std::int64_t plane = 0, k = 0;
    split(g.nhwc, g.channels, std::int64_t{g.out_h} * g.out_w, i, plane, k);
    const int ow = int(k % g.out_w), oh = int(k / g.out_w);
    const auto xp = plane_at(x, g.nhwc, g.channels, plane, std::int64_t{g.in_h} * g.in_w);
    const Window wh = window(oh, g.kernel_h, g.stride_h, g.pad_h, g.in_h, g.out_h, g.adaptive);
    const Window ww = window(ow, g.kernel_w, g.stride_w, g.pad_w, g.in_w, g.out_w, g.adaptive);
    float best = -INFINITY;
    for (int r = wh.start; r < wh.end; ++r) {
      for (int c = ww.start; c < ww.end; ++c) best = fmaxf(best, ld(xp, r * g.in_w + c));
    }
    put(y, i, best);
  }
}

/// Gathers, per input element, the gradients of the windows whose first maximum it is
/// (deterministic: no atomics).
template <class T>
__global__ void max_pool_backward_kernel(Pool g, const T* x, const T* dy, T* dx, bool accumulate) {
  const std::int64_t count = std::int64_t{g.planes} * g.in_h * g.in_w;
  ARCHETYPE_GRID_STRIDE(i, count) {
    std::int64_t plane = 0, k = 0;
    split(g.nhwc, g.channels, std::int64_t{g.in_h} * g.in_w, i, plane, k);
    const int iw = int(k % g.in_w), ih = int(k / g.in_w);
    const auto xp = plane_at(x, g.nhwc, g.channels, plane, std::int64_t{g.in_h} * g.in_w);
    const auto dyp = plane_at(dy, g.nhwc, g.channels, plane, std::int64_t{g.out_h} * g.out_w);
    // Outputs whose window may hold (ih, iw): o s - p <= ih < o s - p + k.
    const int oh0 = max(0, (ih + g.pad_h - g.kernel_h + g.stride_h) / g.stride_h);
    const int oh1 = min(g.out_h - 1, (ih + g.pad_h) / g.stride_h);
    const int ow0 = max(0, (iw + g.pad_w - g.kernel_w + g.stride_w) / g.stride_w);
    const int ow1 = min(g.out_w - 1, (iw + g.pad_w) / g.stride_w);
    float sum = 0.f;
    for (int oh = oh0; oh <= oh1; ++oh) {
      const Window wh = window(oh, g.kernel_h, g.stride_h, g.pad_h, g.in_h, g.out_h, false);
      if (ih < wh.start || ih >= wh.end) continue;
      for (int ow = ow0; ow <= ow1; ++ow) {
        const Window ww = window(ow, g.kernel_w, g.stride_w, g.pad_w, g.in_w, g.out_w, false);
        if (iw < ww.start || iw >= ww.end) continue;
        int arg = -1;
        float best = -INFINITY;
        for (int r = wh.start; r < wh.end; ++r) {
          for (int c = ww.start; c < ww.end; ++c) {
            const float v = ld(xp, r * g.in_w + c);
            if (arg < 0 || v > best) {
              best = v;
              arg = r * g.in_w + c;
            }
          }
        }
        if (arg == ih * g.in_w + iw) sum += ld(dyp, oh * g.out_w + ow);
      }
    }
    store(dx, i, sum, accumulate);
  }
}

template <class T>
__global__ void avg_pool_forward_kernel(Pool g, const T* x, T* y) {
  const std::int64_t count = std::int64_t{g.planes} * g.out_h * g.out_w;
  ARCHETYPE_GRID_STRIDE(i, count) {
    std::int64_t plane = 0, k = 0;
    split(g.nhwc, g.channels, std::int64_t{g.out_h} * g.out_w, i, plane, k);
    const int ow = int(k % g.out_w), oh = int(k / g.out_w);
    const auto xp = plane_at(x, g.nhwc, g.channels, plane, std::int64_t{g.in_h} * g.in_w);
    const Window wh = window(oh, g.kernel_h, g.stride_h, g.pad_h, g.in_h, g.out_h, g.adaptive);
    const Window ww = window(ow, g.kernel_w, g.stride_w, g.pad_w, g.in_w, g.out_w, g.adaptive);
    float sum = 0.f;
    for (int r = wh.start; r < wh.end; ++r) {
      for (int c = ww.start; c < ww.end; ++c) sum += ld(xp, r * g.in_w + c);
    }
    put(y, i, sum / float(wh.extent * ww.extent));
  }
}

/// Per input element, the sum over the windows holding it of dy / divisor.
template <class T>
__global__ void avg_pool_backward_kernel(Pool g, const T* dy, T* dx, bool accumulate) {
  const std::int64_t count = std::int64_t{g.planes} * g.in_h * g.in_w;
  ARCHETYPE_GRID_STRIDE(i, count) {
    std::int64_t plane = 0, k = 0;
    split(g.nhwc, g.channels, std::int64_t{g.in_h} * g.in_w, i, plane, k);
    const int iw = int(k % g.in_w), ih = int(k / g.in_w);
    const auto dyp = plane_at(dy, g.nhwc, g.channels, plane, std::int64_t{g.out_h} * g.out_w);
    int oh0 = 0, oh1 = g.out_h - 1, ow0 = 0, ow1 = g.out_w - 1;
    if (!g.adaptive) {
      oh0 = max(0, (ih + g.pad_h - g.kernel_h + g.stride_h) / g.stride_h);
      oh1 = min(g.out_h - 1, (ih + g.pad_h) / g.stride_h);
      ow0 = max(0, (iw + g.pad_w - g.kernel_w + g.stride_w) / g.stride_w);
      ow1 = min(g.out_w - 1, (iw + g.pad_w) / g.stride_w);
    }
    float sum = 0.f;
    for (int oh = oh0; oh <= oh1; ++oh) {
      const Window wh = window(oh, g.kernel_h, g.stride_h, g.pad_h, g.in_h, g.out_h, g.adaptive);
      if (ih < wh.start || ih >= wh.end) continue;
      for (int ow = ow0; ow <= ow1; ++ow) {
        const Window ww = window(ow, g.kernel_w, g.stride_w, g.pad_w, g.in_w, g.out_w, g.adaptive);
        if (iw < ww.start || iw >= ww.end) continue;
        sum += ld(dyp, oh * g.out_w + ow) / float(wh.extent * ww.extent);
      }
    }
    store(dx, i, sum, accumulate);
  }
}

// --- local response norm ---------------------------------------------------------------------

/// k + alpha / size * sum of x^2 over channel c's window, at (n, p).
template <class T>
__device__ inline float lrn_scale(const Lrn& g, const T* x, int n, int c, std::int64_t p) {
  const int lo = max(0, c - g.size / 2), hi = min(g.c - 1, c + (g.size - 1) / 2);
  float sum = 0.f;
  for (int j = lo; j <= hi; ++j) {
    const float v = ld(x, (std::int64_t{n} * g.c + j) * g.plane + p);
    sum += v * v;
  }
  return g.k + g.alpha / float(g.size) * sum;
}

template <class T>
__global__ void lrn_forward_kernel(Lrn g, const T* x, T* y) {
  const std::int64_t count = std::int64_t{g.n} * g.c * g.plane;
  ARCHETYPE_GRID_STRIDE(i, count) {
    const std::int64_t p = i % g.plane;
    const int c = int((i / g.plane) % g.c), n = int(i / (g.plane * g.c));
    put(y, i, ld(x, i) * powf(lrn_scale(g, x, n, c, p), -g.beta));
  }
}

/// dx_j = dy_j s_j^-beta - 2 alpha beta / size x_j sum_{c: j in window(c)} dy_c x_c s_c^(-beta-1).
template <class T>
__global__ void lrn_backward_kernel(Lrn g, const T* x, const T* dy, T* dx, bool accumulate) {
  const std::int64_t count = std::int64_t{g.n} * g.c * g.plane;
  const float f = 2.f * g.alpha * g.beta / float(g.size);
  ARCHETYPE_GRID_STRIDE(i, count) {
    const std::int64_t p = i % g.plane;
    const int j = int((i / g.plane) % g.c), n = int(i / (g.plane * g.c));
    float d = ld(dy, i) * powf(lrn_scale(g, x, n, j, p), -g.beta);
    const int lo = max(0, j - (g.size - 1) / 2), hi = min(g.c - 1, j + g.size / 2);
    float sum = 0.f;
    for (int c = lo; c <= hi; ++c) {
      const std::int64_t k = (std::int64_t{n} * g.c + c) * g.plane + p;
      sum += ld(dy, k) * ld(x, k) * powf(lrn_scale(g, x, n, c, p), -g.beta - 1.f);
    }
    d -= f * ld(x, i) * sum;
    store(dx, i, d, accumulate);
  }
}

// --- scale, pads, resize, sums, concat ----------------------------------------------------------

template <class T>
__global__ void scale_forward_kernel(const T* x, const T* gate, T* y, std::int64_t planes, std::int64_t plane,
                                     int channels, bool nhwc) {
  ARCHETYPE_GRID_STRIDE(i, planes * plane) {
    put(y, i, ld(x, i) * ld(gate, layout::plane_of(nhwc, channels, plane, i)));
  }
}

template <class T>
__global__ void scale_dx_kernel(const T* gate, const T* dy, T* dx, bool accumulate, std::int64_t planes,
                                std::int64_t plane, int channels, bool nhwc) {
  ARCHETYPE_GRID_STRIDE(i, planes * plane) {
    store(dx, i, ld(dy, i) * ld(gate, layout::plane_of(nhwc, channels, plane, i)), accumulate);
  }
}

/// One block per plane: dgate = sum of dy x over the plane (a fixed-order tree: deterministic).
template <class T>
__global__ void scale_dgate_kernel(const T* x, const T* dy, T* dgate, bool accumulate, std::int64_t plane,
                                   int channels, bool nhwc) {
  __shared__ float partial[threads];
  const auto xp = plane_at(x, nhwc, channels, blockIdx.x, plane);
  const auto dyp = plane_at(dy, nhwc, channels, blockIdx.x, plane);
  float sum = 0.f;
  for (std::int64_t k = threadIdx.x; k < plane; k += blockDim.x) sum += ld(dyp, k) * ld(xp, k);
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int half = threads / 2; half > 0; half /= 2) {
    if (int(threadIdx.x) < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) store(dgate, blockIdx.x, partial[0], accumulate);
}

template <class T>
__global__ void zero_pad_forward_kernel(ZeroPad g, const T* x, T* y) {
  const std::int64_t count = std::int64_t{g.n} * g.out_c * g.out_h * g.out_w;
  const int pad = (g.out_c - g.in_c) / 2;
  const std::int64_t in_s = std::int64_t{g.in_h} * g.in_w, out_s = std::int64_t{g.out_h} * g.out_w;
  ARCHETYPE_GRID_STRIDE(i, count) {
    std::int64_t plane = 0, k = 0;
    split(g.nhwc, g.out_c, out_s, i, plane, k);
    const int j = int(k % g.out_w), r = int(k / g.out_w);
    const int c = int(plane % g.out_c);
    const std::int64_t n = plane / g.out_c;
    const int ci = c - pad;
    put(y, i,
        ci < 0 || ci >= g.in_c
            ? 0.f
            : ld(x, at(g.nhwc, g.in_c, n * g.in_c + ci, in_s, std::int64_t{r} * g.stride * g.in_w + j * g.stride)));
  }
}

template <class T>
__global__ void zero_pad_backward_kernel(ZeroPad g, const T* dy, T* dx, bool accumulate) {
  const std::int64_t count = std::int64_t{g.n} * g.in_c * g.in_h * g.in_w;
  const int pad = (g.out_c - g.in_c) / 2;
  const std::int64_t in_s = std::int64_t{g.in_h} * g.in_w, out_s = std::int64_t{g.out_h} * g.out_w;
  ARCHETYPE_GRID_STRIDE(i, count) {
    std::int64_t plane = 0, k = 0;
    split(g.nhwc, g.in_c, in_s, i, plane, k);
    const int j = int(k % g.in_w), r = int(k / g.in_w);
    const int c = int(plane % g.in_c);
    const std::int64_t n = plane / g.in_c;
    float v = 0.f;
    if (r % g.stride == 0 && j % g.stride == 0 && r / g.stride < g.out_h && j / g.stride < g.out_w) {
      v = ld(dy, at(g.nhwc, g.out_c, n * g.out_c + c + pad, out_s,
                    std::int64_t{r / g.stride} * g.out_w + j / g.stride));
    }
    store(dx, i, v, accumulate);
  }
}

template <class T>
__global__ void pad_to_forward_kernel(PadTo g, const T* x, T* y) {
  const std::int64_t count = std::int64_t{g.planes} * g.out_h * g.out_w;
  const int top = (g.out_h - g.in_h) / 2, left = (g.out_w - g.in_w) / 2;
  ARCHETYPE_GRID_STRIDE(i, count) {
    const int j = int(i % g.out_w) - left, r = int((i / g.out_w) % g.out_h) - top;
    const std::int64_t plane = i / (std::int64_t{g.out_w} * g.out_h);
    put(y, i, r < 0 || r >= g.in_h || j < 0 || j >= g.in_w ? 0.f : ld(x, (plane * g.in_h + r) * g.in_w + j));
  }
}

template <class T>
__global__ void pad_to_backward_kernel(PadTo g, const T* dy, T* dx, bool accumulate) {
  const std::int64_t count = std::int64_t{g.planes} * g.in_h * g.in_w;
  const int top = (g.out_h - g.in_h) / 2, left = (g.out_w - g.in_w) / 2;
  ARCHETYPE_GRID_STRIDE(i, count) {
    const int j = int(i % g.in_w), r = int((i / g.in_w) % g.in_h);
    const std::int64_t plane = i / (std::int64_t{g.in_w} * g.in_h);
    store(dx, i, ld(dy, (plane * g.out_h + r + top) * g.out_w + j + left), accumulate);
  }
}

struct Tap {
  int i0, i1;
  float l0, l1;
};
__device__ inline Tap tap(int d, int in, int out) {
  const float scale = float(in) / float(out);
  float src = (float(d) + 0.5f) * scale - 0.5f;
  if (src < 0.f) src = 0.f;
  const int i0 = int(src);
  const int i1 = i0 < in - 1 ? i0 + 1 : i0;
  const float l1 = src - float(i0);
  return Tap{i0, i1, 1.f - l1, l1};
}

template <class T>
__global__ void resize_forward_kernel(Resize g, const T* x, T* y) {
  const std::int64_t count = std::int64_t{g.planes} * g.out_h * g.out_w;
  ARCHETYPE_GRID_STRIDE(i, count) {
    const int j = int(i % g.out_w), r = int((i / g.out_w) % g.out_h);
    const std::int64_t plane = i / (std::int64_t{g.out_w} * g.out_h);
    const T* xp = x + plane * g.in_h * g.in_w;
    const Tap a = tap(r, g.in_h, g.out_h), b = tap(j, g.in_w, g.out_w);
    put(y, i,
        a.l0 * (b.l0 * ld(xp, a.i0 * g.in_w + b.i0) + b.l1 * ld(xp, a.i0 * g.in_w + b.i1)) +
            a.l1 * (b.l0 * ld(xp, a.i1 * g.in_w + b.i0) + b.l1 * ld(xp, a.i1 * g.in_w + b.i1)));
  }
}

template <class T>
__global__ void resize_backward_kernel(Resize g, const T* dy, T* dx) {
  const std::int64_t count = std::int64_t{g.planes} * g.out_h * g.out_w;
  ARCHETYPE_GRID_STRIDE(i, count) {
    const int j = int(i % g.out_w), r = int((i / g.out_w) % g.out_h);
    const std::int64_t plane = i / (std::int64_t{g.out_w} * g.out_h);
    T* xp = dx + plane * g.in_h * g.in_w;
    const Tap a = tap(r, g.in_h, g.out_h), b = tap(j, g.in_w, g.out_w);
    const float d = ld(dy, i);
    atomic_add(xp + a.i0 * g.in_w + b.i0, a.l0 * b.l0 * d);
    atomic_add(xp + a.i0 * g.in_w + b.i1, a.l0 * b.l1 * d);
    atomic_add(xp + a.i1 * g.in_w + b.i0, a.l1 * b.l0 * d);
    atomic_add(xp + a.i1 * g.in_w + b.i1, a.l1 * b.l1 * d);
  }
}

template <class T>
__global__ void sum_kernel(Sources<T> s, T* y, std::int64_t count) {
  ARCHETYPE_GRID_STRIDE(i, count) {
    float v = ld(s.data[0], i);
    for (int k = 1; k < s.count; ++k) v += ld(s.data[k], i);
    put(y, i, v);
  }
}

template <class T>
__global__ void copy_or_add_kernel(const T* src, T* dst, std::int64_t count, bool accumulate) {
  ARCHETYPE_GRID_STRIDE(i, count) { store(dst, i, ld(src, i), accumulate); }
}

template <class From, class To>
__global__ void cast_kernel(const From* src, To* dst, std::int64_t count) {
  ARCHETYPE_GRID_STRIDE(i, count) { put(dst, i, ld(src, i)); }
}

/// dst (n x c x S) = src in the other layout, converted: to_nhwc: src NCHW, dst NHWC.
template <class From, class To>
__global__ void transpose_cast_kernel(const From* src, To* dst, std::int64_t n, int c, std::int64_t S, bool to_nhwc) {
  ARCHETYPE_GRID_STRIDE(i, n * c * S) {
    std::int64_t plane = 0, k = 0;
    split(to_nhwc, c, S, i, plane, k);  // i in dst's layout
    put(dst, i, ld(src, at(!to_nhwc, c, plane, S, k)));
  }
}

template <class T>
__global__ void concat_forward_kernel(Slice g, const T* x, T* y) {
  const std::int64_t count = std::int64_t{g.n} * g.part_c * g.plane;
  ARCHETYPE_GRID_STRIDE(i, count) {
    std::int64_t plane = 0, p = 0;
    split(g.nhwc, g.part_c, g.plane, i, plane, p);
    const std::int64_t c = plane % g.part_c, n = plane / g.part_c;
    put(y, at(g.nhwc, g.total_c, n * g.total_c + g.offset + c, g.plane, p), ld(x, i));
  }
}

template <class T>
__global__ void concat_backward_kernel(Slice g, const T* dy, T* dx, bool accumulate) {
  const std::int64_t count = std::int64_t{g.n} * g.part_c * g.plane;
  ARCHETYPE_GRID_STRIDE(i, count) {
    std::int64_t plane = 0, p = 0;
    split(g.nhwc, g.part_c, g.plane, i, plane, p);
    const std::int64_t c = plane % g.part_c, n = plane / g.part_c;
    store(dx, i, ld(dy, at(g.nhwc, g.total_c, n * g.total_c + g.offset + c, g.plane, p)), accumulate);
  }
}

template <class T>
__global__ void add_bias_rows_kernel(T* y, const T* b, int rows, int cols) {
  ARCHETYPE_GRID_STRIDE(i, std::int64_t{rows} * cols) { put(y, i, ld(y, i) + ld(b, i % cols)); }
}

/// One thread per column, rows summed in order (deterministic).
template <class T>
__global__ void bias_gradient_rows_kernel(const T* dy, T* db, int rows, int cols) {
  ARCHETYPE_GRID_STRIDE(c, cols) {
    float sum = 0.f;
    for (int r = 0; r < rows; ++r) sum += ld(dy, std::int64_t{r} * cols + c);
    put(db, c, sum);
  }
}

// --- loss ------------------------------------------------------------------------------------

template <class T>
__global__ void softmax_cross_entropy_kernel(const T* logits, const int* labels, T* dlogits, float* loss,
                                             double* per_sample, int batch, int classes) {
  for (int n = int(threadIdx.x); n < batch; n += int(blockDim.x)) {
    const T* z = logits + std::int64_t{n} * classes;
    T* g = dlogits + std::int64_t{n} * classes;
    float top = ld(z, 0);
    for (int c = 1; c < classes; ++c) top = fmaxf(top, ld(z, c));
    double sum = 0;
    for (int c = 0; c < classes; ++c) sum += exp(double(ld(z, c)) - top);
    const double log_sum = log(sum);
    const int label = labels[n];
    per_sample[n] = -(double(ld(z, label)) - top - log_sum);
    for (int c = 0; c < classes; ++c) {
      const double p = exp(double(ld(z, c)) - top - log_sum);
      put(g, c, float((p - (c == label ? 1.0 : 0.0)) / batch));
    }
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    double total = 0;
    for (int n = 0; n < batch; ++n) total += per_sample[n];  // in order: the host's sum
    *loss = float(total / batch);
  }
}

// --- optimizer -------------------------------------------------------------------------------
// __fmul_rn / __fadd_rn / __fsub_rn: no contraction into fused multiply-adds, so each
// operation rounds as the host loop's (runtime/src/optimizer.cpp, compiled without FMA).

__global__ void sgd_kernel(OptimizerStep o, float* p, const float* g, float* v, std::int64_t n, const float* lr_ptr,
                           const std::int64_t* steps, const float* loss) {
  if (loss != nullptr && !isfinite(*loss)) return;
  const float lr = *lr_ptr;
  const float wd = o.weight_decay, mu = o.momentum;
  const bool first = *steps == 0;
  ARCHETYPE_GRID_STRIDE(i, n) {
    const float d = __fadd_rn(g[i], __fmul_rn(wd, p[i]));
    if (v == nullptr) {
      p[i] = __fsub_rn(p[i], __fmul_rn(lr, d));
      continue;
    }
    const float vi = first ? d : __fadd_rn(__fmul_rn(mu, v[i]), d);
    v[i] = vi;
    p[i] = __fsub_rn(p[i], __fmul_rn(lr, o.nesterov ? __fadd_rn(d, __fmul_rn(mu, vi)) : vi));
  }
}

__global__ void adam_kernel(OptimizerStep o, float* p, const float* g, float* m, float* v, std::int64_t n,
                            const float* lr_ptr, const std::int64_t* steps, const float* loss) {
  if (loss != nullptr && !isfinite(*loss)) return;
  const float lr = *lr_ptr;
  const double t = double(*steps + 1);
  const float b1 = float(o.beta1), b2 = float(o.beta2), eps = o.epsilon, wd = o.weight_decay;
  const float bias1 = float(1.0 - pow(o.beta1, t));
  const float bias2_sqrt = float(sqrt(1.0 - pow(o.beta2, t)));
  const float step_size = __fdiv_rn(lr, bias1);
  ARCHETYPE_GRID_STRIDE(i, n) {
    float gi = g[i];
    float pi = p[i];
    if (o.decoupled) {
      pi = __fmul_rn(pi, __fsub_rn(1.0f, __fmul_rn(lr, wd)));
    } else {
      gi = __fadd_rn(gi, __fmul_rn(wd, pi));
    }
    const float mi = __fadd_rn(__fmul_rn(b1, m[i]), __fmul_rn(__fsub_rn(1.0f, b1), gi));
    const float vi = __fadd_rn(__fmul_rn(b2, v[i]), __fmul_rn(__fmul_rn(__fsub_rn(1.0f, b2), gi), gi));
    m[i] = mi;
    v[i] = vi;
    const float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), bias2_sqrt), eps);
    p[i] = __fsub_rn(pi, __fdiv_rn(__fmul_rn(step_size, mi), denom));
  }
}

__global__ void count_step_kernel(std::int64_t* steps, const float* loss) {
  if (loss == nullptr || isfinite(*loss)) *steps += 1;
}

// --- bias by channel, batch norm (the bf16 path) ---------------------------------------------

template <class T>
__global__ void add_bias_channels_kernel(T* y, const T* b, int c, std::int64_t plane, std::int64_t count, bool nhwc) {
  ARCHETYPE_GRID_STRIDE(i, count) { put(y, i, ld(y, i) + ld(b, channel_of(nhwc, c, plane, i))); }
}

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

/// One block per channel (blockIdx.x): db[c] = sum over the images and the plane of dy.
template <class T>
__global__ void bias_gradient_channels_kernel(const T* dy, T* db, int n, int c, std::int64_t plane, bool nhwc) {
  const int ch = int(blockIdx.x);
  double sum = 0, unused = 0;
  const std::int64_t m = std::int64_t{n} * plane;
  for (std::int64_t j = threadIdx.x; j < m; j += blockDim.x) sum += ld(dy, channel_element(nhwc, c, plane, ch, j));
  block_sum2(sum, unused);
  if (threadIdx.x == 0) put(db, ch, float(sum));
}

/// Element k's share of its channel's two sums: x and x^2 (dy null), or dy and dy (x - mean),
/// dy masked by the absorbed ReLU's output with g.relu.
template <class T>
__device__ inline void add_element(const BatchNormShape& g, const T* x, const T* y, const T* dy, float mu,
                                   std::int64_t k, double& s1, double& s2) {
  const double v = ld(x, k);
  if (dy == nullptr) {
    s1 += v;
    s2 += v * v;
  } else {
    const double d = g.relu ? batch_norm::through_relu(ld(dy, k), ld(y, k)) : ld(dy, k);
    s1 += d;
    s2 += d * (v - mu);
  }
}

/// Block (chunk, channel): over the chunk's share of the channel's n x plane elements, the sums
/// of x and x^2 (dy null) or of dy and dy (x - mean) (dy given), in double, into
/// partial[2 (channel chunks + chunk) + {0, 1}].
template <class T>
__global__ void batch_norm_sums_kernel(BatchNormShape g, const T* x, const T* y, const T* dy, const float* mean,
                                       double* partial) {
  const int ch = int(blockIdx.y), chunk = int(blockIdx.x);
  const std::int64_t m = std::int64_t{g.n} * g.plane;
  const std::int64_t begin = m * chunk / g.chunks, end = m * (chunk + 1) / g.chunks;
  const float mu = dy == nullptr ? 0.f : mean[ch];
  double s1 = 0, s2 = 0;
  for (std::int64_t j = begin + threadIdx.x; j < end; j += blockDim.x) {
    add_element(g, x, y, dy, mu, channel_element(g.nhwc, g.c, g.plane, ch, j), s1, s2);
  }
  block_sum2(s1, s2);
  if (threadIdx.x == 0) {
    partial[2 * (std::int64_t{ch} * g.chunks + chunk)] = s1;
    partial[2 * (std::int64_t{ch} * g.chunks + chunk) + 1] = s2;
  }
}

/// The same sums for channels-last data, read coalesced: block (chunk, group of 32 channels),
/// 8 rows of 32 lanes; lane l takes channel 32 group + l of every 8th pixel of the chunk, and
/// the 8 rows are added in order. (One block per channel would read with a stride of C.)
constexpr int nhwc_lanes = 32, nhwc_rows = threads / nhwc_lanes;

template <class T>
__global__ void batch_norm_sums_nhwc_kernel(BatchNormShape g, const T* x, const T* y, const T* dy, const float* mean,
                                            double* partial) {
  __shared__ double sa[nhwc_rows][nhwc_lanes], sb[nhwc_rows][nhwc_lanes];
  const int lane = int(threadIdx.x) % nhwc_lanes, row = int(threadIdx.x) / nhwc_lanes;
  const int ch = int(blockIdx.y) * nhwc_lanes + lane, chunk = int(blockIdx.x);
  const std::int64_t m = std::int64_t{g.n} * g.plane;
  const std::int64_t begin = m * chunk / g.chunks, end = m * (chunk + 1) / g.chunks;
  double s1 = 0, s2 = 0;
  if (ch < g.c) {
    const float mu = dy == nullptr ? 0.f : mean[ch];
    for (std::int64_t j = begin + row; j < end; j += nhwc_rows) {
      add_element(g, x, y, dy, mu, j * g.c + ch, s1, s2);
    }
  }
  sa[row][lane] = s1;
  sb[row][lane] = s2;
  __syncthreads();
  if (row == 0 && ch < g.c) {
    for (int r = 1; r < nhwc_rows; ++r) {
      s1 += sa[r][lane];
      s2 += sb[r][lane];
    }
    partial[2 * (std::int64_t{ch} * g.chunks + chunk)] = s1;
    partial[2 * (std::int64_t{ch} * g.chunks + chunk) + 1] = s2;
  }
}

/// Either sums kernel, as the layout asks.
template <class T>
void batch_norm_sums(cudaStream_t stream, const BatchNormShape& g, const T* x, const T* y, const T* dy,
                     const float* mean, double* partial) {
  if (g.nhwc) {
    const unsigned groups = unsigned((g.c + nhwc_lanes - 1) / nhwc_lanes);
    batch_norm_sums_nhwc_kernel<<<dim3(unsigned(g.chunks), groups), threads, 0, stream>>>(g, x, y, dy, mean, partial);
  } else {
    batch_norm_sums_kernel<<<dim3(unsigned(g.chunks), unsigned(g.c)), threads, 0, stream>>>(g, x, y, dy, mean,
                                                                                              partial);
  }
}

/// Channel ch's two sums: its chunks' partial sums added in order.
__device__ inline void channel_sums(const BatchNormShape& g, const double* partial, std::int64_t ch, double& s1,
                                    double& s2) {
  for (int k = 0; k < g.chunks; ++k) {
    s1 += partial[2 * (ch * g.chunks + k)];
    s2 += partial[2 * (ch * g.chunks + k) + 1];
  }
}

/// One thread per channel: the chunks' sums in order, then the batch statistics, the saved
/// mean and inverse standard deviation, and the running statistics (PyTorch's update).
__global__ void batch_norm_statistics_kernel(BatchNormShape g, const double* partial, float* saved,
                                             float* running_mean, float* running_var, double momentum,
                                             double epsilon) {
  ARCHETYPE_GRID_STRIDE(ch, g.c) {
    double s1 = 0, s2 = 0;
    channel_sums(g, partial, ch, s1, s2);
    const batch_norm::Statistics st = batch_norm::statistics(s1, s2, double(g.n) * double(g.plane), epsilon, momentum,
                                                             running_mean[ch], running_var[ch]);
    saved[ch] = float(st.mean);
    saved[g.c + ch] = float(st.inverse_std);
    running_mean[ch] = float(st.running_mean);
    running_var[ch] = float(st.running_var);
  }
}

/// y = (x - mean) a + beta with a = gamma / sqrt(var + eps): `inverse_std` holds
/// 1 / sqrt(var + eps) already (training's saved values) or, when null, `var` is read.
template <class T>
__global__ void batch_norm_apply_kernel(BatchNormShape g, const T* x, T* y, const float* gamma, const float* beta,
                                        const float* mean, const float* inverse_std, const float* var,
                                        double epsilon) {
  const std::int64_t count = std::int64_t{g.n} * g.c * g.plane;
  ARCHETYPE_GRID_STRIDE(i, count) {
    const int ch = channel_of(g.nhwc, g.c, g.plane, i);
    const float inv = inverse_std != nullptr ? inverse_std[ch] : 1.f / sqrtf(var[ch] + float(epsilon));
    const float v = batch_norm::normalize(ld(x, i), mean[ch], inv, gamma[ch], beta[ch]);
    put(y, i, g.relu ? batch_norm::relu(v) : v);
  }
}

/// One thread per channel: dgamma = sum dy (x - mean) / std, dbeta = sum dy, and the two
/// coefficients of dx: sum dy / m and sum dy (x - mean) / (m var).
__global__ void batch_norm_backward_statistics_kernel(BatchNormShape g, const double* partial, const float* saved,
                                                      float* dgamma, float* dbeta, float* coefficients) {
  ARCHETYPE_GRID_STRIDE(ch, g.c) {
    double s1 = 0, s2 = 0;
    channel_sums(g, partial, ch, s1, s2);
    const batch_norm::Gradients d = batch_norm::gradients(s1, s2, double(g.n) * double(g.plane), saved[g.c + ch]);
    dgamma[ch] = float(d.dgamma);
    dbeta[ch] = float(d.dbeta);
    coefficients[ch] = float(d.mean_dy);
    coefficients[g.c + ch] = float(d.slope);
  }
}

/// dx = gamma / std (dy - sum dy / m - (x - mean) sum dy (x - mean) / (m var)).
template <class T>
__global__ void batch_norm_dx_kernel(BatchNormShape g, const T* x, const T* y, const T* dy, T* dx, bool accumulate,
                                     const float* gamma, const float* saved, const float* coefficients) {
  const std::int64_t count = std::int64_t{g.n} * g.c * g.plane;
  ARCHETYPE_GRID_STRIDE(i, count) {
    const int ch = channel_of(g.nhwc, g.c, g.plane, i);
    const float gy = g.relu ? batch_norm::through_relu(ld(dy, i), ld(y, i)) : ld(dy, i);
    const float d = batch_norm::input_gradient(gy, ld(x, i), saved[ch], saved[g.c + ch], gamma[ch], coefficients[ch],
                                               coefficients[g.c + ch]);
    store(dx, i, d, accumulate);
  }
}

}  // namespace

void check_launch(const char* what) {
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) {
    throw std::runtime_error(std::string("archetype::cudnn: ") + what + ": " + cudaGetErrorString(e));
  }
}

template <class T>
void activation_forward(cudaStream_t stream, Activation a, const T* x, T* y, std::int64_t count) {
  activation_forward_kernel<<<blocks_for(count), threads, 0, stream>>>(a, x, y, count);
  check_launch("activation forward");
}

template <class T>
void activation_backward(cudaStream_t stream, Activation a, const T* from, const T* dy, T* dx, std::int64_t count,
                         bool accumulate) {
  activation_backward_kernel<<<blocks_for(count), threads, 0, stream>>>(a, from, dy, dx, count, accumulate);
  check_launch("activation backward");
}

template <class T>
void dropout_forward(cudaStream_t stream, const T* x, T* y, std::int64_t count, std::int64_t run, double p,
                     std::uint64_t seed, const std::uint64_t* step) {
  dropout_kernel<<<blocks_for(count), threads, 0, stream>>>(x, y, count, run, p, seed, step, false);
  check_launch("dropout forward");
}

template <class T>
void dropout_backward(cudaStream_t stream, const T* dy, T* dx, std::int64_t count, std::int64_t run, double p,
                      std::uint64_t seed, const std::uint64_t* step, bool accumulate) {
  dropout_kernel<<<blocks_for(count), threads, 0, stream>>>(dy, dx, count, run, p, seed, step, accumulate);
  check_launch("dropout backward");
}

void advance_counter(cudaStream_t stream, std::uint64_t* step) {
  advance_kernel<<<1, 1, 0, stream>>>(step);
  check_launch("dropout step counter");
}

template <class T>
void max_pool_forward(cudaStream_t stream, const Pool& g, const T* x, T* y) {
  max_pool_forward_kernel<<<blocks_for(std::int64_t{g.planes} * g.out_h * g.out_w), threads, 0, stream>>>(g, x, y);
  check_launch("max pool forward");
}

template <class T>
void max_pool_backward(cudaStream_t stream, const Pool& g, const T* x, const T* dy, T* dx, bool accumulate) {
  max_pool_backward_kernel<<<blocks_for(std::int64_t{g.planes} * g.in_h * g.in_w), threads, 0, stream>>>(
      g, x, dy, dx, accumulate);
  check_launch("max pool backward");
}

template <class T>
void avg_pool_forward(cudaStream_t stream, const Pool& g, const T* x, T* y) {
  avg_pool_forward_kernel<<<blocks_for(std::int64_t{g.planes} * g.out_h * g.out_w), threads, 0, stream>>>(g, x, y);
  check_launch("average pool forward");
}

template <class T>
void avg_pool_backward(cudaStream_t stream, const Pool& g, const T* dy, T* dx, bool accumulate) {
  avg_pool_backward_kernel<<<blocks_for(std::int64_t{g.planes} * g.in_h * g.in_w), threads, 0, stream>>>(
      g, dy, dx, accumulate);
  check_launch("average pool backward");
}

template <class T>
void lrn_forward(cudaStream_t stream, const Lrn& g, const T* x, T* y) {
  lrn_forward_kernel<<<blocks_for(std::int64_t{g.n} * g.c * g.plane), threads, 0, stream>>>(g, x, y);
  check_launch("local response norm forward");
}

template <class T>
void lrn_backward(cudaStream_t stream, const Lrn& g, const T* x, const T* dy, T* dx, bool accumulate) {
  lrn_backward_kernel<<<blocks_for(std::int64_t{g.n} * g.c * g.plane), threads, 0, stream>>>(g, x, dy, dx,
                                                                                              accumulate);
  check_launch("local response norm backward");
}

template <class T>
void scale_forward(cudaStream_t stream, const T* x, const T* gate, T* y, std::int64_t planes, std::int64_t plane,
                   int channels, bool nhwc) {
  scale_forward_kernel<<<blocks_for(planes * plane), threads, 0, stream>>>(x, gate, y, planes, plane, channels, nhwc);
  check_launch("scale forward");
}

template <class T>
void scale_backward(cudaStream_t stream, const T* x, const T* gate, const T* dy, T* dx, bool accumulate_x, T* dgate,
                    bool accumulate_gate, std::int64_t planes, std::int64_t plane, int channels, bool nhwc) {
  if (dgate != nullptr) {
    scale_dgate_kernel<<<unsigned(planes), threads, 0, stream>>>(x, dy, dgate, accumulate_gate, plane, channels, nhwc);
    check_launch("scale backward (gate)");
  }
  if (dx != nullptr) {
    scale_dx_kernel<<<blocks_for(planes * plane), threads, 0, stream>>>(gate, dy, dx, accumulate_x, planes, plane,
                                                                         channels, nhwc);
    check_launch("scale backward (input)");
  }
}

template <class T>
void zero_pad_forward(cudaStream_t stream, const ZeroPad& g, const T* x, T* y) {
  zero_pad_forward_kernel<<<blocks_for(std::int64_t{g.n} * g.out_c * g.out_h * g.out_w), threads, 0, stream>>>(g, x,
                                                                                                               y);
  check_launch("zero-pad shortcut forward");
}

template <class T>
void zero_pad_backward(cudaStream_t stream, const ZeroPad& g, const T* dy, T* dx, bool accumulate) {
  zero_pad_backward_kernel<<<blocks_for(std::int64_t{g.n} * g.in_c * g.in_h * g.in_w), threads, 0, stream>>>(
      g, dy, dx, accumulate);
  check_launch("zero-pad shortcut backward");
}

template <class T>
void pad_to_forward(cudaStream_t stream, const PadTo& g, const T* x, T* y) {
  pad_to_forward_kernel<<<blocks_for(std::int64_t{g.planes} * g.out_h * g.out_w), threads, 0, stream>>>(g, x, y);
  check_launch("pad forward");
}

template <class T>
void pad_to_backward(cudaStream_t stream, const PadTo& g, const T* dy, T* dx, bool accumulate) {
  pad_to_backward_kernel<<<blocks_for(std::int64_t{g.planes} * g.in_h * g.in_w), threads, 0, stream>>>(g, dy, dx,
                                                                                                       accumulate);
  check_launch("pad backward");
}

template <class T>
void resize_forward(cudaStream_t stream, const Resize& g, const T* x, T* y) {
  resize_forward_kernel<<<blocks_for(std::int64_t{g.planes} * g.out_h * g.out_w), threads, 0, stream>>>(g, x, y);
  check_launch("resize forward");
}

template <class T>
void resize_backward(cudaStream_t stream, const Resize& g, const T* dy, T* dx, bool accumulate) {
  if (!accumulate) {
    const cudaError_t e =
        cudaMemsetAsync(dx, 0, std::size_t(g.planes) * std::size_t(g.in_h) * std::size_t(g.in_w) * sizeof(T), stream);
    if (e != cudaSuccess) throw std::runtime_error(std::string("archetype::cudnn: resize backward: ") + cudaGetErrorString(e));
  }
  resize_backward_kernel<<<blocks_for(std::int64_t{g.planes} * g.out_h * g.out_w), threads, 0, stream>>>(g, dy, dx);
  check_launch("resize backward");
}

template <class T>
void sum_forward(cudaStream_t stream, const Sources<T>& sources, T* y, std::int64_t count) {
  sum_kernel<<<blocks_for(count), threads, 0, stream>>>(sources, y, count);
  check_launch("sum forward");
}

template <class T>
void copy_or_add(cudaStream_t stream, const T* src, T* dst, std::int64_t count, bool accumulate) {
  copy_or_add_kernel<<<blocks_for(count), threads, 0, stream>>>(src, dst, count, accumulate);
  check_launch("gradient copy");
}

template <class From, class To>
void cast(cudaStream_t stream, const From* src, To* dst, std::int64_t n) {
  cast_kernel<<<blocks_for(n), threads, 0, stream>>>(src, dst, n);
  check_launch("precision cast");
}

template <class From, class To>
void transpose_cast(cudaStream_t stream, const From* src, To* dst, std::int64_t n, int c, std::int64_t plane,
                    bool to_nhwc) {
  transpose_cast_kernel<<<blocks_for(n * c * plane), threads, 0, stream>>>(src, dst, n, c, plane, to_nhwc);
  check_launch("layout and precision cast");
}

template <class T>
void concat_forward(cudaStream_t stream, const Slice& g, const T* x, T* y) {
  concat_forward_kernel<<<blocks_for(std::int64_t{g.n} * g.part_c * g.plane), threads, 0, stream>>>(g, x, y);
  check_launch("concat forward");
}

template <class T>
void concat_backward(cudaStream_t stream, const Slice& g, const T* dy, T* dx, bool accumulate) {
  concat_backward_kernel<<<blocks_for(std::int64_t{g.n} * g.part_c * g.plane), threads, 0, stream>>>(g, dy, dx,
                                                                                                     accumulate);
  check_launch("concat backward");
}

template <class T>
void add_bias_rows(cudaStream_t stream, T* y, const T* b, int rows, int cols) {
  add_bias_rows_kernel<<<blocks_for(std::int64_t{rows} * cols), threads, 0, stream>>>(y, b, rows, cols);
  check_launch("linear bias");
}

template <class T>
void bias_gradient_rows(cudaStream_t stream, const T* dy, T* db, int rows, int cols) {
  bias_gradient_rows_kernel<<<blocks_for(cols), threads, 0, stream>>>(dy, db, rows, cols);
  check_launch("linear bias gradient");
}

template <class T>
void add_bias_channels(cudaStream_t stream, T* y, const T* b, int n, int c, std::int64_t plane, bool nhwc) {
  const std::int64_t count = std::int64_t{n} * c * plane;
  add_bias_channels_kernel<<<blocks_for(count), threads, 0, stream>>>(y, b, c, plane, count, nhwc);
  check_launch("convolution bias");
}

template <class T>
void bias_gradient_channels(cudaStream_t stream, const T* dy, T* db, int n, int c, std::int64_t plane, bool nhwc) {
  bias_gradient_channels_kernel<<<unsigned(c), threads, 0, stream>>>(dy, db, n, c, plane, nhwc);
  check_launch("convolution bias gradient");
}

BatchNormShape batch_norm_shape(int n, int c, std::int64_t plane, bool nhwc) {
  // NCHW: a block per chunk of about 8192 elements of one channel; NHWC: a block per chunk of
  // about 1024 pixels of 32 channels. At most 1024 chunks.
  const std::int64_t m = std::int64_t{n} * plane, per_chunk = nhwc ? 1024 : 8192;
  const std::int64_t chunks = std::min<std::int64_t>(1024, std::max<std::int64_t>(1, (m + per_chunk - 1) / per_chunk));
  return BatchNormShape{n, c, plane, int(chunks), nhwc};
}

template <class T>
void batch_norm_forward_training(cudaStream_t stream, const BatchNormShape& g, const T* x, T* y, const float* gamma,
                                 const float* beta, float* running_mean, float* running_var, float* saved,
                                 double* partial, double momentum, double epsilon) {
  batch_norm_sums(stream, g, x, static_cast<const T*>(nullptr), static_cast<const T*>(nullptr), nullptr, partial);
  check_launch("batch norm statistics");
  batch_norm_statistics_kernel<<<blocks_for(g.c), threads, 0, stream>>>(g, partial, saved, running_mean, running_var,
                                                                         momentum, epsilon);
  check_launch("batch norm statistics");
  batch_norm_apply_kernel<<<blocks_for(std::int64_t{g.n} * g.c * g.plane), threads, 0, stream>>>(
      g, x, y, gamma, beta, saved, saved + g.c, nullptr, epsilon);
  check_launch("batch norm forward");
}

template <class T>
void batch_norm_forward_inference(cudaStream_t stream, const BatchNormShape& g, const T* x, T* y, const float* gamma,
                                  const float* beta, const float* running_mean, const float* running_var,
                                  double epsilon) {
  batch_norm_apply_kernel<<<blocks_for(std::int64_t{g.n} * g.c * g.plane), threads, 0, stream>>>(
      g, x, y, gamma, beta, running_mean, nullptr, running_var, epsilon);
  check_launch("batch norm inference");
}

template <class T>
void batch_norm_backward(cudaStream_t stream, const BatchNormShape& g, const T* x, const T* y, const T* dy, T* dx,
                         bool accumulate, const float* gamma, const float* saved, float* dgamma, float* dbeta,
                         double* partial, float* coefficients) {
  batch_norm_sums(stream, g, x, y, dy, saved, partial);
  check_launch("batch norm backward sums");
  batch_norm_backward_statistics_kernel<<<blocks_for(g.c), threads, 0, stream>>>(g, partial, saved, dgamma, dbeta,
                                                                                  coefficients);
  check_launch("batch norm parameter gradients");
  if (dx != nullptr) {
    batch_norm_dx_kernel<<<blocks_for(std::int64_t{g.n} * g.c * g.plane), threads, 0, stream>>>(
        g, x, y, dy, dx, accumulate, gamma, saved, coefficients);
    check_launch("batch norm input gradient");
  }
}

template <class T>
void softmax_cross_entropy(cudaStream_t stream, const T* logits, const int* labels, T* dlogits, float* loss,
                           double* per_sample, int batch, int classes) {
  softmax_cross_entropy_kernel<<<1, threads, 0, stream>>>(logits, labels, dlogits, loss, per_sample, batch, classes);
  check_launch("softmax cross-entropy");
}

void optimizer_step(cudaStream_t stream, const OptimizerStep& o, float* params, const float* grads, float* state,
                    std::int64_t n, const float* lr, std::int64_t* steps, const float* loss) {
  if (o.adam) {
    adam_kernel<<<blocks_for(n), threads, 0, stream>>>(o, params, grads, state, state + n, n, lr, steps, loss);
  } else {
    sgd_kernel<<<blocks_for(n), threads, 0, stream>>>(o, params, grads, state, n, lr, steps, loss);
  }
  check_launch("optimizer step");
  count_step_kernel<<<1, 1, 0, stream>>>(steps, loss);
  check_launch("optimizer step counter");
}


// Every launcher for both element types.
#define ARCHETYPE_KERNELS_FOR(T)                                                                                     \
  template void activation_forward<T>(cudaStream_t, Activation, const T*, T*, std::int64_t);                        \
  template void activation_backward<T>(cudaStream_t, Activation, const T*, const T*, T*, std::int64_t, bool);       \
  template void dropout_forward<T>(cudaStream_t, const T*, T*, std::int64_t, std::int64_t, double, std::uint64_t,   \
                                   const std::uint64_t*);                                                           \
  template void dropout_backward<T>(cudaStream_t, const T*, T*, std::int64_t, std::int64_t, double, std::uint64_t,  \
                                    const std::uint64_t*, bool);                                                    \
  template void max_pool_forward<T>(cudaStream_t, const Pool&, const T*, T*);                                       \
  template void max_pool_backward<T>(cudaStream_t, const Pool&, const T*, const T*, T*, bool);                      \
  template void avg_pool_forward<T>(cudaStream_t, const Pool&, const T*, T*);                                       \
  template void avg_pool_backward<T>(cudaStream_t, const Pool&, const T*, T*, bool);                                \
  template void lrn_forward<T>(cudaStream_t, const Lrn&, const T*, T*);                                             \
  template void lrn_backward<T>(cudaStream_t, const Lrn&, const T*, const T*, T*, bool);                            \
  template void scale_forward<T>(cudaStream_t, const T*, const T*, T*, std::int64_t, std::int64_t, int, bool);      \
  template void scale_backward<T>(cudaStream_t, const T*, const T*, const T*, T*, bool, T*, bool, std::int64_t,     \
                                  std::int64_t, int, bool);                                                         \
  template void zero_pad_forward<T>(cudaStream_t, const ZeroPad&, const T*, T*);                                    \
  template void zero_pad_backward<T>(cudaStream_t, const ZeroPad&, const T*, T*, bool);                             \
  template void pad_to_forward<T>(cudaStream_t, const PadTo&, const T*, T*);                                        \
  template void pad_to_backward<T>(cudaStream_t, const PadTo&, const T*, T*, bool);                                 \
  template void resize_forward<T>(cudaStream_t, const Resize&, const T*, T*);                                       \
  template void resize_backward<T>(cudaStream_t, const Resize&, const T*, T*, bool);                                \
  template void sum_forward<T>(cudaStream_t, const Sources<T>&, T*, std::int64_t);                                  \
  template void copy_or_add<T>(cudaStream_t, const T*, T*, std::int64_t, bool);                                     \
  template void concat_forward<T>(cudaStream_t, const Slice&, const T*, T*);                                        \
  template void concat_backward<T>(cudaStream_t, const Slice&, const T*, T*, bool);                                 \
  template void add_bias_rows<T>(cudaStream_t, T*, const T*, int, int);                                             \
  template void bias_gradient_rows<T>(cudaStream_t, const T*, T*, int, int);                                        \
  template void add_bias_channels<T>(cudaStream_t, T*, const T*, int, int, std::int64_t, bool);                     \
  template void bias_gradient_channels<T>(cudaStream_t, const T*, T*, int, int, std::int64_t, bool);                \
  template void batch_norm_forward_training<T>(cudaStream_t, const BatchNormShape&, const T*, T*, const float*,     \
                                               const float*, float*, float*, float*, double*, double, double);      \
  template void batch_norm_forward_inference<T>(cudaStream_t, const BatchNormShape&, const T*, T*, const float*,    \
                                                const float*, const float*, const float*, double);                  \
  template void batch_norm_backward<T>(cudaStream_t, const BatchNormShape&, const T*, const T*, const T*, T*, bool, \
                                       const float*, const float*, float*, float*, double*, float*);                \
  template void softmax_cross_entropy<T>(cudaStream_t, const T*, const int*, T*, float*, double*, int, int);

ARCHETYPE_KERNELS_FOR(float)
ARCHETYPE_KERNELS_FOR(Bf16)
#undef ARCHETYPE_KERNELS_FOR

template void cast<float, Bf16>(cudaStream_t, const float*, Bf16*, std::int64_t);
template void cast<Bf16, float>(cudaStream_t, const Bf16*, float*, std::int64_t);
template void transpose_cast<float, Bf16>(cudaStream_t, const float*, Bf16*, std::int64_t, int, std::int64_t, bool);
template void transpose_cast<Bf16, float>(cudaStream_t, const Bf16*, float*, std::int64_t, int, std::int64_t, bool);

}  // namespace archetype::cudnn::kernels
