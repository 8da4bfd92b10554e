// A small net with every kind of tensor a parameter file holds (convolution weight and
// bias, BatchNorm weight, bias and running statistics, linear weight and bias), so that
// the fuzzer's inputs stay a few hundred bytes.
#pragma once

#include <archetype/archetype.hpp>
#include <archetype/codegen/program.hpp>

namespace archetype::fuzz {

struct TinyNet final : Net<Input<Shape{1, 6, 6}>,
                           Seq<Named<"conv", Conv<2, 3, 1, 1, 1, true>>, Named<"bn", BatchNorm>,
                               ReLU, GlobalAvgPool, Flatten, Named<"fc", Linear<3>>>,
                           3> {};

inline codegen::ProgramView tiny_program() { return codegen::program_v<TinyNet>.view(); }

}  // namespace archetype::fuzz
