// Kernels that change the spatial size (kernels.hpp; ops_resize.cpp): PadTo (each plane
// centred in a larger one) and bilinear Resize, forward and backward, NCHW.
#include "kernels_launch.cuh"

#include <cstddef>
#include <stdexcept>
#include <string>

namespace archetype::cudnn::kernels {

namespace {

template <class T>
__global__ void pad_to_forward_kernel(PadTo g, const T* x, T* y) {
  const std::int64_t count = std::int64_t{g.planes} * g.out_h * g.out_w;
  const int top = (g.out_h - g.in_h) / 2, left = (g.out_w - g.in_w) / 2;
  ARCHETYPE_GRID_STRIDE(i, count) {
    const int j = int(i % g.out_w) - left, r = int((i / g.out_w) % g.out_h) - top;
    const std::int64_t plane = i / (std::int64_t{g.out_w} * g.out_h);
    put(y, i,
        r < 0 || r >= g.in_h || j < 0 || j >= g.in_w ? 0.f
                                                     : ld(x, (plane * g.in_h + r) * g.in_w + j));
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

}  // namespace

template <class T>
void pad_to_forward(cudaStream_t stream, const PadTo& g, const T* x, T* y) {
  pad_to_forward_kernel<<<blocks_for(std::int64_t{g.planes} * g.out_h * g.out_w), threads, 0,
                          stream>>>(g, x, y);
  check_launch("pad forward");
}

template <class T>
void pad_to_backward(cudaStream_t stream, const PadTo& g, const T* dy, T* dx, bool accumulate) {
  pad_to_backward_kernel<<<blocks_for(std::int64_t{g.planes} * g.in_h * g.in_w), threads, 0,
                           stream>>>(g, dy, dx, accumulate);
  check_launch("pad backward");
}

template <class T>
void resize_forward(cudaStream_t stream, const Resize& g, const T* x, T* y) {
  resize_forward_kernel<<<blocks_for(std::int64_t{g.planes} * g.out_h * g.out_w), threads, 0,
                          stream>>>(g, x, y);
  check_launch("resize forward");
}

template <class T>
void resize_backward(cudaStream_t stream, const Resize& g, const T* dy, T* dx, bool accumulate) {
  if (!accumulate) {
    const cudaError_t e = cudaMemsetAsync(
        dx, 0, std::size_t(g.planes) * std::size_t(g.in_h) * std::size_t(g.in_w) * sizeof(T),
        stream);
    if (e != cudaSuccess)
      throw std::runtime_error(std::string("archetype::cudnn: resize backward: ") +
                               cudaGetErrorString(e));
  }
  resize_backward_kernel<<<blocks_for(std::int64_t{g.planes} * g.out_h * g.out_w), threads, 0,
                           stream>>>(g, dy, dx);
  check_launch("resize backward");
}

// Both element types.
#define ARCHETYPE_RESIZE_KERNELS(T)                                                 \
  template void pad_to_forward<T>(cudaStream_t, const PadTo&, const T*, T*);        \
  template void pad_to_backward<T>(cudaStream_t, const PadTo&, const T*, T*, bool); \
  template void resize_forward<T>(cudaStream_t, const Resize&, const T*, T*);       \
  template void resize_backward<T>(cudaStream_t, const Resize&, const T*, T*, bool);

ARCHETYPE_RESIZE_KERNELS(float)
ARCHETYPE_RESIZE_KERNELS(Bf16)
#undef ARCHETYPE_RESIZE_KERNELS

}  // namespace archetype::cudnn::kernels
