// The small CUDA kernels of the cuDNN backend (kernels.hpp): one grid-stride kernel per
// op direction, plain fp32 NCHW. Written for clarity first: they carry the ops cuDNN lacks,
// a small share of a step's time.
#include "kernels.hpp"

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace archetype::cudnn::kernels {

namespace {

constexpr int threads = 256;

/// Blocks for `count` elements, grid-stride beyond 65535 * 8 blocks.
unsigned blocks_for(std::int64_t count) {
  const std::int64_t b = (count + threads - 1) / threads;
  return unsigned(b < 1 ? 1 : (b > 65535 * 8 ? 65535 * 8 : b));
}

#define ARCHETYPE_GRID_STRIDE(i, count)                                                             \
  for (std::int64_t i = std::int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < (count);           \
       i += std::int64_t{blockDim.x} * gridDim.x)

__device__ inline void store(float* dst, std::int64_t i, float v, bool accumulate) {
  dst[i] = accumulate ? dst[i] + v : v;
}

// --- activations ---------------------------------------------------------------------------

__global__ void activation_forward_kernel(Activation a, const float* x, float* y, std::int64_t count) {
  ARCHETYPE_GRID_STRIDE(i, count) {
    const float v = x[i];
    switch (a) {
      case Activation::relu: y[i] = v > 0.f ? v : 0.f; break;
      case Activation::relu6: y[i] = fminf(fmaxf(v, 0.f), 6.f); break;
      case Activation::silu: y[i] = v / (1.f + expf(-v)); break;
      case Activation::sigmoid: y[i] = 1.f / (1.f + expf(-v)); break;
    }
  }
}

__global__ void activation_backward_kernel(Activation a, const float* from, const float* dy, float* dx,
                                           std::int64_t count, bool accumulate) {
  ARCHETYPE_GRID_STRIDE(i, count) {
    const float v = from[i];
    float d = 0.f;
    switch (a) {
      case Activation::relu: d = v > 0.f ? dy[i] : 0.f; break;               // y > 0 exactly where x > 0
      case Activation::relu6: d = v > 0.f && v < 6.f ? dy[i] : 0.f; break;  // 0 < y < 6
      case Activation::sigmoid: d = dy[i] * v * (1.f - v); break;            // y (1 - y)
      case Activation::silu: {                                               // s (1 + x (1 - s))
        const float s = 1.f / (1.f + expf(-v));
        d = dy[i] * s * (1.f + v * (1.f - s));
        break;
      }
    }
    store(dx, i, d, accumulate);
  }
}

// --- dropout -------------------------------------------------------------------------------

/// splitmix64's finaliser over (seed, step, index): a counter-based generator, so the
/// backward recomputes the forward's draws and a graph replay draws new ones (step).
__device__ inline double uniform(std::uint64_t seed, std::uint64_t step, std::uint64_t index) {
  std::uint64_t z = seed ^ (step * 0x9e3779b97f4a7c15ULL) ^ (index * 0xbf58476d1ce4e5b9ULL);
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return double(z >> 11) * (1.0 / 9007199254740992.0);  // 53 bits in [0, 1)
}

__global__ void dropout_kernel(const float* x, float* y, std::int64_t count, std::int64_t run, double p,
                               std::uint64_t seed, const std::uint64_t* step, bool accumulate) {
  const std::uint64_t s = *step;
  const float scale = float(1.0 / (1.0 - p));
  ARCHETYPE_GRID_STRIDE(i, count) {
    const bool keep = uniform(seed, s, std::uint64_t(i / run)) >= p;
    store(y, i, keep ? x[i] * scale : 0.f, accumulate);
  }
}

__global__ void advance_kernel(std::uint64_t* step) { *step += 1; }

// --- pooling -------------------------------------------------------------------------------

struct Window {
  int start, end, extent;  // clipped to the input; extent: the divisor's (input + padding)
};

__device__ inline Window window(int o, int k, int s, int p, int in, int out, bool adaptive) {
  if (adaptive) {
    const int lo = (o * in) / out, hi = ((o + 1) * in + out - 1) / out;
    return Window{lo, hi, hi - lo};
  }
  const int start = o * s - p;
  const int end = min(start + k, in + p);
  return Window{max(start, 0), min(end, in), end - start};
}

__global__ void max_pool_forward_kernel(Pool g, const float* x, float* y) {
  const std::int64_t count = std::int64_t{g.planes} * g.out_h * g.out_w;
  ARCHETYPE_GRID_STRIDE(i, count) {
    const int ow = int(i % g.out_w), oh = int((i / g.out_w) % g.out_h);
    const std::int64_t plane = i / (std::int64_t{g.out_w} * g.out_h);
    const float* xp = x + plane * g.in_h * g.in_w;
    const Window wh = window(oh, g.kernel_h, g.stride_h, g.pad_h, g.in_h, g.out_h, g.adaptive);
    const Window ww = window(ow, g.kernel_w, g.stride_w, g.pad_w, g.in_w, g.out_w, g.adaptive);
    float best = -INFINITY;
    for (int r = wh.start; r < wh.end; ++r) {
      for (int c = ww.start; c < ww.end; ++c) best = fmaxf(best, xp[r * g.in_w + c]);
    }
    y[i] = best;
  }
}

/// Gathers, per input element, the gradients of the windows whose first maximum it is
/// (deterministic: no atomics).
__global__ void max_pool_backward_kernel(Pool g, const float* x, const float* dy, float* dx, bool accumulate) {
  const std::int64_t count = std::int64_t{g.planes} * g.in_h * g.in_w;
  ARCHETYPE_GRID_STRIDE(i, count) {
    const int iw = int(i % g.in_w), ih = int((i / g.in_w) % g.in_h);
    const std::int64_t plane = i / (std::int64_t{g.in_w} * g.in_h);
    const float* xp = x + plane * g.in_h * g.in_w;
    const float* dyp = dy + plane * g.out_h * g.out_w;
    // Outputs whose window may hold (ih, iw): o s - p <= ih < o s - p + k.
    const int oh0 = max(0, (ih + g.pad_h - g.kernel_h + g.stride_h) / g.stride_h);
    const int oh1 = min(g.out_h - 1, (ih + g.pad_h) / g.stride_h);
    const int ow0 = max(0, (iw + g.pad_w - g.kernel_w + g.stride_w) / g.stride_w);
    const int ow1 = min(g.out_w - 1, (iw + g.pad_w) / g.stride_w);
    float sum = 0.f;
    for (int oh = oh0; oh <= oh1; ++oh) {
      const Window wh = window(oh, g.kernel_h, g.stride_h, g.pad_h, g.in_h, g.out_h, false);
      if (ih < wh.start || ih >= wh.end) continue;
      for (int ow = ow0; ow <= ow1; ++ow) {
        const Window ww = window(ow, g.kernel_w, g.stride_w, g.pad_w, g.in_w, g.out_w, false);
        if (iw < ww.start || iw >= ww.end) continue;
        int arg = -1;
        float best = -INFINITY;
        for (int r = wh.start; r < wh.end; ++r) {
          for (int c = ww.start; c < ww.end; ++c) {
            const float v = xp[r * g.in_w + c];
            if (arg < 0 || v > best) {
              best = v;
              arg = r * g.in_w + c;
            }
          }
        }
        if (arg == ih * g.in_w + iw) sum += dyp[oh * g.out_w + ow];
      }
    }
    store(dx, i, sum, accumulate);
  }
}

__global__ void avg_pool_forward_kernel(Pool g, const float* x, float* y) {
  const std::int64_t count = std::int64_t{g.planes} * g.out_h * g.out_w;
  ARCHETYPE_GRID_STRIDE(i, count) {
    const int ow = int(i % g.out_w), oh = int((i / g.out_w) % g.out_h);
    const std::int64_t plane = i / (std::int64_t{g.out_w} * g.out_h);
    const float* xp = x + plane * g.in_h * g.in_w;
    const Window wh = window(oh, g.kernel_h, g.stride_h, g.pad_h, g.in_h, g.out_h, g.adaptive);
    const Window ww = window(ow, g.kernel_w, g.stride_w, g.pad_w, g.in_w, g.out_w, g.adaptive);
    float sum = 0.f;
    for (int r = wh.start; r < wh.end; ++r) {
      for (int c = ww.start; c < ww.end; ++c) sum += xp[r * g.in_w + c];
    }
    y[i] = sum / float(wh.extent * ww.extent);
  }
}

/// Per input element, the sum over the windows holding it of dy / divisor.
__global__ void avg_pool_backward_kernel(Pool g, const float* dy, float* dx, bool accumulate) {
  const std::int64_t count = std::int64_t{g.planes} * g.in_h * g.in_w;
  ARCHETYPE_GRID_STRIDE(i, count) {
    const int iw = int(i % g.in_w), ih = int((i / g.in_w) % g.in_h);
    const std::int64_t plane = i / (std::int64_t{g.in_w} * g.in_h);
    const float* dyp = dy + plane * g.out_h * g.out_w;
    int oh0 = 0, oh1 = g.out_h - 1, ow0 = 0, ow1 = g.out_w - 1;
    if (!g.adaptive) {
      oh0 = max(0, (ih + g.pad_h - g.kernel_h + g.stride_h) / g.stride_h);
      oh1 = min(g.out_h - 1, (ih + g.pad_h) / g.stride_h);
      ow0 = max(0, (iw + g.pad_w - g.kernel_w + g.stride_w) / g.stride_w);
      ow1 = min(g.out_w - 1, (iw + g.pad_w) / g.stride_w);
    }
    float sum = 0.f;
    for (int oh = oh0; oh <= oh1; ++oh) {
      const Window wh = window(oh, g.kernel_h, g.stride_h, g.pad_h, g.in_h, g.out_h, g.adaptive);
      if (ih < wh.start || ih >= wh.end) continue;
      for (int ow = ow0; ow <= ow1; ++ow) {
        const Window ww = window(ow, g.kernel_w, g.stride_w, g.pad_w, g.in_w, g.out_w, g.adaptive);
        if (iw < ww.start || iw >= ww.end) continue;
        sum += dyp[oh * g.out_w + ow] / float(wh.extent * ww.extent);
      }
    }
    store(dx, i, sum, accumulate);
  }
}

// --- local response norm ---------------------------------------------------------------------

/// k + alpha / size * sum of x^2 over channel c's window, at (n, p).
__device__ inline float lrn_scale(const Lrn& g, const float* x, int n, int c, std::int64_t p) {
  const int lo = max(0, c - g.size / 2), hi = min(g.c - 1, c + (g.size - 1) / 2);
  float sum = 0.f;
  for (int j = lo; j <= hi; ++j) {
    const float v = x[(std::int64_t{n} * g.c + j) * g.plane + p];
    sum += v * v;
  }
  return g.k + g.alpha / float(g.size) * sum;
}

__global__ void lrn_forward_kernel(Lrn g, const float* x, float* y) {
  const std::int64_t count = std::int64_t{g.n} * g.c * g.plane;
  ARCHETYPE_GRID_STRIDE(i, count) {
    const std::int64_t p = i % g.plane;
    const int c = int((i / g.plane) % g.c), n = int(i / (g.plane * g.c));
    y[i] = x[i] * powf(lrn_scale(g, x, n, c, p), -g.beta);
  }
}

/// dx_j = dy_j s_j^-beta - 2 alpha beta / size x_j sum_{c: j in window(c)} dy_c x_c s_c^(-beta-1).
__global__ void lrn_backward_kernel(Lrn g, const float* x, const float* dy, float* dx, bool accumulate) {
  const std::int64_t count = std::int64_t{g.n} * g.c * g.plane;
  const float f = 2.f * g.alpha * g.beta / float(g.size);
  ARCHETYPE_GRID_STRIDE(i, count) {
    const std::int64_t p = i % g.plane;
    const int j = int((i / g.plane) % g.c), n = int(i / (g.plane * g.c));
    float d = dy[i] * powf(lrn_scale(g, x, n, j, p), -g.beta);
    const int lo = max(0, j - (g.size - 1) / 2), hi = min(g.c - 1, j + g.size / 2);
    float sum = 0.f;
    for (int c = lo; c <= hi; ++c) {
      const std::int64_t k = (std::int64_t{n} * g.c + c) * g.plane + p;
      sum += dy[k] * x[k] * powf(lrn_scale(g, x, n, c, p), -g.beta - 1.f);
    }
    d -= f * x[i] * sum;
    store(dx, i, d, accumulate);
  }
}

// --- scale, pads, resize, sums, concat ----------------------------------------------------------

__global__ void scale_forward_kernel(const float* x, const float* gate, float* y, std::int64_t planes,
                                     std::int64_t plane) {
  ARCHETYPE_GRID_STRIDE(i, planes * plane) { y[i] = x[i] * gate[i / plane]; }
}

__global__ void scale_dx_kernel(const float* gate, const float* dy, float* dx, bool accumulate, std::int64_t planes,
                                std::int64_t plane) {
  ARCHETYPE_GRID_STRIDE(i, planes * plane) { store(dx, i, dy[i] * gate[i / plane], accumulate); }
}

/// One block per plane: dgate = sum of dy x over the plane (a fixed-order tree: deterministic).
__global__ void scale_dgate_kernel(const float* x, const float* dy, float* dgate, bool accumulate,
                                   std::int64_t plane) {
  __shared__ float partial[threads];
  const std::int64_t base = std::int64_t{blockIdx.x} * plane;
  float sum = 0.f;
  for (std::int64_t k = threadIdx.x; k < plane; k += blockDim.x) sum += dy[base + k] * x[base + k];
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int half = threads / 2; half > 0; half /= 2) {
    if (int(threadIdx.x) < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) store(dgate, blockIdx.x, partial[0], accumulate);
}

__global__ void zero_pad_forward_kernel(ZeroPad g, const float* x, float* y) {
  const std::int64_t count = std::int64_t{g.n} * g.out_c * g.out_h * g.out_w;
  const int pad = (g.out_c - g.in_c) / 2;
  ARCHETYPE_GRID_STRIDE(i, count) {
    const int j = int(i % g.out_w), r = int((i / g.out_w) % g.out_h);
    const int c = int((i / (std::int64_t{g.out_w} * g.out_h)) % g.out_c);
    const int n = int(i / (std::int64_t{g.out_w} * g.out_h * g.out_c));
    const int ci = c - pad;
    y[i] = ci < 0 || ci >= g.in_c
               ? 0.f
               : x[((std::int64_t{n} * g.in_c + ci) * g.in_h + std::int64_t{r} * g.stride) * g.in_w + j * g.stride];
  }
}

__global__ void zero_pad_backward_kernel(ZeroPad g, const float* dy, float* dx, bool accumulate) {
  const std::int64_t count = std::int64_t{g.n} * g.in_c * g.in_h * g.in_w;
  const int pad = (g.out_c - g.in_c) / 2;
  ARCHETYPE_GRID_STRIDE(i, count) {
    const int j = int(i % g.in_w), r = int((i / g.in_w) % g.in_h);
    const int c = int((i / (std::int64_t{g.in_w} * g.in_h)) % g.in_c);
    const int n = int(i / (std::int64_t{g.in_w} * g.in_h * g.in_c));
    float v = 0.f;
    if (r % g.stride == 0 && j % g.stride == 0 && r / g.stride < g.out_h && j / g.stride < g.out_w) {
      v = dy[((std::int64_t{n} * g.out_c + c + pad) * g.out_h + r / g.stride) * g.out_w + j / g.stride];
    }
    store(dx, i, v, accumulate);
  }
}

__global__ void pad_to_forward_kernel(PadTo g, const float* x, float* y) {
  const std::int64_t count = std::int64_t{g.planes} * g.out_h * g.out_w;
  const int top = (g.out_h - g.in_h) / 2, left = (g.out_w - g.in_w) / 2;
  ARCHETYPE_GRID_STRIDE(i, count) {
    const int j = int(i % g.out_w) - left, r = int((i / g.out_w) % g.out_h) - top;
    const std::int64_t plane = i / (std::int64_t{g.out_w} * g.out_h);
    y[i] = r < 0 || r >= g.in_h || j < 0 || j >= g.in_w ? 0.f : x[(plane * g.in_h + r) * g.in_w + j];
  }
}

__global__ void pad_to_backward_kernel(PadTo g, const float* dy, float* dx, bool accumulate) {
  const std::int64_t count = std::int64_t{g.planes} * g.in_h * g.in_w;
  const int top = (g.out_h - g.in_h) / 2, left = (g.out_w - g.in_w) / 2;
  ARCHETYPE_GRID_STRIDE(i, count) {
    const int j = int(i % g.in_w), r = int((i / g.in_w) % g.in_h);
    const std::int64_t plane = i / (std::int64_t{g.in_w} * g.in_h);
    store(dx, i, dy[(plane * g.out_h + r + top) * g.out_w + j + left], accumulate);
  }
}

struct Tap {
  int i0, i1;
  float l0, l1;
};
__device__ inline Tap tap(int d, int in, int out) {
  const float scale = float(in) / float(out);
  float src = (float(d) + 0.5f) * scale - 0.5f;
  if (src < 0.f) src = 0.f;
  const int i0 = int(src);
  const int i1 = i0 < in - 1 ? i0 + 1 : i0;
  const float l1 = src - float(i0);
  return Tap{i0, i1, 1.f - l1, l1};
}

__global__ void resize_forward_kernel(Resize g, const float* x, float* y) {
  const std::int64_t count = std::int64_t{g.planes} * g.out_h * g.out_w;
  ARCHETYPE_GRID_STRIDE(i, count) {
    const int j = int(i % g.out_w), r = int((i / g.out_w) % g.out_h);
    const std::int64_t plane = i / (std::int64_t{g.out_w} * g.out_h);
    const float* xp = x + plane * g.in_h * g.in_w;
    const Tap a = tap(r, g.in_h, g.out_h), b = tap(j, g.in_w, g.out_w);
    y[i] = a.l0 * (b.l0 * xp[a.i0 * g.in_w + b.i0] + b.l1 * xp[a.i0 * g.in_w + b.i1]) +
           a.l1 * (b.l0 * xp[a.i1 * g.in_w + b.i0] + b.l1 * xp[a.i1 * g.in_w + b.i1]);
  }
}

__global__ void resize_backward_kernel(Resize g, const float* dy, float* dx) {
  const std::int64_t count = std::int64_t{g.planes} * g.out_h * g.out_w;
  ARCHETYPE_GRID_STRIDE(i, count) {
    const int j = int(i % g.out_w), r = int((i / g.out_w) % g.out_h);
    const std::int64_t plane = i / (std::int64_t{g.out_w} * g.out_h);
    float* xp = dx + plane * g.in_h * g.in_w;
    const Tap a = tap(r, g.in_h, g.out_h), b = tap(j, g.in_w, g.out_w);
    const float d = dy[i];
    atomicAdd(xp + a.i0 * g.in_w + b.i0, a.l0 * b.l0 * d);
    atomicAdd(xp + a.i0 * g.in_w + b.i1, a.l0 * b.l1 * d);
    atomicAdd(xp + a.i1 * g.in_w + b.i0, a.l1 * b.l0 * d);
    atomicAdd(xp + a.i1 * g.in_w + b.i1, a.l1 * b.l1 * d);
  }
}

__global__ void sum_kernel(Sources s, float* y, std::int64_t count) {
  ARCHETYPE_GRID_STRIDE(i, count) {
    float v = s.data[0][i];
    for (int k = 1; k < s.count; ++k) v += s.data[k][i];
    y[i] = v;
  }
}

__global__ void copy_or_add_kernel(const float* src, float* dst, std::int64_t count, bool accumulate) {
  ARCHETYPE_GRID_STRIDE(i, count) { store(dst, i, src[i], accumulate); }
}

__global__ void concat_forward_kernel(Slice g, const float* x, float* y) {
  const std::int64_t count = std::int64_t{g.n} * g.part_c * g.plane;
  ARCHETYPE_GRID_STRIDE(i, count) {
    const std::int64_t p = i % g.plane;
    const int c = int((i / g.plane) % g.part_c), n = int(i / (g.plane * g.part_c));
    y[(std::int64_t{n} * g.total_c + g.offset + c) * g.plane + p] = x[i];
  }
}

__global__ void concat_backward_kernel(Slice g, const float* dy, float* dx, bool accumulate) {
  const std::int64_t count = std::int64_t{g.n} * g.part_c * g.plane;
  ARCHETYPE_GRID_STRIDE(i, count) {
    const std::int64_t p = i % g.plane;
    const int c = int((i / g.plane) % g.part_c), n = int(i / (g.plane * g.part_c));
    store(dx, i, dy[(std::int64_t{n} * g.total_c + g.offset + c) * g.plane + p], accumulate);
  }
}

__global__ void add_bias_rows_kernel(float* y, const float* b, int rows, int cols) {
  ARCHETYPE_GRID_STRIDE(i, std::int64_t{rows} * cols) { y[i] += b[i % cols]; }
}

/// One thread per column, rows summed in order (deterministic).
__global__ void bias_gradient_rows_kernel(const float* dy, float* db, int rows, int cols) {
  ARCHETYPE_GRID_STRIDE(c, cols) {
    float sum = 0.f;
    for (int r = 0; r < rows; ++r) sum += dy[std::int64_t{r} * cols + c];
    db[c] = sum;
  }
}

// --- loss ------------------------------------------------------------------------------------

__global__ void softmax_cross_entropy_kernel(const float* logits, const int* labels, float* dlogits, float* loss,
                                             double* per_sample, int batch, int classes) {
  for (int n = int(threadIdx.x); n < batch; n += int(blockDim.x)) {
    const float* z = logits + std::int64_t{n} * classes;
    float* g = dlogits + std::int64_t{n} * classes;
    float top = z[0];
    for (int c = 1; c < classes; ++c) top = fmaxf(top, z[c]);
    double sum = 0;
    for (int c = 0; c < classes; ++c) sum += exp(double(z[c]) - top);
    const double log_sum = log(sum);
    const int label = labels[n];
    per_sample[n] = -(double(z[label]) - top - log_sum);
    for (int c = 0; c < classes; ++c) {
      const double p = exp(double(z[c]) - top - log_sum);
      g[c] = float((p - (c == label ? 1.0 : 0.0)) / batch);
    }
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    double total = 0;
    for (int n = 0; n < batch; ++n) total += per_sample[n];  // in order: the host's sum
    *loss = float(total / batch);
  }
}

// --- optimizer -------------------------------------------------------------------------------
// __fmul_rn / __fadd_rn / __fsub_rn: no contraction into fused multiply-adds, so each
// operation rounds as the host loop's (runtime/src/optimizer.cpp, compiled without FMA).

__global__ void sgd_kernel(OptimizerStep o, float* p, const float* g, float* v, std::int64_t n, const float* lr_ptr,
                           const std::int64_t* steps, const float* loss) {
  if (loss != nullptr && !isfinite(*loss)) return;
  const float lr = *lr_ptr;
  const float wd = o.weight_decay, mu = o.momentum;
  const bool first = *steps == 0;
  ARCHETYPE_GRID_STRIDE(i, n) {
    const float d = __fadd_rn(g[i], __fmul_rn(wd, p[i]));
    if (v == nullptr) {
      p[i] = __fsub_rn(p[i], __fmul_rn(lr, d));
      continue;
    }
    const float vi = first ? d : __fadd_rn(__fmul_rn(mu, v[i]), d);
    v[i] = vi;
    p[i] = __fsub_rn(p[i], __fmul_rn(lr, o.nesterov ? __fadd_rn(d, __fmul_rn(mu, vi)) : vi));
  }
}

__global__ void adam_kernel(OptimizerStep o, float* p, const float* g, float* m, float* v, std::int64_t n,
                            const float* lr_ptr, const std::int64_t* steps, const float* loss) {
  if (loss != nullptr && !isfinite(*loss)) return;
  const float lr = *lr_ptr;
  const double t = double(*steps + 1);
  const float b1 = float(o.beta1), b2 = float(o.beta2), eps = o.epsilon, wd = o.weight_decay;
  const float bias1 = float(1.0 - pow(o.beta1, t));
  const float bias2_sqrt = float(sqrt(1.0 - pow(o.beta2, t)));
  const float step_size = __fdiv_rn(lr, bias1);
  ARCHETYPE_GRID_STRIDE(i, n) {
    float gi = g[i];
    float pi = p[i];
    if (o.decoupled) {
      pi = __fmul_rn(pi, __fsub_rn(1.0f, __fmul_rn(lr, wd)));
    } else {
      gi = __fadd_rn(gi, __fmul_rn(wd, pi));
    }
    const float mi = __fadd_rn(__fmul_rn(b1, m[i]), __fmul_rn(__fsub_rn(1.0f, b1), gi));
    const float vi = __fadd_rn(__fmul_rn(b2, v[i]), __fmul_rn(__fmul_rn(__fsub_rn(1.0f, b2), gi), gi));
    m[i] = mi;
    v[i] = vi;
    const float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), bias2_sqrt), eps);
    p[i] = __fsub_rn(pi, __fdiv_rn(__fmul_rn(step_size, mi), denom));
  }
}

