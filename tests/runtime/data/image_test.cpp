// JPEG and PNG decoding (files written here with libjpeg-turbo and libpng), channel
// conversion, the antialiased bilinear resize against values worked by hand, and the random
// resized crop.
#include "data_files.hpp"
#include "image_files.hpp"

#include <archetype/runtime/image.hpp>

#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <string>
#include <vector>

namespace archetype::runtime::test {
namespace {

using archetype::test::jpeg_bytes;
using archetype::test::png_bytes;
using archetype::test::solid;

// A 3×2 RGB gradient: pixel (x, y) = (40x + 10, 100y + 20, 7x + 3y).
Bytes gradient_rgb() {
  Bytes p;
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 3; ++x) {
      p.push_back(static_cast<unsigned char>(40 * x + 10));
      p.push_back(static_cast<unsigned char>(100 * y + 20));
      p.push_back(static_cast<unsigned char>(7 * x + 3 * y));
    }
  return p;
}

// The message of the DataError that `f` throws ("" if none).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  }
  return {};
}

TEST(Image, PngRgbDecodesExactly) {
  const Bytes pixels = gradient_rgb();
  const Image image = decode_image(png_bytes(3, 2, PNG_COLOR_TYPE_RGB, 8, pixels), "g.png", 3);
  EXPECT_EQ(image.width, 3);
  EXPECT_EQ(image.height, 2);
  EXPECT_EQ(image.channels, 3);
  EXPECT_EQ(image.pixels, pixels);
}

TEST(Image, InterlacedPngDecodesExactly) {
  const Bytes pixels = gradient_rgb();
  const Bytes file = png_bytes(3, 2, PNG_COLOR_TYPE_RGB, 8, pixels, nullptr, true);
  EXPECT_EQ(decode_image(file, "i.png", 3).pixels, pixels);
}

TEST(Image, GreyIsReplicatedAndColourBecomesLuma) {
  const Image grey = decode_image(png_bytes(2, 1, PNG_COLOR_TYPE_GRAY, 8, {17, 230}), "g.png", 3);
  EXPECT_EQ(grey.pixels, (Bytes{17, 17, 17, 230, 230, 230}));
  // L = 0.299·100 + 0.587·150 + 0.114·200 = 140.75 → 141 (PIL's convert("L")).
  const Image luma =
      decode_image(png_bytes(1, 1, PNG_COLOR_TYPE_RGB, 8, {100, 150, 200}), "c.png", 1);
  EXPECT_EQ(luma.channels, 1);
  EXPECT_EQ(luma.pixels, (Bytes{141}));
}

TEST(Image, AlphaIsDroppedWithoutCompositing) {
  const Image rgba =
      decode_image(png_bytes(1, 1, PNG_COLOR_TYPE_RGB_ALPHA, 8, {10, 20, 30, 0}), "a.png", 3);
  EXPECT_EQ(rgba.pixels, (Bytes{10, 20, 30}));
  const Image ga =
      decode_image(png_bytes(1, 1, PNG_COLOR_TYPE_GRAY_ALPHA, 8, {90, 5}), "ga.png", 1);
  EXPECT_EQ(ga.pixels, (Bytes{90}));
}

TEST(Image, PaletteIsExpanded) {
  const std::vector<png_color> palette = {{255, 0, 0}, {0, 128, 255}};
  const Image image =
      decode_image(png_bytes(3, 1, PNG_COLOR_TYPE_PALETTE, 8, {1, 0, 1}, &palette), "p.png", 3);
  EXPECT_EQ(image.pixels, (Bytes{0, 128, 255, 255, 0, 0, 0, 128, 255}));
}

