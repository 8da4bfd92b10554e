#pragma once
// The gradient all-reduce of data-parallel training across GPUs, over NCCL (one process per
// GPU, Options::nccl_ranks > 0): the plan's buckets (codegen::gradient_buckets, the MPI
// all-reduce's on the CPU), each averaged in place in the fp32 gradient block once its last
// group's gradient is final, on a stream of its own forked from the step's stream by an
// event; the step's stream joins it before the update. Everything is enqueued from the
// backward's steps, so the CUDA Graph of the step captures it too (NCCL 2.9 and later).
// Built with NCCL where cmake found it (ARCHETYPE_HAVE_NCCL); otherwise create() refuses.
#include <archetype/backends/cudnn/executable.hpp>
#include <archetype/codegen/training_plan.hpp>

#include <cuda_runtime_api.h>

#include <array>
#include <memory>

namespace archetype::cudnn::detail {

class NcclAllReduce {
 public:
  /// Joins the communicator of `options` (nccl_ranks, nccl_rank, nccl_id) on the current
  /// device. Throws std::runtime_error with NCCL's words, or when the plug-in has no NCCL.
  static std::unique_ptr<NcclAllReduce> create(const Options& options,
                                               const codegen::TrainingPlan& plan);
  virtual ~NcclAllReduce() = default;
  /// Group `group`'s gradient (in `gradients`, the fp32 block) is final on `stream`.
  virtual void ready(int group, float* gradients, cudaStream_t stream) = 0;
  /// `stream` waits for every bucket's all-reduce (and the buckets start afresh).
  virtual void join(cudaStream_t stream) = 0;
};

/// ncclGetUniqueId's bytes. Throws std::runtime_error when the plug-in has no NCCL.
std::array<unsigned char, 128> nccl_unique_id();

}  // namespace archetype::cudnn::detail
