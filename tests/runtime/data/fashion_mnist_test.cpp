// The real Fashion-MNIST test split from Debian's dataset-fashion-mnist, when installed.
#include <archetype/runtime/idx.hpp>

#include "data_files.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <set>

namespace archetype::runtime::test {
namespace {

TEST(FashionMnist, RealTestSplit) {
  const auto dir = find_fashion_mnist_dir();
  if (!dir) {
    GTEST_SKIP() << "Fashion-MNIST not installed (no " << debian_fashion_mnist_dir
                 << "/t10k-images-idx3-ubyte[.gz] and ARCHETYPE_FASHION_MNIST_DIR unset): "
                    "install the Debian package dataset-fashion-mnist";
  }
  const Dataset d = load_fashion_mnist(*dir, Split::test);
  EXPECT_EQ(d.name, "fashion-mnist/test");
  ASSERT_EQ(d.size(), 10000u);
  EXPECT_EQ(d.dims, (ImageDims{1, 28, 28}));
  EXPECT_EQ(d.classes, 10);
  ASSERT_EQ(d.images.size(), 10000u * 784u);
  const std::set<int> labels(d.labels.begin(), d.labels.end());
  EXPECT_EQ(labels, (std::set<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  const auto [lo, hi] = std::minmax_element(d.images.begin(), d.images.end());
  EXPECT_EQ(*lo, 0.0f);
  EXPECT_EQ(*hi, 1.0f);
  // the test split is balanced: 1,000 of each class
  for (int k = 0; k < 10; ++k)
    EXPECT_EQ(std::count(d.labels.begin(), d.labels.end(), k), 1000) << k;
  EXPECT_NO_THROW(d.validate());
}

// ARCHETYPE_FASHION_MNIST_DIR overrides the default, and a wrong one gives a clear error.
TEST(FashionMnist, EnvironmentOverride) {
  const char* old = std::getenv("ARCHETYPE_FASHION_MNIST_DIR");
  const std::string saved = old != nullptr ? old : "";
  TempDir dir;
  ::setenv("ARCHETYPE_FASHION_MNIST_DIR", (dir / "nowhere").c_str(), 1);
  EXPECT_EQ(default_fashion_mnist_dir(), dir / "nowhere");
  expect_error([] { (void)load_fashion_mnist(Split::test); },
               {(dir / "nowhere").string() + ": no such directory"});
  if (old != nullptr) {
    ::setenv("ARCHETYPE_FASHION_MNIST_DIR", saved.c_str(), 1);
  } else {
    ::unsetenv("ARCHETYPE_FASHION_MNIST_DIR");
  }
}

}  // namespace
}  // namespace archetype::runtime::test