TEST(Image, SixteenBitSamplesAreScaledToEight) {
  // Big-endian samples 0xFFFF, 0x8080, 0x1234, 0x0000 → round(v·255/65535).
  const Bytes samples = {0xFF, 0xFF, 0x80, 0x80, 0x12, 0x34, 0x00, 0x00};
  const Image image = decode_image(png_bytes(4, 1, PNG_COLOR_TYPE_GRAY, 16, samples), "d.png", 1);
  EXPECT_EQ(image.pixels, (Bytes{255, 128, 18, 0}));
  const Bytes rgb16 = {0xFF, 0xFF, 0x00, 0x00, 0x80, 0x80};
  EXPECT_EQ(decode_image(png_bytes(1, 1, PNG_COLOR_TYPE_RGB, 16, rgb16), "e.png", 3).pixels,
            (Bytes{255, 0, 128}));
}

TEST(Image, JpegColourAndGreyDecodeClose) {
  const Image colour = decode_image(jpeg_bytes(16, 8, 3, solid(16, 8, {200, 40, 90})), "c.jpg", 3);
  ASSERT_EQ(colour.width, 16);
  ASSERT_EQ(colour.height, 8);
  for (std::size_t i = 0; i < colour.pixels.size(); i += 3) {
    EXPECT_NEAR(colour.pixels[i], 200, 3);
    EXPECT_NEAR(colour.pixels[i + 1], 40, 3);
    EXPECT_NEAR(colour.pixels[i + 2], 90, 3);
  }
  const Image grey = decode_image(jpeg_bytes(8, 8, 1, solid(8, 8, {77}), 95, true), "g.jpg", 3);
  EXPECT_EQ(grey.channels, 3);
  for (unsigned char v : grey.pixels) EXPECT_NEAR(v, 77, 2);
}

TEST(Image, ContentDecidesTheFormatNotTheName) {
  TempDir dir;
  const Bytes pixels = gradient_rgb();
  write_file(dir.path() / "really-a-png.jpg", png_bytes(3, 2, PNG_COLOR_TYPE_RGB, 8, pixels));
  EXPECT_EQ(read_image(dir.path() / "really-a-png.jpg", 3).pixels, pixels);
}

TEST(Image, BadFilesAreNamedErrors) {
  TempDir dir;
  write_file(dir.path() / "empty.jpg", {});
  EXPECT_NE(error_of([&] {
              (void)read_image(dir.path() / "empty.jpg", 3);
            }).find("empty.jpg: an empty file"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              (void)decode_image(Bytes{'h', 'e', 'l', 'l', 'o'}, "t.png", 3);
            }).find("t.png: neither a JPEG nor a PNG file (it starts with 68 65 6C 6C)"),
            std::string::npos);
  const Bytes jpeg = jpeg_bytes(64, 64, 3, solid(64, 64, {1, 2, 3}));
  const Bytes cut(jpeg.begin(), jpeg.begin() + std::ptrdiff_t(jpeg.size() / 2));
  EXPECT_NE(
      error_of([&] { (void)decode_image(cut, "cut.jpg", 3); }).find("cut.jpg: not a readable JPEG"),
      std::string::npos);
  const Bytes png = png_bytes(64, 64, PNG_COLOR_TYPE_RGB, 8, solid(64, 64, {1, 2, 3}));
  const Bytes cut_png(png.begin(), png.begin() + std::ptrdiff_t(png.size() - 20));
  EXPECT_NE(error_of([&] {
              (void)decode_image(cut_png, "cut.png", 3);
            }).find("cut.png: not a readable PNG"),
            std::string::npos);
  EXPECT_NE(error_of([&] { (void)read_image(dir.path(), 3); }).find("a directory"),
            std::string::npos);
}

