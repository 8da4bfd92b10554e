// expect: archetype: the parameter count computed from the definition differs from the published figure
// expect-also: 79510
// expect-also: 79410
// A zoo-style declaration of published figures (`published_v`, asserted with
// `matches_published_v`) whose parameter count the definition does not reach: the figure
// forgot the bias of the first layer (78,400 + 1,010 instead of 78,500 + 1,010).
#include <archetype/archetype.hpp>
#include <archetype/architectures/published.hpp>

using namespace archetype;

struct Mlp final : Net<Input<Shape{1, 28, 28}>, Seq<Flatten, Linear<100>, ReLU, Linear<10>>, 10> {};

template <>
inline constexpr architectures::Published architectures::published_v<Mlp>{
#ifdef ARCHETYPE_FIXED
    .params = 79'510,
#else
    .params = 79'410,
#endif
    .macs = 79'400,
    .macs_per_mille = 0,
    .source = "a hand count"};

static_assert(architectures::matches_published_v<Mlp>);
