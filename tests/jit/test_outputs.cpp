// Array-valued functions (jit::CompiledOutputs): every root from one call, equal to the
// interpreter in every tier, and the mean of every root over rows of data, from columns or from
// rows picked from a table, equal to the row-by-row means and split over threads like the batches
// of an objective.
#include "jit_test_util.h"

#include "codegen/baseline_x86.h"
#include "codegen/emit_llvm.h"
#include "graph/interp.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <random>
#include <stdexcept>
#include <thread>

using namespace nabla;
using namespace nabla::jittest;

namespace {

/// Roots over symbols; the first `params` symbols are params, the rest inputs.
struct Program {
  Graph graph;
  std::vector<SymbolId> args;
  std::size_t params = 0;
  std::vector<NodeId> roots;
};

/// A random DAG over `vars` symbols with every op (of one to three operands) and shared
/// subexpressions, and `roots` roots picked among its last nodes (repeats and constants included).
Program randomProgram(std::uint64_t seed, int vars, int nodes, int roots) {
  std::mt19937_64 rng(seed);
  Program p;
  Graph &g = p.graph;
  std::vector<NodeId> pool;
  for (int i = 0; i < vars; ++i) {
    p.args.push_back(g.addSymbol("x" + std::to_string(i)));
    pool.push_back(g.variable(p.args.back()));
  }
  for (double c : {0.5, -1.0, 2.0, 3.0, -0.0}) pool.push_back(g.constant(c));
  auto pick = [&] {
    // Mostly recent nodes, so that the DAG is deep rather than flat.
    const std::size_t n = pool.size(), back = std::min<std::size_t>(n, 1 + rng() % 8);
    return rng() % 3 ? pool[n - back] : pool[rng() % n];
  };
  for (int i = 0; i < nodes; ++i) {
    Op op;
    do op = static_cast<Op>(rng() % kOpCount);
    while (arity(op) == 0);
    const NodeId a = pick(), b = pick(), c = pick();
    pool.push_back(arity(op) == 1   ? g.make(op, a)
                   : arity(op) == 2 ? g.make(op, a, b)
                                    : g.make(op, a, b, c));
  }
  for (int i = 0; i < roots; ++i)
    p.roots.push_back(pool[pool.size() - 1 - rng() % std::min<std::size_t>(pool.size(), 24)]);
  return p;
}

/// A point: mostly ordinary values, sometimes the special ones (zeros, infinities, NaN, ...).
std::vector<double> randomPoint(std::mt19937_64 &rng, std::size_t n) {
  std::vector<double> at(n);
  for (double &v : at)
    v = rng() % 5 == 0 ? kSpecialPoints[rng() % kSpecialPoints.size()]
                       : std::uniform_real_distribution<double>(-2, 2)(rng);
  return at;
}

/// The interpreter's roots at `at` (one value per argument).
std::vector<double> interpret(const Program &p, const std::vector<double> &at) {
  std::vector<double> symbols(p.graph.symbolCount(), kNaN);
  for (std::size_t k = 0; k < p.args.size(); ++k) symbols[p.args[k]] = at[k];
  return evaluate(p.graph, p.roots, symbols);
}

jit::CompiledOutputs compile(jit::Session &session, const Program &p, bool batched = false) {
  jit::FunctionOptions options;
  options.batched = batched;
  return jit::compileOutputs(session, p.graph, "outputs", p.args, p.params, p.roots, options);
}

/// The outputs at random points against the interpreter: bit for bit (the baseline tier), or
/// within 4 ulps (LLVM's code). Returns the number of outputs checked.
std::size_t checkOutputs(const jit::CompiledOutputs &f, const Program &p, std::uint64_t seed,
                         bool exact) {
  std::mt19937_64 rng(seed);
  std::size_t checked = 0;
  for (int k = 0; k < 20; ++k) {
    const std::vector<double> at = randomPoint(rng, p.args.size());
    const std::vector<double> want = interpret(p, at);
    const std::vector<double> got = f.outputs(at);
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < got.size(); ++i, ++checked) {
      const bool same =
          sameDouble(got[i], want[i]) || (!exact && ulpDistance(got[i], want[i]) <= 4);
      if (!same) {
        std::string point;
        for (double v : at) point += show(v) + " ";
        FAIL_CHECK("output " << i << " at " << point << ": jit " << show(got[i])
                             << ", interpreter " << show(want[i]));
      }
    }
  }
  return checked;
}

// Sessions of two threads, whatever the host: the threaded checks know where chunks begin.
jit::SessionOptions twoThreads() {
  jit::SessionOptions o;
  o.threads = 2;
  return o;
}

