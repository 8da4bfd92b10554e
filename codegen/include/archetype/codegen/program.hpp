#pragma once
/// \file
/// \brief `lower<Net>()`: a net type becomes a `Program`, the flat, topologically ordered
/// list of ops every backend executes. Backends see only the Program (`ProgramView`),
/// never the DSL types.
///
/// - Tensors are numbered: 0 is the net's input; every op produces exactly one tensor.
///   A view op (Flatten, Dropout at inference, an identity AdaptiveAvgPool) produces a
///   tensor that aliases its input's memory (`Tensor::alias_of`).
/// - Parameters live in one contiguous block, in PyTorch `state_dict` order: for each op
///   in execution order, Conv weight [Out, C/G, Kh, Kw] then bias [Out]; BatchNorm gamma
///   [C] then beta [C]; Linear weight [Out, In] then bias [Out]. Gradients mirror it.
///   BatchNorm running statistics live in a second block: mean [C] then variance [C].
/// - The inference memory plan places every tensor in one arena (offsets in elements per
///   image; multiply by the batch) so that tensors whose lifetimes do not overlap share
///   memory: first fit, in execution order.

#include <archetype/dsl/analysis.hpp>
#include <archetype/dsl/layer.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace archetype::codegen {

/// Most inputs one op reads (a Concat's branches).
inline constexpr int max_op_inputs = 8;

/// One tensor of the program (one image's worth; the batch is a run-time value).
struct Tensor {
  Shape shape{};
  int producer = -1;        ///< op index; -1 for the net's input
  int last_use = -1;        ///< last op reading it in the forward pass (-1: only the output)
  int alias_of = -1;        ///< a view's base tensor (memory shared), else -1
  std::int64_t offset = 0;  ///< inference arena offset, elements per image
};

/// One op: a row of the layer table with its tensors and its place in the blocks.
struct Op {
  LayerRow layer{};                ///< what it computes (layer.op), geometry, shapes, sizes
  int inputs[max_op_inputs]{};     ///< tensor ids read
  int input_count = 0;
  int output = -1;                 ///< tensor id written
  std::int64_t param_offset = 0;   ///< first parameter in the flat block
  std::int64_t buffer_offset = 0;  ///< first buffer (running statistics) in the buffer block
};

/// What a backend compiles: the ops, the tensors and the figures it allocates from.
struct ProgramView {
  std::span<const Op> ops;
  std::span<const Tensor> tensors;
  int input = 0;
  int output = 0;
  std::int64_t params = 0;
  std::int64_t buffers = 0;
  std::int64_t inference_arena = 0;  ///< elements per image
};

template <std::size_t NOps, std::size_t NTensors>
struct Program {
  std::array<Op, NOps> ops{};
  std::array<Tensor, NTensors> tensors{};
  int input = 0;
  int output = 0;
  std::int64_t params = 0;
  std::int64_t buffers = 0;
  std::int64_t inference_arena = 0;

  [[nodiscard]] constexpr ProgramView view() const {
    return ProgramView{ops, tensors, input, output, params, buffers, inference_arena};
  }
};

namespace detail {

/// The visitor that emits ops and tensors while walking the net.
template <std::size_t NOps, std::size_t NTensors>
struct Lowerer {
  static constexpr int max_depth = 64;
  struct Frame {
    int block_input = 0;
    int branch_outputs[max_op_inputs]{};
    int branches = 0;
  };

  Program<NOps, NTensors>& program;
  int op_count = 0;
  int tensor_count = 1;  // tensor 0: the input
  int current = 0;
  Frame frames[max_depth]{};
  int depth = 0;

  constexpr int new_tensor(const LayerRow& row, int alias) {
    Tensor& t = program.tensors[std::size_t(tensor_count)];
    t.shape = row.out;
    t.producer = op_count;
    t.alias_of = alias;
    return tensor_count++;
  }
  constexpr void emit(const LayerRow& row, const int* inputs, int count) {
    Op& op = program.ops[std::size_t(op_count)];
    op.layer = row;
    op.input_count = count;
    for (int i = 0; i < count; ++i) op.inputs[i] = inputs[i];
    op.param_offset = program.params;
    op.buffer_offset = program.buffers;
    program.params += row.params;
    program.buffers += row.buffers;
    int base = -1;
    if (row.view) base = program.tensors[std::size_t(inputs[0])].alias_of >= 0
                             ? program.tensors[std::size_t(inputs[0])].alias_of
                             : inputs[0];
    op.output = new_tensor(row, base);
    current = op.output;
    ++op_count;
  }

