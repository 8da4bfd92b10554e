#pragma once
/// \file
/// \brief The static memory plan of the cuDNN backend: codegen's training plan
/// (`codegen::plan_training`: views, gradients, what the backward reads, the BatchNorm + ReLU
/// fusion, lifetimes) with every forward value and gradient placed in the one activation
/// arena by `codegen::pack_arena`, computed once from the Program before any device memory
/// is touched (plain C++, no CUDA: tested on any machine).
///
/// Buffers are the batch's floats rounded up to 64 floats (256 bytes). Two buffers whose
/// lifetimes share a time never overlap in memory, so an op never writes over something it
/// reads.

#include <archetype/codegen/program.hpp>
#include <archetype/codegen/training_plan.hpp>

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

struct MemoryPlan : codegen::TrainingPlan {
  static constexpr std::int64_t alignment = 64;  ///< floats

  std::vector<std::int64_t> value;  ///< per tensor: offset of its (base's) value
  std::vector<std::int64_t>
      gradient;  ///< per tensor: offset of its (base's) gradient, -1 when none
  bool loss_writes_output_gradient = true;  ///< the output's gradient is first written by the loss
  std::vector<PlannedBuffer> buffers;
  std::int64_t arena = 0;  ///< floats
};

/// The plan of `program` for `batch` images. `training`: forward values kept for the
/// backward, gradients; `dropout`: Options::dropout; `input_gradient`:
/// Options::input_gradient; `fuse_batch_norm_relu`: the plan's BatchNorm + ReLU fusion
/// (`fused_relu`, `absorbed`). Throws std::invalid_argument for an inconsistent program.
[[nodiscard]] MemoryPlan plan_memory(const codegen::ProgramView& program, int batch, bool training, bool dropout,
                                     bool input_gradient, bool fuse_batch_norm_relu = false);

/// An empty string when no two buffers whose lifetimes overlap share memory and every
/// buffer lies inside the arena; otherwise the first violation, in words (for tests).
[[nodiscard]] std::string check_plan(const MemoryPlan& plan);

/// Whether the backend can keep this program's activations channels-last (NHWC, with
/// Options::precision = bf16 and Options::channels_last): every op has an NHWC implementation (not
/// LocalResponseNorm, PadTo or Resize), no op reads a reshaped view of a map larger than 1x1
/// (Flatten of a 5x5 map into a Linear: its order would differ from NCHW's, which the weights
/// assume), and the output is 1x1 per channel (the host sees it as NCHW unchanged).
[[nodiscard]] bool channels_last_possible(const codegen::ProgramView& program, const MemoryPlan& plan);
/// Whether the backend has a channels-last kernel for this op kind (all but LocalResponseNorm,
/// PadTo and Resize).
[[nodiscard]] bool has_channels_last_kernel(LayerKind kind);

}  // namespace archetype::cudnn
