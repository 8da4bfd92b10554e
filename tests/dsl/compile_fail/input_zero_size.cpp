// expect: archetype: Input shape sizes must be positive
// expect-also: {"input"}
// expect-also: input{0, 28, 28}
// An input with no channels.
#include <archetype/archetype.hpp>

using namespace archetype;

#ifdef ARCHETYPE_FIXED
inline constexpr Shape image{1, 28, 28};
#else
inline constexpr Shape image{0, 28, 28};
#endif

struct Mlp final : Net<Input<image>, Seq<Flatten, Linear<100>, ReLU, Linear<10>>, 10> {};

static_assert(has_params_v<Mlp, 79'510>);  // 784 * 100 + 100 + 100 * 10 + 10
