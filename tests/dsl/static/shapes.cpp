// Shapes: Shape itself, convolution and pooling arithmetic (padding, stride, groups,
// asymmetric kernels, ceil mode), and every other layer's output shape.
#include "support.hpp"

namespace archetype::static_tests {
namespace {

// --- Shape ------------------------------------------------------------------------------
static_assert(Shape{3, 224, 224}.elements() == 150'528);
static_assert(Shape{2048, 7, 7}.elements() == 100'352);
static_assert(Shape{512, 1, 1}.flat() && !Shape{512, 2, 1}.flat() && !Shape{512, 1, 2}.flat());
static_assert(Shape{1, 1, 1}.positive() && !Shape{0, 28, 28}.positive() &&
              !Shape{1, 28, -1}.positive());
static_assert(Shape{3, 32, 32} == Shape{3, 32, 32} && Shape{3, 32, 32} != Shape{3, 32, 31});
static_assert(detail::poisoned(detail::poisoned_shape) && !detail::poisoned(Shape{1, 1, 1}));
// Shapes as template arguments: equal values are the same type.
static_assert(std::is_same_v<Input<Shape{3, 32, 32}>, Input<Shape{3, 32, 32}>>);

// --- Conv: out = (in + 2P - K) / S + 1, P = (K - 1) / 2 for `same` -----------------------
// (224 + 2*3 - 7) / 2 + 1 = 223 / 2 + 1 = 112 (ResNet stem)
static_assert(Conv<64, 7, 2, 3>::output_shape<Shape{3, 224, 224}>() == Shape{64, 112, 112});
// `same` with K = 7 is P = 3: the same figure
static_assert(Conv<64, 7, 2>::output_shape<Shape{3, 224, 224}>() == Shape{64, 112, 112});
// (224 + 2*2 - 11) / 4 + 1 = 217 / 4 + 1 = 55 (AlexNet conv1)
static_assert(Conv<64, 11, 4, 2>::output_shape<Shape{3, 224, 224}>() == Shape{64, 55, 55});
// same padding keeps the size at stride 1 for odd kernels: 3 -> P 1, 5 -> P 2
static_assert(Conv<16, 3>::output_shape<Shape{3, 32, 32}>() == Shape{16, 32, 32});
static_assert(Conv<8, 5>::output_shape<Shape{1, 28, 28}>() == Shape{8, 28, 28});
// even kernel, `same` is P = (4 - 1) / 2 = 1: (10 + 2 - 4) + 1 = 9, one smaller
static_assert(Conv<8, 4>::output_shape<Shape{3, 10, 10}>() == Shape{8, 9, 9});
// no padding: 32 - 5 + 1 = 28 (LeNet-5 C1)
static_assert(Conv<6, 5, 1, 0>::output_shape<Shape{1, 32, 32}>() == Shape{6, 28, 28});
// the kernel exactly as large as the input: one position
static_assert(Conv<4, 5, 1, 0>::output_shape<Shape{1, 5, 5}>() == Shape{4, 1, 1});
// stride 2 rounds down: (7 + 2 - 3) / 2 + 1 = 4; (33 + 2 - 3) / 2 + 1 = 17
static_assert(Conv<8, 3, 2>::output_shape<Shape{3, 7, 7}>() == Shape{8, 4, 4});
static_assert(Conv3x3<32, 2>::output_shape<Shape{16, 32, 32}>() == Shape{32, 16, 16});
static_assert(Conv3x3<32, 2>::output_shape<Shape{16, 33, 33}>() == Shape{32, 17, 17});
// non-square input: (10 - 3) + 1 = 8, (20 - 3) + 1 = 18
static_assert(Conv<8, 3, 1, 0>::output_shape<Shape{3, 10, 20}>() == Shape{8, 8, 18});
// 1x1 stride 2: (56 - 1) / 2 + 1 = 28; (7 - 1) / 2 + 1 = 4
static_assert(Conv1x1<128, 2>::output_shape<Shape{64, 56, 56}>() == Shape{128, 28, 28});
static_assert(Conv1x1<8, 2>::output_shape<Shape{4, 7, 7}>() == Shape{8, 4, 4});
// groups change parameters, not shapes
static_assert(Conv<32, 3, 1, same, 4>::output_shape<Shape{16, 8, 8}>() == Shape{32, 8, 8});
static_assert(Conv<16, 3, 1, same, 16>::output_shape<Shape{16, 8, 8}>() == Shape{16, 8, 8});

// --- Asymmetric kernels: Kh x Kw, `same` padding per direction -------------------------
// 1x7 same: P = 0 x 3 keeps 17x17; 7x1 same: P = 3 x 0 keeps 17x17 (Inception-v3)
static_assert(ConvKxL<8, 1, 7>::output_shape<Shape{4, 17, 17}>() == Shape{8, 17, 17});
static_assert(ConvKxL<8, 7, 1>::output_shape<Shape{4, 17, 17}>() == Shape{8, 17, 17});
// 1x7 unpadded: h 17, w 17 - 7 + 1 = 11
static_assert(ConvKxL<8, 1, 7, 1, 0, 0>::output_shape<Shape{4, 17, 17}>() == Shape{8, 17, 11});
// 3x5 stride 2 unpadded: h (17 - 3) / 2 + 1 = 8, w (17 - 5) / 2 + 1 = 7
static_assert(ConvKxL<8, 3, 5, 2, 0, 0>::output_shape<Shape{4, 17, 17}>() == Shape{8, 8, 7});
// 3x5 with explicit P 1 x 2: the size is kept
static_assert(ConvKxL<8, 3, 5, 1, 1, 2>::output_shape<Shape{4, 9, 12}>() == Shape{8, 9, 12});
// a wide kernel on a wide map: h 1 (1 x 7 on height 1), w 10 - 7 + 1 = 4
static_assert(ConvKxL<2, 1, 7, 1, 0, 0>::output_shape<Shape{3, 1, 10}>() == Shape{2, 1, 4});

// --- Pooling: floor by default; ceil mode as PyTorch ------------------------------------
static_assert(MaxPool<2>::output_shape<Shape{6, 28, 28}>() == Shape{6, 14, 14});
// odd input, floor: (5 - 2) / 2 + 1 = 2
static_assert(MaxPool<2>::output_shape<Shape{6, 5, 5}>() == Shape{6, 2, 2});
// ceil: ceil(3 / 2) + 1 = 3, and the last window starts at 4 < 5: kept
static_assert(MaxPool<2, 2, 0, true>::output_shape<Shape{6, 5, 5}>() == Shape{6, 3, 3});
// AlexNet's 3x3/2 poolings: 55 -> 27 -> 13 -> 6
static_assert(MaxPool<3, 2>::output_shape<Shape{64, 55, 55}>() == Shape{64, 27, 27});
static_assert(MaxPool<3, 2>::output_shape<Shape{192, 27, 27}>() == Shape{192, 13, 13});
static_assert(MaxPool<3, 2>::output_shape<Shape{256, 13, 13}>() == Shape{256, 6, 6});
// ResNet's 3x3/2 pad 1: (112 + 2 - 3) / 2 + 1 = 56
static_assert(MaxPool<3, 2, 1>::output_shape<Shape{64, 112, 112}>() == Shape{64, 56, 56});
// GoogLeNet's 3x3/2 ceil on 112: floor(109 / 2) + 1 = 55, ceil(109 / 2) + 1 = 56
static_assert(MaxPool<3, 2>::output_shape<Shape{64, 112, 112}>() == Shape{64, 55, 55});
static_assert(MaxPool<3, 2, 0, true>::output_shape<Shape{64, 112, 112}>() == Shape{64, 56, 56});
// ceil with padding: 6 + 2 - 3 = 5, ceil(5 / 2) + 1 = 4, last window starts at 6 < 6 + 1
static_assert(MaxPool<3, 2, 1, true>::output_shape<Shape{1, 6, 6}>() == Shape{1, 4, 4});
static_assert(MaxPool<3, 2, 1>::output_shape<Shape{1, 6, 6}>() == Shape{1, 3, 3});
// ceil mode's extra window dropped when it would start in the right padding:
// 5 + 2 - 2 = 5, ceil(5 / 2) + 1 = 4, but (4 - 1) * 2 = 6 >= 5 + 1: 3 (as floor)
static_assert(MaxPool<2, 2, 1, true>::output_shape<Shape{1, 5, 5}>() == Shape{1, 3, 3});
static_assert(MaxPool<2, 2, 1>::output_shape<Shape{1, 5, 5}>() == Shape{1, 3, 3});
// one window exactly: (3 - 3) / 2 + 1 = 1, in either mode
static_assert(MaxPool<3, 2, 0, true>::output_shape<Shape{4, 3, 3}>() == Shape{4, 1, 1});
static_assert(detail::pooled_size(13, 3, 2, 0, true) == 6);  // 10 / 2 + 1 = 6 exactly
static_assert(detail::pooled_size(14, 3, 2, 0, false) == 6 &&
              detail::pooled_size(14, 3, 2, 0, true) == 7);
// non-square input
static_assert(MaxPool<2>::output_shape<Shape{3, 8, 6}>() == Shape{3, 4, 3});
// AvgPool shares the arithmetic
static_assert(AvgPool<2>::output_shape<Shape{16, 10, 10}>() == Shape{16, 5, 5});
static_assert(AvgPool<3, 1, 1>::output_shape<Shape{8, 7, 7}>() == Shape{8, 7, 7});
static_assert(AvgPool<3, 2, 0, true>::output_shape<Shape{8, 112, 112}>() == Shape{8, 56, 56});

// --- Everything else ----------------------------------------------------------------------
static_assert(GlobalAvgPool::output_shape<Shape{2048, 7, 7}>() == Shape{2048, 1, 1});
static_assert(AdaptiveAvgPool<6>::output_shape<Shape{256, 13, 13}>() == Shape{256, 6, 6});
static_assert(AdaptiveAvgPool<7, 5>::output_shape<Shape{512, 14, 14}>() == Shape{512, 7, 5});
static_assert(AdaptiveAvgPool<7>::output_shape<Shape{512, 1, 1}>() ==
              Shape{512, 7, 7});  // upsamples
static_assert(Flatten::output_shape<Shape{16, 5, 5}>() == Shape{400, 1, 1});
static_assert(Flatten::output_shape<Shape{512, 7, 7}>() == Shape{25'088, 1, 1});
static_assert(Linear<120>::output_shape<Shape{400, 1, 1}>() == Shape{120, 1, 1});
static_assert(BatchNorm::output_shape<Shape{64, 56, 56}>() == Shape{64, 56, 56});
static_assert(ReLU::output_shape<Shape{64, 56, 56}>() == Shape{64, 56, 56});
static_assert(Dropout<0.5>::output_shape<Shape{4096, 1, 1}>() == Shape{4096, 1, 1});
static_assert(Dropout<0.0>::output_shape<Shape{4096, 1, 1}>() == Shape{4096, 1, 1});
static_assert(LocalResponseNorm<>::output_shape<Shape{96, 55, 55}>() == Shape{96, 55, 55});
static_assert(Identity::output_shape<Shape{64, 56, 56}>() == Shape{64, 56, 56});
// option A: channels padded to Out, size ceil(in / S): 32 / 2 = 16, ceil(33 / 2) = 17
static_assert(ZeroPadShortcut<32, 2>::output_shape<Shape{16, 32, 32}>() == Shape{32, 16, 16});
static_assert(ZeroPadShortcut<32, 2>::output_shape<Shape{16, 33, 33}>() == Shape{32, 17, 17});
static_assert(ZeroPadShortcut<16, 1>::output_shape<Shape{16, 8, 8}>() == Shape{16, 8, 8});
static_assert(PadTo<32>::output_shape<Shape{1, 28, 28}>() == Shape{1, 32, 32});
static_assert(PadTo<32, 30>::output_shape<Shape{3, 28, 28}>() == Shape{3, 32, 30});
static_assert(PadTo<28>::output_shape<Shape{1, 28, 28}>() == Shape{1, 28, 28});
static_assert(Resize<224>::output_shape<Shape{1, 28, 28}>() == Shape{1, 224, 224});
static_assert(Resize<16, 8>::output_shape<Shape{3, 32, 32}>() == Shape{3, 16, 8});

// --- Poisoned inputs stay poisoned (after a first error, later layers are silent) -------
static_assert(detail::poisoned(Conv<8, 3>::output_shape<detail::poisoned_shape>()));
static_assert(detail::poisoned(MaxPool<2>::output_shape<detail::poisoned_shape>()));
static_assert(detail::poisoned(Linear<10>::output_shape<detail::poisoned_shape>()));
static_assert(detail::poisoned(Flatten::output_shape<detail::poisoned_shape>()));
static_assert(detail::poisoned(GlobalAvgPool::output_shape<detail::poisoned_shape>()));
static_assert(detail::poisoned(AdaptiveAvgPool<7>::output_shape<detail::poisoned_shape>()));
static_assert(detail::poisoned(Resize<224>::output_shape<detail::poisoned_shape>()));
static_assert(detail::poisoned(PadTo<32>::output_shape<detail::poisoned_shape>()));
static_assert(detail::poisoned(ZeroPadShortcut<32>::output_shape<detail::poisoned_shape>()));
static_assert(detail::poisoned(ReLU::output_shape<detail::poisoned_shape>()));
static_assert(detail::poisoned(Seq<Flatten, Linear<10>>::output_shape<detail::poisoned_shape>()));

// --- Chains of layers ----------------------------------------------------------------------
// LeNet-5 on 32x32: 32 -conv5-> 28 -pool2-> 14 -conv5-> 10 -pool2-> 5, 16*5*5 = 400
static_assert(
    shape_after<Shape{1, 32, 32}, Conv<6, 5, 1, 0>, MaxPool<2>, Conv<16, 5, 1, 0>, MaxPool<2>> ==
    Shape{16, 5, 5});
static_assert(shape_after<Shape{1, 32, 32}, Conv<6, 5, 1, 0>, MaxPool<2>, Conv<16, 5, 1, 0>,
                          MaxPool<2>, Flatten, Linear<120>> == Shape{120, 1, 1});
// On 28x28: 28 -> 24 -> 12 -> 8 -> 4 (LeNet-5's C5 5x5 would not fit: compile_fail/lenet5_28x28)
static_assert(
    shape_after<Shape{1, 28, 28}, Conv<6, 5, 1, 0>, MaxPool<2>, Conv<16, 5, 1, 0>, MaxPool<2>> ==
    Shape{16, 4, 4});
// VGG's five 2x2 poolings: 224 -> 7, 32 -> 1
static_assert(
    shape_after<Shape{3, 224, 224}, MaxPool<2>, MaxPool<2>, MaxPool<2>, MaxPool<2>, MaxPool<2>> ==
    Shape{3, 7, 7});
static_assert(shape_after<Shape{3, 32, 32}, Conv3x3<64>, MaxPool<2>, MaxPool<2>, MaxPool<2>,
                          MaxPool<2>, MaxPool<2>> == Shape{64, 1, 1});

}  // namespace
}  // namespace archetype::static_tests
