#pragma once
/// \file
/// \brief Internal: a 1x1 convolution and the depthwise convolution reading its result as
/// one kernel of our own (AVX-512), for inference: MobileNetV2's and EfficientNet's
/// expansions.
///
/// Per image (or per group of 16-channel blocks of it), the 1x1 chain's rows are computed
/// into a ring of K rows that stays in the cache, activated there, and read by the depthwise
/// chain, whose rows are activated and stored: the expanded tensor (6x the block's input)
/// is never written to memory, and both activations run on values in registers. oneDNN
/// 2.6 fuses such a pair only over values blocked by 16 channels and only with its own
/// swish (0.27 ns a value inside the fused kernel); this one takes channels-last or
/// blocked values, and its SiLU is `silu16`. `reports/performance-targets.md` (session 20)
/// has the profile that led to it and the A/B.
#include <cstdint>

namespace archetype::onednn::detail {

/// What a folded chain ends in.
enum class Activation : std::uint8_t { none, relu, relu6, silu };

/// The pair's geometry and the layouts of its source and destination. A value's address
/// (in floats) is `n * image + (c / 16) * block + p * pixel + c % 16` for image n, channel c
/// and pixel p (row-major): channels-last is {H W C, 16, C}, nChw16c {ceil(C / 16) 16 H W,
/// 16 H W, 16}.
struct PointwiseDepthwise {
  int batch = 1;
  int in_channels = 0;        ///< the 1x1's input channels (any number)
  int channels = 0;           ///< the 1x1's output channels = the depthwise's: a multiple of 16
  int height = 0, width = 0;  ///< the 1x1's image (its input's and output's)
  int kernel = 3, stride = 1, pad = 1;  ///< the depthwise's (square; kernel 3 or 5)
  Activation first = Activation::none, second = Activation::none;
  std::int64_t x_image = 0, x_block = 0, x_pixel = 0;  ///< the source's layout
  std::int64_t y_image = 0, y_block = 0, y_pixel = 0;  ///< the destination's layout
  [[nodiscard]] int out_height() const { return (height + 2 * pad - kernel) / stride + 1; }
  [[nodiscard]] int out_width() const { return (width + 2 * pad - kernel) / stride + 1; }
  /// Sets the layouts from the geometry: nChw16c (`blocked`) or channels-last, each side.
  void set_layouts(bool x_blocked, bool y_blocked) {
    const std::int64_t hw = std::int64_t{height} * width,
                       out_hw = std::int64_t{out_height()} * out_width();
    x_image = (x_blocked ? (in_channels + 15) / 16 * 16 : in_channels) * hw;
    x_block = x_blocked ? 16 * hw : 16;
    x_pixel = x_blocked ? 16 : in_channels;
    y_image = channels * out_hw;
    y_block = y_blocked ? 16 * out_hw : 16;
    y_pixel = y_blocked ? 16 : channels;
  }
};

/// Whether this CPU runs the kernel (AVX-512F).
[[nodiscard]] bool pointwise_depthwise_cpu();

/// Whether this CPU and `g` can run `pointwise_depthwise` (AVX-512F; kernel 3 or 5, stride
/// 1 or 2, channels a multiple of 16).
[[nodiscard]] bool pointwise_depthwise_available(const PointwiseDepthwise& g);

/// The weights in the kernel's layouts, from plain ones (oihw: `w1` [channels][in_channels],
/// `wd` [channels][kernel][kernel]): `packed1` [channels / 16][in_channels][16], `packedd`
/// [channels / 16][kernel * kernel][16].
void pack_pointwise_depthwise(const PointwiseDepthwise& g, const float* w1, const float* wd,
                              float* packed1, float* packedd);

/// Floats of the scratch one thread uses (its ring of rows).
[[nodiscard]] std::int64_t pointwise_depthwise_scratch(const PointwiseDepthwise& g);

/// y = act2(depthwise(act1(conv1x1(x, w1) + b1), wd) + b2), on the OpenMP threads, with the
/// packed weights and `scratch` of `pointwise_depthwise_scratch(g)` floats per thread of
/// `threads` (at least omp_get_max_threads()).
void pointwise_depthwise(const PointwiseDepthwise& g, const float* x, const float* packed1,
                         const float* b1, const float* packedd, const float* b2, float* y,
                         float* scratch, int threads);

}  // namespace archetype::onednn::detail
