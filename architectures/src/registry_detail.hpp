#pragma once
/// \file
/// \brief Private to the registry: `make_entry<N>()` (the public `model_entry<N>()`) and
/// the per-family tables the registry concatenates.
/// Each family lives in its own translation unit so that none is slow to compile.

#include <archetype/architectures/model_entry.hpp>

#include <span>
#include <string_view>

namespace archetype::registry_detail {

// The zoo's entries are made by the same public model_entry<N>() as a user's model.
using archetype::fashion_mnist_shape;
using archetype::Paper;

template <Network N>
consteval ModelEntry make_entry(std::string_view name, std::string_view title,
                                const Paper& paper, int year) {
  return model_entry<N>(name, title, paper, year);
}

// Paper references shared by the families.
inline constexpr Paper lecun1998{
    "LeCun et al. 1998, Gradient-based learning applied to document recognition",
    "Yann LeCun, Léon Bottou, Yoshua Bengio, Patrick Haffner", "Proceedings of the IEEE, 1998",
    "http://yann.lecun.com/exdb/publis/pdf/lecun-01a.pdf"};
inline constexpr Paper krizhevsky2012{
    "Krizhevsky et al. 2012, ImageNet classification with deep convolutional neural networks",
    "Alex Krizhevsky, Ilya Sutskever, Geoffrey E. Hinton", "NeurIPS 2012",
    "https://papers.nips.cc/paper_files/paper/2012/hash/"
    "c399862d3b9d6b76c8436e924a68c45b-Abstract.html"};
inline constexpr Paper simonyan2015{
    "Simonyan & Zisserman 2015, Very deep convolutional networks for large-scale image "
    "recognition",
    "Karen Simonyan, Andrew Zisserman", "ICLR 2015", "https://arxiv.org/abs/1409.1556"};
inline constexpr Paper he2016{"He et al. 2016, Deep residual learning for image recognition",
                              "Kaiming He, Xiangyu Zhang, Shaoqing Ren, Jian Sun", "CVPR 2016",
                              "https://arxiv.org/abs/1512.03385"};

/// LeNet-5, AlexNet, VGG (registry_classic.cpp).
std::span<const ModelEntry> classic_models();
/// torchvision's ResNet-18 … ResNet-152 (registry_resnet.cpp).
std::span<const ModelEntry> resnet_models();
/// CIFAR-10 variants: ResNet-18/34/50, Plain-18, ResNet-20…110, Plain-20…110
/// (registry_cifar.cpp).
std::span<const ModelEntry> cifar_models();
/// GoogLeNet, Inception v3, Xception (registry_inception.cpp).
std::span<const ModelEntry> inception_models();
/// PreAct ResNet-18 (CIFAR-10) and -164, SE-ResNet-50, ResNeXt, Wide ResNet
/// (registry_resnet_variants.cpp).
std::span<const ModelEntry> resnet_variant_models();
/// MobileNetV2, EfficientNet-B0 … B3 (registry_mobile.cpp).
std::span<const ModelEntry> mobile_models();
/// EfficientNet-B4 and B5 (registry_efficientnet.cpp).
std::span<const ModelEntry> efficientnet_large_models();
/// EfficientNet-B6 (registry_efficientnet_b6.cpp).
std::span<const ModelEntry> efficientnet_b6_models();
/// EfficientNet-B7 (registry_efficientnet_b7.cpp).
std::span<const ModelEntry> efficientnet_b7_models();

}  // namespace archetype::registry_detail
