// `archetype export` (export/): the written file's interface, checked with the ONNX library;
// ONNX Runtime (npm onnxruntime-node, run.mjs) against our oneDNN inference forward on the
// same weights and inputs; every zoo model through the ONNX checker; bad input.
//
// Tolerance (as tests/parity): |ORT - ours| <= 1e-4 * max(|ours|, max |ours|) per logit.
#include <archetype/archetype.hpp>
#include <archetype/architectures/registry.hpp>
#include <archetype/backends/onednn/executable.hpp>
#include <archetype/export/onnx.hpp>
#include <archetype/runtime/parameters_file.hpp>

#include <gtest/gtest.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace archetype;

constexpr int batch = 2;
constexpr double tolerance = 1e-4;

struct Result {
  int rc = -1;
  std::string out;  // stdout and stderr together
};

/// Runs a shell command, capturing stdout and stderr.
Result shell(const std::string& command) {
  Result r;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return r;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) r.out.append(buffer, n);
  const int status = ::pclose(pipe);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

Result archetype_cli(const std::string& args) {
  return shell(std::string("'") + ARCHETYPE_CLI_PATH + "' " + args);
}

/// A scratch directory, removed at the end of the test.
struct Scratch {
  fs::path dir;
  explicit Scratch(const std::string& name)
      : dir(fs::temp_directory_path() /
            ("archetype_onnx_" + name + "_" + std::to_string(::getpid()))) {
    fs::create_directories(dir);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  [[nodiscard]] std::string operator/(const std::string& file) const {
    return (dir / file).string();
  }
};

const ModelInfo& info_of(const std::string& name, bool fashion_mnist) {
  const ModelEntry* m = find_model(name);
  if (m == nullptr) throw std::runtime_error("no model " + name);
  return fashion_mnist ? m->fashion_mnist : m->native;
}

/// Deterministic weights where the logits depend on the input and BatchNorm matters: He
/// uniform weights (variance 2 / fan_in, so the signal neither vanishes nor explodes
/// through a deep net, as it does with PyTorch's default), biases in +-0.1, BatchNorm gamma
/// in [0.5, 1.5], beta and running mean in +-0.1, running variance in [0.5, 1.5].
void random_weights(const codegen::ProgramView& program, std::vector<float>& parameters,
                    std::vector<float>& buffers, std::uint64_t seed) {
  parameters.assign(std::size_t(program.params), 0.f);
  buffers.assign(std::size_t(program.buffers), 0.f);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (const codegen::Op& op : program.ops) {
    const LayerRow& L = op.layer;
    const auto p = std::size_t(op.param_offset), b = std::size_t(op.buffer_offset);
    if (L.op == LayerKind::conv || L.op == LayerKind::linear) {
      const std::int64_t fan_in = L.op == LayerKind::conv
                                      ? std::int64_t{L.in.c / L.groups} * L.kernel_h * L.kernel_w
                                      : L.in.elements();
      const auto weights = std::size_t(L.params - (L.bias ? L.out.c : 0));
      const auto bound = float(std::sqrt(6.0 / double(fan_in)));
      for (std::size_t i = 0; i < weights; ++i) parameters[p + i] = bound * u(rng);
      for (std::size_t i = weights; i < std::size_t(L.params); ++i)
        parameters[p + i] = 0.1f * u(rng);
    } else if (L.op == LayerKind::batch_norm) {
      const auto c = std::size_t(L.in.c);
      for (std::size_t i = 0; i < c; ++i) {
        parameters[p + i] = 1.f + 0.5f * u(rng);
        parameters[p + c + i] = 0.1f * u(rng);
        buffers[b + i] = 0.1f * u(rng);
        buffers[b + c + i] = 1.f + 0.5f * u(rng);
      }
    }
  }
}

void write_floats(const std::string& path, const std::vector<float>& v) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * sizeof(float)));
  ASSERT_TRUE(out.good()) << path;
}

