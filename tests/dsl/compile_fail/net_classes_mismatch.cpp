// expect: archetype: Net output is not a vector of Classes scores
// expect-also: {"3"}
// expect-also: output{10, 1, 1}
// expect-also: classes{100}
// A CIFAR-100 net whose last layer still has 10 outputs.
#include <archetype/archetype.hpp>

using namespace archetype;

#ifdef ARCHETYPE_FIXED
inline constexpr int outputs = 100;
#else
inline constexpr int outputs = 10;
#endif

struct Small final
    : Net<Input<Shape{3, 32, 32}>, Seq<Conv3x3<16>, ReLU, GlobalAvgPool, Linear<outputs>>, 100> {};

static_assert(output_shape_v<Small> == Shape{100, 1, 1} || !Small::valid);
