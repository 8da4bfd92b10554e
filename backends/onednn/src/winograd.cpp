// A 3x3 stride-1 convolution by Winograd's F(4x4, 3x3), AVX2 + FMA, over nChw8c values
// (winograd.hpp).
#include "winograd.hpp"

#include "team.hpp"

#include <immintrin.h>

#include <algorithm>
#include <array>

/// Compiles a function for AVX2 + FMA whatever the target of the rest of the build.
#define ARCHETYPE_AVX2 __attribute__((target("avx2,fma")))

namespace archetype::onednn::detail {
namespace {

constexpr int alpha = 6;               // the transformed tile: 6x6
constexpr int points = alpha * alpha;  // 36 products per tile
constexpr int rows_per_block = 6;      // the product's register block: 6 tiles x 16 channels
// Winograd3x3::chunk: a thread's own chunks of 12 tiles (V and M 220 KB at 64 channels)
// where U takes at most 2.5 MB (up to 128 channels each side), else chunks shared by the
// threads of 4 MB (24 tiles at 512 channels: U, 38 MB there, read once a chunk). Chosen
// by a standalone harness against oneDNN's jit:avx2 direct kernel on ResNet-18-CIFAR's and
// ResNet-50's 3x3 layers (session 22, performance-targets.md).
constexpr std::int64_t private_rows = 12;
constexpr std::int64_t private_weights_bytes = std::int64_t{5} << 19;
constexpr std::int64_t shared_floats = std::int64_t{1} << 20;
/// G of U = G w G^T (the weights' transform) and of dw = G^T dU G (its gradient).
constexpr float G[alpha][3] = {{1.f / 4, 0, 0},
                               {-1.f / 6, -1.f / 6, -1.f / 6},
                               {-1.f / 6, 1.f / 6, -1.f / 6},
                               {1.f / 24, 1.f / 12, 1.f / 6},
                               {1.f / 24, -1.f / 12, 1.f / 6},
                               {0, 0, 1}};

/// r = B^T d over six vectors: the rows of F(4x4, 3x3)'s input transform.
ARCHETYPE_AVX2 inline void input_rows(const __m256* d, __m256* r) {
  const __m256 two = _mm256_set1_ps(2.f), four = _mm256_set1_ps(4.f), five = _mm256_set1_ps(5.f);
  r[0] = _mm256_fmadd_ps(four, d[0], _mm256_fnmadd_ps(five, d[2], d[4]));
  r[1] = _mm256_fnmadd_ps(four, _mm256_add_ps(d[1], d[2]), _mm256_add_ps(d[3], d[4]));
  r[2] = _mm256_fmadd_ps(four, _mm256_sub_ps(d[1], d[2]), _mm256_sub_ps(d[4], d[3]));
  r[3] = _mm256_fmadd_ps(two, _mm256_sub_ps(d[3], d[1]), _mm256_sub_ps(d[4], d[2]));
  r[4] = _mm256_fmadd_ps(two, _mm256_sub_ps(d[1], d[3]), _mm256_sub_ps(d[4], d[2]));
  r[5] = _mm256_fmadd_ps(four, d[1], _mm256_fnmadd_ps(five, d[3], d[5]));
}

/// o = A^T m over six vectors: the rows of the output transform.
ARCHETYPE_AVX2 inline void output_rows(const __m256* m, __m256* o) {
  const __m256 p12 = _mm256_add_ps(m[1], m[2]), d12 = _mm256_sub_ps(m[1], m[2]);
  const __m256 p34 = _mm256_add_ps(m[3], m[4]), d34 = _mm256_sub_ps(m[3], m[4]);
  o[0] = _mm256_add_ps(_mm256_add_ps(m[0], p12), p34);
  o[1] = _mm256_fmadd_ps(_mm256_set1_ps(2.f), d34, d12);
  o[2] = _mm256_fmadd_ps(_mm256_set1_ps(4.f), p34, p12);
  o[3] = _mm256_add_ps(_mm256_fmadd_ps(_mm256_set1_ps(8.f), d34, d12), m[5]);
}

struct Layout {
  int C, K, Kp, H, W, Ho, Wo, th, tw;
  std::int64_t tiles;
};

/// Tile t's 6x6 window of channel block cb, transformed, into v at row `row`: V[36][rows][C],
/// or with `blocked` V[36][C / 8][rows][8] (the weights gradient's).
ARCHETYPE_AVX2 void transform_input(const Winograd3x3& g, const Layout& l, const float* x,
                                    std::int64_t t, int cb, float* v, std::int64_t rows,
                                    std::int64_t row, bool blocked = false) {
  const int tx = int(t % l.tw), ty = int(t / l.tw % l.th);
  const std::int64_t n = t / (std::int64_t{l.tw} * l.th);
  const int h0 = ty * 4 - g.pad, w0 = tx * 4 - g.pad;
  const float* plane = x + ((n * (l.C / 8) + cb) * l.H) * l.W * 8;
  __m256 d[points];
  if (h0 >= 0 && w0 >= 0 && h0 + alpha <= l.H && w0 + alpha <= l.W) {
    for (int i = 0; i < alpha; ++i) {
      const float* p = plane + (std::int64_t{h0 + i} * l.W + w0) * 8;
      for (int j = 0; j < alpha; ++j) d[i * alpha + j] = _mm256_loadu_ps(p + j * 8);
    }
  } else {
    for (int i = 0; i < alpha; ++i) {
      const int h = h0 + i;
      for (int j = 0; j < alpha; ++j) {
        const int w = w0 + j;
        d[i * alpha + j] = h >= 0 && h < l.H && w >= 0 && w < l.W
                               ? _mm256_loadu_ps(plane + (std::int64_t{h} * l.W + w) * 8)
                               : _mm256_setzero_ps();
      }
    }
  }
  __m256 t1[points];  // B^T d, by columns
  for (int j = 0; j < alpha; ++j) {
    __m256 col[alpha], r[alpha];
    for (int i = 0; i < alpha; ++i) col[i] = d[i * alpha + j];
    input_rows(col, r);
    for (int i = 0; i < alpha; ++i) t1[i * alpha + j] = r[i];
  }
  float* out = v + (blocked ? (cb * rows + row) * 8 : row * l.C + cb * 8);
  const std::int64_t plane_stride = rows * l.C;
  for (int i = 0; i < alpha; ++i) {  // (B^T d) B, by rows
    __m256 r[alpha];
    input_rows(&t1[i * alpha], r);
    for (int j = 0; j < alpha; ++j) _mm256_storeu_ps(out + (i * alpha + j) * plane_stride, r[j]);
  }
}

/// M rows [r0, r0 + R) of one 16-column block: c = a b, a [R][C] (stride C), b [C][16].
template <int R>
ARCHETYPE_AVX2 void product_block(const float* a, int C, const float* b, float* c, int ldc) {
  __m256 acc[R][2];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (int k = 0; k < C; ++k) {
    const __m256 b0 = _mm256_loadu_ps(b + k * 16), b1 = _mm256_loadu_ps(b + k * 16 + 8);
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + std::int64_t{r} * C + k);
      acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    _mm256_storeu_ps(c + std::int64_t{r} * ldc, acc[r][0]);
    _mm256_storeu_ps(c + std::int64_t{r} * ldc + 8, acc[r][1]);
  }
}

using ProductFn = void (*)(const float*, int, const float*, float*, int);
constexpr std::array<ProductFn, rows_per_block + 1> products{
    nullptr,          product_block<1>, product_block<2>, product_block<3>,
    product_block<4>, product_block<5>, product_block<6>};

/// One point's product for one 16-column block over `rows` rows: M[xi] = V[xi] U[xi].
ARCHETYPE_AVX2 void product(const Layout& l, const float* v, const float* u, float* m,
                            std::int64_t rows, int xi, int kb) {
  const float* a = v + xi * rows * l.C;
  const float* b = u + (std::int64_t{xi} * (l.Kp / 16) + kb) * l.C * 16;
  float* c = m + xi * rows * l.Kp + kb * 16;
  std::int64_t r = 0;
  for (; r + rows_per_block <= rows; r += rows_per_block) {
    product_block<rows_per_block>(a + r * l.C, l.C, b, c + r * l.Kp, l.Kp);
  }
  if (r < rows) products[std::size_t(rows - r)](a + r * l.C, l.C, b, c + r * l.Kp, l.Kp);
}

/// Tile t's 4x4 outputs of channel block kb (8 channels) from M's row `row`.
ARCHETYPE_AVX2 void transform_output(const Winograd3x3& g, const Layout& l, const float* m,
                                     std::int64_t rows, std::int64_t row, std::int64_t t, int kb,
                                     const float* bias, float* y) {
  const int tx = int(t % l.tw), ty = int(t / l.tw % l.th);
  const std::int64_t n = t / (std::int64_t{l.tw} * l.th);
  const float* in = m + row * l.Kp + kb * 8;
  const std::int64_t plane_stride = rows * l.Kp;
  __m256 t1[4 * alpha];  // A^T M, by columns
  for (int j = 0; j < alpha; ++j) {
    __m256 col[alpha], o[4];
    for (int i = 0; i < alpha; ++i) col[i] = _mm256_loadu_ps(in + (i * alpha + j) * plane_stride);
    output_rows(col, o);
    for (int i = 0; i < 4; ++i) t1[i * alpha + j] = o[i];
  }
  const __m256 b = bias != nullptr ? _mm256_loadu_ps(bias + kb * 8) : _mm256_setzero_ps();
  const __m256 zero = _mm256_setzero_ps();
  float* plane = y + ((n * (l.K / 8) + kb) * l.Ho) * l.Wo * 8;
  const int h0 = ty * 4, w0 = tx * 4;
  const int hn = std::min(4, l.Ho - h0), wn = std::min(4, l.Wo - w0);
  for (int i = 0; i < hn; ++i) {  // (A^T M) A, by rows
    __m256 o[4];
    output_rows(&t1[i * alpha], o);
    float* p = plane + (std::int64_t{h0 + i} * l.Wo + w0) * 8;
    for (int j = 0; j < wn; ++j) {
      __m256 r = _mm256_add_ps(o[j], b);
      if (g.sum) r = _mm256_add_ps(r, _mm256_loadu_ps(p + j * 8));
      if (g.relu) r = _mm256_max_ps(r, zero);
      _mm256_storeu_ps(p + j * 8, r);
    }
  }
}

/// r = A d over four vectors: the output transform transposed, taking a 4x4 tile's
/// gradient to its 6x6 one (A dy A^T, by columns then by rows).
ARCHETYPE_AVX2 inline void gradient_rows(const __m256* d, __m256* r) {
  const __m256 even = _mm256_add_ps(d[0], d[2]), odd = _mm256_add_ps(d[1], d[3]);
  const __m256 four = _mm256_set1_ps(4.f);
  const __m256 even4 = _mm256_fmadd_ps(four, d[2], d[0]);  // d0 + 4 d2
  const __m256 odd4 = _mm256_mul_ps(_mm256_set1_ps(2.f), _mm256_fmadd_ps(four, d[3], d[1]));
  r[0] = d[0];
  r[1] = _mm256_add_ps(even, odd);    // d0 + d1 + d2 + d3
  r[2] = _mm256_sub_ps(even, odd);    // d0 - d1 + d2 - d3
  r[3] = _mm256_add_ps(even4, odd4);  // d0 + 2 d1 + 4 d2 + 8 d3
  r[4] = _mm256_sub_ps(even4, odd4);  // d0 - 2 d1 + 4 d2 - 8 d3
  r[5] = d[3];
}

/// Tile t's 4x4 output gradient of channel block kb, transformed (A dy A^T; zero past the
/// image's edge), into dm (dM[36][K / 8][rows][8] at row `row`).
ARCHETYPE_AVX2 void transform_gradient(const Layout& l, const float* dy, std::int64_t t, int kb,
                                       float* dm, std::int64_t rows, std::int64_t row) {
  const int tx = int(t % l.tw), ty = int(t / l.tw % l.th);
  const std::int64_t n = t / (std::int64_t{l.tw} * l.th);
  const float* plane = dy + ((n * (l.K / 8) + kb) * l.Ho) * l.Wo * 8;
  const int h0 = ty * 4, w0 = tx * 4;
  const int hn = std::min(4, l.Ho - h0), wn = std::min(4, l.Wo - w0);
  __m256 d[16];
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) {
      d[i * 4 + j] = i < hn && j < wn
                         ? _mm256_loadu_ps(plane + (std::int64_t{h0 + i} * l.Wo + w0 + j) * 8)
                         : _mm256_setzero_ps();
    }
  }
  __m256 t1[alpha * 4];  // A dy, by columns
  for (int j = 0; j < 4; ++j) {
    __m256 col[4], r[alpha];
    for (int i = 0; i < 4; ++i) col[i] = d[i * 4 + j];
    gradient_rows(col, r);
    for (int i = 0; i < alpha; ++i) t1[i * 4 + j] = r[i];
  }
  float* out = dm + (kb * rows + row) * 8;
  const std::int64_t plane_stride = rows * l.K;
  for (int i = 0; i < alpha; ++i) {  // (A dy) A^T, by rows
    __m256 r[alpha];
    gradient_rows(&t1[i * 4], r);
    for (int j = 0; j < alpha; ++j) _mm256_storeu_ps(out + (i * alpha + j) * plane_stride, r[j]);
  }
}

