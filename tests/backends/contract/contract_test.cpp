// The backend contract (codegen/backend.hpp), one suite run against every backend:
// oneDNN here, cuDNN where a GPU is (its cases skip with the reason otherwise). What one
// backend does and another does not is a failure of the contract, not of a backend's tests.
#include <archetype/archetype.hpp>
#include <archetype/backends/onednn/executable.hpp>
#include <archetype/codegen/backend.hpp>
#include <archetype/codegen/dropout.hpp>
#include <archetype/codegen/initialize.hpp>
#include <archetype/codegen/program.hpp>
#include <archetype/codegen/training_plan.hpp>
#if ARCHETYPE_HAVE_CUDA
#include <archetype/backends/cudnn/executable.hpp>
#endif

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace archetype::backend_tests {
namespace {

using Vec = std::vector<float>;

Vec random_vec(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  Vec v(n);
  for (float& x : v) x = u(rng);
  return v;
}

template <class E>
std::string unavailable() {
  return "";
}
#if ARCHETYPE_HAVE_CUDA
template <>
std::string unavailable<cudnn::Executable>() {
  return cudnn::unavailable_reason();
}
#endif

// A small classifier: 3x6x6 images, 5 classes.
struct Small final
    : Net<Input<Shape{3, 6, 6}>, Seq<Conv3x3<4>, ReLU, GlobalAvgPool, Flatten, Linear<5>>, 5> {};
// Dropout on a vector, the way every zoo net has it.
struct Drop final : Net<Input<Shape{64, 1, 1}>, Seq<Flatten, Dropout<0.4>>> {};

// Parameter groups of every kind a gradient-ready report covers: conv, BatchNorm, Linear.
struct Groups final : Net<Input<Shape{3, 6, 6}>,
                          Seq<Conv3x3<4>, BatchNorm, ReLU, Conv3x3<4, 1, true>, BatchNorm, ReLU,
                              GlobalAvgPool, Flatten, Linear<5>>,
                          5> {};

template <class E>
E make(const codegen::ProgramView& program, int batch, codegen::Mode mode,
       const typename E::Options& options = {}) {
  return E(program, batch, mode, options);
}

template <class TypeParam>
void models_the_backend_concept() {
  static_assert(codegen::Backend<TypeParam>);
  const auto program = codegen::program_v<Small>.view();
  TypeParam e = make<TypeParam>(program, 2, codegen::Mode::training);
  EXPECT_EQ(e.batch(), 2);
  EXPECT_EQ(e.mode(), codegen::Mode::training);
  EXPECT_EQ(e.parameters().size(), std::size_t(program.params));
  EXPECT_EQ(e.gradients().size(), std::size_t(program.params));
}

// One validation (codegen::check_labels): the same exception types and words everywhere.
template <class TypeParam>
void labels_are_checked_alike() {
  const auto program = codegen::program_v<Small>.view();
  TypeParam e = make<TypeParam>(program, 2, codegen::Mode::training);
  codegen::initialize_parameters(program, e.parameters(), e.buffers(), 1);
  e.forward(random_vec(2 * 3 * 6 * 6, 2));
  const std::array<int, 1> one{1};
  try {
    e.softmax_cross_entropy(one);
    ADD_FAILURE() << "one label for a batch of two was taken";
  } catch (const std::invalid_argument& x) {
    EXPECT_NE(std::string(x.what()).find("expected 2 labels, got 1"), std::string::npos)
        << x.what();
  }
  const std::array<int, 2> outside{1, 5};
  try {
    e.softmax_cross_entropy(outside);
    ADD_FAILURE() << "label 5 of 5 classes was taken";
  } catch (const std::out_of_range& x) {
    EXPECT_NE(std::string(x.what()).find("label 5 of image 1 is outside [0, 5)"), std::string::npos)
        << x.what();
  }
}

// The loss is the host definition (codegen::softmax_cross_entropy) of the returned logits,
// and its gradient is what backward() starts from: setting that gradient by hand gives the
// same parameter gradients.
template <class TypeParam>
void loss_and_its_gradient_are_the_host_definition() {
  const auto program = codegen::program_v<Small>.view();
  TypeParam e = make<TypeParam>(program, 3, codegen::Mode::training);
  codegen::initialize_parameters(program, e.parameters(), e.buffers(), 3);
  const Vec x = random_vec(3 * 3 * 6 * 6, 4);
  const std::array<int, 3> labels{0, 4, 2};
  const auto logits = e.forward(x);
  const Vec z(logits.begin(), logits.end());
  Vec host_gradient(z.size());
  const float want = codegen::softmax_cross_entropy(z, labels, 3, 5, host_gradient);
  EXPECT_NEAR(e.softmax_cross_entropy(labels), want, 1e-5f * std::max(1.f, std::abs(want)));
  e.backward();
  const auto g = e.gradients();
  const Vec from_loss(g.begin(), g.end());
  e.forward(x);
  e.set_output_gradient(host_gradient);
  e.backward();
  const auto h = e.gradients();
  ASSERT_EQ(h.size(), from_loss.size());
  double norm = 0;
  for (std::size_t i = 0; i < h.size(); ++i) {
    EXPECT_NEAR(h[i], from_loss[i], 1e-5f * std::max(1.f, std::abs(from_loss[i])))
        << "gradient " << i;
    norm += double(h[i]) * h[i];
  }
  EXPECT_GT(norm, 0.0);
}

// Dropout draws are codegen/dropout.hpp's on every backend: the same seed, the same masks.
template <class TypeParam>
void dropout_masks_are_the_shared_draws() {
  const auto program = codegen::program_v<Drop>.view();
  typename TypeParam::Options options;
  options.dropout_seed = 1234;
  TypeParam e = make<TypeParam>(program, 4, codegen::Mode::training, options);
  const Vec x = random_vec(4 * 64, 5);
  const std::uint64_t seed = codegen::dropout::op_seed(1234, 1);  // op 1: the Dropout
  for (std::uint64_t step = 1; step <= 2; ++step) {
    const auto y = e.forward(x);
    ASSERT_EQ(y.size(), x.size());
    for (std::size_t i = 0; i < y.size(); ++i) {
      const float want = codegen::dropout::keep(seed, step, i, 0.4) ? x[i] / 0.6f : 0.f;
      ASSERT_NEAR(y[i], want, 1e-6f) << "step " << step << " element " << i;
    }
  }
}

// The gradient-final hook: in every backward pass, each trainable group is reported once,
// in the plan's order (codegen::TrainingPlan::gradient_final), with its place in the block;
// an empty callback unregisters it.
template <class TypeParam>
void gradient_ready_follows_the_plan() {
  const auto program = codegen::program_v<Groups>.view();
  const codegen::TrainingPlan plan = codegen::plan_training(program, {});
  ASSERT_EQ(plan.gradient_final, (std::vector<int>{4, 3, 2, 1, 0}));  // backward order
  TypeParam e = make<TypeParam>(program, 2, codegen::Mode::training);
  codegen::initialize_parameters(program, e.parameters(), e.buffers(), 5);
  std::vector<int> order;
  e.on_gradient_ready([&](const codegen::GradientReady& g) {
    order.push_back(g.group);
    ASSERT_GE(g.group, 0);
    ASSERT_LT(g.group, int(plan.groups.size()));
    EXPECT_EQ(g.offset, plan.groups[std::size_t(g.group)].offset) << "group " << g.group;
    EXPECT_EQ(g.size, plan.groups[std::size_t(g.group)].size) << "group " << g.group;
    EXPECT_NE(g.data, nullptr) << "group " << g.group;
  });
  const std::array<int, 2> labels{1, 3};
  for (int step = 0; step < 2; ++step) {
    order.clear();
    e.forward(random_vec(2 * 3 * 6 * 6, 6 + std::uint64_t(step)));
    e.softmax_cross_entropy(labels);
    e.backward();
    EXPECT_EQ(order, plan.gradient_final) << "step " << step;
    std::vector<int> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end())
        << "a group reported twice in step " << step;
  }
  e.on_gradient_ready({});
  order.clear();
  e.forward(random_vec(2 * 3 * 6 * 6, 9));
  e.softmax_cross_entropy(labels);
  e.backward();
  EXPECT_TRUE(order.empty()) << "an unregistered callback was called";
}

template <class E>
void run(void (*test)()) {
  if (const std::string reason = unavailable<E>(); !reason.empty()) GTEST_SKIP() << reason;
  test();
}

// One suite per backend, the same cases: OneDnn.* (cpu) and CuDnn.* (gpu; skipped with the
// reason where no GPU is).
#define ARCHETYPE_CONTRACT_TESTS(Suite, E)                                                      \
  TEST(Suite, ModelsTheBackendConcept) { run<E>(models_the_backend_concept<E>); }               \
  TEST(Suite, LabelsAreCheckedAlike) { run<E>(labels_are_checked_alike<E>); }                   \
  TEST(Suite, LossAndItsGradientAreTheHostDefinition) {                                         \
    run<E>(loss_and_its_gradient_are_the_host_definition<E>);                                   \
  }                                                                                             \
  TEST(Suite, DropoutMasksAreTheSharedDraws) { run<E>(dropout_masks_are_the_shared_draws<E>); } \
  TEST(Suite, GradientReadyFollowsThePlan) { run<E>(gradient_ready_follows_the_plan<E>); }

ARCHETYPE_CONTRACT_TESTS(OneDnn, onednn::Executable)
#if ARCHETYPE_HAVE_CUDA
ARCHETYPE_CONTRACT_TESTS(CuDnn, cudnn::Executable)
#endif

}  // namespace
}  // namespace archetype::backend_tests
