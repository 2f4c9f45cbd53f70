// The latency of one fixed-order sum over the ranks (fit::MpiCommunicator::sum: MPI_Allgather,
// then added in rank order), the reduction a data-parallel `nabla fit` makes per evaluation, for
// P + 2 doubles (the loss, P gradient entries, the row count). Run under mpirun:
//   mpirun -np 2 build/bench/nabla_bench_mpi_sum 32 1000 100000
// prints, on rank 0, the median and the 90th percentile of many sums of each size, and the bytes
// each rank receives per sum.
#include "runtime/mpi/comm_mpi.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char **argv) {
  nabla::fit::MpiSession session;
  nabla::fit::MpiCommunicator comm(MPI_COMM_WORLD);
  std::vector<std::size_t> sizes;
  for (int k = 1; k < argc; ++k) sizes.push_back(std::strtoull(argv[k], nullptr, 10));
  if (sizes.empty()) sizes = {33, 1002, 100002};
  if (comm.rank() == 0)
    std::printf("ranks %d\n%10s %12s %12s %14s\n", comm.size(), "doubles", "median us", "p90 us",
                "bytes in/rank");
  for (std::size_t n : sizes) {
    std::vector<double> values(n, 1.0 + comm.rank());
    // About a second per size, at least 20 sums; the first ones warm the connection up.
    const int runs = static_cast<int>(std::clamp<std::size_t>(20000000 / (n + 1000), 20, 20000));
    for (int k = 0; k < 10; ++k) comm.sum(values);
    std::vector<double> times;
    times.reserve(static_cast<std::size_t>(runs));
    for (int k = 0; k < runs; ++k) {
      MPI_Barrier(MPI_COMM_WORLD);
      const auto t0 = std::chrono::steady_clock::now();
      comm.sum(values);
      times.push_back(
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(times.begin(), times.end());
    if (comm.rank() == 0)
      std::printf("%10zu %12.2f %12.2f %14zu\n", n, times[times.size() / 2],
                  times[times.size() * 9 / 10],
                  n * sizeof(double) * static_cast<std::size_t>(comm.size() - 1));
  }
  return 0;
}