/// The baseline code alone (where the host has it), LLVM's O0 alone, one level at once.
jit::SessionOptions baselineOnly() {
  jit::SessionOptions o = twoThreads();
  o.optimizeInBackground = false;
  return o;
}

jit::SessionOptions llvmO0Only() {
  jit::SessionOptions o = baselineOnly();
  o.baseline = false;
  return o;
}

jit::SessionOptions untiered(jit::OptLevel level) {
  jit::SessionOptions o = twoThreads();
  o.optLevel = level;
  o.tiered = false;
  return o;
}

}  // namespace

TEST_CASE("outputs equal the interpreter in every tier", "[jit][outputs][tiers]") {
  // Roots fewer and more than the arguments.
  for (std::uint64_t seed : {1, 2, 3, 4, 5, 6}) {
    const Program p = randomProgram(seed, 3, 40, seed % 2 ? 2 : 11);
    INFO("seed " << seed << ", " << p.roots.size() << " outputs of " << p.args.size()
                 << " arguments");
    if (codegen::baselineSupported()) {
      jit::Session session(baselineOnly());
      jit::CompiledOutputs f = compile(session, p);
      CHECK(f.outputCount() == p.roots.size());
      CHECK(f.arity() == 3);
      CHECK_FALSE(f.optimized());
      CHECK(checkOutputs(f, p, seed, true) == 20 * p.roots.size());
      CHECK_FALSE(f.waitOptimized());  // it stays at the baseline code
    }
    {
      jit::Session session(llvmO0Only());
      REQUIRE_FALSE(session.baselineFirstTier());
      jit::CompiledOutputs f = compile(session, p);
      CHECK_FALSE(f.optimized());
      checkOutputs(f, p, seed, false);
    }
    for (jit::OptLevel level : {jit::OptLevel::O0, jit::OptLevel::O2}) {
      jit::Session session(untiered(level));
      jit::CompiledOutputs f = compile(session, p);
      CHECK(f.optimized());
      checkOutputs(f, p, seed, false);
    }
    {
      // The first code, then the optimized tier once it is in.
      jit::Session session;
      jit::CompiledOutputs f = compile(session, p);
      checkOutputs(f, p, seed, false);
      REQUIRE(f.waitOptimized());
      CHECK(f.optimized());
      checkOutputs(f, p, seed, false);
    }
  }
}

TEST_CASE("outputs of no arguments, repeated roots, and an output array that is the argument array",
          "[jit][outputs]") {
  jit::Session session(untiered(jit::OptLevel::O2));
  Program constants;
  Graph &g = constants.graph;
  constants.roots = {g.constant(1.5), g.constant(-0.0), g.constant(1.5), g.constant(kInf)};
  jit::CompiledOutputs f = compile(session, constants);
  CHECK(f.arity() == 0);
  const std::vector<double> got = f.outputs(std::vector<double>{});
  REQUIRE(got.size() == 4);
  CHECK(got[0] == 1.5);
  CHECK(std::bit_cast<std::uint64_t>(got[1]) == std::bit_cast<std::uint64_t>(-0.0));
  CHECK(got[2] == 1.5);
  CHECK(got[3] == kInf);

  // One argument, many outputs written over it: every argument is read first.
  Program one;
  const SymbolId x = one.graph.addSymbol("x");
  const NodeId vx = one.graph.variable(x);
  one.args = {x};
  for (double k : {1.0, 2.0, 3.0})
    one.roots.push_back(one.graph.make(Op::Mul, vx, one.graph.constant(k)));
  jit::CompiledOutputs h = compile(session, one);
  std::vector<double> shared{2.0, kNaN, kNaN};
  h.outputs(std::span<const double>(shared).first(1), shared);
  CHECK(shared == std::vector<double>{2.0, 4.0, 6.0});
}

