// expect: archetype: not a layer or a combinator, where a Net, Seq, Residual, Concat, Scale, Repeat or Named expects one
// expect-also: {""}
// expect-also: {"archetype::Net<archetype::Input<
// The body written as a Net instead of its layers.
#include <archetype/archetype.hpp>

using namespace archetype;

using Features = Seq<Conv3x3<16>, BatchNorm, ReLU, GlobalAvgPool>;
#ifdef ARCHETYPE_FIXED
using Body = Features;
#else
using Body = Net<Input<Shape{3, 32, 32}>, Features>;
#endif

struct Small final : Net<Input<Shape{3, 32, 32}>, Body> {};

static_assert(has_params_v<Small, 464>);  // 16 * 3 * 9 + 2 * 16
