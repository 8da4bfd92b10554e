// Image folders: the class mapping, the layouts refused, the pixels a batch holds, the
// determinism of augmentation whatever the threads, and unreadable files with and without
// strict. The folders are written here with libjpeg-turbo and libpng.
#include "data_files.hpp"
#include "image_files.hpp"

#include <archetype/runtime/batches.hpp>
#include <archetype/runtime/image_folder.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace archetype::runtime::test {
namespace {

using archetype::test::jpeg_bytes;
using archetype::test::png_bytes;
using archetype::test::solid;
using archetype::test::write_file;  // makes the folders

// Grey level of class k's images: class folders b_dog, a_cat, C_bird (byte order: C_bird,
// a_cat, b_dog → labels 0, 1, 2).
const std::vector<std::string> names = {"b_dog", "a_cat", "C_bird"};
unsigned char level(const std::string& name) {
  return name == "C_bird" ? 30 : name == "a_cat" ? 120 : 210;
}

// DIR/train/CLASS: 3 PNGs (one grey, one RGB, one RGBA) and 2 JPEGs per class, of varied sizes;
// DIR/val/CLASS: one PNG each; a notes.txt and a hidden folder that are not classes.
void write_folder(const std::filesystem::path& root) {
  for (const std::string& n : names) {
    const unsigned char v = level(n);
    const auto train = root / "train" / n;
    write_file(train / "0.png", png_bytes(12, 9, PNG_COLOR_TYPE_GRAY, 8, solid(12, 9, {v})));
    write_file(train / "1.png", png_bytes(7, 11, PNG_COLOR_TYPE_RGB, 8, solid(7, 11, {v, v, v})));
    write_file(train / "sub" / "2.PNG",
               png_bytes(20, 5, PNG_COLOR_TYPE_RGB_ALPHA, 8, solid(20, 5, {v, v, v, 9})));
    write_file(train / "3.jpg", jpeg_bytes(16, 16, 3, solid(16, 16, {v, v, v})));
    write_file(train / "4.jpeg", jpeg_bytes(24, 8, 1, solid(24, 8, {v})));
    write_file(root / "val" / n / "0.png",
               png_bytes(5, 5, PNG_COLOR_TYPE_RGB, 8, solid(5, 5, {v, v, v})));
  }
  write_file(root / "train" / "b_dog" / "notes.txt", {'h', 'i'});
  write_file(root / "train" / ".ipynb_checkpoints" / "x.png",
             png_bytes(1, 1, PNG_COLOR_TYPE_GRAY, 8, {0}));
}

ImageFolderOptions options(int threads = 2) {
  ImageFolderOptions o;
  o.dims = {3, 6, 6};
  o.threads = threads;
  o.log = nullptr;
  return o;
}

// Every batch of an epoch: images and labels.
struct Epoch {
  std::vector<float> images;
  std::vector<int> labels;
};
Epoch run_epoch(const Dataset& data, const BatchOptions& bo, std::uint64_t epoch) {
  BatchIterator it(data, bo);
  it.start_epoch(epoch);
  Epoch e;
  while (auto b = it.next()) {
    e.images.insert(e.images.end(), b->images, b->images + std::size_t(b->size) * data.dims.size());
    e.labels.insert(e.labels.end(), b->labels, b->labels + b->size);
  }
  return e;
}

TEST(ImageFolder, ClassesAreTrainFoldersSortedByName) {
  TempDir dir;
  write_folder(dir.path());
  const ImageFolder f = load_image_folder(dir.path(), options());
  EXPECT_EQ(f.classes, (std::vector<std::string>{"C_bird", "a_cat", "b_dog"}));
  EXPECT_EQ(f.train.size(), 15u);
  EXPECT_EQ(f.val.size(), 3u);
  EXPECT_EQ(f.train.classes, 3);
  EXPECT_EQ(f.ignored, 1u);  // notes.txt
  EXPECT_EQ(f.skipped(), 0u);
  EXPECT_EQ(f.train.labels, (std::vector<int>{0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2}));
  EXPECT_EQ(f.train.dims, (ImageDims{3, 6, 6}));
}

TEST(ImageFolder, PixelsAreDecodedResizedAndNormalized) {
  TempDir dir;
  write_folder(dir.path());
  const ImageFolder f = load_image_folder(dir.path(), options());
  const Epoch e = run_epoch(f.train, BatchOptions::evaluation(4), 0);
  ASSERT_EQ(e.labels, f.train.labels);
  const Normalization n = Normalization::imagenet(3);
  for (std::size_t i = 0; i < e.labels.size(); ++i) {
    const float v = level(f.classes[std::size_t(e.labels[i])]) / 255.0f;
    const bool jpeg = i % 5 == 2 || i % 5 == 3;  // 3.jpg, 4.jpeg (before sub/): lossy
    for (std::size_t k = 0; k < 3 * 36; ++k) {
      const std::size_t c = k / 36;
      EXPECT_NEAR(e.images[i * 108 + k], (v - n.mean[c]) / n.stddev[c],
                  jpeg ? 2.0f / 255 / n.stddev[c] : 1e-5f)
          << "image " << i << " value " << k;
    }
  }
}

TEST(ImageFolder, ASubsetReadsItsOwnSamples) {
  TempDir dir;
  write_folder(dir.path());
  const ImageFolder f = load_image_folder(dir.path(), options());
  const Epoch all = run_epoch(f.train, BatchOptions::evaluation(4), 0);
  const Dataset part = f.train.subset(5, 6);  // a_cat's five images and b_dog's first
  const Epoch some = run_epoch(part, BatchOptions::evaluation(4), 0);
  EXPECT_EQ(some.labels, (std::vector<int>{1, 1, 1, 1, 1, 2}));
  EXPECT_TRUE(std::equal(some.images.begin(), some.images.end(), all.images.begin() + 5 * 108));
  EXPECT_EQ(some.images.size(), 6u * 108);
}

TEST(ImageFolder, OneChannelModelsGetLuma) {
  TempDir dir;
  write_folder(dir.path());
  ImageFolderOptions o = options();
  o.dims = {1, 4, 4};
  o.normalization = {{0.0f}, {1.0f}};
  const ImageFolder f = load_image_folder(dir.path(), o);
  const Epoch e = run_epoch(f.val, BatchOptions::evaluation(3), 0);
  for (std::size_t i = 0; i < 3; ++i) {
    // Grey R = G = B = v: L = v.
    EXPECT_NEAR(e.images[i * 16 + 5], level(f.classes[i]) / 255.0f, 1e-5f);
  }
}

TEST(ImageFolder, AugmentationIsAFunctionOfSeedEpochAndPosition) {
  TempDir dir;
  // Gradients, so that crops and flips change the pixels.
  for (const std::string& n : names) {
    for (int k = 0; k < 4; ++k) {
      Bytes p;
      for (int y = 0; y < 30; ++y)
        for (int x = 0; x < 40; ++x)
          p.push_back(static_cast<unsigned char>(x * 6 + y + k * 9 + level(n) / 4));
      write_file(dir.path() / "train" / n / (std::to_string(k) + ".png"),
                 png_bytes(40, 30, PNG_COLOR_TYPE_GRAY, 8, p));
    }
    write_file(dir.path() / "val" / n / "0.png",
               png_bytes(2, 2, PNG_COLOR_TYPE_GRAY, 8, {1, 2, 3, 4}));
  }
  const Augment augment{0, true, true};
  const auto one = load_image_folder(dir.path(), options(1));
  const auto four = load_image_folder(dir.path(), options(4));
  const Epoch a = run_epoch(one.train, BatchOptions::training(4, 11, augment), 3);
  const Epoch b = run_epoch(four.train, BatchOptions::training(4, 11, augment), 3);
  EXPECT_EQ(a.images, b.images);  // 1 thread or 4: the same images
  EXPECT_EQ(a.labels, b.labels);
  const Epoch again = run_epoch(one.train, BatchOptions::training(4, 11, augment), 3);
  EXPECT_EQ(a.images, again.images);
  EXPECT_NE(a.images, run_epoch(one.train, BatchOptions::training(4, 11, augment), 4).images);
  EXPECT_NE(a.images, run_epoch(one.train, BatchOptions::training(4, 12, augment), 3).images);
  // Resuming at batch 2 gives what the full epoch gave there.
  BatchIterator it(four.train, BatchOptions::training(4, 11, augment));
  it.start_epoch(3, 2);
  const auto third = it.next();
  ASSERT_TRUE(third.has_value());
  EXPECT_TRUE(std::equal(third->images, third->images + 4 * 108, a.images.begin() + 2 * 4 * 108));
  // The same again with the prefetching iterator the trainer uses.
  PrefetchingBatchIterator p(four.train, BatchOptions::training(4, 11, augment));
  p.start_epoch(3);
  const auto first = p.next();
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(std::equal(first->images, first->images + 4 * 108, a.images.begin()));
}

TEST(ImageFolder, LayoutsItCannotUseAreNamed) {
  TempDir dir;
  auto message = [&] {
    try {
      (void)load_image_folder(dir.path(), options());
    } catch (const DataError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(message().find("train: missing"), std::string::npos);
  write_folder(dir.path());
  std::filesystem::create_directories(dir.path() / "train" / "empty_class");
  EXPECT_NE(message().find("empty_class: no readable .jpg, .jpeg or .png file"), std::string::npos);
  std::filesystem::remove_all(dir.path() / "train" / "empty_class");
  write_file(dir.path() / "val" / "zebra" / "0.png", png_bytes(1, 1, PNG_COLOR_TYPE_GRAY, 8, {0}));
  EXPECT_NE(message().find("zebra: a class that"), std::string::npos);
  std::filesystem::remove_all(dir.path() / "val");
  EXPECT_NE(message().find("val: missing"), std::string::npos);
  std::filesystem::create_directories(dir.path() / "val" / "a_cat");
  EXPECT_NE(message().find("val: no readable"), std::string::npos);
}

TEST(ImageFolder, UnreadableFilesAreSkippedAndCounted) {
  TempDir dir;
  write_folder(dir.path());
  const auto cat = dir.path() / "train" / "a_cat";
  write_file(cat / "zero.jpg", {});                                        // found at the scan
  write_file(cat / "text.png", {'n', 'o', 't', ' ', 'a', 'n', ' ', 'i'});  // found at the scan
  const Bytes jpeg = jpeg_bytes(32, 32, 3, solid(32, 32, {5, 5, 5}));
  write_file(cat / "truncated.jpg",
             Bytes(jpeg.begin(), jpeg.begin() + std::ptrdiff_t(jpeg.size() / 2)));
  write_file(dir.path() / "val" / "a_cat" / "bad.png",
             Bytes{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0});
  ImageFolderOptions o = options();
  std::FILE* log = std::tmpfile();
  ASSERT_NE(log, nullptr);
  o.log = log;
  const ImageFolder f = load_image_folder(dir.path(), o);
  EXPECT_EQ(f.skipped(), 2u);
  EXPECT_EQ(f.train.size(), 16u);  // 15 + truncated.jpg, which only decoding finds out
  // Training: the truncated file's place goes to the next readable image; every label valid.
  const Epoch t = run_epoch(f.train, BatchOptions::training(4, 1, {0, true, true}), 0);
  EXPECT_EQ(t.labels.size(), 16u);
  for (int l : t.labels) EXPECT_GE(l, 0);
  EXPECT_EQ(f.skipped(), 3u);
  run_epoch(f.train, BatchOptions::training(4, 1, {0, true, true}), 1);
  EXPECT_EQ(f.skipped(), 3u);  // each file named and counted once
  // Evaluation: the unreadable image is labelled -1 (not scored).
  const Epoch v = run_epoch(f.val, BatchOptions::evaluation(8), 0);
  EXPECT_EQ(std::count(v.labels.begin(), v.labels.end(), -1), 1);
  EXPECT_EQ(f.skipped(), 4u);
  std::rewind(log);
  std::string text(4096, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), log));
  std::fclose(log);
  for (const char* name : {"zero.jpg: an empty file", "text.png: neither a JPEG nor a PNG",
                           "truncated.jpg: not a readable JPEG", "bad.png: not a readable PNG"}) {
    EXPECT_NE(text.find(name), std::string::npos) << name << " in:\n" << text;
  }
}

TEST(ImageFolder, StrictStopsAtTheFirstUnreadableFile) {
  TempDir dir;
  write_folder(dir.path());
  ImageFolderOptions o = options();
  o.strict = true;
  write_file(dir.path() / "train" / "a_cat" / "zero.jpg", {});
  try {
    (void)load_image_folder(dir.path(), o);
    ADD_FAILURE() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("zero.jpg: an empty file"), std::string::npos) << e.what();
  }
  std::filesystem::remove(dir.path() / "train" / "a_cat" / "zero.jpg");
  const Bytes jpeg = jpeg_bytes(32, 32, 3, solid(32, 32, {5, 5, 5}));
  write_file(dir.path() / "train" / "a_cat" / "cut.jpg", Bytes(jpeg.begin(), jpeg.begin() + 200));
  const ImageFolder f = load_image_folder(dir.path(), o);  // the scan cannot tell
  try {
    (void)run_epoch(f.train, BatchOptions::evaluation(4), 0);
    ADD_FAILURE() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("cut.jpg: not a readable JPEG"), std::string::npos)
        << e.what();
  }
  PrefetchingBatchIterator p(f.train, BatchOptions::evaluation(4));  // rethrown by next()
  EXPECT_THROW(while (p.next()){}, DataError);
}

TEST(ImageFolder, ThePaddedCropIsRefused) {
  TempDir dir;
  write_folder(dir.path());
  const ImageFolder f = load_image_folder(dir.path(), options());
  EXPECT_THROW(BatchIterator(f.train, BatchOptions::training(4, 1, {4, true})),
               std::invalid_argument);
  Dataset memory;
  memory.dims = {1, 1, 1};
  memory.classes = 1;
  memory.images = {0.5f};
  memory.labels = {0};
  EXPECT_THROW(BatchIterator(memory, BatchOptions::training(1, 1, {0, false, true})),
               std::invalid_argument);
}

}  // namespace
}  // namespace archetype::runtime::test
