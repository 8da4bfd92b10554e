#pragma once
// Internal: the small CUDA kernels of the cuDNN backend (kernels_<family>.cu, one file per op
// family, beside its ops_<family>.cpp), for what cuDNN and cuBLAS lack or do differently from
// PyTorch. Plain C++ interface (no device code here), so
// the executable's C++20 sources are compiled by the host compiler alone.
//
// Conventions: every tensor is plain NCHW with the batch first, of element type T: `float`
// or `Bf16` (bfloat16, Options::precision = bf16; the kernels compute in fp32 and round once when
// they store), in NCHW or, where a struct or an argument says `nhwc`, channels-last (NHWC: the
// channels of a pixel contiguous; bf16 with Options::channels_last). Parameters, statistics,
// the loss and the optimizer are always fp32. A backward launcher
// writes the gradient of its input (`accumulate` false: dx = contribution, dx is not read)
// or adds to it (`accumulate` true). Every launch goes to `stream` and is capturable in a
// CUDA Graph (no allocation, no synchronisation, scalars that change per step are read
// from device memory).
#include <archetype/codegen/dropout.hpp>

#include <cuda_runtime_api.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace archetype::cudnn::kernels {

/// A bfloat16 value: the upper 16 bits of an fp32 (the device code reads it as
/// __nv_bfloat16, which has the same size and bits).
struct Bf16 {
  std::uint16_t bits;
};
static_assert(sizeof(Bf16) == 2);

/// fp32 to bfloat16, rounding to nearest even (NaN stays a quiet NaN), on the host.
inline Bf16 to_bf16(float f) {
  std::uint32_t u = 0;
  std::memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return Bf16{std::uint16_t((u >> 16) | 0x40u)};
  u += 0x7fffu + ((u >> 16) & 1u);
  return Bf16{std::uint16_t(u >> 16)};
}
/// bfloat16 to fp32 (exact), on the host.
inline float to_float(Bf16 b) {
  const std::uint32_t u = std::uint32_t{b.bits} << 16;
  float f = 0;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

/// Throws std::runtime_error("archetype::cudnn: <what>: <CUDA error>") after a failed launch.
inline void check_launch(const char* what) {
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) {
    throw std::runtime_error(std::string("archetype::cudnn: ") + what + ": " +
                             cudaGetErrorString(e));
  }
}

enum class Activation { relu, relu6, silu, sigmoid };
/// y = f(x).
template <class T>
void activation_forward(cudaStream_t stream, Activation a, const T* x, T* y, std::int64_t count);
/// dx (+)= f'(.) dy, from the output `y` for ReLU, ReLU6 and Sigmoid and from the input `x`
/// for SiLU (`from` is the one that kind reads).
template <class T>
void activation_backward(cudaStream_t stream, Activation a, const T* from, const T* dy, T* dx,
                         std::int64_t count, bool accumulate);

/// Dropout (run = 1) and stochastic depth (run = one image's elements): the element i is
/// kept, scaled by 1 / (1 - p), when codegen::dropout::keep(seed, *step, i / run, p), the
/// draws every backend makes; the backward recomputes them (no mask is stored).
template <class T>
void dropout_forward(cudaStream_t stream, const T* x, T* y, std::int64_t count, std::int64_t run,
                     double p, std::uint64_t seed, const std::uint64_t* step);
template <class T>
void dropout_backward(cudaStream_t stream, const T* dy, T* dx, std::int64_t count, std::int64_t run,
                      double p, std::uint64_t seed, const std::uint64_t* step, bool accumulate);
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
  int channels = 1;   ///< planes = batch x channels
  bool nhwc = false;  ///< channels-last
};
/// Max pooling, windows clipped to the input (padding never wins), the first maximum in
/// row-major order taking the gradient (as PyTorch).
template <class T>
void max_pool_forward(cudaStream_t stream, const Pool& g, const T* x, T* y);
template <class T>
void max_pool_backward(cudaStream_t stream, const Pool& g, const T* x, const T* dy, T* dx,
                       bool accumulate);
/// Average pooling, PyTorch's count_include_pad: the divisor is the window clipped to the
/// input plus its padding (smaller only where a ceil-mode window runs past the padding).
template <class T>
void avg_pool_forward(cudaStream_t stream, const Pool& g, const T* x, T* y);
template <class T>
void avg_pool_backward(cudaStream_t stream, const Pool& g, const T* dy, T* dx, bool accumulate);

