// cpu.cudnn.Layout.*: the NCHW and channels-last index arithmetic the cuDNN backend's kernels
// use (backends/cudnn/src/layout.hpp), checked on the host against the plain definitions:
// NCHW offset ((n C + c) S + k), NHWC offset ((n S + k) C + c).
#include "layout.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <vector>

namespace archetype::cudnn::layout {
namespace {

constexpr int images = 3, channels = 5;
constexpr std::int64_t pixels = 7, count = images * channels * pixels;

std::int64_t nchw(std::int64_t n, std::int64_t c, std::int64_t k) { return (n * channels + c) * pixels + k; }
std::int64_t nhwc(std::int64_t n, std::int64_t c, std::int64_t k) { return (n * pixels + k) * channels + c; }

TEST(Layout, AtIsTheDefinitionAndSplitItsInverse) {
  for (const bool cl : {false, true}) {
    std::set<std::int64_t> seen;
    for (std::int64_t n = 0; n < images; ++n) {
      for (std::int64_t c = 0; c < channels; ++c) {
        for (std::int64_t k = 0; k < pixels; ++k) {
          const std::int64_t i = at(cl, channels, n * channels + c, pixels, k);
          EXPECT_EQ(i, cl ? nhwc(n, c, k) : nchw(n, c, k));
          std::int64_t plane = -1, kk = -1;
          split(cl, channels, pixels, i, plane, kk);
          EXPECT_EQ(plane, n * channels + c);
          EXPECT_EQ(kk, k);
          EXPECT_EQ(channel_of(cl, channels, pixels, i), c);
          EXPECT_EQ(plane_of(cl, channels, pixels, i), n * channels + c);
          seen.insert(i);
        }
      }
    }
    EXPECT_EQ(std::int64_t(seen.size()), count) << "every offset once";
    EXPECT_EQ(*seen.rbegin(), count - 1);
  }
}

TEST(Layout, ChannelElementWalksOneChannel) {
  for (const bool cl : {false, true}) {
    for (int c = 0; c < channels; ++c) {
      for (std::int64_t j = 0; j < images * pixels; ++j) {
        const std::int64_t n = j / pixels, k = j % pixels;
        EXPECT_EQ(channel_element(cl, channels, pixels, c, j), cl ? nhwc(n, c, k) : nchw(n, c, k));
      }
    }
  }
}

// transpose_cast_kernel's rule: dst[i] = src[at(!to_nhwc, plane, k)] with (plane, k) = split(to_nhwc, i).
std::vector<int> transpose(const std::vector<int>& src, bool to_nhwc) {
  std::vector<int> dst(src.size());
  for (std::int64_t i = 0; i < count; ++i) {
    std::int64_t plane = 0, k = 0;
    split(to_nhwc, channels, pixels, i, plane, k);
    dst[std::size_t(i)] = src[std::size_t(at(!to_nhwc, channels, plane, pixels, k))];
  }
  return dst;
}

TEST(Layout, TransposeMovesEveryElementToItsChannelsLastPlace) {
  std::vector<int> source(count);
  for (std::int64_t i = 0; i < count; ++i) source[std::size_t(i)] = int(i);
  const std::vector<int> cl = transpose(source, true);
  for (std::int64_t n = 0; n < images; ++n) {
    for (std::int64_t c = 0; c < channels; ++c) {
      for (std::int64_t k = 0; k < pixels; ++k) EXPECT_EQ(cl[std::size_t(nhwc(n, c, k))], int(nchw(n, c, k)));
    }
  }
  EXPECT_EQ(transpose(cl, false), source) << "and back";
}

}  // namespace
}  // namespace archetype::cudnn::layout
