// IDX files (MNIST format), plain and gzipped: exact round trips and every kind of broken file.
#include <archetype/runtime/idx.hpp>

#include "data_files.hpp"

#include <gtest/gtest.h>

#include <string>

namespace archetype::runtime::test {
namespace {

constexpr std::uint32_t kCount = 6, kRows = 3, kCols = 4;

Bytes good_images() { return idx_images(kCount, kRows, kCols, pixels(kCount, kRows * kCols)); }
Bytes good_labels() { return idx_labels(kCount, {3, 0, 9, 1, 1, 7}); }

void expect_good(const Dataset& d, const std::string& name) {
  EXPECT_EQ(d.name, name);
  EXPECT_EQ(d.dims, (ImageDims{1, 3, 4}));
  EXPECT_EQ(d.classes, 10);
  ASSERT_EQ(d.size(), kCount);
  EXPECT_EQ(d.labels, (std::vector<int>{3, 0, 9, 1, 1, 7}));
  ASSERT_EQ(d.images.size(), kCount * kRows * kCols);
  for (std::size_t i = 0; i < kCount; ++i) {
    for (std::size_t j = 0; j < kRows * kCols; ++j) {
      ASSERT_EQ(d.image(i)[j], static_cast<float>(pixel_value(i, j)) * (1.0f / 255.0f))
          << i << "," << j;
    }
  }
  EXPECT_TRUE(d.mean.empty());
}

TEST(Idx, PlainRoundTrip) {
  TempDir dir;
  write_file(dir / "img", good_images());
  write_file(dir / "lbl", good_labels());
  expect_good(load_idx(dir / "img", dir / "lbl", "mine"), "mine");
}

TEST(Idx, GzipRoundTrip) {
  TempDir dir;
  write_gz(dir / "img.gz", good_images());
  write_gz(dir / "lbl.gz", good_labels());
  EXPECT_NE(read_raw(dir / "img.gz"), good_images());  // really compressed
  EXPECT_EQ(read_file_bytes(dir / "img.gz"), good_images());
  expect_good(load_idx(dir / "img.gz", dir / "lbl.gz", "mine"), "mine");
}

TEST(Idx, MnistDirectoryLayouts) {
  TempDir dir;
  // train gzipped, test plain, as both are found in the wild
  write_gz(dir / "train-images-idx3-ubyte.gz", good_images());
  write_gz(dir / "train-labels-idx1-ubyte.gz", good_labels());
  write_file(dir / "t10k-images-idx3-ubyte", good_images());
  write_file(dir / "t10k-labels-idx1-ubyte", good_labels());
  expect_good(load_mnist(dir.path(), Split::train), "mnist/train");
  expect_good(load_fashion_mnist(dir.path(), Split::test), "fashion-mnist/test");

  TempDir dotted;  // Kaggle's spelling
  write_file(dotted / "train-images.idx3-ubyte", good_images());
  write_file(dotted / "train-labels.idx1-ubyte", good_labels());
  expect_good(load_mnist(dotted.path(), Split::train), "mnist/train");
}

TEST(Idx, ParseFromMemory) {
  const Bytes bytes = good_images();
  const IdxImages img = parse_idx_images(bytes, "mem");
  EXPECT_EQ(img.count, kCount);
  EXPECT_EQ(img.rows, kRows);
  EXPECT_EQ(img.cols, kCols);
  EXPECT_EQ(img.pixels.size(), kCount * kRows * kCols);
  const Bytes lbytes = good_labels();
  const IdxLabels lbl = parse_idx_labels(lbytes, "mem");
  EXPECT_EQ(lbl.count, kCount);
  EXPECT_EQ(lbl.labels[2], 9);
  // more classes allowed on request (EMNIST)
  const Bytes wide = idx_labels(2, {25, 3});
  EXPECT_EQ(parse_idx_labels(wide, "mem", 26).labels[0], 25);
}

// --- broken files: each message names the file and the problem -------------------------

// Writes images (plain and gzipped) and good labels, expects both loads to fail with `parts`.
void expect_broken_images(const Bytes& images, std::initializer_list<std::string> parts) {
  TempDir dir;
  write_file(dir / "train-images-idx3-ubyte", images);
  write_file(dir / "lbl", good_labels());
  const std::string path = (dir / "train-images-idx3-ubyte").string();
  expect_error([&] { (void)load_idx(path, dir / "lbl", "x"); }, {path + ": "});
  expect_error([&] { (void)load_idx(path, dir / "lbl", "x"); }, parts);
  write_gz(dir / "train-images-idx3-ubyte.gz", images);
  const std::string gz = (dir / "train-images-idx3-ubyte.gz").string();
  expect_error([&] { (void)load_idx(gz, dir / "lbl", "x"); }, {gz + ": "});
  expect_error([&] { (void)load_idx(gz, dir / "lbl", "x"); }, parts);
}

void expect_broken_labels(const Bytes& labels, std::initializer_list<std::string> parts) {
  TempDir dir;
  write_file(dir / "img", good_images());
  write_gz(dir / "train-labels-idx1-ubyte.gz", labels);
  const std::string path = (dir / "train-labels-idx1-ubyte.gz").string();
  expect_error([&] { (void)load_idx(dir / "img", path, "x"); }, {path + ": "});
  expect_error([&] { (void)load_idx(dir / "img", path, "x"); }, parts);
}

TEST(IdxBroken, EmptyFile) {
  expect_broken_images({}, {"empty file", "IDX images"});
  expect_broken_labels({}, {"empty file", "IDX labels"});
}

TEST(IdxBroken, TruncatedHeader) {
  Bytes short_magic{0, 0, 8};
  expect_broken_images(short_magic, {"truncated header", "3 bytes", "16-byte header"});
  Bytes header = good_images();
  header.resize(10);
  expect_broken_images(header, {"truncated header", "10 bytes", "header is 16 bytes"});
  Bytes lheader = good_labels();
  lheader.resize(6);
  expect_broken_labels(lheader, {"truncated header", "6 bytes", "header is 8 bytes"});
}

TEST(IdxBroken, TruncatedBody) {
  // The header of the real training set with only 1000 pixel bytes after it.
  expect_broken_images(
      idx_images(60000, 28, 28, pixels(1, 1000)),
      {"truncated: header says 60000 images of 28x28 (47040000 bytes) but only 1000 bytes follow"});
  Bytes cut = good_images();
  cut.pop_back();
  expect_broken_images(
      cut, {"truncated: header says 6 images of 3x4 (72 bytes) but only 71 bytes follow"});
  expect_broken_labels(
      idx_labels(60000, {1, 2, 3, 4, 5, 6, 7, 8, 9, 0}),
      {"truncated: header says 60000 labels (60000 bytes) but only 10 bytes follow"});
}

TEST(IdxBroken, ExtraBytes) {
  Bytes extra = good_images();
  extra.push_back(0);
  extra.push_back(0);
  expect_broken_images(extra, {"size mismatch", "(72 bytes) but 74 bytes follow (2 extra)"});
}

TEST(IdxBroken, HugeHeaderIsRejectedBeforeAllocating) {
  // 2^32-1 images of 2^32-1 × 2^32-1: the product overflows 64 bits; must not allocate.
  expect_broken_images(idx_images(0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, pixels(1, 16)),
                       {"truncated", "16 bytes follow"});
}

TEST(IdxBroken, WrongMagic) {
  expect_broken_images(
      idx_images(kCount, kRows, kCols, pixels(kCount, kRows * kCols), 0x00000802),
      {"bad magic 0x00000802, expected 0x00000803 (IDX images)", "2 dimensions", "have 3"});
  // a labels file given as images
  expect_broken_images(good_labels(),
                       {"bad magic 0x00000801, expected 0x00000803", "is this a labels file?"});
  // an images file given as labels
  expect_broken_labels(good_images(), {"bad magic 0x00000803, expected 0x00000801 (IDX labels)",
                                       "3 dimensions", "is this an images file?"});
  expect_broken_images(
      idx_images(kCount, kRows, kCols, pixels(kCount, 4 * kRows * kCols), 0x00000D03),
      {"bad magic 0x00000D03", "element type 0x0D (float32)", "unsigned byte"});
  Bytes text{'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '!', '!', '!', '!', '!'};
  expect_broken_images(text, {"bad magic 0x68656C6C", "not an IDX file"});
}

TEST(IdxBroken, WrongDimensionCount) {
  // 4 dimensions (e.g. a colour IDX file): rejected by the magic, which holds the count
  expect_broken_images(
      idx_images(kCount, kRows, kCols, pixels(kCount, kRows * kCols), 0x00000804),
      {"bad magic 0x00000804", "wrong number of dimensions: the file has 4 dimensions"});
  expect_broken_labels(
      idx_labels(kCount, {1, 2, 3, 4, 5, 6}, 0x00000802),
      {"bad magic 0x00000802", "the file has 2 dimensions", "IDX labels have 1 (count)"});
}

TEST(IdxBroken, EmptyImages) {
  expect_broken_images(idx_images(kCount, 0, kCols, {}), {"header says images of 0x4 pixels"});
  expect_broken_images(idx_images(0, kRows, kCols, {}), {"header says 0 images"});
  expect_broken_labels(idx_labels(0, {}), {"header says 0 labels"});
}

TEST(IdxBroken, LabelOutOfRange) {
  expect_broken_labels(idx_labels(kCount, {3, 0, 10, 1, 1, 7}),
                       {"label 10 at index 2 is out of range (expected 0..9)"});
  expect_broken_labels(idx_labels(kCount, {3, 0, 1, 1, 1, 255}), {"label 255 at index 5"});
}

TEST(IdxBroken, CountMismatch) {
  TempDir dir;
  write_file(dir / "img", good_images());
  write_file(dir / "lbl", idx_labels(kCount - 1, {1, 2, 3, 4, 5}));
  expect_error(
      [&] { (void)load_idx(dir / "img", dir / "lbl", "x"); },
      {(dir / "img").string() + ": image and label counts differ: 6 images here but 5 labels in " +
       (dir / "lbl").string()});
}

TEST(IdxBroken, MissingFiles) {
  TempDir dir;
  write_file(dir / "img", good_images());
  const std::string missing = (dir / "nope").string();
  expect_error([&] { (void)load_idx(dir / "img", missing, "x"); }, {missing + ": no such file"});
  expect_error([&] { (void)read_file_bytes(dir.path()); },
               {dir.path().string() + ": is a directory"});
  expect_error([&] { (void)load_mnist(dir / "absent", Split::train); },
               {(dir / "absent").string() + ": no such directory"});
  expect_error([&] { (void)load_mnist(dir.path(), Split::test); },
               {dir.path().string() + ": no t10k-images-idx3-ubyte[.gz]"});
  write_file(dir / "t10k-images-idx3-ubyte", good_images());
  expect_error([&] { (void)load_mnist(dir.path(), Split::test); },
               {dir.path().string() + ": no t10k-labels-idx1-ubyte[.gz]"});
}

TEST(IdxBroken, CorruptGzipStream) {
  TempDir dir;
  write_gz(dir / "full.gz", good_images());
  Bytes gz = read_raw(dir / "full.gz");
  ASSERT_GT(gz.size(), 30u);
  const Bytes whole = gz;
  gz.resize(gz.size() - 12);  // cut into the deflate data / trailer
  write_file(dir / "cut.gz", gz);
  const std::string cut = (dir / "cut.gz").string();
  expect_error([&] { (void)read_file_bytes(cut); }, {cut + ": truncated gzip stream"});
  Bytes bad = whole;
  bad[bad.size() - 5] ^= 0xFF;  // damage the length in the trailer
  write_file(dir / "bad.gz", bad);
  const std::string badp = (dir / "bad.gz").string();
  expect_error([&] { (void)read_file_bytes(badp); }, {badp + ": corrupt gzip data"});
}

TEST(IdxBroken, ContentLimit) {
  TempDir dir;
  write_gz(dir / "big.gz", Bytes(1000, 0));
  const std::string p = (dir / "big.gz").string();
  expect_error([&] { (void)read_file_bytes(p, 999); },
               {p + ": more than 999 bytes of content after decompression"});
  EXPECT_EQ(read_file_bytes(p, 1000).size(), 1000u);
}

TEST(IdxBroken, GzipBombIsStoppedAtTheAnnouncedSize) {
  // A header for one 2x2 image, then 8 MiB of zeros: 8 KiB gzipped. The loader reads no
  // more than the announced 20 bytes plus 1 MiB before it refuses the file.
  TempDir dir;
  Bytes bomb = idx_images(1, 2, 2, pixels(1, 4));
  bomb.resize(bomb.size() + (std::size_t{8} << 20), 0);
  write_gz(dir / "img.gz", bomb);
  ASSERT_LT(std::filesystem::file_size(dir / "img.gz"), std::uintmax_t{1} << 16);
  write_file(dir / "lbl", idx_labels(1, {0}));
  const std::string p = (dir / "img.gz").string();
  expect_error([&] { (void)load_idx(p, dir / "lbl", "x"); },
               {p + ": size mismatch: the header (count, rows, cols = 1x2x2) announces 20 bytes",
                "decompressed content has more than 1048576 bytes beyond that"});
}

TEST(IdxBroken, HugeSparseFileIsNotReadWhole) {
  // 64 GiB on disk (sparse) behind a header for 10 labels: refused after 1 MiB.
  TempDir dir;
  write_file(dir / "img", idx_images(1, 2, 2, pixels(1, 4)));
  write_file(dir / "lbl", idx_labels(10, Bytes(10, 1)));
  std::filesystem::resize_file(dir / "lbl", std::uintmax_t{1} << 36);
  const std::string p = (dir / "lbl").string();
  expect_error([&] { (void)load_idx(dir / "img", p, "x"); },
               {p + ": size mismatch: the header (count = 10) announces 18 bytes",
                "the file has more than 1048576 bytes beyond that"});
}

TEST(IdxBroken, LabelRangeFollowsTheClassCount) {
  // Labels are checked against the data set's classes, not only against 10.
  TempDir dir;
  write_file(dir / "img", good_images());
  write_file(dir / "lbl", good_labels());
  const std::string p = (dir / "lbl").string();
  expect_error([&] { (void)load_idx(dir / "img", p, "x", 5); },
               {p + ": label 9 at index 2 is out of range (expected 0..4)"});
  EXPECT_EQ(load_idx(dir / "img", p, "x", 10).size(), kCount);
}

}  // namespace
}  // namespace archetype::runtime::test
