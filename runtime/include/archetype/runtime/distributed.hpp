#pragma once
/// \file
/// \brief Data-parallel training across processes: the processes of the run (MPI's world),
/// and the gradient all-reduce in buckets started from the backward pass.
///
/// One process per socket (or GPU), started by `mpirun` (or SLURM's `srun`); each trains on
/// its shard of every global batch, and after the backward pass every process holds the
/// mean of all processes' gradients, so that every process takes the same optimizer step
/// from the same parameters. docs/distributed.md says how to run it. MPI is a build option
/// (`ARCHETYPE_WITH_MPI`, on where MPI is found); without it a run is one process and
/// asking for more is an error that says so. No MPI type appears here.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace archetype::codegen {
struct TrainingPlan;
}

namespace archetype::runtime {

/// Whether this build has MPI (Open MPI or another implementation found by CMake's FindMPI).
[[nodiscard]] bool mpi_built() noexcept;

/// Whether this process was started by an MPI launcher: Open MPI's mpirun
/// (OMPI_COMM_WORLD_SIZE), a PMIx launcher such as SLURM's srun --mpi=pmix (PMIX_RANK), or
/// MPICH's Hydra (PMI_SIZE).
[[nodiscard]] bool launched_by_mpi() noexcept;

/// Raised by a collective that does not complete within the timeout, after rank 0 has
/// printed which ranks stopped answering; what() says the same.
struct CollectiveTimeout : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The processes of this run: MPI_COMM_WORLD, MPI initialised by the first `world()` and
/// finalised at exit. Every collective waits at most `timeout_seconds`; at the timeout rank
/// 0 names the ranks that have not reached the step (a heartbeat each sends it per step),
/// and the job is aborted (MPI_Abort), so that a rank that dies or hangs ends the job
/// rather than leaving the others waiting forever.
class Processes {
 public:
  /// The world. Throws std::runtime_error when the build has no MPI.
  static Processes& world(double timeout_seconds = 300);
  /// A run of one process, without MPI (every collective is the identity).
  static Processes& single();

  [[nodiscard]] int rank() const { return rank_; }
  [[nodiscard]] int size() const { return size_; }
  [[nodiscard]] bool root() const { return rank_ == 0; }
  /// This process's rank among those of its node (MPI_COMM_TYPE_SHARED): its GPU, with one
  /// process per GPU.
  [[nodiscard]] int local_rank() const { return local_rank_; }
  [[nodiscard]] double timeout_seconds() const { return timeout_; }

  /// Rank 0's values to every rank.
  void broadcast(std::span<float> values);
  void broadcast(std::span<double> values);
  void broadcast(std::span<unsigned char> bytes);
  /// Element-wise sums over every rank, in place (blocking).
  void all_reduce_sum(std::span<double> values);

  /// Tells rank 0 that this rank has reached `step` (the heartbeat it names stalled ranks
  /// from); on rank 0, collects the others' heartbeats. Cheap: a non-blocking message.
  void heartbeat(std::int64_t step);

  /// Prints `message` on stderr prefixed with this rank and aborts every process of the
  /// job (MPI_Abort): what an exception on one rank must do, since the other ranks would
  /// otherwise wait in their next collective.
  [[noreturn]] void abort(const std::string& message);

  /// Non-blocking sum of `values` in place; `done()` tests it (and lets MPI progress),
  /// `wait()` blocks until it completes, at most the timeout.
  class Request {
   public:
    Request();
    ~Request();
    Request(Request&&) noexcept;
    Request& operator=(Request&&) noexcept;
    [[nodiscard]] bool active() const;
    bool done();
    void wait(Processes& processes, const std::string& what);

   private:
    friend class Processes;
    struct Impl;
    std::unique_ptr<Impl> impl_;
  };
  Request start_all_reduce_sum(std::span<float> values);

  /// Called by wait loops at the timeout: on rank 0, the message naming the ranks that did
  /// not reach `step`; then aborts. Exposed for the gradient all-reduce's wait.
  [[noreturn]] void timed_out(const std::string& what);

  Processes(const Processes&) = delete;
  Processes& operator=(const Processes&) = delete;
  ~Processes();

 private:
  Processes() = default;
  int rank_ = 0, size_ = 1, local_rank_ = 0;
  double timeout_ = 300;
  bool mpi_ = false;
  std::int64_t step_ = 0;
  std::vector<std::int64_t> heard_;  // rank 0: the last step each rank reported
  struct Beats;
  std::unique_ptr<Beats> beats_;
};

/// The gradient all-reduce of one training executable. Parameter groups are assigned to
/// buckets statically, in the order their gradients become final in the backward pass
/// (`codegen::TrainingPlan::gradient_final`), each bucket closed once it holds
/// `bucket_bytes` (25 MB, PyTorch DDP's `bucket_cap_mb`; the first, `first_bucket_bytes`,
/// 1 MB as DDP's, so that communication starts early in the backward) or the groups run
/// out. During the
/// backward, `ready(group)` (the oneDNN executable's on_gradient_ready hook) copies the
/// group's gradient into its bucket and, when the bucket's last group is final, starts the
/// bucket's non-blocking all-reduce; `finish()`, before the optimizer step, waits for every
/// bucket and writes back the mean over the processes (each process's gradient is that of
/// its shard's mean loss, so the mean is the gradient of the global batch's mean loss).
class GradientAllReduce {
 public:
  GradientAllReduce(Processes& processes, const codegen::TrainingPlan& plan,
                    std::span<float> gradients, std::size_t bucket_bytes = 25u << 20,
                    std::size_t first_bucket_bytes = 1u << 20);
  ~GradientAllReduce();
  GradientAllReduce(const GradientAllReduce&) = delete;
  GradientAllReduce& operator=(const GradientAllReduce&) = delete;

  /// Group `group`'s gradient (index in plan.groups) is final.
  void ready(int group);
  /// Waits for every bucket and writes the averaged gradients back. Throws std::logic_error
  /// when a group was never reported (the hook is not registered).
  void finish();

  /// Per step, seconds: `all_reduce`, the wall time during which at least one bucket's
  /// all-reduce was in flight (started, completion not yet seen: completion is seen when
  /// the hook or finish() tests it, so this is an upper bound); `overlapped`, the part of
  /// it before the backward pass ended (the last ready() call... finish()'s start);
  /// `exposed`, the wait in finish() after the backward pass (the step's cost of the
  /// all-reduce).
  struct Times {
    double all_reduce = 0, overlapped = 0, exposed = 0;
  };
  [[nodiscard]] const Times& last() const { return last_; }
  /// The buckets: their sizes in floats, in start order.
  [[nodiscard]] std::vector<std::size_t> bucket_sizes() const;

 private:
  struct Bucket;
  Processes& processes_;
  std::span<float> gradients_;
  std::vector<std::unique_ptr<Bucket>> buckets_;
  std::vector<int> bucket_of_group_, slot_of_group_;
  std::vector<std::int64_t> group_offset_, group_size_;
  Times last_{};
  void poll();
};

}  // namespace archetype::runtime
