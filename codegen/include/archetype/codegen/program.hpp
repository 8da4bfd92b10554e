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
/// - Inference folding (`fold_inference`, `inference_program_v<N>`) rewrites the program
///   once for every backend: a BatchNorm right after a convolution is folded into that
///   convolution's weights and bias, a residual sum becomes the in-place sum post-op of the
///   convolution computed just before it, and an activation (ReLU, ReLU6, SiLU, Sigmoid)
///   becomes a post-op of the op before it (a BatchNorm head takes only ReLU).
///   The absorbed ops stay in the list (parameter offsets and state_dict order do not
///   change) and are marked `Fusion::into`; their outputs alias the chain's memory.

#include <archetype/dsl/analysis.hpp>
#include <archetype/dsl/backward.hpp>
#include <archetype/dsl/layer.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

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
  /// Training: the backward pass reads this forward value, so it is kept from the forward
  /// pass (a view's base is saved with it), by the table of dsl/backward.hpp
  /// (`backward_reads`); a backend keeps these and may reuse every other buffer. With every
  /// parameter trainable; `codegen::plan_training` refines it for frozen groups.
  bool saved = false;
};

/// How an op is computed in a folded (inference) program. All fields keep their defaults
/// in a training program. A chain is one head op plus the ops absorbed into it:
/// `Conv [+ BatchNorm folded] [+ residual sum] [+ activation]`, `Linear [+ activation]`,
/// `BatchNorm [+ ReLU]`, `Add [+ activation]`, `ZeroPadShortcut [+ residual sum]
/// [+ activation]`; an activation is ReLU, ReLU6, SiLU or Sigmoid.
struct Fusion {
  int into = -1;        ///< absorbed: computed by the head op `into` (not executed itself)
  int batch_norm = -1;  ///< Conv head: the BatchNorm op folded into its weights and bias:
                        ///< s = gamma / sqrt(var + eps), W' = s W, b' = s (b - mean) + beta
  int sum = -1;         ///< Conv or ZeroPadShortcut head: tensor added to the result in place (its buffer becomes
                        ///< the result), after the folded BatchNorm and before the ReLU
  bool activated = false;                   ///< an activation applied to the result, last
  LayerKind activation = LayerKind::relu;   ///< which (when `activated`)
  int result = -1;      ///< head: the tensor holding the chain's final value
  int absorbed = 0;     ///< head: how many ops it absorbed
  /// 1x1 Conv head: the depthwise Conv head computed within it (`fuse_depthwise`; its
  /// chain's result never stored), or -1.
  int depthwise = -1;
  /// Depthwise Conv head: the 1x1 Conv head that computes it (`fuse_depthwise`), or -1.
  int depthwise_of = -1;

  [[nodiscard]] constexpr bool head() const { return into < 0 && absorbed > 0; }
};

/// One op: a row of the layer table with its tensors and its place in the blocks.
struct Op {
  LayerRow layer{};                ///< what it computes (layer.op), geometry, shapes, sizes
  int inputs[max_op_inputs]{};     ///< tensor ids read
  int input_count = 0;
  int output = -1;                 ///< tensor id written
  std::int64_t param_offset = 0;   ///< first parameter in the flat block
  std::int64_t buffer_offset = 0;  ///< first buffer (running statistics) in the buffer block
  Fusion fusion{};                 ///< inference folding (see `fold_inference`)
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
  bool folded = false;               ///< `fold_inference` has run: for inference only
  std::int64_t training_saved = 0;   ///< elements per image of the `saved` tensors
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
  bool folded = false;
  std::int64_t training_saved = 0;

  [[nodiscard]] constexpr ProgramView view() const {
    return ProgramView{ops, tensors, input, output, params, buffers, inference_arena, folded, training_saved};
  }
};


