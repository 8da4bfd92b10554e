// CIFAR-10 and CIFAR-100 binary records: the mode byte picks CIFAR-10, CIFAR-100 fine or
// coarse labels, and whether the records are appended to a set that holds some already.
#include "common.hpp"

#include <archetype/runtime/cifar.hpp>

using namespace archetype;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto bytes = fuzz::body(data, size);
  const std::string origin = "fuzz.bin";
  const int mode = data[0] % 3;
  runtime::Dataset d;
  d.dims = {3, 32, 32};
  d.classes = mode == 0 ? 10 : (mode == 1 ? 100 : 20);
  if (data[0] & 0x80) {  // one record there already
    d.labels = {1};
    d.images.assign(runtime::cifar_image_bytes, 0.5f);
  }
  const std::size_t before = d.size();
  try {
    if (mode == 0) {
      runtime::append_cifar10_records(bytes, origin, d);
    } else {
      runtime::append_cifar100_records(
          bytes, origin, d,
          mode == 1 ? runtime::Cifar100Labels::fine : runtime::Cifar100Labels::coarse);
    }
    if (d.images.size() != d.size() * runtime::cifar_image_bytes) std::abort();
    for (int l : d.labels) {
      if (l < 0 || l >= d.classes) std::abort();
    }
  } catch (const runtime::DataError& e) {
    fuzz::expect_named(e.what(), origin);
    if (d.size() != before) std::abort();  // a refused file adds nothing
  }
  return 0;
}
