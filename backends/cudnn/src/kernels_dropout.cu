// Dropout and stochastic depth (kernels.hpp; ops_eltwise.cpp): the masks of
// codegen/dropout.hpp, the draws every backend makes, recomputed by the backward (no mask is
// stored), and the step counter that seeds them.
#include "kernels_launch.cuh"

namespace archetype::cudnn::kernels {

namespace {

template <class T>
__global__ void dropout_kernel(const T* x, T* y, std::int64_t count, std::int64_t run, double p,
                               std::uint64_t seed, const std::uint64_t* step, bool accumulate) {
  const std::uint64_t s = *step;
  const float scale = float(1.0 / (1.0 - p));
  ARCHETYPE_GRID_STRIDE(i, count) {
    const bool keep = codegen::dropout::keep(seed, s, std::uint64_t(i / run), p);  // one definition
    store(y, i, keep ? ld(x, i) * scale : 0.f, accumulate);
  }
}

__global__ void advance_kernel(std::uint64_t* step) { *step += 1; }

}  // namespace

template <class T>
void dropout_forward(cudaStream_t stream, const T* x, T* y, std::int64_t count, std::int64_t run,
                     double p, std::uint64_t seed, const std::uint64_t* step) {
  dropout_kernel<<<blocks_for(count), threads, 0, stream>>>(x, y, count, run, p, seed, step, false);
  check_launch("dropout forward");
}

template <class T>
void dropout_backward(cudaStream_t stream, const T* dy, T* dx, std::int64_t count, std::int64_t run,
                      double p, std::uint64_t seed, const std::uint64_t* step, bool accumulate) {
  dropout_kernel<<<blocks_for(count), threads, 0, stream>>>(dy, dx, count, run, p, seed, step,
                                                            accumulate);
  check_launch("dropout backward");
}

void advance_counter(cudaStream_t stream, std::uint64_t* step) {
  advance_kernel<<<1, 1, 0, stream>>>(step);
  check_launch("dropout step counter");
}

// Both element types.
#define ARCHETYPE_DROPOUT_KERNELS(T)                                                               \
  template void dropout_forward<T>(cudaStream_t, const T*, T*, std::int64_t, std::int64_t, double, \
                                   std::uint64_t, const std::uint64_t*);                           \
  template void dropout_backward<T>(cudaStream_t, const T*, T*, std::int64_t, std::int64_t,        \
                                    double, std::uint64_t, const std::uint64_t*, bool);

ARCHETYPE_DROPOUT_KERNELS(float)
ARCHETYPE_DROPOUT_KERNELS(Bf16)
#undef ARCHETYPE_DROPOUT_KERNELS

}  // namespace archetype::cudnn::kernels
