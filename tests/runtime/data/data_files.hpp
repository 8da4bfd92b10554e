// Test helpers: a per-test temporary directory and writers for IDX and CIFAR files.
#pragma once

#include <archetype/runtime/dataset.hpp>

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

namespace archetype::runtime::test {

using Bytes = std::vector<unsigned char>;

// A fresh directory for the running test, removed at the end.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = "archetype-data-";
    if (info != nullptr) name += std::string(info->test_suite_name()) + "-" + info->name() + "-";
    name += std::to_string(::getpid());
    path_ = std::filesystem::temp_directory_path() / name;
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::filesystem::path operator/(const std::string& name) const {
    return path_ / name;
  }

 private:
  std::filesystem::path path_;
};

inline void put_be32(Bytes& out, std::uint32_t v) {
  out.push_back(static_cast<unsigned char>(v >> 24));
  out.push_back(static_cast<unsigned char>(v >> 16));
  out.push_back(static_cast<unsigned char>(v >> 8));
  out.push_back(static_cast<unsigned char>(v));
}

// An IDX images file: header with the given magic and sizes, then the pixels as given.
inline Bytes idx_images(std::uint32_t count, std::uint32_t rows, std::uint32_t cols,
                        const Bytes& pixels, std::uint32_t magic = 0x00000803) {
  Bytes out;
  put_be32(out, magic);
  put_be32(out, count);
  put_be32(out, rows);
  put_be32(out, cols);
  out.insert(out.end(), pixels.begin(), pixels.end());
  return out;
}

inline Bytes idx_labels(std::uint32_t count, const Bytes& labels,
                        std::uint32_t magic = 0x00000801) {
  Bytes out;
  put_be32(out, magic);
  put_be32(out, count);
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}

// Pixel j of image i in the generated test sets.
inline unsigned char pixel_value(std::size_t i, std::size_t j) {
  return static_cast<unsigned char>((i * 37 + j * 11 + 5) % 256);
}

inline Bytes pixels(std::size_t count, std::size_t per_image, std::size_t first = 0) {
  Bytes out;
  for (std::size_t i = 0; i < count; ++i) {
    for (std::size_t j = 0; j < per_image; ++j) out.push_back(pixel_value(first + i, j));
  }
  return out;
}

inline void write_file(const std::filesystem::path& path, const Bytes& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw std::runtime_error("cannot write " + path.string());
}

inline void write_gz(const std::filesystem::path& path, const Bytes& bytes) {
  gzFile f = gzopen(path.string().c_str(), "wb9");
  if (f == nullptr) throw std::runtime_error("cannot gzopen " + path.string());
  const int wrote =
      bytes.empty() ? 0 : gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  const int closed = gzclose(f);
  if (wrote != static_cast<int>(bytes.size()) || closed != Z_OK)
    throw std::runtime_error("cannot gzwrite " + path.string());
}

inline Bytes read_raw(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// Runs f, expects a DataError whose message contains every one of `parts`.
inline void expect_error(const std::function<void()>& f, std::initializer_list<std::string> parts) {
  try {
    f();
  } catch (const DataError& e) {
    const std::string what = e.what();
    for (const std::string& part : parts) {
      EXPECT_NE(what.find(part), std::string::npos) << "message: " << what << "\nlacks: " << part;
    }
    return;
  }
  ADD_FAILURE() << "no DataError thrown";
}

}  // namespace archetype::runtime::test
