// Activation memory (fp32, 4 bytes), computed by hand on tiny nets. Conventions
// (analysis.hpp): every layer writes a new tensor except views (Flatten, Dropout, an
// AdaptiveAvgPool that changes nothing); the inference peak is the largest total alive
// at once (a layer's input and output; a Residual's or Concat's input and finished
// branches stay alive until the join); training saved = input + every non-view output
// (joins included) — no: training saved is what the backward pass reads (dsl/backward.hpp):
// a Conv's or Linear's input (its weight gradient), a ReLU's output, a MaxPool's input;
// nothing for a sum, a concatenation or a Dropout (its mask).
#include "support.hpp"

namespace archetype::static_tests {
namespace {

// --- A chain -----------------------------------------------------------------------------
// input 1x4x4                         16 elements                 peak 16   saved 16 (conv reads
// it) conv 3x3 -> 2x4x4                   32 (16 + 32 alive)          peak 48   (the relu reads its
// output) relu -> 2x4x4                       32 (32 + 32 alive)          peak 64   saved 48 pool 2
// -> 2x2x2                      8 (32 + 8)                           (max pool: its input) flatten
// (view)                       0 linear -> 3                          3 (8 + 3) saved 56 (its
// input) peak 64 elements = 256 bytes per image, saved 56 elements = 224 bytes per image
struct Chain final
    : Net<Input<Shape{1, 4, 4}>, Seq<Conv<2, 3>, ReLU, MaxPool<2>, Flatten, Linear<3>>, 3> {};
static_assert(totals_v<Chain>.inference_peak_elements == 64);
static_assert(totals_v<Chain>.training_saved_elements == 56);
static_assert(activation_bytes_v<Chain, 1>.inference_peak == 256);
static_assert(activation_bytes_v<Chain, 1>.training_saved == 224);
// linear in the batch
static_assert(activation_bytes_v<Chain, 8>.inference_peak == 8 * 256);
static_assert(activation_bytes_v<Chain, 8>.training_saved == 8 * 224);
static_assert(activation_bytes_v<Chain, 128>.training_saved == 128 * 224);
static_assert(activation_bytes_v<Chain, 0>.inference_peak == 0);

// views add nothing to the peak: Dropout and Flatten, and an AdaptiveAvgPool to the size it
// has; in training a Dropout writes a new tensor (the max pool reads it: 32 more saved)
struct WithViews final
    : Net<Input<Shape{1, 4, 4}>,
          Seq<Conv<2, 3>, AdaptiveAvgPool<4>, ReLU, Dropout<0.5>, MaxPool<2>, Flatten, Linear<3>>,
          3> {};
static_assert(totals_v<WithViews>.inference_peak_elements == 64);
static_assert(totals_v<WithViews>.training_saved_elements == 88);
// the input alone, which a Flatten's backward does not read
static_assert(totals_v<On<Shape{3, 32, 32}, Flatten>>.inference_peak_elements == 3'072);
static_assert(totals_v<On<Shape{3, 32, 32}, Flatten>>.training_saved_elements == 0);

// --- A residual block with the identity shortcut, on 2x4x4 (32 elements) -------------------
// input x                                32                            saved 32 (the conv's)
// conv -> 32: x + conv out               64    peak 64
// relu -> 32: x + conv out + relu out    96    peak 96                 saved 64 (its output)
// add -> 32: x + relu out + sum          96                            (reads nothing)
struct IdentityBlock final : Net<Input<Shape{2, 4, 4}>, Residual<Seq<Conv<2, 3>, ReLU>>> {};
static_assert(totals_v<IdentityBlock>.inference_peak_elements == 96);
static_assert(totals_v<IdentityBlock>.training_saved_elements == 64);

// --- With a projection shortcut ---------------------------------------------------------------
// input x 32; body conv 32 (x + out: 64); shortcut 1x1 -> 32 while x and the body's output
// live (96); add: x + body + shortcut + sum = 128.  saved: x, read by both convs, 32
struct ProjectionBlock final : Net<Input<Shape{2, 4, 4}>, Residual<Conv<2, 3>, Conv1x1<2>>> {};
static_assert(totals_v<ProjectionBlock>.inference_peak_elements == 128);
static_assert(totals_v<ProjectionBlock>.training_saved_elements == 32);
static_assert(activation_bytes_v<ProjectionBlock, 2>.inference_peak == 2 * 128 * 4);

// --- A concat of two branches on 2x4x4 (32) ---------------------------------------------------
// branch1 1x1 -> 1x4x4 (16): x + 16 = 48; branch2 1x1 -> 3x4x4 (48) with x and branch1
// alive: 32 + 16 + 48 = 96; concat -> 4x4x4 (64): 32 + 16 + 48 + 64 = 160.
// saved: x, read by both convs, 32
struct TwoBranches final : Net<Input<Shape{2, 4, 4}>, Concat<Conv1x1<1>, Conv1x1<3>>> {};
static_assert(output_shape_v<TwoBranches> == Shape{4, 4, 4});
static_assert(totals_v<TwoBranches>.inference_peak_elements == 160);
static_assert(totals_v<TwoBranches>.training_saved_elements == 32);

// --- After the join, the block's input is released -----------------------------------------------
// identity block as above (peak 96, saved 64, output 32), then a 1x1 to 4x4x4 (64):
// sum + out = 32 + 64 = 96 (the peak stays 96); saved 64 + the sum the 1x1 reads, 32 = 96
struct BlockThenConv final
    : Net<Input<Shape{2, 4, 4}>, Seq<Residual<Seq<Conv<2, 3>, ReLU>>, Conv1x1<4>>> {};
static_assert(totals_v<BlockThenConv>.inference_peak_elements == 96);
static_assert(totals_v<BlockThenConv>.training_saved_elements == 96);
// then a 1x1 to 8x4x4 (128): 32 + 128 = 160 is the new peak; saved 96 as above
struct BlockThenWideConv final
    : Net<Input<Shape{2, 4, 4}>, Seq<Residual<Seq<Conv<2, 3>, ReLU>>, Conv1x1<8>>> {};
static_assert(totals_v<BlockThenWideConv>.inference_peak_elements == 160);
static_assert(totals_v<BlockThenWideConv>.training_saved_elements == 96);

}  // namespace
}  // namespace archetype::static_tests
