#pragma once
/// \file
/// \brief Internal: the OpenMP team our own kernels (pointwise_depthwise.hpp, winograd.hpp)
/// run on, and one thread's place in it; one thread without OpenMP.
#include <algorithm>

#ifdef ARCHETYPE_ONEDNN_OPENMP
#include <omp.h>
#endif

namespace archetype::onednn::detail {

/// The threads a kernel asked for `threads` runs on: at least 1, at most OpenMP's maximum.
[[nodiscard]] inline int kernel_team(int threads) {
#ifdef ARCHETYPE_ONEDNN_OPENMP
  return std::max(1, std::min(threads, omp_get_max_threads()));
#else
  (void)threads;
  return 1;
#endif
}

/// Inside a parallel region: this thread's number and the team's size.
struct TeamMember {
  int thread = 0, threads = 1;
};
[[nodiscard]] inline TeamMember team_member() {
#ifdef ARCHETYPE_ONEDNN_OPENMP
  return {omp_get_thread_num(), omp_get_num_threads()};
#else
  return {};
#endif
}

}  // namespace archetype::onednn::detail
