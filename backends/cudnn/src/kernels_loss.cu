// The loss (kernels.hpp; context.cpp): softmax cross-entropy and its gradient, accumulated in
// double in the host's order.
#include "kernels_launch.cuh"

namespace archetype::cudnn::kernels {

namespace {

template <class T>
__global__ void softmax_cross_entropy_kernel(const T* logits, const int* labels, T* dlogits,
                                             float* loss, double* per_sample, int batch,
                                             int classes) {
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

}  // namespace

template <class T>
void softmax_cross_entropy(cudaStream_t stream, const T* logits, const int* labels, T* dlogits,
                           float* loss, double* per_sample, int batch, int classes) {
  softmax_cross_entropy_kernel<<<1, threads, 0, stream>>>(logits, labels, dlogits, loss, per_sample,
                                                          batch, classes);
  check_launch("softmax cross-entropy");
}

// Both element types.
#define ARCHETYPE_LOSS_KERNELS(T)                                                                 \
  template void softmax_cross_entropy<T>(cudaStream_t, const T*, const int*, T*, float*, double*, \
                                         int, int);

ARCHETYPE_LOSS_KERNELS(float)
ARCHETYPE_LOSS_KERNELS(Bf16)
#undef ARCHETYPE_LOSS_KERNELS

}  // namespace archetype::cudnn::kernels
