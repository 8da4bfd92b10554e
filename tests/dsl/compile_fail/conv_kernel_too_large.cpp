// expect: archetype: Conv kernel is larger than its padded input
// expect-also: {"0"}
// expect-also: input{1, 4, 4}
// expect-also: kernel{5, 5}
// expect-also: padding{0, 0}
// A 5x5 convolution without padding on a 4x4 map: no output position exists.
#include <archetype/archetype.hpp>

using namespace archetype;

#ifdef ARCHETYPE_FIXED
// 1x8x8 -> conv 5x5 p0 -> 4x4x4 -> 64 -> 10: 4*25 + 4 = 104 + 64*10 + 10 = 650 = 754.
struct Tiny final
    : Net<Input<Shape{1, 8, 8}>, Seq<Conv<4, 5, 1, 0, 1, true>, ReLU, Flatten, Linear<10>>, 10> {};
static_assert(has_params_v<Tiny, 754>);
#else
struct Tiny final
    : Net<Input<Shape{1, 4, 4}>, Seq<Conv<4, 5, 1, 0, 1, true>, ReLU, Flatten, Linear<10>>, 10> {};
static_assert(has_params_v<Tiny, 754>);
#endif
