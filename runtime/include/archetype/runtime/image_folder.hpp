// A folder of the user's own images, laid out as torchvision's ImageFolder and Keras's
// flow_from_directory read it:
//
//   DIR/train/CLASS/…/*.jpg|*.jpeg|*.png    DIR/val/CLASS/…/*.jpg|*.jpeg|*.png
//
// Classes are the folders of DIR/train, sorted by name (byte order, as Python's sorted());
// label i is classes[i]. A folder of DIR/val that DIR/train lacks is an error naming it; a
// class of train may be missing from val. Files are listed recursively under each class
// folder (directory links below a class folder are not followed, so a link loop cannot hang
// the scan), in path order; names starting with '.' are skipped (.ipynb_checkpoints would
// otherwise be a class), as are files of other extensions (the count is kept).
//
// The images are decoded when a batch needs them (archetype/runtime/image.hpp: libjpeg-turbo,
// libpng), by the source's threads, on the thread that prepares the next batch
// (PrefetchingBatchIterator): training steps overlap decoding. Training: random resized crop
// (torchvision's defaults), random horizontal flip, resize to the model's input; evaluation:
// the whole image resized to the model's input (Keras's target_size: the aspect ratio is not
// kept). Then x' = (x/255 − mean) / stddev per channel.
//
// A file that cannot be read — empty, neither JPEG nor PNG by its content, truncated,
// corrupt, too large — is named on `log` once and counted (skipped()); found at the scan it
// is left out, found while decoding it is replaced in training by the next readable image of
// the epoch and left out of evaluation scores. With `strict`, the first one throws DataError.
#pragma once

#include <archetype/runtime/dataset.hpp>
#include <archetype/runtime/image.hpp>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace archetype::runtime {

struct ImageFolderOptions {
  ImageDims dims;               ///< the model's input; channels 1 or 3
  Normalization normalization;  ///< empty: Normalization::imagenet(dims.c)
  bool strict = false;          ///< an unreadable file stops the run (DataError)
  int threads = 0;              ///< decoding threads per batch; 0: every core
  ImageLimits limits{};
  std::FILE* log = stderr;  ///< where unreadable files are named; nullptr: nowhere
};

struct ImageFolder {
  std::filesystem::path root;
  std::vector<std::string> classes;  ///< sorted; label i is classes[i]
  Dataset train;                     ///< "DIR/train", images read by its source
  Dataset val;                       ///< "DIR/val"
  std::size_t ignored = 0;           ///< files not named .jpg, .jpeg or .png (not listed)
  /// Unreadable files skipped so far, both splits (at the scan and while decoding).
  [[nodiscard]] std::size_t skipped() const noexcept { return skipped_ ? skipped_->load() : 0; }

  std::shared_ptr<std::atomic<std::size_t>> skipped_;
};

/// Scans `root` (its train/ and val/ folders) and returns the two splits, ready for
/// fill_batch and the trainer. Throws DataError naming the path for a layout it cannot use:
/// root, train/ or val/ missing; no class folders; a class of train without a readable image;
/// a class of val that train lacks; no image in val.
[[nodiscard]] ImageFolder load_image_folder(const std::filesystem::path& root,
                                            const ImageFolderOptions& options);

}  // namespace archetype::runtime
