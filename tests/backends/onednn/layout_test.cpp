// `same_bytes`: two names of one layout are read through a view instead of a reorder; two
// different layouts never are (that would be a silently wrong result).
#include "context.hpp"

#include <gtest/gtest.h>

namespace {

using archetype::onednn::detail::same_bytes;
using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

memory::desc md(memory::dims dims, tag t, dt type = dt::f32) { return {dims, type, t}; }

TEST(SameBytes, SixteenChannelsBlockedBySixteenAreChannelsLast) {
  EXPECT_TRUE(same_bytes(md({8, 16, 5, 7}, tag::nChw16c), md({8, 16, 5, 7}, tag::nhwc)));
  EXPECT_TRUE(same_bytes(md({8, 16, 5, 7}, tag::nhwc), md({8, 16, 5, 7}, tag::nChw16c)));
  EXPECT_FALSE(same_bytes(md({8, 32, 5, 7}, tag::nChw16c), md({8, 32, 5, 7}, tag::nhwc)));
  EXPECT_FALSE(same_bytes(md({8, 16, 5, 7}, tag::nChw16c), md({8, 16, 5, 7}, tag::nchw)));
}

TEST(SameBytes, OnePixelImagesAreTheSameInEveryChannelLayout) {
  EXPECT_TRUE(same_bytes(md({4, 64, 1, 1}, tag::nChw16c), md({4, 64, 1, 1}, tag::nchw)));
  EXPECT_TRUE(same_bytes(md({4, 64, 1, 1}, tag::nhwc), md({4, 64, 1, 1}, tag::nchw)));
  EXPECT_FALSE(same_bytes(md({4, 64, 2, 1}, tag::nChw16c), md({4, 64, 2, 1}, tag::nchw)));
  EXPECT_FALSE(same_bytes(md({4, 64, 1, 1}, tag::nchw), md({4, 64, 1, 1}, tag::bacd)));
}

TEST(SameBytes, OneChannelIsTheSameChannelsFirstOrLast) {
  EXPECT_TRUE(same_bytes(md({3, 1, 6, 6}, tag::nchw), md({3, 1, 6, 6}, tag::nhwc)));
  EXPECT_FALSE(same_bytes(md({3, 2, 6, 6}, tag::nchw), md({3, 2, 6, 6}, tag::nhwc)));
}

TEST(SameBytes, PaddingTypesAndShapesKeepLayoutsApart) {
  // 24 channels blocked by 16 are padded to 32: more bytes than channels-last.
  EXPECT_FALSE(same_bytes(md({2, 24, 4, 4}, tag::nChw16c), md({2, 24, 4, 4}, tag::nhwc)));
  EXPECT_FALSE(same_bytes(md({2, 16, 4, 4}, tag::nhwc, dt::bf16), md({2, 16, 4, 4}, tag::nhwc)));
  EXPECT_FALSE(same_bytes(md({2, 16, 4, 4}, tag::nhwc), md({2, 16, 4, 2}, tag::nhwc)));
  EXPECT_FALSE(same_bytes(md({2, 16, 4, 4}, tag::nhwc), md({2, 16, 4, 4}, tag::any)));
  EXPECT_TRUE(same_bytes(md({2, 16, 4, 4}, tag::any), md({2, 16, 4, 4}, tag::any)));
}

}  // namespace
