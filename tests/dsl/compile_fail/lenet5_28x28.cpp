// expect: archetype: Conv kernel is larger than its padded input
// expect-also: {"c5"}
// expect-also: input{16, 4, 4}
// expect-also: kernel{5, 5}
// expect-also: padding{0, 0}
// The LeNet-5 of a popular tutorial: the classic layer table (conv 5x5 -> 6, pool 2,
// conv 5x5 -> 16, pool 2, conv 5x5 -> 120, fc 84, fc 10) written for 32x32 images and fed
// 28x28 MNIST/Fashion-MNIST images: 28 -> 24 -> 12 -> 8 -> 4, and the third 5x5
// convolution (C5) meets a 4x4 map. On 32x32: 32 -> 28 -> 14 -> 10 -> 5 -> 1.
#include <archetype/archetype.hpp>

using namespace archetype;

using ClassicLeNet5 = Seq<Named<"c1", Conv<6, 5, 1, 0, 1, true>>, ReLU, Named<"s2", MaxPool<2>>,
                          Named<"c3", Conv<16, 5, 1, 0, 1, true>>, ReLU, Named<"s4", MaxPool<2>>,
                          Named<"c5", Conv<120, 5, 1, 0, 1, true>>, ReLU, Flatten,
                          Named<"f6", Linear<84>>, ReLU, Named<"output", Linear<10>>>;

struct LeNet5 final : Net<Input<Shape{1, 32, 32}>, ClassicLeNet5, 10> {};

#ifdef ARCHETYPE_FIXED
// The same definition fed 28x28 images through its declared adapter (zero-padded to 32x32).
struct LeNet5Fashion final : Adapted<LeNet5, Shape{1, 28, 28}> {};
#else
struct LeNet5Fashion final : Net<Input<Shape{1, 28, 28}>, ClassicLeNet5, 10> {};
#endif

// 156 + 2,416 + 48,120 (C5: 120 * 16 * 25 + 120) + 10,164 + 850
static_assert(has_params_v<LeNet5Fashion, 61'706>);
