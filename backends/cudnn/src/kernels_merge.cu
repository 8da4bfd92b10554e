// Kernels of the ops that join branches (kernels.hpp; ops_merge.cpp): sums of branches and
// gradient copies, Concat along the channels, Scale (squeeze-and-excitation gates) and the
// option-A zero-pad shortcut, forward and backward, in either layout.
#include "kernels_launch.cuh"

namespace archetype::cudnn::kernels {

namespace {

template <class T>
__global__ void scale_forward_kernel(const T* x, const T* gate, T* y, std::int64_t planes,
                                     std::int64_t plane, int channels, bool nhwc) {
  ARCHETYPE_GRID_STRIDE(i, planes * plane) {
    put(y, i, ld(x, i) * ld(gate, layout::plane_of(nhwc, channels, plane, i)));
  }
}

template <class T>
__global__ void scale_dx_kernel(const T* gate, const T* dy, T* dx, bool accumulate,
                                std::int64_t planes, std::int64_t plane, int channels, bool nhwc) {
  ARCHETYPE_GRID_STRIDE(i, planes * plane) {
    store(dx, i, ld(dy, i) * ld(gate, layout::plane_of(nhwc, channels, plane, i)), accumulate);
  }
}

/// One block per plane: dgate = sum of dy x over the plane (a fixed-order tree: deterministic).
template <class T>
__global__ void scale_dgate_kernel(const T* x, const T* dy, T* dgate, bool accumulate,
                                   std::int64_t plane, int channels, bool nhwc) {
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
        ci < 0 || ci >= g.in_c ? 0.f
                               : ld(x, at(g.nhwc, g.in_c, n * g.in_c + ci, in_s,
                                          std::int64_t{r} * g.stride * g.in_w + j * g.stride)));
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
    if (r % g.stride == 0 && j % g.stride == 0 && r / g.stride < g.out_h &&
        j / g.stride < g.out_w) {
      v = ld(dy, at(g.nhwc, g.out_c, n * g.out_c + c + pad, out_s,
                    std::int64_t{r / g.stride} * g.out_w + j / g.stride));
    }
    store(dx, i, v, accumulate);
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
    store(dx, i, ld(dy, at(g.nhwc, g.total_c, n * g.total_c + g.offset + c, g.plane, p)),
          accumulate);
  }
}

}  // namespace

template <class T>
void scale_forward(cudaStream_t stream, const T* x, const T* gate, T* y, std::int64_t planes,
                   std::int64_t plane, int channels, bool nhwc) {
  scale_forward_kernel<<<blocks_for(planes * plane), threads, 0, stream>>>(x, gate, y, planes,
                                                                           plane, channels, nhwc);
  check_launch("scale forward");
}

template <class T>
void scale_backward(cudaStream_t stream, const T* x, const T* gate, const T* dy, T* dx,
                    bool accumulate_x, T* dgate, bool accumulate_gate, std::int64_t planes,
                    std::int64_t plane, int channels, bool nhwc) {
  if (dgate != nullptr) {
    scale_dgate_kernel<<<unsigned(planes), threads, 0, stream>>>(x, dy, dgate, accumulate_gate,
                                                                 plane, channels, nhwc);
    check_launch("scale backward (gate)");
  }
  if (dx != nullptr) {
    scale_dx_kernel<<<blocks_for(planes * plane), threads, 0, stream>>>(
        gate, dy, dx, accumulate_x, planes, plane, channels, nhwc);
    check_launch("scale backward (input)");
  }
}

template <class T>
void zero_pad_forward(cudaStream_t stream, const ZeroPad& g, const T* x, T* y) {
  zero_pad_forward_kernel<<<blocks_for(std::int64_t{g.n} * g.out_c * g.out_h * g.out_w), threads, 0,
                            stream>>>(g, x, y);
  check_launch("zero-pad shortcut forward");
}

template <class T>
void zero_pad_backward(cudaStream_t stream, const ZeroPad& g, const T* dy, T* dx, bool accumulate) {
  zero_pad_backward_kernel<<<blocks_for(std::int64_t{g.n} * g.in_c * g.in_h * g.in_w), threads, 0,
                             stream>>>(g, dy, dx, accumulate);
  check_launch("zero-pad shortcut backward");
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

template <class T>
void concat_forward(cudaStream_t stream, const Slice& g, const T* x, T* y) {
  concat_forward_kernel<<<blocks_for(std::int64_t{g.n} * g.part_c * g.plane), threads, 0, stream>>>(
      g, x, y);
  check_launch("concat forward");
}

template <class T>
void concat_backward(cudaStream_t stream, const Slice& g, const T* dy, T* dx, bool accumulate) {
  concat_backward_kernel<<<blocks_for(std::int64_t{g.n} * g.part_c * g.plane), threads, 0,
                           stream>>>(g, dy, dx, accumulate);
  check_launch("concat backward");
}

// Both element types.
#define ARCHETYPE_MERGE_KERNELS(T)                                                                 \
  template void scale_forward<T>(cudaStream_t, const T*, const T*, T*, std::int64_t, std::int64_t, \
                                 int, bool);                                                       \
  template void scale_backward<T>(cudaStream_t, const T*, const T*, const T*, T*, bool, T*, bool,  \
                                  std::int64_t, std::int64_t, int, bool);                          \
  template void zero_pad_forward<T>(cudaStream_t, const ZeroPad&, const T*, T*);                   \
  template void zero_pad_backward<T>(cudaStream_t, const ZeroPad&, const T*, T*, bool);            \
  template void sum_forward<T>(cudaStream_t, const Sources<T>&, T*, std::int64_t);                 \
  template void copy_or_add<T>(cudaStream_t, const T*, T*, std::int64_t, bool);                    \
  template void concat_forward<T>(cudaStream_t, const Slice&, const T*, T*);                       \
  template void concat_backward<T>(cudaStream_t, const Slice&, const T*, T*, bool);

ARCHETYPE_MERGE_KERNELS(float)
ARCHETYPE_MERGE_KERNELS(Bf16)
#undef ARCHETYPE_MERGE_KERNELS

}  // namespace archetype::cudnn::kernels
