// Receptive field of one output position of the last spatial layer, in input pixels per
// side: r_out = r_in + (k - 1) * j_in, j_out = j_in * s, starting at r = 1, j = 1; the
// largest over parallel branches; stopped by the first global layer.
#include "support.hpp"

namespace archetype::static_tests {
namespace {

template <Shape In, class... Ls>
inline constexpr ReceptiveField rf_of = receptive_field_v<On<In, Ls...>>;

inline constexpr Shape image{3, 64, 64};

constexpr ReceptiveField square(std::int64_t n) { return ReceptiveField{n, n}; }

// nothing but the input: 1
static_assert(rf_of<image, ReLU> == square(1));
// one 3x3: 3; two: 1 + 2 + 2 = 5; three: 7 (VGG's argument: three 3x3 see what one 7x7 sees)
static_assert(rf_of<image, Conv3x3<8>> == square(3));
static_assert(rf_of<image, Conv3x3<8>, Conv3x3<8>> == square(5));
static_assert(rf_of<image, Conv3x3<8>, Conv3x3<8>, Conv3x3<8>> == square(7));
static_assert(rf_of<image, Conv<8, 7>> == square(7));
static_assert(rf_of<image, Repeat<3, Conv3x3<8>>> == square(7));
// two 5x5: 1 + 4 + 4 = 9
static_assert(rf_of<image, Conv<8, 5>, Conv<8, 5>> == square(9));
// padding does not matter
static_assert(rf_of<image, Conv<8, 3, 1, 0>, Conv<8, 3, 1, 0>> == square(5));
// 1x1 convolutions add nothing
static_assert(rf_of<image, Conv1x1<8>, Conv3x3<8>, Conv1x1<8>> == square(3));
// activations, normalization, dropout add nothing
static_assert(rf_of<image, Conv3x3<8>, BatchNorm, ReLU, Dropout<0.5>, LocalResponseNorm<>> ==
              square(3));

// --- Stride: later kernels step in units of the accumulated stride ---------------------
// 3x3/2 then 3x3: 3, jump 2, then 3 + 2 * 2 = 7
static_assert(rf_of<image, Conv3x3<8, 2>, Conv3x3<8>> == square(7));
// 3x3 then 3x3/2: 3 + 2 = 5 (the stride of the last layer does not widen its own field)
static_assert(rf_of<image, Conv3x3<8>, Conv3x3<8, 2>> == square(5));
// 2x2 pooling then 3x3: 2, jump 2, 2 + 2 * 2 = 6
static_assert(rf_of<image, MaxPool<2>, Conv3x3<8>> == square(6));
// ResNet stem: 7x7/2 -> 7, jump 2; 3x3/2 pool -> 7 + 2 * 2 = 11, jump 4; 3x3 -> 11 + 2 * 4 = 19
static_assert(rf_of<Shape{3, 224, 224}, Conv<64, 7, 2, 3>, MaxPool<3, 2, 1>> == square(11));
static_assert(rf_of<Shape{3, 224, 224}, Conv<64, 7, 2, 3>, MaxPool<3, 2, 1>, Conv3x3<64>> ==
              square(19));
// two 2x2/2 poolings then a 3x3: 2, 2 + 1 * 2 = 4 (jump 4), 4 + 2 * 4 = 12
static_assert(rf_of<image, MaxPool<2>, MaxPool<2>, Conv3x3<8>> == square(12));
// a 1x1 stride-2 convolution samples: 1, jump 2; then 3x3: 1 + 2 * 2 = 5
static_assert(rf_of<image, Conv1x1<8, 2>, Conv3x3<8>> == square(5));
// LeNet-5: 5 -> pool 6 (jump 2) -> 5x5: 6 + 4 * 2 = 14 (jump 2) -> pool: 14 + 1 * 2 = 16
static_assert(
    rf_of<Shape{1, 32, 32}, Conv<6, 5, 1, 0>, MaxPool<2>, Conv<16, 5, 1, 0>, MaxPool<2>> ==
    square(16));

// --- Asymmetric kernels -----------------------------------------------------------------
static_assert(rf_of<image, ConvKxL<8, 1, 7>> == (ReceptiveField{1, 7}));
static_assert(rf_of<image, ConvKxL<8, 7, 1>> == (ReceptiveField{7, 1}));
static_assert(rf_of<image, ConvKxL<8, 1, 7>, ConvKxL<8, 7, 1>> == square(7));
static_assert(rf_of<image, ConvKxL<8, 3, 5>> == (ReceptiveField{3, 5}));

// --- Global layers end it ----------------------------------------------------------------
static_assert(rf_of<image, Conv3x3<8>, GlobalAvgPool, Linear<10>> == square(3));
static_assert(rf_of<image, Conv3x3<8>, Flatten, Linear<10>> == square(3));
static_assert(rf_of<Shape{3, 4, 4}, Conv3x3<8>, Flatten, Linear<10>> == square(3));
// an AdaptiveAvgPool that changes the size is global; one that changes nothing is not
static_assert(rf_of<Shape{3, 14, 14}, Conv3x3<8>, AdaptiveAvgPool<7>, Conv3x3<8>> == square(3));
static_assert(rf_of<Shape{3, 7, 7}, Conv3x3<8>, AdaptiveAvgPool<7>, Conv3x3<8>> == square(5));

// --- It may exceed the image ---------------------------------------------------------------
// ten 3x3 convolutions on 8x8: 1 + 10 * 2 = 21
static_assert(rf_of<Shape{3, 8, 8}, Repeat<10, Conv3x3<8>>> == square(21));

// --- Parallel branches: the widest ------------------------------------------------------------
// identity shortcut beside two 3x3: 5
static_assert(rf_of<Shape{8, 16, 16}, Residual<Seq<Conv3x3<8>, Conv3x3<8>>>> == square(5));
// body 3x3/2 + 3x3 (3, then 3 + 2 * 2 = 7, jump 2); shortcut 1x1/2 (1, jump 2): 7, and a
// following 3x3 steps by 2: 7 + 2 * 2 = 11
static_assert(rf_of<Shape{8, 16, 16}, Residual<Seq<Conv3x3<8, 2>, Conv3x3<8>>, Conv1x1<8, 2>>> ==
              square(7));
static_assert(
    rf_of<Shape{8, 16, 16}, Residual<Seq<Conv3x3<8, 2>, Conv3x3<8>>, Conv1x1<8, 2>>, Conv3x3<8>> ==
    square(11));
// two stacked residual blocks of two 3x3: 5, then 9
static_assert(rf_of<Shape{8, 16, 16}, Repeat<2, Residual<Seq<Conv3x3<8>, Conv3x3<8>>>>> ==
              square(9));
// `After` counts after the join: 5 + 2 = 7
static_assert(
    rf_of<Shape{8, 16, 16}, Residual<Seq<Conv3x3<8>, Conv3x3<8>>, Identity, Conv3x3<8>>> ==
    square(7));
// Concat: the widest branch, 1x1 beside 5x5 beside 3x3-3x3: 5
static_assert(
    rf_of<Shape{8, 16, 16}, Concat<Conv1x1<4>, Conv<4, 5>, Seq<Conv3x3<4>, Conv3x3<4>>>> ==
    square(5));
static_assert(rf_of<Shape{8, 16, 16},
                    Concat<Conv1x1<4>, Seq<Conv3x3<4>, Conv3x3<4>, Conv3x3<4>>, Conv<4, 5>>> ==
              square(7));
// the widest per direction: 1x7 beside 7x1 is 7x7
static_assert(rf_of<Shape{8, 16, 16}, Concat<ConvKxL<4, 1, 7>, ConvKxL<4, 7, 1>>> == square(7));

}  // namespace
}  // namespace archetype::static_tests
