// expect: archetype: Dropout probability must be in [0, 1)
// expect-also: {"0"}
// expect-also: probability{1.
// A dropout that would drop everything.
#include <archetype/archetype.hpp>

using namespace archetype;

#ifdef ARCHETYPE_FIXED
inline constexpr double drop = 0.5;
#else
inline constexpr double drop = 1.0;
#endif

struct Head final : Net<Input<Shape{512, 1, 1}>, Seq<Dropout<drop>, Linear<10>>, 10> {};

static_assert(has_params_v<Head, 5'130>);  // 512 * 10 + 10
