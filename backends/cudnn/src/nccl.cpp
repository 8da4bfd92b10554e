// NCCL's gradient all-reduce (nccl.hpp), or its refusal in a plug-in built without NCCL.
#include "nccl.hpp"

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#if ARCHETYPE_HAVE_NCCL
#include <nccl.h>
#endif

namespace archetype::cudnn::detail {

#if ARCHETYPE_HAVE_NCCL
namespace {

void nccl_check(ncclResult_t r, const char* what) {
  if (r != ncclSuccess) {
    throw std::runtime_error(std::string("archetype::cudnn: NCCL: ") + what + ": " +
                             ncclGetErrorString(r));
  }
}

void cuda_check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    throw std::runtime_error(std::string("archetype::cudnn: NCCL all-reduce: ") + what + ": " +
                             cudaGetErrorString(e));
  }
}

class Nccl final : public NcclAllReduce {
 public:
  Nccl(const Options& options, const codegen::TrainingPlan& plan) {
    static_assert(sizeof(ncclUniqueId) == sizeof(options.nccl_id), "ncclUniqueId is 128 bytes");
    ncclUniqueId id;
    std::memcpy(&id, options.nccl_id.data(), sizeof id);
    nccl_check(ncclCommInitRank(&comm_, options.nccl_ranks, id, options.nccl_rank),
               "ncclCommInitRank");
    cuda_check(cudaStreamCreateWithFlags(&side_, cudaStreamNonBlocking), "cudaStreamCreate");
    cuda_check(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming), "cudaEventCreate");
    buckets_ = codegen::gradient_buckets(plan);
    bucket_of_.assign(plan.groups.size(), -1);
    for (std::size_t k = 0; k < buckets_.size(); ++k) {
      for (const int g : buckets_[k]) bucket_of_[std::size_t(g)] = int(k);
    }
    ready_.assign(buckets_.size(), 0);
    started_.resize(buckets_.size());
    for (cudaEvent_t& e : started_)
      cuda_check(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "cudaEventCreate");
    for (const codegen::ParameterGroup& g : plan.groups) groups_.push_back({g.offset, g.size});
  }
  ~Nccl() override {
    for (cudaEvent_t e : started_) cudaEventDestroy(e);
    cudaEventDestroy(done_);
    cudaStreamDestroy(side_);
    ncclCommDestroy(comm_);
  }

  void ready(int group, float* gradients, cudaStream_t stream) override {
    const int k = bucket_of_[std::size_t(group)];
    if (++ready_[std::size_t(k)] < int(buckets_[std::size_t(k)].size())) return;
    ready_[std::size_t(k)] = 0;
    // The side stream starts this bucket once the step's stream has written its gradients.
    cuda_check(cudaEventRecord(started_[std::size_t(k)], stream), "cudaEventRecord");
    cuda_check(cudaStreamWaitEvent(side_, started_[std::size_t(k)], 0), "cudaStreamWaitEvent");
    nccl_check(ncclGroupStart(), "ncclGroupStart");
    for (const int g : buckets_[std::size_t(k)]) {
      const auto& [offset, size] = groups_[std::size_t(g)];
      float* p = gradients + offset;
      nccl_check(ncclAllReduce(p, p, std::size_t(size), ncclFloat, ncclAvg, comm_, side_),
                 "ncclAllReduce");
    }
    nccl_check(ncclGroupEnd(), "ncclGroupEnd");
  }

  void join(cudaStream_t stream) override {
    cuda_check(cudaEventRecord(done_, side_), "cudaEventRecord");
    cuda_check(cudaStreamWaitEvent(stream, done_, 0), "cudaStreamWaitEvent");
  }

 private:
  ncclComm_t comm_ = nullptr;
  cudaStream_t side_ = nullptr;
  cudaEvent_t done_ = nullptr;
  std::vector<cudaEvent_t> started_;
  std::vector<std::vector<int>> buckets_;
  std::vector<int> bucket_of_, ready_;
  std::vector<std::pair<std::int64_t, std::int64_t>> groups_;  // offset, size
};

}  // namespace

std::unique_ptr<NcclAllReduce> NcclAllReduce::create(const Options& options,
                                                     const codegen::TrainingPlan& plan) {
  return std::make_unique<Nccl>(options, plan);
}

std::array<unsigned char, 128> nccl_unique_id() {
  ncclUniqueId id;
  nccl_check(ncclGetUniqueId(&id), "ncclGetUniqueId");
  std::array<unsigned char, 128> bytes{};
  std::memcpy(bytes.data(), &id, sizeof id);
  return bytes;
}

#else

namespace {
constexpr const char* no_nccl =
    "archetype::cudnn: this plug-in was built without NCCL (nccl.h and libnccl were not found with "
    "the CUDA "
    "toolkit): data-parallel training on GPUs needs it";
}

std::unique_ptr<NcclAllReduce> NcclAllReduce::create(const Options&, const codegen::TrainingPlan&) {
  throw std::runtime_error(no_nccl);
}

std::array<unsigned char, 128> nccl_unique_id() { throw std::runtime_error(no_nccl); }

#endif

}  // namespace archetype::cudnn::detail
