// fit::Communicator over MPI (Open MPI from Debian): the library nabla_fit_mpi, built only where
// CMake finds MPI (NABLA_MPI). A host that already runs MPI hands fit a communicator made from its
// own MPI_Comm (Job::comm); `nabla fit` makes one of MPI_COMM_WORLD when mpirun started it.
#pragma once

#include "runtime/fit/comm.h"

// Only MPI's C interface is used: its deprecated C++ bindings (Open MPI's mpicxx.h, MPICH's) are
// left out, and with them their warnings and compile time.
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include <vector>

namespace nabla::fit {

class MpiCommunicator final : public Communicator {
public:
  /// Uses `comm` (not duplicated, not freed) for every collective; MPI must be initialized and
  /// stay so while this object is used.
  explicit MpiCommunicator(MPI_Comm comm);
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  /// MPI_Allgather of every rank's values, then added here in rank order: each rank receives
  /// (size - 1) * values.size() doubles, and the bits do not depend on MPI's choice of algorithm.
  void sum(std::span<double> values) override;
  std::int64_t sum(std::int64_t value) override;
  std::int64_t max(std::int64_t value) override;
  /// MPI_Recv from the rank before, MPI_Send to the next, and the last rank's result broadcast.
  std::uint64_t chain(std::uint64_t initial,
                      const std::function<std::uint64_t(std::uint64_t)> &step) override;
  /// The message lengths gathered, then the first failing rank's bytes broadcast.
  std::optional<RankMessage> first(const std::string &message) override;

private:
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
  std::vector<double> gathered_;
};

/// Whether this process was started by a launcher that expects MPI_Init: Open MPI's mpirun
/// (OMPI_COMM_WORLD_SIZE) or a PMI launcher such as MPICH's or Slurm's (PMI_SIZE). A plain
/// `nabla fit` does not start MPI at all.
bool launchedByMpi();

/// MPI_Init on construction (when MPI is not initialized yet) and MPI_Finalize on destruction
/// (when this object initialized it).
class MpiSession {
public:
  MpiSession();
  ~MpiSession();
  MpiSession(const MpiSession &) = delete;
  MpiSession &operator=(const MpiSession &) = delete;
  /// Ends every rank of MPI_COMM_WORLD with `status` (a failure that the others cannot learn of
  /// through a collective: they may be waiting in one).
  [[noreturn]] static void abort(int status);

private:
  bool initialized_ = false;
};

} // namespace nabla::fit
