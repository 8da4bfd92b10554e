// register_models and model_entry<N>(): a model of one's own joins the registry the zoo's
// entries are in (what archetype_add_model generates), and bad names are refused by name.
#include <archetype/archetype.hpp>
#include <archetype/architectures/model_entry.hpp>
#include <archetype/architectures/registry.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace {

using namespace archetype;

struct TinyNet final : Net<Input<Shape{1, 28, 28}>,
                           Seq<Conv3x3<4>, BatchNorm, ReLU, GlobalAvgPool, Linear<10>>, 10> {};
struct TinyColourNet final
    : Net<Input<Shape{3, 32, 32}>, Seq<Conv3x3<4>, ReLU, GlobalAvgPool, Linear<10>>, 10> {};

constexpr ModelEntry tiny[] = {model_entry<TinyNet>("tiny_net", "Tiny net")};
constexpr ModelEntry colour[] = {model_entry<TinyColourNet>("tiny_colour_net", "Tiny colour net")};

// Error messages name what is wrong: the text of `f`'s std::invalid_argument.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no exception)";
}

TEST(ModelEntry, CarriesTheTypesFigures) {
  constexpr const ModelEntry& m = tiny[0];
  static_assert(m.native.params == params_v<TinyNet>);
  EXPECT_EQ(m.native.params, 36 + 8 + 50);
  EXPECT_EQ(m.native.buffers, 8);
  EXPECT_EQ(m.native.macs, 784 * 36 + 40);
  EXPECT_EQ(m.native.input, (Shape{1, 28, 28}));
  EXPECT_EQ(m.native.layers.size(), layers_v<TinyNet>.size());
  EXPECT_NE(m.type.find("TinyNet"), std::string_view::npos) << m.type;
  // A 1x28x28 net is its own Fashion-MNIST form (no adapter in front).
  EXPECT_EQ(m.fashion_mnist.params, m.native.params);
  EXPECT_EQ(m.fashion_mnist.layers.size(), m.native.layers.size());
}

TEST(ModelEntry, AdaptsOtherInputsToFashionMnist) {
  constexpr const ModelEntry& m = colour[0];
  EXPECT_EQ(m.native.input, (Shape{3, 32, 32}));
  EXPECT_EQ(m.fashion_mnist.input, (Shape{1, 28, 28}));
  // The first convolution is built for 1 input channel instead of 3: 4 x 9 x 2 weights fewer.
  EXPECT_EQ(m.native.params - m.fashion_mnist.params, 2 * 36);
}

TEST(Registry, RegisteredModelsAreFoundAfterTheZoo) {
  const std::size_t zoo = models().size();
  ASSERT_EQ(find_model("tiny_net"), nullptr) << "each test runs in a process of its own";
  register_models(tiny);
  ASSERT_EQ(models().size(), zoo + 1);
  EXPECT_EQ(models().front().name, "lenet5");
  EXPECT_EQ(models().back().name, "tiny_net");
  const ModelEntry* found = find_model("tiny_net");
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->native.params, params_v<TinyNet>);
  EXPECT_EQ(close_model_names("tiny_nt").front(), "tiny_net");
}

TEST(Registry, RefusesTakenAndMalformedNames) {
  if (find_model("tiny_net") == nullptr) register_models(tiny);
  const std::string again = error_of([] { register_models(tiny); });
  EXPECT_NE(again.find("'tiny_net' is already registered"), std::string::npos) << again;
  constexpr ModelEntry zoo_name[] = {model_entry<TinyNet>("lenet5", "LeNet-5 again")};
  const std::string taken = error_of([&] { register_models(zoo_name); });
  EXPECT_NE(taken.find("'lenet5' is already registered"), std::string::npos) << taken;
  constexpr ModelEntry bad[] = {model_entry<TinyNet>("Tiny-Net", "Tiny")};
  const std::string malformed = error_of([&] { register_models(bad); });
  EXPECT_NE(malformed.find("'Tiny-Net' is not made of"), std::string::npos) << malformed;
  EXPECT_EQ(find_model("Tiny-Net"), nullptr);
}

// Where each model's head starts, as the registry tells it (the run-time head_start_v): the
// same top-level elements tests/dsl/static/transfer.cpp asserts at compile time (an unnamed
// element's path is its index: LeNet-5's 6, VGG's 2); for every zoo model that has one, the
// element before it still has spatial extent and the head element ends without it.
TEST(Registry, KnowsWhereEachHeadStarts) {
  EXPECT_EQ(head_path(find_model("resnet50")->native), "avgpool");
  EXPECT_EQ(head_path(find_model("xception")->native), "avg_pool");
  EXPECT_EQ(head_path(find_model("lenet5")->native), "6");
  EXPECT_EQ(head_path(find_model("vgg16")->native), "2");
  // VGG-16-CIFAR's features end at 1x1 (five poolings of 32): no spatial part before a head.
  EXPECT_EQ(head_path(find_model("vgg16_cifar")->native), "");
  int with_head = 0;
  for (const ModelEntry& m : models()) {
    const std::string_view head = head_path(m.native);
    if (head.empty()) continue;
    ++with_head;
    const auto& rows = m.native.layers;
    std::size_t first = 0;
    const auto top = [](std::string_view path) { return path.substr(0, path.find('.')); };
    while (first < rows.size() && top(rows[first].path.view()) != head) ++first;
    ASSERT_LT(first, rows.size()) << m.name;
    ASSERT_GT(first, 0u) << m.name;
    EXPECT_GT(rows[first - 1].out.h * rows[first - 1].out.w, 1) << m.name;
    // The head element may begin with spatial layers (PreAct ResNet's final BN and ReLU
    // before its pooling); it ends without spatial extent, as does everything after it.
    std::size_t last = first;
    while (last + 1 < rows.size() && top(rows[last + 1].path.view()) == head) ++last;
    for (std::size_t r = last; r < rows.size(); ++r) {
      EXPECT_EQ(rows[r].out.h * rows[r].out.w, 1) << m.name << " " << rows[r].path.view();
    }
  }
  EXPECT_GE(with_head, 45);
}

}  // namespace
