// fit::Communicator over MPI.
#include "runtime/mpi/comm_mpi.h"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

namespace nabla::fit {

namespace {

void check(int status, const char *what) {
  if (status != MPI_SUCCESS) {
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(status, text, &length);
    throw std::runtime_error(std::string("MPI: ") + what + " failed: " + std::string(text, length));
  }
}

} // namespace

MpiCommunicator::MpiCommunicator(MPI_Comm comm) : comm_(comm) {
  check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
}

void MpiCommunicator::sum(std::span<double> values) {
  if (size_ == 1 || values.empty()) return;
  const std::size_t n = values.size();
  gathered_.resize(n * static_cast<std::size_t>(size_));
  check(MPI_Allgather(values.data(), static_cast<int>(n), MPI_DOUBLE, gathered_.data(),
                      static_cast<int>(n), MPI_DOUBLE, comm_),
        "MPI_Allgather");
  // Rank 0's values first, then each rank's added in turn: the same order on every rank.
  for (std::size_t i = 0; i < n; ++i) {
    double s = gathered_[i];
    for (int r = 1; r < size_; ++r) s += gathered_[static_cast<std::size_t>(r) * n + i];
    values[i] = s;
  }
}

std::int64_t MpiCommunicator::sum(std::int64_t value) {
  long long in = value, out = 0;
  check(MPI_Allreduce(&in, &out, 1, MPI_LONG_LONG, MPI_SUM, comm_), "MPI_Allreduce");
  return out;
}

std::int64_t MpiCommunicator::max(std::int64_t value) {
  long long in = value, out = 0;
  check(MPI_Allreduce(&in, &out, 1, MPI_LONG_LONG, MPI_MAX, comm_), "MPI_Allreduce");
  return out;
}

std::uint64_t MpiCommunicator::chain(std::uint64_t initial,
                                     const std::function<std::uint64_t(std::uint64_t)> &step) {
  unsigned long long state = initial;
  if (rank_ > 0)
    check(MPI_Recv(&state, 1, MPI_UNSIGNED_LONG_LONG, rank_ - 1, 0, comm_, MPI_STATUS_IGNORE),
          "MPI_Recv");
  state = step(state);
  if (rank_ + 1 < size_)
    check(MPI_Send(&state, 1, MPI_UNSIGNED_LONG_LONG, rank_ + 1, 0, comm_), "MPI_Send");
  check(MPI_Bcast(&state, 1, MPI_UNSIGNED_LONG_LONG, size_ - 1, comm_), "MPI_Bcast");
  return state;
}

std::optional<Communicator::RankMessage> MpiCommunicator::first(const std::string &message) {
  const int mine = static_cast<int>(std::min<std::size_t>(message.size(), 1 << 20));
  std::vector<int> lengths(static_cast<std::size_t>(size_));
  check(MPI_Allgather(&mine, 1, MPI_INT, lengths.data(), 1, MPI_INT, comm_), "MPI_Allgather");
  int root = -1;
  for (int r = 0; r < size_ && root < 0; ++r)
    if (lengths[static_cast<std::size_t>(r)] > 0) root = r;
  if (root < 0) return std::nullopt;
  std::string text = root == rank_ ? message.substr(0, static_cast<std::size_t>(mine))
                                   : std::string(static_cast<std::size_t>(lengths[root]), '\0');
  check(MPI_Bcast(text.data(), lengths[static_cast<std::size_t>(root)], MPI_CHAR, root, comm_),
        "MPI_Bcast");
  return RankMessage{root, std::move(text)};
}

bool launchedByMpi() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMI_SIZE") != nullptr;
}

MpiSession::MpiSession() {
  int already = 0;
  MPI_Initialized(&already);
  if (already) return;
  check(MPI_Init(nullptr, nullptr), "MPI_Init");
  initialized_ = true;
}

MpiSession::~MpiSession() {
  if (!initialized_) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

void MpiSession::abort(int status) {
  MPI_Abort(MPI_COMM_WORLD, status);
  std::_Exit(status); // MPI_Abort does not return; should it, the process still ends
}

} // namespace nabla::fit
