#include "jit/workers.h"

#include <algorithm>
#include <chrono>
#include <exception>

namespace nabla::jit {

namespace {

thread_local bool insideWorkerBody = false;  // nested loops run inline

/// How long a thread spins before it blocks: a helper waiting for the next loop, the caller
/// waiting for the helpers to finish. A mini-batch step of `nabla fit` takes tens of
/// microseconds, so a helper that spins this long meets the next batch awake; a wake-up through
/// the kernel costs about as much as the work it would share.
constexpr std::chrono::microseconds kSpin{200};

void pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/// Spins until `ready()` or until kSpin has passed; says which.
template <class Ready> bool spinUntil(const Ready &ready) {
  const auto until = std::chrono::steady_clock::now() + kSpin;
  do {
    for (int i = 0; i < 64; ++i) {
      if (ready()) return true;
      pause();
    }
  } while (std::chrono::steady_clock::now() < until);
  return ready();
}

}  // namespace

struct Workers::Loop {
  std::size_t count = 0;
  const std::function<void(std::size_t)> *body = nullptr;
  std::atomic<std::size_t> next{0};
  unsigned helpersWanted = 0;  // how many helper threads may join, guarded by Workers::mutex_
  std::atomic<std::size_t> done{0};  // indices finished; the caller spins on it, then blocks
  std::mutex mutex;                  // guards error; taken to notify `finished`
  std::condition_variable finished;
  std::exception_ptr error;

  bool complete() const { return done.load(std::memory_order_acquire) == count; }

  /// Takes indices until none are left.
  void run() {
    const bool nested = insideWorkerBody;
    insideWorkerBody = true;
    std::size_t mine = 0;
    std::exception_ptr caught;
    for (std::size_t i = next++; i < count; i = next++) {
      try {
        (*body)(i);
      } catch (...) {
        if (!caught) caught = std::current_exception();
      }
      ++mine;
    }
    insideWorkerBody = nested;
    if (caught) {
      std::lock_guard lock(mutex);
      if (!error) error = caught;
    }
    if (mine == 0) return;
    // The last one to finish wakes a caller that has stopped spinning. It counts before it
    // locks, and the caller tests the count under the lock, so the wake-up is never lost.
    if (done.fetch_add(mine, std::memory_order_acq_rel) + mine == count) {
      std::lock_guard lock(mutex);
      finished.notify_all();
    }
  }
};

Workers::Workers(unsigned threads)
    : size_(threads != 0 ? threads : std::max(1u, std::thread::hardware_concurrency())) {}

Workers::~Workers() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread &t : threads_) t.join();
}

void Workers::start() {
  // Called with mutex_ held.
  while (threads_.size() + 1 < size_) threads_.emplace_back([this] { work(); });
}

void Workers::work() {
  std::unique_lock lock(mutex_);
  while (true) {
    if (loops_.empty() && !stopping_) {
      // A loop that follows soon after the last one starts without a wake-up through the kernel.
      lock.unlock();
      spinUntil([&] { return queued_.load(std::memory_order_relaxed) != 0; });
      lock.lock();
    }
    wake_.wait(lock, [&] { return stopping_ || !loops_.empty(); });
    if (stopping_) return;
    std::shared_ptr<Loop> loop = loops_.front();
    if (--loop->helpersWanted == 0) {
      loops_.pop_front();
      queued_.store(loops_.size(), std::memory_order_relaxed);
    }
    lock.unlock();
    loop->run();
    lock.lock();
  }
}

void Workers::parallelFor(std::size_t count, unsigned threads,
                          const std::function<void(std::size_t)> &body) {
  if (count == 0) return;
  unsigned use = threads == 0 ? size_ : std::min(threads, size_);
  if (use <= 1 || count == 1 || insideWorkerBody) {
    for (std::size_t i = 0; i < count; ++i) body(i);
    return;
  }
  auto loop = std::make_shared<Loop>();
  loop->count = count;
  loop->body = &body;
  loop->helpersWanted = static_cast<unsigned>(std::min<std::size_t>(use - 1, count - 1));
  {
    std::lock_guard lock(mutex_);
    start();
    loops_.push_back(loop);
    queued_.store(loops_.size(), std::memory_order_relaxed);
  }
  wake_.notify_all();
  loop->run();
  {
    // Helpers that have not picked the loop up yet need not: every index is taken.
    std::lock_guard lock(mutex_);
    for (auto it = loops_.begin(); it != loops_.end(); ++it)
      if (*it == loop) {
        loops_.erase(it);
        break;
      }
    queued_.store(loops_.size(), std::memory_order_relaxed);
  }
  if (!spinUntil([&] { return loop->complete(); })) {
    std::unique_lock lock(loop->mutex);
    loop->finished.wait(lock, [&] { return loop->complete(); });
  }
  std::lock_guard lock(loop->mutex);
  if (loop->error) std::rethrow_exception(loop->error);
}

}  // namespace nabla::jit
