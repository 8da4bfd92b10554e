// Checkpoints and parameter files: round trips, and clear errors on broken files.
#include <archetype/architectures/lenet.hpp>
#include <archetype/architectures/resnet.hpp>
#include <archetype/codegen/program.hpp>
#include <archetype/runtime/checkpoint.hpp>
#include <archetype/runtime/parameters_file.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <tuple>
#include <vector>

namespace archetype::runtime {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() /
                 ("archetype_files_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string message_of(auto&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no exception)";
}

void truncate_file(const fs::path& p, std::uintmax_t size) { fs::resize_file(p, size); }

Checkpoint sample_checkpoint() {
  Checkpoint c;
  c.fingerprint = fingerprint(codegen::program_v<architectures::LeNet5>.view());
  c.epochs_done = 3;
  c.steps_done = 1234;
  c.seed = 7;
  c.params.resize(61706);
  std::iota(c.params.begin(), c.params.end(), 0.5f);
  c.optimizer_state.assign(61706, 0.25f);
  return c;
}

TEST(Checkpoint, RoundTrip) {
  const fs::path dir = temp_dir("ckpt");
  const Checkpoint c = sample_checkpoint();
  save_checkpoint(dir / "checkpoint.bin", c);
  EXPECT_FALSE(fs::exists(dir / "checkpoint.bin.tmp"));
  const Checkpoint r = load_checkpoint(dir / "checkpoint.bin");
  EXPECT_EQ(r.fingerprint, c.fingerprint);
  EXPECT_EQ(r.epochs_done, 3);
  EXPECT_EQ(r.steps_done, 1234);
  EXPECT_EQ(r.seed, 7u);
  EXPECT_EQ(r.params, c.params);
  EXPECT_EQ(r.optimizer_state, c.optimizer_state);
  EXPECT_TRUE(r.buffers.empty());
  fs::remove_all(dir);
}

TEST(Checkpoint, BrokenFilesAreRejectedWithTheirName) {
  const fs::path dir = temp_dir("ckpt_broken");
  const fs::path p = dir / "checkpoint.bin";
  save_checkpoint(p, sample_checkpoint());
  const auto size = fs::file_size(p);

  truncate_file(p, size - 100);
  std::string m = message_of([&] { (void)load_checkpoint(p); });
  EXPECT_NE(m.find(p.string()), std::string::npos) << m;
  EXPECT_NE(m.find("checksum"), std::string::npos) << m;

  save_checkpoint(p, sample_checkpoint());
  {  // flip one byte in the parameters
    std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(200);
    f.put('\x7f');
  }
  m = message_of([&] { (void)load_checkpoint(p); });
  EXPECT_NE(m.find("checksum mismatch"), std::string::npos) << m;

  std::ofstream(p, std::ios::binary) << "not a checkpoint at all";
  m = message_of([&] { (void)load_checkpoint(p); });
  EXPECT_NE(m.find("bad magic"), std::string::npos) << m;

  m = message_of([&] { (void)load_checkpoint(dir / "missing.bin"); });
  EXPECT_NE(m.find("missing.bin"), std::string::npos) << m;
  fs::remove_all(dir);
}

TEST(Checkpoint, FingerprintTellsArchitecturesApart) {
  EXPECT_NE(fingerprint(codegen::program_v<architectures::LeNet5>.view()),
            fingerprint(codegen::program_v<architectures::ResNet18Cifar>.view()));
  EXPECT_EQ(fingerprint(codegen::program_v<architectures::LeNet5>.view()),
            fingerprint(codegen::program_v<architectures::LeNet5>.view()));
}

TEST(ParameterFile, LayoutFollowsStateDictOrder) {
  const auto layout = state_dict_layout(codegen::program_v<architectures::ResNet18Cifar>.view());
  ASSERT_GE(layout.size(), 7u);
  EXPECT_EQ(layout[0].name, "conv1.weight");
  EXPECT_EQ(layout[0].dims, (std::vector<std::int64_t>{64, 3, 3, 3}));
  EXPECT_EQ(layout[1].name, "bn1.weight");
  EXPECT_EQ(layout[2].name, "bn1.bias");
  EXPECT_EQ(layout[3].name, "bn1.running_mean");
  EXPECT_TRUE(layout[3].buffer);
  EXPECT_EQ(layout[4].name, "bn1.running_var");
  EXPECT_EQ(layout[5].name, "layer1.0.conv1.weight");
  EXPECT_EQ(layout.back().name, "fc.bias");
  std::int64_t params = 0, buffers = 0;
  for (const auto& t : layout) (t.buffer ? buffers : params) += t.size();
  EXPECT_EQ(params, 11'173'962);
  EXPECT_EQ(buffers, buffers_v<architectures::ResNet18Cifar>);
}

TEST(ParameterFile, RoundTripAndErrors) {
  const fs::path dir = temp_dir("params");
  const auto program = codegen::program_v<architectures::LeNet5>.view();
  std::vector<float> params(std::size_t(program.params));
  std::iota(params.begin(), params.end(), -3.0f);
  save_parameters(dir / "lenet.params", program, params, {});
  std::vector<float> back(params.size());
  EXPECT_EQ(load_parameters(dir / "lenet.params", program, back, {}), "");
  EXPECT_EQ(back, params);

  // The wrong model: ResNet-18's file into LeNet-5.
  const auto resnet = codegen::program_v<architectures::ResNet18Cifar>.view();
  std::vector<float> rp(std::size_t(resnet.params)), rb(std::size_t(resnet.buffers));
  save_parameters(dir / "resnet.params", resnet, rp, rb);
  std::string m =
      message_of([&] { (void)load_parameters(dir / "resnet.params", program, back, {}); });
  EXPECT_NE(m.find("resnet.params"), std::string::npos) << m;
  EXPECT_NE(m.find("tensors"), std::string::npos) << m;

  truncate_file(dir / "lenet.params", fs::file_size(dir / "lenet.params") - 8);
  m = message_of([&] { (void)load_parameters(dir / "lenet.params", program, back, {}); });
  EXPECT_NE(m.find("truncated"), std::string::npos) << m;
  EXPECT_NE(m.find("fc3.bias"), std::string::npos) << m;
  fs::remove_all(dir);
}

/// A parameter file written tensor by tensor (names, shapes and values as given).
void write_parameter_file(
    const fs::path& path,
    const std::vector<std::tuple<std::string, std::vector<std::int64_t>, float>>& tensors) {
  std::string bytes = "ARCHPARM";
  auto put = [&](const auto& v) { bytes.append(reinterpret_cast<const char*>(&v), sizeof v); };
  put(std::uint32_t{1});
  put(std::uint32_t(tensors.size()));
  for (const auto& [name, dims, value] : tensors) {
    put(std::uint16_t(name.size()));
    bytes += name;
    put(std::uint8_t(dims.size()));
    std::int64_t n = 1;
    for (std::int64_t d : dims) {
      put(d);
      n *= d;
    }
    for (std::int64_t i = 0; i < n; ++i) put(value);
  }
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

// A torchvision state_dict holds more than the model (GoogLeNet's auxiliary heads) and may
// order it otherwise: every tensor of the model present under its name loads by name.
TEST(ParameterFile, LoadsByNameIgnoringOtherTensors) {
  const fs::path dir = temp_dir("by_name");
  const auto program = codegen::program_v<architectures::LeNet5>.view();
  auto layout = state_dict_layout(program);
  std::vector<std::tuple<std::string, std::vector<std::int64_t>, float>> tensors;
  tensors.emplace_back("aux1.fc.weight", std::vector<std::int64_t>{3, 2}, -1.f);
  for (std::size_t i = layout.size(); i-- > 0;) {  // reversed
    tensors.emplace_back(layout[i].name, layout[i].dims, float(i + 1));
  }
  write_parameter_file(dir / "extra.params", tensors);
  std::vector<float> params(std::size_t(program.params), 0.f);
  const std::string note = load_parameters(dir / "extra.params", program, params, {});
  EXPECT_NE(note.find("aux1.fc.weight"), std::string::npos) << note;
  for (std::size_t i = 0; i < layout.size(); ++i) {
    EXPECT_EQ(params[std::size_t(layout[i].offset)], float(i + 1)) << layout[i].name;
    EXPECT_EQ(params[std::size_t(layout[i].offset + layout[i].size() - 1)], float(i + 1))
        << layout[i].name;
  }

  // A named tensor of the wrong shape is an error naming it.
  std::get<1>(tensors[1]) = {1, 1};
  write_parameter_file(dir / "shape.params", tensors);
  std::string m =
      message_of([&] { (void)load_parameters(dir / "shape.params", program, params, {}); });
  EXPECT_NE(m.find(std::get<0>(tensors[1])), std::string::npos) << m;
  EXPECT_NE(m.find("[1, 1]"), std::string::npos) << m;

  // A shape whose size overflows is a truncated file, not a crash.
  write_parameter_file(dir / "huge.params", {{"fc3.bias", {0}, 0.f}});
  {
    std::fstream f(dir / "huge.params", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8 + 4 + 4 + 2 + 8);  // past magic, version, count, name length, name
    const char ndim = 3;
    f.write(&ndim, 1);
    const std::int64_t big = std::int64_t{1} << 40;
    for (int i = 0; i < 3; ++i) f.write(reinterpret_cast<const char*>(&big), sizeof big);
  }
  m = message_of([&] { (void)load_parameters(dir / "huge.params", program, params, {}); });
  EXPECT_NE(m.find("truncated"), std::string::npos) << m;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace archetype::runtime
