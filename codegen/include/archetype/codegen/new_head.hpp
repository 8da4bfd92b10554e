#pragma once
/// \file
/// \brief A zoo model with a classifier for another number of classes, at run time
/// (`archetype train MODEL --new-head`, `archetype export MODEL --classes N`): the data's
/// classes decide the last Linear layer's outputs, as torchvision's `model.fc =
/// nn.Linear(2048, N)` does. The type-level way is `WithHead<Net, Head>` (dsl/transfer.hpp).
///
/// Only the last Linear layer changes: its outputs, parameters and MACs, and the shapes of
/// the ops after it, which must keep the channel count (views, activations, Dropout). Every
/// other op keeps its path, shapes and place in the parameter block, so the original's
/// weights load by path into all of it but the new head (`load_for_transfer`'s `fresh`).

#include <archetype/codegen/program.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace archetype::codegen {

/// A Program held at run time (a compile-time one, changed).
struct OwnedProgram {
  std::vector<Op> ops;
  std::vector<Tensor> tensors;
  ProgramView scalars;  ///< input, output, params, buffers, ... (its spans are not used)
  std::string head;     ///< the path of the layer that was resized

  [[nodiscard]] ProgramView view() const {
    ProgramView v = scalars;
    v.ops = ops;
    v.tensors = tensors;
    return v;
  }
};

/// `program` with its last Linear layer producing `classes` outputs. Throws
/// std::invalid_argument when it has no Linear layer, when an op after it changes the channel
/// count or has parameters, or when `classes` < 1.
[[nodiscard]] inline OwnedProgram with_classes(const ProgramView& program, int classes) {
  if (classes < 1) throw std::invalid_argument("a classifier needs at least 1 class");
  OwnedProgram p{{program.ops.begin(), program.ops.end()},
                 {program.tensors.begin(), program.tensors.end()},
                 program,
                 {}};
  std::size_t last = p.ops.size();
  for (std::size_t o = p.ops.size(); o-- > 0;) {
    if (p.ops[o].layer.op == LayerKind::linear) {
      last = o;
      break;
    }
  }
  if (last == p.ops.size()) throw std::invalid_argument("the model has no Linear layer to resize");
  Op& fc = p.ops[last];
  p.head = std::string(fc.layer.path.view());
  const int old = fc.layer.out.c;
  for (std::size_t o = last + 1; o < p.ops.size(); ++o) {
    const LayerRow& row = p.ops[o].layer;
    if (row.params > 0 || row.in != row.out) {
      throw std::invalid_argument("cannot resize " + p.head + ": " + std::string(row.path.view()) +
                                  " after it has parameters or changes the shape");
    }
  }
  const std::int64_t inputs = fc.layer.in.elements();
  const std::int64_t params = inputs * classes + (fc.layer.bias ? classes : 0);
  const std::int64_t delta = params - fc.layer.params;
  fc.layer.params = params;
  fc.layer.macs = inputs * classes;
  fc.layer.out.c = classes;
  p.tensors[std::size_t(fc.output)].shape.c = classes;
  for (std::size_t o = last + 1; o < p.ops.size(); ++o) {
    Op& op = p.ops[o];
    op.param_offset += delta;
    if (op.layer.in.c == old) op.layer.in.c = classes;
    if (op.layer.out.c == old) op.layer.out.c = classes;
    p.tensors[std::size_t(op.output)].shape = op.layer.out;
  }
  p.scalars.params += delta;
  return p;
}

}  // namespace archetype::codegen
