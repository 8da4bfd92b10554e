// expect: archetype: Scale gate output channels differ from the tensor they scale
// expect-also: {"3.scale"}
// expect-also: input{256, 8, 8}
// expect-also: gate_output{128, 1, 1}
// A squeeze-and-excitation block declared for 128 channels after a 256-channel stage.
#include <archetype/archetype.hpp>

using namespace archetype;

#ifdef ARCHETYPE_FIXED
inline constexpr int channels = 256;
#else
inline constexpr int channels = 128;
#endif

struct Excited final
    : Net<Input<Shape{64, 8, 8}>, Seq<Conv1x1<256>, BatchNorm, ReLU, SE<channels>>> {};

static_assert(has_params_v<Excited, 64 * 256 + 2 * 256 + 2 * 256 * 16 + 16 + 256>);
