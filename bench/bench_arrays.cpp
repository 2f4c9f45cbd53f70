// The array level (driver::ArrayCode) against hand-written C++, in the same run: the chained
// Rosenbrock function written with slices, value+gradient per call for n = 100 to 10^6, beside
// bench/hand/kernels.cpp's loop (n at run time, and n = 100 known when it is compiled; -O3
// -march=native, with and without contraction into fused multiply-adds), and the time from the
// text to callable code (load with the bodies deferred, as `nabla fit` does, then compileArrays:
// lowering, reverse mode, fused loops in LLVM); and an MLP through the C++ API with Hessians off
// (the array level): compile() until callable, and a batch of 64 rows.
//
//   build/bench/nabla_bench_arrays [Google Benchmark flags]     (bench/rosenbrock_chain.sh)
#include "driver/driver.h"
#include "hand/kernels.h"
#include "nabla/nabla.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
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

/// An MLP 784-128-10 with softmax cross-entropy (102k params) through the C++ API with Hessians
/// off: compile() until the objective is callable, then a batch of 64 rows (its mean loss and
/// gradient), as a host program would train it.
const std::string kMlp = "param W1[128][784] ~ normal(0, 0.05)\nparam b1[128]\n"
                         "param W2[10][128] ~ normal(0, 0.05)\nparam b2[10]\n"
                         "input x[784]\ninput y\n"
                         "h = tanh(W1 @ x + b1)\nz = W2 @ h + b2\n"
                         "minimize logsumexp(z) - dot(onehot(y, 10), z)\n";

nabla::Options apiOptions() {
  nabla::Options o;
  o.hessian = false;
  return o;
}

void BM_ApiCompileMlp(benchmark::State &state) {
  for (auto _ : state) benchmark::DoNotOptimize(nabla::compile(kMlp, apiOptions()).objective());
}

void BM_ApiBatchMlp(benchmark::State &state) {
  nabla::Objective L = nabla::compile(kMlp, apiOptions()).objective();
  const std::size_t rows = 64;
  std::vector<double> params(L.param_count()), grad(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) params[i] = 0.01 * std::sin(static_cast<double>(i));
  std::vector<std::vector<double>> columns(L.input_count(), std::vector<double>(rows));
  for (std::size_t k = 0; k < columns.size(); ++k)
    for (std::size_t r = 0; r < rows; ++r)
      columns[k][r] = k + 1 == columns.size() ? static_cast<double>(r % 10) : std::cos(k + 3.0 * r);
  std::vector<const double *> pointers;
  for (const auto &c : columns) pointers.push_back(c.data());
  for (auto _ : state) benchmark::DoNotOptimize(L.batch(params, rows, pointers, grad));
  state.counters["rows/s"] = benchmark::Counter(static_cast<double>(rows) * state.iterations(),
                                                benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK(BM_ApiCompileMlp)->Unit(benchmark::kMillisecond)->Iterations(3)
    ->ComputeStatistics("min", minimum);
BENCHMARK(BM_ApiBatchMlp)->Unit(benchmark::kMicrosecond)->ComputeStatistics("min", minimum);
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