namespace {

/// Params w, b and inputs x, y; nine outputs (more than the four arguments), a constant and a
/// param among them.
Program batchProgram(bool withInputs = true) {
  Program p;
  Graph &g = p.graph;
  const SymbolId w = g.addSymbol("w"), b = g.addSymbol("b");
  p.args = {w, b};
  p.params = 2;
  const NodeId vw = g.variable(w), vb = g.variable(b);
  NodeId vx = g.constant(0.75), vy = g.constant(-0.5);
  if (withInputs) {
    const SymbolId x = g.addSymbol("x"), y = g.addSymbol("y");
    p.args.push_back(x);
    p.args.push_back(y);
    vx = g.variable(x);
    vy = g.variable(y);
  }
  const NodeId z = g.make(Op::Add, g.make(Op::Mul, vw, vx), vb);
  const NodeId r = g.make(Op::Sub, z, vy);
  p.roots = {r,
             g.make(Op::Pow, r, g.constant(2)),
             g.make(Op::Mul, g.make(Op::Tanh, g.make(Op::Mul, vw, vx)), vb),
             g.make(Op::Exp, g.make(Op::Neg, g.make(Op::Mul, vx, vx))),
             g.make(Op::Sigmoid, z),
             g.make(Op::Mul, g.make(Op::Log1p, g.make(Op::Mul, vx, vx)), vw),
             g.constant(3),
             g.make(Op::Mul, vx, vy),
             vw};
  return p;
}

/// The interpreter's mean of every root over the rows, added in row order, and the mean of the
/// |terms| (the scale that bounds the rounding of any summation order).
struct RowMeans {
  std::vector<double> mean, scale;
};
RowMeans rowMeans(const Program &p, const std::vector<double> &params, const Data &data) {
  RowMeans out;
  out.mean.assign(p.roots.size(), 0.0);
  out.scale.assign(p.roots.size(), 0.0);
  std::vector<double> at(params);
  at.resize(p.args.size());
  for (std::size_t r = 0; r < data.rows; ++r) {
    for (std::size_t c = 0; c < data.columns.size(); ++c) at[p.params + c] = data.columns[c][r];
    const std::vector<double> v = interpret(p, at);
    for (std::size_t k = 0; k < v.size(); ++k) {
      out.mean[k] += v[k];
      out.scale[k] += std::fabs(v[k]);
    }
  }
  for (std::size_t k = 0; k < p.roots.size(); ++k) {
    out.mean[k] /= static_cast<double>(data.rows);
    out.scale[k] /= static_cast<double>(data.rows);
  }
  return out;
}

/// The batch means over columns against the interpreter's row-by-row means: bit for bit when the
/// rows run one by one on the baseline code in one chunk, else to 1e-12 relative (the vector
/// kernel adds the rows in another order, with glibc's vector functions).
void checkColumnMeans(const jit::CompiledOutputs &f, const Program &p,
                      const std::vector<double> &params, const Data &data, bool exact,
                      unsigned threads = 1) {
  const RowMeans want = rowMeans(p, params, data);
  std::vector<double> got(f.outputCount(), kNaN);
  f.batchMeans(params, data.rows, data.pointers, got, threads);
  for (std::size_t k = 0; k < got.size(); ++k) {
    INFO(data.rows << " rows, " << threads << " threads, output " << k << ": batch "
                   << show(got[k]) << ", row by row " << show(want.mean[k]));
    if (exact)
      CHECK(sameDouble(got[k], want.mean[k]));
    else
      CHECK(std::fabs(got[k] - want.mean[k]) <=
            1e-12 * std::max(std::fabs(want.mean[k]), 1e-3 * want.scale[k]));
  }
}

/// The gathered batch against the column batch of the same rows: the same bits in one thread;
/// over two threads, from 513 rows on, the column sums of the two chunks of whole 64-row blocks
/// added in order.
void checkGatheredMeans(const jit::CompiledOutputs &f, const std::vector<double> &params,
                        const Table &t) {
  const std::size_t n = t.index.size(), width = f.outputCount();
  const Data d = columnsOf(t, f.inputCount());
  const jit::TableRows rows{t.cells.data(), t.stride, t.index.data()};
  std::vector<double> want(width), got(width);
  f.batchMeans(params, n, d.pointers, want, 1);
  f.batchMeans(params, n, rows, got, 1);
  for (std::size_t k = 0; k < width; ++k) {
    INFO(n << " rows, output " << k << ": columns " << show(want[k]) << ", gathered "
           << show(got[k]));
    CHECK(sameDouble(got[k], want[k]));
  }
  f.batchMeans(params, n, rows, got, 2);
  const std::size_t per = n > 512 ? ((n + 1) / 2 + 63) / 64 * 64 : n;
  std::vector<double> first(width), second(width, 0.0);
  f.batchSums(params, 0, per, d.pointers, first);
  if (per < n) f.batchSums(params, per, n, d.pointers, second);
  for (std::size_t k = 0; k < width; ++k) {
    INFO(n << " rows over two threads, output " << k << ": gathered " << show(got[k]));
    CHECK(sameDouble(got[k], (first[k] + second[k]) / static_cast<double>(n)));
  }
}

/// Row counts around the vector width, and one above the gathered rows' chunk size.
std::vector<std::size_t> rowCounts(const jit::Session &session) {
  const std::size_t lanes = session.vectorTarget().lanes;
  return {1, lanes - 1, lanes + 1, 1500};
}

/// Every batch check, for code whose batches run on one kind of code.
void checkBatches(jit::Session &session, const jit::CompiledOutputs &f, bool exact) {
  const Program p = batchProgram();
  const std::vector<double> params{0.75, -0.25};
  for (std::size_t n : rowCounts(session)) {
    if (n == 0) continue;
    checkColumnMeans(f, p, params, randomData(2, n, n), exact);
    checkGatheredMeans(f, params, randomTable(2, 2, 300, n, n + 1));
    checkGatheredMeans(f, params, randomTable(2, 5, 300, n, n + 2));  // inputs, then filler
  }
}

}  // namespace