std::vector<float> read_floats(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

::onnx::ModelProto load_model(const std::string& path) {
  ::onnx::ModelProto model;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(model.ParseFromIstream(&in)) << path;
  return model;
}

/// Dims of a graph input or output: a number, or the symbolic name.
std::vector<std::string> dims_of(const ::onnx::ValueInfoProto& v) {
  std::vector<std::string> dims;
  for (const auto& d : v.type().tensor_type().shape().dim()) {
    dims.push_back(d.has_dim_value() ? std::to_string(d.dim_value()) : d.dim_param());
  }
  return dims;
}

int count_ops(const codegen::ProgramView& program, LayerKind kind) {
  return int(std::count_if(program.ops.begin(), program.ops.end(),
                           [kind](const codegen::Op& op) { return op.layer.op == kind; }));
}

int count_nodes(const ::onnx::ModelProto& model, const std::string& type) {
  return int(std::count_if(model.graph().node().begin(), model.graph().node().end(),
                           [&type](const ::onnx::NodeProto& n) { return n.op_type() == type; }));
}

/// ONNX Runtime's logits (`theirs`) against a reference (`ours`), batch x classes: within
/// 1e-4 * max(|ours|, max |ours|) each, and the logits must depend on the input.
void expect_close(std::span<const float> ours, std::span<const float> theirs,
                  const std::string& what) {
  ASSERT_EQ(theirs.size(), ours.size()) << what;
  double scale = 0;
  for (float x : ours) scale = std::max(scale, double(std::abs(x)));
  ASSERT_GT(scale, 1e-6) << what << ": logits too small to compare";
  // The logits must depend on the input: a graph that ignored it, or weights under which
  // the signal vanished, would compare little more than biases. Random inputs give images
  // alike in distribution, so a deep net's logits differ between them by a few percent.
  const std::size_t classes = ours.size() / batch;
  double spread = 0, spread_error = 0;
  for (std::size_t k = 0; k < classes; ++k) {
    spread = std::max(spread, double(std::abs(ours[k] - ours[classes + k])));
  }
  for (std::size_t k = 0; k < classes; ++k) {
    const double d_ours = double(ours[k]) - double(ours[classes + k]);
    const double d_theirs = double(theirs[k]) - double(theirs[classes + k]);
    if (spread > 0) spread_error = std::max(spread_error, std::abs(d_ours - d_theirs) / spread);
  }
  EXPECT_GT(spread, 1e-3 * scale) << what << ": the logits hardly depend on the input";
  // The input-dependent part on its own scale: 1e-3 relative to the largest difference.
  EXPECT_LE(spread_error, 1e-3) << "difference between the images' logits";
  double worst = 0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < ours.size(); ++i) {
    const double e = std::abs(double(theirs[i]) - double(ours[i])) /
                     (tolerance * std::max(double(std::abs(ours[i])), scale));
    if (!(e <= worst)) {
      worst = e;
      at = i;
    }
  }
  std::printf(
      "  %s: max |logit| %.4g, max error %.3g of the 1e-4 bound; images differ by up to %.3g, that "
      "difference within %.3g relative\n",
      what.c_str(), scale, worst, spread, spread_error);
  EXPECT_LE(worst, 1.0) << what << ": logit " << at << ": ONNX Runtime " << theirs[at]
                        << ", reference " << ours[at];
}

// --- ONNX Runtime against our oneDNN inference -----------------------------------------

struct Case {
  const char* model;
  bool fashion_mnist;
  bool fixed_batch = false;  ///< export with --batch 2 (else the batch is symbolic)
};

std::string case_name(const testing::TestParamInfo<Case>& info) {
  return std::string(info.param.model) + (info.param.fashion_mnist ? "_fashion_mnist" : "") +
         (info.param.fixed_batch ? "_batch2" : "");
}

class OnnxRuntime : public testing::TestWithParam<Case> {};

