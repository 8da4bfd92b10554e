#pragma once
/// \file
/// \brief Training checkpoints: written atomically (temporary file, fsync, rename), read
/// back only after every check passes (magic, version, the architecture's fingerprint,
/// sizes, CRC-32), so that a crash or a bad file never loses or corrupts a run.
///
/// Format (little-endian), version 1:
///   "ARCHCKPT" | u32 version | u64 fingerprint | i32 epochs_done | i64 steps_done |
///   u64 seed | u64 n_params | u64 n_buffers | u64 n_state |
///   f32 params[n_params] | f32 buffers[n_buffers] | f32 optimizer_state[n_state] |
///   u32 crc32 of every byte before it.

#include <archetype/codegen/program.hpp>

#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace archetype::runtime {

/// A checkpoint that cannot be read: the message names the file and the problem.
struct CheckpointError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Checkpoint {
  std::uint64_t fingerprint = 0;
  std::int32_t epochs_done = 0;
  std::int64_t steps_done = 0;
  std::uint64_t seed = 0;
  std::vector<float> params;
  std::vector<float> buffers;
  std::vector<float> optimizer_state;
};

/// A hash of what the parameters mean: every op's kind, shapes, geometry and sizes. Two
/// programs with the same fingerprint accept each other's parameters.
std::uint64_t fingerprint(const codegen::ProgramView& program);

/// Writes `checkpoint` to `path` atomically (via `path` + ".tmp").
void save_checkpoint(const std::filesystem::path& path, const Checkpoint& checkpoint);

/// Reads and validates a checkpoint; throws CheckpointError naming the file and the problem.
/// The 64-byte header is read and checked against the file's size first, so a corrupt or
/// hostile header never makes it allocate more than the file holds.
Checkpoint load_checkpoint(const std::filesystem::path& path);

/// The same checks on a checkpoint's bytes; `origin` (the path) starts every message, which
/// names the field or offset at fault: "PATH: n_params (offset 40) says 2^40 values ...".
Checkpoint parse_checkpoint(std::span<const unsigned char> bytes, const std::string& origin);

}  // namespace archetype::runtime
