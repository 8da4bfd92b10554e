// CIFAR-10 / CIFAR-100 binary batches.
#include <archetype/runtime/cifar.hpp>

#include <archetype/runtime/idx.hpp>  // read_file_bytes

#include <algorithm>
#include <string>
#include <system_error>
#include <vector>

namespace archetype::runtime {
namespace fs = std::filesystem;

namespace {

// Checks size and labels of every record, then converts. `label_at` is the offset of the
// label used within the record; `label_bytes` the number of label bytes (1 or 2).
void append_records(std::span<const unsigned char> bytes, std::string_view origin, Dataset& into,
                    std::size_t label_bytes, std::size_t label_at, const char* kind,
                    const char* record_layout) {
  const std::string o(origin);
  const std::size_t record = label_bytes + cifar_image_bytes;
  if (into.dims != ImageDims{3, 32, 32}) throw DataError(o + ": internal error: the data set is not 3x32x32");
  if (bytes.empty()) throw DataError(o + ": empty file, expected " + kind + " records");
  if (bytes.size() % record != 0) {
    throw DataError(o + ": size " + std::to_string(bytes.size()) + " bytes is not a multiple of the " +
                    std::to_string(record) + "-byte " + kind + " record (" + record_layout + "): " +
                    std::to_string(bytes.size() / record) + " records and " + std::to_string(bytes.size() % record) +
                    " bytes left over (truncated or not a " + kind + " binary file?)");
  }
  const std::size_t n = bytes.size() / record;
  // Validate every label before allocating.
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t b = 0; b < label_bytes; ++b) {
      const int limit = (label_bytes == 2 && b == 0) ? 20 : (label_bytes == 2 ? 100 : 10);
      const int v = bytes[i * record + b];
      if (v >= limit) {
        const char* which = label_bytes == 1 ? "label" : (b == 0 ? "coarse label" : "fine label");
        throw DataError(o + ": " + which + " " + std::to_string(v) + " of record " + std::to_string(i) +
                        " (byte offset " + std::to_string(i * record + b) + ") is out of range (expected 0.." +
                        std::to_string(limit - 1) + ")");
      }
    }
  }
  const std::size_t first = into.labels.size();
  into.labels.resize(first + n);
  into.images.resize((first + n) * cifar_image_bytes);
  constexpr float scale = 1.0f / 255.0f;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char* rec = bytes.data() + i * record;
    into.labels[first + i] = rec[label_at];
    float* dst = into.images.data() + (first + i) * cifar_image_bytes;
    std::transform(rec + label_bytes, rec + record, dst, [](unsigned char v) { return static_cast<float>(v) * scale; });
  }
}

// dir itself if it holds `probe`, else dir/sub if that does; throws naming dir otherwise.
fs::path cifar_dir(const fs::path& dir, const char* sub, const char* probe, const char* what) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw DataError(dir.string() + (fs::exists(dir, ec) ? ": not a directory" : ": no such directory") + " (" + what +
                    ")");
  }
  if (fs::exists(dir / probe, ec)) return dir;
  if (fs::exists(dir / sub / probe, ec)) return dir / sub;
  return dir;  // the loader names the missing file
}

Dataset cifar_dataset(std::string name, int classes) {
  Dataset d;
  d.name = std::move(name);
  d.dims = ImageDims{3, 32, 32};
  d.classes = classes;
  return d;
}

void require_files(const std::vector<fs::path>& files, const char* what) {
  std::error_code ec;
  for (const fs::path& f : files) {
    if (!fs::is_regular_file(f, ec)) {
      throw DataError(f.string() + ": no such file (" + what + " binary version expected)");
    }
  }
}

}  // namespace

void append_cifar10_records(std::span<const unsigned char> bytes, std::string_view origin, Dataset& into) {
  append_records(bytes, origin, into, 1, 0, "CIFAR-10", "1 label byte + 3072 pixel bytes");
}

void append_cifar100_records(std::span<const unsigned char> bytes, std::string_view origin, Dataset& into,
                             Cifar100Labels labels) {
  append_records(bytes, origin, into, 2, labels == Cifar100Labels::fine ? 1 : 0, "CIFAR-100",
                 "coarse and fine label bytes + 3072 pixel bytes");
}

Dataset load_cifar10(const fs::path& dir, Split split) {
  const fs::path base = cifar_dir(dir, "cifar-10-batches-bin", split == Split::train ? "data_batch_1.bin" : "test_batch.bin",
                                  "CIFAR-10");
  std::vector<fs::path> files;
  if (split == Split::train) {
    for (int i = 1; i <= 5; ++i) files.push_back(base / ("data_batch_" + std::to_string(i) + ".bin"));
  } else {
    files.push_back(base / "test_batch.bin");
  }
  require_files(files, "CIFAR-10");
  Dataset d = cifar_dataset(std::string("cifar10/") + to_string(split), 10);
  for (const fs::path& f : files) {
    const auto bytes = read_file_bytes(f, cifar_largest_file_bytes);
    append_cifar10_records(bytes, f.string(), d);
  }
  return d;
}

Dataset load_cifar100(const fs::path& dir, Split split, Cifar100Labels labels) {
  const char* file = split == Split::train ? "train.bin" : "test.bin";
  const fs::path base = cifar_dir(dir, "cifar-100-binary", file, "CIFAR-100");
  const fs::path path = base / file;
  require_files({path}, "CIFAR-100");
  Dataset d = cifar_dataset(std::string(labels == Cifar100Labels::fine ? "cifar100/" : "cifar100-coarse/") +
                                to_string(split),
                            labels == Cifar100Labels::fine ? 100 : 20);
  const auto bytes = read_file_bytes(path, cifar_largest_file_bytes);
  append_cifar100_records(bytes, path.string(), d, labels);
  return d;
}

}  // namespace archetype::runtime
