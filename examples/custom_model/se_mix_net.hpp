#pragma once
/// \file
/// \brief A network of our own, defined outside the Archetype tree: a residual stage whose
/// blocks end in a squeeze-and-excitation gate, then a "split-and-mix" stage of our own
/// design (two downsampling paths concatenated, then a residual depthwise-separable mixer),
/// for 1x28x28 images (Fashion-MNIST) and 10 classes.

#include <archetype/archetype.hpp>

namespace custom {

using namespace archetype;

/// A basic residual block with an SE gate on its branch (Hu et al. 2018, Figure 3):
/// conv3x3-BN-ReLU-conv3x3-BN-SE, plus the identity, then ReLU.
/// Parameters: 2 x 9 C^2 (convolutions) + 4 C (BatchNorms) + 2 C (C/4) + C/4 + C (SE).
template <int C>
struct SEBasicBlock final
    : Residual<Seq<Named<"conv1", Conv3x3<C>>, Named<"bn1", BatchNorm>, Named<"relu", ReLU>,
                   Named<"conv2", Conv3x3<C>>, Named<"bn2", BatchNorm>, Named<"se", SE<C, 4>>>,
               Identity, Named<"relu", ReLU>> {};

/// Split-and-mix: halves the resolution along two paths at once, a strided 3x3
/// convolution and a 2x2 max-pool followed by a 1x1 convolution, each to C/2 channels, and
/// concatenates them to C channels; a residual depthwise-separable 3x3 convolution (with
/// BatchNorm and SiLU) then mixes the two halves.
/// Parameters, for an input of C/2 channels: 9 (C/2)^2 + (C/2)^2 + 2 C (paths and their
/// BatchNorms) + 9 C + C^2 + 2 C (mixer).
template <int C>
struct SplitMixStage final
    : Seq<Named<"split", Concat<Seq<Named<"conv", Conv3x3<C / 2, 2>>, Named<"bn", BatchNorm>,
                                    Named<"relu", ReLU>>,
                                Seq<Named<"pool", MaxPool<2>>, Named<"conv", Conv1x1<C / 2>>,
                                    Named<"bn", BatchNorm>, Named<"relu", ReLU>>>>,
          Named<"mix", Residual<Seq<Named<"sepconv", SeparableConv<C, 3>>, Named<"bn", BatchNorm>,
                                    Named<"silu", SiLU>>>>> {};

/// The network: a 3x3 stem to 16 channels, two SE blocks at 28x28, split-and-mix to 32
/// channels at 14x14, global average pooling and a linear classifier.
struct SEMixNet final
    : Net<Input<Shape{1, 28, 28}>,
          Seq<Named<"stem", Seq<Conv3x3<16>, BatchNorm, ReLU>>,
              Named<"stage1", Seq<Named<"0", SEBasicBlock<16>>, Named<"1", SEBasicBlock<16>>>>,
              Named<"stage2", SplitMixStage<32>>, GlobalAvgPool, Named<"fc", Linear<10>>>,
          10> {};

// The figures, checked by the compiler: a change to the definition that alters them
// fails the build here.
static_assert(output_shape_v<SEMixNet> == Shape{10, 1, 1});
// stem 144 + 32; each SE block 2 x 2'304 + 64 + 148; split-and-mix 2'304 + 256 + 64 and
// 288 + 1'024 + 64; fc 330.
static_assert(params_v<SEMixNet> == 176 + 2 * 4'820 + 4'000 + 330);
static_assert(buffers_v<SEMixNet> == 288);  // running means and variances of 9 BatchNorms
// Per image: the convolutions at 28x28 (stem 144, four of 2'304 per position), the SE gates
// (2 x 64 each), at 14x14 the paths (2'304 + 256) and the mixer (32 x (9 + 32)), fc 320.
static_assert(macs_v<SEMixNet> ==
              784 * (144 + 4 * 2'304) + 2 * 128 + 196 * (2'304 + 256 + 32 * 41) + 320);

}  // namespace custom