TEST_P(OnnxRuntime, LogitsMatchOneDnnInference) {
  const Case c = GetParam();
  const ModelInfo& info = info_of(c.model, c.fashion_mnist);
  const std::string batch_dim = c.fixed_batch ? std::to_string(batch) : "batch";
  const codegen::ProgramView& program = info.program;
  Scratch scratch(case_name({c, 0}));

  std::vector<float> parameters, buffers;
  random_weights(program, parameters, buffers, 27);
  runtime::save_parameters(scratch / "weights.params", program, parameters, buffers);
  const Shape in = info.input;
  std::vector<float> input(std::size_t(batch * in.elements()));
  std::mt19937_64 rng(2027);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (float& x : input) x = u(rng);
  write_floats(scratch / "input.bin", input);

  const Result exported =
      archetype_cli(std::string("export ") + c.model + (c.fashion_mnist ? " --fashion-mnist" : "") +
                    (c.fixed_batch ? " --batch 2" : "") + " --weights '" +
                    (scratch / "weights.params") + "' --onnx '" + (scratch / "model.onnx") + "'");
  ASSERT_EQ(exported.rc, 0) << exported.out;

  // The file: checked again as read back, the documented interface, the inference graph.
  const ::onnx::ModelProto model = load_model(scratch / "model.onnx");
  EXPECT_NO_THROW(::onnx::checker::check_model(model));
  ASSERT_GE(model.opset_import_size(), 1);
  EXPECT_GE(model.opset_import(0).version(), 13);
  ASSERT_EQ(model.graph().input_size(), 1);
  ASSERT_EQ(model.graph().output_size(), 1);
  EXPECT_EQ(model.graph().input(0).name(), "input");
  EXPECT_EQ(model.graph().output(0).name(), "logits");
  EXPECT_EQ(dims_of(model.graph().input(0)),
            (std::vector<std::string>{batch_dim, std::to_string(in.c), std::to_string(in.h),
                                      std::to_string(in.w)}));
  const Shape out = program.tensors[std::size_t(program.output)].shape;
  EXPECT_EQ(dims_of(model.graph().output(0)),
            (std::vector<std::string>{batch_dim, std::to_string(out.elements())}));
  EXPECT_EQ(count_nodes(model, "Dropout"), 0);
  EXPECT_EQ(count_nodes(model, "BatchNormalization"), count_ops(program, LayerKind::batch_norm));
  EXPECT_EQ(count_nodes(model, "Conv"), count_ops(program, LayerKind::conv));

  const Result ort =
      shell(std::string("'") + ARCHETYPE_NODE_PATH + "' '" + ARCHETYPE_ORT_DIR + "/run.mjs' '" +
            (scratch / "model.onnx") + "' '" + (scratch / "input.bin") + "' " +
            std::to_string(batch) + " " + std::to_string(in.c) + " " + std::to_string(in.h) + " " +
            std::to_string(in.w) + " '" + (scratch / "logits.bin") + "'");
  ASSERT_EQ(ort.rc, 0)
      << ort.out << "\n(ONNX Runtime: tests/export/node_modules, installed by scripts/setup.sh)";
  EXPECT_NE(ort.out.find("logits: " + std::to_string(batch) + "x" + std::to_string(out.elements())),
            std::string::npos)
      << ort.out;
  const std::vector<float> theirs = read_floats(scratch / "logits.bin");

  onednn::Executable ours_exe(program, batch, onednn::Mode::inference);
  std::copy(parameters.begin(), parameters.end(), ours_exe.parameters().begin());
  std::copy(buffers.begin(), buffers.end(), ours_exe.buffers().begin());
  const std::span<const float> ours = ours_exe.forward(input);
  expect_close(ours, theirs, case_name({c, 0}));
}

INSTANTIATE_TEST_SUITE_P(Zoo, OnnxRuntime,
                         testing::Values(Case{"lenet5", false}, Case{"resnet20", false},
                                         Case{"resnet50", false}, Case{"googlenet", false},
                                         Case{"mobilenet_v2", false},
                                         Case{"efficientnet_b0", false}, Case{"xception", false},
                                         Case{"lenet5", true}, Case{"mobilenet_v2", true},
                                         Case{"mobilenet_v2", true, true}),
                         case_name);

// --- Layers the tested zoo models do not reach ---------------------------------------------

/// LocalResponseNorm, an AvgPool whose ceil-mode window runs past its padding (Pad node plus
/// count_include_pad = 0), AdaptiveAvgPool with bins of different sizes (the MatMul), a
/// residual with a ReLU after the sum, a depthwise convolution, an SE gate, an asymmetric
/// convolution in a Concat, ReLU6, SiLU, Sigmoid, a Linear after a Linear, and Dropout.
struct EveryLayerNet final
    : Net<Input<Shape{3, 12, 12}>,
          Seq<Named<"stem", Seq<Conv<8, 3>, BatchNorm, ReLU6>>, Named<"lrn", LocalResponseNorm<>>,
              Named<"pool", AvgPool<3, 2, 1, true>>,
              Named<"block",
                    Residual<Seq<DepthwiseConv<8, 3>, BatchNorm, SiLU, Conv1x1<8>, BatchNorm>,
                             Identity, ReLU>>,
              Named<"se", SqueezeExcitation<8, 2>>,
              Named<"mixed", Concat<Conv1x1<4>, Seq<ConvKxL<4, 1, 3>, Sigmoid>>>,
              Named<"adaptive", AdaptiveAvgPool<3>>, Flatten, Named<"fc1", Linear<16>>, ReLU,
              Dropout<0.5>, Named<"fc", Linear<10>>>,
          10> {};