/// PyTorch's LocalResponseNorm: y_c = x_c / (k + alpha / size * sum_{j in window(c)} x_j^2)^beta,
/// window(c) = [c - size/2, c + (size-1)/2] clipped to the channels.
struct Lrn {
  int n = 0, c = 0;
  std::int64_t plane = 0;  ///< h x w
  int size = 0;
  float alpha = 0, beta = 0, k = 0;
};
template <class T>
void lrn_forward(cudaStream_t stream, const Lrn& g, const T* x, T* y);
template <class T>
void lrn_backward(cudaStream_t stream, const Lrn& g, const T* x, const T* dy, T* dx,
                  bool accumulate);

/// Scale: y[n, c, :] = x[n, c, :] * gate[n, c]. Backward: dx (+)= dy gate (when dx is not
/// null), dgate[n, c] (+)= sum over the plane of dy x (when dgate is not null).
/// `channels`, `nhwc`: the layout (planes = batch x channels).
template <class T>
void scale_forward(cudaStream_t stream, const T* x, const T* gate, T* y, std::int64_t planes,
                   std::int64_t plane, int channels, bool nhwc);
template <class T>
void scale_backward(cudaStream_t stream, const T* x, const T* gate, const T* dy, T* dx,
                    bool accumulate_x, T* dgate, bool accumulate_gate, std::int64_t planes,
                    std::int64_t plane, int channels, bool nhwc);

/// Option-A shortcut: y[n, c + pad, i, j] = x[n, c, i s, j s], other channels 0,
/// pad = (out_c - in_c) / 2.
struct ZeroPad {
  int n = 0, in_c = 0, in_h = 0, in_w = 0, out_c = 0, out_h = 0, out_w = 0, stride = 1;
  bool nhwc = false;
};
template <class T>
void zero_pad_forward(cudaStream_t stream, const ZeroPad& g, const T* x, T* y);
template <class T>
void zero_pad_backward(cudaStream_t stream, const ZeroPad& g, const T* dy, T* dx, bool accumulate);

/// PadTo: each plane centred in a larger one (top = (out_h - in_h) / 2, left likewise), zeros
/// around.
struct PadTo {
  int planes = 0, in_h = 0, in_w = 0, out_h = 0, out_w = 0;
};
template <class T>
void pad_to_forward(cudaStream_t stream, const PadTo& g, const T* x, T* y);
template <class T>
void pad_to_backward(cudaStream_t stream, const PadTo& g, const T* dy, T* dx, bool accumulate);

/// Bilinear resize, align_corners false (PyTorch's upsample_bilinear2d with an output size:
/// source = (dst + 0.5) in / out - 0.5, clamped at 0; the upper tap clamped to the edge).
/// The backward scatters with atomic additions (sums in an unspecified order).
struct Resize {
  int planes = 0, in_h = 0, in_w = 0, out_h = 0, out_w = 0;
};
template <class T>
void resize_forward(cudaStream_t stream, const Resize& g, const T* x, T* y);
template <class T>
void resize_backward(cudaStream_t stream, const Resize& g, const T* dy, T* dx, bool accumulate);

/// y = sum of up to 8 sources.
template <class T>
struct Sources {
  const T* data[8] = {};
  int count = 0;
};
template <class T>
void sum_forward(cudaStream_t stream, const Sources<T>& sources, T* y, std::int64_t count);
/// dst = src (accumulate false) or dst += src.
template <class T>
void copy_or_add(cudaStream_t stream, const T* src, T* dst, std::int64_t count, bool accumulate);

/// Concat: the channels [offset, offset + part_c) of y (n x total_c x plane) are x.
struct Slice {
  int n = 0, part_c = 0, total_c = 0, offset = 0;
  std::int64_t plane = 0;
  bool nhwc = false;
};
template <class T>
void concat_forward(cudaStream_t stream, const Slice& g, const T* x, T* y);
template <class T>
void concat_backward(cudaStream_t stream, const Slice& g, const T* dy, T* dx, bool accumulate);

