#pragma once
/// \file
/// \brief The training plan: what every backend runs in a training (or inference) step of
/// a Program, decided once here and consumed by the oneDNN and cuDNN backends alike.
///
/// Computed once at run time, when a backend builds an executable (plain data, linear in
/// the ops; the compile-time part, `Tensor::saved` and `training_saved`, follows the same
/// table of dsl/backward.hpp). It holds:
/// - views per mode: an op whose output is its input unchanged runs no kernel and its
///   output shares its input's memory (`base`); in training a Dropout with p > 0 draws a
///   mask and is not a view (`training_view`), at inference every `LayerRow::view` is;
/// - parameter groups (one per op with parameters, in state_dict order) with a `trainable`
///   mask: a frozen group gets no weight gradient, and nothing is kept only for it;
/// - which tensors need a gradient and which ops run a backward step; which forward values
///   the backward pass reads (`saved`, from `backward_reads`);
/// - the training fusions, as decisions: a ReLU that alone reads the output of the op
///   just before it, a BatchNorm or a two-input Add, is absorbed by it where the backend
///   runs that fusion (`Fusions`). The absorbing op writes the ReLU's output, and its
///   backward reads that output (the mask) and its gradient;
/// - in backward order, the point after which each group's gradient is final
///   (`gradient_final`): the hook gradient all-reduce and per-step callbacks use;
/// - lifetimes of every value and gradient over one step, and `pack_arena`, which lays
///   buffers of sizes the backend supplies (its physical layouts: oneDNN's blocked formats
///   are larger than the logical tensor) into one arena.
///
/// Time runs over one training step: forward op `o` at time `o`, the loss at `n` (`n` ops),
/// the backward of op `o` at `2n - o`, the end of the step at `2n + 1`. An inference plan
/// has the forward times only and ends at `n`.
/// - A forward value lives from its producer to its last reader: forward readers, the
///   backward steps that read it and, for the output, the end of the step.
/// - A gradient lives from the first backward step that contributes to it (the loss, for
///   the output) to its producer's backward step (the input's: to the end). The first
///   contribution writes it and later ones add to it (`accumulate`).

#include <archetype/codegen/program.hpp>
#include <archetype/dsl/backward.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace archetype::codegen {

/// The training fusions a backend can run; the plan decides where they apply.
struct Fusions {
  bool batch_norm_relu = false;  ///< BatchNorm + the ReLU that alone reads it
  bool add_relu = false;         ///< a two-input Add + the ReLU that alone reads it
};

struct PlanOptions {
  bool training = true;
  bool dropout = true;         ///< training draws Dropout masks (false: Dropout is a view)
  bool input_gradient = true;  ///< d(loss)/d(input) is wanted
  Fusions fusions{};
  /// Per parameter group (`TrainingPlan::groups`, state_dict order): false freezes it.
  /// Empty: every group trains.
  std::vector<bool> trainable{};
  /// Every BatchNorm normalises with its running statistics and leaves them unchanged, as in
  /// inference, while its scale and shift still train where their group does (Keras's
  /// `base_model(x, training=False)` when fine-tuning, PyTorch's BatchNorm modules in eval()).
  /// false: only a frozen BatchNorm does.
  bool batch_norm_inference = false;
};

/// The parameters of one op: a contiguous run of the parameter block.
struct ParameterGroup {
  int op = 0;
  std::int64_t offset = 0;  ///< first parameter in the block
  std::int64_t size = 0;
  bool trainable = true;
};

/// An inclusive interval of plan times; empty when `death < birth`.
struct Lifetime {
  int birth = 0, death = -1;
  [[nodiscard]] bool empty() const { return death < birth; }
  [[nodiscard]] bool overlaps(const Lifetime& o) const {
    return !empty() && !o.empty() && birth <= o.death && o.birth <= death;
  }
};

