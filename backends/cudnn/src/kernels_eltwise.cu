// The activations' kernels (kernels.hpp; ops_eltwise.cpp): ReLU, ReLU6, SiLU and Sigmoid,
// forward and backward, elementwise over a tensor of either layout.
#include "kernels_launch.cuh"

namespace archetype::cudnn::kernels {

namespace {

template <class T>
__global__ void activation_forward_kernel(Activation a, const T* x, T* y, std::int64_t count) {
  ARCHETYPE_GRID_STRIDE(i, count) {
    const float v = ld(x, i);
    float r = 0.f;
    switch (a) {
      case Activation::relu:
        r = v > 0.f ? v : 0.f;
        break;
      case Activation::relu6:
        r = fminf(fmaxf(v, 0.f), 6.f);
        break;
      case Activation::silu:
        r = v / (1.f + expf(-v));
        break;
      case Activation::sigmoid:
        r = 1.f / (1.f + expf(-v));
        break;
    }
    put(y, i, r);
  }
}

template <class T>
__global__ void activation_backward_kernel(Activation a, const T* from, const T* dy, T* dx,
                                           std::int64_t count, bool accumulate) {
  ARCHETYPE_GRID_STRIDE(i, count) {
    const float v = ld(from, i);
    const float g = ld(dy, i);
    float d = 0.f;
    switch (a) {
      case Activation::relu:
        d = v > 0.f ? g : 0.f;
        break;  // y > 0 exactly where x > 0
      case Activation::relu6:
        d = v > 0.f && v < 6.f ? g : 0.f;
        break;  // 0 < y < 6
      case Activation::sigmoid:
        d = g * v * (1.f - v);
        break;                  // y (1 - y)
      case Activation::silu: {  // s (1 + x (1 - s))
        const float s = 1.f / (1.f + expf(-v));
        d = g * s * (1.f + v * (1.f - s));
        break;
      }
    }
    store(dx, i, d, accumulate);
  }
}

}  // namespace

template <class T>
void activation_forward(cudaStream_t stream, Activation a, const T* x, T* y, std::int64_t count) {
  activation_forward_kernel<<<blocks_for(count), threads, 0, stream>>>(a, x, y, count);
  check_launch("activation forward");
}

template <class T>
void activation_backward(cudaStream_t stream, Activation a, const T* from, const T* dy, T* dx,
                         std::int64_t count, bool accumulate) {
  activation_backward_kernel<<<blocks_for(count), threads, 0, stream>>>(a, from, dy, dx, count,
                                                                        accumulate);
  check_launch("activation backward");
}

// Both element types.
#define ARCHETYPE_ELTWISE_KERNELS(T)                                                         \
  template void activation_forward<T>(cudaStream_t, Activation, const T*, T*, std::int64_t); \
  template void activation_backward<T>(cudaStream_t, Activation, const T*, const T*, T*,     \
                                       std::int64_t, bool);

ARCHETYPE_ELTWISE_KERNELS(float)
ARCHETYPE_ELTWISE_KERNELS(Bf16)
#undef ARCHETYPE_ELTWISE_KERNELS

}  // namespace archetype::cudnn::kernels