__global__ void count_step_kernel(std::int64_t* steps, const float* loss) {
  if (loss == nullptr || isfinite(*loss)) *steps += 1;
}

}  // namespace

void check_launch(const char* what) {
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) {
    throw std::runtime_error(std::string("archetype::cudnn: ") + what + ": " + cudaGetErrorString(e));
  }
}

void activation_forward(cudaStream_t stream, Activation a, const float* x, float* y, std::int64_t count) {
  activation_forward_kernel<<<blocks_for(count), threads, 0, stream>>>(a, x, y, count);
  check_launch("activation forward");
}

void activation_backward(cudaStream_t stream, Activation a, const float* from, const float* dy, float* dx,
                         std::int64_t count, bool accumulate) {
  activation_backward_kernel<<<blocks_for(count), threads, 0, stream>>>(a, from, dy, dx, count, accumulate);
  check_launch("activation backward");
}

void dropout_forward(cudaStream_t stream, const float* x, float* y, std::int64_t count, std::int64_t run, double p,
                     std::uint64_t seed, const std::uint64_t* step) {
  dropout_kernel<<<blocks_for(count), threads, 0, stream>>>(x, y, count, run, p, seed, step, false);
  check_launch("dropout forward");
}

void dropout_backward(cudaStream_t stream, const float* dy, float* dx, std::int64_t count, std::int64_t run, double p,
                      std::uint64_t seed, const std::uint64_t* step, bool accumulate) {
  dropout_kernel<<<blocks_for(count), threads, 0, stream>>>(dy, dx, count, run, p, seed, step, accumulate);
  check_launch("dropout backward");
}