struct TrainingPlan {
  int ops = 0;
  bool training = true;
  std::vector<int> base;              ///< per tensor: the tensor whose memory it uses
  std::vector<bool> view_op;          ///< per op: its output is its input (no kernel)
  std::vector<bool> needs_grad;       ///< per tensor: training needs its gradient
  std::vector<bool> backward;         ///< per op: its backward step runs
  std::vector<bool> weight_gradient;  ///< per op: computes its parameters' gradient
  /// Per op: a BatchNorm normalises with its batch's statistics and updates the running ones
  /// (training); false for a BatchNorm whose group is frozen, which runs as in inference
  /// (running statistics, left unchanged; its backward is then d = gamma / sqrt(var + eps)).
  std::vector<bool> batch_statistics;
  std::vector<bool> saved;      ///< per tensor: a backward step reads its value (base too)
  std::vector<int> fused_relu;  ///< per op: the ReLU it absorbs (-1: none)
  std::vector<bool> absorbed;   ///< per op: a ReLU computed by the op before it
  /// Per op and input slot: the backward adds to that input's gradient (false: it is the
  /// first contribution and writes it).
  std::vector<std::array<bool, max_op_inputs>> accumulate;
  std::vector<bool> gradient_unwritten;  ///< per base tensor: needed but no step writes it (zero)
  std::vector<ParameterGroup> groups;    ///< state_dict order
  std::vector<int> group_of_op;          ///< per op: its group, -1 when it has no parameters
  /// Trainable groups in the order their gradients become final (the backward's order):
  /// group `gradient_final[k]` is final once op `groups[gradient_final[k]].op`'s backward
  /// step has run.
  std::vector<int> gradient_final;
  std::vector<Lifetime> value_life;     ///< per base tensor: its forward value (empty for views)
  std::vector<Lifetime> gradient_life;  ///< per base tensor: its gradient (empty: none)
  std::int64_t saved_elements = 0;      ///< per image: the `saved` base tensors

  [[nodiscard]] int forward_time(int op) const { return op; }
  [[nodiscard]] int loss_time() const { return ops; }
  [[nodiscard]] int backward_time(int op) const { return 2 * ops - op; }
  [[nodiscard]] int end_time() const { return training ? 2 * ops + 1 : ops; }
};

/// Whether op `op` runs no kernel and its output shares its input's memory.
[[nodiscard]] inline bool is_view_op(const Op& op, bool training, bool dropout) {
  return training ? training_view(op.layer, dropout) : op.layer.view;
}

