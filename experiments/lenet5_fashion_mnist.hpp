#pragma once
/// \file
/// \brief The smallest experiment: LeNet-5 on Fashion-MNIST (SGD 0.05, momentum 0.9,
/// weight decay 5e-4, cosine, 15 epochs: 91.1% test accuracy, reports/accuracy.md).

#include <archetype/architectures/lenet.hpp>
#include <archetype/experiments/experiment.hpp>

namespace archetype::experiments {

struct LeNet5FashionMnist
    : Experiment<Models<architectures::LeNet5>, FashionMnist, Sgd<50, 900, 5>, Cosine, Epochs<15>, 64> {
  static constexpr std::string_view name = "lenet5_fashion_mnist";
  static constexpr std::string_view labels[] = {"lenet5"};
};

}  // namespace archetype::experiments