/// dU rows [k0, k0 + 4) of 8 NV columns, over `rows` tiles: du (+)= dm^T v, with dm the
/// rows' 8-channel block from k0 ([rows][8], k0 at its start or middle), v NV blocks of 8
/// columns ([rows][8] each, `rows` x 8 apart), du [4][C]. Each tile: NV loads, 4
/// broadcasts, 4 NV FMAs, every stream read in order.
template <int NV>
ARCHETYPE_AVX2 void gradient_block(const float* dm, const float* v, std::int64_t rows, float* du,
                                   int C, bool first) {
  constexpr int R = 4;
  __m256 acc[R][NV];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 3
    for (int j = 0; j < NV; ++j) {
      acc[r][j] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(du + std::int64_t{r} * C + j * 8);
    }
  }
  for (std::int64_t t = 0; t < rows; ++t) {
    __m256 b[NV];
#pragma GCC unroll 3
    for (int j = 0; j < NV; ++j) b[j] = _mm256_loadu_ps(v + (j * rows + t) * 8);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m256 a = _mm256_broadcast_ss(dm + t * 8 + r);
#pragma GCC unroll 3
      for (int j = 0; j < NV; ++j) acc[r][j] = _mm256_fmadd_ps(a, b[j], acc[r][j]);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 3
    for (int j = 0; j < NV; ++j) _mm256_storeu_ps(du + std::int64_t{r} * C + j * 8, acc[r][j]);
  }
}

