#pragma once
/// \file
/// \brief Study 1, `resnet_vs_vgg`: VGG-16 (BN, CIFAR variant) against ResNet-18 (CIFAR
/// variant), trained the same way: accuracy, training curves, parameters, MACs, training
/// memory, time per epoch.
///
/// Full run (about 4 hours on an idle 2-core CPU with direct convolutions, under 3 with
/// `--conv-algorithm fastest`): Fashion-MNIST (60,000 images through each net's 32x32
/// input adapter), 15 epochs, batch 128, SGD lr 0.05, momentum 0.9, weight decay 5e-4,
/// cosine schedule, seed 1.

#include <archetype/architectures/resnet.hpp>
#include <archetype/architectures/vgg.hpp>
#include <archetype/experiments/study.hpp>

namespace archetype::experiments {

struct ResNetVsVgg final
    : Experiment<Models<architectures::VGG16Cifar, architectures::ResNet18Cifar>, FashionMnist,
                 Sgd<50, 900, 5>, Cosine, Epochs<15>, 128> {
  static constexpr std::string_view name = "resnet_vs_vgg";
  static constexpr std::string_view title = "ResNet-18 against VGG-16 (BN), CIFAR variants";
  static constexpr std::string_view question =
      "Simonyan & Zisserman (2015) reached depth 16 by stacking 3x3 convolutions; He et al. (2016) "
      "went deeper with shortcuts at a fraction of the MACs. Trained the same way on the same "
      "data, "
      "which learns faster and ends more accurate, at what cost in parameters, MACs, memory and "
      "time?";
  static constexpr std::string_view labels[] = {"vgg16_cifar", "resnet18_cifar"};
  static constexpr StudyKind kind = StudyKind::training;
  static constexpr std::uint64_t seeds[] = {1};
  static constexpr QuickRun quick{.train_images = 16, .test_images = 16, .batch = 8, .epochs = 2};
};

}  // namespace archetype::experiments