TEST(Image, AbsurdDimensionsAreRefusedBeforeAllocating) {
  // A PNG whose header announces 30000×30000 pixels (900 megapixels), CRC recomputed.
  Bytes png = png_bytes(1, 1, PNG_COLOR_TYPE_RGB, 8, {1, 2, 3});
  for (int at : {16, 20}) {
    png[std::size_t(at)] = 0;
    png[std::size_t(at) + 1] = 0;
    png[std::size_t(at) + 2] = 30000 >> 8;
    png[std::size_t(at) + 3] = 30000 & 0xFF;
  }
  const uLong crc = crc32(0, png.data() + 12, 17);
  for (int i = 0; i < 4; ++i)
    png[std::size_t(29 + i)] = static_cast<unsigned char>(crc >> (24 - 8 * i));
  EXPECT_NE(error_of([&] {
              (void)decode_image(png, "huge.png", 3);
            }).find("30000x30000 pixels, over the limit"),
            std::string::npos);
  // A JPEG whose frame header (SOF0) announces 40000×40000.
  Bytes jpeg = jpeg_bytes(8, 8, 3, solid(8, 8, {9, 9, 9}));
  std::size_t sof = 0;
  for (std::size_t i = 0; i + 1 < jpeg.size(); ++i) {
    if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xC0) {
      sof = i;
      break;
    }
  }
  ASSERT_NE(sof, 0u);
  for (std::size_t k = sof + 5; k < sof + 9; k += 2) {
    jpeg[k] = 40000 >> 8;
    jpeg[k + 1] = 40000 & 0xFF;
  }
  EXPECT_NE(error_of([&] {
              (void)decode_image(jpeg, "huge.jpg", 3);
            }).find("40000x40000 pixels, over the limit"),
            std::string::npos);
  // The pixel limit is the caller's.
  ImageLimits small;
  small.max_pixels = 100;
  EXPECT_NE(error_of([&] {
              (void)decode_image(png_bytes(20, 20, PNG_COLOR_TYPE_GRAY, 8, solid(20, 20, {0})),
                                 "s.png", 1, small);
            }).find("over the limit of 100 pixels"),
            std::string::npos);
}

Image grey_row(const Bytes& values) { return Image{int(values.size()), 1, 1, values}; }

TEST(Image, ResizeAtTheSameSizeOnlyScalesAndNormalizes) {
  const Image image{3, 2, 3, gradient_rgb()};
  std::vector<float> out(3 * 2 * 3);
  resize_into(image, {0, 0, 3, 2}, 2, 3, false, {{0.5f, 0.0f, 0.0f}, {0.25f, 1.0f, 2.0f}},
              out.data());
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 2; ++y)
      for (int x = 0; x < 3; ++x) {
        const float pixel = image.pixels[std::size_t((y * 3 + x) * 3 + c)] / 255.0f;
        const float mean[] = {0.5f, 0.0f, 0.0f}, sd[] = {0.25f, 1.0f, 2.0f};
        EXPECT_NEAR(out[std::size_t((c * 2 + y) * 3 + x)], (pixel - mean[c]) / sd[c], 1e-6f);
      }
}

TEST(Image, ShrinkingAveragesWithTheWidenedTriangle) {
  // 4 → 2: scale 2, support 2. Output 0 (centre 1) weighs pixels 0, 1, 2 by 0.75, 0.75, 0.25
  // (÷1.75): (0·3 + 70·3 + 140)/7 = 50; output 1 (centre 3): (70 + 140·3 + 210·3)/7 = 160.
  std::vector<float> out(2);
  resize_into(grey_row({0, 70, 140, 210}), {0, 0, 4, 1}, 1, 2, false, {}, out.data());
  EXPECT_NEAR(out[0] * 255.0f, 50.0f, 1e-3f);
  EXPECT_NEAR(out[1] * 255.0f, 160.0f, 1e-3f);
}

TEST(Image, EnlargingInterpolatesLinearly) {
  // 2 → 4: centres 0.25, 0.75, 1.25, 1.75 in source pixels: 0, 25, 75, 100 (edges clamp).
  std::vector<float> out(4);
  resize_into(grey_row({0, 100}), {0, 0, 2, 1}, 1, 4, false, {}, out.data());
  const float expected[] = {0, 25, 75, 100};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(out[std::size_t(i)] * 255.0f, expected[i], 1e-3f);
  // Mirrored.
  resize_into(grey_row({0, 100}), {0, 0, 2, 1}, 1, 4, true, {}, out.data());
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(out[std::size_t(i)] * 255.0f, expected[3 - i], 1e-3f);
}

