// expect: archetype: Linear needs a flat input (C x 1 x 1)
// expect-also: {"0"}
// expect-also: input{16, 5, 5}
// expect-also: out_features{120}
// PyTorch's nn.Linear would act on the last axis of the 16x5x5 tensor; here it is an error.
#include <archetype/archetype.hpp>

using namespace archetype;

#ifdef ARCHETYPE_FIXED
struct Head final : Net<Input<Shape{16, 5, 5}>, Seq<Flatten, Linear<120>>> {};
#else
struct Head final : Net<Input<Shape{16, 5, 5}>, Seq<Linear<120>>> {};
#endif

static_assert(has_params_v<Head, 48'120>);  // 400 * 120 + 120
