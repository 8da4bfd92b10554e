// expect: archetype: Conv output channels must be positive
// expect-also: {"0"}
// expect-also: out_channels{0}
// A convolution with zero output channels.
#include <archetype/archetype.hpp>

using namespace archetype;

#ifdef ARCHETYPE_FIXED
inline constexpr int channels = 8;
#else
inline constexpr int channels = 0;
#endif

struct Small final : Net<Input<Shape{3, 32, 32}>, Seq<Conv<channels, 3>, BatchNorm, ReLU>> {};

static_assert(has_params_v<Small, 232>);  // 8 * 3 * 9 + 2 * 8
