// Generated code against hand-written C++ (bench/hand/), in the same run: the seed function and
// Rosenbrock-100 value+gradient per call, and batched logistic regression (10^6 rows x 16
// features) and an MLP 4-16-1 (10^5 rows) in rows per second, beside a STREAM-style triad that
// measures the memory bandwidth the batched kernels are bound by.
//
//   bench/run.sh kernels     (or build/bench/nabla_bench_kernels [Google Benchmark flags])
#include "bench_util.h"
#include "hand/kernels.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <numeric>
#include <random>
#include <sstream>
#include <thread>

using namespace nabla;
using namespace nabla::bench;

namespace {

constexpr unsigned kThreads = 2;

/// The fastest repetition, beside Google Benchmark's median: on a shared machine, interference
/// only ever adds time, so the minimum is the steadier figure for short kernels.
double minimum(const std::vector<double> &v) { return *std::min_element(v.begin(), v.end()); }

/// One session for the whole run, as a host program would have: tiered, and each function is
/// used once its optimized tier is in.
jit::Session &session() {
  static jit::Session s(jit::SessionOptions{.optLevel = jit::OptLevel::O2, .threads = kThreads});
  return s;
}

// --- per call: the seed function and Rosenbrock-100 ------------------------------------------

const jit::CompiledFunction &seed() {
  static jit::CompiledFunction f = compileFunctionText(session(), "f(x, y) = (x^2 + y)^2 * (y - x*y)", {});
  return f;
}

/// Rosenbrock in n variables, each term grouped as the hand code adds it (f += a*a + 100*b*b), so
/// that both evaluate the same sums in the same order.
std::string rosenbrockText(int n) {
  std::ostringstream s;
  s << "f(";
  for (int i = 0; i < n; ++i) s << (i ? ", " : "") << "x" << i;
  s << ") = ";
  for (int i = 0; i + 1 < n; ++i)
    s << (i ? " + " : "") << "((1 - x" << i << ")^2 + 100*(x" << i + 1 << " - x" << i << "^2)^2)";
  return s.str();
}

const jit::CompiledFunction &rosenbrock(bool fastMath) {
  static jit::CompiledFunction ieee = compileFunctionText(session(), rosenbrockText(100), {});
  static jit::CompiledFunction fast = [] {
    jit::FunctionOptions options;
    options.fastMath = true;
    return compileFunctionText(session(), rosenbrockText(100), options);
  }();
  return fastMath ? fast : ieee;
}

std::vector<double> rosenbrockPoint() {
  std::vector<double> x(100);
  for (int i = 0; i < 100; ++i) x[i] = 0.5 + 0.01 * std::sin(i);
  return x;
}

/// One loop for every variant, so that the code around the call is the same and only the called
/// address differs; `which` gives it at run time (after main() has let the optimized tier in).
/// The hand code is called through a function pointer too, as generated code always is (a JIT
/// address, or a shared library's PLT), so that both pay the same call.
using SeedFn = double (*)(const double *, double *);
void BM_SeedGrad(benchmark::State &state, SeedFn (*which)()) {
  const SeedFn fn = which();
  double args[2] = {0.5, -0.5}, grad[2];
  for (auto _ : state) {
    benchmark::DoNotOptimize(args);
    benchmark::DoNotOptimize(fn(args, grad));
    benchmark::ClobberMemory();
  }
}
SeedFn seedNabla() { return seed().valueAndGradFn(); }
SeedFn seedHandO3() { return hand_o3::seedGrad; }
SeedFn seedHandNofma() { return hand_ieee::seedGrad; }
SeedFn seedHandFast() { return hand_fast::seedGrad; }
BENCHMARK_CAPTURE(BM_SeedGrad, nabla, seedNabla)->ComputeStatistics("min", minimum)->Name("BM_SeedGrad_nabla");
BENCHMARK_CAPTURE(BM_SeedGrad, hand_O3, seedHandO3)->ComputeStatistics("min", minimum)->Name("BM_SeedGrad_hand_O3");
BENCHMARK_CAPTURE(BM_SeedGrad, hand_O3_nofma, seedHandNofma)->ComputeStatistics("min", minimum)->Name("BM_SeedGrad_hand_O3_nofma");
BENCHMARK_CAPTURE(BM_SeedGrad, hand_fastmath, seedHandFast)->ComputeStatistics("min", minimum)->Name("BM_SeedGrad_hand_fastmath");

void BM_Rosenbrock100Grad_nabla(benchmark::State &state) {
  jit::ValueAndGradFn fn = rosenbrock(state.range(0) != 0).valueAndGradFn();
  std::vector<double> x = rosenbrockPoint(), grad(100);
  for (auto _ : state) {
    benchmark::DoNotOptimize(x.data());
    benchmark::DoNotOptimize(fn(x.data(), grad.data()));
    benchmark::ClobberMemory();
  }
}
template <double (*Hand)(const double *, double *, std::size_t)>
void BM_Rosenbrock100Grad_hand(benchmark::State &state) {
  double (*fn)(const double *, double *, std::size_t) = Hand;
  benchmark::DoNotOptimize(fn);
  std::vector<double> x = rosenbrockPoint(), grad(100);
  for (auto _ : state) {
    benchmark::DoNotOptimize(x.data());
    benchmark::DoNotOptimize(fn(x.data(), grad.data(), 100));
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_Rosenbrock100Grad_nabla)->ComputeStatistics("min", minimum)->Arg(0)->Name("BM_Rosenbrock100Grad_nabla_ieee");
BENCHMARK(BM_Rosenbrock100Grad_nabla)->ComputeStatistics("min", minimum)->Arg(1)->Name("BM_Rosenbrock100Grad_nabla_fastmath");
BENCHMARK(BM_Rosenbrock100Grad_hand<hand_o3::rosenbrockGrad>)->ComputeStatistics("min", minimum)->Name("BM_Rosenbrock100Grad_hand_O3");
BENCHMARK(BM_Rosenbrock100Grad_hand<hand_ieee::rosenbrockGrad>)->ComputeStatistics("min", minimum)->Name("BM_Rosenbrock100Grad_hand_O3_nofma");
BENCHMARK(BM_Rosenbrock100Grad_hand<hand_fast::rosenbrockGrad>)->ComputeStatistics("min", minimum)->Name("BM_Rosenbrock100Grad_hand_fastmath");
/// The hand loop with n = 100 known when it is compiled (GCC unrolls and schedules it for that n).
template <double (*Hand)(const double *, double *)>
void BM_Rosenbrock100Grad_hand100(benchmark::State &state) {
  double (*fn)(const double *, double *) = Hand;
  benchmark::DoNotOptimize(fn);
  std::vector<double> x = rosenbrockPoint(), grad(100);
  for (auto _ : state) {
    benchmark::DoNotOptimize(x.data());
    benchmark::DoNotOptimize(fn(x.data(), grad.data()));
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_Rosenbrock100Grad_hand100<hand_o3::rosenbrockGrad100>)->ComputeStatistics("min", minimum)->Name("BM_Rosenbrock100Grad_hand_O3_n100");
BENCHMARK(BM_Rosenbrock100Grad_hand100<hand_ieee::rosenbrockGrad100>)->ComputeStatistics("min", minimum)->Name("BM_Rosenbrock100Grad_hand_O3_nofma_n100");

// --- batched: logistic regression, MLP, triad --------------------------------------------------

struct Columns {
  std::vector<std::vector<double>> data;
  std::vector<const double *> pointers;
};

/// `features` normal columns and a label column (0/1 for `binary`, else normal), seeded.
Columns makeColumns(std::size_t features, std::size_t rows, bool binary, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  Columns c;
  c.data.assign(features + 1, std::vector<double>(rows));
  for (std::size_t j = 0; j < features; ++j)
    for (double &v : c.data[j]) v = normal(rng);
  for (double &v : c.data[features]) v = binary ? (normal(rng) > 0 ? 1.0 : 0.0) : normal(rng);
  for (auto &col : c.data) c.pointers.push_back(col.data());
  return c;
}

constexpr std::size_t kLogRegRows = 1000000, kMlpRows = 100000;

const Columns &logregData() {
  static Columns c = makeColumns(16, kLogRegRows, true, 1);
  return c;
}
const Columns &mlpData() {
  static Columns c = makeColumns(4, kMlpRows, false, 2);
  return c;
}

const char *kLogRegModel = R"(param w[16]
param b
input x[16]
input y
z = dot(w, x) + b
minimize softplus(z) - y*z
)";

const char *kMlpModel = R"(param W1[16][4]
param b1[16]
param W2[16]
param b2
input x[4]
input y
h = tanh(W1 @ x + b1)
minimize (dot(W2, h) + b2 - y)^2
)";

const jit::CompiledFunction &logregModel() {
  static jit::CompiledFunction f = compileObjectiveText(session(), kLogRegModel);
  return f;
}
const jit::CompiledFunction &mlpModel() {
  static jit::CompiledFunction f = compileObjectiveText(session(), kMlpModel);
  return f;
}

/// Rows per second, and the fraction of the bandwidth bound (bytes per row from the columns read).
void reportRows(benchmark::State &state, std::size_t rows, std::size_t columns) {
  state.counters["rows/s"] = benchmark::Counter(static_cast<double>(rows) * state.iterations(),
                                                benchmark::Counter::kIsRate);
  state.counters["bytes/row"] = static_cast<double>(columns * sizeof(double));
}

void BM_LogReg_nabla(benchmark::State &state) {
  const jit::CompiledFunction &f = logregModel();
  const Columns &c = logregData();
  std::vector<double> params(17, 0.05), grad(17);
  for (auto _ : state) benchmark::DoNotOptimize(f.batchMean(params, kLogRegRows, c.pointers, grad, kThreads));
  reportRows(state, kLogRegRows, 17);
}

/// One epoch of shuffled mini-batches of 1024 rows, as `nabla fit` runs it: the gathered kernel
/// reads each batch's rows through their indices into a row-major copy of the data. The argument
/// is the thread count (the batch is split in halves of 512 rows over 2 threads).
void BM_LogRegShuffled_nabla(benchmark::State &state) {
  const jit::CompiledFunction &f = logregModel();
  const Columns &c = logregData();
  const std::size_t width = c.data.size();
  static const std::vector<double> table = [&] {
    std::vector<double> t(kLogRegRows * width);
    for (std::size_t r = 0; r < kLogRegRows; ++r)
      for (std::size_t k = 0; k < width; ++k) t[r * width + k] = c.data[k][r];
    return t;
  }();
  static const std::vector<std::uint64_t> order = [] {
    std::vector<std::uint64_t> o(kLogRegRows);
    std::iota(o.begin(), o.end(), std::uint64_t{0});
    std::shuffle(o.begin(), o.end(), std::mt19937_64(3));
    return o;
  }();
  const unsigned threads = static_cast<unsigned>(state.range(0));
  constexpr std::size_t kBatch = 1024;
  std::vector<double> params(17, 0.05), grad(17);
  for (auto _ : state) {
    for (std::size_t begin = 0; begin < kLogRegRows; begin += kBatch) {
      const std::size_t n = std::min(kBatch, kLogRegRows - begin);
      jit::TableRows rows{table.data(), width, order.data() + begin};
      benchmark::DoNotOptimize(f.batchMean(params, n, rows, grad, threads));
      params[0] -= 1e-9 * grad[0]; // a dependency from one batch to the next, as an optimizer has
    }
  }
  reportRows(state, kLogRegRows, 17);
}
BENCHMARK(BM_LogRegShuffled_nabla)->ComputeStatistics("min", minimum)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

/// A hand kernel over 2 threads, each summing half of the rows, as nabla's batchMean does.
template <typename Kernel>
void handBatch(std::size_t rows, std::size_t width, Kernel kernel, std::vector<double> &out) {
  std::vector<double> parts(kThreads * width);
  const std::size_t per = (rows + kThreads - 1) / kThreads;
  session().workers()->parallelFor(kThreads, kThreads, [&](std::size_t t) {
    kernel(t * per, std::min(rows, (t + 1) * per), parts.data() + t * width);
  });
  out.assign(width, 0);
  for (std::size_t t = 0; t < kThreads; ++t)
    for (std::size_t k = 0; k < width; ++k) out[k] += parts[t * width + k] / static_cast<double>(rows);
}

template <void (*Hand)(const double *, double, const double *const *, const double *, std::size_t,
                       std::size_t, double *)>
void BM_LogReg_hand(benchmark::State &state) {
  const Columns &c = logregData();
  std::vector<double> w(16, 0.05), out;
  for (auto _ : state) {
    handBatch(kLogRegRows, 18, [&](std::size_t b, std::size_t e, double *s) {
      Hand(w.data(), 0.05, c.pointers.data(), c.pointers[16], b, e, s);
    }, out);
    benchmark::DoNotOptimize(out.data());
  }
  reportRows(state, kLogRegRows, 17);
}

void BM_MLP_nabla(benchmark::State &state) {
  const jit::CompiledFunction &f = mlpModel();
  const Columns &c = mlpData();
  std::vector<double> params(97), grad(97);
  for (std::size_t i = 0; i < params.size(); ++i) params[i] = 0.1 * std::sin(static_cast<double>(i));
  for (auto _ : state) benchmark::DoNotOptimize(f.batchMean(params, kMlpRows, c.pointers, grad, kThreads));
  reportRows(state, kMlpRows, 5);
}

template <void (*Hand)(const double *, const double *const *, const double *, std::size_t,
                       std::size_t, double *)>
void BM_MLP_hand(benchmark::State &state) {
  const Columns &c = mlpData();
  std::vector<double> params(97), out;
  for (std::size_t i = 0; i < params.size(); ++i) params[i] = 0.1 * std::sin(static_cast<double>(i));
  for (auto _ : state) {
    handBatch(kMlpRows, 98, [&](std::size_t b, std::size_t e, double *s) {
      Hand(params.data(), c.pointers.data(), c.pointers[4], b, e, s);
    }, out);
    benchmark::DoNotOptimize(out.data());
  }
  reportRows(state, kMlpRows, 5);
}

/// STREAM's triad a = b + s*c over arrays far larger than the caches, on the same 2 threads:
/// bytes moved per second (3 arrays of doubles, as STREAM counts).
void BM_Triad(benchmark::State &state) {
  constexpr std::size_t n = std::size_t{1} << 24;
  static std::vector<double> a(n, 0), b(n, 1), c(n, 2);
  const double s = 3;
  for (auto _ : state) {
    session().workers()->parallelFor(kThreads, kThreads, [&](std::size_t t) {
      const std::size_t begin = t * n / kThreads, end = (t + 1) * n / kThreads;
      double *pa = a.data();
      const double *pb = b.data(), *pc = c.data();
      for (std::size_t i = begin; i < end; ++i) pa[i] = pb[i] + s * pc[i];
    });
    benchmark::DoNotOptimize(a.data());
    benchmark::ClobberMemory();
  }
  state.counters["bytes/s"] = benchmark::Counter(3.0 * sizeof(double) * n * state.iterations(),
                                                 benchmark::Counter::kIsRate);
}

BENCHMARK(BM_Triad)->ComputeStatistics("min", minimum)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LogReg_nabla)->ComputeStatistics("min", minimum)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LogReg_hand<hand_o3::logregSums>)->ComputeStatistics("min", minimum)->Name("BM_LogReg_hand_O3")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LogReg_hand<hand_ieee::logregSums>)->ComputeStatistics("min", minimum)->Name("BM_LogReg_hand_O3_nofma")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LogReg_hand<hand_fast::logregSums>)->ComputeStatistics("min", minimum)->Name("BM_LogReg_hand_fastmath")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MLP_nabla)->ComputeStatistics("min", minimum)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MLP_hand<hand_o3::mlpSums>)->ComputeStatistics("min", minimum)->Name("BM_MLP_hand_O3")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MLP_hand<hand_ieee::mlpSums>)->ComputeStatistics("min", minimum)->Name("BM_MLP_hand_O3_nofma")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MLP_hand<hand_fast::mlpSums>)->ComputeStatistics("min", minimum)->Name("BM_MLP_hand_fastmath")->UseRealTime()->Unit(benchmark::kMillisecond);

