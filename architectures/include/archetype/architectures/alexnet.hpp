#pragma once
/// \file
/// \brief AlexNet (Krizhevsky, Sutskever, Hinton, "ImageNet classification with deep
/// convolutional neural networks", NeurIPS 2012), torchvision's single-tower variant.

#include <archetype/archetype.hpp>
#include <archetype/architectures/published.hpp>

namespace archetype::architectures {

/// torchvision's `alexnet` (from Krizhevsky's "One weird trick", 2014: 64-192-384-256-256
/// filters, no LRN): 61,100,840 parameters, 714 M MACs at 3x224x224.
struct AlexNet final
    : Net<Input<Shape{3, 224, 224}>,
          Seq<Named<"features",
                    Seq<Conv<64, 11, 4, 2, 1, true>, ReLU, MaxPool<3, 2>,
                        Conv<192, 5, 1, 2, 1, true>, ReLU, MaxPool<3, 2>,
                        Conv<384, 3, 1, 1, 1, true>, ReLU, Conv<256, 3, 1, 1, 1, true>, ReLU,
                        Conv<256, 3, 1, 1, 1, true>, ReLU, MaxPool<3, 2>>>,
              Named<"avgpool", AdaptiveAvgPool<6>>, Flatten,
              Named<"classifier", Seq<Dropout<0.5>, Linear<4096>, ReLU, Dropout<0.5>,
                                      Linear<4096>, ReLU, Linear<1000>>>>,
          1000> {};

// torchvision's `alexnet`: 61,100,840 parameters, 0.71 "GFLOPS" (MACs).
template <>
inline constexpr Published published_v<AlexNet>{
    .params = 61'100'840, .macs = 714'000'000, .source = "torchvision"};
static_assert(matches_published_v<AlexNet>);

}  // namespace archetype::architectures
