// expect: archetype: Repeat count must be positive
// expect-also: {"1"}
// expect-also: count{0}
// A stage with no blocks.
#include <archetype/archetype.hpp>

using namespace archetype;

#ifdef ARCHETYPE_FIXED
inline constexpr int blocks = 2;
#else
inline constexpr int blocks = 0;
#endif

struct Stage final
    : Net<Input<Shape{16, 8, 8}>, Seq<Conv3x3<16>, Repeat<blocks, Seq<Conv3x3<16>, ReLU>>>> {};

static_assert(has_params_v<Stage, 6'912>);  // 3 * 16 * 16 * 9
