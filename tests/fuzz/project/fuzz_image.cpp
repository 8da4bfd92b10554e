// JPEG and PNG decoding (libjpeg-turbo, libpng) and the transforms of an image folder. The
// mode byte: bit 0 picks 1 or 3 channels; bits 1-2: decode from memory (0), decode then
// resize a random resized crop to a size the next bits choose, flipped or not (1, 2), or read
// the input as a file (3). Smaller limits than the default keep each input fast; a file may
// be refused only by a DataError that names it.
#include "common.hpp"

#include <archetype/runtime/image.hpp>

#include <vector>

using namespace archetype;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto bytes = fuzz::body(data, size);
  const int channels = data[0] & 1 ? 3 : 1;
  const int mode = (data[0] >> 1) & 3;
  runtime::ImageLimits limits;
  limits.max_side = 4096;
  limits.max_pixels = std::int64_t{1} << 20;
  limits.max_file_bytes = 1 << 16;
  const std::string origin = "fuzz.image";
  try {
    if (mode == 3) {
      const auto path = fuzz::scratch_file("image", bytes);
      const runtime::Image image = runtime::read_image(path, channels, limits);
      if (image.channels != channels) std::abort();
      return 0;
    }
    const runtime::Image image = runtime::decode_image(bytes, origin, channels, limits);
    if (image.channels != channels || image.width < 1 || image.height < 1 ||
        image.pixels.size() !=
            std::size_t(image.width) * std::size_t(image.height) * std::size_t(channels)) {
      std::abort();
    }
    if (mode == 0) return 0;
    runtime::SplitMix64 rng(data[0]);
    const runtime::CropBox box = runtime::random_resized_crop(image.width, image.height, rng);
    if (box.x < 0 || box.y < 0 || box.width < 1 || box.height < 1 ||
        box.x + box.width > image.width || box.y + box.height > image.height) {
      std::abort();
    }
    const int side = 1 + (data[0] >> 3) % 32;
    std::vector<float> out(std::size_t(channels) * std::size_t(side) * std::size_t(side + 1));
    runtime::resize_into(image, box, side, side + 1, mode == 2,
                         runtime::Normalization::imagenet(channels), out.data());
    // Bilinear weights are non-negative and sum to 1: every value lies in the normalized range.
    for (float v : out) {
      if (!(v >= (0.0f - 0.485f) / 0.225f - 0.01f && v <= (1.0f - 0.406f) / 0.224f + 0.01f))
        std::abort();
    }
  } catch (const runtime::DataError& e) {
    const std::string m = e.what();
    if (mode == 3) {
      if (m.find("archetype-fuzz-") == std::string::npos) std::abort();
    } else {
      fuzz::expect_named(m, origin);
    }
  }
  return 0;
}
