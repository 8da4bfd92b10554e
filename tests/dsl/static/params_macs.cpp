// Parameters, buffers and MACs of small nets, each figure computed by hand in a comment.
// Conventions (analysis.hpp): params are trainable (BatchNorm gamma and beta count, its
// running statistics are buffers); MACs are the multiply-accumulates of convolutions and
// linear layers for one image; FLOPs = 2 x MACs.
#include "support.hpp"

namespace archetype::static_tests {
namespace {

// --- Single layers ----------------------------------------------------------------------
// LeNet-5 C1, 5x5 conv with bias, 1 -> 6 channels on 32x32 (out 6x28x28):
//   params 6 * 1 * 25 + 6 = 156; MACs 28 * 28 * 6 * 25 = 117,600
using C1 = On<Shape{1, 32, 32}, Conv<6, 5, 1, 0, 1, true>>;
static_assert(params_v<C1> == 156 && buffers_v<C1> == 0);
static_assert(macs_v<C1> == 117'600 && flops_v<C1> == 235'200);

// 3x3 conv without bias, 3 -> 16 on 32x32 (same padding):
//   params 16 * 3 * 9 = 432; MACs 32 * 32 * 16 * 27 = 442,368
using Stem = On<Shape{3, 32, 32}, Conv3x3<16>>;
static_assert(params_v<Stem> == 432 && macs_v<Stem> == 442'368);

// the same with bias: + 16 parameters, MACs unchanged
using StemBias = On<Shape{3, 32, 32}, Conv3x3<16, 1, true>>;
static_assert(params_v<StemBias> == 448 && macs_v<StemBias> == 442'368);

// stride 2 divides the MACs by 4 (16x16 outputs), not the parameters:
//   MACs 16 * 16 * 16 * 27 = 110,592
using StemS2 = On<Shape{3, 32, 32}, Conv3x3<16, 2>>;
static_assert(params_v<StemS2> == 432 && macs_v<StemS2> == 110'592);

// 4 groups, 16 -> 32 on 8x8: each output sees 16 / 4 = 4 channels:
//   params 32 * 4 * 9 = 1,152; MACs 8 * 8 * 32 * 36 = 73,728
using Grouped = On<Shape{16, 8, 8}, Conv<32, 3, 1, same, 4>>;
static_assert(params_v<Grouped> == 1'152 && macs_v<Grouped> == 73'728);

// depthwise (groups = channels = 16): params 16 * 1 * 9 = 144; MACs 64 * 16 * 9 = 9,216
using Depthwise = On<Shape{16, 8, 8}, Conv<16, 3, 1, same, 16>>;
static_assert(params_v<Depthwise> == 144 && macs_v<Depthwise> == 9'216);

// 1x7, 4 -> 8 on 17x17 (same): params 8 * 4 * 7 = 224; MACs 17 * 17 * 224 = 64,736
using OneBySeven = On<Shape{4, 17, 17}, ConvKxL<8, 1, 7>>;
static_assert(params_v<OneBySeven> == 224 && macs_v<OneBySeven> == 64'736);

// 1x1 stride 2, 64 -> 128 on 56x56 (out 28x28): params 8,192; MACs 784 * 8,192 = 6,422,528
using Downsample = On<Shape{64, 56, 56}, Conv1x1<128, 2>>;
static_assert(params_v<Downsample> == 8'192 && macs_v<Downsample> == 6'422'528);

// Linear 400 -> 10: params 4,000 + 10; MACs 4,000; without bias 4,000 parameters
static_assert(params_v<On<Shape{400, 1, 1}, Linear<10>>> == 4'010);
static_assert(macs_v<On<Shape{400, 1, 1}, Linear<10>>> == 4'000);
static_assert(params_v<On<Shape{400, 1, 1}, Linear<10, false>>> == 4'000);

// BatchNorm on 16 channels: gamma, beta trainable (32); running mean, variance buffers (32)
using BN = On<Shape{16, 8, 8}, BatchNorm>;
static_assert(params_v<BN> == 32 && buffers_v<BN> == 32 && macs_v<BN> == 0);

// Layers without parameters or MACs
using Free = On<Shape{16, 8, 8}, ReLU, MaxPool<2>, AvgPool<2, 1>, LocalResponseNorm<>,
                ZeroPadShortcut<32, 1>, Dropout<0.25>, GlobalAvgPool, Flatten>;
static_assert(params_v<Free> == 0 && buffers_v<Free> == 0 && macs_v<Free> == 0);
static_assert(output_shape_v<Free> == Shape{32, 1, 1});

// --- Small nets ---------------------------------------------------------------------------
// MLP 784 -> 100 -> 10:
//   params 784 * 100 + 100 = 78,500 and 100 * 10 + 10 = 1,010: 79,510
//   MACs 78,400 + 1,000 = 79,400
struct Mlp final : Net<Input<Shape{1, 28, 28}>, Seq<Flatten, Linear<100>, ReLU, Linear<10>>, 10> {};
static_assert(params_v<Mlp> == 79'510 && macs_v<Mlp> == 79'400 && flops_v<Mlp> == 158'800);
static_assert(has_params_v<Mlp, 79'510>);
static_assert(has_macs_near_v<Mlp, 79'400, 0>);
static_assert(has_macs_near_v<Mlp, 80'000>);      // 0.75% away: within the default 1%
static_assert(has_macs_near_v<Mlp, 78'000, 20>);  // 1.8% away: within 2%

// A small CNN on 3x32x32:
//   conv 3x3 3->16      params 432     MACs 32*32*16*27  =   442,368
//   BN 16               params 32      buffers 32
//   max pool 2          -> 16x16x16
//   conv 3x3 16->32     params 4,608   MACs 16*16*32*144 = 1,179,648
//   BN 32               params 64      buffers 64
//   global pool         -> 32x1x1
//   linear 32->10       params 330     MACs 320
//   total               params 5,466   buffers 96   MACs 1,622,336
struct SmallCnn final : Net<Input<Shape{3, 32, 32}>,
                            Seq<Conv3x3<16>, BatchNorm, ReLU, MaxPool<2>, Conv3x3<32>, BatchNorm,
                                ReLU, GlobalAvgPool, Linear<10>>,
                            10> {};
static_assert(output_shape_v<SmallCnn> == Shape{10, 1, 1});
static_assert(params_v<SmallCnn> == 5'466 && buffers_v<SmallCnn> == 96);
static_assert(macs_v<SmallCnn> == 1'622'336);

// LeNet-5 (ReLU / max-pool port) on 32x32:
//   conv1 156 (MACs 117,600), conv2 16*6*25 + 16 = 2,416 (MACs 10*10*16*150 = 240,000),
//   fc1 400*120 + 120 = 48,120 (48,000), fc2 120*84 + 84 = 10,164 (10,080),
//   fc3 84*10 + 10 = 850 (840): params 61,706, MACs 416,520
struct LeNet final
    : Net<Input<Shape{1, 32, 32}>,
          Seq<Conv<6, 5, 1, 0, 1, true>, ReLU, MaxPool<2>, Conv<16, 5, 1, 0, 1, true>, ReLU,
              MaxPool<2>, Flatten, Linear<120>, ReLU, Linear<84>, ReLU, Linear<10>>,
          10> {};
static_assert(params_v<LeNet> == 61'706 && macs_v<LeNet> == 416'520);

// A post-activation basic block with a projection, 16x8x8 -> 32x4x4:
//   body  conv 3x3/2 16->32   params 4,608  MACs 4*4*32*144 = 73,728
//         BN 32               params 64     buffers 64
//         conv 3x3 32->32     params 9,216  MACs 16*9,216   = 147,456
//         BN 32               params 64     buffers 64
//   shortcut conv 1x1/2 16->32 params 512   MACs 16*512     = 8,192
//         BN 32               params 64     buffers 64
//   total params 14,528 (9CP + 9P^2 + 4P = 13,952, + 576), buffers 192, MACs 229,376
using Body = Seq<Conv3x3<32, 2>, BatchNorm, ReLU, Conv3x3<32>, BatchNorm>;
using Projection = Seq<Conv1x1<32, 2>, BatchNorm>;
struct ProjectionBlock final : Net<Input<Shape{16, 8, 8}>, Residual<Body, Projection, ReLU>> {};
static_assert(output_shape_v<ProjectionBlock> == Shape{32, 4, 4});
static_assert(params_v<ProjectionBlock> == 14'528 && buffers_v<ProjectionBlock> == 192);
static_assert(macs_v<ProjectionBlock> == 229'376);
// its plain twin loses exactly the projection: 14,528 - 576 = 13,952; MACs - 8,192 = 221,184
static_assert(params_v<Plain<ProjectionBlock>> == 13'952 &&
              buffers_v<Plain<ProjectionBlock>> == 128);
static_assert(macs_v<Plain<ProjectionBlock>> == 221'184);
// option A instead: no parameters in the shortcut
struct OptionABlock final
    : Net<Input<Shape{16, 8, 8}>, Residual<Body, ZeroPadShortcut<32, 2>, ReLU>> {};
static_assert(params_v<OptionABlock> == 13'952 && macs_v<OptionABlock> == 221'184);
static_assert(params_v<Plain<OptionABlock>> == params_v<OptionABlock>);

// An Inception-style concat on 8x16x16 (256 positions):
//   branch1 1x1 8->4        params 32
//   branch2 3x3 8->6        params 432
//   branch3 pool, 1x1 8->2  params 16
//   out 4+6+2 = 12 channels; params 480; MACs 256 * 480 = 122,880
struct Inception final : Net<Input<Shape{8, 16, 16}>,
                             Concat<Conv1x1<4>, Conv3x3<6>, Seq<MaxPool<3, 1, 1>, Conv1x1<2>>>> {};
static_assert(output_shape_v<Inception> == Shape{12, 16, 16});
static_assert(params_v<Inception> == 480 && macs_v<Inception> == 122'880);

// Repeat: 3 copies of conv 3x3 8->8 (576 params, 64 * 576 = 36,864 MACs each)
struct Repeated final : Net<Input<Shape{8, 8, 8}>, Repeat<3, Seq<Conv3x3<8>, ReLU>>> {};
static_assert(params_v<Repeated> == 1'728 && macs_v<Repeated> == 110'592);

// The input adapters cost nothing; a Resize multiplies the MACs that follow:
// conv 3x3 1->4 on 28x28: params 36, MACs 784 * 36 = 28,224; on 56x56: 4 * 28,224 = 112,896
static_assert(params_v<On<Shape{1, 28, 28}, Conv3x3<4>>> == 36);
static_assert(macs_v<On<Shape{1, 28, 28}, Conv3x3<4>>> == 28'224);
static_assert(macs_v<On<Shape{1, 28, 28}, Resize<56>, Conv3x3<4>>> == 112'896);
static_assert(params_v<On<Shape{1, 28, 28}, Resize<56>, Conv3x3<4>>> == 36);

// totals_v gathers every figure at once
static_assert(totals_v<SmallCnn>.params == params_v<SmallCnn>);
static_assert(totals_v<SmallCnn>.buffers == buffers_v<SmallCnn>);
static_assert(totals_v<SmallCnn>.macs == macs_v<SmallCnn>);
static_assert(totals_v<SmallCnn>.rows == 9);

}  // namespace
}  // namespace archetype::static_tests
