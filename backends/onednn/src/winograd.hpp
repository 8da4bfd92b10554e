#pragma once
/// \file
/// \brief Internal: a 3x3 stride-1 convolution by Winograd's F(4x4, 3x3) as a kernel of our
/// own (AVX2 + FMA), over values blocked by 8 channels (nChw8c): the forward (and, with the
/// weights transposed and flipped, training's data gradient) and the weights gradient.
///
/// oneDNN 2.6 has Winograd only for AVX-512; without it, its direct kernel (jit:avx2) runs
/// ResNet-18-CIFAR's 3x3 layers at 56-73% of the measured peak, while F(4x4, 3x3) needs a
/// quarter of the multiplications (36 products for 16 outputs, against 144). The batch's
/// 4x4 output tiles are taken a chunk at a time (`Winograd3x3::chunk`), by one thread or
/// by all; per chunk:
///   1. input transform: each tile's 6x6 window, 8 channels per AVX2 vector, to B^T d B,
///      stored as V[36][tiles][C];
///   2. 36 matrix products M[xi] = V[xi] U[xi] (tiles x C times C x K) by a 6x16 register
///      block, U = G g G^T packed once per weight update (`pack_winograd`);
///   3. output transform: A^T M A, plus the bias, the residual summand already in the
///      destination (`sum`) and ReLU, stored in nChw8c.
/// The points 0, +-1, +-2, +-1/2 (Lavin and Gray 2016, the ones oneDNN's AVX-512 kernel
/// uses): fp32 results within about 1e-5 of direct's, relatively.
#include <cstdint>

namespace archetype::onednn::detail {

struct Winograd3x3 {
  int batch = 1;
  int in_channels = 0;        ///< C: a multiple of 8
  int out_channels = 0;       ///< K: a multiple of 8
  int height = 0, width = 0;  ///< the source's image
  int pad = 1;                ///< 0 or 1, both sides, both directions
  bool sum = false;           ///< add the destination's values (a residual summand) before the ReLU
  bool relu = false;          ///< ReLU last
  [[nodiscard]] int out_height() const { return height + 2 * pad - 2; }
  [[nodiscard]] int out_width() const { return width + 2 * pad - 2; }
  [[nodiscard]] int tiles_h() const { return (out_height() + 3) / 4; }
  [[nodiscard]] int tiles_w() const { return (out_width() + 3) / 4; }
  [[nodiscard]] std::int64_t tiles() const { return std::int64_t{batch} * tiles_h() * tiles_w(); }
  /// Output channels padded to the product's 16-wide register block.
  [[nodiscard]] int padded_out() const { return (out_channels + 15) / 16 * 16; }
  /// Whether each thread takes chunks of its own (U small enough to stay in its cache),
  /// or all threads share each chunk, each taking some of its 36 products (large U).
  [[nodiscard]] bool private_chunks() const;
  /// Tiles per chunk (all of them where fewer): 12 for private chunks; for shared ones a
  /// multiple of 6 (the product's rows per register block) whose transformed values (V and
  /// M, 36 (C + K) floats a tile) take about 4 MB.
  [[nodiscard]] std::int64_t chunk() const;
};

/// Whether this CPU runs the kernel (AVX2 and FMA).
[[nodiscard]] bool winograd_cpu();

/// Whether this CPU and `g` can run `winograd` (channels multiples of 8, pad 0 or 1, an
/// output of at least one pixel).
[[nodiscard]] bool winograd_available(const Winograd3x3& g);

/// Floats of the transformed weights U: 36 x C x padded_out().
[[nodiscard]] std::int64_t winograd_weights_floats(const Winograd3x3& g);

/// U = G w G^T from plain weights (oihw: [K][C][3][3]), in the product's layout
/// [36][padded_out / 16][C][16] (the padded columns zero). With `flipped`, w is the forward
/// convolution's weights [C][K][3][3] of which `g` is the data gradient: each filter is
/// taken transposed and turned by 180 degrees.
void pack_winograd(const Winograd3x3& g, const float* w, float* u, bool flipped = false);

/// Floats of the scratch `winograd` needs on `threads` threads: a chunk's V and M, one per
/// thread for private chunks.
[[nodiscard]] std::int64_t winograd_scratch(const Winograd3x3& g, int threads);

/// y = relu?(conv3x3(x, w) + bias (+ y)), x and y in nChw8c, on `threads` OpenMP threads
/// (at most omp_get_max_threads()), `bias` K floats or null.
void winograd(const Winograd3x3& g, const float* x, const float* u, const float* bias, float* y,
              float* scratch, int threads);

/// Training, the weights gradient of y = conv3x3(x, w) (`g` as for the forward, its `sum`
/// and `relu` ignored) from Winograd's side (Lavin and Gray 2016): with V = B^T d B of each
/// input tile and dM = A dy A^T of its 4x4 output gradient, dU[xi] = sum over tiles of
/// dM[xi] (x) V[xi] (36 products K x tiles times tiles x C, accumulated chunk by chunk),
/// then dw = G^T dU G: a quarter of direct's multiplications again.
/// Tiles per chunk: 128 to 512, about 8 MB of V and dM (winograd_gradient_scratch).
[[nodiscard]] std::int64_t winograd_gradient_chunk(const Winograd3x3& g);

/// Floats of the scratch `winograd_weights_gradient` needs: a chunk's V and dM, and dU
/// (36 x K x C).
[[nodiscard]] std::int64_t winograd_gradient_scratch(const Winograd3x3& g);

/// dw [K][C][3][3] (oihw) = the weights gradient given x and dy (d(loss)/dy), both nChw8c,
/// and db = dy summed over images and pixels where `db` is not null; both overwritten.
void winograd_weights_gradient(const Winograd3x3& g, const float* x, const float* dy, float* dw,
                               float* db, float* scratch, int threads);

}  // namespace archetype::onednn::detail
