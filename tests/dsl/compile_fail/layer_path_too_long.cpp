// expect: archetype: a layer path is longer than 63 characters, shorten the Named names on it
// expect-also: {"a_rather_long_stage_name.a_rather_
// Deeply nested, verbosely named blocks: the path of the innermost convolution
// (`a_rather_long_stage_name.a_rather_long_block_name.…`) would be cut in tables and
// state_dict keys, so it is an error rather than a silent truncation.
#include <archetype/archetype.hpp>

using namespace archetype;

#ifdef ARCHETYPE_FIXED
using Inner = Named<"conv", Conv3x3<8>>;
#else
using Inner = Named<"an_even_longer_convolution_name", Conv3x3<8>>;
#endif

struct Verbose final
    : Net<Input<Shape{3, 8, 8}>,
          Named<"a_rather_long_stage_name", Named<"a_rather_long_block_name", Seq<Inner, ReLU>>>> {
};

static_assert(has_params_v<Verbose, 8 * 3 * 9>);
