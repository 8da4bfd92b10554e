// The registry's CIFAR-10 family: ImageNet-style ResNets at 32x32, the 6n+2 CIFAR ResNets
// of He et al. Sec. 4.2 and their plain counterparts.
#include "registry_detail.hpp"

#include <archetype/architectures/cifar_resnet.hpp>
#include <archetype/architectures/resnet.hpp>

namespace archetype::registry_detail {
namespace {
using namespace archetype::architectures;

constexpr ModelEntry entries[] = {
    make_entry<ResNet18Cifar>("resnet18_cifar", "ResNet-18 (CIFAR-10)", he2016, 2016),
    make_entry<ResNet34Cifar>("resnet34_cifar", "ResNet-34 (CIFAR-10)", he2016, 2016),
    make_entry<ResNet50Cifar>("resnet50_cifar", "ResNet-50 (CIFAR-10)", he2016, 2016),
    make_entry<PlainNet18Cifar>("plainnet18_cifar", "Plain-18 (CIFAR-10)", he2016, 2016),
    make_entry<CifarResNet<20>>("resnet20", "ResNet-20", he2016, 2016),
    make_entry<CifarResNet<32>>("resnet32", "ResNet-32", he2016, 2016),
    make_entry<CifarResNet<44>>("resnet44", "ResNet-44", he2016, 2016),
    make_entry<CifarResNet<56>>("resnet56", "ResNet-56", he2016, 2016),
    make_entry<CifarResNet<110>>("resnet110", "ResNet-110", he2016, 2016),
    make_entry<PlainCifarNet<20>>("plain20", "Plain-20", he2016, 2016),
    make_entry<PlainCifarNet<32>>("plain32", "Plain-32", he2016, 2016),
    make_entry<PlainCifarNet<44>>("plain44", "Plain-44", he2016, 2016),
    make_entry<PlainCifarNet<56>>("plain56", "Plain-56", he2016, 2016),
    make_entry<PlainCifarNet<110>>("plain110", "Plain-110", he2016, 2016),
};
}  // namespace

std::span<const ModelEntry> cifar_models() { return entries; }

}  // namespace archetype::registry_detail
