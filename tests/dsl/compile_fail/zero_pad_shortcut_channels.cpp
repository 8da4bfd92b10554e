// expect: archetype: ZeroPadShortcut pads channels with zeros on both sides
// expect-also: {"shortcut"}
// expect-also: input{16, 16, 16}
// expect-also: out_channels{25}
// An option-A shortcut from 16 to 24 channels pads 4 on each side; to 25 it cannot.
#include <archetype/archetype.hpp>

using namespace archetype;

#ifdef ARCHETYPE_FIXED
inline constexpr int planes = 24;
#else
inline constexpr int planes = 25;
#endif

struct DownBlock final
    : Residual<Seq<Conv3x3<planes, 2>, BatchNorm, ReLU, Conv3x3<planes>, BatchNorm>,
               ZeroPadShortcut<planes, 2>, ReLU> {};
struct Small final : Net<Input<Shape{16, 16, 16}>, DownBlock> {};

static_assert(output_shape_v<Small> == Shape{planes, 8, 8} || !Small::valid);
