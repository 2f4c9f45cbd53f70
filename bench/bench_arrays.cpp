// The array level (driver::ArrayCode) against hand-written C++, in the same run: the chained
// Rosenbrock function written with slices, value+gradient per call for n = 100 to 10^6, beside
// bench/hand/kernels.cpp's loop (n at run time, and n = 100 known when it is compiled; -O3
// -march=native, with and without contraction into fused multiply-adds), and the time from the
// text to callable code (load with the bodies deferred, as `nabla fit` does, then compileArrays:
// lowering, reverse mode, fused loops in LLVM).
//
//   build/bench/nabla_bench_arrays [Google Benchmark flags]     (bench/rosenbrock_chain.sh)
#include "driver/driver.h"
#include "hand/kernels.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace nabla;

namespace {

double minimum(const std::vector<double> &v) { return *std::min_element(v.begin(), v.end()); }

std::string chainText(long n) {
  return "param x[" + std::to_string(n) + "]\nminimize sum(100*(x[1:] - x[:-1]^2)^2 + (1 - x[:-1])^2)\n";
}

driver::Program loadChain(long n) {
  driver::Options options;
  options.deferBodies = true;
  return driver::Program::load(driver::fromText("chain.nabla", chainText(n), true, options.limits),
                               options);
}

std::vector<double> startPoint(long n) {
  std::vector<double> x(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i) x[static_cast<std::size_t>(i)] = i % 2 ? 1.0 : -1.2;
  return x;
}

void BM_ChainCompile(benchmark::State &state) {
  for (auto _ : state) {
    driver::Program program = loadChain(state.range(0));
    std::optional<driver::ArrayCode> code = driver::compileArrays(program, 1);
    if (!code) state.SkipWithError("the array level refused the program");
    benchmark::DoNotOptimize(code);
  }
}

void BM_ChainGrad_nabla(benchmark::State &state) {
  const long n = state.range(0);
  driver::Program program = loadChain(n);
  std::optional<driver::ArrayCode> code = driver::compileArrays(program, 1);
  if (!code) {
    state.SkipWithError("the array level refused the program");
    return;
  }
  std::vector<double> x = startPoint(n), grad(x.size());
  driver::ArrayRows rows;
  rows.count = 1;
  for (auto _ : state) {
    benchmark::DoNotOptimize(code->objective(x, rows, grad));
    benchmark::ClobberMemory();
  }
}

template <double (*F)(const double *, double *, std::size_t)>
void BM_ChainGrad_hand(benchmark::State &state) {
  const long n = state.range(0);
  std::vector<double> x = startPoint(n), grad(x.size());
  for (auto _ : state) {
    benchmark::DoNotOptimize(F(x.data(), grad.data(), x.size()));
    benchmark::ClobberMemory();
  }
}

/// The hand loop with n = 100 known when it is compiled, as nabla knows it.
template <double (*F)(const double *, double *)>
void BM_ChainGrad_hand100(benchmark::State &state) {
  std::vector<double> x = startPoint(100), grad(x.size());
  for (auto _ : state) {
    benchmark::DoNotOptimize(F(x.data(), grad.data()));
    benchmark::ClobberMemory();
  }
}

}  // namespace

BENCHMARK(BM_ChainCompile)->Arg(100)->Arg(10000)->Arg(1000000)->Unit(benchmark::kMillisecond)
    ->Iterations(3)->ComputeStatistics("min", minimum);
BENCHMARK(BM_ChainGrad_nabla)->Arg(100)->Arg(10000)->Arg(1000000)->Unit(benchmark::kMicrosecond)
    ->ComputeStatistics("min", minimum);
BENCHMARK(BM_ChainGrad_hand<hand_o3::rosenbrockGrad>)->Arg(100)->Arg(10000)->Arg(1000000)
    ->Unit(benchmark::kMicrosecond)->ComputeStatistics("min", minimum)->Name("BM_ChainGrad_hand_O3");
BENCHMARK(BM_ChainGrad_hand<hand_ieee::rosenbrockGrad>)->Arg(100)->Arg(10000)->Arg(1000000)
    ->Unit(benchmark::kMicrosecond)->ComputeStatistics("min", minimum)
    ->Name("BM_ChainGrad_hand_O3_nofma");
BENCHMARK(BM_ChainGrad_hand100<hand_o3::rosenbrockGrad100>)->Unit(benchmark::kMicrosecond)
    ->ComputeStatistics("min", minimum)->Name("BM_ChainGrad_hand_O3_n100/100");
BENCHMARK(BM_ChainGrad_hand100<hand_ieee::rosenbrockGrad100>)->Unit(benchmark::kMicrosecond)
    ->ComputeStatistics("min", minimum)->Name("BM_ChainGrad_hand_O3_nofma_n100/100");

BENCHMARK_MAIN();
