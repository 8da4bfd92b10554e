// IDX (MNIST-format) files, gzipped or not, read through zlib and validated before the
// float images are allocated.
#include <archetype/runtime/idx.hpp>

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <system_error>

namespace archetype::runtime {
namespace fs = std::filesystem;

namespace {

constexpr std::uint32_t idx_ubyte = 0x08;
constexpr std::uint32_t idx_images_magic = 0x00000803;
constexpr std::uint32_t idx_labels_magic = 0x00000801;

std::uint32_t read_be32(const unsigned char* p) noexcept {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", static_cast<unsigned>(v));
  return buf;
}

std::string hex8(std::uint32_t v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", static_cast<unsigned>(v & 0xFFu));
  return buf;
}

const char* idx_type_name(std::uint32_t type) {
  switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return "unknown type";
  }
}

std::string plural(std::uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// Magic, then a header of `dims` big-endian uint32 sizes. Returns the sizes.
std::vector<std::uint32_t> parse_header(std::span<const unsigned char> bytes, std::string_view origin,
                                        std::uint32_t expected_magic, const char* what, const char* dims_meaning) {
  const std::string o(origin);
  if (bytes.empty()) throw DataError(o + ": empty file, expected " + what);
  const std::uint32_t dims = expected_magic & 0xFFu;
  const std::size_t header = 4 + 4 * std::size_t{dims};
  if (bytes.size() < 4) {
    throw DataError(o + ": truncated header: " + plural(bytes.size(), "byte", "bytes") + ", " + what + " start with a " +
                    std::to_string(header) + "-byte header");
  }
  const std::uint32_t magic = read_be32(bytes.data());
  if (magic != expected_magic) {
    std::string why;
    const std::uint32_t type = (magic >> 8) & 0xFFu;
    const std::uint32_t got_dims = magic & 0xFFu;
    if ((magic >> 16) != 0) {
      why = "not an IDX file (the first two bytes of an IDX file are zero)";
    } else if (type != idx_ubyte) {
      why = "element type " + hex8(type) + " (" + idx_type_name(type) + "), only " + hex8(idx_ubyte) +
            " (unsigned byte) is supported";
    } else {
      why = "wrong number of dimensions: the file has " + plural(got_dims, "dimension", "dimensions") + ", " + what +
            " have " + std::to_string(dims) + " (" + dims_meaning + ")";
      if (got_dims == (idx_labels_magic & 0xFFu) || got_dims == (idx_images_magic & 0xFFu)) {
        why += got_dims == 1 ? "; is this a labels file?" : "; is this an images file?";
      }
    }
    throw DataError(o + ": bad magic " + hex32(magic) + ", expected " + hex32(expected_magic) + " (" + what +
                    "): " + why);
  }
  if (bytes.size() < header) {
    throw DataError(o + ": truncated header: " + plural(bytes.size(), "byte", "bytes") + ", the " + what +
                    " header is " + std::to_string(header) + " bytes (magic, " + dims_meaning + ")");
  }
  std::vector<std::uint32_t> sizes(dims);
  for (std::uint32_t d = 0; d < dims; ++d) sizes[d] = read_be32(bytes.data() + 4 + 4 * d);
  return sizes;
}

// a × b, saturating at the largest uint64.
std::uint64_t mul_sat(std::uint64_t a, std::uint64_t b) noexcept {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return std::numeric_limits<std::uint64_t>::max();
  return a * b;
}

void check_body(std::span<const unsigned char> bytes, std::size_t header, std::uint64_t expected,
                std::string_view origin, const std::string& says) {
  const std::uint64_t body = bytes.size() - header;
  if (body < expected) {
    throw DataError(std::string(origin) + ": truncated: header says " + says + " (" + std::to_string(expected) +
                    " bytes) but only " + std::to_string(body) + " bytes follow");
  }
  if (body > expected) {
    throw DataError(std::string(origin) + ": size mismatch: header says " + says + " (" + std::to_string(expected) +
                    " bytes) but " + std::to_string(body) + " bytes follow (" + std::to_string(body - expected) +
                    " extra)");
  }
}

struct GzCloser {
  void operator()(gzFile f) const noexcept { gzclose(f); }
};

}  // namespace

namespace {

// Up to max_bytes of the (decompressed) content of `path`; sets `longer` when there is more
// (then max_bytes + 1 bytes were read, never more) and `compressed` when the file is gzipped.
// Throws DataError for everything else.
// With `prefix`, it only reads the first max_bytes bytes (a header) and never refuses.
std::vector<unsigned char> read_bounded(const fs::path& path, std::size_t max_bytes, bool& longer,
                                        bool& compressed, bool prefix = false) {
  const std::string p = path.string();
  longer = false;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) throw DataError(p + ": no such file");
  if (fs::is_directory(st)) throw DataError(p + ": is a directory, expected a file");
  errno = 0;
  std::unique_ptr<gzFile_s, GzCloser> file(gzopen(p.c_str(), "rb"));
  if (!file) {
    throw DataError(p + ": cannot open: " + (errno != 0 ? std::strerror(errno) : "out of memory"));
  }
  gzbuffer(file.get(), 1u << 20);
  std::vector<unsigned char> out;
  const std::uintmax_t on_disk = fs::file_size(path, ec);
  // A plain (not gzipped) file's size is its content's: one too large is refused unread.
  // (gzdirect looks at the first bytes for the gzip header.)
  if (!prefix && !ec && on_disk > max_bytes && gzdirect(file.get()) == 1) {
    longer = true;
    compressed = false;
    return out;
  }
  if (!ec) out.reserve(static_cast<std::size_t>(std::min<std::uintmax_t>(on_disk, max_bytes)));
  constexpr std::size_t chunk = std::size_t{1} << 22;
  for (;;) {
    // Up to one byte more than max_bytes, to tell "exactly max_bytes" from "more".
    const std::size_t remaining = max_bytes - out.size();  // out.size() <= max_bytes here
    const std::size_t want = remaining < chunk ? remaining + 1 : chunk;
    const std::size_t at = out.size();
    out.resize(at + want);
    const int got = gzread(file.get(), out.data() + at, static_cast<unsigned>(want));
    if (got < 0) {
      int code = 0;
      const char* msg = gzerror(file.get(), &code);
      if (code == Z_DATA_ERROR) throw DataError(p + ": corrupt gzip data: " + msg);
      if (code == Z_BUF_ERROR) throw DataError(p + ": truncated gzip stream (unexpected end of file)");
      throw DataError(p + ": cannot read: " + (code == Z_ERRNO ? std::strerror(errno) : msg));
    }
    out.resize(at + static_cast<std::size_t>(got));
    if (out.size() > max_bytes) {
      if (prefix) {
        out.resize(max_bytes);
        return out;
      }
      longer = true;
      compressed = gzdirect(file.get()) == 0;
      return out;
    }
    if (static_cast<std::size_t>(got) < want) break;  // end of file (or of the gzip stream)
  }
  int code = Z_OK;
  const char* msg = gzerror(file.get(), &code);
  if (code == Z_BUF_ERROR) {
    throw DataError(p + ": truncated gzip stream (unexpected end of file after " + std::to_string(out.size()) +
                    " decompressed bytes)");
  }
  if (code != Z_OK && code != Z_STREAM_END) throw DataError(p + ": corrupt gzip data: " + msg);
  out.shrink_to_fit();
  return out;
}

// An IDX file's content, read no further than its header announces (plus one byte, to
// report a longer file): a small file whose gzip stream inflates to gigabytes, or a
// header announcing more than the file holds, costs no more memory than the header's
// figure or the bytes actually present. `header` is 8 (labels) or 16 (images).
std::vector<unsigned char> read_idx_bytes(const fs::path& path, std::uint32_t expected_magic,
                                          const char* what, const char* dims_meaning) {
  bool longer = false, compressed = false;
  const std::size_t header = 4 + 4 * std::size_t(expected_magic & 0xFFu);
  const std::vector<unsigned char> head = read_bounded(path, header, longer, compressed, true);
  const std::string origin = path.string();
  const auto sizes = parse_header(head, origin, expected_magic, what, dims_meaning);
  std::uint64_t body = 1;
  for (const std::uint32_t d : sizes) body = mul_sat(body, d);
  // Up to 1 MiB beyond the announced size is read, so that the parser can say exactly how
  // many bytes are extra; beyond that the file is refused here.
  constexpr std::uint64_t cap = std::uint64_t{1} << 32;  // read_file_bytes' default limit
  constexpr std::uint64_t slack = std::uint64_t{1} << 20;
  const std::uint64_t announced = body > cap ? cap + header : body + header;
  const std::uint64_t limit = std::min(announced + slack, cap);
  std::vector<unsigned char> bytes =
      read_bounded(path, static_cast<std::size_t>(limit), longer, compressed);
  if (longer) {
    std::string says;
    for (std::size_t i = 0; i < sizes.size(); ++i)
      says += (i ? "x" : "") + std::to_string(sizes[i]);
    if (limit == cap)
      throw DataError(origin + ": more than " + std::to_string(cap) + " bytes of content");
    throw DataError(origin + ": size mismatch: the header (" + dims_meaning + " = " + says +
                    ") announces " + std::to_string(announced) + " bytes in all, but the " +
                    (compressed ? "decompressed content" : "file") + " has more than " +
                    std::to_string(slack) + " bytes beyond that");
  }
  return bytes;
}

}  // namespace

