// expect: archetype: DepthwiseConv groups (its channels) differ from its input channels
// expect-also: {"2"}
// expect-also: input{64, 32, 32}
// expect-also: channels{32}
// A depthwise convolution declared for 32 channels, placed after a 64-channel convolution
// (Conv's own rule would accept 32 groups on 64 channels: it is the depthwise rule that fails).
#include <archetype/archetype.hpp>

using namespace archetype;

#ifdef ARCHETYPE_FIXED
inline constexpr int channels = 64;
#else
inline constexpr int channels = 32;
#endif

struct Mobile final
    : Net<Input<Shape{3, 32, 32}>, Seq<Conv3x3<64>, ReLU6, DepthwiseConv<channels, 3, 2>, ReLU6>> {
};

static_assert(has_params_v<Mobile, 2'304>);  // 64 * 3 * 9 + 64 * 9
