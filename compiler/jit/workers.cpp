#include "jit/workers.h"

#include <algorithm>
#include <atomic>
#include <exception>

namespace nabla::jit {

namespace {
thread_local bool insideWorkerBody = false;  // nested loops run inline
}  // namespace

struct Workers::Loop {
  std::size_t count = 0;
  const std::function<void(std::size_t)> *body = nullptr;
  std::atomic<std::size_t> next{0};
  unsigned helpersWanted = 0;  // how many helper threads may join, guarded by Workers::mutex_
  std::mutex mutex;           // guards what follows
  std::condition_variable finished;
  std::size_t done = 0;
  std::exception_ptr error;

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
    std::lock_guard lock(mutex);
    if (caught && !error) error = caught;
    done += mine;
    if (done == count) finished.notify_all();
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
    wake_.wait(lock, [&] { return stopping_ || !loops_.empty(); });
    if (stopping_) return;
    std::shared_ptr<Loop> loop = loops_.front();
    if (--loop->helpersWanted == 0) loops_.pop_front();
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
  }
  std::unique_lock lock(loop->mutex);
  loop->finished.wait(lock, [&] { return loop->done == loop->count; });
  if (loop->error) std::rethrow_exception(loop->error);
}

}  // namespace nabla::jit
