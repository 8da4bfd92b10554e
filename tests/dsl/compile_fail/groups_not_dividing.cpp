// expect: archetype: Conv groups must divide the input channels
// expect-also: {"0"}
// expect-also: input{16, 8, 8}
// expect-also: groups{3}
// A grouped convolution with 3 groups on 16 channels.
#include <archetype/archetype.hpp>

using namespace archetype;

#ifdef ARCHETYPE_FIXED
inline constexpr int groups = 4;  // 16 / 4 = 4 input channels per group
#else
inline constexpr int groups = 3;
#endif

struct Grouped final : Net<Input<Shape{16, 8, 8}>, Seq<Conv<48, 3, 1, same, groups>, ReLU>> {};

static_assert(has_params_v<Grouped, 1'728>);  // 48 * (16 / 4) * 3 * 3