std::vector<unsigned char> read_file_bytes(const fs::path& path, std::size_t max_bytes) {
  bool longer = false, compressed = false;
  std::vector<unsigned char> out = read_bounded(path, max_bytes, longer, compressed);
  if (longer) {
    throw DataError(path.string() + ": more than " + std::to_string(max_bytes) +
                    " bytes of content" + (compressed ? " after decompression" : ""));
  }
  return out;
}

IdxImages parse_idx_images(std::span<const unsigned char> bytes, std::string_view origin) {
  const auto sizes = parse_header(bytes, origin, idx_images_magic, "IDX images", "count, rows, cols");
  IdxImages out{sizes[0], sizes[1], sizes[2], {}};
  const std::string o(origin);
  if (out.rows == 0 || out.cols == 0) {
    throw DataError(o + ": header says images of " + std::to_string(out.rows) + "x" + std::to_string(out.cols) +
                    " pixels: empty images");
  }
  if (out.count == 0) throw DataError(o + ": header says 0 images: nothing to load");
  const std::uint64_t expected = mul_sat(mul_sat(out.count, out.rows), out.cols);
  check_body(bytes, 16, expected, origin,
             plural(out.count, "image", "images") + " of " + std::to_string(out.rows) + "x" + std::to_string(out.cols));
  out.pixels = bytes.subspan(16);
  return out;
}

