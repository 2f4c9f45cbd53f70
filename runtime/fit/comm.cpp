// Agreeing on a failure across the ranks of a data-parallel run.
#include "runtime/fit/comm.h"

namespace nabla::fit {

void agree(Communicator &comm, std::exception_ptr mine) {
  if (comm.size() == 1) {
    if (mine) std::rethrow_exception(mine);
    return;
  }
  std::string message;
  if (mine) {
    try {
      std::rethrow_exception(mine);
    } catch (const RankError &) {
      // Already agreed on by every rank (a nested agreement): passed on as it is.
      throw;
    } catch (const std::bad_alloc &) {
      message = "out of memory";
    } catch (const std::exception &e) {
      message = e.what();
    } catch (...) {
      message = "an unknown error";
    }
    // An empty message would read as no failure.
    if (message.empty()) message = "an error without a message";
  }
  if (std::optional<Communicator::RankMessage> failed = comm.first(message))
    throw RankError(failed->rank, comm.size(), failed->message);
}

} // namespace nabla::fit
