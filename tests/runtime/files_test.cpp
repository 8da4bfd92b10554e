// Checkpoints and parameter files: round trips, and clear errors on broken files.
#include <archetype/architectures/lenet.hpp>
#include <archetype/architectures/resnet.hpp>
#include <archetype/codegen/program.hpp>
#include <archetype/runtime/checkpoint.hpp>
#include <archetype/runtime/metrics.hpp>
#include <archetype/runtime/parameters_file.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
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
  EXPECT_NE(m.find("truncated"), std::string::npos) << m;

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

  // A shape whose size overflows is an error, not a crash: the by-name reading finds the
  // table truncated, and the in-order one says what is wrong from the start (the count).
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
  EXPECT_NE(m.find("huge.params: holds 1 tensors (count at offset 12), the model has 10"),
            std::string::npos)
      << m;
  fs::remove_all(dir);
}

// --init for fine-tuning: the tensors the file names by path load, the rest keep their
// initial values, with a report; a tensor of another shape names its layer and both shapes.
TEST(ParameterFile, TransferLoadsByPathAndReportsWhatItDid) {
  const fs::path dir = temp_dir("transfer");
  const auto program = codegen::program_v<architectures::LeNet5>.view();
  const auto layout = state_dict_layout(program);
  // A "pretrained" file: the features (conv1, conv2) and another head (head.*).
  std::vector<std::tuple<std::string, std::vector<std::int64_t>, float>> tensors;
  for (std::size_t i = 0; i < 4; ++i)
    tensors.emplace_back(layout[i].name, layout[i].dims, float(i + 1));
  tensors.emplace_back("head.weight", std::vector<std::int64_t>{7, 400}, -1.f);
  tensors.emplace_back("head.bias", std::vector<std::int64_t>{7}, -1.f);
  write_parameter_file(dir / "features.params", tensors);
  std::vector<float> params(std::size_t(program.params), 0.5f);
  const TransferLoad r = load_for_transfer(dir / "features.params", program, params, {});
  EXPECT_FALSE(r.whole);
  EXPECT_EQ(r.loaded,
            (std::vector<std::string>{"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias"}));
  EXPECT_EQ(r.skipped, (std::vector<std::string>{"head.weight", "head.bias"}));
  EXPECT_EQ(r.initialised.size(), layout.size() - 4);
  EXPECT_EQ(params[std::size_t(layout[2].offset)], 3.f);
  EXPECT_EQ(params[std::size_t(layout[4].offset)], 0.5f) << "fc1 keeps its initial values";
  EXPECT_NE(r.describe().find("loaded 4 tensors; skipped 2 of the file (head.weight, head.bias); "
                              "6 newly initialised (fc1.weight, fc1.bias, fc2.weight, ...)"),
            std::string::npos)
      << r.describe();

  // The whole model: load_parameters' way, nothing to report.
  save_parameters(dir / "whole.params", program, params, {});
  EXPECT_TRUE(load_for_transfer(dir / "whole.params", program, params, {}).whole);

  // A head for 7 classes where the model has 10: an error naming the layer and both shapes,
  // and nothing written.
  tensors.emplace_back("fc3.weight", std::vector<std::int64_t>{7, 84}, -1.f);
  write_parameter_file(dir / "classes.params", tensors);
  std::fill(params.begin(), params.end(), 0.5f);
  const std::string m =
      message_of([&] { (void)load_for_transfer(dir / "classes.params", program, params, {}); });
  EXPECT_NE(m.find("layer fc3: 'fc3.weight' has shape [7, 84] in the file"), std::string::npos)
      << m;
  EXPECT_NE(m.find("the model's is [10, 84]"), std::string::npos) << m;
  EXPECT_EQ(params[std::size_t(layout[0].offset)], 0.5f) << "checked before anything is copied";

  // Nothing in common.
  write_parameter_file(dir / "other.params", {{"encoder.weight", {3}, 1.f}});
  EXPECT_NE(message_of([&] {
              (void)load_for_transfer(dir / "other.params", program, params, {});
            }).find("names none of the model's tensors (the file's first: 'encoder.weight'"),
            std::string::npos);
  fs::remove_all(dir);
}

