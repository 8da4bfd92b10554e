#include <archetype/runtime/parameters_file.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

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
    auto add = [&](const char* what, std::vector<std::int64_t> dims, bool buffer,
                   std::int64_t offset) {
      out.push_back(ParameterTensor{path + "." + what, std::move(dims), buffer, offset});
    };
    switch (r.op) {
      case LayerKind::conv: {
        add("weight", {r.out.c, r.in.c / r.groups, r.kernel_h, r.kernel_w}, false, p);
        if (r.bias)
          add("bias", {r.out.c}, false,
              p + std::int64_t(r.out.c) * (r.in.c / r.groups) * r.kernel_h * r.kernel_w);
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
    bytes.append(reinterpret_cast<const char*>(block.data() + t.offset),
                 std::size_t(t.size()) * sizeof(float));
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

namespace {

/// One tensor of a parameter file: its name, shape, and where its values start.
struct FileTensor {
  std::string name;
  std::vector<std::int64_t> dims;
  std::size_t values = 0;  ///< byte offset of the values in the file
};

}  // namespace

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
  if (v != version)
    fail("version " + std::to_string(v) + ", this build reads version " + std::to_string(version));
  get(count, "the tensor count");
  const auto layout = state_dict_layout(program);

  // The file's tensors, read whole first (a shape larger than the file is "truncated").
  std::vector<FileTensor> file;
  std::map<std::string, std::size_t> by_name;
  bool duplicates = false;
  for (std::uint32_t i = 0; i < count; ++i) {
    FileTensor t;
    std::uint16_t length = 0;
    get(length, "a tensor name");
    if (bytes.size() - at < length) fail("truncated in the name of tensor " + std::to_string(i));
    t.name = bytes.substr(at, length);
    at += length;
    std::uint8_t ndim = 0;
    get(ndim, "a tensor rank");
    t.dims.resize(ndim);
    std::uint64_t n = 1;  // elements; past the file's size means truncated (and no overflow)
    const std::uint64_t room = (bytes.size() - std::min(bytes.size(), at)) / sizeof(float);
    for (auto& d : t.dims) {
      get(d, "a tensor shape");
      if (d < 0) fail("tensor '" + t.name + "' has a negative dimension");
      n = (d == 0 || n <= room / std::uint64_t(d)) ? n * std::uint64_t(d) : room + 1;
    }
    t.values = at;
    if (n > (bytes.size() - at) / sizeof(float)) {
      fail("truncated in the values of tensor '" + t.name + "'");
    }
    at += std::size_t(n) * sizeof(float);
    duplicates = duplicates || !by_name.emplace(t.name, file.size()).second;
    file.push_back(std::move(t));
  }
  if (at != bytes.size())
    fail(std::to_string(bytes.size() - at) + " unexpected bytes after the last tensor");

  auto copy = [&](const FileTensor& from, const ParameterTensor& to) {
    if (from.dims != to.dims) {
      fail("tensor '" + from.name + "' has shape " + dims_text(from.dims) + ", the model's '" +
           to.name + "' needs " + dims_text(to.dims));
    }
    std::span<float> block = to.buffer ? buffers : parameters;
    std::memcpy(block.data() + to.offset, bytes.data() + from.values,
                std::size_t(to.size()) * sizeof(float));
  };

  // By name, where the file has every tensor of the model under the model's names (a
  // torchvision state_dict may hold more: GoogLeNet's and Inception v3's auxiliary heads).
  const bool all_named =
      !duplicates && std::all_of(layout.begin(), layout.end(), [&](const ParameterTensor& t) {
        return by_name.count(t.name) != 0;
      });
  if (all_named) {
    for (const ParameterTensor& t : layout) copy(file[by_name[t.name]], t);
    if (file.size() == layout.size()) return "";
    std::set<std::string> used;
    for (const ParameterTensor& t : layout) used.insert(t.name);
    for (const FileTensor& t : file) {
      if (used.count(t.name) == 0) {
        return "note: " + std::to_string(file.size() - layout.size()) +
               " tensors of the file are not in the model and were ignored (first: '" + t.name +
               "')";
      }
    }
  }

  // In order otherwise (a port whose layer paths differ): the count, each shape and each
  // name's last part (weight, bias, running_mean, running_var) must agree.
  if (count != layout.size()) {
    fail("holds " + std::to_string(count) + " tensors, the model has " +
         std::to_string(layout.size()));
  }
  std::string note;
  for (std::size_t i = 0; i < layout.size(); ++i) {
    const FileTensor& f = file[i];
    const ParameterTensor& t = layout[i];
    if (f.dims == t.dims && suffix(f.name) != suffix(t.name)) {
      fail("tensor '" + f.name + "' is found where the model expects '" + t.name + "'");
    }
    copy(f, t);  // checks the shape first
    if (note.empty() && f.name != t.name) {
      note = "note: names differ from the model's paths (first: '" + f.name + "' for '" + t.name +
             "')";
    }
  }
  return note;
}

}  // namespace archetype::runtime
