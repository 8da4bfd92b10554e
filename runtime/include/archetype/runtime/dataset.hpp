// An image-classification data set held in memory: images as fp32 N×C×H×W (pixels scaled to
// [0,1], then optionally normalized per channel), one integer label per image. Or the labels
// only, the images read on demand from a SampleSource (an image folder).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
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

/// Images read on demand rather than held in Dataset::images (an image folder:
/// archetype/runtime/image_folder.hpp); fill_batch asks it for each sample.
class SampleSource {
 public:
  virtual ~SampleSource() = default;
  /// Writes sample `index` (dims.size() normalized floats, NCHW) into `out`. Training
  /// (`resized_crop`, `flip`): the random choices come from `seed` alone. Returns false when
  /// the sample cannot be read (the source names it once and counts it), or throws
  /// DataError naming it when the source is strict. Called from several threads at once.
  virtual bool load(std::size_t index, bool resized_crop, bool flip, std::uint64_t seed,
                    float* out) const = 0;
  /// How many threads load the samples of one batch together.
  [[nodiscard]] virtual int threads() const noexcept = 0;
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
  // Set: `images` is empty and the source loads sample i (labels[i]) when a batch needs it,
  // normalized with mean/stddev above.
  std::shared_ptr<const SampleSource> source;

  [[nodiscard]] std::size_t size() const noexcept { return labels.size(); }
  [[nodiscard]] bool empty() const noexcept { return labels.empty(); }

  // Image i (dims.size() floats); held in memory only (no source).
  [[nodiscard]] const float* image(std::size_t i) const noexcept { return images.data() + i * dims.size(); }
  [[nodiscard]] float* image(std::size_t i) noexcept { return images.data() + i * dims.size(); }

  // The first min(n, size()) samples (same name, dims, classes, normalization).
  [[nodiscard]] Dataset subset(std::size_t n) const { return subset(0, n); }
  // The samples [first, first + n), clipped to the set.
  [[nodiscard]] Dataset subset(std::size_t first, std::size_t n) const;

  // Per channel: x = (x - mean[ch]) / stddev[ch]. Throws std::invalid_argument unless both
  // spans have dims.c entries and every stddev is positive and finite, or with a source.
  void normalize(std::span<const float> mean, std::span<const float> stddev);

  // The per-channel value a black (0) pixel of the original [0,1] image has now: 0 before
  // normalization, -mean/stddev after. Augmentation pads with it, as torchvision does when
  // it pads before normalizing.
  [[nodiscard]] std::vector<float> black() const;

  // Per-channel mean and standard deviation (population) of the current pixel values (in
  // memory; with a source: throws std::invalid_argument).
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
