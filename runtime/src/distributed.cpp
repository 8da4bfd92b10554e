// The processes of a data-parallel run (MPI where built) and the bucketed gradient
// all-reduce driven by the backward pass's gradient-final hook.
#include <archetype/runtime/distributed.hpp>

#include <archetype/codegen/training_plan.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

#if ARCHETYPE_HAVE_MPI
#define OMPI_SKIP_MPICXX 1  // the C API only (Open MPI's C++ bindings are deprecated)
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#include <unistd.h>
#endif

namespace archetype::runtime {

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

#if ARCHETYPE_HAVE_MPI
constexpr int heartbeat_tag = 7301;

void check(int code, const char* what) {
  if (code != MPI_SUCCESS) {
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    throw std::runtime_error(std::string("MPI: ") + what + ": " +
                             std::string(text, std::size_t(length)));
  }
}

/// Waits for `request` by testing it (a blocking wait cannot time out), yielding the core.
bool wait_for(MPI_Request& request, double timeout) {
  const auto start = Clock::now();
  for (int spins = 0;; ++spins) {
    int done = 0;
    check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done) return true;
    if (since(start, Clock::now()) > timeout) return false;
    if (spins > 1000) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}
#endif
}  // namespace

bool mpi_built() noexcept { return ARCHETYPE_HAVE_MPI != 0; }

bool launched_by_mpi() noexcept {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"}) {
    if (std::getenv(name) != nullptr) return true;
  }
  return false;
}

// --- Processes -------------------------------------------------------------------------------

struct Processes::Beats {
#if ARCHETYPE_HAVE_MPI
  std::vector<MPI_Request> receive;  // rank 0: one pending receive per other rank
  std::vector<std::int64_t> incoming;
  MPI_Request send = MPI_REQUEST_NULL;  // other ranks: the last heartbeat sent
  std::int64_t outgoing = 0;
#endif
};

Processes& Processes::single() {
  static Processes one;
  return one;
}

#if ARCHETYPE_HAVE_MPI
namespace {
Processes* the_world = nullptr;
}
#endif

Processes& Processes::world(double timeout_seconds) {
#if ARCHETYPE_HAVE_MPI
  static Processes* world = [] {
    auto* p = new Processes();  // lives to the end: MPI_Finalize runs at exit
    the_world = p;
    int initialised = 0;
    MPI_Initialized(&initialised);
    if (!initialised) {
      int provided = 0;
      // Only the main thread calls MPI (the batch prefetcher does not).
      check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
      std::atexit([] {
        int finalised = 0;
        MPI_Finalized(&finalised);
        if (finalised) return;
        // The heartbeats still posted: rank 0's receives are cancelled, another rank's last
        // send completes (rank 0's receive for it is posted, or cancelled and then it is
        // dropped) so that MPI_Finalize has no request of ours left.
        if (the_world != nullptr && the_world->beats_) {
          Beats& b = *the_world->beats_;
          for (MPI_Request& r : b.receive) {
            if (r != MPI_REQUEST_NULL) {
              MPI_Cancel(&r);
              MPI_Request_free(&r);
            }
          }
          if (b.send != MPI_REQUEST_NULL) MPI_Request_free(&b.send);
        }
        MPI_Finalize();
      });
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &p->rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &p->size_);
    MPI_Comm node = MPI_COMM_NULL;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, p->rank_, MPI_INFO_NULL, &node) ==
        MPI_SUCCESS) {
      MPI_Comm_rank(node, &p->local_rank_);
      MPI_Comm_free(&node);
    }
    p->mpi_ = true;
    p->beats_ = std::make_unique<Beats>();
    if (p->rank_ == 0) {
      p->heard_.assign(std::size_t(p->size_), -1);
      p->beats_->receive.assign(std::size_t(p->size_), MPI_REQUEST_NULL);
      p->beats_->incoming.assign(std::size_t(p->size_), -1);
      for (int r = 1; r < p->size_; ++r) {
        MPI_Irecv(&p->beats_->incoming[std::size_t(r)], 1, MPI_INT64_T, r, heartbeat_tag,
                  MPI_COMM_WORLD, &p->beats_->receive[std::size_t(r)]);
      }
    }
    return p;
  }();
  world->timeout_ = timeout_seconds;
  return *world;
