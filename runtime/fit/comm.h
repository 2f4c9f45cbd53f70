// The processes of a data-parallel run (docs/fit.md, "Many processes (MPI)"): each one holds a
// contiguous shard of the rows, and the sums over rows that an optimizer step needs are combined
// through a Communicator. This base class is the single process (rank 0 of 1), where every
// collective is the identity; runtime/mpi/comm_mpi.h implements it over an MPI communicator, in a
// library of its own that is built only where MPI is found, so that nothing here includes mpi.h.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <new>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>

namespace nabla::fit {

/// Every collective must be called by all ranks in the same order (as MPI's), or they wait for
/// each other for ever: the fit loop calls them at points that depend only on values that are
/// already the same on every rank (reduced sums, the settings, the step).
class Communicator {
public:
  virtual ~Communicator() = default;
  virtual int rank() const { return 0; }
  virtual int size() const { return 1; }
  /// Every rank gets the element-wise sum of `values` over all ranks, added in rank order
  /// ((v0 + v1) + v2 ...), so that a given number of ranks gives the same bits on every rank and
  /// in every run (an MPI_Allreduce may add in an order of its own choosing).
  virtual void sum(std::span<double>) {}
  /// Exact integer reductions.
  virtual std::int64_t sum(std::int64_t value) { return value; }
  virtual std::int64_t max(std::int64_t value) { return value; }
  /// A 64-bit state passed through the ranks in rank order: rank 0 applies `step` to `initial`,
  /// each next rank to what the rank before it computed; every rank gets the last rank's result.
  /// (An FNV-1a hash of data that the ranks hold in turn equals the hash of all of it.)
  virtual std::uint64_t chain(std::uint64_t initial,
                              const std::function<std::uint64_t(std::uint64_t)> &step) {
    return step(initial);
  }
  /// The lowest rank whose `message` is not empty, and that message, on every rank; nothing when
  /// every rank passed an empty one.
  struct RankMessage {
    int rank = 0;
    std::string message;
  };
  virtual std::optional<RankMessage> first(const std::string &message) {
    if (message.empty()) return std::nullopt;
    return RankMessage{0, message};
  }
};

/// A failure that every rank agreed on (see agree): the same message on all of them, naming the
/// rank that failed first. `nabla fit` prints it on rank 0 only and exits with status 1 on all.
class RankError : public std::runtime_error {
public:
  RankError(int rank, int size, const std::string &message)
      : std::runtime_error("rank " + std::to_string(rank) + " of " + std::to_string(size) + ": " +
                           message),
        rank_(rank) {}
  int rank() const { return rank_; }

private:
  int rank_;
};

/// Called by every rank at the same point with its own failure (null: none). With one process it
/// rethrows `mine`. With more, when any rank failed, every rank throws RankError with the message
/// of the lowest failing rank, so that all of them stop together instead of one waiting in a
/// collective for a rank that has gone.
void agree(Communicator &comm, std::exception_ptr mine);

/// Runs `work` on every rank and agrees on its failure (agree).
template <class Work> void agreeOn(Communicator &comm, Work &&work) {
  std::exception_ptr failure;
  try {
    work();
  } catch (...) {
    failure = std::current_exception();
  }
  agree(comm, failure);
}

} // namespace nabla::fit
