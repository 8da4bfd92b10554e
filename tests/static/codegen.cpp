// lower<Net>(): op order, tensor wiring, parameter offsets and the inference memory plan.
#include <archetype/architectures/all.hpp>
#include <archetype/archetype.hpp>
#include <archetype/codegen/program.hpp>

namespace archetype::static_tests {
namespace {

using codegen::program_v;

// A residual block followed by a two-branch concat on 4x8x8 (256 elements per image).
using Tiny = Net<Input<Shape{4, 8, 8}>,
                 Seq<Residual<Seq<Conv3x3<4>, ReLU>>, Concat<Conv1x1<2>, Seq<MaxPool<3, 1, 1>, Conv1x1<2>>>>>;
constexpr auto& tiny = program_v<Tiny>;
static_assert(tiny.ops.size() == 7 && tiny.tensors.size() == 8);
static_assert(tiny.input == 0 && tiny.output == 7);
// conv reads the input; the Add reads the body's output (2) and the block input (0).
static_assert(tiny.ops[0].input_count == 1 && tiny.ops[0].inputs[0] == 0 && tiny.ops[0].output == 1);
static_assert(tiny.ops[2].layer.op == LayerKind::add);
static_assert(tiny.ops[2].input_count == 2 && tiny.ops[2].inputs[0] == 2 && tiny.ops[2].inputs[1] == 0);
// both concat branches read the Add's output (3); the join reads both branch outputs.
static_assert(tiny.ops[3].inputs[0] == 3 && tiny.ops[4].inputs[0] == 3);
static_assert(tiny.ops[6].layer.op == LayerKind::concat && tiny.ops[6].input_count == 2 &&
              tiny.ops[6].inputs[0] == 4 && tiny.ops[6].inputs[1] == 6);
// parameters, in execution order: conv 4*4*9 = 144, then the 1x1 convs 8 and 8.
static_assert(tiny.ops[0].param_offset == 0 && tiny.ops[3].param_offset == 144 &&
              tiny.ops[5].param_offset == 152 && tiny.params == 160);
// The memory plan: no two tensors alive at the same time overlap, and the arena is at
// least the analysis' inference peak (256 input + 256 conv + 256 relu = 768).
template <auto& P>
constexpr bool no_live_overlap() {
  for (std::size_t a = 0; a < P.tensors.size(); ++a) {
    for (std::size_t b = a + 1; b < P.tensors.size(); ++b) {
      const auto& x = P.tensors[a];
      const auto& y = P.tensors[b];
      if (x.alias_of >= 0 || y.alias_of >= 0) continue;
      bool together = x.last_use >= y.producer && y.last_use >= x.producer;
      bool overlap = x.offset < y.offset + y.shape.elements() && y.offset < x.offset + x.shape.elements();
      if (together && overlap) return false;
    }
  }
  return true;
}
static_assert(no_live_overlap<tiny>());
static_assert(tiny.inference_arena >= totals_v<Tiny>.inference_peak_elements);
static_assert(tiny.inference_arena == 768);

// Views share their base's memory: LeNet-5's Flatten aliases the second pooling's output.
constexpr auto& lenet = program_v<architectures::LeNet5>;
static_assert(lenet.ops[6].layer.op == LayerKind::flatten);
static_assert(lenet.tensors[7].alias_of == 6 && lenet.tensors[7].offset == lenet.tensors[6].offset);
static_assert(no_live_overlap<lenet>());
static_assert(lenet.params == params_v<architectures::LeNet5>);

// Whole nets: blocks sum to the analysis figures; memory reused (arena well below the sum).
constexpr auto& resnet20 = program_v<architectures::CifarResNet<20>>;
static_assert(resnet20.params == 269'722 && resnet20.buffers == buffers_v<architectures::CifarResNet<20>>);
static_assert(no_live_overlap<resnet20>());
static_assert(resnet20.inference_arena < totals_v<architectures::CifarResNet<20>>.training_saved_elements / 10);

}  // namespace
}  // namespace archetype::static_tests
