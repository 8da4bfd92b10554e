// The registry's mobile family: MobileNetV2 and EfficientNet-B0 … B3 (B4 … B7 in
// registry_efficientnet.cpp, so that no translation unit is slow).
#include "registry_detail.hpp"

#include <archetype/architectures/efficientnet.hpp>
#include <archetype/architectures/mobilenet_v2.hpp>

namespace archetype::registry_detail {
namespace {
using namespace archetype::architectures;

constexpr Paper sandler2018{"Sandler et al. 2018, MobileNetV2: inverted residuals and linear bottlenecks",
                            "Mark Sandler, Andrew Howard, Menglong Zhu, Andrey Zhmoginov, Liang-Chieh Chen",
                            "CVPR 2018", "https://arxiv.org/abs/1801.04381"};
constexpr Paper tan2019{"Tan & Le 2019, EfficientNet: rethinking model scaling for convolutional neural networks",
                        "Mingxing Tan, Quoc V. Le", "ICML 2019", "https://arxiv.org/abs/1905.11946"};

constexpr ModelEntry entries[] = {
    make_entry<MobileNetV2>("mobilenet_v2", "MobileNetV2", sandler2018, 2018),
    make_entry<EfficientNetB0>("efficientnet_b0", "EfficientNet-B0", tan2019, 2019),
    make_entry<EfficientNetB1>("efficientnet_b1", "EfficientNet-B1", tan2019, 2019),
    make_entry<EfficientNetB2>("efficientnet_b2", "EfficientNet-B2", tan2019, 2019),
    make_entry<EfficientNetB3>("efficientnet_b3", "EfficientNet-B3", tan2019, 2019),
};
}  // namespace

std::span<const ModelEntry> mobile_models() { return entries; }

}  // namespace archetype::registry_detail
