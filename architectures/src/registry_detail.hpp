#pragma once
/// \file
/// \brief Private to the registry: `make_entry<N>()` turns a net type's compile-time
/// figures into a `ModelEntry`, and the per-family tables the registry concatenates.
/// Each family lives in its own translation unit so that none is slow to compile.

#include <archetype/architectures/registry.hpp>
#include <archetype/dsl/analysis.hpp>
#include <archetype/dsl/net.hpp>

#include <span>
#include <string_view>

namespace archetype::registry_detail {

/// The Fashion-MNIST image: 1x28x28.
inline constexpr Shape fashion_mnist_shape{1, 28, 28};

template <Network N>
consteval ModelInfo make_info() {
  static_assert(N::valid, "archetype: a registered model must be a valid net");
  constexpr NetTotals t = totals_v<N>;
  return ModelInfo{N::input_shape,
                   output_shape_v<N>,
                   t.params,
                   t.buffers,
                   t.macs,
                   t.receptive_field,
                   t.inference_peak_elements,
                   codegen::program_v<N>.training_saved,
                   std::span<const LayerRow>{layers_v<N>},
                   codegen::program_v<N>.view()};
}

template <Network N>
consteval ModelEntry make_entry(std::string_view name, std::string_view title,
                                std::string_view paper, int year) {
  return ModelEntry{name, title, paper, year, make_info<N>(),
                    make_info<Adapted<N, fashion_mnist_shape>>()};
}

// Paper references shared by the families.
inline constexpr std::string_view lecun1998 =
    "LeCun et al. 1998, Gradient-based learning applied to document recognition";
inline constexpr std::string_view krizhevsky2012 =
    "Krizhevsky et al. 2012, ImageNet classification with deep convolutional neural networks";
inline constexpr std::string_view simonyan2015 =
    "Simonyan & Zisserman 2015, Very deep convolutional networks for large-scale image recognition";
inline constexpr std::string_view he2016 =
    "He et al. 2016, Deep residual learning for image recognition";

/// LeNet-5, AlexNet, VGG (registry_classic.cpp).
std::span<const ModelEntry> classic_models();
/// torchvision's ResNet-18 … ResNet-152 (registry_resnet.cpp).
std::span<const ModelEntry> resnet_models();
/// CIFAR-10 variants: ResNet-18/34/50, Plain-18, ResNet-20…110, Plain-20…110
/// (registry_cifar.cpp).
std::span<const ModelEntry> cifar_models();

}  // namespace archetype::registry_detail
