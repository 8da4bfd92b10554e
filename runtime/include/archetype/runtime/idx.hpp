// IDX files (MNIST, Fashion-MNIST, EMNIST, ...), gzipped or not: the format of
// http://yann.lecun.com/exdb/mnist/ — a big-endian header (magic 0x00000803 + count, rows,
// cols for images; 0x00000801 + count for labels) followed by unsigned bytes.
//
// Everything is validated before the float images are allocated: magic, element type,
// number of dimensions, sizes against the bytes actually present (a .gz file is decompressed
// first, so its real length is known), label range, image and label counts equal. Every
// error is a DataError whose message starts with the file's path.
#pragma once

#include <archetype/runtime/dataset.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace archetype::runtime {

// Where Debian's package dataset-fashion-mnist installs the four .gz files.
inline constexpr std::string_view debian_fashion_mnist_dir = "/usr/share/datasets/fashion-mnist";
// Overrides the default Fashion-MNIST directory when set and not empty.
inline constexpr std::string_view fashion_mnist_dir_env = "ARCHETYPE_FASHION_MNIST_DIR";

// $ARCHETYPE_FASHION_MNIST_DIR when set (not checked further: the loader reports what is
// missing), else the Debian directory when it holds t10k-images-idx3-ubyte[.gz]; otherwise
// nothing.
[[nodiscard]] std::optional<std::filesystem::path> find_fashion_mnist_dir();
// The same, but throws DataError when there is none: "Fashion-MNIST not found (looked in
// /usr/share/datasets/fashion-mnist): install dataset-fashion-mnist or pass
// --data fashion-mnist:DIR (or set ARCHETYPE_FASHION_MNIST_DIR)".
[[nodiscard]] std::filesystem::path default_fashion_mnist_dir();

// The whole content of a file, decompressed if it is gzipped (zlib's gzread reads plain
// files unchanged). Throws DataError for a missing or unreadable file, a corrupt or
// truncated gzip stream, or more than max_bytes of content.
[[nodiscard]] std::vector<unsigned char> read_file_bytes(const std::filesystem::path& path,
                                                         std::size_t max_bytes = std::size_t{1} << 32);

// The parsed content of an IDX image or label file, still as bytes.
struct IdxImages {
  std::uint32_t count = 0, rows = 0, cols = 0;
  std::span<const unsigned char> pixels;  // count × rows × cols, into the parsed buffer
};
struct IdxLabels {
  std::uint32_t count = 0;
  std::span<const unsigned char> labels;  // into the parsed buffer
};
// Parse (and validate) an IDX file's bytes; `origin` (the path) starts every error message.
[[nodiscard]] IdxImages parse_idx_images(std::span<const unsigned char> bytes, std::string_view origin);
// Labels must be < classes.
[[nodiscard]] IdxLabels parse_idx_labels(std::span<const unsigned char> bytes, std::string_view origin,
                                         int classes = 10);

// A pair of IDX files as a 1-channel data set with pixels / 255.
[[nodiscard]] Dataset load_idx(const std::filesystem::path& images_file,
                               const std::filesystem::path& labels_file, std::string name,
                               int classes = 10);

// The file for `stem` ("train-images-idx3-ubyte") in dir: stem.gz, stem, or the dotted
// variant ("train-images.idx3-ubyte[.gz]"). Throws DataError naming dir if none exists.
[[nodiscard]] std::filesystem::path find_idx_file(const std::filesystem::path& dir, std::string_view stem);

// {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] in dir; 10 classes, 1×28×28.
[[nodiscard]] Dataset load_mnist(const std::filesystem::path& dir, Split split);
[[nodiscard]] Dataset load_fashion_mnist(const std::filesystem::path& dir, Split split);
// From default_fashion_mnist_dir().
[[nodiscard]] Dataset load_fashion_mnist(Split split);

}  // namespace archetype::runtime
