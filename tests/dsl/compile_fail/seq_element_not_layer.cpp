// expect: archetype: not a layer or a combinator, where a Net, Seq, Residual, Concat, Scale, Repeat or Named expects one
// expect-also: {"1"}
// expect-also: {"archetype::Input<
// expect-also: Shape{16, 32, 32}>"}
// A shape written where a layer is expected.
#include <archetype/archetype.hpp>

using namespace archetype;

#ifdef ARCHETYPE_FIXED
using Second = ReLU;
#else
using Second = Input<Shape{16, 32, 32}>;
#endif

struct Small final : Net<Input<Shape{3, 32, 32}>, Seq<Conv3x3<16>, Second>> {};

static_assert(has_params_v<Small, 432>);  // 16 * 3 * 9