void advance_counter(cudaStream_t stream, std::uint64_t* step) {
  advance_kernel<<<1, 1, 0, stream>>>(step);
  check_launch("dropout step counter");
}

void max_pool_forward(cudaStream_t stream, const Pool& g, const float* x, float* y) {
  max_pool_forward_kernel<<<blocks_for(std::int64_t{g.planes} * g.out_h * g.out_w), threads, 0, stream>>>(g, x, y);
  check_launch("max pool forward");
}

void max_pool_backward(cudaStream_t stream, const Pool& g, const float* x, const float* dy, float* dx,
                       bool accumulate) {
  max_pool_backward_kernel<<<blocks_for(std::int64_t{g.planes} * g.in_h * g.in_w), threads, 0, stream>>>(
      g, x, dy, dx, accumulate);
  check_launch("max pool backward");
}

void avg_pool_forward(cudaStream_t stream, const Pool& g, const float* x, float* y) {
  avg_pool_forward_kernel<<<blocks_for(std::int64_t{g.planes} * g.out_h * g.out_w), threads, 0, stream>>>(g, x, y);
  check_launch("average pool forward");
}

void avg_pool_backward(cudaStream_t stream, const Pool& g, const float* dy, float* dx, bool accumulate) {
  avg_pool_backward_kernel<<<blocks_for(std::int64_t{g.planes} * g.in_h * g.in_w), threads, 0, stream>>>(
      g, dy, dx, accumulate);
  check_launch("average pool backward");
}

