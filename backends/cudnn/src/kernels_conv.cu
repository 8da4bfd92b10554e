// The convolution's bias by channel on the bf16 path (kernels.hpp; ops_conv.cpp; cuDNN does
// the convolutions, and the fp32 path's bias with AddTensor and BackwardBias).
#include "kernels_launch.cuh"

namespace archetype::cudnn::kernels {

namespace {

template <class T>
__global__ void add_bias_channels_kernel(T* y, const T* b, int c, std::int64_t plane,
                                         std::int64_t count, bool nhwc) {
  ARCHETYPE_GRID_STRIDE(i, count) { put(y, i, ld(y, i) + ld(b, channel_of(nhwc, c, plane, i))); }
}

/// One block per channel (blockIdx.x): db[c] = sum over the images and the plane of dy.
template <class T>
__global__ void bias_gradient_channels_kernel(const T* dy, T* db, int n, int c, std::int64_t plane,
                                              bool nhwc) {
  const int ch = int(blockIdx.x);
  double sum = 0, unused = 0;
  const std::int64_t m = std::int64_t{n} * plane;
  for (std::int64_t j = threadIdx.x; j < m; j += blockDim.x)
    sum += ld(dy, channel_element(nhwc, c, plane, ch, j));
  block_sum2(sum, unused);
  if (threadIdx.x == 0) put(db, ch, float(sum));
}

}  // namespace

template <class T>
void add_bias_channels(cudaStream_t stream, T* y, const T* b, int n, int c, std::int64_t plane,
                       bool nhwc) {
  const std::int64_t count = std::int64_t{n} * c * plane;
  add_bias_channels_kernel<<<blocks_for(count), threads, 0, stream>>>(y, b, c, plane, count, nhwc);
  check_launch("convolution bias");
}

template <class T>
void bias_gradient_channels(cudaStream_t stream, const T* dy, T* db, int n, int c,
                            std::int64_t plane, bool nhwc) {
  bias_gradient_channels_kernel<<<unsigned(c), threads, 0, stream>>>(dy, db, n, c, plane, nhwc);
  check_launch("convolution bias gradient");
}

// Both element types.
#define ARCHETYPE_CONV_KERNELS(T)                                                               \
  template void add_bias_channels<T>(cudaStream_t, T*, const T*, int, int, std::int64_t, bool); \
  template void bias_gradient_channels<T>(cudaStream_t, const T*, T*, int, int, std::int64_t, bool);

ARCHETYPE_CONV_KERNELS(float)
ARCHETYPE_CONV_KERNELS(Bf16)
#undef ARCHETYPE_CONV_KERNELS

}  // namespace archetype::cudnn::kernels
