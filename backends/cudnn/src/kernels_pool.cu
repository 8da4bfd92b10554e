// Pooling kernels (kernels.hpp; ops_pool.cpp): max and average pooling over windows or
// adaptive bins, forward and backward, in either layout.
#include "kernels_launch.cuh"

namespace archetype::cudnn::kernels {

namespace {

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

}  // namespace

template <class T>
void max_pool_forward(cudaStream_t stream, const Pool& g, const T* x, T* y) {
  max_pool_forward_kernel<<<blocks_for(std::int64_t{g.planes} * g.out_h * g.out_w), threads, 0,
                            stream>>>(g, x, y);
  check_launch("max pool forward");
}

template <class T>
void max_pool_backward(cudaStream_t stream, const Pool& g, const T* x, const T* dy, T* dx,
                       bool accumulate) {
  max_pool_backward_kernel<<<blocks_for(std::int64_t{g.planes} * g.in_h * g.in_w), threads, 0,
                             stream>>>(g, x, dy, dx, accumulate);
  check_launch("max pool backward");
}

template <class T>
void avg_pool_forward(cudaStream_t stream, const Pool& g, const T* x, T* y) {
  avg_pool_forward_kernel<<<blocks_for(std::int64_t{g.planes} * g.out_h * g.out_w), threads, 0,
                            stream>>>(g, x, y);
  check_launch("average pool forward");
}

template <class T>
void avg_pool_backward(cudaStream_t stream, const Pool& g, const T* dy, T* dx, bool accumulate) {
  avg_pool_backward_kernel<<<blocks_for(std::int64_t{g.planes} * g.in_h * g.in_w), threads, 0,
                             stream>>>(g, dy, dx, accumulate);
  check_launch("average pool backward");
}

// Both element types.
#define ARCHETYPE_POOL_KERNELS(T)                                                              \
  template void max_pool_forward<T>(cudaStream_t, const Pool&, const T*, T*);                  \
  template void max_pool_backward<T>(cudaStream_t, const Pool&, const T*, const T*, T*, bool); \
  template void avg_pool_forward<T>(cudaStream_t, const Pool&, const T*, T*);                  \
  template void avg_pool_backward<T>(cudaStream_t, const Pool&, const T*, T*, bool);

ARCHETYPE_POOL_KERNELS(float)
ARCHETYPE_POOL_KERNELS(Bf16)
#undef ARCHETYPE_POOL_KERNELS

}  // namespace archetype::cudnn::kernels
