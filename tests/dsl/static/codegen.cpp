// lower<Net>(): op order, tensor wiring, parameter offsets and the inference memory plan.
#include <archetype/archetype.hpp>
#include <archetype/architectures/all.hpp>
#include <archetype/codegen/program.hpp>

namespace archetype::static_tests {
namespace {

using codegen::program_v;

// A residual block followed by a two-branch concat on 4x8x8 (256 elements per image).
using Tiny = Net<Input<Shape{4, 8, 8}>, Seq<Residual<Seq<Conv3x3<4>, ReLU>>,
                                            Concat<Conv1x1<2>, Seq<MaxPool<3, 1, 1>, Conv1x1<2>>>>>;
constexpr auto& tiny = program_v<Tiny>;
static_assert(tiny.ops.size() == 7 && tiny.tensors.size() == 8);
static_assert(tiny.input == 0 && tiny.output == 7);
// conv reads the input; the Add reads the body's output (2) and the block input (0).
static_assert(tiny.ops[0].input_count == 1 && tiny.ops[0].inputs[0] == 0 &&
              tiny.ops[0].output == 1);
static_assert(tiny.ops[2].layer.op == LayerKind::add);
static_assert(tiny.ops[2].input_count == 2 && tiny.ops[2].inputs[0] == 2 &&
              tiny.ops[2].inputs[1] == 0);
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
      bool overlap =
          x.offset < y.offset + y.shape.elements() && y.offset < x.offset + x.shape.elements();
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
static_assert(resnet20.params == 269'722 &&
              resnet20.buffers == buffers_v<architectures::CifarResNet<20>>);
static_assert(no_live_overlap<resnet20>());
static_assert(resnet20.inference_arena < resnet20.training_saved / 5);

// One training-saved figure: the program's and the analysis' (activation_bytes_v,
// describe) follow the same table (dsl/backward.hpp). It keeps only what the backward pass
// reads: in a ResNet not the BatchNorm outputs summed by an Add, nor the Add's outputs
// (their ReLU differentiates from its output).
static_assert(resnet20.training_saved ==
              totals_v<architectures::CifarResNet<20>>.training_saved_elements);
static_assert(lenet.training_saved == totals_v<architectures::LeNet5>.training_saved_elements);
static_assert(program_v<architectures::AlexNet>.training_saved ==
              totals_v<architectures::AlexNet>.training_saved_elements);  // Dropout in training
static_assert(program_v<architectures::MobileNetV2>.training_saved ==
              totals_v<architectures::MobileNetV2>.training_saved_elements);
static_assert(
    !resnet20.tensors[std::size_t(resnet20.ops[8].inputs[0])].saved);  // BN output read by the Add
static_assert(resnet20.ops[8].layer.op == LayerKind::add && !resnet20.tensors[9].saved);
static_assert(resnet20.tensors[10].saved);  // the block's ReLU output: its own backward reads it
// Tiny: the conv reads its input (0); the conv's output (1) only feeds the ReLU, which
// reads its own output (2) instead.
static_assert(tiny.tensors[0].saved && !tiny.tensors[1].saved && tiny.tensors[2].saved);

// Inference folding (fold_inference): counts of each kind of fusion in a folded program.
struct FoldCounts {
  int batch_norm = 0, sum = 0, relu = 0, absorbed = 0, heads = 0;
};
template <auto& P>
constexpr FoldCounts fold_counts() {
  FoldCounts c;
  for (const auto& op : P.ops) {
    if (!op.fusion.head()) continue;
    ++c.heads;
    c.batch_norm += op.fusion.batch_norm >= 0 ? 1 : 0;
    c.sum += op.fusion.sum >= 0 ? 1 : 0;
    c.relu += op.fusion.activated && op.fusion.activation == LayerKind::relu ? 1 : 0;
    c.absorbed += op.fusion.absorbed;
  }
  return c;
}
// A training program carries no fusion at all.
static_assert(fold_counts<resnet20>().heads == 0 && !resnet20.folded);

// ResNet-20: 19 convolutions, each followed by its BatchNorm (all folded). 9 blocks: the 7
// identity blocks end in Conv+BN+sum+ReLU; the 2 option-A blocks compute their shortcut
// after the body's last Conv, so there the shortcut (a constant strided 1x1 convolution on
// the backends) takes the sum and the ReLU. Every first conv of a block, and the stem, takes
// its ReLU: 10 + 7 + 2 = 19 ReLUs; no Add is left.
constexpr auto& resnet20_folded = codegen::inference_program_v<architectures::CifarResNet<20>>;
static_assert(resnet20_folded.folded);
static_assert(fold_counts<resnet20_folded>().batch_norm == 19);
static_assert(fold_counts<resnet20_folded>().sum == 9);
static_assert(fold_counts<resnet20_folded>().relu == 19);
static_assert(fold_counts<resnet20_folded>().absorbed == 19 + 9 + 19);
static_assert(no_live_overlap<resnet20_folded>());
// Folding needs less memory: no BatchNorm or ReLU outputs, sums in place.
static_assert(resnet20_folded.inference_arena < resnet20.inference_arena);

// ResNet-18-CIFAR: projection shortcuts (Conv+BN computed after the body) take the sum;
// 20 convolutions with their BatchNorms, 8 residual sums, 17 ReLUs (stem + 8 + 8).
constexpr auto& resnet18_folded = codegen::inference_program_v<architectures::ResNet18Cifar>;
static_assert(fold_counts<resnet18_folded>().batch_norm == 20);
static_assert(fold_counts<resnet18_folded>().sum == 8);
static_assert(fold_counts<resnet18_folded>().relu == 17);
static_assert(no_live_overlap<resnet18_folded>());

// LeNet-5 (no BatchNorm): the ReLUs after its convolutions and hidden Linears are post-ops.
constexpr auto& lenet_folded = codegen::inference_program_v<architectures::LeNet5>;
static_assert(fold_counts<lenet_folded>().batch_norm == 0 && fold_counts<lenet_folded>().sum == 0);
static_assert(fold_counts<lenet_folded>().relu == 4);
static_assert(no_live_overlap<lenet_folded>());
// The folded program's figures are the training program's: same parameters, same order.
static_assert(lenet_folded.params == lenet.params && lenet_folded.ops[0].param_offset == 0);

}  // namespace
}  // namespace archetype::static_tests