// Overwrites sizeof(T) bytes of the file at `offset`.
template <class T>
void poke(const fs::path& p, std::size_t offset, T value) {
  std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(std::streamoff(offset));
  f.write(reinterpret_cast<const char*>(&value), sizeof value);
}

void expect_message(const std::string& m, std::initializer_list<std::string> parts) {
  for (const std::string& part : parts)
    EXPECT_NE(m.find(part), std::string::npos) << m << "\nlacks: " << part;
}

TEST(CheckpointBroken, HeaderCountsAreCheckedBeforeAllocating) {
  const fs::path dir = temp_dir("ckpt_counts");
  const fs::path p = dir / "checkpoint.bin";
  save_checkpoint(p, sample_checkpoint());
  poke(p, 40, std::uint64_t{1} << 40);  // n_params: 4 TiB of floats
  expect_message(
      message_of([&] { (void)load_checkpoint(p); }),
      {p.string() +
           ": truncated or corrupt checkpoint: n_params (offset 40) says 1099511627776 values",
       "has room for 123412 more"});
  save_checkpoint(p, sample_checkpoint());
  poke(p, 56, ~std::uint64_t{0});  // n_state: would overflow n * 4
  expect_message(message_of([&] { (void)load_checkpoint(p); }),
                 {"n_state (offset 56) says 18446744073709551615 values", "room for 61706 more"});
  fs::remove_all(dir);
}

TEST(CheckpointBroken, SizeVersionAndFieldsNameTheirPlace) {
  const fs::path dir = temp_dir("ckpt_fields");
  const fs::path p = dir / "checkpoint.bin";
  save_checkpoint(p, sample_checkpoint());
  {
    std::ofstream f(p, std::ios::binary | std::ios::app);
    f << "12345678";
  }
  expect_message(
      message_of([&] { (void)load_checkpoint(p); }),
      {p.string() + ": corrupt checkpoint (or a longer file): the header announces 493716 bytes",
       "the file has 493724 (8 unexpected bytes)"});

  save_checkpoint(p, sample_checkpoint());
  poke(p, 8, std::uint32_t{2});
  expect_message(message_of([&] { (void)load_checkpoint(p); }),
                 {p.string() + ": checkpoint version 2 (offset 8), this build reads version 1"});

  Checkpoint negative = sample_checkpoint();  // a valid checksum over a negative epoch
  negative.epochs_done = -4;
  save_checkpoint(p, negative);
  expect_message(message_of([&] { (void)load_checkpoint(p); }),
                 {p.string() + ": corrupt checkpoint: epochs_done (offset 20) is -4"});
  negative = sample_checkpoint();
  negative.steps_done = -1;
  save_checkpoint(p, negative);
  expect_message(message_of([&] { (void)load_checkpoint(p); }), {"steps_done (offset 24) is -1"});

  save_checkpoint(p, sample_checkpoint());
  poke(p, 1000, 1.5f);
  expect_message(message_of([&] { (void)load_checkpoint(p); }),
                 {"checksum mismatch (CRC-32 at offset 493712): the checkpoint is corrupt"});

  std::ofstream(p, std::ios::binary | std::ios::trunc).close();
  expect_message(message_of([&] { (void)load_checkpoint(p); }), {p.string() + ": empty file"});
  std::ofstream(p, std::ios::binary | std::ios::trunc) << "ARCHCKPT\x01";
  expect_message(message_of([&] { (void)load_checkpoint(p); }),
                 {"truncated checkpoint: 9 bytes, less than the 64-byte header"});
  expect_message(message_of([&] { (void)load_checkpoint(dir); }),
                 {dir.string() + ": is a directory"});
  fs::remove_all(dir);
}

TEST(CheckpointBroken, HugeSparseFileIsNotRead) {
  const fs::path dir = temp_dir("ckpt_sparse");
  const fs::path p = dir / "checkpoint.bin";
  save_checkpoint(p, sample_checkpoint());
  fs::resize_file(p, std::uintmax_t{1} << 36);  // 64 GiB, sparse: reading it would take minutes
  expect_message(message_of([&] { (void)load_checkpoint(p); }),
                 {"the header announces 493716 bytes", "the file has 68719476736"});
  fs::remove_all(dir);
}

