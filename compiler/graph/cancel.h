// Cancellation of long work: a flag that the caller sets (a signal handler, another thread) and
// that the stages read between their steps and inside their long loops (the reverse sweep, the
// simplifier's sweeps, LLVM's passes). A stage that finds it set throws Cancelled, leaving what it
// built so far valid (nodes stay in the graph), and the driver reports ErrorKind::Interrupted.
#pragma once

#include <atomic>
#include <cstddef>
#include <stdexcept>

namespace nabla {

/// A flag set from a signal handler must not take a lock.
static_assert(std::atomic<bool>::is_always_lock_free);

/// Thrown by a stage whose cancellation flag is set.
class Cancelled : public std::runtime_error {
public:
  Cancelled() : std::runtime_error("interrupted") {}
};

/// Whether `flag` (may be null: never) is set.
inline bool isCancelled(const std::atomic<bool> *flag) {
  return flag && flag->load(std::memory_order_relaxed);
}

/// Throws Cancelled when `flag` is set.
inline void checkCancelled(const std::atomic<bool> *flag) {
  if (isCancelled(flag)) throw Cancelled();
}

/// How often loops over nodes look at the flag: every this many nodes (a load is cheap, but not
/// free in the tightest loops).
inline constexpr std::size_t kCancelCheckEvery = 1024;

}  // namespace nabla
