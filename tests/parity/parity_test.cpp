// Parity with PyTorch: the same weights and inputs give the same logits (eval and train
// mode), the same step-1 gradients, and the same parameters and BatchNorm running
// statistics after 3 SGD steps (momentum 0.9, weight decay 5e-4, lr 0.05), within 1e-4
// relative. The reference is written by make_reference.py (see its docstring for the files
// and the protocol).
//
// Tolerance: |ours - torch| <= 1e-4 * max(|torch|, scale), with
//  - logits: scale = the largest |logit| of the batch. A logit is a sum of products whose
//    rounding error is proportional to the size of its terms, which is the size of the
//    logits in general, not of that one logit: a logit that happens to be near 0 carries
//    the same absolute error as its neighbours;
//  - gradients: scale = the largest |gradient| of the layer (weight and bias);
//  - parameters and running statistics: scale = the largest |value| of the same tensor
//    (PyTorch's name, e.g. `layer2.0.bn1.running_mean`), for the same reason: an element
//    near 0 is the difference of larger numbers (initial value, update, decay).
// Each comparison prints the largest error in units of that bound's 1e-4 ("rel"), the
// largest absolute error, and, for the parameters, the largest error relative to the
// largest change of the tensor over the 3 steps ("of update"), a stricter diagnostic.
//
// Kinks: a ReLU input or a max-pool runner-up within fp32 rounding of its kink can fall
// on either side in two correct fp32 implementations, and that decides one gradient
// element outright (then every tensor upstream differs by ~1%). make_reference.py runs the
// same steps in float64: LeNet-5's seed keeps its decisions clear of fp32 rounding (1.6e-6
// of the tensor's largest value), and it is held to 1e-4; ResNet-20's best seed comes within
// 1.65e-7, which one CPU's rounding crosses and another's does not, and VGG-16-CIFAR has no
// such seed (PyTorch's own fp32 run ends hundreds of bounds from float64): their logits and
// step-1 loss are held to 1e-4, their gradients and parameters to what one (ResNet-20) or a
// few (VGG-16-CIFAR) flipped decisions can move (see check()).
#include <archetype/architectures/cifar_resnet.hpp>
#include <archetype/architectures/lenet.hpp>
#include <archetype/architectures/vgg.hpp>
#include <archetype/backends/onednn/executable.hpp>
#include <archetype/codegen/program.hpp>
#include <archetype/runtime/optimizer.hpp>
#include <archetype/runtime/parameters_file.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace archetype::parity {
namespace {

namespace fs = std::filesystem;
using onednn::Executable;
using onednn::Mode;

constexpr int batch = 8;
constexpr int steps = 3;
constexpr double lr = 0.05;
constexpr double tolerance = 1e-4;

template <class T>
std::vector<T> read_raw(const fs::path& path, std::size_t count) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": cannot open (run make_reference.py)");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() != count * sizeof(T)) {
    throw std::runtime_error(path.string() + ": " + std::to_string(bytes.size()) + " bytes, expected " +
                             std::to_string(count * sizeof(T)));
  }
  std::vector<T> v(count);
  std::memcpy(v.data(), bytes.data(), bytes.size());
  return v;
}

/// The largest |got - want| / (tolerance * max(|want|, scale)) over a range: <= 1 passes.
struct Error {
  double rel = 0;  ///< in units of the bound
  double abs = 0;
  std::size_t at = 0;
};

Error compare(std::span<const float> got, std::span<const float> want, double scale) {
  Error e;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const double d = std::abs(double(got[i]) - double(want[i]));
    const double bound = tolerance * std::max(std::abs(double(want[i])), scale);
    const double r = std::isfinite(d) ? (bound > 0 ? d / bound : (d > 0 ? 1e30 : 0.0)) : 1e30;
    if (r > e.rel) e = Error{r, d, i};
    e.abs = std::max(e.abs, std::isfinite(d) ? d : 1e30);
  }
  return e;
}

/// ||got - want|| / ||want|| (0 when both are zero).
double relative_l2(std::span<const float> got, std::span<const float> want) {
  double d = 0, n = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const double e = double(got[i]) - double(want[i]);
    d += std::isfinite(e) ? e * e : 1e300;
    n += double(want[i]) * double(want[i]);
  }
  return n > 0 ? std::sqrt(d / n) : (d > 0 ? 1e30 : 0.0);
}

double max_abs(std::span<const float> v) {
  double m = 0;
  for (float x : v) m = std::max(m, std::abs(double(x)));
  return m;
}

