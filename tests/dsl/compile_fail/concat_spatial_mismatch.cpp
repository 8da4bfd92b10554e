// expect: archetype: Concat branches produce different spatial sizes
// expect-also: {"0.concat"}
// expect-also: branch_output<1>{64, 17, 17}
// expect-also: branch_output<3>{32, 15, 15}
// An Inception-style block whose pooling branch forgot its padding: 17x17 next to 15x15.
#include <archetype/archetype.hpp>

using namespace archetype;

#ifdef ARCHETYPE_FIXED
using PoolBranch = Seq<MaxPool<3, 1, 1>, Conv1x1<32>>;
#else
using PoolBranch = Seq<MaxPool<3, 1>, Conv1x1<32>>;
#endif

struct Mixed final : Concat<Conv1x1<64>, Seq<Conv1x1<48>, Conv<64, 5>>, PoolBranch> {};
struct Small final : Net<Input<Shape{192, 17, 17}>, Seq<Mixed, GlobalAvgPool, Linear<10>>, 10> {};

static_assert(output_shape_v<Small> == Shape{10, 1, 1} || !Small::valid);
