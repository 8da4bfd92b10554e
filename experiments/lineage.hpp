#pragma once
/// \file
/// \brief Study 5, `lineage`: every architecture of the zoo in one table — year, depth
/// (weight layers on the longest path), parameters, MACs, the paper's top-1 accuracy where
/// it published one, and inference images/s measured here (native input, batch 16, at
/// least 3 timed steps and 2 seconds; about 10 minutes on a 2-core CPU, VGG-19 the
/// slowest).

#include <archetype/experiments/study.hpp>

namespace archetype::experiments {

struct Lineage final : Experiment<Zoo, FashionMnist, Sgd<10, 900, 5>, Constant, Epochs<1>, 16> {
  static constexpr std::string_view name = "lineage";
  static constexpr std::string_view title = "The lineage: every architecture of the zoo";
  static constexpr std::string_view question =
      "From LeNet-5 (1998) to ResNet-152 (2016): how did depth, parameters and MACs grow, what "
      "accuracy did each paper report, and how fast does each run here?";
  static constexpr StudyKind kind = StudyKind::lineage;
  static constexpr QuickRun quick{.batch = 2, .steps = 1, .max_macs = 400'000'000};
  // Top-1 accuracy as each paper published it (ImageNet: ILSVRC-2012 validation; CIFAR-10
  // and MNIST: test set). Models whose paper gives none (torchvision's BN variants, the
  // CIFAR adaptations of ImageNet nets, the plain CIFAR nets, GoogLeNet: top-5 only) are
  // left blank, and so are the issue-4 models whose table was not checked yet (SE-ResNet,
  // ResNeXt-101 32x8d, Wide ResNet, the pre-activation ResNets, EfficientNet B1 … B7).
  static constexpr PaperTop1 paper_top1[] = {
      {"lenet5", 0.9905, "MNIST test, 0.95% error (LeCun et al. 1998)"},
      {"alexnet", 0.593, "ILSVRC-2012 val, 1 CNN, 40.7% error (Krizhevsky et al. 2012, Table 2)"},
      {"vgg11", 0.704,
       "ILSVRC-2012 val, config A, 29.6% error (Simonyan & Zisserman 2015, Table 3)"},
      {"vgg13", 0.713, "ILSVRC-2012 val, config B, 28.7% error (Table 3)"},
      {"vgg16", 0.730, "ILSVRC-2012 val, config D, train scale 256, 27.0% error (Table 3)"},
      {"vgg19", 0.727, "ILSVRC-2012 val, config E, train scale 256, 27.3% error (Table 3)"},
      {"resnet18", 0.7212, "ILSVRC-2012 val, 10-crop, 27.88% error (He et al. 2016, Table 2)"},
      {"resnet34", 0.7548, "ILSVRC-2012 val, 10-crop, option B, 24.52% error (Table 3)"},
      {"resnet50", 0.7715, "ILSVRC-2012 val, 10-crop, 22.85% error (Table 3)"},
      {"resnet101", 0.7825, "ILSVRC-2012 val, 10-crop, 21.75% error (Table 3)"},
      {"resnet152", 0.7857, "ILSVRC-2012 val, 10-crop, 21.43% error (Table 3)"},
      {"resnet20", 0.9125, "CIFAR-10 test, 8.75% error (He et al. 2016, Table 6)"},
      {"resnet32", 0.9249, "CIFAR-10 test, 7.51% error (Table 6)"},
      {"resnet44", 0.9283, "CIFAR-10 test, 7.17% error (Table 6)"},
      {"resnet56", 0.9303, "CIFAR-10 test, 6.97% error (Table 6)"},
      {"resnet110", 0.9357, "CIFAR-10 test, best of 5 runs, 6.43% error (Table 6)"},
      {"inception_v3", 0.788,
       "ILSVRC-2012 val, single crop, 21.2% error (Szegedy et al. 2016, Table 3, Inception-v3)"},
      {"xception", 0.790, "ILSVRC-2012 val, single crop, top-1 0.790 (Chollet 2017, Table 1)"},
      {"resnext50_32x4d", 0.778, "ILSVRC-2012 val, 224 single crop, 22.2% error (Xie et al. 2017, Table 3)"},
      {"mobilenet_v2", 0.720, "ILSVRC-2012 val, top-1 72.0% (Sandler et al. 2018, Table 4)"},
      {"efficientnet_b0", 0.771, "ILSVRC-2012 val, top-1 77.1% (Tan & Le 2019, Table 2)"},
  };
};

}  // namespace archetype::experiments
