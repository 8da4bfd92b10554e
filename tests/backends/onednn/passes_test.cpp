// Inference in passes (Options::images_per_pass): a batch run as several passes of fewer
// images computes what one pass of the whole batch computes, and the choice of the pass
// follows the largest layer and the cache.
#include "naive.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace archetype::onednn::test {
namespace {

// The largest layers: the stride-2 convolutions of the residual block (BatchNorm folded
// in), each reading 16x32x32 values and writing 16x16x16 (20,480 per image, 81,920 bytes
// in fp32); the first one reads 3x32x32 and writes 16x32x32 (19,456).
using Small = Net<Input<Shape{3, 32, 32}>,
                  Seq<Conv3x3<16>, ReLU,
                      Residual<Seq<Conv3x3<16, 2>, BatchNorm, ReLU, Conv3x3<16>, BatchNorm>,
                               Seq<Conv1x1<16, 2>, BatchNorm>>,
                      ReLU, GlobalAvgPool, Linear<10>>,
                  10>;
constexpr std::size_t image_bytes = (16 * 32 * 32 + 16 * 16 * 16) * 4;

TEST(ImagesPerPass, TheWholeBatchWhereItFitsTheCacheElsePassesThatWasteTheLeast) {
  const auto p = program<Small>();
  const std::size_t twenty = 20 * image_bytes;  // a cache that holds 20 images' largest layer
  EXPECT_EQ(images_per_pass(p, 4, Precision::f32, twenty), 4);
  EXPECT_EQ(images_per_pass(p, 20, Precision::f32, twenty), 20);
  EXPECT_EQ(images_per_pass(p, 40, Precision::f32, twenty), 20);
  EXPECT_EQ(images_per_pass(p, 32, Precision::f32, twenty), 16);      // 20 would compute 40 images
  EXPECT_EQ(images_per_pass(p, 21, Precision::f32, twenty), 11);      // 11 + 10 (+1): 22
  EXPECT_EQ(images_per_pass(p, 41, Precision::f32, twenty), 14);      // 42; 20 would compute 60
  EXPECT_EQ(images_per_pass(p, 32, Precision::f32, twenty - 1), 16);  // 19 fit: 16 still
  EXPECT_EQ(images_per_pass(p, 40, Precision::f32, twenty - 1), 10);  // 4 x 10; 19: 57
  // At least min_images_per_pass images, even where fewer fit; the batch where it has no more.
  static_assert(min_images_per_pass == 8);
  EXPECT_EQ(images_per_pass(p, 32, Precision::f32, 2 * image_bytes), 8);
  EXPECT_EQ(images_per_pass(p, 127, Precision::f32, image_bytes - 1), 8);  // 16 x 8: 128
  EXPECT_EQ(images_per_pass(p, 7, Precision::f32, image_bytes), 7);
  EXPECT_EQ(images_per_pass(p, 9, Precision::f32, image_bytes), 5);  // 8 would compute 16
  // bf16 values take half the bytes: 40 fit.
  EXPECT_EQ(images_per_pass(p, 32, Precision::bf16, twenty), 32);
  EXPECT_EQ(images_per_pass(p, 64, Precision::bf16, twenty), 32);
  EXPECT_EQ(images_per_pass(p, 128, Precision::f32, 200 * image_bytes), 128);
  EXPECT_THROW((void)images_per_pass(p, 0, Precision::f32, twenty), std::invalid_argument);
  EXPECT_GE(last_level_cache_bytes(), std::size_t(1) << 16);
  EXPECT_EQ(images_per_pass(p, 64, Precision::f32),
            images_per_pass(p, 64, Precision::f32, last_level_cache_bytes()));
}

// Batch 7 as passes of 3 (3 + 3 + 1 with 2 zero images) and of 1, against one pass of 7:
// the same outputs, in both plans' layouts, and the same loss.
TEST(ImagesPerPass, PassesComputeWhatOnePassComputes) {
  const int batch = 7;
  const Vec x = random_vec(std::size_t(batch) * Small::input_shape.elements(), 31);
  const std::vector<int> labels = {0, 3, 9, 1, 4, 4, 7};
  for (const ConvAlgorithm algorithm : {ConvAlgorithm::direct, ConvAlgorithm::winograd}) {
    Options o;
    o.conv_algorithm = algorithm;
    o.images_per_pass = batch;
    Executable whole(program<Small>(), batch, Mode::inference, o);
    EXPECT_EQ(whole.images_per_pass(), batch);
    randomize(whole, 32);
    const auto y = whole.forward(x);
    const Vec want(y.begin(), y.end());
    const float loss = whole.softmax_cross_entropy(labels);
    for (const int pass : {3, 1}) {
      o.images_per_pass = pass;
      Executable exe(program<Small>(), batch, Mode::inference, o);
      EXPECT_EQ(exe.batch(), batch);
      EXPECT_EQ(exe.images_per_pass(), pass);
      EXPECT_LT(exe.footprint().values, whole.footprint().values);
      std::copy(whole.parameters().begin(), whole.parameters().end(), exe.parameters().begin());
      std::copy(whole.buffers().begin(), whole.buffers().end(), exe.buffers().begin());
      for (int run = 0; run < 2; ++run) {  // the second forward reuses the derived weights
        const auto got = exe.forward(x);
        ASSERT_EQ(got.size(), want.size());
        expect_close(got, want, 1e-5f);
      }
      EXPECT_NEAR(exe.softmax_cross_entropy(labels), loss, 1e-5f);
      // The batch, not the pass, is what forward() takes.
      EXPECT_THROW((void)exe.forward(std::span<const float>(x).first(x.size() / batch * pass)),
                   std::invalid_argument);
    }
  }
}

TEST(ImagesPerPass, OptionLimits) {
  Options o;
  o.images_per_pass = 100;  // more than the batch: the whole batch
  EXPECT_EQ(Executable(program<Small>(), 6, Mode::inference, o).images_per_pass(), 6);
  o.images_per_pass = 2;  // training runs the whole batch (BatchNorm's statistics)
  EXPECT_EQ(Executable(program<Small>(), 6, Mode::training, o).images_per_pass(), 6);
  o.images_per_pass = -1;
  EXPECT_THROW(Executable(program<Small>(), 6, Mode::inference, o), std::invalid_argument);
}

}  // namespace
}  // namespace archetype::onednn::test