/// The plan of `program` (see the file comment). Throws std::invalid_argument for a program
/// not in the lowered form or a `trainable` mask of the wrong length.
[[nodiscard]] inline TrainingPlan plan_training(const ProgramView& program,
                                                const PlanOptions& options) {
  const int n = int(program.ops.size());
  const int tensors = int(program.tensors.size());
  if (n == 0 || tensors != n + 1) {
    throw std::invalid_argument(
        "archetype::codegen: plan_training() needs ops and one tensor per op plus the input");
  }
  TrainingPlan p;
  p.ops = n;
  p.training = options.training;
  const auto T = [](int t) { return std::size_t(t); };
  p.base.resize(T(tensors));
  std::iota(p.base.begin(), p.base.end(), 0);
  p.view_op.assign(T(n), false);
  p.group_of_op.assign(T(n), -1);
  std::vector<int> producer(T(tensors), -1), readers(T(tensors), 0);
  for (int o = 0; o < n; ++o) {
    const Op& op = program.ops[T(o)];
    if (op.output != o + 1 || op.input_count < 1 || op.input_count > max_op_inputs) {
      throw std::invalid_argument("archetype::codegen: op " + std::to_string(o) +
                                  " is not in the lowered form");
    }
    for (int i = 0; i < op.input_count; ++i) {
      if (op.inputs[i] < 0 || op.inputs[i] > o) {
        throw std::invalid_argument("archetype::codegen: op " + std::to_string(o) +
                                    " reads a later tensor");
      }
      ++readers[T(op.inputs[i])];
    }
    producer[T(op.output)] = o;
    if (is_view_op(op, options.training, options.dropout)) {
      p.view_op[T(o)] = true;
      p.base[T(op.output)] = p.base[T(op.inputs[0])];
    }
    if (op.layer.params > 0) {
      p.group_of_op[T(o)] = int(p.groups.size());
      p.groups.push_back(ParameterGroup{o, op.param_offset, op.layer.params, true});
    }
  }
  if (!options.trainable.empty()) {
    if (options.trainable.size() != p.groups.size()) {
      throw std::invalid_argument("archetype::codegen: the trainable mask has " +
                                  std::to_string(options.trainable.size()) + " entries for " +
                                  std::to_string(p.groups.size()) + " parameter groups");
    }
    for (std::size_t g = 0; g < p.groups.size(); ++g) p.groups[g].trainable = options.trainable[g];
  }

  // Fusions: the next op is a ReLU, the only reader of this op's output (not the output).
  p.fused_relu.assign(T(n), -1);
  p.absorbed.assign(T(n), false);
  if (options.training) {
    for (int o = 0; o + 1 < n; ++o) {
      const Op& op = program.ops[T(o)];
      const Op& next = program.ops[T(o + 1)];
      const bool wanted =
          (op.layer.op == LayerKind::batch_norm && options.fusions.batch_norm_relu) ||
          (op.layer.op == LayerKind::add && op.input_count == 2 && options.fusions.add_relu);
      if (!wanted || op.output == program.output || readers[T(op.output)] != 1 ||
          next.layer.op != LayerKind::relu || next.inputs[0] != op.output || p.absorbed[T(o)]) {
        continue;
      }
      p.fused_relu[T(o)] = o + 1;
      p.absorbed[T(o + 1)] = true;
    }
  }

  // Gradients needed: a trainable parameter (or the input, when asked) lies upstream.
  p.needs_grad.assign(T(tensors), false);
  p.weight_gradient.assign(T(n), false);
  p.batch_statistics.assign(T(n), false);
  p.backward.assign(T(n), false);
  if (options.training) {
    p.needs_grad[T(program.input)] = options.input_gradient;
    for (int o = 0; o < n; ++o) {
      const Op& op = program.ops[T(o)];
      const int g = p.group_of_op[T(o)];
      p.weight_gradient[T(o)] = g >= 0 && p.groups[T(g)].trainable;
      p.batch_statistics[T(o)] = op.layer.op == LayerKind::batch_norm &&
                                 !options.batch_norm_inference &&
                                 (g < 0 || p.groups[T(g)].trainable);
      bool needed = p.weight_gradient[T(o)];
      for (int i = 0; i < op.input_count; ++i) needed = needed || p.needs_grad[T(op.inputs[i])];
      p.needs_grad[T(op.output)] = needed;
      p.backward[T(o)] = needed && !p.view_op[T(o)] && !p.absorbed[T(o)];
    }
  }

  // Forward values: born at their producer (an absorbed ReLU's at its absorbing op), kept
  // to their last reader.
  const int end = p.end_time();
  p.value_life.assign(T(tensors), Lifetime{});
  for (int t = 0; t < tensors; ++t) {
    if (p.base[T(t)] == t)
      p.value_life[T(t)] = Lifetime{std::max(producer[T(t)], 0), std::max(producer[T(t)], 0)};
  }
  for (int o = 0; o < n; ++o) {
    if (const int r = p.fused_relu[T(o)]; r >= 0) {
      Lifetime& v = p.value_life[T(p.base[T(program.ops[T(r)].output)])];
      v.birth = std::min(v.birth, o);
    }
  }
  p.saved.assign(T(tensors), false);
  const auto keep = [&](int t, int time) {
    Lifetime& v = p.value_life[T(p.base[T(t)])];
    v.death = std::max(v.death, time);
  };
  const auto save = [&](int t, int time) {
    keep(t, time);
    p.saved[T(t)] = true;
    p.saved[T(p.base[T(t)])] = true;
  };
  keep(program.output, end);
  for (int o = 0; o < n; ++o) {
    const Op& op = program.ops[T(o)];
    for (int i = 0; i < op.input_count; ++i) keep(op.inputs[i], o);
    if (!p.backward[T(o)]) continue;
    const int bt = p.backward_time(o);
    const BackwardReads reads = backward_reads(op.layer.op);
    if (const int r = p.fused_relu[T(o)]; r >= 0) save(program.ops[T(r)].output, bt);
    if (reads.output) save(op.output, bt);
    if (reads.every_input) {
      for (int i = 0; i < op.input_count; ++i) save(op.inputs[i], bt);
    } else if ((reads.input_for_data && p.needs_grad[T(op.inputs[0])]) ||
               (reads.input_for_weights && p.weight_gradient[T(o)])) {
      save(op.inputs[0], bt);
    }
  }
  for (int t = 0; t < tensors; ++t) {
    if (p.saved[T(t)] && p.base[T(t)] == t)
      p.saved_elements += program.tensors[T(t)].shape.elements();
  }

  // Gradients: which contribution comes first (backward order: the loss, then ops from the
  // last to the first, each op's inputs in slot order) and how long each lives.
  p.accumulate.assign(T(n), {});
  p.gradient_unwritten.assign(T(tensors), false);
  p.gradient_life.assign(T(tensors), Lifetime{});
  if (options.training) {
    std::vector<bool> written(T(tensors), false);
    const int out_base = p.base[T(program.output)];
    if (p.needs_grad[T(out_base)]) {
      written[T(out_base)] = true;
      p.gradient_life[T(out_base)].birth = p.loss_time();
    }
    for (int o = n - 1; o >= 0; --o) {
      const Op& op = program.ops[T(o)];
      if (p.view_op[T(o)]) continue;
      for (int i = 0; i < op.input_count; ++i) {
        const int b = p.base[T(op.inputs[i])];
        if (!p.needs_grad[T(b)]) continue;
        p.accumulate[T(o)][T(i)] = written[T(b)];
        if (!written[T(b)]) {
          written[T(b)] = true;
          p.gradient_life[T(b)].birth = p.backward_time(o);
        }
      }
    }
    for (int t = 0; t < tensors; ++t) {
      if (p.base[T(t)] != t || !p.needs_grad[T(t)]) continue;
      const int prod = producer[T(t)];
      int death = prod < 0 ? end : p.backward_time(prod);
      if (prod >= 0 && p.absorbed[T(prod)])
        death = p.backward_time(prod - 1);  // its absorbing op reads it
      p.gradient_life[T(t)].death = death;
      if (!written[T(t)]) {  // nobody reads it: zeroed by its producer's backward step
        p.gradient_unwritten[T(t)] = true;
        p.gradient_life[T(t)].birth = death;
      }
    }
    for (int o = n - 1; o >= 0; --o) {
      if (p.weight_gradient[T(o)]) p.gradient_final.push_back(p.group_of_op[T(o)]);
    }
  }
  return p;
}