TEST(Image, ACropReadsOnlyItsBox) {
  // Box {2, 0, 2, 1} of 0, 0, 90, 90, 255, 255: a constant 90 whatever the neighbours.
  std::vector<float> out(3);
  resize_into(grey_row({0, 0, 90, 90, 255, 255}), {2, 0, 2, 1}, 1, 3, false, {}, out.data());
  for (float v : out) EXPECT_NEAR(v * 255.0f, 90.0f, 1e-3f);
  EXPECT_THROW(resize_into(grey_row({1, 2}), {1, 0, 2, 1}, 1, 1, false, {}, out.data()),
               std::invalid_argument);
}

TEST(Image, RandomResizedCropFollowsTorchvision) {
  SplitMix64 a(42), b(42);
  for (int i = 0; i < 200; ++i) {
    const CropBox box = random_resized_crop(640, 480, a);
    EXPECT_EQ(box, random_resized_crop(640, 480, b));  // a function of the generator alone
    ASSERT_GE(box.x, 0);
    ASSERT_GE(box.y, 0);
    ASSERT_LE(box.x + box.width, 640);
    ASSERT_LE(box.y + box.height, 480);
    // Area 8–100% and ratio 3/4–4/3, up to the rounding of w and h to whole pixels.
    const double area = double(box.width) * box.height / (640.0 * 480.0);
    const double ratio = double(box.width) / box.height;
    EXPECT_GE(area, 0.08 * 0.95);
    EXPECT_LE(area, 1.0);
    EXPECT_GE(ratio, 0.75 * 0.95);
    EXPECT_LE(ratio, 4.0 / 3.0 * 1.05);
  }
  // No box of 8% or more of a 1000×1 strip has a ratio within 3/4–4/3: the fallback is the
  // centred 1×1 square.
  SplitMix64 c(7);
  EXPECT_EQ(random_resized_crop(1000, 1, c), (CropBox{499, 0, 1, 1}));
  SplitMix64 d(7);
  EXPECT_EQ(random_resized_crop(3, 1000, d), (CropBox{0, 498, 3, 4}));
}

TEST(Image, ImagenetNormalization) {
  const Normalization n = Normalization::imagenet(3);
  EXPECT_EQ(n.mean, (std::vector<float>{0.485f, 0.456f, 0.406f}));
  EXPECT_EQ(n.stddev, (std::vector<float>{0.229f, 0.224f, 0.225f}));
  EXPECT_EQ(Normalization::imagenet(1).mean.size(), 1u);
}

// write_png: what it writes decodes to the same pixels (grey and RGB); an inconsistent image
// or an unwritable path is a DataError naming the path, and leaves no file behind.
TEST(Image, WrittenPngReadsBackTheSamePixels) {
  TempDir dir;
  const Image rgb{3, 2, 3, gradient_rgb()};
  write_png(dir.path() / "rgb.png", rgb);
  EXPECT_EQ(read_image(dir.path() / "rgb.png", 3).pixels, rgb.pixels);
  Image grey{4, 3, 1, {}};
  for (int i = 0; i < 12; ++i) grey.pixels.push_back(static_cast<unsigned char>(i * 21));
  write_png(dir.path() / "grey.png", grey);
  const Image back = read_image(dir.path() / "grey.png", 1);
  EXPECT_EQ(back.width, 4);
  EXPECT_EQ(back.height, 3);
  EXPECT_EQ(back.pixels, grey.pixels);

  const Image short_one{4, 3, 1, Bytes(11)};
  EXPECT_NE(error_of([&] { write_png(dir.path() / "short.png", short_one); }).find("short.png"),
            std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "short.png"));
  const auto nowhere = dir.path() / "missing" / "x.png";
  EXPECT_NE(error_of([&] { write_png(nowhere, grey); }).find("cannot write the PNG"),
            std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(nowhere));
}

}  // namespace
}  // namespace archetype::runtime::test