/// Linear bias: y[r, :] += b (rows x cols, row-major); db[c] = sum over rows of dy[r, c].
template <class T>
void add_bias_rows(cudaStream_t stream, T* y, const T* b, int rows, int cols);
template <class T>
void bias_gradient_rows(cudaStream_t stream, const T* dy, T* db, int rows, int cols);

/// Softmax cross-entropy (double accumulation, as the oneDNN backend on the host):
/// *loss = mean over the batch of -log softmax(z)[label]; dz = (softmax(z) - onehot) / batch.
/// `per_sample`: batch doubles of scratch.
template <class T>
void softmax_cross_entropy(cudaStream_t stream, const T* logits, const int* labels, T* dlogits,
                           float* loss, double* per_sample, int batch, int classes);

/// dst = src converted (float to Bf16 rounds to nearest even), n elements.
template <class From, class To>
void cast(cudaStream_t stream, const From* src, To* dst, std::int64_t n);
/// dst = src (n x c x plane) converted and moved to the other layout: to_nhwc, src is NCHW
/// and dst NHWC; else the reverse. Also filters: KCRS is NCHW with n = K, c = C / groups.
template <class From, class To>
void transpose_cast(cudaStream_t stream, const From* src, To* dst, std::int64_t n, int c,
                    std::int64_t plane, bool to_nhwc);

/// Convolution bias by channel (NCHW): y[n, c, :] += b[c]; db[c] = sum over n and the plane of
/// dy[n, c, :] (written, deterministic). The bf16 path's (cuDNN's AddTensor and BackwardBias
/// serve fp32).
template <class T>
void add_bias_channels(cudaStream_t stream, T* y, const T* b, int n, int c, std::int64_t plane,
                       bool nhwc);
template <class T>
void bias_gradient_channels(cudaStream_t stream, const T* dy, T* db, int n, int c,
                            std::int64_t plane, bool nhwc);

/// BatchNorm (spatial, NCHW) for the bf16 path, where cuDNN's legacy batch norm is not used
/// (PyTorch, too, runs its own kernels for bfloat16): statistics in double over fixed chunks
/// summed in order (deterministic), PyTorch's definitions: training normalises with the
/// biased batch variance, running = (1 - momentum) running + momentum batch with the unbiased
/// variance; `saved` [2c]: the batch mean and 1 / sqrt(var + eps), which the backward reads.
struct BatchNormShape {
  int n = 0, c = 0;
  std::int64_t plane = 0;
  int chunks = 1;  ///< blocks per channel for the sums (batch_norm_shape chooses)
  bool nhwc = false;
  bool relu = false;  ///< a ReLU absorbed: the output is max(y, 0), the backward masks dy with it
  [[nodiscard]] std::int64_t partial_doubles() const { return 2 * std::int64_t{c} * chunks; }
};
[[nodiscard]] BatchNormShape batch_norm_shape(int n, int c, std::int64_t plane, bool nhwc);
/// `partial`: partial_doubles() of scratch.
template <class T>
void batch_norm_forward_training(cudaStream_t stream, const BatchNormShape& g, const T* x, T* y,
                                 const float* gamma, const float* beta, float* running_mean,
                                 float* running_var, float* saved, double* partial, double momentum,
                                 double epsilon);
template <class T>
void batch_norm_forward_inference(cudaStream_t stream, const BatchNormShape& g, const T* x, T* y,
                                  const float* gamma, const float* beta, const float* running_mean,
                                  const float* running_var, double epsilon);
/// dgamma, dbeta written; dx (when not null) written or added to. `partial`:
/// partial_doubles() of scratch; `coefficients`: 2c floats of scratch. `y`: the forward's
/// output, read only with g.relu (dy is then the ReLU's output gradient).
template <class T>
void batch_norm_backward(cudaStream_t stream, const BatchNormShape& g, const T* x, const T* y,
                         const T* dy, T* dx, bool accumulate, const float* gamma,
                         const float* saved, float* dgamma, float* dbeta, double* partial,
                         float* coefficients);

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
void optimizer_step(cudaStream_t stream, const OptimizerStep& o, float* params, const float* grads,
                    float* state, std::int64_t n, const float* lr, std::int64_t* steps,
                    const float* loss);

}  // namespace archetype::cudnn::kernels