IdxLabels parse_idx_labels(std::span<const unsigned char> bytes, std::string_view origin, int classes) {
  const auto sizes = parse_header(bytes, origin, idx_labels_magic, "IDX labels", "count");
  IdxLabels out{sizes[0], {}};
  const std::string o(origin);
  if (out.count == 0) throw DataError(o + ": header says 0 labels: nothing to load");
  check_body(bytes, 8, out.count, origin, plural(out.count, "label", "labels"));
  out.labels = bytes.subspan(8);
  for (std::size_t i = 0; i < out.labels.size(); ++i) {
    if (static_cast<int>(out.labels[i]) >= classes) {
      throw DataError(o + ": label " + std::to_string(out.labels[i]) + " at index " + std::to_string(i) +
                      " is out of range (expected 0.." + std::to_string(classes - 1) + ")");
    }
  }
  return out;
}

Dataset load_idx(const fs::path& images_file, const fs::path& labels_file, std::string name, int classes) {
  const auto image_bytes =
      read_idx_bytes(images_file, idx_images_magic, "IDX images", "count, rows, cols");
  const IdxImages images = parse_idx_images(image_bytes, images_file.string());
  const auto label_bytes = read_idx_bytes(labels_file, idx_labels_magic, "IDX labels", "count");
  const IdxLabels labels = parse_idx_labels(label_bytes, labels_file.string(), classes);
  if (images.count != labels.count) {
    throw DataError(images_file.string() + ": image and label counts differ: " +
                    plural(images.count, "image", "images") + " here but " +
                    plural(labels.count, "label", "labels") + " in " + labels_file.string());
  }
  if (images.rows > static_cast<std::uint32_t>(INT_MAX) || images.cols > static_cast<std::uint32_t>(INT_MAX)) {
    throw DataError(images_file.string() + ": images of " + std::to_string(images.rows) + "x" +
                    std::to_string(images.cols) + " are too large");
  }
  Dataset out;
  out.name = std::move(name);
  out.dims = ImageDims{1, static_cast<int>(images.rows), static_cast<int>(images.cols)};
  out.classes = classes;
  out.images.resize(images.pixels.size());
  constexpr float scale = 1.0f / 255.0f;
  std::transform(images.pixels.begin(), images.pixels.end(), out.images.begin(),
                 [](unsigned char v) { return static_cast<float>(v) * scale; });
  out.labels.assign(labels.labels.begin(), labels.labels.end());
  return out;
}