void lrn_forward(cudaStream_t stream, const Lrn& g, const float* x, float* y) {
  lrn_forward_kernel<<<blocks_for(std::int64_t{g.n} * g.c * g.plane), threads, 0, stream>>>(g, x, y);
  check_launch("local response norm forward");
}

void lrn_backward(cudaStream_t stream, const Lrn& g, const float* x, const float* dy, float* dx, bool accumulate) {
  lrn_backward_kernel<<<blocks_for(std::int64_t{g.n} * g.c * g.plane), threads, 0, stream>>>(g, x, dy, dx,
                                                                                              accumulate);
  check_launch("local response norm backward");
}

void scale_forward(cudaStream_t stream, const float* x, const float* gate, float* y, std::int64_t planes,
                   std::int64_t plane) {
  scale_forward_kernel<<<blocks_for(planes * plane), threads, 0, stream>>>(x, gate, y, planes, plane);
  check_launch("scale forward");
}

void scale_backward(cudaStream_t stream, const float* x, const float* gate, const float* dy, float* dx,
                    bool accumulate_x, float* dgate, bool accumulate_gate, std::int64_t planes, std::int64_t plane) {
  if (dgate != nullptr) {
    scale_dgate_kernel<<<unsigned(planes), threads, 0, stream>>>(x, dy, dgate, accumulate_gate, plane);
    check_launch("scale backward (gate)");
  }
  if (dx != nullptr) {
    scale_dx_kernel<<<blocks_for(planes * plane), threads, 0, stream>>>(gate, dy, dx, accumulate_x, planes, plane);
    check_launch("scale backward (input)");
  }
}

