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
  // CIFAR adaptations of ImageNet nets, the plain CIFAR nets) are left blank.
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
  };
};

}  // namespace archetype::experiments
