// A fixed set of threads for the data-parallel loops of batched kernels, shared by the compiled
// functions of a session. No LLVM here.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace nabla::jit {

class Workers {
public:
  /// Up to `threads` threads run a loop, the calling thread included (0: one per hardware
  /// thread). The helper threads start on first use.
  explicit Workers(unsigned threads = 0);
  ~Workers();
  Workers(const Workers &) = delete;
  Workers &operator=(const Workers &) = delete;

  /// The most threads a loop may use, the caller included.
  unsigned size() const { return size_; }

  /// Runs body(i) for every i in [0, count) on up to min(threads, size()) threads (0: size()),
  /// the calling thread among them, and returns when all are done. Which thread runs which i is
  /// not fixed; body must not depend on it. Safe to call from several threads at once, and from
  /// inside a body (the inner loop then runs in the calling thread). The first exception a body
  /// throws is rethrown here, after the other indices have run.
  void parallelFor(std::size_t count, unsigned threads, const std::function<void(std::size_t)> &body);

private:
  struct Loop;
  void start();
  void work();

  unsigned size_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Loop>> loops_;
  std::atomic<std::size_t> queued_{0}; // loops_.size(), for spinning helpers to read unlocked
  std::vector<std::thread> threads_;
  bool stopping_ = false;
};

}  // namespace nabla::jit
