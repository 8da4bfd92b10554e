#pragma once
/// \file
/// \brief Every architecture of the zoo.

#include <archetype/architectures/alexnet.hpp>
#include <archetype/architectures/cifar_resnet.hpp>
#include <archetype/architectures/lenet.hpp>
#include <archetype/architectures/resnet.hpp>
#include <archetype/architectures/vgg.hpp>
