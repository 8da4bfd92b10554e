#pragma once
/// \file
/// \brief Study 2, `depth_analysis`: ResNet-18 against ResNet-50 (CIFAR variants), and the
/// CIFAR family ResNet-20/32/44/56/110 (He et al. 2016, Table 6): accuracy, parameters and
/// MACs against depth.
///
/// Full run: Fashion-MNIST, 5 epochs, batch 128, SGD lr 0.1, momentum 0.9, weight decay
/// 1e-4 (the paper's), cosine schedule, seed 1, bf16 on the CPU (direct convolutions). The
/// schedule is the one that fits this project's 2-core CPU: the seven models cost 2.4
/// GMACs per image together, about 30 minutes per epoch of all of them in bf16 (ResNet-50
/// half of it), so 5 epochs take about 2.5 hours; 10 epochs in fp32 would take about 8. The
/// study is resumable model by model (`--resume`), and `--models` trains a subset now and
/// takes the others from finished earlier runs, so it can be finished over several sittings
/// in any order (the CIFAR family together is about an hour; ResNet-50 alone about two); on
/// a GPU (`--device cuda`, fp32) it takes minutes.

#include <archetype/architectures/cifar_resnet.hpp>
#include <archetype/architectures/resnet.hpp>
#include <archetype/experiments/study.hpp>

namespace archetype::experiments {

struct DepthAnalysis final
    : Experiment<Models<architectures::ResNet18Cifar, architectures::ResNet50Cifar,
                        architectures::CifarResNet<20>, architectures::CifarResNet<32>,
                        architectures::CifarResNet<44>, architectures::CifarResNet<56>,
                        architectures::CifarResNet<110>>,
                 FashionMnist, Sgd<100, 900, 1>, Cosine, Epochs<5>, 128> {
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
  static constexpr Analysis analyses[] = {Analysis::against_depth};
  static constexpr std::string_view precision = "bf16";
  static constexpr QuickRun quick{.train_images = 16, .test_images = 16, .batch = 8, .epochs = 2};
};

}  // namespace archetype::experiments
