// The registry's ResNet variants: pre-activation ResNets (CIFAR-10), SE-ResNet-50,
// ResNeXt and Wide ResNet (torchvision).
#include "registry_detail.hpp"

#include <archetype/architectures/preact_resnet.hpp>
#include <archetype/architectures/resnext.hpp>
#include <archetype/architectures/se_resnet.hpp>
#include <archetype/architectures/wide_resnet.hpp>

namespace archetype::registry_detail {
namespace {
using namespace archetype::architectures;

constexpr Paper he2016b{"He et al. 2016, Identity mappings in deep residual networks",
                        "Kaiming He, Xiangyu Zhang, Shaoqing Ren, Jian Sun", "ECCV 2016",
                        "https://arxiv.org/abs/1603.05027"};
constexpr Paper hu2018{"Hu et al. 2018, Squeeze-and-excitation networks", "Jie Hu, Li Shen, Gang Sun",
                       "CVPR 2018", "https://arxiv.org/abs/1709.01507"};
constexpr Paper xie2017{"Xie et al. 2017, Aggregated residual transformations for deep neural networks",
                        "Saining Xie, Ross Girshick, Piotr Dollár, Zhuowen Tu, Kaiming He", "CVPR 2017",
                        "https://arxiv.org/abs/1611.05431"};
constexpr Paper zagoruyko2016{"Zagoruyko & Komodakis 2016, Wide residual networks",
                              "Sergey Zagoruyko, Nikos Komodakis", "BMVC 2016",
                              "https://arxiv.org/abs/1605.07146"};

constexpr ModelEntry entries[] = {
    make_entry<PreActResNet18Cifar>("preact_resnet18_cifar", "PreAct ResNet-18 (CIFAR-10)", he2016b, 2016),
    make_entry<PreActResNet164>("preact_resnet164", "PreAct ResNet-164 (CIFAR-10)", he2016b, 2016),
    make_entry<PreActResNet1001>("preact_resnet1001", "PreAct ResNet-1001 (CIFAR-10)", he2016b, 2016),
    make_entry<SEResNet50>("se_resnet50", "SE-ResNet-50", hu2018, 2018),
    make_entry<ResNeXt50_32x4d>("resnext50_32x4d", "ResNeXt-50 (32x4d)", xie2017, 2017),
    make_entry<ResNeXt101_32x8d>("resnext101_32x8d", "ResNeXt-101 (32x8d)", xie2017, 2017),
    make_entry<WideResNet50_2>("wide_resnet50_2", "Wide ResNet-50-2", zagoruyko2016, 2016),
};
}  // namespace

std::span<const ModelEntry> resnet_variant_models() { return entries; }

}  // namespace archetype::registry_detail