#else
  (void)timeout_seconds;
  throw std::runtime_error(
      "this build has no MPI (libopenmpi-dev was not found when it was configured, or "
      "ARCHETYPE_WITH_MPI is "
      "OFF): it trains in one process");
#endif
}

Processes::~Processes() = default;

void Processes::broadcast(std::span<float> values) {
#if ARCHETYPE_HAVE_MPI
  if (!mpi_ || size_ == 1) return;
  MPI_Request r;
  check(MPI_Ibcast(values.data(), int(values.size()), MPI_FLOAT, 0, MPI_COMM_WORLD, &r),
        "MPI_Ibcast");
  if (!wait_for(r, timeout_)) timed_out("a broadcast from rank 0");
#else
  (void)values;
#endif
}

void Processes::broadcast(std::span<double> values) {
#if ARCHETYPE_HAVE_MPI
  if (!mpi_ || size_ == 1) return;
  MPI_Request r;
  check(MPI_Ibcast(values.data(), int(values.size()), MPI_DOUBLE, 0, MPI_COMM_WORLD, &r),
        "MPI_Ibcast");
  if (!wait_for(r, timeout_)) timed_out("a broadcast from rank 0");
#else
  (void)values;
#endif
}

void Processes::broadcast(std::span<unsigned char> bytes) {
#if ARCHETYPE_HAVE_MPI
  if (!mpi_ || size_ == 1) return;
  MPI_Request r;
  check(MPI_Ibcast(bytes.data(), int(bytes.size()), MPI_BYTE, 0, MPI_COMM_WORLD, &r), "MPI_Ibcast");
  if (!wait_for(r, timeout_)) timed_out("a broadcast from rank 0");
#else
  (void)bytes;
#endif
}

void Processes::all_reduce_sum(std::span<double> values) {
#if ARCHETYPE_HAVE_MPI
  if (!mpi_ || size_ == 1) return;
  MPI_Request r;
  check(MPI_Iallreduce(MPI_IN_PLACE, values.data(), int(values.size()), MPI_DOUBLE, MPI_SUM,
                       MPI_COMM_WORLD, &r),
        "MPI_Iallreduce");
  if (!wait_for(r, timeout_)) timed_out("an all-reduce");
#else
  (void)values;
#endif
}

void Processes::heartbeat(std::int64_t step) {
  step_ = step;
#if ARCHETYPE_HAVE_MPI
  if (!mpi_ || size_ == 1) return;
  Beats& b = *beats_;
  if (rank_ == 0) {
    heard_[0] = step;
    for (int r = 1; r < size_; ++r) {
      for (;;) {  // every heartbeat that has arrived, the latest kept
        int done = 0;
        MPI_Test(&b.receive[std::size_t(r)], &done, MPI_STATUS_IGNORE);
        if (!done) break;
        heard_[std::size_t(r)] = b.incoming[std::size_t(r)];
        MPI_Irecv(&b.incoming[std::size_t(r)], 1, MPI_INT64_T, r, heartbeat_tag, MPI_COMM_WORLD,
                  &b.receive[std::size_t(r)]);
      }
    }
    return;
  }
  int done = 1;
  if (b.send != MPI_REQUEST_NULL) MPI_Test(&b.send, &done, MPI_STATUS_IGNORE);
  if (!done) return;  // rank 0 has not taken the last one yet: it hears this rank is alive
  b.outgoing = step;
  MPI_Isend(&b.outgoing, 1, MPI_INT64_T, 0, heartbeat_tag, MPI_COMM_WORLD, &b.send);
#endif
}

void Processes::abort(const std::string& message) {
  std::fprintf(stderr, "archetype: rank %d of %d: %s\n", rank_, size_, message.c_str());
  std::fflush(stderr);
#if ARCHETYPE_HAVE_MPI
  if (mpi_) MPI_Abort(MPI_COMM_WORLD, 1);
#endif
  std::exit(1);
}

