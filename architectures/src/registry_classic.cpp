// The registry's classic family: LeNet-5, AlexNet, VGG (ImageNet and CIFAR).
#include "registry_detail.hpp"

#include <archetype/architectures/alexnet.hpp>
#include <archetype/architectures/lenet.hpp>
#include <archetype/architectures/vgg.hpp>

namespace archetype::registry_detail {
namespace {
using namespace archetype::architectures;

constexpr ModelEntry entries[] = {
    make_entry<LeNet5>("lenet5", "LeNet-5", lecun1998, 1998),
    make_entry<AlexNet>("alexnet", "AlexNet", krizhevsky2012, 2012),
    make_entry<VGG11>("vgg11", "VGG-11", simonyan2015, 2015),
    make_entry<VGG13>("vgg13", "VGG-13", simonyan2015, 2015),
    make_entry<VGG16>("vgg16", "VGG-16", simonyan2015, 2015),
    make_entry<VGG19>("vgg19", "VGG-19", simonyan2015, 2015),
    make_entry<VGG11BN>("vgg11_bn", "VGG-11 (BN)", simonyan2015, 2015),
    make_entry<VGG13BN>("vgg13_bn", "VGG-13 (BN)", simonyan2015, 2015),
    make_entry<VGG16BN>("vgg16_bn", "VGG-16 (BN)", simonyan2015, 2015),
    make_entry<VGG19BN>("vgg19_bn", "VGG-19 (BN)", simonyan2015, 2015),
    make_entry<VGG16Cifar>("vgg16_cifar", "VGG-16 (BN, CIFAR-10)", simonyan2015, 2015),
};
}  // namespace

std::span<const ModelEntry> classic_models() { return entries; }

}  // namespace archetype::registry_detail
