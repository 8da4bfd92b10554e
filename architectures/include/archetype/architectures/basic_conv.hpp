#pragma once
/// \file
/// \brief torchvision's `BasicConv2d` of GoogLeNet and Inception v3: a convolution without
/// bias, BatchNorm, ReLU.

#include <archetype/archetype.hpp>

namespace archetype::architectures {

/// `BasicConv2d(in, Out, kernel_size=(Kh, Kw), stride=Stride, padding=(PadH, PadW))` of
/// torchvision's googlenet.py / inception.py: rows `conv`, `bn`, `relu`. Padding defaults
/// to 0 as in `nn.Conv2d`. Parameters `Out * C * Kh * Kw + 2 Out`; MACs those of the
/// convolution. torchvision's BatchNorm here has eps 0.001 (a run-time constant the layer
/// table does not show).
template <int Out, int Kh, int Kw = Kh, int Stride = 1, int PadH = 0, int PadW = PadH>
struct BasicConv2d final : Seq<Named<"conv", ConvKxL<Out, Kh, Kw, Stride, PadH, PadW>>,
                               Named<"bn", BatchNorm>, Named<"relu", ReLU>> {};

}  // namespace archetype::architectures