void Processes::timed_out(const std::string& what) {
  std::string message = what + " did not complete within " + std::to_string(int(timeout_)) +
                        " s at step " + std::to_string(step_);
  if (rank_ == 0 && size_ > 1) {
    heartbeat(step_);  // the heartbeats that arrived meanwhile
    std::string stalled;
    for (int r = 1; r < size_; ++r) {
      if (heard_[std::size_t(r)] < step_) {
        stalled += (stalled.empty() ? "" : ", ") + std::string("rank ") + std::to_string(r) +
                   " (last heard at step " +
                   (heard_[std::size_t(r)] < 0 ? std::string("none")
                                               : std::to_string(heard_[std::size_t(r)])) +
                   ")";
      }
    }
    message += stalled.empty()
                   ? "; every rank reached this step (a slow network or a rank stuck inside it?)"
                   : "; not answering: " + stalled + ", which died or hangs";
    message += "; ending the job";
  } else if (size_ > 1) {
    message +=
        "; ending the job (rank 0 names the ranks that stopped answering, unless it is one of "
        "them)";
  }
  abort(message);
}

// --- Requests --------------------------------------------------------------------------------

struct Processes::Request::Impl {
#if ARCHETYPE_HAVE_MPI
  MPI_Request request = MPI_REQUEST_NULL;
#endif
};

Processes::Request::Request() : impl_(std::make_unique<Impl>()) {}
Processes::Request::~Request() = default;
Processes::Request::Request(Request&&) noexcept = default;
Processes::Request& Processes::Request::operator=(Request&&) noexcept = default;

bool Processes::Request::active() const {
#if ARCHETYPE_HAVE_MPI
  return impl_ && impl_->request != MPI_REQUEST_NULL;
#else
  return false;
#endif
}

bool Processes::Request::done() {
#if ARCHETYPE_HAVE_MPI
  if (!active()) return true;
  int flag = 0;
  check(MPI_Test(&impl_->request, &flag, MPI_STATUS_IGNORE), "MPI_Test");
  return flag != 0;
#else
  return true;
#endif
}

void Processes::Request::wait(Processes& processes, const std::string& what) {
#if ARCHETYPE_HAVE_MPI
  if (!active()) return;
  if (!wait_for(impl_->request, processes.timeout_)) processes.timed_out(what);
#else
  (void)processes;
  (void)what;
#endif
}

Processes::Request Processes::start_all_reduce_sum(std::span<float> values) {
  Request r;
#if ARCHETYPE_HAVE_MPI
  if (mpi_ && size_ > 1) {
    check(MPI_Iallreduce(MPI_IN_PLACE, values.data(), int(values.size()), MPI_FLOAT, MPI_SUM,
                         MPI_COMM_WORLD, &r.impl_->request),
          "MPI_Iallreduce");
  }
#else
  (void)values;
#endif
  return r;
}

// --- GradientAllReduce -----------------------------------------------------------------------

struct GradientAllReduce::Bucket {
  std::vector<int> groups;          // in gradient_final order
  std::vector<std::int64_t> start;  // per group: its first float in `values`
  std::vector<float> values;
  int ready = 0;
  Processes::Request request;
  bool in_flight = false;
  Clock::time_point started{}, completed{};
};

GradientAllReduce::GradientAllReduce(Processes& processes, const codegen::TrainingPlan& plan,
                                     std::span<float> gradients, std::size_t bucket_bytes,
                                     std::size_t first_bucket_bytes)
    : processes_(processes), gradients_(gradients) {
  const std::size_t groups = plan.groups.size();
  bucket_of_group_.assign(groups, -1);
  slot_of_group_.assign(groups, -1);
  group_offset_.assign(groups, 0);
  group_size_.assign(groups, 0);
  for (const std::vector<int>& members :
       codegen::gradient_buckets(plan, bucket_bytes, first_bucket_bytes)) {
    buckets_.push_back(std::make_unique<Bucket>());
    Bucket& b = *buckets_.back();
    for (const int g : members) {
      const codegen::ParameterGroup& group = plan.groups[std::size_t(g)];
      if (group.offset + group.size > std::int64_t(gradients.size())) {
        throw std::invalid_argument("GradientAllReduce: group " + std::to_string(g) +
                                    " lies outside the gradients");
      }
      bucket_of_group_[std::size_t(g)] = int(buckets_.size()) - 1;
      slot_of_group_[std::size_t(g)] = int(b.groups.size());
      group_offset_[std::size_t(g)] = group.offset;
      group_size_[std::size_t(g)] = group.size;
      b.groups.push_back(g);
      b.start.push_back(std::int64_t(b.values.size()));
      b.values.resize(b.values.size() + std::size_t(group.size));
    }
  }
}

