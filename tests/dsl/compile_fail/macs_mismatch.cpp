// expect: archetype: the MACs computed from the definition are not within the tolerance
// expect-also: 79400
// expect-also: 80500
// MACs 78,400 + 1,000 = 79,400; a published 80,500 is 1.4% away, outside the default 1%.
#include <archetype/archetype.hpp>

using namespace archetype;

struct Mlp final : Net<Input<Shape{1, 28, 28}>, Seq<Flatten, Linear<100>, ReLU, Linear<10>>, 10> {};

#ifdef ARCHETYPE_FIXED
static_assert(has_macs_near_v<Mlp, 80'000>);  // 0.75% away
#else
static_assert(has_macs_near_v<Mlp, 80'500>);
#endif