TEST(CheckpointBroken, SaveFailureLeavesThePreviousFile) {
  // A checkpoint into a directory that cannot be created: a clear error, nothing half-done.
  const fs::path dir = temp_dir("ckpt_save");
  std::ofstream(dir / "file") << "x";
  const std::string m =
      message_of([&] { save_checkpoint(dir / "file" / "checkpoint.bin", sample_checkpoint()); });
  expect_message(m, {"cannot write the checkpoint", (dir / "file").string()});
  fs::remove_all(dir);
}

// LeNet-5's parameter file with every value distinct, and its layout.
struct LeNetFile {
  fs::path dir, path;
  codegen::ProgramView program = codegen::program_v<architectures::LeNet5>.view();
  std::vector<float> params = std::vector<float>(std::size_t(program.params));
  std::vector<ParameterTensor> layout = state_dict_layout(program);
  explicit LeNetFile(const std::string& name) : dir(temp_dir(name)), path(dir / "lenet.params") {
    std::iota(params.begin(), params.end(), 1.0f);
    save_parameters(path, program, params, {});
  }
  ~LeNetFile() { fs::remove_all(dir); }
  std::string load() {
    std::vector<float> into(params.size(), 0.0f);
    return message_of([&] { (void)load_parameters(path, program, into, {}); });
  }
  // Offset of the first tensor's name length, rank and first dimension.
  std::size_t name_at() const { return 16; }
  std::size_t rank_at() const { return 18 + layout[0].name.size(); }
};

TEST(ParameterFileBroken, HeaderErrorsNameTheField) {
  LeNetFile f("params_header");
  ASSERT_EQ(f.layout[0].name, "conv1.weight");
  poke(f.path, 0, 'X');
  expect_message(f.load(),
                 {f.path.string() + ": not an Archetype parameter file (bad magic at offset 0"});
  save_parameters(f.path, f.program, f.params, {});
  poke(f.path, 8, std::uint32_t{9});
  expect_message(f.load(), {": version 9 (offset 8), this build reads version 1"});
  save_parameters(f.path, f.program, f.params, {});
  poke(f.path, 12, std::uint32_t{0xFFFFFFFF});
  expect_message(f.load(), {": holds 4294967295 tensors (count at offset 12), the model has 10"});
  std::ofstream(f.path, std::ios::binary | std::ios::trunc).close();
  expect_message(f.load(), {f.path.string() + ": empty file"});
  expect_message(message_of([&] {
                   std::vector<float> into(f.params.size());
                   (void)load_parameters(f.dir, f.program, into, {});
                 }),
                 {f.dir.string() + ": is a directory"});
}

TEST(ParameterFileBroken, TensorErrorsNameTheTensorAndOffset) {
  LeNetFile f("params_tensor");
  poke(f.path, f.rank_at(), std::uint8_t{200});  // rank 200: refused before 1,600 bytes of dims
  expect_message(f.load(),
                 {f.path.string() +
                  ": tensor 1 of 10 ('conv1.weight'): 'conv1.weight' has rank 200 (offset 30)"});
  save_parameters(f.path, f.program, f.params, {});
  poke(f.path, f.rank_at() + 1, std::int64_t{1} << 40);
  expect_message(f.load(), {"tensor 1 of 10 ('conv1.weight'): 'conv1.weight' has shape "
                            "[1099511627776, 1, 5, 5] (offset 31)",
                            "the model needs [6, 1, 5, 5]"});
  save_parameters(f.path, f.program, f.params, {});
  poke(f.path, 18, 'x');  // "xonv1.weight": a different layer path is only a note
  EXPECT_EQ(f.load(), "(no exception)");
  poke(f.path, 24, '\x1b');  // "xonv1.\x1beight": another kind of tensor, shown escaped
  expect_message(
      f.load(),
      {"the file has 'xonv1.\\x1Beight' (offset 16) where the model expects 'conv1.weight'"});
  save_parameters(f.path, f.program, f.params, {});
  poke(f.path, 16, std::uint16_t{0xFFFF});  // a name longer than the file
  truncate_file(f.path, 1000);
  expect_message(
      f.load(),
      {"tensor 1 of 10 ('conv1.weight'): truncated: the name needs 65535 bytes at offset 18",
       "the file has 982 left"});
  save_parameters(f.path, f.program, f.params, {});
  poke(f.path, 16, std::uint16_t{0xFFFF});  // a long name that fits: shown cut, not whole
  const std::string m = f.load();
  expect_message(m, {"the file has 'conv1.weight\\x04\\x06", "... (65535 bytes)' (offset 16)"});
  EXPECT_LT(m.size(), 600u) << m;
  save_parameters(f.path, f.program, f.params, {});
  truncate_file(f.path, fs::file_size(f.path) - 1);
  expect_message(
      f.load(),
      {"tensor 10 of 10 ('fc3.bias'): truncated: the values need 40 bytes at offset 247080",
       "the file has 39 left"});
  save_parameters(f.path, f.program, f.params, {});
  std::ofstream(f.path, std::ios::binary | std::ios::app) << "tail";
  expect_message(f.load(),
                 {f.path.string() + ": 4 unexpected bytes after the last tensor (offset 247120)"});
}

