// expect: archetype: the parameter count computed from the definition differs from the published figure
// expect-also: 79510
// expect-also: 79410
// A published parameter count the definition does not reach (the bias of the first layer
// forgotten in the figure: 78,400 + 1,010 instead of 78,500 + 1,010).
#include <archetype/archetype.hpp>

using namespace archetype;

struct Mlp final : Net<Input<Shape{1, 28, 28}>, Seq<Flatten, Linear<100>, ReLU, Linear<10>>, 10> {};

#ifdef ARCHETYPE_FIXED
static_assert(has_params_v<Mlp, 79'510>);
#else
static_assert(has_params_v<Mlp, 79'410>);
#endif
