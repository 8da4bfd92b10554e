// expect: archetype: Residual body output shape differs from shortcut output shape
// expect-also: {"0.add"}
// expect-also: body_output{32, 16, 16}
// expect-also: shortcut_output{16, 32, 32}
// A stride-2 body (16x32x32 -> 32x16x16) with the identity shortcut (16x32x32).
#include <archetype/archetype.hpp>

using namespace archetype;

#ifdef ARCHETYPE_FIXED
// The projection shortcut brings the input to 32x16x16 as well.
using Shortcut = Seq<Conv1x1<32, 2>, BatchNorm>;
#else
using Shortcut = Identity;
#endif

struct DownBlock final
    : Residual<Seq<Conv3x3<32, 2>, BatchNorm, ReLU, Conv3x3<32>, BatchNorm>, Shortcut, ReLU> {};
struct Small final : Net<Input<Shape{16, 32, 32}>, Seq<DownBlock, GlobalAvgPool, Linear<10>>, 10> {
};

static_assert(output_shape_v<Small> == Shape{10, 1, 1} || !Small::valid);
