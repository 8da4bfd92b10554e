// The registry's EfficientNet-B6, alone in its translation unit so that none is slow.
#include "registry_detail.hpp"

#include <archetype/architectures/efficientnet.hpp>

namespace archetype::registry_detail {
namespace {
using namespace archetype::architectures;

constexpr Paper tan2019{"Tan & Le 2019, EfficientNet: rethinking model scaling for convolutional neural networks",
                        "Mingxing Tan, Quoc V. Le", "ICML 2019", "https://arxiv.org/abs/1905.11946"};

constexpr ModelEntry entries[] = {
    make_entry<EfficientNetB6>("efficientnet_b6", "EfficientNet-B6", tan2019, 2019),
};
}  // namespace

std::span<const ModelEntry> efficientnet_b6_models() { return entries; }

}  // namespace archetype::registry_detail