void zero_pad_forward(cudaStream_t stream, const ZeroPad& g, const float* x, float* y) {
  zero_pad_forward_kernel<<<blocks_for(std::int64_t{g.n} * g.out_c * g.out_h * g.out_w), threads, 0, stream>>>(g, x,
                                                                                                               y);
  check_launch("zero-pad shortcut forward");
}

void zero_pad_backward(cudaStream_t stream, const ZeroPad& g, const float* dy, float* dx, bool accumulate) {
  zero_pad_backward_kernel<<<blocks_for(std::int64_t{g.n} * g.in_c * g.in_h * g.in_w), threads, 0, stream>>>(
      g, dy, dx, accumulate);
  check_launch("zero-pad shortcut backward");
}

void pad_to_forward(cudaStream_t stream, const PadTo& g, const float* x, float* y) {
  pad_to_forward_kernel<<<blocks_for(std::int64_t{g.planes} * g.out_h * g.out_w), threads, 0, stream>>>(g, x, y);
  check_launch("pad forward");
}

void pad_to_backward(cudaStream_t stream, const PadTo& g, const float* dy, float* dx, bool accumulate) {
  pad_to_backward_kernel<<<blocks_for(std::int64_t{g.planes} * g.in_h * g.in_w), threads, 0, stream>>>(g, dy, dx,
                                                                                                       accumulate);
  check_launch("pad backward");
}