/// One buffer to place: `bytes` alive over the inclusive plan times [birth, death].
struct ArenaRequest {
  std::size_t bytes = 0;
  Lifetime life{};
};

/// Where each request lives in one arena.
struct ArenaLayout {
  std::vector<std::size_t> offsets;  ///< per request, in bytes, each a multiple of the alignment
  std::size_t total = 0;             ///< the arena's bytes
  std::size_t live_peak = 0;         ///< the most bytes alive at one time: no layout needs less
};

/// Packs `requests` into one arena: largest first, each at the lowest offset (a multiple of
/// `alignment`) free of every placed request whose lifetime overlaps its own. Two requests
/// alive at one time never share a byte.
[[nodiscard]] inline ArenaLayout pack_arena(std::span<const ArenaRequest> requests,
                                            std::size_t alignment) {
  const std::size_t n = requests.size();
  const auto rounded = [alignment](std::size_t bytes) {
    return std::max(alignment, (bytes + alignment - 1) / alignment * alignment);
  };
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return requests[a].bytes > requests[b].bytes;
  });
  ArenaLayout layout;
  layout.offsets.assign(n, 0);
  std::vector<std::size_t> placed;
  std::vector<std::pair<std::size_t, std::size_t>> taken;  // [offset, end) of overlapping ones
  for (std::size_t i : order) {
    const std::size_t size = rounded(requests[i].bytes);
    taken.clear();
    for (std::size_t j : placed) {
      if (requests[i].life.overlaps(requests[j].life)) {
        taken.emplace_back(layout.offsets[j], layout.offsets[j] + rounded(requests[j].bytes));
      }
    }
    std::sort(taken.begin(), taken.end());
    std::size_t offset = 0;
    for (const auto& [first, last] : taken) {
      if (offset + size <= first) break;
      offset = std::max(offset, last);
    }
    layout.offsets[i] = offset;
    layout.total = std::max(layout.total, offset + size);
    placed.push_back(i);
  }
  // The live peak: at each birth, the bytes of every request alive then.
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t live = 0;
    for (std::size_t j = 0; j < n; ++j) {
      const Lifetime& a = requests[j].life;
      if (!a.empty() && a.birth <= requests[i].life.birth && requests[i].life.birth <= a.death) {
        live += requests[j].bytes;
      }
    }
    layout.live_peak = std::max(layout.live_peak, live);
  }
  return layout;
}

/// The gradient all-reduce's buckets (data-parallel training; the MPI one in runtime/ and
/// the NCCL one in the cuDNN backend share them): the trainable groups in the order their
/// gradients become final (`gradient_final`), a bucket closed at the first group that takes
/// it to `bucket_bytes` of fp32 gradients (`first_bucket_bytes` for the first), as PyTorch
/// DDP assigns its buckets (25 MB, the first 1 MB). Each bucket lists its groups in that
/// order; its all-reduce can start once its last one is final.
[[nodiscard]] inline std::vector<std::vector<int>> gradient_buckets(
    const TrainingPlan& plan, std::size_t bucket_bytes = std::size_t{25} << 20,
    std::size_t first_bucket_bytes = std::size_t{1} << 20) {
  std::vector<std::vector<int>> buckets;
  std::size_t bytes = 0;
  for (const int g : plan.gradient_final) {
    if (buckets.empty() || bytes >= (buckets.size() == 1 ? first_bucket_bytes : bucket_bytes)) {
      buckets.emplace_back();
      bytes = 0;
    }
    buckets.back().push_back(g);
    bytes += std::size_t(plan.groups[std::size_t(g)].size) * sizeof(float);
  }
  return buckets;
}

}  // namespace archetype::codegen
