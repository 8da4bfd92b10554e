// bench_allreduce: MPI_Allreduce of fp32 sums (the gradient all-reduce's operation) between
// the ranks of mpirun, per message size: latency and bandwidth. One JSON object per size on
// rank 0's stdout:
//   {"ranks": 2, "bytes": 4194304, "seconds": 0.0021, "algbw_gbs": 2.0, "busbw_gbs": 2.0}
// algbw = bytes / seconds; busbw = algbw * 2 (n - 1) / n, the bytes each rank's link carries
// in a ring all-reduce (the convention of nccl-tests), comparable across rank counts.
// usage: mpirun -np N bench_allreduce [--max-bytes B] [--min-time S]
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  long long max_bytes = 64LL << 20;
  double min_time = 0.2;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--max-bytes") == 0) max_bytes = std::atoll(argv[i + 1]);
    if (std::strcmp(argv[i], "--min-time") == 0) min_time = std::atof(argv[i + 1]);
  }
  if (max_bytes < 4 || !(min_time >= 0)) {
    if (rank == 0)
      std::fprintf(stderr, "bench_allreduce: --max-bytes must be >= 4, --min-time >= 0\n");
    MPI_Finalize();
    return 2;
  }
  std::vector<float> values(std::size_t(max_bytes / 4), 1.0f);
  for (long long bytes = 4; bytes <= max_bytes; bytes *= 4) {
    const int count = int(bytes / 4);
    // Warm-up, then repetitions until min_time has passed on rank 0 (its decision is
    // broadcast, so every rank runs the same number).
    MPI_Allreduce(MPI_IN_PLACE, values.data(), count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    int reps = 0;
    double elapsed = 0;
    for (int round = 1;; round *= 2) {
      MPI_Barrier(MPI_COMM_WORLD);
      const double t0 = MPI_Wtime();
      for (int r = 0; r < round; ++r) {
        MPI_Allreduce(MPI_IN_PLACE, values.data(), count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      }
      double t = MPI_Wtime() - t0;
      MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);  // the slowest rank
      reps = round;
      elapsed = t;
      int done = t >= min_time || round >= (1 << 20);
      MPI_Bcast(&done, 1, MPI_INT, 0, MPI_COMM_WORLD);
      if (done) break;
    }
    std::fill(values.begin(), values.end(), 1.0f);  // the sums grow: keep them finite
    const double seconds = elapsed / reps;
    const double algbw = double(bytes) / seconds / 1e9;
    const double busbw = algbw * 2.0 * (ranks - 1) / ranks;
    if (rank == 0) {
      std::printf(
          "{\"ranks\": %d, \"bytes\": %lld, \"seconds\": %.9g, \"algbw_gbs\": %.6g, \"busbw_gbs\": "
          "%.6g}\n",
          ranks, bytes, seconds, algbw, busbw);
      std::fflush(stdout);
    }
  }
  MPI_Finalize();
  return 0;
}