constexpr int gradient_columns = 3;  // gradient_block's widest: 3 blocks of 8 input channels

/// One point's product for one group of 24 columns of dU (8 or 16 where C ends there):
/// dU[xi] (+)= dM[xi]^T V[xi] over the chunk's `rows` tiles; `first` overwrites.
ARCHETYPE_AVX2 void gradient_product(const Layout& l, const float* v, const float* dm, float* du,
                                     std::int64_t rows, int xi, int group, bool first) {
  const int c0 = group * gradient_columns * 8;
  const int blocks = std::min(gradient_columns, (l.C - c0) / 8);
  const float* b = v + xi * rows * l.C + std::int64_t{c0} * rows;
  float* c = du + std::int64_t{xi} * l.K * l.C + c0;
  const float* a = dm + xi * rows * l.K;
  for (int k0 = 0; k0 < l.K; k0 += 4) {
    const float* ak = a + std::int64_t{k0 / 8} * rows * 8 + k0 % 8;
    float* ck = c + std::int64_t{k0} * l.C;
    if (blocks == 3)
      gradient_block<3>(ak, b, rows, ck, l.C, first);
    else if (blocks == 2)
      gradient_block<2>(ak, b, rows, ck, l.C, first);
    else
      gradient_block<1>(ak, b, rows, ck, l.C, first);
  }
}

