// Parameter files, checked against a small net: parsed from memory, and loaded from a file
// (mode byte odd) through the size check.
#include "common.hpp"
#include "tiny_net.hpp"

#include <archetype/runtime/parameters_file.hpp>

#include <vector>

using namespace archetype;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto bytes = fuzz::body(data, size);
  static const codegen::ProgramView program = fuzz::tiny_program();
  std::vector<float> params(std::size_t(program.params), -1.0f),
      buffers(std::size_t(program.buffers), -1.0f);
  std::string origin = "fuzz.params";
  try {
    if (data[0] & 1) {
      const auto path = fuzz::scratch_file("tiny.params", bytes);
      origin = path.string();
      (void)runtime::load_parameters(path, program, params, buffers);
    } else {
      (void)runtime::parse_parameters(bytes, origin, program, params, buffers);
    }
  } catch (const runtime::ParameterFileError& e) {
    fuzz::expect_named(e.what(), origin);
  }
  return 0;
}