fs::path find_idx_file(const fs::path& dir, std::string_view stem) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw DataError(dir.string() + (fs::exists(dir, ec) ? ": not a directory" : ": no such directory"));
  }
  std::string dotted(stem);
  if (const auto at = dotted.find("-idx"); at != std::string::npos) dotted[at] = '.';
  for (const std::string& name : {std::string(stem) + ".gz", std::string(stem), dotted + ".gz", dotted}) {
    const fs::path candidate = dir / name;
    if (fs::is_regular_file(candidate, ec)) return candidate;
  }
  throw DataError(dir.string() + ": no " + std::string(stem) + "[.gz] (or " + dotted + "[.gz]) in this directory");
}

namespace {
Dataset load_mnist_like(const fs::path& dir, Split split, const char* name) {
  const std::string prefix = split == Split::train ? "train" : "t10k";
  const fs::path images = find_idx_file(dir, prefix + "-images-idx3-ubyte");
  const fs::path labels = find_idx_file(dir, prefix + "-labels-idx1-ubyte");
  return load_idx(images, labels, std::string(name) + "/" + to_string(split), 10);
}
}  // namespace

Dataset load_mnist(const fs::path& dir, Split split) { return load_mnist_like(dir, split, "mnist"); }
Dataset load_fashion_mnist(const fs::path& dir, Split split) { return load_mnist_like(dir, split, "fashion-mnist"); }
Dataset load_fashion_mnist(Split split) { return load_fashion_mnist(default_fashion_mnist_dir(), split); }

std::optional<fs::path> find_fashion_mnist_dir() {
  if (const char* env = std::getenv(std::string(fashion_mnist_dir_env).c_str()); env != nullptr && *env != '\0') {
    return fs::path(env);
  }
  const fs::path debian(debian_fashion_mnist_dir);
  std::error_code ec;
  for (const char* f : {"t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte"}) {
    if (fs::is_regular_file(debian / f, ec)) return debian;
  }
  return std::nullopt;
}

fs::path default_fashion_mnist_dir() {
  if (auto dir = find_fashion_mnist_dir()) return *dir;
  throw DataError("Fashion-MNIST not found (looked in " + std::string(debian_fashion_mnist_dir) +
                  "): install dataset-fashion-mnist or pass --data fashion-mnist:DIR (or set " +
                  std::string(fashion_mnist_dir_env) + "=DIR)");
}

}  // namespace archetype::runtime
