// Decoding JPEG and PNG files (Debian's libjpeg-turbo and libpng) and the transforms of an image
// folder: the resize to the model's input, the random resized crop, the flip, the
// normalization. Every error is a DataError whose message starts with the file's name.
//
// Conventions (those of torchvision with PIL, where the pretrained weights come from):
// - Pixels are decoded to 8 bits per sample: 16-bit PNG samples are scaled by libpng's
//   png_set_scale_16 (v·255/65535, rounded); palettes are expanded; alpha (an alpha channel
//   or a tRNS chunk) is dropped without compositing, as PIL's convert("RGB") does.
// - Channels: a grey image fed to a 3-channel model is replicated into R, G and B; a colour
//   image fed to a 1-channel model becomes L = 0.299 R + 0.587 G + 0.114 B (ITU-R 601-2 luma,
//   PIL's convert("L")), rounded to 8 bits.
// - Resizing is bilinear, antialiased when shrinking: PIL's and torchvision's
//   (antialias=True) triangle filter, whose support widens by the shrink factor so every
//   source pixel contributes; computed in float, each axis separately.
// - A JPEG whose data ends early or is corrupt is an error (libjpeg-turbo's warnings are
//   errors, except "extraneous bytes before marker", which every viewer ignores); CMYK JPEGs
//   are refused (libjpeg-turbo does not convert them to RGB).
#pragma once

#include <archetype/runtime/augment.hpp>
#include <archetype/runtime/dataset.hpp>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace archetype::runtime {

/// What a file may claim before anything is allocated for its pixels.
struct ImageLimits {
  int max_side = 32768;                                   ///< pixels, width or height
  std::int64_t max_pixels = std::int64_t{1} << 27;        ///< width × height (134 megapixels)
  std::uint64_t max_file_bytes = std::uint64_t{1} << 30;  ///< 1 GiB
};

enum class ImageFormat { unknown, jpeg, png };

/// The format the first bytes announce (JPEG: FF D8 FF; PNG: its 8-byte signature), whatever
/// the file's name says.
[[nodiscard]] ImageFormat sniff_image_format(std::span<const unsigned char> bytes) noexcept;

/// An 8-bit image, interleaved: pixels[(y·width + x)·channels + c].
struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;  ///< 1 (grey) or 3 (RGB)
  std::vector<unsigned char> pixels;
};

/// Decodes a JPEG or PNG file held in memory into `channels` (1 or 3) channels. Throws
/// DataError "ORIGIN: …" when the bytes are neither, are corrupt or truncated, or announce
/// an image beyond `limits` (checked before the pixels are allocated).
[[nodiscard]] Image decode_image(std::span<const unsigned char> bytes, const std::string& origin,
                                 int channels, const ImageLimits& limits = {});

/// Reads `path` (refusing a file over limits.max_file_bytes before reading it) and decodes it.
[[nodiscard]] Image read_image(const std::filesystem::path& path, int channels,
                               const ImageLimits& limits = {});

/// Writes `image` (8-bit, 1 or 3 channels) as a PNG file with libpng, replacing `path`
/// through a temporary file so that a crash leaves no half-written image. Throws DataError
/// naming the path when the image is inconsistent or the file cannot be written.
void write_png(const std::filesystem::path& path, const Image& image);

/// A rectangle of an image, in pixels.
struct CropBox {
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
  friend constexpr bool operator==(const CropBox&, const CropBox&) = default;
};

/// torchvision's RandomResizedCrop.get_params with its defaults (scale 0.08–1, ratio 3/4–4/3):
/// up to 10 draws of an area fraction (uniform) and a log-uniform aspect ratio, the first box
/// that fits placed uniformly; else the whole image centre-cropped to the nearest allowed ratio.
[[nodiscard]] CropBox random_resized_crop(int width, int height, SplitMix64& rng,
                                          double min_scale = 0.08, double max_scale = 1.0,
                                          double min_ratio = 3.0 / 4.0,
                                          double max_ratio = 4.0 / 3.0);

/// The per-channel normalization x' = (x/255 − mean[c]) / stddev[c] of a decoded image.
struct Normalization {
  std::vector<float> mean;    ///< one per channel; empty: 0
  std::vector<float> stddev;  ///< one per channel; empty: 1
  /// ImageNet's statistics (torchvision's pretrained models): mean 0.485, 0.456, 0.406 and
  /// deviation 0.229, 0.224, 0.225; for 1 channel their averages, 0.449 and 0.226.
  [[nodiscard]] static Normalization imagenet(int channels);
};

/// Resizes `box` of `image` to out_h × out_w (antialiased bilinear, see above), mirrored
/// left-right when `flip`, normalized, into `out` as planar floats (C × out_h × out_w). The box
/// must lie inside the image.
void resize_into(const Image& image, CropBox box, int out_h, int out_w, bool flip,
                 const Normalization& normalization, float* out);

}  // namespace archetype::runtime
