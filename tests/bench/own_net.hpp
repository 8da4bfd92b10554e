#pragma once
// A net of one's own for cpu.bench.own_model_without_the_zoo: archetype_add_model gives it
// `own_net` (the command line, with the zoo) and `bench_own_net` (the benchmark suite,
// without it).
#include <archetype/archetype.hpp>

namespace archetype::bench_tests {

struct OwnNet final : Net<Input<Shape{1, 12, 12}>,
                          Seq<Conv3x3<4>, BatchNorm, ReLU, GlobalAvgPool, Flatten, Linear<3>>, 3> {
};

}  // namespace archetype::bench_tests