TEST_CASE("batch means of outputs equal the row-by-row means in every tier",
          "[jit][outputs][batch][threads][tiers]") {
  const Program p = batchProgram();
  SECTION("the optimized tier's vector kernel") {
    jit::Session session(untiered(jit::OptLevel::O2));
    jit::CompiledOutputs f = compile(session, p, true);
    REQUIRE(f.hasBatch());
    REQUIRE(f.batchFn() != nullptr);
    REQUIRE(f.batchGatherFn() != nullptr);
    CHECK(f.paramCount() == 2);
    CHECK(f.inputCount() == 2);
    CHECK(f.sumCount() == 9);
    checkBatches(session, f, false);
  }
  SECTION("rows one by one on the baseline code") {
    if (!codegen::baselineSupported()) {
      WARN("not checked: the baseline generator needs x86-64");
      return;
    }
    jit::Session session(baselineOnly());
    jit::CompiledOutputs f = compile(session, p, true);
    REQUIRE(f.hasBatch());
    CHECK(f.batchFn() == nullptr);  // no kernel in the first tier
    checkBatches(session, f, true);
  }
  SECTION("LLVM at O0 as the first tier, with its kernel") {
    jit::Session session(llvmO0Only());
    jit::CompiledOutputs f = compile(session, p, true);
    REQUIRE(f.batchFn() != nullptr);
    checkBatches(session, f, false);
  }
  SECTION("a tiered session, before and after the optimized tier") {
    jit::Session session(twoThreads());
    jit::CompiledOutputs f = compile(session, p, true);
    checkColumnMeans(f, p, {0.75, -0.25}, randomData(2, 37, 4), false);
    REQUIRE(f.waitOptimized());
    REQUIRE(f.batchFn() != nullptr);
    checkBatches(session, f, false);
  }
}

TEST_CASE("threaded batch means of outputs are split in chunks added in order",
          "[jit][outputs][batch][threads]") {
  const Program p = batchProgram();
  const std::vector<double> params{-0.5, 0.125};
  jit::Session session(untiered(jit::OptLevel::O2));
  REQUIRE(session.workers()->size() == 2);
  jit::CompiledOutputs f = compile(session, p, true);
  // More rows than a chunk of columns (16384): two chunks of whole 64-row blocks.
  const std::size_t n = 40001, per = ((n + 1) / 2 + 63) / 64 * 64;
  const Data data = randomData(2, n, 9);
  checkColumnMeans(f, p, params, data, false, 2);
  std::vector<double> got(9), first(9), second(9);
  f.batchMeans(params, n, data.pointers, got, 2);
  f.batchSums(params, 0, per, data.pointers, first);
  f.batchSums(params, per, n, data.pointers, second);
  for (std::size_t k = 0; k < 9; ++k) {
    INFO("output " << k);
    CHECK(sameDouble(got[k], (first[k] + second[k]) / static_cast<double>(n)));
  }
  // Several threads calling at once get the same bits.
  std::vector<int> agree(3, 0);
  std::vector<std::thread> callers;
  for (int t = 0; t < 3; ++t)
    callers.emplace_back([&, t] {
      std::vector<double> mine(9);
      f.batchMeans(params, n, data.pointers, mine, 2);
      agree[t] = std::equal(mine.begin(), mine.end(), got.begin(), sameDouble);
    });
  for (std::thread &c : callers) c.join();
  CHECK(agree == std::vector<int>{1, 1, 1});
}

