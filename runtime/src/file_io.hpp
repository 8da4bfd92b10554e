// Whole-file reads that check the size before they allocate, and atomic replacement of the
// files the trainer writes (checkpoints, parameter files, metrics): the bytes go to PATH.tmp,
// which is flushed to disk (fsync) and then renamed over PATH (and the directory flushed),
// so a crash at any instant leaves the old file or the new one, never a part of one. A failed write
// (a full disk, a file-size limit) removes PATH.tmp and leaves PATH untouched.
//
// Both return an empty string on success, else a sentence starting with the file's path,
// which the caller throws as its own error type.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace archetype::runtime::detail {

/// Reads all of `path` into `out` unless it is missing, a directory, unreadable or larger
/// than `max_bytes` (then nothing is allocated): "PATH: 123 bytes, larger than `what` (100
/// bytes)".
[[nodiscard]] std::string read_file(const std::filesystem::path& path, std::uint64_t max_bytes,
                                    const std::string& what, std::vector<unsigned char>& out);

/// Replaces `path` by `bytes` atomically (see above); creates the parent directory.
[[nodiscard]] std::string replace_file(const std::filesystem::path& path,
                                       std::span<const unsigned char> bytes);

/// Printable ASCII unchanged, every other byte as \xNN, and at most `max_chars` of the text
/// (then "..." and its length): text from a file, safe to print in a message.
[[nodiscard]] std::string printable(std::string_view text, std::size_t max_chars = 80);

}  // namespace archetype::runtime::detail