void expect_logits(const char* what, std::span<const float> got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size()) << what;
  const double scale = max_abs(want);
  const Error e = compare(got, want, scale);
  std::printf("  %-13s max |logit| %.4g, max abs error %.3g, max error %.3g of the 1e-4 bound\n", what, scale,
              e.abs, e.rel);
  EXPECT_LE(e.rel, 1.0) << what << ": logit " << e.at << " (image " << e.at / 10 << ", class " << e.at % 10
                        << "): ours " << got[e.at] << ", PyTorch " << want[e.at] << ", bound "
                        << tolerance * std::max(std::abs(double(want[e.at])), scale);
}

/// Step 1's gradients, tensor by tensor, scale = the largest |gradient| of the tensor.
void expect_gradients(const codegen::ProgramView& program, std::span<const float> got, const fs::path& file,
                      double allowed) {
  std::vector<float> want(got.size()), ignored(std::size_t(program.buffers));
  EXPECT_EQ(runtime::load_parameters(file, program, want, ignored), "");
  // Scale: the largest |gradient| of the layer (weight and bias together), not of the one
  // tensor: the bias of a convolution followed by BatchNorm has a gradient of exactly 0,
  // computed as a sum of terms that cancel, whose rounding is the size of those terms.
  const auto layout = runtime::state_dict_layout(program);
  std::map<std::string, double> layer_scale;
  auto layer_of = [](const std::string& name) { return name.substr(0, name.rfind('.')); };
  for (const runtime::ParameterTensor& t : layout) {
    if (t.buffer) continue;
    double& m = layer_scale[layer_of(t.name)];
    m = std::max(m, max_abs(std::span<const float>(want).subspan(std::size_t(t.offset), std::size_t(t.size()))));
  }
  Error worst;
  std::string worst_name, table, worst_l2_name;
  double worst_l2 = 0;
  int failures = 0;
  for (const runtime::ParameterTensor& t : layout) {
    if (t.buffer) continue;
    const auto offset = std::size_t(t.offset), size = std::size_t(t.size());
    const auto expected = std::span<const float>(want).subspan(offset, size);
    const Error e = compare(got.subspan(offset, size), expected, layer_scale[layer_of(t.name)]);
    const double l2 = relative_l2(got.subspan(offset, size), expected);
    if (l2 > worst_l2) {
      worst_l2 = l2;
      worst_l2_name = t.name;
    }
    table += "    " + t.name + " " + std::to_string(e.rel) + "\n";
    if (e.rel >= worst.rel) {
      worst = e;
      worst_name = t.name;
    }
    if (e.rel > allowed && ++failures <= 10) {
      ADD_FAILURE() << "gradient of " << t.name << "[" << e.at << "]: ours " << got[offset + e.at] << ", PyTorch "
                    << expected[e.at] << ", error " << e.rel << " of the bound";
    }
  }
  // Where the errors begin tells what went wrong: read the table from its end (the
  // backward runs from the loss to the input).
  if (failures > 0) std::printf("  step 1 gradients, error in units of the bound, per tensor:\n%s", table.c_str());
  std::printf("  step 1 gradients: max error %.3g of the 1e-4 bound (%s, abs %.3g); allowed %.3g; largest relative "
              "L2 error of a tensor %.3g (%s)\n", worst.rel, worst_name.c_str(), worst.abs, allowed, worst_l2,
              worst_l2_name.c_str());
}

