// expect: archetype: pooling window is larger than its padded input
// expect-also: {"3"}
// expect-also: input{8, 2, 2}
// expect-also: kernel{3, 3}
// expect-also: padding{0, 0}
// A 3x3 max pooling after a feature map already reduced to 2x2.
#include <archetype/archetype.hpp>

using namespace archetype;

#ifdef ARCHETYPE_FIXED
using LastPool = MaxPool<2>;
#else
using LastPool = MaxPool<3, 2>;
#endif

// 3x8x8 -> conv 3x3 s2 -> 8x4x4 -> pool 2 -> 8x2x2 -> last pool.
struct Small final : Net<Input<Shape{3, 8, 8}>,
                         Seq<Conv3x3<8, 2>, ReLU, MaxPool<2>, LastPool, Flatten, Linear<10>>, 10> {
};

static_assert(has_params_v<Small, 306>);  // 8 * 27 + 8 * 10 + 10
