// expect: archetype: PadTo cannot shrink its input
// expect-also: {"adapter"}
// expect-also: input{1, 36, 36}
// expect-also: size{32, 32}
// LeNet-5's 32x32 input declared with a zero-padding adapter fed 36x36 images.
#include <archetype/architectures/lenet.hpp>

using namespace archetype;
using namespace archetype::architectures;

#ifdef ARCHETYPE_FIXED
inline constexpr Shape data{1, 28, 28};
#else
inline constexpr Shape data{1, 36, 36};
#endif

struct LeNet5Padded final : Adapted<LeNet5, data, PadTo<32>> {};

static_assert(has_params_v<LeNet5Padded, 61'706>);