/// Inference folding, in place on `ops` (whose tensor `output` is the program's result):
/// marks chains as documented at `Fusion`. A candidate is absorbed only when it is the next
/// op, reads only the chain's current result, and nothing else reads that result (and the
/// result is not the program's output). A residual sum `Add(r, a)` is absorbed into the
/// Conv chain producing `r` when `a` is not the net input, is not produced by a view op,
/// and no op from the chain's head on reads it but the Add (the head itself included: a
/// convolution cannot write over its own source): the convolution then writes into `a`'s
/// buffer.
/// Idempotent: earlier annotations are cleared first. Runs at compile time
/// (`inference_program_v`) and at run time (a backend handed an unfolded program).
constexpr void fold_inference(std::span<Op> ops, int output) {
  for (Op& op : ops) op.fusion = Fusion{};
  const auto n = ops.size();
  // Per tensor, in one pass (linear, so that deep nets fold within the compiler's
  // constant-evaluation budget): how many op inputs read it, the two last distinct ops
  // reading it, and whether a view op produced it. Tensor ids are below n + 1.
  std::vector<int> readers(n + 1, 0), last_reader(n + 1, -1), previous_reader(n + 1, -1);
  // Not std::vector<bool>: libstdc++ 12's cannot be constant-evaluated by clang (it
  // assigns to its words before starting their lifetime).
  std::vector<char> from_view(n + 1, 0);
  for (std::size_t k = 0; k < n; ++k) {
    const Op& op = ops[k];
    if (op.output >= 0 && std::size_t(op.output) <= n) from_view[std::size_t(op.output)] = op.layer.view;
    for (int i = 0; i < op.input_count; ++i) {
      const auto t = std::size_t(op.inputs[i]);
      ++readers[t];
      if (last_reader[t] != int(k)) {
        previous_reader[t] = last_reader[t];
        last_reader[t] = int(k);
      }
    }
  }
  auto next_reads = [&](std::size_t last, int result, LayerKind kind) -> bool {
    if (last + 1 >= n || result == output || readers[std::size_t(result)] != 1) return false;
    const Op& next = ops[last + 1];
    if (next.layer.op != kind) return false;
    for (int i = 0; i < next.input_count; ++i) {
      if (next.inputs[i] == result) return true;
    }
    return false;
  };
  auto producer_is_view = [&](int t) { return bool(from_view[std::size_t(t)]); };
  // Some op k >= first, k != except, reads t.
  auto read_from_except = [&](int t, std::size_t first, std::size_t except) {
    const int last = last_reader[std::size_t(t)];
    const int other = last == int(except) ? previous_reader[std::size_t(t)] : last;
    return other >= int(first);
  };
  for (std::size_t h = 0; h < n; ++h) {
    Op& head = ops[h];
    const LayerKind kind = head.layer.op;
    if (kind != LayerKind::conv && kind != LayerKind::linear && kind != LayerKind::batch_norm &&
        kind != LayerKind::add && kind != LayerKind::zero_pad_shortcut) {
      continue;
    }
    std::size_t last = h;
    int result = head.output;
    auto absorb = [&] {
      ++last;
      ops[last].fusion.into = int(h);
      result = ops[last].output;
      ++head.fusion.absorbed;
    };
    if (kind == LayerKind::conv && next_reads(last, result, LayerKind::batch_norm) &&
        ops[last + 1].input_count == 1) {
      head.fusion.batch_norm = int(last + 1);
      absorb();
    }
    // The sum: into a Conv chain, or into an option-A shortcut (a constant strided 1x1
    // convolution on the backends), which is computed after its block's body.
    const bool sums = kind == LayerKind::conv || kind == LayerKind::zero_pad_shortcut;
    if (sums && next_reads(last, result, LayerKind::add) && ops[last + 1].input_count == 2) {
      const Op& add = ops[last + 1];
      const int other = add.inputs[0] == result ? add.inputs[1] : add.inputs[0];
      if (other != result && other != 0 && !producer_is_view(other) && !read_from_except(other, h, last + 1)) {
        head.fusion.sum = other;
        absorb();
      }
    }
    const LayerKind next = last + 1 < n ? ops[last + 1].layer.op : LayerKind::conv;
    const bool activation = next == LayerKind::relu || next == LayerKind::relu6 || next == LayerKind::silu ||
                            next == LayerKind::sigmoid;
    if (activation && (kind != LayerKind::batch_norm || next == LayerKind::relu) &&
        next_reads(last, result, next) && ops[last + 1].input_count == 1) {
      head.fusion.activated = true;
      head.fusion.activation = next;
      absorb();
    }
    head.fusion.result = result;
    h = last;
  }
}