GradientAllReduce::~GradientAllReduce() = default;

std::vector<std::size_t> GradientAllReduce::bucket_sizes() const {
  std::vector<std::size_t> sizes;
  for (const auto& b : buckets_) sizes.push_back(b->values.size());
  return sizes;
}

void GradientAllReduce::poll() {
  for (auto& b : buckets_) {
    if (b->in_flight && b->request.done()) {
      b->in_flight = false;
      b->completed = Clock::now();
    }
  }
}

void GradientAllReduce::ready(int group) {
  const int k = group >= 0 && std::size_t(group) < bucket_of_group_.size()
                    ? bucket_of_group_[std::size_t(group)]
                    : -1;
  if (k < 0)
    throw std::logic_error("GradientAllReduce: group " + std::to_string(group) + " has no bucket");
  Bucket& b = *buckets_[std::size_t(k)];
  const auto slot = std::size_t(slot_of_group_[std::size_t(group)]);
  const auto from = gradients_.subspan(std::size_t(group_offset_[std::size_t(group)]),
                                       std::size_t(group_size_[std::size_t(group)]));
  std::copy(from.begin(), from.end(), b.values.begin() + b.start[slot]);
  if (++b.ready == int(b.groups.size())) {
    b.started = Clock::now();
    b.request = processes_.start_all_reduce_sum(b.values);
    b.in_flight = true;
  }
  poll();  // MPI progresses non-blocking collectives inside MPI calls: give it one here
}

void GradientAllReduce::finish() {
  const Clock::time_point backward_end = Clock::now();
  for (std::size_t k = 0; k < buckets_.size(); ++k) {
    Bucket& b = *buckets_[k];
    if (b.ready != int(b.groups.size())) {
      throw std::logic_error("GradientAllReduce: bucket " + std::to_string(k) + " has " +
                             std::to_string(b.ready) + " of its " +
                             std::to_string(b.groups.size()) +
                             " groups final after the backward pass (is the hook registered?)");
    }
    if (b.in_flight) {
      b.request.wait(processes_, "the gradient all-reduce of bucket " + std::to_string(k));
      b.in_flight = false;
      b.completed = Clock::now();
    }
  }
  const Clock::time_point end = Clock::now();
  // The union of the buckets' in-flight intervals, split at the end of the backward pass.
  std::vector<std::pair<Clock::time_point, Clock::time_point>> spans;
  for (const auto& b : buckets_) spans.emplace_back(b->started, b->completed);
  std::sort(spans.begin(), spans.end());
  Times t;
  Clock::time_point covered = spans.empty() ? end : spans.front().first;
  for (const auto& [from, to] : spans) {
    const Clock::time_point a = std::max(from, covered);
    if (to <= a) continue;
    t.all_reduce += since(a, to);
    if (a < backward_end) t.overlapped += since(a, std::min(to, backward_end));
    covered = to;
  }
  t.exposed = since(backward_end, end);
  last_ = t;
  const float scale = 1.0f / float(processes_.size());
  for (auto& b : buckets_) {
    for (std::size_t slot = 0; slot < b->groups.size(); ++slot) {
      const int g = b->groups[slot];
      const auto from = b->values.begin() + b->start[slot];
      float* to = gradients_.data() + group_offset_[std::size_t(g)];
      for (std::int64_t i = 0; i < group_size_[std::size_t(g)]; ++i) to[i] = from[i] * scale;
    }
    b->ready = 0;
  }
}

}  // namespace archetype::runtime
