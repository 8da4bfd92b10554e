// Random crop with padding and horizontal flip: exact results for fixed choices, and
// determinism of the random ones.
#include <archetype/runtime/augment.hpp>

#include <gtest/gtest.h>

#include <numeric>
#include <set>
#include <vector>

namespace archetype::runtime::test {
namespace {

TEST(Augment, FlipOfAKnownImage) {
  // 2 channels of 2×3
  const std::vector<float> in = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  std::vector<float> out(in.size());
  crop_flip(in.data(), out.data(), {2, 2, 3}, 0, 0, 0, true);
  EXPECT_EQ(out, (std::vector<float>{3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10}));
  crop_flip(in.data(), out.data(), {2, 2, 3}, 0, 0, 0, false);
  EXPECT_EQ(out, in);
}

TEST(Augment, CropWithPaddingOffsets) {
  // 1×3×3 image 1..9, pad 1: offsets 0..2; (1, 1) is the identity.
  const std::vector<float> in = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  std::vector<float> out(9);
  const ImageDims dims{1, 3, 3};
  crop_flip(in.data(), out.data(), dims, 1, 1, 1, false);
  EXPECT_EQ(out, in);
  crop_flip(in.data(), out.data(), dims, 1, 0, 0, false);  // shifted right and down
  EXPECT_EQ(out, (std::vector<float>{0, 0, 0, 0, 1, 2, 0, 4, 5}));
  crop_flip(in.data(), out.data(), dims, 1, 2, 2, false);  // shifted left and up
  EXPECT_EQ(out, (std::vector<float>{5, 6, 0, 8, 9, 0, 0, 0, 0}));
  crop_flip(in.data(), out.data(), dims, 1, 2, 0, false);  // dx = 2, dy = 0
  EXPECT_EQ(out, (std::vector<float>{0, 0, 0, 2, 3, 0, 5, 6, 0}));
  const float fill[] = {-1.0f};
  crop_flip(in.data(), out.data(), dims, 1, 2, 0, true, fill);  // then flipped, padded with -1
  EXPECT_EQ(out, (std::vector<float>{-1, -1, -1, -1, 3, 2, -1, 6, 5}));
  // padding larger than the image: all fill
  crop_flip(in.data(), out.data(), dims, 4, 0, 0, false);
  EXPECT_EQ(out, std::vector<float>(9, 0.0f));
}

// Every offset and flip against a direct reference, several channels with their own fill.
TEST(Augment, MatchesReferenceForEveryChoice) {
  const ImageDims dims{3, 5, 7};
  std::vector<float> in(dims.size());
  std::iota(in.begin(), in.end(), 1.0f);
  const float fill[] = {-1.0f, -2.0f, -3.0f};
  const int pad = 3;
  std::vector<float> out(dims.size());
  for (int dy = 0; dy <= 2 * pad; ++dy) {
    for (int dx = 0; dx <= 2 * pad; ++dx) {
      for (bool flip : {false, true}) {
        crop_flip(in.data(), out.data(), dims, pad, dx, dy, flip, fill);
        for (int c = 0; c < dims.c; ++c) {
          for (int y = 0; y < dims.h; ++y) {
            for (int x = 0; x < dims.w; ++x) {
              const int sy = y + dy - pad;
              const int sx = (flip ? dims.w - 1 - x : x) + dx - pad;
              const float want = (sy >= 0 && sy < dims.h && sx >= 0 && sx < dims.w)
                                     ? in[static_cast<std::size_t>((c * dims.h + sy) * dims.w + sx)]
                                     : fill[c];
              ASSERT_EQ(out[static_cast<std::size_t>((c * dims.h + y) * dims.w + x)], want)
                  << "dx " << dx << " dy " << dy << " flip " << flip << " at " << c << "," << y
                  << "," << x;
            }
          }
        }
      }
    }
  }
}

TEST(Augment, SeededAndCoversEveryChoice) {
  const ImageDims dims{1, 4, 4};
  std::vector<float> in(dims.size());
  std::iota(in.begin(), in.end(), 1.0f);
  const Augment aug{2, true};
  const std::size_t n = 400;
  std::vector<float> batch(n * dims.size());
  for (std::size_t i = 0; i < n; ++i)
    std::copy(in.begin(), in.end(), batch.begin() + static_cast<long>(i * dims.size()));
  std::vector<float> a(batch.size()), b(batch.size()), c(batch.size());
  SplitMix64 r1(7), r2(7), r3(8);
  augment_batch(batch.data(), a.data(), n, dims, aug, r1);
  augment_batch(batch.data(), b.data(), n, dims, aug, r2);
  augment_batch(batch.data(), c.data(), n, dims, aug, r3);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  // Each output equals crop_flip with one of the 5 × 5 × 2 choices; all of them occur.
  std::set<int> seen;
  std::vector<float> want(dims.size());
  for (std::size_t i = 0; i < n; ++i) {
    int found = -1;
    for (int choice = 0; choice < 50 && found < 0; ++choice) {
      crop_flip(in.data(), want.data(), dims, 2, choice % 5, (choice / 5) % 5, choice >= 25);
      if (std::equal(want.begin(), want.end(), a.begin() + static_cast<long>(i * dims.size())))
        found = choice;
    }
    ASSERT_GE(found, 0) << "image " << i << " is no crop/flip of the input";
    seen.insert(found);
  }
  EXPECT_EQ(seen.size(), 50u);
}

TEST(Augment, Generator) {
  SplitMix64 a(1), b(1);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a(), b());
  SplitMix64 r(3);
  std::vector<int> hist(7, 0);
  for (int i = 0; i < 7000; ++i) ++hist[static_cast<std::size_t>(r.below(7))];
  for (int h : hist) EXPECT_NEAR(h, 1000, 150);
  EXPECT_NE(mix_seed(1, 2), mix_seed(2, 1));
  EXPECT_NE(mix_seed(1, 2, 0), mix_seed(1, 2, 1));
  EXPECT_EQ(mix_seed(5, 6, 7), mix_seed(5, 6, 7));
}

}  // namespace
}  // namespace archetype::runtime::test