  constexpr void leaf(const LayerRow& row) { emit(row, &current, 1); }
  constexpr void begin_block(Shape) {
    frames[depth] = Frame{current, {}, 0};
    ++depth;
  }
  constexpr void next_branch() {
    Frame& f = frames[depth - 1];
    f.branch_outputs[f.branches++] = current;
    current = f.block_input;
  }
  constexpr void end_block(const LayerRow& join) {
    Frame& f = frames[depth - 1];
    f.branch_outputs[f.branches++] = current;
    --depth;
    emit(join, f.branch_outputs, f.branches);
  }
};

/// First-fit placement of every non-view tensor in one arena by forward liveness.
template <std::size_t NOps, std::size_t NTensors>
constexpr void plan_inference_memory(Program<NOps, NTensors>& p) {
  // Lifetimes: a tensor lives from its producer to its last reader; a view extends its base.
  for (std::size_t o = 0; o < NOps; ++o) {
    const Op& op = p.ops[o];
    for (int i = 0; i < op.input_count; ++i) {
      int t = op.inputs[i];
      p.tensors[std::size_t(t)].last_use = int(o);
      int base = p.tensors[std::size_t(t)].alias_of;
      if (base >= 0) p.tensors[std::size_t(base)].last_use = int(o);
    }
  }
  // The output stays alive to the end.
  int out = p.output;
  int out_base = p.tensors[std::size_t(out)].alias_of >= 0 ? p.tensors[std::size_t(out)].alias_of : out;
  p.tensors[std::size_t(out_base)].last_use = int(NOps);

  std::int64_t arena = 0;
  std::array<std::size_t, NTensors> live{};  // placed tensors alive when `t` is born, by offset
  for (std::size_t t = 0; t < NTensors; ++t) {
    Tensor& x = p.tensors[t];
    if (x.alias_of >= 0) continue;
    const std::int64_t size = x.shape.elements();
    std::size_t n = 0;
    for (std::size_t u = 0; u < t; ++u) {
      const Tensor& y = p.tensors[u];
      if (y.alias_of >= 0 || y.last_use < x.producer) continue;
      std::size_t k = n++;  // insertion by offset
      while (k > 0 && p.tensors[live[k - 1]].offset > y.offset) {
        live[k] = live[k - 1];
        --k;
      }
      live[k] = u;
    }
    std::int64_t candidate = 0;  // the lowest gap that holds `size`
    for (std::size_t k = 0; k < n; ++k) {
      const Tensor& y = p.tensors[live[k]];
      if (y.offset >= candidate + size) break;
      candidate = std::max(candidate, y.offset + y.shape.elements());
    }
    x.offset = candidate;
    arena = std::max(arena, candidate + size);
  }
  for (std::size_t t = 0; t < NTensors; ++t) {
    if (p.tensors[t].alias_of >= 0) p.tensors[t].offset = p.tensors[std::size_t(p.tensors[t].alias_of)].offset;
  }
  p.inference_arena = arena;
}

template <Network N>
consteval auto lower() {
  constexpr std::size_t ops = totals_v<N>.rows;
  Program<ops, ops + 1> p{};
  p.tensors[0].shape = N::input_shape;
  Lowerer<ops, ops + 1> l{p};
  N::walk(l);
  p.output = l.current;
  plan_inference_memory(p);
  return p;
}

}  // namespace detail

/// The program of net `N` (computed once per net type, at compile time).
template <Network N>
inline constexpr auto program_v = detail::lower<N>();

/// `lower<N>()`: the program of `N` as a value.
template <Network N>
consteval auto lower() {
  static_assert(N::valid, "archetype: cannot lower a net that failed its shape checks");
  return program_v<N>;
}

}  // namespace archetype::codegen
