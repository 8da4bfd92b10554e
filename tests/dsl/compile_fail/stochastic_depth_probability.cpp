// expect: archetype: StochasticDepth probability must be in [0, 1)
// expect-also: {"3"}
// expect-also: probability{1.
// A residual branch dropped with probability 1 would never train.
#include <archetype/archetype.hpp>

using namespace archetype;

#ifdef ARCHETYPE_FIXED
inline constexpr double p = 0.2;
#else
inline constexpr double p = 1.0;
#endif

struct Deep final
    : Net<Input<Shape{8, 8, 8}>, Residual<Seq<Conv3x3<8>, BatchNorm, SiLU, StochasticDepth<p>>>> {};

static_assert(has_params_v<Deep, 8 * 8 * 9 + 16>);