/// Depthwise fusion, in place on folded `ops` (`fold_inference` has run): pairs a 1x1
/// convolution chain with the 3x3 depthwise convolution chain that reads its result, so that
/// a backend computes both in one kernel and never stores the expanded tensor between them
/// (oneDNN's `append_dw` post-op; MobileNetV2's and EfficientNet's inverted residual blocks:
/// the 1x1 expansion writes 6x the block's channels at full resolution, the depthwise reads
/// them back). The pair is `Conv 1x1 [+ BatchNorm] [+ activation]` (stride 1, no padding,
/// ungrouped, no residual sum), whose result only the next op reads, and that op a
/// depthwise `Conv KxK [+ BatchNorm] [+ activation]` (K 3 or 5, groups = channels in =
/// channels out, stride 1 or 2, padding K / 2: the "same" padding, no residual sum). Marks
/// `Fusion::depthwise` on the first head and `Fusion::depthwise_of` on the second. Not part of
/// `inference_program_v`: a backend that can compute the pair calls it at run time (the oneDNN
/// backend, for inference). Idempotent.
constexpr void fuse_depthwise(std::span<Op> ops, int output) {
  for (Op& op : ops) op.fusion.depthwise = op.fusion.depthwise_of = -1;
  const auto n = ops.size();
  std::vector<int> readers(n + 1, 0);
  for (const Op& op : ops) {
    for (int i = 0; i < op.input_count; ++i) ++readers[std::size_t(op.inputs[i])];
  }
  for (std::size_t h = 0; h < n; ++h) {
    const Op& head = ops[h];
    const LayerRow& L = head.layer;
    if (head.fusion.into >= 0) continue;
    const std::size_t next = h + std::size_t(head.fusion.absorbed) + 1;
    if (L.op != LayerKind::conv || next >= n) continue;
    const int result = head.fusion.head() ? head.fusion.result : head.output;
    const bool pointwise = L.kernel_h == 1 && L.kernel_w == 1 && L.stride_h == 1 &&
                           L.stride_w == 1 && L.pad_h == 0 && L.pad_w == 0 && L.groups == 1 &&
                           head.fusion.sum < 0;
    if (!pointwise || result == output || readers[std::size_t(result)] != 1) continue;
    const Op& dw = ops[next];
    const LayerRow& D = dw.layer;
    const bool depthwise = D.op == LayerKind::conv && dw.fusion.into < 0 && dw.input_count == 1 &&
                           dw.inputs[0] == result && D.groups == D.in.c && D.out.c == D.in.c &&
                           (D.kernel_h == 3 || D.kernel_h == 5) && D.kernel_w == D.kernel_h &&
                           D.stride_h == D.stride_w && (D.stride_h == 1 || D.stride_h == 2) &&
                           D.pad_h == D.kernel_h / 2 && D.pad_w == D.pad_h && dw.fusion.sum < 0;
    if (!depthwise) continue;
    ops[h].fusion.depthwise = int(next);
    ops[next].fusion.depthwise_of = int(h);
  }
}

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

  // Tensors are placed in birth order. `live` holds the placed tensors still alive, by
  // offset; producers only advance, so a tensor dead at one birth stays dead and is dropped
  // for good: the placement is linear in the number of tensors, not quadratic (a
  // 1000-layer net must lower within the compiler's constant-evaluation budget).
  std::int64_t arena = 0;
  std::array<std::size_t, NTensors> live{};
  std::size_t n = 0;
  for (std::size_t t = 0; t < NTensors; ++t) {
    Tensor& x = p.tensors[t];
    if (x.alias_of >= 0) continue;
    const std::int64_t size = x.shape.elements();
    std::size_t kept = 0;
    for (std::size_t k = 0; k < n; ++k) {
      if (p.tensors[live[k]].last_use >= x.producer) live[kept++] = live[k];
    }
    n = kept;
    std::int64_t candidate = 0;  // the lowest gap that holds `size`
    std::size_t at = n;          // where `t` goes in `live`
    for (std::size_t k = 0; k < n; ++k) {
      const Tensor& y = p.tensors[live[k]];
      if (y.offset >= candidate + size) {
        at = k;
        break;
      }
      candidate = std::max(candidate, y.offset + y.shape.elements());
    }
    x.offset = candidate;
    arena = std::max(arena, candidate + size);
    while (at < n && p.tensors[live[at]].offset <= candidate) ++at;  // keep `live` sorted
    for (std::size_t k = n; k > at; --k) live[k] = live[k - 1];
    live[at] = t;
    ++n;
  }
  for (std::size_t t = 0; t < NTensors; ++t) {
    if (p.tensors[t].alias_of >= 0) p.tensors[t].offset = p.tensors[std::size_t(p.tensors[t].alias_of)].offset;
  }
  p.inference_arena = arena;
}

