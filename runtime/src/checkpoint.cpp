#include <archetype/runtime/checkpoint.hpp>

#include "file_io.hpp"

#include <zlib.h>

#include <array>
#include <cstring>
#include <fstream>
#include <string>

namespace archetype::runtime {
namespace {

constexpr std::array<char, 8> magic = {'A', 'R', 'C', 'H', 'C', 'K', 'P', 'T'};
constexpr std::uint32_t version = 1;
// magic, version, fingerprint, epochs_done, steps_done, seed, n_params, n_buffers, n_state
constexpr std::size_t header_bytes = 8 + 4 + 8 + 4 + 8 + 8 + 8 + 8 + 8;  // 64
constexpr std::size_t crc_bytes = 4;
constexpr std::size_t counts_at = 40;  // n_params, then n_buffers and n_state, 8 bytes each

struct Writer {
  std::vector<unsigned char> bytes;
  template <class T>
  void put(const T& value) {
    const auto* p = reinterpret_cast<const unsigned char*>(&value);
    bytes.insert(bytes.end(), p, p + sizeof(T));
  }
  void put_floats(std::span<const float> values) {
    const auto* p = reinterpret_cast<const unsigned char*>(values.data());
    bytes.insert(bytes.end(), p, p + values.size_bytes());
  }
};

template <class T>
T read_at(std::span<const unsigned char> bytes, std::size_t at) {
  T value;
  std::memcpy(&value, bytes.data() + at, sizeof(T));
  return value;
}

[[noreturn]] void fail(const std::string& origin, const std::string& why) {
  throw CheckpointError(origin + ": " + why);
}

/// Checks the header (the first 64 bytes, or fewer when the file is shorter) against the
/// file's size; returns the size the header announces, which then equals `file_size`.
std::uint64_t check_header(std::span<const unsigned char> head, std::uint64_t file_size,
                           const std::string& origin) {
  const std::size_t m = std::min(head.size(), magic.size());
  if (file_size == 0) fail(origin, "empty file, expected an Archetype checkpoint");
  if (std::memcmp(head.data(), magic.data(), m) != 0) {
    fail(origin, "not an Archetype checkpoint (bad magic at offset 0: expected \"ARCHCKPT\")");
  }
  if (file_size < header_bytes + crc_bytes || head.size() < header_bytes) {
    fail(origin, "truncated checkpoint: " + std::to_string(file_size) +
                     " bytes, less than the 64-byte header and the 4-byte checksum");
  }
  const auto v = read_at<std::uint32_t>(head, 8);
  if (v != version) {
    fail(origin, "checkpoint version " + std::to_string(v) +
                     " (offset 8), this build reads version " + std::to_string(version));
  }
  // Each count is checked against what the file can hold before any sum or product, so
  // nothing overflows and nothing is allocated for a count the file cannot back.
  const std::uint64_t room = (file_size - header_bytes - crc_bytes) / sizeof(float);
  static constexpr const char* names[] = {"n_params", "n_buffers", "n_state"};
  std::uint64_t total = 0;
  for (int i = 0; i < 3; ++i) {
    const std::size_t at = counts_at + 8 * std::size_t(i);
    const auto n = read_at<std::uint64_t>(head, at);
    if (n > room - total) {
      fail(origin, std::string("truncated or corrupt checkpoint: ") + names[i] + " (offset " +
                       std::to_string(at) + ") says " + std::to_string(n) +
                       " values, but the file of " + std::to_string(file_size) +
                       " bytes has room for " + std::to_string(room - total) + " more");
    }
    total += n;
  }
  const std::uint64_t announced = header_bytes + total * sizeof(float) + crc_bytes;
  if (announced != file_size) {
    fail(origin, "corrupt checkpoint (or a longer file): the header announces " +
                     std::to_string(announced) + " bytes (64-byte header, " +
                     std::to_string(total) + " floats, 4-byte checksum) but the file has " +
                     std::to_string(file_size) + " (" + std::to_string(file_size - announced) +
                     " unexpected bytes)");
  }
  return announced;
}

std::uint64_t fnv1a(std::uint64_t h, const void* data, std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace

std::uint64_t fingerprint(const codegen::ProgramView& program) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const codegen::Op& op : program.ops) {
    const LayerRow& r = op.layer;
    const std::int64_t fields[] = {std::int64_t(r.op), r.in.c, r.in.h, r.in.w, r.out.c, r.out.h, r.out.w,
                                   r.params, r.buffers, r.kernel_h, r.kernel_w, r.stride_h, r.stride_w,
                                   r.pad_h, r.pad_w, r.groups, r.bias ? 1 : 0, op.input_count};
    h = fnv1a(h, fields, sizeof fields);
    for (int i = 0; i < op.input_count; ++i) h = fnv1a(h, &op.inputs[i], sizeof(int));
  }
  return h;
}

void save_checkpoint(const std::filesystem::path& path, const Checkpoint& c) {
  Writer w;
  w.bytes.reserve(header_bytes + crc_bytes +
                  (c.params.size() + c.buffers.size() + c.optimizer_state.size()) * sizeof(float));
  w.bytes.insert(w.bytes.end(), magic.begin(), magic.end());
  w.put(version);
  w.put(c.fingerprint);
  w.put(c.epochs_done);
  w.put(c.steps_done);
  w.put(c.seed);
  w.put(std::uint64_t(c.params.size()));
  w.put(std::uint64_t(c.buffers.size()));
  w.put(std::uint64_t(c.optimizer_state.size()));
  w.put_floats(c.params);
  w.put_floats(c.buffers);
  w.put_floats(c.optimizer_state);
  const auto crc = std::uint32_t(crc32_z(0L, w.bytes.data(), w.bytes.size()));
  w.put(crc);
  if (std::string error = detail::replace_file(path, w.bytes); !error.empty()) {
    throw CheckpointError("cannot write the checkpoint: " + error);
  }
}

Checkpoint parse_checkpoint(std::span<const unsigned char> bytes, const std::string& origin) {
  check_header(bytes.first(std::min(bytes.size(), header_bytes)), bytes.size(), origin);
  const std::size_t body = bytes.size() - crc_bytes;
  const auto stored_crc = read_at<std::uint32_t>(bytes, body);
  const auto crc = std::uint32_t(crc32_z(0L, bytes.data(), body));
  if (crc != stored_crc) {
    fail(origin, "checksum mismatch (CRC-32 at offset " + std::to_string(body) +
                     "): the checkpoint is corrupt");
  }
  Checkpoint c;
  c.fingerprint = read_at<std::uint64_t>(bytes, 12);
  c.epochs_done = read_at<std::int32_t>(bytes, 20);
  c.steps_done = read_at<std::int64_t>(bytes, 24);
  c.seed = read_at<std::uint64_t>(bytes, 32);
  if (c.epochs_done < 0) {
    fail(origin, "corrupt checkpoint: epochs_done (offset 20) is " + std::to_string(c.epochs_done));
  }
  if (c.steps_done < 0) {
    fail(origin, "corrupt checkpoint: steps_done (offset 24) is " + std::to_string(c.steps_done));
  }
  std::size_t at = header_bytes;
  for (int i = 0; i < 3; ++i) {
    const auto n = std::size_t(read_at<std::uint64_t>(bytes, counts_at + 8 * std::size_t(i)));
    std::vector<float>& into = i == 0 ? c.params : (i == 1 ? c.buffers : c.optimizer_state);
    into.resize(n);
    // An empty vector's data() may be null, which memcpy must not get even for 0 bytes.
    if (n > 0) std::memcpy(into.data(), bytes.data() + at, n * sizeof(float));
    at += n * sizeof(float);
  }
  return c;
}

Checkpoint load_checkpoint(const std::filesystem::path& path) {
  const std::string origin = path.string();
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    fail(origin, "is a directory, expected a checkpoint");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(origin, "cannot open checkpoint");
  std::array<unsigned char, header_bytes> head{};
  in.read(reinterpret_cast<char*>(head.data()), head.size());
  const auto got = std::size_t(in.gcount());
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) fail(origin, "cannot read its size: " + ec.message());
  const std::uint64_t announced = check_header(std::span(head).first(got), size, origin);
  std::vector<unsigned char> bytes;
  if (std::string error =
          detail::read_file(path, announced, "the size its header announces", bytes);
      !error.empty()) {
    throw CheckpointError(error);
  }
  return parse_checkpoint(bytes, origin);
}

}  // namespace archetype::runtime
