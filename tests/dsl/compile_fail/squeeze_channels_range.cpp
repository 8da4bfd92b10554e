// expect: archetype: SqueezeExcitation squeeze channels must be in [1, Channels]
// expect-also: {""}
// expect-also: input{64, 8, 8}
// expect-also: channels{64}
// expect-also: squeeze{128}
// A "squeeze" that widens: 64 channels squeezed to 128.
#include <archetype/archetype.hpp>

using namespace archetype;

#ifdef ARCHETYPE_FIXED
inline constexpr int squeeze = 16;
#else
inline constexpr int squeeze = 128;
#endif

struct Gated final : Net<Input<Shape{64, 8, 8}>, SqueezeExcitation<64, squeeze, SiLU>> {};

static_assert(has_params_v<Gated, 2 * 64 * 16 + 16 + 64>);
