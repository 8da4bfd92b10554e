// expect: archetype: the figure computed from the definition does not round to the published figure at its printed precision
// expect-also: 79510
// A paper's figure printed rounded ("0.08M" parameters) that the
// definition does not reach: 79,510 parameters round to 0.08M, not to the 0.07M written here.
#include <archetype/archetype.hpp>
#include <archetype/architectures/published.hpp>

using namespace archetype;

struct Mlp final : Net<Input<Shape{1, 28, 28}>, Seq<Flatten, Linear<100>, ReLU, Linear<10>>, 10> {};

#ifdef ARCHETYPE_FIXED
static_assert(architectures::rounds_to_v<params_v<Mlp>, 8, 10'000>);
#else
static_assert(architectures::rounds_to_v<params_v<Mlp>, 7, 10'000>);
#endif
