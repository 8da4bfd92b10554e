// IDX images and labels: parsed from memory (mode 0, 1) and loaded from a file, plain or
// gzipped, through the bounded reader (mode 2: the input as the images file, mode 3: as the
// labels file, beside a valid partner).
#include "common.hpp"

#include <archetype/runtime/idx.hpp>

using namespace archetype;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto bytes = fuzz::body(data, size);
  const std::string origin = "fuzz.idx";
  try {
    switch (data[0] % 4) {
      case 0: {
        const auto images = runtime::parse_idx_images(bytes, origin);
        if (images.pixels.size() != std::size_t(images.count) * images.rows * images.cols)
          std::abort();
        break;
      }
      case 1: {
        const auto labels = runtime::parse_idx_labels(bytes, origin, 1 + data[0] / 4 % 16);
        for (unsigned char l : labels.labels) {
          if (l >= 1 + data[0] / 4 % 16) std::abort();
        }
        break;
      }
      default: {
        // One 1x2 image labelled 0, the partner of the fuzzed file.
        static const unsigned char image[] = {0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 7, 9};
        static const unsigned char label[] = {0, 0, 8, 1, 0, 0, 0, 1, 0};
        const bool as_images = data[0] % 4 == 2;
        const auto fuzzed = fuzz::scratch_file("fuzzed", bytes);
        const auto partner =
            as_images ? fuzz::scratch_file("labels", label) : fuzz::scratch_file("images", image);
        const auto d = as_images ? runtime::load_idx(fuzzed, partner, "x")
                                 : runtime::load_idx(partner, fuzzed, "x");
        if (d.images.size() != d.size() * d.dims.size()) std::abort();
        break;
      }
    }
  } catch (const runtime::DataError& e) {
    const std::string m = e.what();
    // The file-based modes name the scratch file or its partner.
    if (data[0] % 4 < 2)
      fuzz::expect_named(m, origin);
    else if (m.find("archetype-fuzz-") == std::string::npos)
      std::abort();
  }
  return 0;
}
