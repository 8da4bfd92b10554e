// Normalisation kernels (kernels.hpp; ops_norm.cpp): LocalResponseNorm (NCHW), and the bf16
// path's BatchNorm (statistics in double over fixed chunks, the arithmetic of batch_norm.hpp),
// forward and backward.
#include "batch_norm.hpp"
#include "kernels_launch.cuh"

#include <algorithm>

namespace archetype::cudnn::kernels {

namespace {

/// k + alpha / size * sum of x^2 over channel c's window, at (n, p).
template <class T>
__device__ inline float lrn_scale(const Lrn& g, const T* x, int n, int c, std::int64_t p) {
  const int lo = max(0, c - g.size / 2), hi = min(g.c - 1, c + (g.size - 1) / 2);
  float sum = 0.f;
  for (int j = lo; j <= hi; ++j) {
    const float v = ld(x, (std::int64_t{n} * g.c + j) * g.plane + p);
    sum += v * v;
  }
  return g.k + g.alpha / float(g.size) * sum;
}

template <class T>
__global__ void lrn_forward_kernel(Lrn g, const T* x, T* y) {
  const std::int64_t count = std::int64_t{g.n} * g.c * g.plane;
  ARCHETYPE_GRID_STRIDE(i, count) {
    const std::int64_t p = i % g.plane;
    const int c = int((i / g.plane) % g.c), n = int(i / (g.plane * g.c));
    put(y, i, ld(x, i) * powf(lrn_scale(g, x, n, c, p), -g.beta));
  }
}

/// dx_j = dy_j s_j^-beta - 2 alpha beta / size x_j sum_{c: j in window(c)} dy_c x_c s_c^(-beta-1).
template <class T>
__global__ void lrn_backward_kernel(Lrn g, const T* x, const T* dy, T* dx, bool accumulate) {
  const std::int64_t count = std::int64_t{g.n} * g.c * g.plane;
  const float f = 2.f * g.alpha * g.beta / float(g.size);
  ARCHETYPE_GRID_STRIDE(i, count) {
    const std::int64_t p = i % g.plane;
    const int j = int((i / g.plane) % g.c), n = int(i / (g.plane * g.c));
    float d = ld(dy, i) * powf(lrn_scale(g, x, n, j, p), -g.beta);
    const int lo = max(0, j - (g.size - 1) / 2), hi = min(g.c - 1, j + g.size / 2);
    float sum = 0.f;
    for (int c = lo; c <= hi; ++c) {
      const std::int64_t k = (std::int64_t{n} * g.c + c) * g.plane + p;
      sum += ld(dy, k) * ld(x, k) * powf(lrn_scale(g, x, n, c, p), -g.beta - 1.f);
    }
    d -= f * ld(x, i) * sum;
    store(dx, i, d, accumulate);
  }
}

/// Element k's share of its channel's two sums: x and x^2 (dy null), or dy and dy (x - mean),
/// dy masked by the absorbed ReLU's output with g.relu.
template <class T>
__device__ inline void add_element(const BatchNormShape& g, const T* x, const T* y, const T* dy,
                                   float mu, std::int64_t k, double& s1, double& s2) {
  const double v = ld(x, k);
  if (dy == nullptr) {
    s1 += v;
    s2 += v * v;
  } else {
    const double d = g.relu ? batch_norm::through_relu(ld(dy, k), ld(y, k)) : ld(dy, k);
    s1 += d;
    s2 += d * (v - mu);
  }
}

/// Block (chunk, channel): over the chunk's share of the channel's n x plane elements, the sums
/// of x and x^2 (dy null) or of dy and dy (x - mean) (dy given), in double, into
/// partial[2 (channel chunks + chunk) + {0, 1}].
template <class T>
__global__ void batch_norm_sums_kernel(BatchNormShape g, const T* x, const T* y, const T* dy,
                                       const float* mean, double* partial) {
  const int ch = int(blockIdx.y), chunk = int(blockIdx.x);
  const std::int64_t m = std::int64_t{g.n} * g.plane;
  const std::int64_t begin = m * chunk / g.chunks, end = m * (chunk + 1) / g.chunks;
  const float mu = dy == nullptr ? 0.f : mean[ch];
  double s1 = 0, s2 = 0;
  for (std::int64_t j = begin + threadIdx.x; j < end; j += blockDim.x) {
    add_element(g, x, y, dy, mu, channel_element(g.nhwc, g.c, g.plane, ch, j), s1, s2);
  }
  block_sum2(s1, s2);
  if (threadIdx.x == 0) {
    partial[2 * (std::int64_t{ch} * g.chunks + chunk)] = s1;
    partial[2 * (std::int64_t{ch} * g.chunks + chunk) + 1] = s2;
  }
}

/// The same sums for channels-last data, read coalesced: block (chunk, group of 32 channels),
/// 8 rows of 32 lanes; lane l takes channel 32 group + l of every 8th pixel of the chunk, and
/// the 8 rows are added in order. (One block per channel would read with a stride of C.)
constexpr int nhwc_lanes = 32, nhwc_rows = threads / nhwc_lanes;

template <class T>
__global__ void batch_norm_sums_nhwc_kernel(BatchNormShape g, const T* x, const T* y, const T* dy,
                                            const float* mean, double* partial) {
  __shared__ double sa[nhwc_rows][nhwc_lanes], sb[nhwc_rows][nhwc_lanes];
  const int lane = int(threadIdx.x) % nhwc_lanes, row = int(threadIdx.x) / nhwc_lanes;
  const int ch = int(blockIdx.y) * nhwc_lanes + lane, chunk = int(blockIdx.x);
  const std::int64_t m = std::int64_t{g.n} * g.plane;
  const std::int64_t begin = m * chunk / g.chunks, end = m * (chunk + 1) / g.chunks;
  double s1 = 0, s2 = 0;
  if (ch < g.c) {
    const float mu = dy == nullptr ? 0.f : mean[ch];
    for (std::int64_t j = begin + row; j < end; j += nhwc_rows) {
      add_element(g, x, y, dy, mu, j * g.c + ch, s1, s2);
    }
  }
  sa[row][lane] = s1;
  sb[row][lane] = s2;
  __syncthreads();
  if (row == 0 && ch < g.c) {
    for (int r = 1; r < nhwc_rows; ++r) {
      s1 += sa[r][lane];
      s2 += sb[r][lane];
    }
    partial[2 * (std::int64_t{ch} * g.chunks + chunk)] = s1;
    partial[2 * (std::int64_t{ch} * g.chunks + chunk) + 1] = s2;
  }
}

/// Either sums kernel, as the layout asks.
template <class T>
void batch_norm_sums(cudaStream_t stream, const BatchNormShape& g, const T* x, const T* y,
                     const T* dy, const float* mean, double* partial) {
  if (g.nhwc) {
    const unsigned groups = unsigned((g.c + nhwc_lanes - 1) / nhwc_lanes);
    batch_norm_sums_nhwc_kernel<<<dim3(unsigned(g.chunks), groups), threads, 0, stream>>>(
        g, x, y, dy, mean, partial);
  } else {
    batch_norm_sums_kernel<<<dim3(unsigned(g.chunks), unsigned(g.c)), threads, 0, stream>>>(
        g, x, y, dy, mean, partial);
  }
}

/// Channel ch's two sums: its chunks' partial sums added in order.
__device__ inline void channel_sums(const BatchNormShape& g, const double* partial, std::int64_t ch,
                                    double& s1, double& s2) {
  for (int k = 0; k < g.chunks; ++k) {
    s1 += partial[2 * (ch * g.chunks + k)];
    s2 += partial[2 * (ch * g.chunks + k) + 1];
  }
}

/// One thread per channel: the chunks' sums in order, then the batch statistics, the saved
/// mean and inverse standard deviation, and the running statistics (PyTorch's update).
__global__ void batch_norm_statistics_kernel(BatchNormShape g, const double* partial, float* saved,
                                             float* running_mean, float* running_var,
                                             double momentum, double epsilon) {
  ARCHETYPE_GRID_STRIDE(ch, g.c) {
    double s1 = 0, s2 = 0;
    channel_sums(g, partial, ch, s1, s2);
    const batch_norm::Statistics st =
        batch_norm::statistics(s1, s2, double(g.n) * double(g.plane), epsilon, momentum,
                               running_mean[ch], running_var[ch]);
    saved[ch] = float(st.mean);
    saved[g.c + ch] = float(st.inverse_std);
    running_mean[ch] = float(st.running_mean);
    running_var[ch] = float(st.running_var);
  }
}

/// y = (x - mean) a + beta with a = gamma / sqrt(var + eps): `inverse_std` holds
/// 1 / sqrt(var + eps) already (training's saved values) or, when null, `var` is read.
template <class T>
__global__ void batch_norm_apply_kernel(BatchNormShape g, const T* x, T* y, const float* gamma,
                                        const float* beta, const float* mean,
                                        const float* inverse_std, const float* var,
                                        double epsilon) {
  const std::int64_t count = std::int64_t{g.n} * g.c * g.plane;
  ARCHETYPE_GRID_STRIDE(i, count) {
    const int ch = channel_of(g.nhwc, g.c, g.plane, i);
    const float inv =
        inverse_std != nullptr ? inverse_std[ch] : 1.f / sqrtf(var[ch] + float(epsilon));
    const float v = batch_norm::normalize(ld(x, i), mean[ch], inv, gamma[ch], beta[ch]);
    put(y, i, g.relu ? batch_norm::relu(v) : v);
  }
}

/// One thread per channel: dgamma = sum dy (x - mean) / std, dbeta = sum dy, and the two
/// coefficients of dx: sum dy / m and sum dy (x - mean) / (m var).
__global__ void batch_norm_backward_statistics_kernel(BatchNormShape g, const double* partial,
                                                      const float* saved, float* dgamma,
                                                      float* dbeta, float* coefficients) {
  ARCHETYPE_GRID_STRIDE(ch, g.c) {
    double s1 = 0, s2 = 0;
    channel_sums(g, partial, ch, s1, s2);
    const batch_norm::Gradients d =
        batch_norm::gradients(s1, s2, double(g.n) * double(g.plane), saved[g.c + ch]);
    dgamma[ch] = float(d.dgamma);
    dbeta[ch] = float(d.dbeta);
    coefficients[ch] = float(d.mean_dy);
    coefficients[g.c + ch] = float(d.slope);
  }
}

/// dx = gamma / std (dy - sum dy / m - (x - mean) sum dy (x - mean) / (m var)).
template <class T>
__global__ void batch_norm_dx_kernel(BatchNormShape g, const T* x, const T* y, const T* dy, T* dx,
                                     bool accumulate, const float* gamma, const float* saved,
                                     const float* coefficients) {
  const std::int64_t count = std::int64_t{g.n} * g.c * g.plane;
  ARCHETYPE_GRID_STRIDE(i, count) {
    const int ch = channel_of(g.nhwc, g.c, g.plane, i);
    const float gy = g.relu ? batch_norm::through_relu(ld(dy, i), ld(y, i)) : ld(dy, i);
    const float d = batch_norm::input_gradient(gy, ld(x, i), saved[ch], saved[g.c + ch], gamma[ch],
                                               coefficients[ch], coefficients[g.c + ch]);
    store(dx, i, d, accumulate);
  }
}

}  // namespace

template <class T>
void lrn_forward(cudaStream_t stream, const Lrn& g, const T* x, T* y) {
  lrn_forward_kernel<<<blocks_for(std::int64_t{g.n} * g.c * g.plane), threads, 0, stream>>>(g, x,
                                                                                            y);
  check_launch("local response norm forward");
}

template <class T>
void lrn_backward(cudaStream_t stream, const Lrn& g, const T* x, const T* dy, T* dx,
                  bool accumulate) {
  lrn_backward_kernel<<<blocks_for(std::int64_t{g.n} * g.c * g.plane), threads, 0, stream>>>(
      g, x, dy, dx, accumulate);
  check_launch("local response norm backward");
}

BatchNormShape batch_norm_shape(int n, int c, std::int64_t plane, bool nhwc) {
  // NCHW: a block per chunk of about 8192 elements of one channel; NHWC: a block per chunk of
  // about 1024 pixels of 32 channels. At most 1024 chunks.
  const std::int64_t m = std::int64_t{n} * plane, per_chunk = nhwc ? 1024 : 8192;
  const std::int64_t chunks =
      std::min<std::int64_t>(1024, std::max<std::int64_t>(1, (m + per_chunk - 1) / per_chunk));
  return BatchNormShape{n, c, plane, int(chunks), nhwc};
}

template <class T>
void batch_norm_forward_training(cudaStream_t stream, const BatchNormShape& g, const T* x, T* y,
                                 const float* gamma, const float* beta, float* running_mean,
                                 float* running_var, float* saved, double* partial, double momentum,
                                 double epsilon) {
  batch_norm_sums(stream, g, x, static_cast<const T*>(nullptr), static_cast<const T*>(nullptr),
                  nullptr, partial);
  check_launch("batch norm statistics");
  batch_norm_statistics_kernel<<<blocks_for(g.c), threads, 0, stream>>>(
      g, partial, saved, running_mean, running_var, momentum, epsilon);
  check_launch("batch norm statistics");
  batch_norm_apply_kernel<<<blocks_for(std::int64_t{g.n} * g.c * g.plane), threads, 0, stream>>>(
      g, x, y, gamma, beta, saved, saved + g.c, nullptr, epsilon);
  check_launch("batch norm forward");
}

template <class T>
void batch_norm_forward_inference(cudaStream_t stream, const BatchNormShape& g, const T* x, T* y,
                                  const float* gamma, const float* beta, const float* running_mean,
                                  const float* running_var, double epsilon) {
  batch_norm_apply_kernel<<<blocks_for(std::int64_t{g.n} * g.c * g.plane), threads, 0, stream>>>(
      g, x, y, gamma, beta, running_mean, nullptr, running_var, epsilon);
  check_launch("batch norm inference");
}

template <class T>
void batch_norm_backward(cudaStream_t stream, const BatchNormShape& g, const T* x, const T* y,
                         const T* dy, T* dx, bool accumulate, const float* gamma,
                         const float* saved, float* dgamma, float* dbeta, double* partial,
                         float* coefficients) {
  batch_norm_sums(stream, g, x, y, dy, saved, partial);
  check_launch("batch norm backward sums");
  batch_norm_backward_statistics_kernel<<<blocks_for(g.c), threads, 0, stream>>>(
      g, partial, saved, dgamma, dbeta, coefficients);
  check_launch("batch norm parameter gradients");
  if (dx != nullptr) {
    batch_norm_dx_kernel<<<blocks_for(std::int64_t{g.n} * g.c * g.plane), threads, 0, stream>>>(
        g, x, y, dy, dx, accumulate, gamma, saved, coefficients);
    check_launch("batch norm input gradient");
  }
}

// Both element types.
#define ARCHETYPE_NORM_KERNELS(T)                                                                  \
  template void lrn_forward<T>(cudaStream_t, const Lrn&, const T*, T*);                            \
  template void lrn_backward<T>(cudaStream_t, const Lrn&, const T*, const T*, T*, bool);           \
  template void batch_norm_forward_training<T>(cudaStream_t, const BatchNormShape&, const T*, T*,  \
                                               const float*, const float*, float*, float*, float*, \
                                               double*, double, double);                           \
  template void batch_norm_forward_inference<T>(cudaStream_t, const BatchNormShape&, const T*, T*, \
                                                const float*, const float*, const float*,          \
                                                const float*, double);                             \
  template void batch_norm_backward<T>(cudaStream_t, const BatchNormShape&, const T*, const T*,    \
                                       const T*, T*, bool, const float*, const float*, float*,     \
                                       float*, double*, float*);

ARCHETYPE_NORM_KERNELS(float)
ARCHETYPE_NORM_KERNELS(Bf16)
#undef ARCHETYPE_NORM_KERNELS

}  // namespace archetype::cudnn::kernels