void resize_forward(cudaStream_t stream, const Resize& g, const float* x, float* y) {
  resize_forward_kernel<<<blocks_for(std::int64_t{g.planes} * g.out_h * g.out_w), threads, 0, stream>>>(g, x, y);
  check_launch("resize forward");
}

void resize_backward(cudaStream_t stream, const Resize& g, const float* dy, float* dx, bool accumulate) {
  if (!accumulate) {
    const cudaError_t e =
        cudaMemsetAsync(dx, 0, std::size_t(g.planes) * std::size_t(g.in_h) * std::size_t(g.in_w) * sizeof(float),
                        stream);
    if (e != cudaSuccess) throw std::runtime_error(std::string("archetype::cudnn: resize backward: ") + cudaGetErrorString(e));
  }
  resize_backward_kernel<<<blocks_for(std::int64_t{g.planes} * g.out_h * g.out_w), threads, 0, stream>>>(g, dy, dx);
  check_launch("resize backward");
}

void sum_forward(cudaStream_t stream, const Sources& sources, float* y, std::int64_t count) {
  sum_kernel<<<blocks_for(count), threads, 0, stream>>>(sources, y, count);
  check_launch("sum forward");
}

void copy_or_add(cudaStream_t stream, const float* src, float* dst, std::int64_t count, bool accumulate) {
  copy_or_add_kernel<<<blocks_for(count), threads, 0, stream>>>(src, dst, count, accumulate);
  check_launch("gradient copy");
}