/// Marks the tensors the backward pass reads (`Tensor::saved`), by the one table
/// (`backward_reads`, views in training: `training_view`, both in dsl/backward.hpp), and sums
/// their sizes: `training_saved`, the figure `activation_bytes_v` also gives.
template <std::size_t NOps, std::size_t NTensors>
constexpr void plan_saved(Program<NOps, NTensors>& p) {
  std::array<int, NTensors> base{};  // in training: the tensor whose memory each one uses
  for (std::size_t t = 0; t < NTensors; ++t) base[t] = int(t);
  for (const Op& op : p.ops) {
    if (training_view(op.layer)) base[std::size_t(op.output)] = base[std::size_t(op.inputs[0])];
  }
  for (Tensor& t : p.tensors) t.saved = false;
  auto save = [&](int t) {
    p.tensors[std::size_t(t)].saved = true;
    p.tensors[std::size_t(base[std::size_t(t)])].saved = true;
  };
  for (const Op& op : p.ops) {
    const BackwardReads reads = backward_reads(op.layer.op);
    if (reads.output) save(op.output);
    if (reads.every_input) {
      for (int i = 0; i < op.input_count; ++i) save(op.inputs[i]);
    } else if (reads.input_for_data || reads.input_for_weights) {
      save(op.inputs[0]);
    }
  }
  p.training_saved = 0;
  for (std::size_t t = 0; t < NTensors; ++t) {
    if (p.tensors[t].saved && base[t] == int(t)) p.training_saved += p.tensors[t].shape.elements();
  }
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
  plan_saved(p);
  return p;
}

/// The folded program: `fold_inference` on a copy, then the aliases it creates (every
/// tensor of a chain shares the chain's memory; a residual sum's result shares the buffer
/// it was added into) and the memory plan again.
template <std::size_t NOps, std::size_t NTensors>
constexpr Program<NOps, NTensors> fold(Program<NOps, NTensors> p) {
  fold_inference(p.ops, p.output);
  for (std::size_t o = 0; o < NOps; ++o) {
    const Op& head = p.ops[o];
    if (!head.fusion.head()) continue;
    int base = head.output;
    if (head.fusion.sum >= 0) {
      const int s = head.fusion.sum;
      base = p.tensors[std::size_t(s)].alias_of >= 0 ? p.tensors[std::size_t(s)].alias_of : s;
      p.tensors[std::size_t(head.output)].alias_of = base;
    }
    for (std::size_t k = o + 1; k <= o + std::size_t(head.fusion.absorbed); ++k) {
      p.tensors[std::size_t(p.ops[k].output)].alias_of = base;
    }
  }
  for (Tensor& t : p.tensors) {  // views of a chain's tensors: to the chain's base
    if (t.alias_of >= 0 && p.tensors[std::size_t(t.alias_of)].alias_of >= 0) {
      t.alias_of = p.tensors[std::size_t(t.alias_of)].alias_of;
    }
  }
  for (Tensor& t : p.tensors) t.last_use = -1;
  plan_inference_memory(p);
  p.folded = true;
  return p;
}

}  // namespace detail

/// The program of net `N` (computed once per net type, at compile time).
template <Network N>
inline constexpr auto program_v = detail::lower<N>();

/// The inference program of net `N`: `program_v<N>` folded (`fold_inference`) and planned
/// again. Backends build inference from it; an unfolded program handed to a backend for
/// inference is folded by the same function at run time.
template <Network N>
inline constexpr auto inference_program_v = detail::fold(program_v<N>);

/// `lower<N>()`: the program of `N` as a value.
template <Network N>
consteval auto lower() {
  static_assert(N::valid, "archetype: cannot lower a net that failed its shape checks");
  return program_v<N>;
}

}  // namespace archetype::codegen