TEST_CASE("batch means of outputs without inputs are the outputs at the params",
          "[jit][outputs][batch]") {
  const Program p = batchProgram(false);
  const std::vector<double> params{0.75, -0.25};
  auto check = [&](jit::Session &session, bool exact) {
    jit::CompiledOutputs f = compile(session, p, true);
    CHECK(f.inputCount() == 0);
    const std::vector<double> at = f.outputs(params);
    for (std::size_t n : {std::size_t{1}, std::size_t{7}, std::size_t{1500}}) {
      checkColumnMeans(f, p, params, randomData(0, n, n), exact);
      checkGatheredMeans(f, params, randomTable(0, 0, 10, n, n));
      std::vector<double> got(f.outputCount());
      f.batchMeans(params, n, std::span<const double *const>(), got);
      // n equal terms added one by one: at most n roundings of 2^-53 each.
      for (std::size_t k = 0; k < got.size(); ++k) CHECK(got[k] == Approx(at[k]).epsilon(1e-12));
    }
    // No rows: NaN, as for the mean of nothing.
    std::vector<double> none(f.outputCount(), 0.0);
    f.batchMeans(params, 0, std::span<const double *const>(), none);
    CHECK(std::all_of(none.begin(), none.end(), [](double v) { return std::isnan(v); }));
  };
  {
    jit::Session session(untiered(jit::OptLevel::O2));
    check(session, false);
  }
  if (codegen::baselineSupported()) {
    jit::Session session(baselineOnly());
    check(session, true);
  }
}

TEST_CASE("outputs check their sizes and need their kernel", "[jit][outputs]") {
  jit::Session session(untiered(jit::OptLevel::O0));
  const Program p = batchProgram();
  // Construction: no roots, more params than arguments.
  const std::span<const NodeId> none;
  CHECK_THROWS_AS(jit::compileOutputs(session, p.graph, "none", p.args, 2, none),
                  codegen::CodegenError);
  CHECK_THROWS_AS(jit::compileOutputs(session, p.graph, "over", p.args, 5, p.roots),
                  codegen::CodegenError);

  jit::CompiledOutputs f = compile(session, p, true);
  std::vector<double> args(4, 0.5), out(9), params(2, 0.0), sums(9);
  const Data data = randomData(2, 10, 1);
  CHECK_THROWS_AS(f.outputs(std::vector<double>(3), out), std::invalid_argument);
  CHECK_THROWS_AS(f.outputs(args, std::span<double>(out).first(8)), std::invalid_argument);
  CHECK_THROWS_AS(f.batchMeans(std::vector<double>(3), 10, data.pointers, out),
                  std::invalid_argument);
  CHECK_THROWS_AS(f.batchMeans(params, 10, std::span(data.pointers).first(1), out),
                  std::invalid_argument);
  CHECK_THROWS_AS(f.batchMeans(params, 10, data.pointers, std::span<double>(out).first(2)),
                  std::invalid_argument);
  CHECK_THROWS_AS(f.batchSums(params, 5, 4, data.pointers, sums), std::invalid_argument);
  CHECK_THROWS_AS(f.batchSums(params, 0, 4, data.pointers, std::span<double>(sums).first(8)),
                  std::invalid_argument);
  const Table t = randomTable(2, 2, 10, 10, 1);
  CHECK_THROWS_AS(f.batchMeans(params, 10, jit::TableRows{t.cells.data(), 1, t.index.data()}, out),
                  std::invalid_argument);
  CHECK_THROWS_AS(f.batchMeans(params, 10, jit::TableRows{nullptr, 2, t.index.data()}, out),
                  std::invalid_argument);
  CHECK_THROWS_AS(f.batchMeans(params, 10, jit::TableRows{t.cells.data(), 2, nullptr}, out),
                  std::invalid_argument);
  CHECK_THROWS_AS(f.batchMeans(params, 10, jit::TableRows{t.cells.data(), 2, t.index.data()},
                              std::span<double>(out).first(1)),
                  std::invalid_argument);
  // An empty range sums to zero.
  f.batchSums(params, 4, 4, data.pointers, sums);
  CHECK(sums == std::vector<double>(9, 0.0));

  jit::CompiledOutputs plain = compile(session, p, false);
  CHECK_FALSE(plain.hasBatch());
  CHECK(plain.batchFn() == nullptr);
  CHECK_THROWS_AS(plain.batchMeans(params, 10, data.pointers, out), std::logic_error);
  CHECK_THROWS_AS(plain.batchSums(params, 0, 1, data.pointers, sums), std::logic_error);
  CHECK(plain.outputs(args).size() == 9);

  const jit::CompiledOutputs empty;
  CHECK(empty.outputsFn() == nullptr);
  CHECK_THROWS_AS(empty.outputs(args, out), std::logic_error);
  CHECK_FALSE(empty.optimized());
}
