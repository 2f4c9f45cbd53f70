// Compile latency: text -> callable value+gradient (parse, lower, differentiate, simplify,
// generate code, link) for random expressions of about 100, 1,000, 10,000 and 100,000 DAG nodes,
// in one tiered session (the first tier is what the caller waits for; the optimized tier follows
// on the background thread). The median of repeated compilations is the figure. Also the first
// vectorized call's compilation of its map kernel (BM_FirstMapCall).
//
//   bench/run.sh latency
//   build/bench/nabla_bench_latency --first 100   one compilation in a fresh process, session
//                                                 set-up included; prints milliseconds
//   build/bench/nabla_bench_latency --memory 10000
//                                                 the heap kept per compilation: compiles small
//                                                 functions one after the other in one session,
//                                                 each running its optimized tier before it is
//                                                 destroyed; prints the bytes in use after every
//                                                 tenth of them, and the bytes kept per compile
#include "bench_util.h"
#include "random_expr.h"

#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <malloc.h>
#include <cstdio>
#include <cstring>
#include <map>

using namespace nabla;
using namespace nabla::bench;

namespace {

constexpr unsigned kVariables = 8;

std::size_t dagNodes(const std::string &text) {
  LoweredProgram p = lowerText(text, true);
  return p.graph.reachable({p.bare->result.elems[0]}).size();
}

/// The generator's size argument that gives about `nodes` DAG nodes (the generator counts tree
/// nodes; hash-consing shares repeated leaves). Calibrated once per size on a few seeds.
std::size_t generatorSize(std::size_t nodes) {
  static std::map<std::size_t, std::size_t> cache;
  auto it = cache.find(nodes);
  if (it != cache.end()) return it->second;
  double size = static_cast<double>(nodes);
  for (int round = 0; round < 3; ++round) {
    double got = 0;
    for (std::uint64_t seed = 1; seed <= 3; ++seed)
      got += static_cast<double>(dagNodes(randomExpression(static_cast<std::size_t>(size), kVariables, seed)));
    size *= static_cast<double>(nodes) / (got / 3);
  }
  return cache[nodes] = static_cast<std::size_t>(size);
}

jit::Session &session() {
  static jit::Session s;  // O2, tiered: the baseline tier first
  return s;
}

/// The same with LLVM at O0 (FastISel) as the first tier: what the baseline generator replaces.
jit::Session &llvmFirstSession() {
  static jit::Session s([] {
    jit::SessionOptions o;
    o.baseline = false;
    o.optimizeInBackground = false;  // only the first tier is timed
    return o;
  }());
  return s;
}

void compileLatency(benchmark::State &state, jit::Session &session);

void BM_CompileLatency(benchmark::State &state) { compileLatency(state, session()); }
void BM_CompileLatency_LlvmO0(benchmark::State &state) { compileLatency(state, llvmFirstSession()); }

void compileLatency(benchmark::State &state, jit::Session &session) {
  const std::size_t nodes = static_cast<std::size_t>(state.range(0));
  const std::size_t size = generatorSize(nodes);
  static std::uint64_t seed = 100;
  double dag = 0, callable = 0;
  std::vector<double> at(kVariables, 0.3), grad;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string text = randomExpression(size, kVariables, ++seed);
    state.ResumeTiming();
    jit::CompiledFunction f = compileExpressionText(session, text);
    state.PauseTiming();
    at.resize(f.arity(), 0.3);
    grad.resize(f.gradSize());
    callable += std::isfinite(f.valueAndGrad(at, grad)) ? 1 : 0;
    dag += static_cast<double>(dagNodes(text));
    state.ResumeTiming();
  }
  state.counters["dag_nodes"] = benchmark::Counter(dag, benchmark::Counter::kAvgIterations);
  state.counters["finite"] = benchmark::Counter(callable, benchmark::Counter::kAvgIterations);
}