/// dw = G^T dU G for output channel k and input channels [8 cb, 8 cb + 8), into [K][C][3][3].
ARCHETYPE_AVX2 void weights_from_gradient(const Layout& l, const float* du, int k, int cb,
                                          float* dw) {
  const float* in = du + std::int64_t{k} * l.C + cb * 8;
  const std::int64_t point_stride = std::int64_t{l.K} * l.C;
  __m256 t1[alpha][3];  // dU G
  for (int a = 0; a < alpha; ++a) {
    __m256 m[alpha];
    for (int b = 0; b < alpha; ++b) m[b] = _mm256_loadu_ps(in + (a * alpha + b) * point_stride);
    for (int j = 0; j < 3; ++j) {
      __m256 s = _mm256_setzero_ps();
      for (int b = 0; b < alpha; ++b) {
        if (G[b][j] != 0) s = _mm256_fmadd_ps(_mm256_set1_ps(G[b][j]), m[b], s);
      }
      t1[a][j] = s;
    }
  }
  alignas(32) float out[9][8];
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {  // G^T (dU G)
      __m256 s = _mm256_setzero_ps();
      for (int a = 0; a < alpha; ++a) {
        if (G[a][i] != 0) s = _mm256_fmadd_ps(_mm256_set1_ps(G[a][i]), t1[a][j], s);
      }
      _mm256_store_ps(out[i * 3 + j], s);
    }
  }
  float* to = dw + (std::int64_t{k} * l.C + cb * 8) * 9;
  for (int c = 0; c < 8; ++c) {
    for (int q = 0; q < 9; ++q) to[c * 9 + q] = out[q][c];
  }
}

