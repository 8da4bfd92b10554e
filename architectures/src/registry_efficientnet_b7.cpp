// The registry's EfficientNet-B7, alone in its translation unit: its Program (about 1,000
// ops) needs more than g++'s default constexpr operation budget (architectures/CMakeLists.txt
// raises it for this file only) and most of the compile time of the family.
#include "registry_detail.hpp"

#include <archetype/architectures/efficientnet.hpp>

namespace archetype::registry_detail {
namespace {
using namespace archetype::architectures;

constexpr Paper tan2019{"Tan & Le 2019, EfficientNet: rethinking model scaling for convolutional neural networks",
                        "Mingxing Tan, Quoc V. Le", "ICML 2019", "https://arxiv.org/abs/1905.11946"};

constexpr ModelEntry entries[] = {
    make_entry<EfficientNetB7>("efficientnet_b7", "EfficientNet-B7", tan2019, 2019),
};
}  // namespace

std::span<const ModelEntry> efficientnet_b7_models() { return entries; }

}  // namespace archetype::registry_detail
