// The thread pool of batched kernels: every index runs once, on more than one thread at a time,
// right after the last loop (helpers spinning) and after a pause (helpers asleep), from several
// callers at once, with nested loops inline and the first exception rethrown.
#include "jit/workers.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

using nabla::jit::Workers;

namespace {

/// Runs a loop of `count` indices and says whether each ran exactly once.
bool eachOnce(Workers &workers, std::size_t count, unsigned threads) {
  std::vector<std::atomic<int>> runs(count);
  workers.parallelFor(count, threads, [&](std::size_t i) { ++runs[i]; });
  for (const std::atomic<int> &r : runs)
    if (r.load() != 1) return false;
  return true;
}

} // namespace

TEST_CASE("workers run every index exactly once", "[jit][workers]") {
  for (unsigned size : {1u, 2u, 3u}) {
    Workers workers(size);
    CHECK(workers.size() == size);
    for (unsigned threads : {0u, 1u, 2u, 4u})
      for (std::size_t count : {0, 1, 2, 3, 17, 1000}) {
        INFO("size " << size << ", threads " << threads << ", count " << count);
        CHECK(eachOnce(workers, count, threads));
      }
  }
}

TEST_CASE("two indices of a loop run at the same time on two threads", "[jit][workers]") {
  Workers workers(2);
  // Each index waits until both have started: this ends only if two threads take part. The wait
  // gives up after 10 s, so that a failure fails instead of hanging.
  auto bothAtOnce = [&] {
    std::atomic<int> started{0};
    std::atomic<bool> met{true};
    workers.parallelFor(2, 2, [&](std::size_t) {
      ++started;
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (started.load() < 2)
        if (std::chrono::steady_clock::now() > until) {
          met = false;
          return;
        }
    });
    return met.load();
  };
  CHECK(bothAtOnce()); // the helper starts
  CHECK(bothAtOnce()); // at once after the last loop: the helper is spinning
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(bothAtOnce()); // after a pause: the helper had gone to sleep and is woken
}

TEST_CASE("many short loops in a row, and loops after pauses, all complete", "[jit][workers]") {
  Workers workers(2);
  std::size_t total = 0;
  for (int loop = 0; loop < 2000; ++loop) {
    std::atomic<std::size_t> sum{0};
    workers.parallelFor(2, 2, [&](std::size_t i) { sum += i + 1; });
    total += sum.load();
    if (loop % 500 == 499) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  CHECK(total == 2000 * 3);
}

TEST_CASE("loops from several callers at once, and nested loops", "[jit][workers]") {
  Workers workers(2);
  std::vector<std::thread> callers;
  std::vector<int> ok(4, 0);
  for (int c = 0; c < 4; ++c)
    callers.emplace_back([&, c] {
      bool all = true;
      for (int k = 0; k < 200; ++k) all = all && eachOnce(workers, 5, 2);
      ok[c] = all;
    });
  for (std::thread &t : callers) t.join();
  CHECK(ok == std::vector<int>{1, 1, 1, 1});

  // A loop inside a body runs in the thread of that body.
  std::atomic<int> inner{0}, sameThread{0};
  workers.parallelFor(2, 2, [&](std::size_t) {
    const std::thread::id outer = std::this_thread::get_id();
    workers.parallelFor(3, 2, [&](std::size_t) {
      ++inner;
      if (std::this_thread::get_id() == outer) ++sameThread;
    });
  });
  CHECK(inner.load() == 6);
  CHECK(sameThread.load() == 6);
}

TEST_CASE("the first exception of a loop is rethrown after every index has run", "[jit][workers]") {
  Workers workers(2);
  std::atomic<int> ran{0};
  CHECK_THROWS_WITH(workers.parallelFor(8, 2,
                                        [&](std::size_t i) {
                                          ++ran;
                                          if (i == 3) throw std::runtime_error("index 3");
                                        }),
                    "index 3");
  CHECK(ran.load() == 8);
  // The pool still works afterwards.
  CHECK(eachOnce(workers, 100, 2));
}