/// db[8 kb, 8 kb + 8) = dy summed over images and pixels.
ARCHETYPE_AVX2 void bias_gradient(const Layout& l, int batch, const float* dy, int kb, float* db) {
  __m256 s = _mm256_setzero_ps();
  const std::int64_t pixels = std::int64_t{l.Ho} * l.Wo;
  for (int n = 0; n < batch; ++n) {
    const float* p = dy + (std::int64_t{n} * (l.K / 8) + kb) * pixels * 8;
    for (std::int64_t i = 0; i < pixels; ++i) s = _mm256_add_ps(s, _mm256_loadu_ps(p + i * 8));
  }
  _mm256_storeu_ps(db + kb * 8, s);
}

Layout layout(const Winograd3x3& g) {
  return {g.in_channels,  g.out_channels, g.padded_out(), g.height,    g.width,
          g.out_height(), g.out_width(),  g.tiles_h(),    g.tiles_w(), g.tiles()};
}

}  // namespace

bool Winograd3x3::private_chunks() const {
  return std::int64_t{points} * in_channels * padded_out() * 4 <= private_weights_bytes;
}

std::int64_t Winograd3x3::chunk() const {
  if (private_chunks()) return std::min<std::int64_t>(tiles(), private_rows);
  const std::int64_t per_tile = std::int64_t{points} * (in_channels + padded_out());
  const std::int64_t fit = std::max<std::int64_t>(1, shared_floats / per_tile / rows_per_block);
  return std::min(tiles(), fit * rows_per_block);
}

bool winograd_cpu() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

bool winograd_available(const Winograd3x3& g) {
  return winograd_cpu() && g.batch > 0 && g.in_channels > 0 && g.in_channels % 8 == 0 &&
         g.out_channels > 0 && g.out_channels % 8 == 0 && (g.pad == 0 || g.pad == 1) &&
         g.out_height() > 0 && g.out_width() > 0;
}

std::int64_t winograd_weights_floats(const Winograd3x3& g) {
  return std::int64_t{points} * g.in_channels * g.padded_out();
}