TEST(OnnxExport, EveryLayerKindMatchesOneDnn) {
  const codegen::ProgramView program = codegen::program_v<EveryLayerNet>.view();
  ASSERT_EQ(program.tensors[std::size_t(program.ops[4].output)].shape, (Shape{8, 7, 7}))
      << "the AvgPool no longer runs past its padding";
  Scratch scratch("every_layer");
  std::vector<float> parameters, buffers;
  random_weights(program, parameters, buffers, 5);
  onnx_export::OnnxOptions options;
  options.batch = batch;  // and a fixed batch dimension
  const onnx_export::OnnxSummary s =
      onnx_export::write_onnx(scratch / "net.onnx", program, parameters, buffers, options);
  for (const char* type :
       {"LRN", "Pad", "AveragePool", "MatMul", "Clip", "Mul", "Concat", "Gemm", "Add"}) {
    EXPECT_EQ(std::count(s.op_types.begin(), s.op_types.end(), type), 1) << type;
  }
  EXPECT_EQ(std::count(s.op_types.begin(), s.op_types.end(), "Dropout"), 0);

  std::vector<float> input(std::size_t(batch * program.tensors[0].shape.elements()));
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (float& x : input) x = u(rng);
  write_floats(scratch / "input.bin", input);
  const Result ort =
      shell(std::string("'") + ARCHETYPE_NODE_PATH + "' '" + ARCHETYPE_ORT_DIR + "/run.mjs' '" +
            (scratch / "net.onnx") + "' '" + (scratch / "input.bin") + "' 2 3 12 12 '" +
            (scratch / "logits.bin") + "'");
  ASSERT_EQ(ort.rc, 0) << ort.out;
  onednn::Executable ours(program, batch, onednn::Mode::inference);
  std::copy(parameters.begin(), parameters.end(), ours.parameters().begin());
  std::copy(buffers.begin(), buffers.end(), ours.buffers().begin());
  const std::span<const float> logits = ours.forward(input);
  expect_close(logits, read_floats(scratch / "logits.bin"), "every layer kind");
}

// --- torchvision's state_dict, exported, against PyTorch itself ---------------------------

// torchvision's model with random weights and BatchNorm statistics (torchvision_reference.py),
// its state_dict converted by tools/convert_state_dict.py and loaded by name, exported, run
// by ONNX Runtime, against PyTorch's own eval-mode logits. (GoogLeNet, Inception v3 and
// EfficientNet are not here: torchvision gives their BatchNorms epsilon 1e-3, and the
// zoo's programs carry no epsilon, 1e-5 everywhere.)
class Torchvision : public testing::TestWithParam<const char*> {};

TEST_P(Torchvision, StateDictExportsAndRunsAsInPyTorch) {
  const std::string model = GetParam();
  Scratch scratch("torchvision_" + model);
  const Result reference =
      shell(std::string("'") + ARCHETYPE_TORCH_PYTHON + "' '" + ARCHETYPE_ORT_DIR +
            "/torchvision_reference.py' " + model + " '" + scratch.dir.string() + "'");
  if (reference.rc == 3) GTEST_SKIP() << reference.out;
  ASSERT_EQ(reference.rc, 0) << reference.out;
  const Result exported =
      archetype_cli("export " + model + " --weights '" + (scratch / "weights.params") +
                    "' --onnx '" + (scratch / "model.onnx") + "'");
  ASSERT_EQ(exported.rc, 0) << exported.out;
  // Loaded by name: the state_dict's names are the model's, so no note about them.
  EXPECT_EQ(exported.out.find("names differ"), std::string::npos) << exported.out;
  const Result ort =
      shell(std::string("'") + ARCHETYPE_NODE_PATH + "' '" + ARCHETYPE_ORT_DIR + "/run.mjs' '" +
            (scratch / "model.onnx") + "' '" + (scratch / "input.bin") + "' 2 3 224 224 '" +
            (scratch / "logits.bin") + "'");
  ASSERT_EQ(ort.rc, 0) << ort.out;
  expect_close(read_floats(scratch / "torch.bin"), read_floats(scratch / "logits.bin"),
               model + " vs PyTorch");
}

INSTANTIATE_TEST_SUITE_P(Zoo, Torchvision, testing::Values("resnet18", "mobilenet_v2"),
                         [](const testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param);
                         });

// --- The exporter on its own --------------------------------------------------------------

