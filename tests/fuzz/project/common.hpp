// What every fuzz target shares: the input's first byte picks a mode, the rest is the file;
// a reader may refuse the file only with its own error type, whose message starts with the
// file's name (anything else escaping, a crash, a leak or undefined behaviour is a finding).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>

namespace archetype::fuzz {

inline std::span<const unsigned char> body(const std::uint8_t* data, std::size_t size) {
  return size == 0 ? std::span<const unsigned char>{}
                   : std::span<const unsigned char>(data + 1, size - 1);
}

/// Aborts (a finding) unless `message` starts with `origin`: every error names its file.
inline void expect_named(const std::string& message, const std::string& origin) {
  if (message.rfind(origin, 0) != 0) {
    std::fprintf(stderr, "error message does not start with '%s': %s\n", origin.c_str(),
                 message.c_str());
    std::abort();
  }
}

/// A file in this process's own directory under /tmp holding `bytes`, for the loaders that
/// take a path (they check the file's size before they read it).
inline std::filesystem::path scratch_file(const char* name, std::span<const unsigned char> bytes) {
  // Removed when the fuzzer exits (libFuzzer ends with exit(), which runs this destructor).
  struct Scratch {
    std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("archetype-fuzz-" + std::to_string(::getpid()));
    Scratch() { std::filesystem::create_directories(dir); }
    ~Scratch() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  };
  static const Scratch scratch;
  const auto path = scratch.dir / name;
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  return path;
}

}  // namespace archetype::fuzz
