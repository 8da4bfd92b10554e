// A 1x1 convolution and the depthwise convolution after it as one AVX-512 kernel
// (pointwise_depthwise.hpp).
#include "pointwise_depthwise.hpp"

#include "team.hpp"
#include "vector_math.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

namespace archetype::onednn::detail {
namespace {

constexpr int pixels_per_call = 7;   // 1x1: 7 pixels x 3 blocks of 16 channels in registers
constexpr int blocks_per_call = 3;   // (every image width of MobileNetV2 and EfficientNet is
constexpr int outputs_per_call = 7;  // a multiple of 7, every channel count of 48)

template <Activation A>
ARCHETYPE_AVX512 inline __m512 activate(__m512 v) {
  if constexpr (A == Activation::relu) return _mm512_max_ps(v, _mm512_setzero_ps());
  if constexpr (A == Activation::relu6) {
    return _mm512_min_ps(_mm512_max_ps(v, _mm512_setzero_ps()), _mm512_set1_ps(6.f));
  }
  if constexpr (A == Activation::silu) return silu16(v);
  return v;
}

/// The 1x1 chain for P pixels (from `x`, the first one's channel 0) and B blocks of 16
/// channels (weights `w` [B][cin][16], bias `b`), activated and stored at `ring` (block j's
/// pixel p at ring + j * ring_block + p * 16).
template <Activation A, int P, int B>
ARCHETYPE_AVX512 void pointwise(const float* x, std::int64_t x_block, std::int64_t x_pixel, int cin,
                                const float* w, const float* b, float* ring,
                                std::int64_t ring_block) {
  __m512 acc[P][B];
  for (int j = 0; j < B; ++j) {
    const __m512 bias = _mm512_loadu_ps(b + 16 * j);
    for (int p = 0; p < P; ++p) acc[p][j] = bias;
  }
  const std::int64_t w_block = std::int64_t{cin} * 16;
  for (int c0 = 0; c0 < cin; c0 += 16, x += x_block) {
    const int m = std::min(16, cin - c0);
    for (int c = 0; c < m; ++c) {
      const float* wc = w + std::int64_t{c0 + c} * 16;
      __m512 wv[B];
#pragma GCC unroll 4
      for (int j = 0; j < B; ++j) wv[j] = _mm512_loadu_ps(wc + j * w_block);
#pragma GCC unroll 8
      for (int p = 0; p < P; ++p) {
        const __m512 xv = _mm512_set1_ps(x[p * x_pixel + c]);
#pragma GCC unroll 4
        for (int j = 0; j < B; ++j) acc[p][j] = _mm512_fmadd_ps(xv, wv[j], acc[p][j]);
      }
    }
  }
  for (int j = 0; j < B; ++j)
    for (int p = 0; p < P; ++p)
      _mm512_storeu_ps(ring + j * ring_block + p * 16, activate<A>(acc[p][j]));
}

/// The depthwise chain for Q outputs of one block: `rows[kh]` the K input rows (with their
/// padding columns: input column i at rows[kh] + (i + pad) * 16, the first output's window at
/// column 0 of that), weights `w` [K * K][16], bias `b`; output q at y + q * y_pixel.
template <Activation A, int K, int S, int Q>
ARCHETYPE_AVX512 void depthwise(const float* const* rows, const float* w, const float* b, float* y,
                                std::int64_t y_pixel) {
  constexpr int span = S * (Q - 1) + K;
  __m512 acc[Q];
  const __m512 bias = _mm512_loadu_ps(b);
  for (int q = 0; q < Q; ++q) acc[q] = bias;
#pragma GCC unroll 5
  for (int kh = 0; kh < K; ++kh) {
    __m512 v[span];
#pragma GCC unroll 32
    for (int i = 0; i < span; ++i) v[i] = _mm512_loadu_ps(rows[kh] + i * 16);
#pragma GCC unroll 5
    for (int kw = 0; kw < K; ++kw) {
      const __m512 wv = _mm512_loadu_ps(w + (kh * K + kw) * 16);
#pragma GCC unroll 8
      for (int q = 0; q < Q; ++q) acc[q] = _mm512_fmadd_ps(v[S * q + kw], wv, acc[q]);
    }
  }
  for (int q = 0; q < Q; ++q) _mm512_storeu_ps(y + q * y_pixel, activate<A>(acc[q]));
}

using PointwiseFn = void (*)(const float*, std::int64_t, std::int64_t, int, const float*,
                             const float*, float*, std::int64_t);
using DepthwiseFn = void (*)(const float* const*, const float*, const float*, float*, std::int64_t);

template <Activation A, int B, int... P>
constexpr std::array<PointwiseFn, sizeof...(P)> pointwise_table(std::integer_sequence<int, P...>) {
  return {&pointwise<A, P + 1, B>...};
}

template <Activation A, int K, int S, int... Q>
constexpr std::array<DepthwiseFn, sizeof...(Q)> depthwise_table(std::integer_sequence<int, Q...>) {
  return {&depthwise<A, K, S, Q + 1>...};
}

/// One image's (or one group of blocks') pair: rows of the 1x1 chain into the ring as the
/// depthwise's windows come to need them.
template <Activation A1, Activation A2, int K, int S>
ARCHETYPE_AVX512 void run_item(const PointwiseDepthwise& g, const float* x, const float* w1,
                               const float* b1, const float* wd, const float* b2, float* y,
                               int block0, int blocks, int ho0, int ho1, float* ring) {
  static constexpr auto pw1 =
      pointwise_table<A1, 1>(std::make_integer_sequence<int, pixels_per_call>{});
  static constexpr auto pw2 =
      pointwise_table<A1, 2>(std::make_integer_sequence<int, pixels_per_call>{});
  static constexpr auto pw3 =
      pointwise_table<A1, 3>(std::make_integer_sequence<int, pixels_per_call>{});
  static constexpr auto dw =
      depthwise_table<A2, K, S>(std::make_integer_sequence<int, outputs_per_call>{});
  const int W = g.width, H = g.height, pad = g.pad, Wo = g.out_width();
  const std::int64_t ring_block = std::int64_t{W + 2 * pad} * 16;
  const std::int64_t ring_row = ring_block * blocks;
  float* const zero_row = ring + K * ring_row;  // rows above and below the image
  const std::int64_t w1_block = std::int64_t{g.in_channels} * 16;
  // Zeros where no row of the 1x1 chain is written: the row above and below the image, and
  // the padding columns on each side of every row.
  std::memset(zero_row, 0, std::size_t(ring_block) * sizeof(float));
  for (int s = 0; s < K; ++s) {
    for (int j = 0; j < blocks; ++j) {
      float* r = ring + s * ring_row + j * ring_block;
      std::memset(r, 0, std::size_t(pad) * 16 * sizeof(float));
      std::memset(r + (pad + W) * 16, 0, std::size_t(pad) * 16 * sizeof(float));
    }
  }
  int next = std::max(0, ho0 * S - pad);  // the next row of the 1x1 chain to compute
  for (int ho = ho0; ho < ho1; ++ho) {
    const int top = ho * S - pad;
    for (const int last = std::min(top + K - 1, H - 1); next <= last; ++next) {
      float* row = ring + (next % K) * ring_row + pad * 16;
      const float* xr = x + std::int64_t{next} * W * g.x_pixel;
      for (int j = 0; j < blocks; j += blocks_per_call) {
        const int nb = std::min(blocks_per_call, blocks - j);
        const auto& table = nb == 3 ? pw3 : nb == 2 ? pw2 : pw1;
        const int cb = block0 + j;
        for (int p = 0; p < W; p += pixels_per_call) {
          const int np = std::min(pixels_per_call, W - p);
          table[std::size_t(np - 1)](xr + p * g.x_pixel, g.x_block, g.x_pixel, g.in_channels,
                                     w1 + cb * w1_block, b1 + cb * 16,
                                     row + j * ring_block + p * 16, ring_block);
        }
      }
    }
    const float* rows[K];
    for (int kh = 0; kh < K; ++kh) {
      const int r = top + kh;
      rows[kh] = r < 0 || r >= H ? zero_row : ring + (r % K) * ring_row;
    }
    for (int j = 0; j < blocks; ++j) {
      const int cb = block0 + j;
      const float* in[K];
      for (int kh = 0; kh < K; ++kh)
        in[kh] = rows[kh] + (rows[kh] == zero_row ? 0 : j * ring_block);
      float* out = y + cb * g.y_block + std::int64_t{ho} * Wo * g.y_pixel;
      for (int q = 0; q < Wo; q += outputs_per_call) {
        const int nq = std::min(outputs_per_call, Wo - q);
        const float* at[K];
        for (int kh = 0; kh < K; ++kh) at[kh] = in[kh] + std::int64_t{q} * S * 16;
        dw[std::size_t(nq - 1)](at, wd + std::int64_t{cb} * K * K * 16, b2 + cb * 16,
                                out + q * g.y_pixel, g.y_pixel);
      }
    }
  }
}

using ItemFn = void (*)(const PointwiseDepthwise&, const float*, const float*, const float*,
                        const float*, const float*, float*, int, int, int, int, float*);

template <Activation A1, Activation A2>
ItemFn item_for(int kernel, int stride) {
  if (kernel == 3) return stride == 1 ? &run_item<A1, A2, 3, 1> : &run_item<A1, A2, 3, 2>;
  return stride == 1 ? &run_item<A1, A2, 5, 1> : &run_item<A1, A2, 5, 2>;
}

template <Activation A1>
ItemFn item_for(Activation second, int kernel, int stride) {
  switch (second) {
    case Activation::relu:
      return item_for<A1, Activation::relu>(kernel, stride);
    case Activation::relu6:
      return item_for<A1, Activation::relu6>(kernel, stride);
    case Activation::silu:
      return item_for<A1, Activation::silu>(kernel, stride);
    case Activation::none:
      break;
  }
  return item_for<A1, Activation::none>(kernel, stride);
}

ItemFn item_for(const PointwiseDepthwise& g) {
  switch (g.first) {
    case Activation::relu:
      return item_for<Activation::relu>(g.second, g.kernel, g.stride);
    case Activation::relu6:
      return item_for<Activation::relu6>(g.second, g.kernel, g.stride);
    case Activation::silu:
      return item_for<Activation::silu>(g.second, g.kernel, g.stride);
    case Activation::none:
      break;
  }
  return item_for<Activation::none>(g.second, g.kernel, g.stride);
}

/// How each image is split among the threads: into `groups` of channel blocks times `bands`
/// of output rows.
struct Split {
  int groups = 1, bands = 1;
};

/// The images themselves where they divide among the threads; else (batch 1) each image
/// split among them by blocks, or by rows where that leaves the busiest thread less to do:
/// a band recomputes the K - stride rows of the 1x1 chain that its neighbour's window also
/// reads, while blocks that do not divide leave one thread idle for a while (MobileNetV2's
/// 144 channels, 9 blocks: 5 and 4; by rows at 56x56, 29 and 29 rows of 56).
Split split(const PointwiseDepthwise& g, int threads) {
  const int blocks = g.channels / 16;
  if (g.batch % threads == 0 || threads == 1) return {};
  const int Ho = g.out_height();
  // The busiest thread's work relative to an even share: by blocks, by rows.
  const double by_blocks = double((blocks + threads - 1) / threads) * threads / blocks;
  const int band = (Ho + threads - 1) / threads;
  const int rows = std::min(g.height, (band - 1) * g.stride + g.kernel - g.pad);  // edge bands
  const double by_rows = double(rows) * threads / g.height;
  if (blocks >= threads && by_blocks <= by_rows) return {threads, 1};
  if (Ho >= threads) return {1, threads};
  return {std::min(threads, blocks), 1};
}

}  // namespace

bool pointwise_depthwise_cpu() { return __builtin_cpu_supports("avx512f"); }

bool pointwise_depthwise_available(const PointwiseDepthwise& g) {
  return pointwise_depthwise_cpu() && (g.kernel == 3 || g.kernel == 5) &&
         (g.stride == 1 || g.stride == 2) && g.pad == g.kernel / 2 && g.channels % 16 == 0 &&
         g.channels > 0 && g.in_channels > 0 && g.height > 0 && g.width > 0;
}

void pack_pointwise_depthwise(const PointwiseDepthwise& g, const float* w1, const float* wd,
                              float* packed1, float* packedd) {
  const int kk = g.kernel * g.kernel;
  for (int c = 0; c < g.channels; ++c) {
    const int cb = c / 16, lane = c % 16;
    for (int i = 0; i < g.in_channels; ++i)
      packed1[(std::int64_t{cb} * g.in_channels + i) * 16 + lane] =
          w1[std::int64_t{c} * g.in_channels + i];
    for (int k = 0; k < kk; ++k) packedd[(std::int64_t{cb} * kk + k) * 16 + lane] = wd[c * kk + k];
  }
}

std::int64_t pointwise_depthwise_scratch(const PointwiseDepthwise& g) {
  // K rows and the zero row, for the most blocks an item can have (every block: one group).
  return std::int64_t{g.kernel + 1} * (g.width + 2 * g.pad) * 16 * (g.channels / 16);
}

void pointwise_depthwise(const PointwiseDepthwise& g, const float* x, const float* packed1,
                         const float* b1, const float* packedd, const float* b2, float* y,
                         float* scratch, int threads) {
  const ItemFn item = item_for(g);
  const std::int64_t per_thread = pointwise_depthwise_scratch(g);
  const int team = kernel_team(threads);
  const Split sp = split(g, team);
  const int G = sp.groups, R = sp.bands, Ho = g.out_height();
  const int blocks = g.channels / 16;
  const int items = g.batch * G * R;
#pragma omp parallel num_threads(team)
  {
    const auto [t, nt] = team_member();
    float* ring = scratch + t * per_thread;
    for (int i = t; i < items; i += nt) {
      const int n = i / (G * R), grp = i / R % G, band = i % R;
      const int b0 = blocks * grp / G, b1_ = blocks * (grp + 1) / G;
      item(g, x + n * g.x_image, packed1, b1, packedd, b2, y + n * g.y_image, b0, b1_ - b0,
           Ho * band / R, Ho * (band + 1) / R, ring);
    }
  }
}

}  // namespace archetype::onednn::detail
