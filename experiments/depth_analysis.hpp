#pragma once
/// \file
/// \brief Study 2, `depth_analysis`: ResNet-18 against ResNet-50 (CIFAR variants), and the
/// CIFAR family ResNet-20/32/44/56/110 (He et al. 2016, Table 6): accuracy, parameters and
/// MACs against depth.
///
/// Full run (about 8 hours on an idle 2-core CPU with direct convolutions, ResNet-50 alone half
/// of it): Fashion-MNIST, 10 epochs, batch 128, SGD lr 0.1, momentum 0.9, weight decay
/// 1e-4 (the paper's), cosine schedule, seed 1.

#include <archetype/architectures/cifar_resnet.hpp>
#include <archetype/architectures/resnet.hpp>
#include <archetype/experiments/study.hpp>

namespace archetype::experiments {

struct DepthAnalysis final
    : Experiment<Models<architectures::ResNet18Cifar, architectures::ResNet50Cifar,
                        architectures::CifarResNet<20>, architectures::CifarResNet<32>,
                        architectures::CifarResNet<44>, architectures::CifarResNet<56>,
                        architectures::CifarResNet<110>>,
                 FashionMnist, Sgd<100, 900, 1>, Cosine, Epochs<10>, 128> {
  static constexpr std::string_view name = "depth_analysis";
  static constexpr std::string_view title = "Accuracy, parameters and MACs against depth (ResNets)";
  static constexpr std::string_view question =
      "With shortcuts, does a deeper ResNet keep getting more accurate (He et al. 2016, Table 6: "
      "ResNet-20 8.75% to ResNet-110 6.43% CIFAR-10 test error), and how do parameters and MACs "
      "grow "
      "with depth: basic blocks (ResNet-18, CIFAR family) against bottlenecks (ResNet-50)?";
  static constexpr std::string_view labels[] = {"resnet18_cifar", "resnet50_cifar", "resnet20",
                                                "resnet32",       "resnet44",       "resnet56",
                                                "resnet110"};
  static constexpr StudyKind kind = StudyKind::training;
  static constexpr std::uint64_t seeds[] = {1};
  static constexpr bool against_depth = true;
  static constexpr QuickRun quick{.train_images = 16, .test_images = 16, .batch = 8, .epochs = 2};
};

}  // namespace archetype::experiments
