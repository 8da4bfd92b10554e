// An image-classification data set held in memory: images as fp32 N×C×H×W (pixels scaled to
// [0,1], then optionally normalized per channel), one integer label per image.
#pragma once

#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace archetype::runtime {

// Every loader error: the message names the file (or directory) and the problem.
class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Split { train, test };

// "train" / "test".
[[nodiscard]] const char* to_string(Split split) noexcept;

// One image's logical dimensions (channels, height, width). Deliberately independent of the
// DSL's Shape: the runtime does not include the DSL.
struct ImageDims {
  int c = 0;
  int h = 0;
  int w = 0;

  // Floats in one image: c × h × w.
  [[nodiscard]] constexpr std::size_t size() const noexcept {
    return static_cast<std::size_t>(c) * static_cast<std::size_t>(h) * static_cast<std::size_t>(w);
  }
  friend constexpr bool operator==(const ImageDims&, const ImageDims&) = default;
};

struct Dataset {
  std::string name;             // "fashion-mnist/train", "cifar10/test", "synthetic", ...
  ImageDims dims;               // of one image
  int classes = 0;              // labels are in [0, classes)
  std::vector<float> images;    // size() × dims.size() floats, NCHW
  std::vector<int> labels;      // size() labels
  // The per-channel normalization applied so far, x' = (x - mean) / stddev (composed when
  // normalize() is called more than once); empty when the pixels are still in [0,1].
  std::vector<float> mean;
  std::vector<float> stddev;

  [[nodiscard]] std::size_t size() const noexcept { return labels.size(); }
  [[nodiscard]] bool empty() const noexcept { return labels.empty(); }

  // Image i (dims.size() floats).
  [[nodiscard]] const float* image(std::size_t i) const noexcept { return images.data() + i * dims.size(); }
  [[nodiscard]] float* image(std::size_t i) noexcept { return images.data() + i * dims.size(); }

  // The first min(n, size()) samples (same name, dims, classes, normalization).
  [[nodiscard]] Dataset subset(std::size_t n) const { return subset(0, n); }
  // The samples [first, first + n), clipped to the set.
  [[nodiscard]] Dataset subset(std::size_t first, std::size_t n) const;

  // Per channel: x = (x - mean[ch]) / stddev[ch]. Throws std::invalid_argument unless both
  // spans have dims.c entries and every stddev is positive and finite.
  void normalize(std::span<const float> mean, std::span<const float> stddev);

  // The per-channel value a black (0) pixel of the original [0,1] image has now: 0 before
  // normalization, -mean/stddev after. Augmentation pads with it, as torchvision does when
  // it pads before normalizing.
  [[nodiscard]] std::vector<float> black() const;

  // Per-channel mean and standard deviation (population) of the current pixel values.
  struct ChannelStats {
    std::vector<float> mean;
    std::vector<float> stddev;
  };
  [[nodiscard]] ChannelStats channel_stats() const;

  // Throws DataError (naming `name`) if the sizes are inconsistent or a label is outside
  // [0, classes). The loaders return valid data sets; this is for data built by hand.
  void validate() const;
};

}  // namespace archetype::runtime
