// The metrics JSON that --resume reads.
#include "common.hpp"

#include <archetype/runtime/metrics.hpp>

#include <stdexcept>
#include <string_view>

using namespace archetype;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string origin = "fuzz.json";
  try {
    const auto rows =
        runtime::parse_metrics(std::string_view(reinterpret_cast<const char*>(data), size), origin);
    for (std::size_t i = 1; i < rows.size(); ++i) {
      if (rows[i].epoch <= rows[i - 1].epoch) std::abort();
    }
  } catch (const std::runtime_error& e) {
    fuzz::expect_named(e.what(), origin);
  }
  return 0;
}
