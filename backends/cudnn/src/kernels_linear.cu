// The Linear layer's bias (kernels.hpp; ops_linear.cpp; cuBLAS does the products): added to
// each row, and its gradient summed over the rows in order (deterministic).
#include "kernels_launch.cuh"

namespace archetype::cudnn::kernels {

namespace {

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

}  // namespace

template <class T>
void add_bias_rows(cudaStream_t stream, T* y, const T* b, int rows, int cols) {
  add_bias_rows_kernel<<<blocks_for(std::int64_t{rows} * cols), threads, 0, stream>>>(y, b, rows,
                                                                                      cols);
  check_launch("linear bias");
}

template <class T>
void bias_gradient_rows(cudaStream_t stream, const T* dy, T* db, int rows, int cols) {
  bias_gradient_rows_kernel<<<blocks_for(cols), threads, 0, stream>>>(dy, db, rows, cols);
  check_launch("linear bias gradient");
}

// Both element types.
#define ARCHETYPE_LINEAR_KERNELS(T)                                     \
  template void add_bias_rows<T>(cudaStream_t, T*, const T*, int, int); \
  template void bias_gradient_rows<T>(cudaStream_t, const T*, T*, int, int);

ARCHETYPE_LINEAR_KERNELS(float)
ARCHETYPE_LINEAR_KERNELS(Bf16)
#undef ARCHETYPE_LINEAR_KERNELS

}  // namespace archetype::cudnn::kernels