TEST(ParameterFileBroken, HugeFileIsRefusedBeforeItIsRead) {
  LeNetFile f("params_huge");
  fs::resize_file(f.path, std::uintmax_t{1} << 36);
  expect_message(f.load(),
                 {f.path.string() +
                  ": 68719476736 bytes, larger than four times any parameter file of this model"});
}

TEST(MetricsFile, NonFiniteFiguresRoundTripAsNull) {
  const fs::path dir = temp_dir("metrics_nan");
  EpochMetrics e;
  e.epoch = 1;
  e.train_loss = std::numeric_limits<double>::infinity();
  e.test_loss = std::nan("");
  e.precision = "f32";
  write_metrics(dir / "m.csv", "lenet5", {e});
  const auto back = read_metrics(dir / "m.csv");
  ASSERT_EQ(back.size(), 1u);
  EXPECT_TRUE(std::isnan(back[0].train_loss));  // JSON has no Inf: written as null, read as NaN
  EXPECT_TRUE(std::isnan(back[0].test_loss));
  EXPECT_EQ(back[0].precision, "f32");
  fs::remove_all(dir);
}

TEST(MetricsFile, BrokenFilesNameTheField) {
  const std::string o = "runs/m.json";
  auto m = [&](const std::string& text) {
    return message_of([&] { (void)parse_metrics(text, o); });
  };
  const std::string row =
      R"("train_loss": 1, "train_accuracy": 0.5, "test_loss": 1, "test_accuracy": 0.5,
                             "lr": 0.1, "seconds": 2, "images_per_second": 100)";
  EXPECT_EQ(
      parse_metrics(R"({"epochs": [{"epoch": 1, )" + row + "}, {\"epoch\": 3, " + row + "}]}", o)
          .size(),
      2u);
  expect_message(m("{\"epochs\": [}"),
                 {o + ": not a metrics file (", "parse error at line 1, column 13"});
  expect_message(m("[1, 2]"), {o + ": not a metrics file: expected an object, found array"});
  expect_message(m(R"({"epochs": {}})"), {"\"epochs\": expected an array, found object"});
  expect_message(m(R"({"epochs": [{"epoch": 1.5, )" + row + "}]}"),
                 {"epochs[0].epoch: expected an integer, found 1.5"});
  expect_message(m(R"({"epochs": [{"epoch": 1e300, )" + row + "}]}"),
                 {"epochs[0].epoch: expected an integer"});
  expect_message(m(R"({"epochs": [{"epoch": 18446744073709551615, )" + row + "}]}"),
                 {"epochs[0].epoch: 18446744073709551615 is out of order or range"});
  expect_message(m(R"({"epochs": [{"epoch": 2, )" + row + R"(}, {"epoch": 2, )" + row + "}]}"),
                 {"epochs[1].epoch: 2 is out of order or range (after epoch 2"});
  expect_message(m(R"({"epochs": [{"epoch": 1, "train_loss": "low"}]})"),
                 {"epochs[0].train_loss: expected a number, found string"});
  expect_message(m(R"({"epochs": [{"epoch": 1, "train_loss": 1}]})"),
                 {"epochs[0].train_accuracy is missing"});
  expect_message(m(R"({"epochs": [{"epoch": 1, )" + row + R"(, "precision": 16}]})"),
                 {"epochs[0].precision: expected a string, found number"});
}

}  // namespace
}  // namespace archetype::runtime
