// expect: archetype: SE reduction must divide the channels
// expect-also: {"3"}
// expect-also: input{100, 8, 8}
// expect-also: channels{100}
// expect-also: reduction{16}
// An SE block with the paper's reduction 16 on a 100-channel tensor: 100 / 16 is not whole.
#include <archetype/archetype.hpp>

using namespace archetype;

#ifdef ARCHETYPE_FIXED
inline constexpr int reduction = 4;
#else
inline constexpr int reduction = 16;
#endif

struct Excited final
    : Net<Input<Shape{100, 8, 8}>, Seq<Conv3x3<100>, BatchNorm, ReLU, SE<100, reduction>>> {};

static_assert(has_params_v<Excited, 100 * 100 * 9 + 200 + 2 * 100 * 25 + 25 + 100>);
