// CIFAR-10 and CIFAR-100 in their binary versions (https://www.cs.toronto.edu/~kriz/cifar.html):
// fixed-size records of label byte(s) followed by 3072 pixel bytes (1024 red, 1024 green,
// 1024 blue, each row-major 32×32), i.e. already CHW.
//   CIFAR-10:  data_batch_1.bin … data_batch_5.bin, test_batch.bin; record = 1 + 3072 bytes.
//   CIFAR-100: train.bin, test.bin; record = 2 (coarse, fine) + 3072 bytes.
// `dir` may be the directory holding the files or its parent (the archives unpack into
// cifar-10-batches-bin/ and cifar-100-binary/). Errors (DataError) name the file: missing,
// empty, size not a multiple of the record, label out of range.
#pragma once

#include <archetype/runtime/dataset.hpp>

#include <cstddef>
#include <filesystem>
#include <span>
#include <string_view>

namespace archetype::runtime {

inline constexpr std::size_t cifar_image_bytes = 3 * 32 * 32;
inline constexpr std::size_t cifar10_record_bytes = 1 + cifar_image_bytes;   // 3073
inline constexpr std::size_t cifar100_record_bytes = 2 + cifar_image_bytes;  // 3074

// The largest binary batch the loaders read (1 GiB, about 349,000 records, seven times the
// largest official file): a bigger file is refused before it is read, not loaded into RAM
// and converted to four times its size in floats.
inline constexpr std::size_t cifar_largest_file_bytes = std::size_t{1} << 30;

enum class Cifar100Labels { fine, coarse };  // 100 or 20 classes

[[nodiscard]] Dataset load_cifar10(const std::filesystem::path& dir, Split split);
[[nodiscard]] Dataset load_cifar100(const std::filesystem::path& dir, Split split,
                                    Cifar100Labels labels = Cifar100Labels::fine);

// One binary file of either kind, appended to `into` (whose dims must be 3×32×32 and
// classes set). `origin` starts error messages. Used by the loaders above and by tests.
void append_cifar10_records(std::span<const unsigned char> bytes, std::string_view origin, Dataset& into);
void append_cifar100_records(std::span<const unsigned char> bytes, std::string_view origin, Dataset& into,
                             Cifar100Labels labels = Cifar100Labels::fine);

}  // namespace archetype::runtime