TEST(OnnxExport, FixedBatchAndOpset) {
  Scratch scratch("fixed");
  const Result r = archetype_cli("export resnet20 --init-seed 3 --batch 4 --opset 17 --onnx '" +
                                 (scratch / "r20.onnx") + "'");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("input  'input'  float 4x3x32x32"), std::string::npos) << r.out;
  const ::onnx::ModelProto model = load_model(scratch / "r20.onnx");
  EXPECT_EQ(model.opset_import(0).version(), 17);
  EXPECT_EQ(dims_of(model.graph().input(0)), (std::vector<std::string>{"4", "3", "32", "32"}));
  EXPECT_EQ(dims_of(model.graph().output(0)), (std::vector<std::string>{"4", "10"}));
  // Initializers carry the state_dict names, and the option-A shortcuts are Slice + Pad.
  std::set<std::string> names;
  for (const auto& t : model.graph().initializer()) names.insert(t.name());
  EXPECT_TRUE(names.count("conv1.weight") == 1 && names.count("bn1.running_var") == 1 &&
              names.count("fc.bias") == 1)
      << "first initializer: " << model.graph().initializer(0).name();
  EXPECT_EQ(count_nodes(model, "Slice"), 2);
}

TEST(OnnxExport, InitSeedIsDeterministic) {
  Scratch scratch("seed");
  ASSERT_EQ(archetype_cli("export lenet5 --init-seed 5 --onnx '" + (scratch / "a.onnx") + "'").rc,
            0);
  ASSERT_EQ(archetype_cli("export lenet5 --init-seed 5 --onnx '" + (scratch / "b.onnx") + "'").rc,
            0);
  ASSERT_EQ(archetype_cli("export lenet5 --init-seed 6 --onnx '" + (scratch / "c.onnx") + "'").rc,
            0);
  auto bytes = [&](const char* f) {
    std::ifstream in(scratch / f, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  EXPECT_EQ(bytes("a.onnx"), bytes("b.onnx"));
  EXPECT_NE(bytes("a.onnx"), bytes("c.onnx"));
}

TEST(OnnxExport, WrongBlockSizesAreRefused) {
  const codegen::ProgramView& program = info_of("lenet5", false).program;
  std::vector<float> parameters(std::size_t(program.params - 1)),
      buffers(std::size_t(program.buffers));
  try {
    (void)onnx_export::check_onnx(program, parameters, buffers);
    ADD_FAILURE() << "no error";
  } catch (const onnx_export::OnnxError& e) {
    EXPECT_NE(std::string(e.what()).find("expected 61706 parameters"), std::string::npos)
        << e.what();
  }
}

// A layer kind the exporter does not know (a LayerKind added without its ONNX mapping) is
// an error naming the op's path and kind.
TEST(OnnxExport, UnknownLayerKindNamesTheOp) {
  const codegen::ProgramView lenet = info_of("lenet5", false).program;
  std::vector<codegen::Op> ops(lenet.ops.begin(), lenet.ops.end());
  const auto relu = std::find_if(
      ops.begin(), ops.end(), [](const codegen::Op& op) { return op.layer.op == LayerKind::relu; });
  ASSERT_NE(relu, ops.end());
  relu->layer.op = LayerKind(250);
  codegen::ProgramView program = lenet;
  program.ops = ops;
  std::vector<float> parameters(std::size_t(program.params)), buffers(std::size_t(program.buffers));
  try {
    (void)onnx_export::check_onnx(program, parameters, buffers);
    ADD_FAILURE() << "no error";
  } catch (const onnx_export::OnnxError& e) {
    const std::string path(relu->layer.path.view());
    EXPECT_NE(std::string(e.what()).find(path + " (" + std::string(relu->layer.kind.view()) + ")"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("no ONNX mapping"), std::string::npos) << e.what();
  }
}

// Every zoo model, at its native input and through its Fashion-MNIST adapter, passes the
// ONNX checker and ONNX's shape inference agrees with the program on every op.
TEST(OnnxExportSlow, EveryZooModelPassesTheChecker) {
  for (const ModelEntry& m : models()) {
    for (const ModelInfo* info : {&m.native, &m.fashion_mnist}) {
      const codegen::ProgramView& program = info->program;
      std::vector<float> parameters(std::size_t(program.params), 0.01f),
          buffers(std::size_t(program.buffers), 1.f);
      try {
        const onnx_export::OnnxSummary s = onnx_export::check_onnx(program, parameters, buffers);
        EXPECT_GT(s.nodes, 0) << m.name;
        EXPECT_EQ(std::count(s.op_types.begin(), s.op_types.end(), "Dropout"), 0) << m.name;
      } catch (const std::exception& e) {
        ADD_FAILURE() << m.name << (info == &m.fashion_mnist ? " (Fashion-MNIST)" : "") << ": "
                      << e.what();
      }
    }
  }
}

// --- Bad input ----------------------------------------------------------------------------

TEST(OnnxExportErrors, MissingWeightsFile) {
  Scratch scratch("missing");
  const Result r = archetype_cli("export lenet5 --weights '" + (scratch / "nope.params") +
                                 "' --onnx '" + (scratch / "x.onnx") + "'");
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("nope.params"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(scratch / "x.onnx"));
}

TEST(OnnxExportErrors, WeightsOfAnotherModel) {
  Scratch scratch("wrong");
  const codegen::ProgramView& lenet = info_of("lenet5", false).program;
  std::vector<float> parameters, buffers;
  random_weights(lenet, parameters, buffers, 1);
  runtime::save_parameters(scratch / "lenet5.params", lenet, parameters, buffers);
  const Result r = archetype_cli("export resnet20 --weights '" + (scratch / "lenet5.params") +
                                 "' --onnx '" + (scratch / "x.onnx") + "'");
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find("cannot load --weights"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("lenet5.params"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(scratch / "x.onnx"));
}

TEST(OnnxExportErrors, TruncatedWeightsFile) {
  Scratch scratch("truncated");
  const codegen::ProgramView& lenet = info_of("lenet5", false).program;
  std::vector<float> parameters, buffers;
  random_weights(lenet, parameters, buffers, 1);
  runtime::save_parameters(scratch / "w.params", lenet, parameters, buffers);
  fs::resize_file(scratch / "w.params", fs::file_size(scratch / "w.params") - 100);
  const Result r = archetype_cli("export lenet5 --weights '" + (scratch / "w.params") +
                                 "' --onnx '" + (scratch / "x.onnx") + "'");
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find("w.params"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(scratch / "x.onnx"));
}

TEST(OnnxExportErrors, UnknownModel) {
  const Result r = archetype_cli("export resnet51 --init-seed 1 --onnx /tmp/unused.onnx");
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("unknown model 'resnet51'"), std::string::npos) << r.out;
}

TEST(OnnxExportErrors, BadFlagsExitWithTwo) {
  Scratch scratch("flags");
  const std::string onnx = " --onnx '" + (scratch / "x.onnx") + "'";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"export lenet5" + onnx, "--weights FILE"},                              // no weights
      {"export lenet5 --init-seed 1 --weights /dev/null" + onnx, "not both"},  // both
      {"export lenet5 --init-seed 1", "--onnx"},                               // no output
      {"export lenet5 --init-seed 1 --batch 0" + onnx, "--batch"},
      {"export lenet5 --init-seed 1 --opset 12" + onnx, "--opset"},
      {"export lenet5 --init-seed x" + onnx, "--init-seed"},
  };
  for (const auto& [args, message] : cases) {
    const Result r = archetype_cli(args);
    EXPECT_EQ(r.rc, 2) << args << "\n" << r.out;
    EXPECT_NE(r.out.find(message), std::string::npos) << args << "\n" << r.out;
  }
  EXPECT_FALSE(fs::exists(scratch / "x.onnx"));
}

// A FIFO (or /dev/stdout) is written straight into, not replaced by a renamed file.
TEST(OnnxExport, WritesIntoAPipe) {
  Scratch scratch("fifo");
  ASSERT_EQ(shell("mkfifo '" + (scratch / "pipe") + "'").rc, 0);
  const Result r =
      shell("timeout 60 cat '" + (scratch / "pipe") + "' > '" + (scratch / "copy.onnx") + "' & '" +
            ARCHETYPE_CLI_PATH + "' export lenet5 --init-seed 1 --onnx '" + (scratch / "pipe") +
            "'; rc=$?; wait; exit $rc");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(fs::is_fifo(scratch.dir / "pipe"));
  const ::onnx::ModelProto model = load_model(scratch / "copy.onnx");
  EXPECT_EQ(model.graph().output(0).name(), "logits");
}

TEST(OnnxExportErrors, UnwritableOutput) {
  const Result r = archetype_cli("export lenet5 --init-seed 1 --onnx /nonexistent-dir/x.onnx");
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find("/nonexistent-dir/x.onnx"), std::string::npos) << r.out;
}

}  // namespace
