// The registry's large EfficientNets, B4 and B5 (B0 … B3 are in registry_mobile.cpp, B6
// and B7 in registry_efficientnet_b6.cpp and _b7.cpp), so that no translation unit is slow.
#include "registry_detail.hpp"

#include <archetype/architectures/efficientnet.hpp>

namespace archetype::registry_detail {
namespace {
using namespace archetype::architectures;

constexpr Paper tan2019{"Tan & Le 2019, EfficientNet: rethinking model scaling for convolutional neural networks",
                        "Mingxing Tan, Quoc V. Le", "ICML 2019", "https://arxiv.org/abs/1905.11946"};

constexpr ModelEntry entries[] = {
    make_entry<EfficientNetB4>("efficientnet_b4", "EfficientNet-B4", tan2019, 2019),
    make_entry<EfficientNetB5>("efficientnet_b5", "EfficientNet-B5", tan2019, 2019),
};
}  // namespace

std::span<const ModelEntry> efficientnet_large_models() { return entries; }

}  // namespace archetype::registry_detail