void concat_forward(cudaStream_t stream, const Slice& g, const float* x, float* y) {
  concat_forward_kernel<<<blocks_for(std::int64_t{g.n} * g.part_c * g.plane), threads, 0, stream>>>(g, x, y);
  check_launch("concat forward");
}

void concat_backward(cudaStream_t stream, const Slice& g, const float* dy, float* dx, bool accumulate) {
  concat_backward_kernel<<<blocks_for(std::int64_t{g.n} * g.part_c * g.plane), threads, 0, stream>>>(g, dy, dx,
                                                                                                     accumulate);
  check_launch("concat backward");
}

void add_bias_rows(cudaStream_t stream, float* y, const float* b, int rows, int cols) {
  add_bias_rows_kernel<<<blocks_for(std::int64_t{rows} * cols), threads, 0, stream>>>(y, b, rows, cols);
  check_launch("linear bias");
}

void bias_gradient_rows(cudaStream_t stream, const float* dy, float* db, int rows, int cols) {
  bias_gradient_rows_kernel<<<blocks_for(cols), threads, 0, stream>>>(dy, db, rows, cols);
  check_launch("linear bias gradient");
}

void softmax_cross_entropy(cudaStream_t stream, const float* logits, const int* labels, float* dlogits, float* loss,
                           double* per_sample, int batch, int classes) {
  softmax_cross_entropy_kernel<<<1, threads, 0, stream>>>(logits, labels, dlogits, loss, per_sample, batch, classes);
  check_launch("softmax cross-entropy");
}

void optimizer_step(cudaStream_t stream, const OptimizerStep& o, float* params, const float* grads, float* state,
                    std::int64_t n, const float* lr, std::int64_t* steps, const float* loss) {
  if (o.adam) {
    adam_kernel<<<blocks_for(n), threads, 0, stream>>>(o, params, grads, state, state + n, n, lr, steps, loss);
  } else {
    sgd_kernel<<<blocks_for(n), threads, 0, stream>>>(o, params, grads, state, n, lr, steps, loss);
  }
  check_launch("optimizer step");
  count_step_kernel<<<1, 1, 0, stream>>>(steps, loss);
  check_launch("optimizer step counter");
}

}  // namespace archetype::cudnn::kernels
