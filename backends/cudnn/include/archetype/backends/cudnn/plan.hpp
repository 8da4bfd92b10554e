#pragma once
/// \file
/// \brief The static memory plan of the cuDNN backend: where every forward value and every
/// gradient lives in the one activation arena, computed once from the Program before any
/// device memory is touched (plain C++, no CUDA: tested on any machine).
///
/// Time runs over one training step: forward op `o` at time `o`, the loss at time `n`
/// (`n` ops), the backward of op `o` at time `2n - o`, the end of the step at `2n + 1`.
/// An inference plan has the forward times only and ends at `n`.
/// - Views: an op whose output is its input unchanged (Flatten; an AdaptiveAvgPool to the
///   same size; Dropout and StochasticDepth at inference, with Options::dropout false or
///   with p = 0) runs no kernel and its output shares its input's memory: every tensor has
///   a `base`, itself or the tensor whose memory it shares, and a view's gradient is its
///   base's gradient (contributions through the view and around it add up in one buffer).
/// - A forward value lives from its producer to its last reader: forward readers, the
///   backward steps that read it (Conv, Linear, BatchNorm, SiLU, LocalResponseNorm, MaxPool
///   and Scale read their inputs; ReLU, ReLU6 and Sigmoid their outputs) and, for the
///   output, the end of the step (the loss and the host copy read it).
/// - A gradient lives from the first backward step that contributes to it (the loss, for the
///   output) to its producer's backward step (the input's: to the end). The first
///   contribution writes it and later ones add to it (`accumulate`), so no gradient is ever
///   cleared.
/// - Placement: first fit by birth time, each buffer aligned to 64 floats (256 bytes).
/// Two buffers whose lifetimes share a time never overlap in memory, so an op never writes
/// over something it reads.

#include <archetype/codegen/program.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace archetype::cudnn {

/// One placed buffer: a forward value or a gradient of a base tensor.
struct PlannedBuffer {
  enum class Kind { value, gradient };
  Kind kind = Kind::value;
  int tensor = 0;            ///< the base tensor
  std::int64_t offset = 0;   ///< in floats, from the arena's start
  std::int64_t size = 0;     ///< in floats (batch included, rounded up to the alignment)
  int birth = 0, death = 0;  ///< inclusive times
};

struct MemoryPlan {
  static constexpr std::int64_t alignment = 64;  ///< floats

  int ops = 0;
  bool training = false;
  std::vector<int> base;                  ///< per tensor: the tensor whose memory it uses
  std::vector<bool> view_op;              ///< per op: its output is its input (no kernel)
  std::vector<bool> needs_grad;           ///< per tensor: training needs its gradient
  std::vector<std::int64_t> value;        ///< per tensor: offset of its (base's) value
  std::vector<std::int64_t> gradient;     ///< per tensor: offset of its (base's) gradient, -1 when none
  std::vector<bool> gradient_unwritten;   ///< per base tensor: needed but no step writes it (zeroed)
  /// Per op and input slot: the backward adds to that input's gradient (false: it is the
  /// first contribution and writes it).
  std::vector<std::array<bool, codegen::max_op_inputs>> accumulate;
  bool loss_writes_output_gradient = true;  ///< the output's gradient is first written by the loss
  /// BatchNorm + ReLU fusion (plan_memory's `fuse_batch_norm_relu`): per op, for a BatchNorm,
  /// the ReLU it absorbs (-1: none). The BatchNorm then writes the ReLU's output and its
  /// backward reads that output (the mask) and its gradient; the ReLU runs nothing.
  std::vector<int> fused_relu;
  std::vector<bool> absorbed;  ///< per op: a ReLU a BatchNorm absorbed
  std::vector<PlannedBuffer> buffers;
  std::int64_t arena = 0;  ///< floats

  [[nodiscard]] int forward_time(int op) const { return op; }
  [[nodiscard]] int loss_time() const { return ops; }
  [[nodiscard]] int backward_time(int op) const { return 2 * ops - op; }
  [[nodiscard]] int end_time() const { return training ? 2 * ops + 1 : ops; }
};

/// Whether op `op` runs no kernel and its output shares its input's memory (see the file
/// comment), given the mode and the Dropout switch.
[[nodiscard]] bool is_view_op(const codegen::Op& op, bool training, bool dropout);

/// The plan of `program` for `batch` images. `training`: forward values kept for the
/// backward, gradients; `dropout`: Options::dropout; `input_gradient`:
/// Options::input_gradient; `fuse_batch_norm_relu`: a ReLU that is the only reader of a
/// BatchNorm's output (not the program's output) is absorbed by it (`fused_relu`), and the
/// lifetimes follow: the ReLU's output value and gradient live until the BatchNorm's
/// backward, which reads them. Throws std::invalid_argument for an inconsistent program.
[[nodiscard]] MemoryPlan plan_memory(const codegen::ProgramView& program, int batch, bool training, bool dropout,
                                     bool input_gradient, bool fuse_batch_norm_relu = false);

/// An empty string when no two buffers whose lifetimes overlap share memory and every
/// buffer lies inside the arena; otherwise the first violation, in words (for tests).
[[nodiscard]] std::string check_plan(const MemoryPlan& plan);

/// Whether the backend can keep this program's activations channels-last (NHWC, with
/// Options::bf16 and Options::channels_last): every op has an NHWC implementation (not
/// LocalResponseNorm, PadTo or Resize), no op reads a reshaped view of a map larger than 1x1
/// (Flatten of a 5x5 map into a Linear: its order would differ from NCHW's, which the weights
/// assume), and the output is 1x1 per channel (the host sees it as NCHW unchanged).
[[nodiscard]] bool channels_last_possible(const codegen::ProgramView& program, const MemoryPlan& plan);
/// Whether the backend has a channels-last kernel for this op kind (all but LocalResponseNorm,
/// PadTo and Resize).
[[nodiscard]] bool has_channels_last_kernel(LayerKind kind);

}  // namespace archetype::cudnn
