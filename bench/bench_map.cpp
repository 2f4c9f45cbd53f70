// Vectorized evaluation (nabla::Function::values_and_grads, what JAX calls vmap): the seed
// function f(x, y) = (x^2 + y)^2 * (y - x*y) with its gradient at n points per call, in ns per
// point, through the public C++ API (the call the Python module makes), against a hand-written
// loop of the same arithmetic compiled with -O3 -march=native (GCC vectorizes it), in the same run.
// n = 4096 points stay in the L1/L2 caches (the compute-bound figure); n = 2^20 streams 40 MB
// through memory per call.
//
//   bench/run.sh map     (or build-bench/bench/nabla_bench_map [Google Benchmark flags])
#include "hand/kernels.h"

#include "nabla/nabla.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

namespace {

double minimum(const std::vector<double> &v) { return *std::min_element(v.begin(), v.end()); }

struct Points {
  std::size_t n;
  std::vector<double> rows, columns, values, grads;
  explicit Points(std::size_t count) : n(count), rows(2 * count), columns(2 * count), values(count), grads(2 * count) {
    std::mt19937_64 rng(1);
    std::uniform_real_distribution<double> u(-1, 1);
    for (std::size_t r = 0; r < n; ++r) {
      rows[2 * r] = columns[r] = u(rng);
      rows[2 * r + 1] = columns[n + r] = u(rng);
    }
  }
};

/// The first vectorized call compiles the vectorized code; the one-point code's optimized tier
/// comes on the background thread (not timed here, but the machine is quiet after a second).
void warmUp(const nabla::Function &f) {
  std::vector<double> p{0.5, -0.5}, v(1), gr(2);
  f.values_and_grads(1, p, v, gr);
  std::this_thread::sleep_for(std::chrono::seconds(1));
}

const nabla::Function &seed() {
  static const nabla::Function f = [] {
    nabla::Function g = nabla::compile("f(x, y) = (x^2 + y)^2 * (y - x*y)").function("f");
    warmUp(g);
    return g;
  }();
  return f;
}

/// A function of transcendental calls, which the vector math library computes lane by lane.
const nabla::Function &transcendental() {
  static const nabla::Function f = [] {
    nabla::Function g =
        nabla::compile("g(x, y) = exp(x) * sin(y) + log(1 + x^2) * tanh(y)").function("g");
    warmUp(g);
    return g;
  }();
  return f;
}

void perPoint(benchmark::State &state, std::size_t n) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
  // Seconds per point (Google Benchmark prints it with an SI prefix: 836ps is 0.836 ns).
  state.counters["per_point"] = benchmark::Counter(
      static_cast<double>(state.iterations() * n), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_SeedMap(benchmark::State &state, nabla::Function::Layout layout) {
  const nabla::Function &f = seed();
  Points p(static_cast<std::size_t>(state.range(0)));
  const unsigned threads = static_cast<unsigned>(state.range(1));
  const std::vector<double> &in = layout == nabla::Function::Layout::Rows ? p.rows : p.columns;
  for (auto _ : state) {
    f.values_and_grads(p.n, in, p.values, p.grads, layout, threads);
    benchmark::DoNotOptimize(p.grads.data());
    benchmark::ClobberMemory();
  }
  perPoint(state, p.n);
}

void BM_TranscendentalMap(benchmark::State &state) {
  const nabla::Function &f = transcendental();
  Points p(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    f.values_and_grads(p.n, p.rows, p.values, p.grads, nabla::Function::Layout::Rows, 1);
    benchmark::DoNotOptimize(p.grads.data());
    benchmark::ClobberMemory();
  }
  perPoint(state, p.n);
}

void BM_SeedMap_hand(benchmark::State &state) {
  Points p(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    hand_o3::seedGradPoints(p.n, p.rows.data(), p.values.data(), p.grads.data());
    benchmark::DoNotOptimize(p.grads.data());
    benchmark::ClobberMemory();
  }
  perPoint(state, p.n);
}

void BM_SeedPointByPoint(benchmark::State &state) {
  const nabla::Function &f = seed();
  Points p(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    for (std::size_t r = 0; r < p.n; ++r)
      p.values[r] = f.value_and_grad(std::span<const double>(&p.rows[2 * r], 2),
                                     std::span<double>(&p.grads[2 * r], 2));
    benchmark::DoNotOptimize(p.grads.data());
    benchmark::ClobberMemory();
  }
  perPoint(state, p.n);
}

}  // namespace

BENCHMARK_CAPTURE(BM_SeedMap, rows, nabla::Function::Layout::Rows)
    ->ArgsProduct({{4096, 1 << 20}, {1}})->Args({1 << 20, 2})
    ->ComputeStatistics("min", minimum)->UseRealTime();
BENCHMARK_CAPTURE(BM_SeedMap, columns, nabla::Function::Layout::Columns)
    ->ArgsProduct({{4096, 1 << 20}, {1}})->ComputeStatistics("min", minimum)->UseRealTime();
BENCHMARK(BM_TranscendentalMap)->Arg(4096)->ComputeStatistics("min", minimum)->UseRealTime();
BENCHMARK(BM_SeedMap_hand)->Arg(4096)->Arg(1 << 20)->ComputeStatistics("min", minimum);
BENCHMARK(BM_SeedPointByPoint)->Arg(4096)->ComputeStatistics("min", minimum);

BENCHMARK_MAIN();