// Vectorised over 8 output channels: it runs twice a training step per layer (U, and the
// data gradient's U), and in double one channel pair at a time it took 7% of
// ResNet-18-CIFAR's step (perf, batch 128).
ARCHETYPE_AVX2 void pack_winograd(const Winograd3x3& g, const float* w, float* u, bool flipped) {
  const int C = g.in_channels, K = g.out_channels, Kp = g.padded_out();
  if (Kp != K) std::fill_n(u, winograd_weights_floats(g), 0.f);
  const std::int64_t point_stride = std::int64_t{Kp / 16} * C * 16;
  for (int k0 = 0; k0 < K; k0 += 8) {
    for (int c = 0; c < C; ++c) {
      alignas(32) float gathered[9][8];  // the 3x3 filters of channels k0..k0+7 from c
      for (int l = 0; l < 8; ++l) {
        if (flipped) {
          const float* f = w + (std::int64_t{c} * K + k0 + l) * 9;
          for (int q = 0; q < 9; ++q) gathered[q][l] = f[8 - q];
        } else {
          const float* f = w + (std::int64_t{k0 + l} * C + c) * 9;
          for (int q = 0; q < 9; ++q) gathered[q][l] = f[q];
        }
      }
      __m256 f[9];
      for (int q = 0; q < 9; ++q) f[q] = _mm256_load_ps(gathered[q]);
      __m256 gf[alpha][3];  // G f
      for (int i = 0; i < alpha; ++i) {
        for (int j = 0; j < 3; ++j) {
          gf[i][j] =
              _mm256_fmadd_ps(_mm256_set1_ps(G[i][0]), f[j],
                              _mm256_fmadd_ps(_mm256_set1_ps(G[i][1]), f[3 + j],
                                              _mm256_mul_ps(_mm256_set1_ps(G[i][2]), f[6 + j])));
        }
      }
      float* to = u + (std::int64_t{k0 / 16} * C + c) * 16 + k0 % 16;
      for (int i = 0; i < alpha; ++i) {
        for (int j = 0; j < alpha; ++j) {  // (G f) G^T
          const __m256 value =
              _mm256_fmadd_ps(gf[i][0], _mm256_set1_ps(G[j][0]),
                              _mm256_fmadd_ps(gf[i][1], _mm256_set1_ps(G[j][1]),
                                              _mm256_mul_ps(gf[i][2], _mm256_set1_ps(G[j][2]))));
          _mm256_storeu_ps(to + (i * alpha + j) * point_stride, value);
        }
      }
    }
  }
}

std::int64_t winograd_scratch(const Winograd3x3& g, int threads) {
  const std::int64_t chunk = g.chunk() * points * (g.in_channels + g.padded_out());
  return g.private_chunks() ? chunk * std::max(1, threads) : chunk;
}

