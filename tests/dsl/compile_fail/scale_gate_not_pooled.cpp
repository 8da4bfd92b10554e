// expect: archetype: the gate of Scale must end at 1x1 (one value per channel)
// expect-also: {"1.scale"}
// expect-also: input{16, 8, 8}
// expect-also: gate_output{16, 8, 8}
// A gate that forgot its global pooling: it yields a full map, not one value per channel.
#include <archetype/archetype.hpp>

using namespace archetype;

#ifdef ARCHETYPE_FIXED
using Gate = Seq<GlobalAvgPool, Conv1x1<16, 1, true>, Sigmoid>;
#else
using Gate = Seq<Conv1x1<16, 1, true>, Sigmoid>;
#endif

struct Gated final : Net<Input<Shape{16, 8, 8}>, Seq<Conv3x3<16>, Scale<Gate>>> {};

static_assert(has_params_v<Gated, 16 * 16 * 9 + 16 * 16 + 16>);
