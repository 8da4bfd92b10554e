#pragma once
// Internal: the small CUDA kernels of the cuDNN backend (kernels.cu), for what cuDNN and
// cuBLAS lack or do differently from PyTorch. Plain C++ interface (no device code here), so
// the executable's C++20 sources are compiled by the host compiler alone.
//
// Conventions: every tensor is plain fp32 NCHW with the batch first. A backward launcher
// writes the gradient of its input (`accumulate` false: dx = contribution, dx is not read)
// or adds to it (`accumulate` true). Every launch goes to `stream` and is capturable in a
// CUDA Graph (no allocation, no synchronisation, scalars that change per step are read
// from device memory).
#include <cuda_runtime_api.h>

#include <cstdint>

namespace archetype::cudnn::kernels {

/// Throws std::runtime_error("archetype::cudnn: <what>: <CUDA error>") after a failed launch.
void check_launch(const char* what);

enum class Activation { relu, relu6, silu, sigmoid };
/// y = f(x).
void activation_forward(cudaStream_t stream, Activation a, const float* x, float* y, std::int64_t count);
/// dx (+)= f'(.) dy, from the output `y` for ReLU, ReLU6 and Sigmoid and from the input `x`
/// for SiLU (`from` is the one that kind reads).
void activation_backward(cudaStream_t stream, Activation a, const float* from, const float* dy, float* dx,
                         std::int64_t count, bool accumulate);

/// Dropout (run = 1) and stochastic depth (run = one image's elements): the element i is
/// kept, scaled by 1 / (1 - p), when the uniform draw u(seed, *step, i / run) >= p; the
/// backward recomputes the same draws (no mask is stored).
void dropout_forward(cudaStream_t stream, const float* x, float* y, std::int64_t count, std::int64_t run, double p,
                     std::uint64_t seed, const std::uint64_t* step);
void dropout_backward(cudaStream_t stream, const float* dy, float* dx, std::int64_t count, std::int64_t run, double p,
                      std::uint64_t seed, const std::uint64_t* step, bool accumulate);
/// *step += 1 (one thread).
void advance_counter(cudaStream_t stream, std::uint64_t* step);

/// Pooling geometry over `planes` = batch x channels planes.
struct Pool {
  int planes = 0;
  int in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  /// PyTorch's adaptive bins [floor(i in / out), ceil((i + 1) in / out)) instead of windows
  /// (kernel, stride and padding ignored); GlobalAvgPool is adaptive to 1 x 1.
  bool adaptive = false;
};
/// Max pooling, windows clipped to the input (padding never wins), the first maximum in
/// row-major order taking the gradient (as PyTorch).
void max_pool_forward(cudaStream_t stream, const Pool& g, const float* x, float* y);
void max_pool_backward(cudaStream_t stream, const Pool& g, const float* x, const float* dy, float* dx,
                       bool accumulate);
/// Average pooling, PyTorch's count_include_pad: the divisor is the window clipped to the
/// input plus its padding (smaller only where a ceil-mode window runs past the padding).
void avg_pool_forward(cudaStream_t stream, const Pool& g, const float* x, float* y);
void avg_pool_backward(cudaStream_t stream, const Pool& g, const float* dy, float* dx, bool accumulate);

/// PyTorch's LocalResponseNorm: y_c = x_c / (k + alpha / size * sum_{j in window(c)} x_j^2)^beta,
/// window(c) = [c - size/2, c + (size-1)/2] clipped to the channels.
struct Lrn {
  int n = 0, c = 0;
  std::int64_t plane = 0;  ///< h x w
  int size = 0;
  float alpha = 0, beta = 0, k = 0;
};
void lrn_forward(cudaStream_t stream, const Lrn& g, const float* x, float* y);
void lrn_backward(cudaStream_t stream, const Lrn& g, const float* x, const float* dy, float* dx, bool accumulate);

/// Scale: y[n, c, :] = x[n, c, :] * gate[n, c]. Backward: dx (+)= dy gate (when dx is not
/// null), dgate[n, c] (+)= sum over the plane of dy x (when dgate is not null).
void scale_forward(cudaStream_t stream, const float* x, const float* gate, float* y, std::int64_t planes,
                   std::int64_t plane);
void scale_backward(cudaStream_t stream, const float* x, const float* gate, const float* dy, float* dx,
                    bool accumulate_x, float* dgate, bool accumulate_gate, std::int64_t planes, std::int64_t plane);

/// Option-A shortcut: y[n, c + pad, i, j] = x[n, c, i s, j s], other channels 0,
/// pad = (out_c - in_c) / 2.
struct ZeroPad {
  int n = 0, in_c = 0, in_h = 0, in_w = 0, out_c = 0, out_h = 0, out_w = 0, stride = 1;
};
void zero_pad_forward(cudaStream_t stream, const ZeroPad& g, const float* x, float* y);
void zero_pad_backward(cudaStream_t stream, const ZeroPad& g, const float* dy, float* dx, bool accumulate);

/// PadTo: each plane centred in a larger one (top = (out_h - in_h) / 2, left likewise), zeros around.
struct PadTo {
  int planes = 0, in_h = 0, in_w = 0, out_h = 0, out_w = 0;
};
void pad_to_forward(cudaStream_t stream, const PadTo& g, const float* x, float* y);
void pad_to_backward(cudaStream_t stream, const PadTo& g, const float* dy, float* dx, bool accumulate);

/// Bilinear resize, align_corners false (PyTorch's upsample_bilinear2d with an output size:
/// source = (dst + 0.5) in / out - 0.5, clamped at 0; the upper tap clamped to the edge).
/// The backward scatters with atomic additions (sums in an unspecified order).
struct Resize {
  int planes = 0, in_h = 0, in_w = 0, out_h = 0, out_w = 0;
};
void resize_forward(cudaStream_t stream, const Resize& g, const float* x, float* y);
void resize_backward(cudaStream_t stream, const Resize& g, const float* dy, float* dx, bool accumulate);

/// y = sum of up to 8 sources.
struct Sources {
  const float* data[8] = {};
  int count = 0;
};
void sum_forward(cudaStream_t stream, const Sources& sources, float* y, std::int64_t count);
/// dst = src (accumulate false) or dst += src.
void copy_or_add(cudaStream_t stream, const float* src, float* dst, std::int64_t count, bool accumulate);

/// Concat: the channels [offset, offset + part_c) of y (n x total_c x plane) are x.
struct Slice {
  int n = 0, part_c = 0, total_c = 0, offset = 0;
  std::int64_t plane = 0;
};
void concat_forward(cudaStream_t stream, const Slice& g, const float* x, float* y);
void concat_backward(cudaStream_t stream, const Slice& g, const float* dy, float* dx, bool accumulate);

/// Linear bias: y[r, :] += b (rows x cols, row-major); db[c] = sum over rows of dy[r, c].
void add_bias_rows(cudaStream_t stream, float* y, const float* b, int rows, int cols);
void bias_gradient_rows(cudaStream_t stream, const float* dy, float* db, int rows, int cols);

/// Softmax cross-entropy (double accumulation, as the oneDNN backend on the host):
/// *loss = mean over the batch of -log softmax(z)[label]; dz = (softmax(z) - onehot) / batch.
/// `per_sample`: batch doubles of scratch.
void softmax_cross_entropy(cudaStream_t stream, const float* logits, const int* labels, float* dlogits,
                           float* loss, double* per_sample, int batch, int classes);

/// One optimizer step over n parameters, exactly runtime::Optimizer's float arithmetic
/// (no fused multiply-adds). `lr`: device scalar. `steps`: device counter of steps taken
/// (SGD's first step when 0; Adam's t = steps + 1). `loss` (may be null): when it is not
/// finite the step does nothing. `state`: SGD velocity [n] (null for momentum 0), Adam m
/// then v [2n]. Increments *steps afterwards (not when skipped).
struct OptimizerStep {
  bool adam = false;
  float momentum = 0, weight_decay = 0;
  bool nesterov = false;
  double beta1 = 0.9, beta2 = 0.999;
  float epsilon = 1e-8f;
  bool decoupled = false;
};
void optimizer_step(cudaStream_t stream, const OptimizerStep& o, float* params, const float* grads, float* state,
                    std::int64_t n, const float* lr, std::int64_t* steps, const float* loss);

}  // namespace archetype::cudnn::kernels
