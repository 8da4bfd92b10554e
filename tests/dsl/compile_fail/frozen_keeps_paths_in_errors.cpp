// expect: archetype: Conv kernel is larger than its padded input
// expect-also: {"features.conv"}
// expect-also: input{4, 4, 4}
// expect-also: kernel{5, 5}
// A broken layer inside Frozen (dsl/transfer.hpp) is reported with the path it has without
// Frozen: the Named inside keeps its name (`features.conv`, as describe prints it).
#include <archetype/archetype.hpp>

using namespace archetype;

#ifdef ARCHETYPE_FIXED
struct Tiny final
    : Net<Input<Shape{1, 8, 8}>,
          Seq<Named<"features", Seq<Conv<4, 3, 1, 0>, Frozen<Named<"conv", Conv<4, 3, 1, 1>>>>>,
              Flatten, Linear<10>>,
          10> {};
static_assert(frozen_params_v<Tiny> == 4 * 4 * 9);
#else
struct Tiny final
    : Net<Input<Shape{1, 6, 6}>,
          Seq<Named<"features", Seq<Conv<4, 3, 1, 0>, Frozen<Named<"conv", Conv<4, 5, 1, 0>>>>>,
              Flatten, Linear<10>>,
          10> {};
#endif
