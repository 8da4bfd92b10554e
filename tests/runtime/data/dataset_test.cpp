// Dataset (subset, normalize, statistics, validation) and the synthetic set.
#include <archetype/runtime/dataset.hpp>
#include <archetype/runtime/synthetic.hpp>

#include "data_files.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace archetype::runtime::test {
namespace {

Dataset two_channel() {
  Dataset d;
  d.name = "tiny";
  d.dims = {2, 1, 2};
  d.classes = 3;
  d.images = {0.0f, 1.0f, 0.5f,  0.5f,   // image 0: channel 0 = {0, 1}, channel 1 = {.5, .5}
              1.0f, 0.0f, 0.25f, 0.75f,  // image 1
              0.5f, 0.5f, 0.0f,  1.0f};  // image 2
  d.labels = {2, 0, 1};
  return d;
}

TEST(Dataset, Subset) {
  const Dataset d = two_channel();
  const Dataset s = d.subset(2);
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(s.name, "tiny");
  EXPECT_EQ(s.dims, d.dims);
  EXPECT_EQ(s.classes, 3);
  EXPECT_EQ(s.labels, (std::vector<int>{2, 0}));
  EXPECT_EQ(s.images, (std::vector<float>(d.images.begin(), d.images.begin() + 8)));
  EXPECT_EQ(d.subset(100).size(), 3u);
  EXPECT_TRUE(d.subset(0).empty());
  const Dataset tail = d.subset(1, 5);  // clipped to the set
  EXPECT_EQ(tail.labels, (std::vector<int>{0, 1}));
  EXPECT_EQ(tail.images, (std::vector<float>(d.images.begin() + 4, d.images.end())));
  EXPECT_TRUE(d.subset(7, 2).empty());
}

TEST(Dataset, NormalizePerChannel) {
  Dataset d = two_channel();
  const float mean[] = {0.5f, 0.25f};
  const float sd[] = {0.5f, 0.25f};
  d.normalize(mean, sd);
  EXPECT_EQ(d.images, (std::vector<float>{-1, 1, 1, 1, 1, -1, 0, 2, 0, 0, -1, 3}));
  EXPECT_EQ(d.mean, (std::vector<float>{0.5f, 0.25f}));
  EXPECT_EQ(d.black(), (std::vector<float>{-1.0f, -1.0f}));
  // composing: a second normalization keeps black() the image of 0
  const float mean2[] = {1.0f, 0.0f};
  const float sd2[] = {2.0f, 1.0f};
  d.normalize(mean2, sd2);
  EXPECT_FLOAT_EQ(d.black()[0], (-1.0f - 1.0f) / 2.0f);
  EXPECT_FLOAT_EQ(d.black()[1], -1.0f);
  EXPECT_FLOAT_EQ(d.images[0], (-1.0f - 1.0f) / 2.0f);
}

TEST(Dataset, NormalizeRejectsBadArguments) {
  Dataset d = two_channel();
  const float one[] = {0.5f};
  const float two[] = {0.5f, 0.5f};
  const float zero[] = {0.5f, 0.0f};
  const float nan[] = {0.5f, std::numeric_limits<float>::quiet_NaN()};
  EXPECT_THROW(d.normalize(one, one), std::invalid_argument);
  EXPECT_THROW(d.normalize(two, zero), std::invalid_argument);
  EXPECT_THROW(d.normalize(nan, two), std::invalid_argument);
  EXPECT_EQ(d.images, two_channel().images);  // unchanged
}

TEST(Dataset, ChannelStatsThenNormalize) {
  Dataset d = two_channel();
  const auto stats = d.channel_stats();
  EXPECT_FLOAT_EQ(stats.mean[0], 0.5f);
  EXPECT_FLOAT_EQ(stats.mean[1], 0.5f);
  EXPECT_NEAR(stats.stddev[0], std::sqrt(1.0 / 6.0), 1e-6);    // {0, 1, 1, 0, .5, .5}
  EXPECT_NEAR(stats.stddev[1], std::sqrt(0.625 / 6.0), 1e-6);  // {.5, .5, .25, .75, 0, 1}
  d.normalize(stats.mean, stats.stddev);
  const auto after = d.channel_stats();
  for (int c = 0; c < 2; ++c) {
    EXPECT_NEAR(after.mean[c], 0.0f, 1e-6);
    EXPECT_NEAR(after.stddev[c], 1.0f, 1e-5);
  }
}

TEST(Dataset, Validate) {
  Dataset d = two_channel();
  EXPECT_NO_THROW(d.validate());
  d.labels[1] = 3;
  expect_error([&] { d.validate(); }, {"tiny: label 3 at index 1 is out of range (expected 0..2)"});
  d = two_channel();
  d.images.pop_back();
  expect_error([&] { d.validate(); }, {"tiny: 11 floats of images for 3 labels"});
}

TEST(Synthetic, DeterministicAndInRange) {
  const SyntheticSpec spec{200, {3, 8, 8}, 5, 42, 0.2f};
  const Dataset a = make_synthetic(spec);
  const Dataset b = make_synthetic(spec);
  EXPECT_EQ(a.images, b.images);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.dims, (ImageDims{3, 8, 8}));
  EXPECT_EQ(a.classes, 5);
  ASSERT_EQ(a.size(), 200u);
  EXPECT_NO_THROW(a.validate());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a.labels[i], static_cast<int>(i % 5));
  EXPECT_TRUE(std::all_of(a.images.begin(), a.images.end(),
                          [](float v) { return v >= 0.0f && v <= 1.0f; }));
  SyntheticSpec other = spec;
  other.seed = 43;
  EXPECT_NE(make_synthetic(other).images, a.images);
  EXPECT_THROW((void)make_synthetic(SyntheticSpec{10, {0, 8, 8}, 5, 0, 0.1f}),
               std::invalid_argument);
}

// The classes are separable: a nearest-class-mean classifier fitted on one half scores
// well on the other, so a network can learn the set.
TEST(Synthetic, Learnable) {
  const Dataset d = make_synthetic({2000, {1, 28, 28}, 10, 7, 0.3f});
  const std::size_t half = d.size() / 2, n = d.dims.size();
  std::vector<double> centroid(10 * n, 0.0);
  std::vector<int> count(10, 0);
  for (std::size_t i = 0; i < half; ++i) {
    ++count[static_cast<std::size_t>(d.labels[i])];
    for (std::size_t j = 0; j < n; ++j)
      centroid[static_cast<std::size_t>(d.labels[i]) * n + j] += d.image(i)[j];
  }
  for (std::size_t k = 0; k < 10; ++k) {
    for (std::size_t j = 0; j < n; ++j) centroid[k * n + j] /= count[k];
  }
  int correct = 0;
  for (std::size_t i = half; i < d.size(); ++i) {
    int best = -1;
    double best_d = 1e300;
    for (int k = 0; k < 10; ++k) {
      double dist = 0;
      for (std::size_t j = 0; j < n; ++j) {
        const double e = d.image(i)[j] - centroid[static_cast<std::size_t>(k) * n + j];
        dist += e * e;
      }
      if (dist < best_d) best_d = dist, best = k;
    }
    correct += best == d.labels[i];
  }
  EXPECT_GT(correct, static_cast<int>(0.95 * static_cast<double>(d.size() - half)));
}

}  // namespace
}  // namespace archetype::runtime::test