/// The first vectorized call's compilation (FunctionOptions::mapped, which the C++ API and
/// Python ask for): the map kernel of value and gradient, compiled by LLVM at O2 in the calling
/// thread, for functions of about 100, 1,000 and 10,000 nodes.
void BM_FirstMapCall(benchmark::State &state) {
  const std::size_t size = generatorSize(static_cast<std::size_t>(state.range(0)));
  jit::FunctionOptions options;
  options.mapped = true;
  static std::uint64_t seed = 500;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string text = randomExpression(size, kVariables, ++seed);
    jit::CompiledFunction f = compileExpressionText(session(), text, options);
    f.waitOptimized();  // the background thread is idle while the map kernel compiles
    state.ResumeTiming();
    if (!f.waitMap(jit::MapKind::ValueAndGrad)) state.SkipWithError("the map kernel failed");
  }
}

BENCHMARK(BM_FirstMapCall)->Arg(100)->Arg(1000)->Arg(10000)->Iterations(1)->Repetitions(7)
    ->Unit(benchmark::kMillisecond)->UseRealTime()->ReportAggregatesOnly(true);
BENCHMARK(BM_CompileLatency)->Arg(100)->Iterations(1)->Repetitions(21)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CompileLatency)->Arg(1000)->Iterations(1)->Repetitions(15)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CompileLatency)->Arg(10000)->Iterations(1)->Repetitions(9)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CompileLatency)->Arg(100000)->Iterations(1)->Repetitions(3)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CompileLatency_LlvmO0)->Arg(100)->Iterations(1)->Repetitions(21)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CompileLatency_LlvmO0)->Arg(1000)->Iterations(1)->Repetitions(15)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CompileLatency_LlvmO0)->Arg(10000)->Iterations(1)->Repetitions(9)->Unit(benchmark::kMillisecond)->UseRealTime();

/// `--first N`: the first compilation of this process, with the session's set-up (LLVM's target
/// registry, the JIT, a target machine) included.
int firstCompilation(std::size_t nodes) {
  const std::string text = randomExpression(nodes * 13 / 10, kVariables, 7);
  const auto start = std::chrono::steady_clock::now();
  jit::Session fresh;
  jit::CompiledFunction f = compileExpressionText(fresh, text);
  std::vector<double> at(f.arity(), 0.3), grad(f.gradSize());
  const double v = f.valueAndGrad(at, grad);
  const auto stop = std::chrono::steady_clock::now();
  std::printf("%.3f ms (%zu DAG nodes, value %g)\n",
              std::chrono::duration<double, std::milli>(stop - start).count(), dagNodes(text), v);
  return std::isfinite(v) ? 0 : 1;
}

/// `--memory N`: what the heap holds after N compilations whose functions are gone. Each function
/// swaps in its optimized tier (the session's background thread, waited for) and is called
/// through it before it is destroyed, so whatever a replaced tier or a removed module leaves
/// behind accumulates. The first tenth warms up (LLVM's lazily made state, the allocator).
int heapPerCompile(std::size_t n) {
  jit::Session session;  // O2, tiered, the optimized tier in the background
  auto inUse = [] { return static_cast<double>(mallinfo2().uordblks); };
  std::vector<double> at(kVariables, 0.3), grad;
  double before = 0;
  std::printf("| compiles | heap in use (bytes) |\n| ---: | ---: |\n");
  for (std::size_t i = 1; i <= n; ++i) {
    {
      jit::CompiledFunction f = compileExpressionText(session, randomExpression(30, 4, i));
      session.waitForBackground();
      at.resize(f.arity(), 0.3);
      grad.resize(f.gradSize());
      (void)f.valueAndGrad(at, grad);  // through the optimized tier
    }
    if (i % (n / 10 == 0 ? 1 : n / 10) == 0) {
      std::printf("| %zu | %.0f |\n", i, inUse());
      if (i == n / 10) before = inUse();
    }
  }
  const double kept = (inUse() - before) / static_cast<double>(n - n / 10);
  std::printf("\nkept per compile after the first %zu: %.1f bytes\n", n / 10, kept);
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc == 3 && std::strcmp(argv[1], "--first") == 0) return firstCompilation(std::stoul(argv[2]));
  if (argc == 3 && std::strcmp(argv[1], "--memory") == 0) return heapPerCompile(std::stoul(argv[2]));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  session().stopBackground();  // no compilation may still run while the process tears LLVM down
  return 0;
}
