#include <archetype/runtime/parameters_file.hpp>

#include <cstring>
#include <fstream>
#include <iterator>

namespace archetype::runtime {
namespace {

constexpr char magic[8] = {'A', 'R', 'C', 'H', 'P', 'A', 'R', 'M'};
constexpr std::uint32_t version = 1;

std::string dims_text(const std::vector<std::int64_t>& dims) {
  std::string t = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) t += (i ? ", " : "") + std::to_string(dims[i]);
  return t + "]";
}

std::string suffix(const std::string& name) {
  auto dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

}  // namespace

std::int64_t ParameterTensor::size() const {
  std::int64_t n = 1;
  for (auto d : dims) n *= d;
  return n;
}

std::vector<ParameterTensor> state_dict_layout(const codegen::ProgramView& program) {
  std::vector<ParameterTensor> out;
  for (const codegen::Op& op : program.ops) {
    const LayerRow& r = op.layer;
    const std::string path(r.path.view());
    std::int64_t p = op.param_offset;
    auto add = [&](const char* what, std::vector<std::int64_t> dims, bool buffer, std::int64_t offset) {
      out.push_back(ParameterTensor{path + "." + what, std::move(dims), buffer, offset});
    };
    switch (r.op) {
      case LayerKind::conv: {
        add("weight", {r.out.c, r.in.c / r.groups, r.kernel_h, r.kernel_w}, false, p);
        if (r.bias) add("bias", {r.out.c}, false, p + std::int64_t(r.out.c) * (r.in.c / r.groups) * r.kernel_h * r.kernel_w);
        break;
      }
      case LayerKind::linear: {
        add("weight", {r.out.c, r.in.c}, false, p);
        if (r.bias) add("bias", {r.out.c}, false, p + std::int64_t(r.out.c) * r.in.c);
        break;
      }
      case LayerKind::batch_norm: {
        add("weight", {r.in.c}, false, p);
        add("bias", {r.in.c}, false, p + r.in.c);
        add("running_mean", {r.in.c}, true, op.buffer_offset);
        add("running_var", {r.in.c}, true, op.buffer_offset + r.in.c);
        break;
      }
      default:
        break;
    }
  }
  return out;
}

void save_parameters(const std::filesystem::path& path, const codegen::ProgramView& program,
                     std::span<const float> parameters, std::span<const float> buffers) {
  const auto layout = state_dict_layout(program);
  std::string bytes(magic, sizeof magic);
  auto put = [&](const auto& v) { bytes.append(reinterpret_cast<const char*>(&v), sizeof v); };
  put(version);
  put(std::uint32_t(layout.size()));
  for (const ParameterTensor& t : layout) {
    put(std::uint16_t(t.name.size()));
    bytes += t.name;
    put(std::uint8_t(t.dims.size()));
    for (auto d : t.dims) put(d);
    std::span<const float> block = t.buffer ? buffers : parameters;
    bytes.append(reinterpret_cast<const char*>(block.data() + t.offset), std::size_t(t.size()) * sizeof(float));
  }
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    if (!out.flush()) throw ParameterFileError(tmp.string() + ": cannot write");
  }
  std::filesystem::rename(tmp, path);
}

std::string load_parameters(const std::filesystem::path& path, const codegen::ProgramView& program,
                            std::span<float> parameters, std::span<float> buffers) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ParameterFileError(path.string() + ": cannot open parameter file");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::size_t at = 0;
  auto fail = [&](const std::string& why) { throw ParameterFileError(path.string() + ": " + why); };
  auto get = [&](auto& v, const char* what) {
    if (bytes.size() - at < sizeof v) fail(std::string("truncated while reading ") + what);
    std::memcpy(&v, bytes.data() + at, sizeof v);
    at += sizeof v;
  };
  if (bytes.size() < sizeof magic || std::memcmp(bytes.data(), magic, sizeof magic) != 0) {
    fail("not an Archetype parameter file (bad magic)");
  }
  at = sizeof magic;
  std::uint32_t v = 0, count = 0;
  get(v, "the version");
  if (v != version) fail("version " + std::to_string(v) + ", this build reads version " + std::to_string(version));
  get(count, "the tensor count");
  const auto layout = state_dict_layout(program);
  if (count != layout.size()) {
    fail("holds " + std::to_string(count) + " tensors, the model has " + std::to_string(layout.size()));
  }
  std::string note;
  for (const ParameterTensor& t : layout) {
    std::uint16_t length = 0;
    get(length, "a tensor name");
    if (bytes.size() - at < length) fail("truncated in the name of tensor " + t.name);
    std::string name = bytes.substr(at, length);
    at += length;
    std::uint8_t ndim = 0;
    get(ndim, "a tensor rank");
    std::vector<std::int64_t> dims(ndim);
    for (auto& d : dims) get(d, "a tensor shape");
    if (dims != t.dims) {
      fail("tensor '" + name + "' has shape " + dims_text(dims) + ", the model's '" + t.name +
           "' needs " + dims_text(t.dims));
    }
    if (suffix(name) != suffix(t.name)) {
      fail("tensor '" + name + "' is found where the model expects '" + t.name + "'");
    }
    if (note.empty() && name != t.name) {
      note = "note: names differ from the model's paths (first: '" + name + "' for '" + t.name + "')";
    }
    const std::size_t n = std::size_t(t.size()) * sizeof(float);
    if (bytes.size() - at < n) fail("truncated in the values of tensor '" + name + "'");
    std::span<float> block = t.buffer ? buffers : parameters;
    std::memcpy(block.data() + t.offset, bytes.data() + at, n);
    at += n;
  }
  if (at != bytes.size()) fail(std::to_string(bytes.size() - at) + " unexpected bytes after the last tensor");
  return note;
}

}  // namespace archetype::runtime
