// CIFAR-10 / CIFAR-100 binary files: exact round trips and broken files.
#include <archetype/runtime/cifar.hpp>

#include "data_files.hpp"

#include <gtest/gtest.h>

#include <string>

namespace archetype::runtime::test {
namespace {

constexpr std::size_t kImage = 3072;

// Records numbered from `first`: label bytes then pixels(first + i).
Bytes cifar_records(std::size_t n, std::size_t first, const std::vector<Bytes>& labels) {
  Bytes out;
  for (std::size_t i = 0; i < n; ++i) {
    out.insert(out.end(), labels[i].begin(), labels[i].end());
    const Bytes px = pixels(1, kImage, first + i);
    out.insert(out.end(), px.begin(), px.end());
  }
  return out;
}

void expect_pixels(const Dataset& d, std::size_t i, std::size_t generated_as) {
  for (std::size_t j = 0; j < kImage; ++j) {
    ASSERT_EQ(d.image(i)[j], static_cast<float>(pixel_value(generated_as, j)) * (1.0f / 255.0f))
        << i << "," << j;
  }
}

// Five training batches of 2, 3, 1, 2, 2 records and a test batch of 3, labels (i * 3) % 10.
void write_cifar10(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  const std::size_t sizes[] = {2, 3, 1, 2, 2};
  std::size_t first = 0;
  for (int b = 0; b < 5; ++b) {
    std::vector<Bytes> labels;
    for (std::size_t i = 0; i < sizes[b]; ++i)
      labels.push_back({static_cast<unsigned char>(((first + i) * 3) % 10)});
    write_file(dir / ("data_batch_" + std::to_string(b + 1) + ".bin"),
               cifar_records(sizes[b], first, labels));
    first += sizes[b];
  }
  write_file(dir / "test_batch.bin", cifar_records(3, 100, {{9}, {0}, {5}}));
}

TEST(Cifar10, RoundTrip) {
  TempDir dir;
  write_cifar10(dir.path());
  const Dataset train = load_cifar10(dir.path(), Split::train);
  EXPECT_EQ(train.name, "cifar10/train");
  EXPECT_EQ(train.dims, (ImageDims{3, 32, 32}));
  EXPECT_EQ(train.classes, 10);
  ASSERT_EQ(train.size(), 10u);
  for (std::size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(train.labels[i], static_cast<int>((i * 3) % 10));
    expect_pixels(train, i, i);
  }
  const Dataset test = load_cifar10(dir.path(), Split::test);
  EXPECT_EQ(test.name, "cifar10/test");
  ASSERT_EQ(test.size(), 3u);
  EXPECT_EQ(test.labels, (std::vector<int>{9, 0, 5}));
  for (std::size_t i = 0; i < 3; ++i) expect_pixels(test, i, 100 + i);
}

TEST(Cifar10, FindsTheArchiveSubdirectory) {
  TempDir dir;
  write_cifar10(dir / "cifar-10-batches-bin");
  EXPECT_EQ(load_cifar10(dir.path(), Split::test).size(), 3u);
  EXPECT_EQ(load_cifar10(dir / "cifar-10-batches-bin", Split::train).size(), 10u);
}

TEST(Cifar100, RoundTripFineAndCoarse) {
  TempDir dir;
  write_file(dir / "train.bin", cifar_records(4, 0, {{19, 99}, {0, 0}, {7, 42}, {3, 15}}));
  write_file(dir / "test.bin", cifar_records(2, 50, {{1, 2}, {3, 4}}));
  const Dataset fine = load_cifar100(dir.path(), Split::train);
  EXPECT_EQ(fine.name, "cifar100/train");
  EXPECT_EQ(fine.classes, 100);
  EXPECT_EQ(fine.labels, (std::vector<int>{99, 0, 42, 15}));
  for (std::size_t i = 0; i < 4; ++i) expect_pixels(fine, i, i);
  const Dataset coarse = load_cifar100(dir.path(), Split::train, Cifar100Labels::coarse);
  EXPECT_EQ(coarse.classes, 20);
  EXPECT_EQ(coarse.labels, (std::vector<int>{19, 0, 7, 3}));
  EXPECT_EQ(coarse.images, fine.images);
  const Dataset test = load_cifar100(dir.path(), Split::test);
  EXPECT_EQ(test.labels, (std::vector<int>{2, 4}));
  expect_pixels(test, 1, 51);
}

TEST(CifarBroken, SizeNotAMultipleOfTheRecord) {
  TempDir dir;
  write_cifar10(dir.path());
  Bytes cut = cifar_records(2, 0, {{1}, {2}});
  cut.resize(cut.size() - 100);
  write_file(dir / "data_batch_4.bin", cut);
  const std::string p = (dir / "data_batch_4.bin").string();
  expect_error([&] { (void)load_cifar10(dir.path(), Split::train); },
               {p + ": size 6046 bytes is not a multiple of the 3073-byte CIFAR-10 record",
                "1 records and 2973 bytes left over"});
  // a CIFAR-100 file read as CIFAR-10
  write_file(dir / "test_batch.bin", cifar_records(2, 0, {{1, 2}, {3, 4}}));
  expect_error(
      [&] { (void)load_cifar10(dir.path(), Split::test); },
      {(dir / "test_batch.bin").string() + ": size 6148 bytes is not a multiple of the 3073-byte"});
  write_file(dir / "test.bin", cifar_records(3, 0, {{1}, {2}, {3}}));
  expect_error([&] { (void)load_cifar100(dir.path(), Split::test); },
               {(dir / "test.bin").string() +
                ": size 9219 bytes is not a multiple of the 3074-byte CIFAR-100 record"});
}

TEST(CifarBroken, LabelOutOfRange) {
  TempDir dir;
  write_cifar10(dir.path());
  write_file(dir / "test_batch.bin", cifar_records(3, 0, {{1}, {10}, {3}}));
  expect_error([&] { (void)load_cifar10(dir.path(), Split::test); },
               {(dir / "test_batch.bin").string() +
                ": label 10 of record 1 (byte offset 3073) is out of range (expected 0..9)"});
  write_file(dir / "test.bin", cifar_records(2, 0, {{1, 2}, {3, 100}}));
  expect_error([&] { (void)load_cifar100(dir.path(), Split::test); },
               {(dir / "test.bin").string() + ": fine label 100 of record 1", "(expected 0..99)"});
  write_file(dir / "test.bin", cifar_records(2, 0, {{20, 2}, {3, 4}}));
  expect_error([&] { (void)load_cifar100(dir.path(), Split::test); },
               {(dir / "test.bin").string() + ": coarse label 20 of record 0", "(expected 0..19)"});
}

TEST(CifarBroken, MissingAndEmptyFiles) {
  TempDir dir;
  write_cifar10(dir.path());
  std::filesystem::remove(dir / "data_batch_3.bin");
  expect_error([&] { (void)load_cifar10(dir.path(), Split::train); },
               {(dir / "data_batch_3.bin").string() + ": no such file"});
  write_file(dir / "data_batch_3.bin", {});
  expect_error([&] { (void)load_cifar10(dir.path(), Split::train); },
               {(dir / "data_batch_3.bin").string() + ": empty file"});
  expect_error([&] { (void)load_cifar100(dir.path(), Split::train); },
               {(dir / "train.bin").string() + ": no such file"});
  expect_error([&] { (void)load_cifar10(dir / "absent", Split::train); },
               {(dir / "absent").string() + ": no such directory"});
}

TEST(CifarBroken, HugeFileIsRefusedBeforeItIsRead) {
  // A sparse file one byte over the limit: refused by its size, not read into memory.
  TempDir dir;
  write_cifar10(dir.path());
  std::filesystem::resize_file(dir / "test_batch.bin", cifar_largest_file_bytes + 1);
  const std::string p = (dir / "test_batch.bin").string();
  expect_error([&] { (void)load_cifar10(dir.path(), Split::test); },
               {p + ": more than 1073741824 bytes of content"});
}

}  // namespace
}  // namespace archetype::runtime::test
