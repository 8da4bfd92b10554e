#pragma once
/// \file
/// \brief Study 3, `skip_connections`: Plain-20/56 against ResNet-20/56 — the degradation
/// problem (He et al. 2016, Fig. 6): training error curves, and the per-layer gradient
/// norms at initialisation and after each epoch, against layer depth.
///
/// Full run (about 2.5 hours on an idle 2-core CPU): Fashion-MNIST, 20 epochs, batch 128, SGD lr
/// 0.1, momentum 0.9, weight decay 1e-4, cosine schedule, seed 1. The paper trains 64k
/// iterations (about 164 epochs) on CIFAR-10 with a step schedule; its Fig. 6 shows the
/// degradation from the first epochs on.

#include <archetype/architectures/cifar_resnet.hpp>
#include <archetype/experiments/study.hpp>

namespace archetype::experiments {

struct SkipConnections final
    : Experiment<Models<architectures::PlainCifarNet<20>, architectures::PlainCifarNet<56>,
                        architectures::CifarResNet<20>, architectures::CifarResNet<56>>,
                 FashionMnist, Sgd<100, 900, 1>, Cosine, Epochs<20>, 128> {
  static constexpr std::string_view name = "skip_connections";
  static constexpr std::string_view title = "Skip connections and the degradation problem";
  static constexpr std::string_view question =
      "He et al. (2016, Fig. 6): a deeper plain net trains to a higher training error than a "
      "shallower one (Plain-56 above Plain-20), while with identity shortcuts the deeper net is at "
      "least as good (ResNet-56 at or below ResNet-20). Does that hold here, and do the gradients "
      "reaching the first layers of Plain-56 shrink where ResNet-56's do not?";
  static constexpr std::string_view labels[] = {"plain20", "plain56", "resnet20", "resnet56"};
  static constexpr StudyKind kind = StudyKind::training;
  static constexpr std::uint64_t seeds[] = {1};
  static constexpr Analysis analyses[] = {Analysis::gradient_norms, Analysis::degradation};
  static constexpr QuickRun quick{.train_images = 32, .test_images = 16, .batch = 16, .epochs = 2};
};

}  // namespace archetype::experiments