void check(const codegen::ProgramView& program, const std::string& name) {
  if (std::strlen(ARCHETYPE_PARITY_SKIP) != 0) GTEST_SKIP() << "PyTorch parity: " << ARCHETYPE_PARITY_SKIP;
  const char* override_dir = std::getenv("ARCHETYPE_PARITY_DIR");  // to try other references
  const fs::path dir = override_dir != nullptr ? override_dir : ARCHETYPE_PARITY_DIR;
  auto file = [&](const char* what) { return dir / (name + "." + what); };

  const Shape in = program.tensors[std::size_t(program.input)].shape;
  const Shape out = program.tensors[std::size_t(program.output)].shape;
  ASSERT_EQ(out.elements(), 10);
  const std::size_t image = std::size_t(in.elements());
  const auto x = read_raw<float>(file("input.f32"), std::size_t(steps) * batch * image);
  const auto y = read_raw<std::int32_t>(file("labels.i32"), std::size_t(steps) * batch);
  const auto eval_logits = read_raw<float>(file("eval_logits.f32"), batch * 10);
  const auto train_logits = read_raw<float>(file("train_logits.f32"), batch * 10);
  const auto losses = read_raw<float>(file("losses.f32"), steps);
  // Allowed error, in units of the 1e-4 bound: 1, unless PyTorch's own fp32 run ends
  // farther than that from the float64 one (after the steps). Such a run is ill-conditioned:
  // some ReLU input or max-pool runner-up lies within fp32 rounding of its kink, and which
  // side it falls on decides a gradient element outright (make_reference.py, kink_margin);
  // which decisions fall which way depends on the machine's roundings (the CPU's kernels, for
  // PyTorch as for oneDNN), so the test must take any of them. Measured on VGG-16-CIFAR
  // (2026-12-04, a Zen 5 machine): one ReLU input after features.15 falls the other way
  // here than in PyTorch, features.15.bias's step-1 gradient moves by 2.6% of its layer's
  // largest gradient (everything upstream by 0.2-0.4%, everything downstream agrees within
  // 0.08 of the bound), and after 3 steps at lr 0.05 the parameters are up to 4.6% apart in
  // relative L2 (features.3.weight) while PyTorch's own fp32 run is 271 bounds from float64
  // (1,070 on an earlier machine). An ill-conditioned run is therefore held to: step-1
  // gradients within 10% of their layer's largest gradient (1,000 bounds: a few flipped
  // decisions, not a wrong backward, which moves whole layers), and after the steps each
  // tensor within 30% relative L2 (and the losses within 30%); the logits and the step-1
  // loss stay at 1e-4 (the forward pass has no such decision to amplify).
  //
  // A run PyTorch's own fp32 rounding keeps within the bound may still have a decision
  // within another CPU's rounding of its kink: ResNet-20's float64 trajectory comes within
  // 1.65e-7 of its tensor's largest value of a ReLU's kink (its seed is the best of 13), and
  // on an AVX2 CPU (Zen 3, 2026-12-07) one ReLU input in layer3.0 fell the other way in our
  // step 1: layer3.0.conv1's and bn1's gradients moved by 43 bounds, every tensor upstream
  // by 2-11, everything downstream agreed within 0.3, and after the 3 steps the tensors
  // were up to 0.93% apart in relative L2 (208 bounds element-wise). Where the smallest kink
  // margin is below `kink_resolution` (a few roundings of a sum of hundreds of products),
  // the run is held to what one flipped decision moves: step-1 gradients within 1% of their
  // layer's largest gradient, each tensor within 2% relative L2 after the steps. A wrong
  // backward moves whole layers by more. VGG-16-CIFAR measured 15.5% (features.3.weight)
  // after its steps on that CPU, hence the ill-conditioned runs' 30%.
  const auto conditioning = read_raw<float>(file("conditioning.f32"), 3);
  const bool ill_conditioned = conditioning[1] > 1.0;
  constexpr double kink_resolution = 1e-6;  // relative to the tensor's largest value
  const bool near_kink = !ill_conditioned && conditioning[2] < kink_resolution;
  constexpr double ill_conditioned_gradients = 1000.0;  // bounds: 10% of the layer's largest gradient
  constexpr double ill_conditioned_l2 = 0.3;            // relative L2 per tensor after the steps
  constexpr double near_kink_gradients = 100.0;  // bounds: 1% of the layer's largest gradient
  constexpr double near_kink_l2 = 0.02;
  const double allowed_l2 = ill_conditioned ? ill_conditioned_l2 : near_kink ? near_kink_l2 : 0.0;
  const bool by_l2 = allowed_l2 > 0;
  const double allowed_params = by_l2 ? allowed_l2 / tolerance : 1.0;
  const double allowed_gradients =
      ill_conditioned ? std::max(ill_conditioned_gradients, 2.0 * double(conditioning[0]))
      : near_kink     ? near_kink_gradients
                      : 1.0;
  if (by_l2) {
    std::printf(
        "  %s: step 1 gradients within %.3g of the bound, after %d steps %.3g relative L2 per "
        "tensor\n",
        ill_conditioned ? "ill-conditioned run" : "a kink within fp32 rounding", allowed_gradients,
        steps, allowed_l2);
  }
  std::printf("  float64 run: smallest kink margin %.3g of its tensor's largest value\n",
              double(conditioning[2]));
  std::printf("  PyTorch fp32 vs float64: step 1 gradients %.3g, after %d steps %.3g of the bound\n",
              double(conditioning[0]), steps, double(conditioning[1]));
  auto batch_of = [&](int s) { return std::span<const float>(x).subspan(std::size_t(s) * batch * image, batch * image); };
  std::printf("%s: %lld parameters\n", name.c_str(), static_cast<long long>(program.params));

  // Eval mode: running statistics, Dropout off.
  {
    Executable exe(program, batch, Mode::inference);
    const std::string note = runtime::load_parameters(file("initial.params"), program, exe.parameters(), exe.buffers());
    EXPECT_EQ(note, "") << "PyTorch's state_dict names must equal our layer paths";
    expect_logits("eval logits", exe.forward(batch_of(0)), eval_logits);
  }

  // Train mode: batch statistics; Dropout off (its masks cannot match PyTorch's).
  onednn::Options options;
  options.dropout = false;
  Executable exe(program, batch, Mode::training, options);
  const std::string note = runtime::load_parameters(file("initial.params"), program, exe.parameters(), exe.buffers());
  EXPECT_EQ(note, "");
  const std::vector<float> initial(exe.parameters().begin(), exe.parameters().end());
  const std::vector<float> initial_buffers(exe.buffers().begin(), exe.buffers().end());
  auto optimizer = runtime::Optimizer::sgd(exe.parameters().size(), {.momentum = 0.9, .nesterov = false, .weight_decay = 5e-4});
  for (int s = 0; s < steps; ++s) {
    const auto logits = exe.forward(batch_of(s));
    if (s == 0) expect_logits("train logits", logits, train_logits);
    const float loss = exe.softmax_cross_entropy(std::span<const int>(y).subspan(std::size_t(s) * batch, batch));
    std::printf("  step %d loss %.7f, PyTorch %.7f\n", s + 1, double(loss), double(losses[std::size_t(s)]));
    EXPECT_NEAR(loss, losses[std::size_t(s)],
                (s == 0 ? 1.0 : allowed_params) * tolerance * std::max(1.f, std::abs(losses[std::size_t(s)])))
        << "step " << s + 1;
    exe.backward();
    if (s == 0) expect_gradients(program, exe.gradients(), file("gradients.params"), allowed_gradients);
    optimizer.step(exe.parameters(), exe.gradients(), lr);
  }

  // After the steps: every parameter and running statistic, tensor by tensor.
  std::vector<float> want(exe.parameters().size()), want_buffers(exe.buffers().size());
  EXPECT_EQ(runtime::load_parameters(file("final.params"), program, want, want_buffers), "");
  Error worst;
  std::string worst_name;
  double worst_of_update = 0, worst_l2 = 0;
  std::string worst_update_name, worst_l2_name;
  int failures = 0;
  for (const runtime::ParameterTensor& t : runtime::state_dict_layout(program)) {
    const auto offset = std::size_t(t.offset), size = std::size_t(t.size());
    const std::span<const float> got = (t.buffer ? std::span<const float>(exe.buffers()) : std::span<const float>(exe.parameters())).subspan(offset, size);
    const std::span<const float> expected = std::span<const float>(t.buffer ? want_buffers : want).subspan(offset, size);
    const std::span<const float> before = std::span<const float>(t.buffer ? initial_buffers : initial).subspan(offset, size);
    const Error e = compare(got, expected, max_abs(expected));
    const double l2 = relative_l2(got, expected);
    if (l2 > worst_l2) {
      worst_l2 = l2;
      worst_l2_name = t.name;
    }
    if (e.rel >= worst.rel) {
      worst = e;
      worst_name = t.name;
    }
    double change = 0;
    for (std::size_t i = 0; i < size; ++i) change = std::max(change, std::abs(double(expected[i]) - double(before[i])));
    if (change > 0 && e.abs / change > worst_of_update) {
      worst_of_update = e.abs / change;
      worst_update_name = t.name;
    }
    const bool out = by_l2 ? l2 > allowed_l2 : e.rel > allowed_params;
    if (out && ++failures <= 10) {
      ADD_FAILURE() << t.name << "[" << e.at << "]: ours " << got[e.at] << ", PyTorch " << expected[e.at]
                    << " (before the steps " << before[e.at] << "), error " << e.rel << " of the bound; relative L2 "
                    << "error of the tensor " << l2;
    }
  }
  char allowed_text[64] = "1 bound element-wise";
  if (by_l2)
    std::snprintf(allowed_text, sizeof allowed_text, "%.3g relative L2 per tensor", allowed_l2);
  std::printf(
      "  after %d steps: max error %.3g of the 1e-4 bound (%s, abs %.3g); max error / max change "
      "%.3g (%s); "
      "largest relative L2 error of a tensor %.3g (%s); allowed: %s\n",
      steps, worst.rel, worst_name.c_str(), worst.abs, worst_of_update, worst_update_name.c_str(),
      worst_l2, worst_l2_name.c_str(), allowed_text);
  EXPECT_EQ(failures, 0) << "tensors out of tolerance after " << steps << " SGD steps";
}

TEST(Parity, LeNet5) { check(codegen::program_v<architectures::LeNet5>.view(), "lenet5"); }
TEST(Parity, ResNet20) { check(codegen::program_v<architectures::CifarResNet<20>>.view(), "resnet20"); }
TEST(Parity, VGG16Cifar) { check(codegen::program_v<architectures::VGG16Cifar>.view(), "vgg16_cifar"); }

}  // namespace
}  // namespace archetype::parity
