// Checkpoints: parsed from memory and loaded from a file. Random bytes rarely carry a
// valid CRC-32, which would stop every input at the checksum: with an odd mode byte the
// target writes the right CRC into the last 4 bytes first, so the fields behind it are
// fuzzed too.
#include "common.hpp"

#include <archetype/runtime/checkpoint.hpp>

#include <zlib.h>

#include <cstring>
#include <vector>

using namespace archetype;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::vector<unsigned char> bytes(data + 1, data + size);
  if ((data[0] & 1) && bytes.size() >= 4) {
    const auto crc = std::uint32_t(crc32_z(0, bytes.data(), bytes.size() - 4));
    std::memcpy(bytes.data() + bytes.size() - 4, &crc, 4);
  }
  const bool from_file = data[0] & 2;
  std::string origin = "fuzz.ckpt";
  try {
    runtime::Checkpoint c;
    if (from_file) {
      const auto path = fuzz::scratch_file("checkpoint.bin", bytes);
      origin = path.string();
      c = runtime::load_checkpoint(path);
    } else {
      c = runtime::parse_checkpoint(bytes, origin);
    }
    const std::size_t floats = c.params.size() + c.buffers.size() + c.optimizer_state.size();
    if (64 + 4 * floats + 4 != bytes.size() || c.epochs_done < 0 || c.steps_done < 0) std::abort();
  } catch (const runtime::CheckpointError& e) {
    fuzz::expect_named(e.what(), origin);
  }
  return 0;
}
