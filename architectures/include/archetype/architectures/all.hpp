#pragma once
/// \file
/// \brief Every architecture of the zoo.

#include <archetype/architectures/alexnet.hpp>
#include <archetype/architectures/cifar_resnet.hpp>
#include <archetype/architectures/efficientnet.hpp>
#include <archetype/architectures/googlenet.hpp>
#include <archetype/architectures/inception_v3.hpp>
#include <archetype/architectures/lenet.hpp>
#include <archetype/architectures/mobilenet_v2.hpp>
#include <archetype/architectures/preact_resnet.hpp>
#include <archetype/architectures/resnet.hpp>
#include <archetype/architectures/resnext.hpp>
#include <archetype/architectures/se_resnet.hpp>
#include <archetype/architectures/vgg.hpp>
#include <archetype/architectures/wide_resnet.hpp>
#include <archetype/architectures/xception.hpp>
