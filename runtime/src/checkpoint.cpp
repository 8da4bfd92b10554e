#include <archetype/runtime/checkpoint.hpp>

#include <zlib.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <unistd.h>
#include <fcntl.h>

namespace archetype::runtime {
namespace {

constexpr std::array<char, 8> magic = {'A', 'R', 'C', 'H', 'C', 'K', 'P', 'T'};
constexpr std::uint32_t version = 1;

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

struct Reader {
  const std::vector<unsigned char>& bytes;
  std::size_t at = 0;
  const std::filesystem::path& path;
  void need(std::size_t n, const char* what) const {
    if (bytes.size() - at < n) {
      throw CheckpointError(path.string() + ": truncated checkpoint: " + what + " needs " +
                            std::to_string(n) + " bytes at offset " + std::to_string(at) +
                            ", the file has " + std::to_string(bytes.size()));
    }
  }
  template <class T>
  T get(const char* what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, bytes.data() + at, sizeof(T));
    at += sizeof(T);
    return value;
  }
  std::vector<float> get_floats(std::uint64_t n, const char* what) {
    if (n > bytes.size() / sizeof(float)) {
      throw CheckpointError(path.string() + ": corrupt checkpoint: " + what + " claims " +
                            std::to_string(n) + " values, more than the file holds");
    }
    need(n * sizeof(float), what);
    std::vector<float> values(n);
    std::memcpy(values.data(), bytes.data() + at, n * sizeof(float));
    at += n * sizeof(float);
    return values;
  }
};

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
  const auto crc = std::uint32_t(crc32(0L, w.bytes.data(), uInt(w.bytes.size())));
  w.put(crc);

  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  const std::filesystem::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw CheckpointError(tmp.string() + ": cannot create: " + std::strerror(errno));
  std::size_t written = 0;
  while (written < w.bytes.size()) {
    const ssize_t n = ::write(fd, w.bytes.data() + written, w.bytes.size() - written);
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      std::filesystem::remove(tmp);
      throw CheckpointError(tmp.string() + ": write failed: " + why);
    }
    written += std::size_t(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    std::filesystem::remove(tmp);
    throw CheckpointError(tmp.string() + ": cannot flush to disk: " + std::strerror(errno));
  }
  std::filesystem::rename(tmp, path);  // atomic on POSIX: the old checkpoint or the new one
}

Checkpoint load_checkpoint(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CheckpointError(path.string() + ": cannot open checkpoint");
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Reader r{bytes, 0, path};
  r.need(magic.size(), "the magic");
  if (std::memcmp(bytes.data(), magic.data(), magic.size()) != 0) {
    throw CheckpointError(path.string() + ": not an Archetype checkpoint (bad magic)");
  }
  r.at = magic.size();
  if (bytes.size() < magic.size() + sizeof(std::uint32_t) * 2) {
    throw CheckpointError(path.string() + ": truncated checkpoint (" + std::to_string(bytes.size()) + " bytes)");
  }
  std::uint32_t stored_crc;
  std::memcpy(&stored_crc, bytes.data() + bytes.size() - sizeof stored_crc, sizeof stored_crc);
  const auto crc = std::uint32_t(crc32(0L, bytes.data(), uInt(bytes.size() - sizeof stored_crc)));
  const auto v = r.get<std::uint32_t>("the version");
  if (v != version) {
    throw CheckpointError(path.string() + ": checkpoint version " + std::to_string(v) +
                          ", this build reads version " + std::to_string(version));
  }
  if (crc != stored_crc) {
    throw CheckpointError(path.string() + ": checksum mismatch: the checkpoint is corrupt or truncated");
  }
  Checkpoint c;
  c.fingerprint = r.get<std::uint64_t>("the fingerprint");
  c.epochs_done = r.get<std::int32_t>("the epoch");
  c.steps_done = r.get<std::int64_t>("the step");
  c.seed = r.get<std::uint64_t>("the seed");
  const auto np = r.get<std::uint64_t>("the parameter count");
  const auto nb = r.get<std::uint64_t>("the buffer count");
  const auto ns = r.get<std::uint64_t>("the optimizer state size");
  c.params = r.get_floats(np, "the parameters");
  c.buffers = r.get_floats(nb, "the buffers");
  c.optimizer_state = r.get_floats(ns, "the optimizer state");
  if (r.at + sizeof(std::uint32_t) != bytes.size()) {
    throw CheckpointError(path.string() + ": corrupt checkpoint: " +
                          std::to_string(bytes.size() - r.at - sizeof(std::uint32_t)) +
                          " unexpected bytes before the checksum");
  }
  return c;
}

}  // namespace archetype::runtime
