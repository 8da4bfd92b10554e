// The registry's ResNet family at ImageNet size (torchvision's resnet18 … resnet152).
#include "registry_detail.hpp"

#include <archetype/architectures/resnet.hpp>

namespace archetype::registry_detail {
namespace {
using namespace archetype::architectures;

constexpr ModelEntry entries[] = {
    make_entry<ResNet18>("resnet18", "ResNet-18", he2016, 2016),
    make_entry<ResNet34>("resnet34", "ResNet-34", he2016, 2016),
    make_entry<ResNet50>("resnet50", "ResNet-50", he2016, 2016),
    make_entry<ResNet101>("resnet101", "ResNet-101", he2016, 2016),
    make_entry<ResNet152>("resnet152", "ResNet-152", he2016, 2016),
};
}  // namespace

std::span<const ModelEntry> resnet_models() { return entries; }

}  // namespace archetype::registry_detail
