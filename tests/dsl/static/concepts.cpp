// The public concepts (`Layer`, `Block`, `Network`) and the rules that can be checked
// without a compile error: `static_assert(!requires { … })` through small concepts, since
// a requires-expression outside a template must not contain an invalid expression. Rules
// whose message matters are in tests/dsl/compile_fail/.
#include "support.hpp"

#include <archetype/architectures/lenet.hpp>

namespace archetype::static_tests {
namespace {

using architectures::LeNet5;

// --- Layer: leaves and combinators ---------------------------------------------------------
static_assert(Layer<Conv<8, 3>> && Layer<Conv3x3<8>> && Layer<Conv1x1<8>> &&
              Layer<ConvKxL<8, 1, 7>>);
static_assert(Layer<BatchNorm> && Layer<ReLU> && Layer<Dropout<0.5>> && Layer<LocalResponseNorm<>>);
static_assert(Layer<MaxPool<2>> && Layer<AvgPool<2>> && Layer<GlobalAvgPool> &&
              Layer<AdaptiveAvgPool<7>>);
static_assert(Layer<Flatten> && Layer<Linear<10>> && Layer<ZeroPadShortcut<32>> &&
              Layer<PadTo<32>> && Layer<Resize<224>>);
static_assert(Layer<Identity> && Layer<Seq<ReLU>> && Layer<Residual<ReLU>> && Layer<Concat<ReLU>> &&
              Layer<Repeat<2, ReLU>> && Layer<Named<"x", ReLU>>);
struct DerivedBlock final : Residual<Seq<Conv3x3<8>, BatchNorm>, Identity, ReLU> {};
static_assert(Layer<DerivedBlock>);
// not layers
static_assert(!Layer<int> && !Layer<void> && !Layer<Shape> && !Layer<Input<Shape{1, 28, 28}>>);
static_assert(!Layer<LeNet5> && !Layer<Net<Input<Shape{8, 4, 4}>, ReLU>>);
struct NotALayer {
  template <Shape In>
  static consteval Shape output_shape() {
    return In;
  }  // the shape alone is not enough
};
static_assert(!Layer<NotALayer>);

// --- Block: combinators only ------------------------------------------------------------------
static_assert(Block<Seq<ReLU>> && Block<Residual<ReLU>> && Block<Concat<ReLU>> &&
              Block<Repeat<2, ReLU>> && Block<Named<"x", ReLU>> && Block<Identity> &&
              Block<DerivedBlock>);
static_assert(!Block<ReLU> && !Block<Conv3x3<8>> && !Block<int> && !Block<LeNet5>);

// --- Network -----------------------------------------------------------------------------------
static_assert(Network<LeNet5> && Network<Net<Input<Shape{8, 4, 4}>, ReLU>>);
static_assert(Network<Adapted<LeNet5, Shape{1, 28, 28}>> && Network<Plain<LeNet5>>);
static_assert(!Network<int> && !Network<ReLU> && !Network<Seq<Conv3x3<8>, ReLU>> &&
              !Network<Input<Shape{1, 28, 28}>>);
static_assert(!Network<Shape> && !Network<LeNet5*> && !Network<const LeNet5&>);

// --- The analysis and the net transforms accept networks only --------------------------------
template <class N>
concept HasOutputShape = requires {
  output_shape_v<N>;
};
template <class N>
concept HasParams = requires {
  params_v<N>;
};
template <class N>
concept HasLayerTable = requires {
  layers_v<N>;
};
template <class N>
concept HasActivationBytes = requires {
  activation_bytes_v<N, 1>;
};
template <class N>
concept HasReceptiveField = requires {
  receptive_field_v<N>;
};
template <class N, std::int64_t Published>
concept CanBeChecked = requires {
  has_params_v<N, Published>;
};  // (naming it evaluates it)
template <class N>
concept CanBeMadePlain = requires {
  typename Plain<N>;
};
template <class N>
concept CanBeAdapted = requires {
  typename Adapted<N, Shape{1, 28, 28}>;
};

static_assert(HasOutputShape<LeNet5> && HasParams<LeNet5> && HasLayerTable<LeNet5> &&
              HasActivationBytes<LeNet5> && HasReceptiveField<LeNet5> &&
              CanBeChecked<LeNet5, 61'706> && CanBeMadePlain<LeNet5> && CanBeAdapted<LeNet5>);
static_assert(!HasOutputShape<int> && !HasParams<int> && !HasLayerTable<int> &&
              !HasActivationBytes<int> && !HasReceptiveField<int> && !CanBeChecked<int, 1> &&
              !CanBeMadePlain<int> && !CanBeAdapted<int>);
// a body is not a net: wrap it in Net<Input<…>, Body>
using Body = Seq<Conv3x3<8>, ReLU>;
static_assert(!HasOutputShape<Body> && !HasParams<Body> && !HasLayerTable<Body> &&
              !CanBeMadePlain<Body> && !CanBeAdapted<Body>);
static_assert(!HasParams<Input<Shape{3, 32, 32}>> && !HasParams<Conv3x3<8>>);

// --- A net that broke a rule is marked invalid, its analysis silent ---------------------------
// (valid is how the analysis avoids a cascade after the first error; the error itself is
// the subject of tests/dsl/compile_fail/)
static_assert(LeNet5::valid && Net<Input<Shape{8, 4, 4}>, ReLU>::valid);
static_assert(Adapted<LeNet5, Shape{1, 28, 28}>::valid && Plain<LeNet5>::valid);

// --- Nets without a class count accept any output; with one, Classes x 1 x 1 ----------------
static_assert(Net<Input<Shape{8, 4, 4}>, ReLU>::classes == 0);
static_assert(Net<Input<Shape{8, 4, 4}>, Seq<Flatten, Linear<7>>, 7>::classes == 7);
static_assert(output_shape_v<Net<Input<Shape{8, 4, 4}>, Seq<Flatten, Linear<7>>, 7>> ==
              Shape{7, 1, 1});

}  // namespace
}  // namespace archetype::static_tests