void winograd(const Winograd3x3& g, const float* x, const float* u, const float* bias, float* y,
              float* scratch, int threads) {
  const Layout l = layout(g);
  const std::int64_t chunk = g.chunk();
  const int cblocks = l.C / 8, kblocks = l.K / 8, kb16 = l.Kp / 16;
  const int team = kernel_team(threads);
  // The three steps over the chunk of `rows` tiles from t0, with its V and M at `v`.
  const auto input = [&](std::int64_t t0, std::int64_t rows, float* v, std::int64_t i) {
    transform_input(g, l, x, t0 + i / cblocks, int(i % cblocks), v, rows, i / cblocks);
  };
  const auto products = [&](std::int64_t rows, const float* v, float* m, int i) {
    product(l, v, u, m, rows, i / kb16, i % kb16);
  };
  const auto output = [&](std::int64_t t0, std::int64_t rows, const float* m, std::int64_t i) {
    transform_output(g, l, m, rows, i / kblocks, t0 + i / kblocks, int(i % kblocks), bias, y);
  };
  if (g.private_chunks()) {  // each thread its own chunks, in its own scratch
#pragma omp parallel num_threads(team)
    {
      const auto [t, nt] = team_member();
      float* v = scratch + t * winograd_scratch(g, 1);
      float* m = v + chunk * points * l.C;
      for (std::int64_t t0 = t * chunk; t0 < l.tiles; t0 += nt * chunk) {
        const std::int64_t rows = std::min(chunk, l.tiles - t0);
        for (std::int64_t i = 0; i < rows * cblocks; ++i) input(t0, rows, v, i);
        for (int i = 0; i < points * kb16; ++i) products(rows, v, m, i);
        for (std::int64_t i = 0; i < rows * kblocks; ++i) output(t0, rows, m, i);
      }
    }
    return;
  }
  float* v = scratch;  // one chunk at a time, each step split among the threads
  float* m = scratch + chunk * points * l.C;
#pragma omp parallel num_threads(team)
  for (std::int64_t t0 = 0; t0 < l.tiles; t0 += chunk) {
    const std::int64_t rows = std::min(chunk, l.tiles - t0);
#pragma omp for schedule(static)
    for (std::int64_t i = 0; i < rows * cblocks; ++i) input(t0, rows, v, i);
#pragma omp for schedule(static)
    for (int i = 0; i < points * kb16; ++i) products(rows, v, m, i);
#pragma omp for schedule(static)
    for (std::int64_t i = 0; i < rows * kblocks; ++i) output(t0, rows, m, i);
  }
}

std::int64_t winograd_gradient_chunk(const Winograd3x3& g) {
  // dU (36 K C floats, 38 MB at 512 channels each side) is read and written once a chunk:
  // 128 tiles at least make that 32 flops a byte; 8 MB of V and dM for small layers.
  const std::int64_t per_tile = std::int64_t{points} * (g.in_channels + g.out_channels);
  const std::int64_t rows = std::clamp<std::int64_t>((std::int64_t{2} << 20) / per_tile, 128, 512);
  return std::min(g.tiles(), rows);
}

std::int64_t winograd_gradient_scratch(const Winograd3x3& g) {
  return winograd_gradient_chunk(g) * points * (g.in_channels + g.out_channels) +
         std::int64_t{points} * g.out_channels * g.in_channels;
}

void winograd_weights_gradient(const Winograd3x3& g, const float* x, const float* dy, float* dw,
                               float* db, float* scratch, int threads) {
  const Layout l = layout(g);
  const std::int64_t chunk = winograd_gradient_chunk(g);
  const int cblocks = l.C / 8, kblocks = l.K / 8;
  const int groups = (cblocks + gradient_columns - 1) / gradient_columns;
  float* v = scratch;  // V[36][C / 8][rows][8], dM[36][K / 8][rows][8], then dU[36][K][C]
  float* dm = v + chunk * points * l.C;
  float* du = dm + chunk * points * l.K;
#pragma omp parallel num_threads(kernel_team(threads))
  {
    for (std::int64_t t0 = 0; t0 < l.tiles; t0 += chunk) {
      const std::int64_t rows = std::min(chunk, l.tiles - t0);
#pragma omp for schedule(static) nowait
      for (std::int64_t i = 0; i < rows * cblocks; ++i) {
        transform_input(g, l, x, t0 + i / cblocks, int(i % cblocks), v, rows, i / cblocks, true);
      }
#pragma omp for schedule(static)
      for (std::int64_t i = 0; i < rows * kblocks; ++i) {
        transform_gradient(l, dy, t0 + i / kblocks, int(i % kblocks), dm, rows, i / kblocks);
      }
#pragma omp for schedule(static)
      for (int i = 0; i < points * groups; ++i) {
        gradient_product(l, v, dm, du, rows, i / groups, i % groups, t0 == 0);
      }
    }
#pragma omp for schedule(static) nowait
    for (int i = 0; i < l.K * cblocks; ++i)
      weights_from_gradient(l, du, i / cblocks, i % cblocks, dw);
    if (db != nullptr) {
#pragma omp for schedule(static)
      for (int kb = 0; kb < kblocks; ++kb) bias_gradient(l, g.batch, dy, kb, db);
    }
  }
}

}  // namespace archetype::onednn::detail