/// The generated code and the hand code must compute the same thing, or the comparison is void.
bool checkAgainstHand() {
  auto close = [](double a, double b) { return std::fabs(a - b) <= 1e-9 * std::max(1.0, std::fabs(b)); };
  bool ok = true;
  auto expect = [&](bool cond, const char *what) {
    if (!cond) std::fprintf(stderr, "nabla and the hand code disagree: %s\n", what);
    ok = ok && cond;
  };
  double args[2] = {0.5, -0.5}, g1[2], g2[2];
  expect(close(seed().valueAndGradFn()(args, g1), hand_o3::seedGrad(args, g2)) && close(g1[0], g2[0]) &&
             close(g1[1], g2[1]), "seed");
  std::vector<double> x = rosenbrockPoint(), r1(100), r2(100);
  expect(close(rosenbrock(false).valueAndGradFn()(x.data(), r1.data()),
               hand_o3::rosenbrockGrad(x.data(), r2.data(), 100)), "rosenbrock value");
  for (int i = 0; i < 100; ++i) expect(close(r1[i], r2[i]), "rosenbrock gradient");
  const Columns &lr = logregData();
  std::vector<double> w(17, 0.05), s1(18), s2(18);
  logregModel().batchSums(w, 0, 1000, lr.pointers, s1);
  hand_o3::logregSums(w.data(), 0.05, lr.pointers.data(), lr.pointers[16], 0, 1000, s2.data());
  for (int k = 0; k < 18; ++k) expect(close(s1[k] / 1000, s2[k] / 1000), "logistic regression");
  const Columns &m = mlpData();
  std::vector<double> p(97), m1(98), m2(98);
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = 0.1 * std::sin(static_cast<double>(i));
  mlpModel().batchSums(p, 0, 1000, m.pointers, m1);
  hand_o3::mlpSums(p.data(), m.pointers.data(), m.pointers[4], 0, 1000, m2.data());
  for (int k = 0; k < 98; ++k) expect(close(m1[k] / 1000, m2[k] / 1000), "MLP");
  return ok;
}

}  // namespace

int main(int argc, char **argv) {
  // Compile everything and let the optimized tiers in before anything is timed.
  for (const jit::CompiledFunction *f : {&seed(), &rosenbrock(false), &rosenbrock(true),
                                         &logregModel(), &mlpModel()})
    if (!f->waitOptimized()) return 1;
  if (!checkAgainstHand()) return 1;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("vector lanes", std::to_string(session().vectorTarget().lanes));
  benchmark::AddCustomContext("cpu", session().cpuName());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
