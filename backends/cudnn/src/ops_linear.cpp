// Linear (fully connected) with cuBLAS: forward, weight, bias and input gradients (the
// bias with kernels_linear.cu).
#include "context.hpp"

namespace archetype::cudnn::detail {

namespace {

// cuBLAS is column-major: a row-major [rows, cols] matrix is its column-major
// transpose, so with X [N, In], W [Out, In], Y [N, Out] row-major:
//   Y^T = W X^T:   sgemm(T, N, Out, N, In, W (ld In), X (ld In), Y (ld Out))
//   dW^T = X^T dY: sgemm(N, T, In, Out, N, X (ld In), dY (ld Out), dW (ld In))
//   dX^T = W^T dY^T: sgemm(N, N, In, N, Out, W (ld In), dY (ld Out), dX (ld In))
// fp32: cublasSgemm (TF32 only with Options::tf32, through the handle's math mode); bf16:
// cublasGemmEx on bf16 matrices with fp32 accumulation.
template <class T>
void gemm(cublasHandle_t blas, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
          const T* A, int lda, const T* B, int ldb, const float* beta, T* C, int ldc,
          const char* what) {
  if constexpr (std::is_same_v<T, float>) {
    check(cublasSgemm(blas, ta, tb, m, n, k, &one, A, lda, B, ldb, beta, C, ldc), what);
  } else {
    check(cublasGemmEx(blas, ta, tb, m, n, k, &one, A, blas_type<T>, lda, B, blas_type<T>, ldb,
                       beta, C, blas_type<T>, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
          what);
  }
}

}  // namespace

template <class T>
void Impl::build_linear(int o) {
  const codegen::Op& op = ops[std::size_t(o)];
  const int in = op.inputs[0], out = op.output;
  const int features = int(shape(in).elements()), outs = int(shape(out).elements());
  const int rows = batch;
  T* X = value<T>(in);
  T* Y = value<T>(out);
  T* W = weights<T>(op.param_offset);
  const std::int64_t w_count = std::int64_t{outs} * features;
  T* B = op.layer.bias ? W + w_count : nullptr;
  forward_steps.push_back([this, X, Y, W, B, features, outs, rows] {
    gemm<T>(blas, CUBLAS_OP_T, CUBLAS_OP_N, outs, rows, features, W, features, X, features, &zero,
            Y, outs, "cuBLAS (linear forward)");
    if (B != nullptr) kernels::add_bias_rows(stream, Y, B, rows, outs);
  });
  T* dY = gradient<T>(out);
  if (!training() || dY == nullptr) return;
  T* dW = weight_gradients<T>(op.param_offset);
  T* dB = op.layer.bias ? dW + w_count : nullptr;
  T* dX = input_gradient_of<T>(o, 0);
  const bool acc = accumulate(o, 0);
  Step backward = [this, X, W, dW, dB, dY, dX, acc, features, outs, rows] {
    gemm<T>(blas, CUBLAS_OP_N, CUBLAS_OP_T, features, outs, rows, X, features, dY, outs, &zero, dW,
            features, "cuBLAS (linear weight gradient)");
    if (dB != nullptr) kernels::bias_gradient_rows(stream, dY, dB, rows, outs);
    if (dX != nullptr) {
      gemm<T>(blas, CUBLAS_OP_N, CUBLAS_OP_N, features, rows, outs, W, features, dY, outs,
              acc ? &one : &zero, dX, features, "cuBLAS (linear input gradient)");
    }
  };
  backward_of[std::size_t(o)] = with_gradient_cast<T>(std::move(backward), op);
}

template void Impl::build_linear<float>(int o);
template void Impl::build_linear<Bf16>(int o);

}  // namespace archetype::cudnn::detail
