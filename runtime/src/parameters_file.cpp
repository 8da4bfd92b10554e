#include <archetype/runtime/parameters_file.hpp>

#include "file_io.hpp"

#include <archetype/codegen/freezing.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <set>

namespace archetype::runtime {
namespace {

constexpr char magic[8] = {'A', 'R', 'C', 'H', 'P', 'A', 'R', 'M'};
constexpr std::uint32_t version = 1;
constexpr std::size_t header_bytes = sizeof magic + 4 + 4;  // magic, version, tensor count

std::string dims_text(const std::vector<std::int64_t>& dims) {
  std::string t = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) t += (i ? ", " : "") + std::to_string(dims[i]);
  return t + "]";
}

std::string suffix(const std::string& name) {
  auto dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

/// The largest file `layout` can be read from: names of up to 65,535 bytes, then the
/// model's rank and shape and values. (Anything longer fails anyway; this bound lets the
/// loader refuse a huge file before reading it.)
std::uint64_t largest_file(const std::vector<ParameterTensor>& layout) {
  std::uint64_t n = header_bytes;
  for (const ParameterTensor& t : layout) {
    n += 2 + std::numeric_limits<std::uint16_t>::max() + 1 + 8 * t.dims.size() +
         sizeof(float) * std::uint64_t(t.size());
  }
  return n;
}

class Reader {
 public:
  Reader(std::span<const unsigned char> bytes, const std::string& origin)
      : bytes_(bytes), origin_(origin) {}

  [[noreturn]] void fail(const std::string& why) const {
    throw ParameterFileError(origin_ + ": " + where_ + why);
  }
  /// Prefixes the following messages with "tensor 3 of 10 ('conv1.bias'): ".
  void in_tensor(std::size_t index, std::size_t count, const std::string& name) {
    where_ = "tensor " + std::to_string(index + 1) + " of " + std::to_string(count) + " ('" + name +
             "'): ";
  }
  template <class T>
  T get(const char* what) {
    T v;
    std::memcpy(&v, take(sizeof v, what), sizeof v);
    return v;
  }
  /// `n` bytes at the current offset, or a "truncated" error naming `what` and the offset.
  const unsigned char* take(std::size_t n, const char* what) {
    if (bytes_.size() - at_ < n) {
      fail(std::string("truncated: ") + what + " need" +
           (std::string_view(what).ends_with('s') ? "" : "s") + " " + std::to_string(n) +
           " bytes at offset " + std::to_string(at_) + ", the file has " +
           std::to_string(bytes_.size() - at_) + " left");
    }
    const unsigned char* p = bytes_.data() + at_;
    at_ += n;
    return p;
  }
  [[nodiscard]] std::size_t at() const { return at_; }
  [[nodiscard]] std::size_t left() const { return bytes_.size() - at_; }

 private:
  std::span<const unsigned char> bytes_;
  const std::string& origin_;
  std::string where_;
  std::size_t at_ = 0;
};

/// Magic, version and tensor count (the first 16 bytes); with `exact_count`, the count must
/// be the model's. Returns the count.
std::uint32_t check_header(Reader& in, std::span<const unsigned char> bytes,
                           const std::vector<ParameterTensor>& layout, bool exact_count = true) {
  if (bytes.empty()) in.fail("empty file, expected an Archetype parameter file");
  if (std::memcmp(bytes.data(), magic, std::min(bytes.size(), sizeof magic)) != 0) {
    in.fail("not an Archetype parameter file (bad magic at offset 0: expected \"ARCHPARM\")");
  }
  in.take(sizeof magic, "the magic");
  const auto v = in.get<std::uint32_t>("the version");
  if (v != version) {
    in.fail("version " + std::to_string(v) + " (offset 8), this build reads version " +
            std::to_string(version));
  }
  const auto count = in.get<std::uint32_t>("the tensor count");
  if (exact_count && count != layout.size()) {
    in.fail("holds " + std::to_string(count) + " tensors (count at offset 12), the model has " +
            std::to_string(layout.size()));
  }
  return count;
}

/// One tensor of a parameter file: its name, shape, and where its parts start.
struct FileTensor {
  std::string name;
  std::vector<std::int64_t> dims;
  std::size_t name_at = 0, rank_at = 0, values = 0;  ///< byte offsets in the file
};

/// The file's table of tensors, every entry checked against the file's length (a shape
/// whose values would run past the end is "truncated", without overflow).
std::vector<FileTensor> read_table(Reader& in, std::uint32_t count) {
  std::vector<FileTensor> file;
  for (std::uint32_t i = 0; i < count; ++i) {
    FileTensor t;
    in.in_tensor(i, count, "?");
    t.name_at = in.at();
    const auto length = in.get<std::uint16_t>("the name's length");
    const auto* name_bytes = in.take(length, "the name");
    t.name.assign(reinterpret_cast<const char*>(name_bytes), length);
    in.in_tensor(i, count, detail::printable(t.name));
    t.rank_at = in.at();
    t.dims.resize(in.get<std::uint8_t>("the rank"));
    std::uint64_t n = 1;
    const std::uint64_t room = in.left() / sizeof(float);
    for (auto& d : t.dims) {
      d = in.get<std::int64_t>("the shape");
      if (d < 0)
        in.fail("a negative dimension " + std::to_string(d) + " (offset " +
                std::to_string(in.at() - 8) + ")");
      n = (d == 0 || n <= room / std::uint64_t(d)) ? n * std::uint64_t(d) : room + 1;
    }
    t.values = in.at();
    in.take(std::size_t(std::min<std::uint64_t>(n, room + 1)) * sizeof(float), "the values");
    file.push_back(std::move(t));
  }
  return file;
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
  const std::string error = detail::replace_file(
      path, std::span(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()));
  if (!error.empty()) throw ParameterFileError("cannot write the parameter file: " + error);
}

namespace {

/// In state_dict order: the count, and for each tensor its name's last part (weight, bias,
/// running_mean, running_var), rank and shape against the model's, then its values.
std::string parse_in_order(std::span<const unsigned char> bytes, const std::string& origin,
                           const std::vector<ParameterTensor>& layout, std::span<float> parameters,
                           std::span<float> buffers) {
  Reader in(bytes, origin);
  check_header(in, bytes, layout);
  std::string note;
  for (std::size_t i = 0; i < layout.size(); ++i) {
    const ParameterTensor& t = layout[i];
    in.in_tensor(i, layout.size(), t.name);
    const std::size_t name_at = in.at();
    const auto length = in.get<std::uint16_t>("the name's length");
    const auto* name_bytes = in.take(length, "the name");
    const std::string name(reinterpret_cast<const char*>(name_bytes), length);
    const std::string shown = detail::printable(name);
    if (suffix(name) != suffix(t.name)) {
      in.fail("the file has '" + shown + "' (offset " + std::to_string(name_at) +
              ") where the model expects '" + t.name + "'");
    }
    const std::size_t rank_at = in.at();
    const auto ndim = in.get<std::uint8_t>("the rank");
    if (ndim != t.dims.size()) {
      in.fail("'" + shown + "' has rank " + std::to_string(ndim) + " (offset " +
              std::to_string(rank_at) + "), the model's tensor has shape " + dims_text(t.dims));
    }
    std::vector<std::int64_t> dims(ndim);
    for (auto& d : dims) d = in.get<std::int64_t>("the shape");
    if (dims != t.dims) {
      in.fail("'" + shown + "' has shape " + dims_text(dims) + " (offset " +
              std::to_string(rank_at + 1) + "), the model needs " + dims_text(t.dims));
    }
    if (note.empty() && name != t.name) {
      note =
          "note: names differ from the model's paths (first: '" + shown + "' for '" + t.name + "')";
    }
    std::span<float> block = t.buffer ? buffers : parameters;
    const auto n = std::size_t(t.size());
    if (t.offset < 0 || block.size() < std::size_t(t.offset) + n) {
      in.fail("the model's " + std::string(t.buffer ? "buffer" : "parameter") + " block of " +
              std::to_string(block.size()) + " floats is too small for it (internal error)");
    }
    const auto* values = in.take(n * sizeof(float), "the values");
    std::memcpy(block.data() + t.offset, values, n * sizeof(float));
  }
  if (in.left() != 0) {
    throw ParameterFileError(origin + ": " + std::to_string(in.left()) +
                             " unexpected bytes after the last tensor (offset " +
                             std::to_string(in.at()) + ")");
  }
  return note;
}

/// By name, where the file holds every tensor of the model under the model's names, each
/// once, whatever else it holds and in whatever order (a torchvision state_dict: GoogLeNet's
/// and Inception v3's auxiliary heads). Returns false, having written nothing, when it does
/// not (or when its table does not fit the file).
bool parse_by_name(std::span<const unsigned char> bytes, const std::string& origin,
                   const std::vector<ParameterTensor>& layout, std::span<float> parameters,
                   std::span<float> buffers, std::string& note) {
  std::vector<FileTensor> file;
  try {
    Reader in(bytes, origin);
    file = read_table(in, check_header(in, bytes, layout, false));
    if (in.left() != 0) return false;
  } catch (const ParameterFileError&) {
    return false;
  }
  std::map<std::string, std::size_t> by_name;
  for (std::size_t i = 0; i < file.size(); ++i) {
    if (!by_name.emplace(file[i].name, i).second) return false;  // a name twice: ambiguous
  }
  for (const ParameterTensor& t : layout) {
    if (by_name.count(t.name) == 0) return false;
  }
  Reader at(bytes, origin);
  for (std::size_t i = 0; i < layout.size(); ++i) {  // every shape before any value
    const ParameterTensor& t = layout[i];
    const FileTensor& f = file[by_name[t.name]];
    at.in_tensor(i, layout.size(), t.name);
    if (f.dims != t.dims) {
      at.fail("'" + t.name + "' has shape " + dims_text(f.dims) + " (offset " +
              std::to_string(f.rank_at + 1) + "), the model needs " + dims_text(t.dims));
    }
  }
  for (const ParameterTensor& t : layout) {
    std::span<float> block = t.buffer ? buffers : parameters;
    const auto n = std::size_t(t.size());
    if (t.offset < 0 || block.size() < std::size_t(t.offset) + n) {
      throw ParameterFileError(origin + ": the model's block is too small for '" + t.name +
                               "' (internal error)");
    }
    std::memcpy(block.data() + t.offset, bytes.data() + file[by_name[t.name]].values,
                n * sizeof(float));
  }
  note.clear();
  if (file.size() > layout.size()) {
    std::set<std::string> used;
    for (const ParameterTensor& t : layout) used.insert(t.name);
    for (const FileTensor& t : file) {
      if (used.count(t.name) == 0) {
        note = "note: " + std::to_string(file.size() - layout.size()) +
               " tensors of the file are not in the model and were ignored (first: '" +
               detail::printable(t.name) + "')";
        break;
      }
    }
  }
  return true;
}

}  // namespace

std::string parse_parameters(std::span<const unsigned char> bytes, const std::string& origin,
                             const codegen::ProgramView& program, std::span<float> parameters,
                             std::span<float> buffers) {
  const auto layout = state_dict_layout(program);
  try {
    return parse_in_order(bytes, origin, layout, parameters, buffers);
  } catch (const ParameterFileError&) {
    std::string note;
    if (parse_by_name(bytes, origin, layout, parameters, buffers, note)) return note;
    throw;  // not a by-name file either: the in-order error says what and where
  }
}

namespace {

std::string some(const std::vector<std::string>& names) {
  std::string s;
  for (std::size_t i = 0; i < names.size() && i < 3; ++i)
    s += (i ? ", " : "") + detail::printable(names[i]);
  return names.size() > 3 ? s + ", ..." : s;
}

}  // namespace

std::string TransferLoad::describe() const {
  if (whole) return "loaded every tensor of the model" + (note.empty() ? "" : "; " + note);
  std::string s = "loaded " + std::to_string(loaded.size()) + " tensors";
  if (!skipped.empty())
    s += "; skipped " + std::to_string(skipped.size()) + " of the file (" + some(skipped) + ")";
  if (!initialised.empty())
    s += "; " + std::to_string(initialised.size()) + " newly initialised (" + some(initialised) +
         ")";
  return s;
}

TransferLoad load_for_transfer(const std::filesystem::path& path,
                               const codegen::ProgramView& program, std::span<float> parameters,
                               std::span<float> buffers, const std::vector<std::string>& fresh,
                               const std::vector<std::string>& resized) {
  TransferLoad r;
  const auto under_any = [](const std::vector<std::string>& prefixes, const std::string& name) {
    const std::string layer = name.substr(0, name.rfind('.'));
    return std::any_of(prefixes.begin(), prefixes.end(),
                       [&](const std::string& p) { return codegen::under(layer, p); });
  };
  try {
    if (!fresh.empty() || !resized.empty())
      throw ParameterFileError(path.string() + ": layers to leave out: loading by path");
    r.note = load_parameters(path, program, parameters, buffers);
    r.whole = true;
    return r;
  } catch (const ParameterFileError& whole_model) {
    // Not the whole model: by path, if the file is well formed and names some of it.
    const auto layout = state_dict_layout(program);
    const std::string origin = path.string();
    std::vector<unsigned char> bytes;
    if (const std::string error = detail::read_file(
            path, 4 * largest_file(layout), "four times any parameter file of this model", bytes);
        !error.empty()) {
      throw ParameterFileError(error);
    }
    Reader in(bytes, origin);
    const std::vector<FileTensor> file = read_table(in, check_header(in, bytes, layout, false));
    if (in.left() != 0) {
      throw ParameterFileError(origin + ": " + std::to_string(in.left()) +
                               " unexpected bytes after the last tensor (offset " +
                               std::to_string(in.at()) + ")");
    }
    std::map<std::string, std::size_t> by_name;
    for (std::size_t i = 0; i < file.size(); ++i) {
      if (!by_name.emplace(file[i].name, i).second) {
        throw ParameterFileError(origin + ": '" + detail::printable(file[i].name) +
                                 "' is in the file twice (offset " +
                                 std::to_string(file[i].name_at) + ")");
      }
    }
    for (const ParameterTensor& t : layout) {  // every shape before any value
      const auto f = by_name.find(t.name);
      if (f == by_name.end() || under_any(fresh, t.name) || under_any(resized, t.name)) continue;
      const FileTensor& ft = file[f->second];
      if (ft.dims != t.dims) {
        const auto dot = t.name.rfind('.');
        throw ParameterFileError(origin + ": layer " + t.name.substr(0, dot) + ": '" + t.name +
                                 "' has shape " + dims_text(ft.dims) + " in the file (offset " +
                                 std::to_string(ft.rank_at + 1) + "), the model's is " +
                                 dims_text(t.dims));
      }
    }
    for (const ParameterTensor& t : layout) {
      const auto f = by_name.find(t.name);
      if (f == by_name.end() || under_any(fresh, t.name) ||
          (under_any(resized, t.name) && file[f->second].dims != t.dims)) {
        r.initialised.push_back(t.name);
        continue;
      }
      std::span<float> block = t.buffer ? buffers : parameters;
      std::memcpy(block.data() + t.offset, bytes.data() + file[f->second].values,
                  std::size_t(t.size()) * sizeof(float));
      r.loaded.push_back(t.name);
      by_name.erase(f);
    }
    for (const FileTensor& f : file) {
      if (by_name.count(f.name) != 0) r.skipped.push_back(f.name);
    }
    if (r.loaded.empty()) {
      throw ParameterFileError(origin + ": names none of the model's tensors (the file's first: '" +
                               (file.empty() ? std::string() : detail::printable(file[0].name)) +
                               "', the model's: '" + layout.front().name + "')" +
                               (fresh.empty() && resized.empty()
                                    ? "; as a whole: " + std::string(whole_model.what())
                                    : std::string()));
    }
    return r;
  }
}

std::string load_parameters(const std::filesystem::path& path, const codegen::ProgramView& program,
                            std::span<float> parameters, std::span<float> buffers) {
  std::vector<unsigned char> bytes;
  const auto layout = state_dict_layout(program);
  const std::string origin = path.string();
  if (std::string error = detail::read_file(path, 4 * largest_file(layout),
                                            "four times any parameter file of this model", bytes);
      !error.empty()) {
    // Too large (or unreadable): the header, when it can be read, may say why more precisely
    // (another model's file, or not a parameter file at all).
    std::ifstream in(path, std::ios::binary);
    unsigned char head[header_bytes];
    in.read(reinterpret_cast<char*>(head), sizeof head);
    if (in.gcount() == std::streamsize(sizeof head)) {
      Reader reader(std::span<const unsigned char>(head, sizeof head), origin);
      check_header(reader, std::span<const unsigned char>(head, sizeof head), layout);
    }
    throw ParameterFileError(error);
  }
  return parse_parameters(bytes, origin, program, parameters, buffers);
}

}  // namespace archetype::runtime
