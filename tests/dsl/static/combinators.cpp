// Combinators: Seq, Residual, Concat, Repeat, Named, and the net transforms Plain and
// Adapted: shapes, parameter sums and equivalences.
#include "support.hpp"

#include <type_traits>

namespace archetype::static_tests {
namespace {

using Conv8 = Seq<Conv3x3<8>, BatchNorm, ReLU>;  // 8x8x8 -> 8x8x8: 576 + 16 params

// --- Seq ------------------------------------------------------------------------------------
// a Seq of one layer is that layer; nested Seqs are their concatenation
static_assert(Seq<Conv3x3<8>>::output_shape<Shape{3, 8, 8}>() ==
              Conv3x3<8>::output_shape<Shape{3, 8, 8}>());
static_assert(params_v<On<Shape{8, 8, 8}, Seq<Conv8, Conv8>, Conv8>> ==
              params_v<On<Shape{8, 8, 8}, Conv3x3<8>, BatchNorm, ReLU, Conv3x3<8>, BatchNorm, ReLU,
                          Conv3x3<8>, BatchNorm, ReLU>>);
static_assert(params_v<On<Shape{8, 8, 8}, Conv8>> == 592);  // 8*8*9 + 2*8

// --- Residual -------------------------------------------------------------------------------
// identity shortcut: output = the body's = the input shape; params = the body's
struct Identical final : Net<Input<Shape{8, 8, 8}>, Residual<Conv8>> {};
static_assert(output_shape_v<Identical> == Shape{8, 8, 8});
static_assert(params_v<Identical> == 592 && macs_v<Identical> == 36'864);  // 64 * 576
// `After` is applied to the sum: here a 2x2 pooling halves the size
struct WithAfter final : Net<Input<Shape{8, 8, 8}>, Residual<Conv8, Identity, MaxPool<2>>> {};
static_assert(output_shape_v<WithAfter> == Shape{8, 4, 4});
// the shortcut's parameters are added: 1x1 8->16 (128) + BN (32)
struct Projected final
    : Net<Input<Shape{8, 8, 8}>,
          Residual<Seq<Conv3x3<16, 2>, BatchNorm>, Seq<Conv1x1<16, 2>, BatchNorm>>> {};
static_assert(output_shape_v<Projected> == Shape{16, 4, 4});
static_assert(params_v<Projected> == 16 * 8 * 9 + 32 + 128 + 32);
// option A: 16x32x32 -> 32x16x16, no parameters in the shortcut
struct OptionA final : Net<Input<Shape{16, 32, 32}>,
                           Residual<Seq<Conv3x3<32, 2>, BatchNorm, ReLU, Conv3x3<32>, BatchNorm>,
                                    ZeroPadShortcut<32, 2>, ReLU>> {};
static_assert(output_shape_v<OptionA> == Shape{32, 16, 16});
static_assert(params_v<OptionA> == 32 * 16 * 9 + 64 + 32 * 32 * 9 + 64);
// a block declared as a struct derived from Residual is the same layer
struct MyBlock final : Residual<Conv8, Identity, ReLU> {};
static_assert(params_v<On<Shape{8, 8, 8}, MyBlock, MyBlock>> == 2 * 592);
static_assert(Residual<Conv8>::output_shape<Shape{8, 5, 7}>() == Shape{8, 5, 7});

// --- Concat ---------------------------------------------------------------------------------
static_assert(Concat<Conv1x1<4>, Conv3x3<6>, MaxPool<3, 1, 1>>::output_shape<Shape{8, 16, 16}>() ==
              Shape{4 + 6 + 8, 16, 16});
// one branch: that branch
static_assert(Concat<Conv1x1<4>>::output_shape<Shape{8, 16, 16}>() == Shape{4, 16, 16});
// branches that reduce the size alike (stride 2 conv and 3x3/2 pool on 17x17 -> 8x8):
// (17 - 3) / 2 + 1 = 8 both (Inception-v3 reduction)
static_assert(Concat<Conv<96, 3, 2, 0>, MaxPool<3, 2>>::output_shape<Shape{288, 17, 17}>() ==
              Shape{96 + 288, 8, 8});
// parameters are the branches' sum
static_assert(params_v<On<Shape{8, 16, 16}, Concat<Conv1x1<4>, Conv1x1<6>>>> == 32 + 48);

// --- Repeat ---------------------------------------------------------------------------------
// Repeat<N, B> is N copies of B in a Seq
static_assert(params_v<On<Shape{8, 8, 8}, Repeat<3, Conv8>>> ==
              params_v<On<Shape{8, 8, 8}, Conv8, Conv8, Conv8>>);
static_assert(macs_v<On<Shape{8, 8, 8}, Repeat<3, Conv8>>> == 3 * 36'864);
static_assert(params_v<On<Shape{8, 8, 8}, Repeat<1, Conv8>>> ==
              params_v<On<Shape{8, 8, 8}, Conv8>>);
// each copy sees the previous copy's output: 3 halvings 32 -> 4
static_assert(shape_after<Shape{3, 32, 32}, Repeat<3, MaxPool<2>>> == Shape{3, 4, 4});
static_assert(shape_after<Shape{3, 32, 32}, Repeat<2, Conv3x3<8, 2>>> == Shape{8, 8, 8});
// parameters of later copies use the changed channel count: 3->8 (216), 8->8 (576)
static_assert(params_v<On<Shape{3, 32, 32}, Repeat<2, Conv3x3<8, 2>>>> == 216 + 576);
static_assert(Repeat<4, ReLU>::count == 4);

// --- Named ----------------------------------------------------------------------------------
// a name changes paths only: shapes, params and MACs are those of the layer
static_assert(Named<"conv1", Conv3x3<8>>::name == "conv1");
static_assert(Named<"conv1", Conv3x3<8>>::output_shape<Shape{3, 8, 8}>() == Shape{8, 8, 8});
static_assert(params_v<On<Shape{8, 8, 8}, Named<"block", Conv8>>> ==
              params_v<On<Shape{8, 8, 8}, Conv8>>);
static_assert(macs_v<On<Shape{8, 8, 8}, Named<"block", Conv8>>> ==
              macs_v<On<Shape{8, 8, 8}, Conv8>>);
static_assert(totals_v<On<Shape{8, 8, 8}, Named<"block", Conv8>>>.rows == 3);

// --- Plain: every Residual<Body, Shortcut, After> becomes After(Body(x)) --------------------
// (`Residual16` and `MyBlock` are structs whose template arguments name nothing of
// `archetype::detail`: the transform must still find them.)
struct Residual16 final : Residual<Seq<Conv3x3<16>, BatchNorm>, Identity, ReLU> {};
struct ResidualNet final
    : Net<Input<Shape{8, 8, 8}>,
          Seq<Named<"b0",
                    Residual<Seq<Conv3x3<16, 2>, BatchNorm>, Seq<Conv1x1<16, 2>, BatchNorm>, ReLU>>,
              Repeat<2, Residual16>, Concat<Residual16, Named<"plain", Conv1x1<4>>>, GlobalAvgPool,
              Linear<10>>,
          10> {};
// params: b0 body 16*8*9 + 32 = 1,184, projection 128 + 32 = 160;
// Residual16: 16*16*9 + 32 = 2,336 (three of them); concat's 1x1 16->4: 64; fc 16+4=20 -> 10: 210
static_assert(output_shape_v<ResidualNet> == Shape{10, 1, 1});
static_assert(params_v<ResidualNet> == 1'184 + 160 + 3 * 2'336 + 64 + 210);
// Plain: the projection (160) disappears; identity shortcuts had none
static_assert(params_v<Plain<ResidualNet>> == params_v<ResidualNet> - 160);
static_assert(output_shape_v<Plain<ResidualNet>> == output_shape_v<ResidualNet>);
static_assert(Plain<ResidualNet>::input_shape == ResidualNet::input_shape);
static_assert(Plain<ResidualNet>::classes == 10);
// rows: the residual net has 2 (b0 body) + 2 (projection) + 1 (add) + 1 (relu) + 3 x 4
// (Residual16: conv, bn, add, relu) + 1 (1x1) + 1 (concat) + 2 (pool, fc) = 22; the plain net
// loses the projection and the four adds, nested in Repeat and Concat too: 16
static_assert(totals_v<ResidualNet>.rows == 22);
static_assert(totals_v<Plain<ResidualNet>>.rows == 16);
// Plain of a net without residuals is that net
static_assert(params_v<Plain<On<Shape{8, 8, 8}, Conv8>>> == 592);
static_assert(totals_v<Plain<On<Shape{8, 8, 8}, Conv8>>>.rows == 3);
// the transform, type by type
static_assert(std::is_same_v<detail::strip_t<Conv3x3<8>>, Conv3x3<8>>);
static_assert(std::is_same_v<detail::strip_t<Seq<Residual16>>,
                             Seq<detail::Unshortcut<Seq<Conv3x3<16>, BatchNorm>, ReLU>>>);
static_assert(std::is_same_v<detail::strip_t<Repeat<2, MyBlock>>,
                             Repeat<2, detail::Unshortcut<Conv8, ReLU>>>);
static_assert(std::is_same_v<detail::strip_t<Named<"x", Residual<Conv8>>>,
                             Named<"x", detail::Unshortcut<Conv8, Identity>>>);

// --- Adapted: the same body fed another input size through a declared adapter ---------------
struct Small32 final : Net<Input<Shape{1, 32, 32}>,
                           Seq<Conv<6, 5, 1, 0, 1, true>, MaxPool<2>, Flatten, Linear<10>>, 10> {};
// 28x28 -> 32x32 is within 8 pixels: zero padding
using Small28 = Adapted<Small32, Shape{1, 28, 28}>;
static_assert(std::is_same_v<Small28::adapter, PadTo<32, 32>>);
static_assert(Small28::input_shape == Shape{1, 28, 28} &&
              Small28::body_input_shape == Shape{1, 32, 32});
static_assert(params_v<Small28> == params_v<Small32> && macs_v<Small28> == macs_v<Small32>);
static_assert(totals_v<Small28>.rows == totals_v<Small32>.rows + 1);  // the adapter's row
// 16x16 -> 32x32 is further: bilinear resize
static_assert(std::is_same_v<Adapted<Small32, Shape{1, 16, 16}>::adapter, Resize<32, 32>>);
// an explicit adapter
static_assert(std::is_same_v<Adapted<Small32, Shape{1, 64, 64}, Resize<32>>::adapter, Resize<32>>);
// 3 channels into a net declared for 1: the first convolution is built for 3 channels
// (6 * 3 * 25 + 6 = 456 instead of 156)
static_assert(params_v<Adapted<Small32, Shape{3, 32, 32}>> == params_v<Small32> + 300);
static_assert(Network<Adapted<Small32, Shape{1, 28, 28}>> && Network<Plain<Small28>>);

}  // namespace
}  // namespace archetype::static_tests
