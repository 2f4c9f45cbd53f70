// The batched kernel: mean loss and mean gradient over rows of data, vectorized across rows. It
// must equal the mean of the scalar value+gradient over the rows (1e-12 relative), row by row the
// interpreter, and be reproducible for a given thread count.
#include "jit_test_util.h"

#include "codegen/emit_batch.h"
#include "codegen/emit_llvm.h"

#include <catch2/catch.hpp>

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <sstream>
#include <thread>

using namespace nabla;
using namespace nabla::jittest;

namespace {

/// A loss over params (differentiated) and inputs (per row), compiled with its batched kernel.
struct Model {
  Differentiated diff;
  std::vector<SymbolId> args;  // params, then inputs
  jit::CompiledFunction f;
};

Model compileModel(jit::Session &session, const std::string &text,
                   const std::vector<std::string> &params, const std::vector<std::string> &inputs,
                   jit::FunctionOptions options = {}) {
  std::optional<Differentiated> diff = differentiateText(text, params, false, true);
  REQUIRE(diff);
  Model m{std::move(*diff), {}, {}};
  Graph &g = m.diff.program.graph;
  m.args = m.diff.args;
  for (const std::string &name : inputs) {
    SymbolId found = g.symbolCount();
    for (SymbolId s = 0; s < g.symbolCount(); ++s)
      if (g.symbolName(s) == name) found = s;
    if (found == g.symbolCount()) found = g.addSymbol(name);  // an input the loss does not read
    m.args.push_back(found);
  }
  options.batched = true;
  m.f = jit::compileFunction(session, g, "loss", m.args, m.diff.d, options);
  REQUIRE(m.f.hasBatch());
  REQUIRE(m.f.inputCount() == inputs.size());
  return m;
}

/// The mean over the rows of the scalar value+gradient, with the sum of |terms| of each entry
/// (the scale that bounds the rounding of any summation order).
struct ScalarMean {
  double value = 0, valueScale = 0;
  std::vector<double> grad, gradScale;
};
ScalarMean scalarMean(const Model &m, const std::vector<double> &params, const Data &data) {
  const std::size_t p = m.f.gradSize();
  ScalarMean out;
  out.grad.assign(p, 0);
  out.gradScale.assign(p, 0);
  std::vector<double> args(params);
  args.resize(m.f.arity());
  std::vector<double> grad(p);
  for (std::size_t r = 0; r < data.rows; ++r) {
    for (std::size_t c = 0; c < data.columns.size(); ++c) args[p + c] = data.columns[c][r];
    const double v = m.f.valueAndGrad(args, grad);
    out.value += v;
    out.valueScale += std::fabs(v);
    for (std::size_t i = 0; i < p; ++i) {
      out.grad[i] += grad[i];
      out.gradScale[i] += std::fabs(grad[i]);
    }
  }
  const double n = static_cast<double>(data.rows);
  out.value /= n;
  out.valueScale /= n;
  for (std::size_t i = 0; i < p; ++i) {
    out.grad[i] /= n;
    out.gradScale[i] /= n;
  }
  return out;
}

/// |got - want| <= 1e-12 * max(|want|, mean of |terms| * 1e-3): relative, except where the mean
/// cancels to far below its terms (then no summation order can promise 1e-12 of the result).
bool closeMean(double got, double want, double scale) {
  return std::fabs(got - want) <= 1e-12 * std::max(std::fabs(want), 1e-3 * scale);
}

void checkBatchAgainstScalar(const Model &m, const std::vector<double> &params, const Data &data,
                             unsigned threads = 0) {
  const ScalarMean want = scalarMean(m, params, data);
  std::vector<double> grad(m.f.gradSize());
  const double got = m.f.batchMean(params, data.rows, data.pointers, grad, threads);
  INFO("rows " << data.rows << ", threads " << threads << ": batch " << got << ", scalar mean "
               << want.value);
  CHECK(closeMean(got, want.value, want.valueScale));
  for (std::size_t i = 0; i < grad.size(); ++i) {
    INFO("gradient " << i << ": batch " << grad[i] << ", scalar mean " << want.grad[i]);
    CHECK(closeMean(grad[i], want.grad[i], want.gradScale[i]));
  }
}

const char *kLogistic = "softplus(w1*x1 + w2*x2 + w3*x3 + b) - t*(w1*x1 + w2*x2 + w3*x3 + b)";

jit::SessionOptions untiered(jit::OptLevel level) { return {level, false}; }

}  // namespace

TEST_CASE("the batched kernel equals the mean of the scalar kernel over the rows", "[jit][batch]") {
  jit::Session session(untiered(jit::OptLevel::O2));
  Model m = compileModel(session, kLogistic, {"w1", "w2", "w3", "b"}, {"x1", "x2", "x3", "t"});
  const std::vector<double> params{0.5, -1.25, 0.75, 0.1};
  // Row counts around the lane count and its multiples, so that the padded last block is covered.
  for (std::size_t n : {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1001}) {
    Data data = randomData(4, n, n);
    for (double &t : data.columns[3]) t = t > 0 ? 1 : 0;
    checkBatchAgainstScalar(m, params, data);
  }
}

TEST_CASE("batched rows equal the interpreter row by row", "[jit][batch]") {
  jit::Session session(untiered(jit::OptLevel::O2));
  const std::string text = "(y - tanh(a*x + c)*k)^2 + 0.1*log1p(exp(a*x)) + sin(c*x)*cos(k) + "
                           "sqrt(1 + (a*x)^2) + pow(1 + x^2, a) + atan2(x, 1.5) + hypot(x, k)";
  Model m = compileModel(session, text, {"a", "c", "k"}, {"x", "y"});
  const std::vector<double> params{0.7, -0.3, 1.1};
  Data data = randomData(2, 37, 7);
  const Graph &g = m.diff.program.graph;
  const std::vector<NodeId> roots = allRoots(m.diff.d);
  std::vector<double> sums(1 + m.f.gradSize());
  for (std::size_t r = 0; r < data.rows; ++r) {
    // One row alone is one padded block: the vector code with a single live lane.
    m.f.batchSums(params, r, r + 1, data.pointers, sums);
    std::vector<double> symbols(g.symbolCount(), std::nan(""));
    for (std::size_t k = 0; k < params.size(); ++k) symbols[m.args[k]] = params[k];
    symbols[m.args[3]] = data.columns[0][r];
    symbols[m.args[4]] = data.columns[1][r];
    const std::vector<double> want = evaluate(g, roots, symbols);
    for (std::size_t k = 0; k < sums.size(); ++k) {
      INFO("row " << r << ", root " << k << ": batch " << sums[k] << ", interpreter " << want[k]);
      // glibc's vector functions are within 4 ulps of the scalar ones; a few of them add up here.
      CHECK(sums[k] == Approx(want[k]).epsilon(1e-13).margin(1e-300));
    }
  }
}

TEST_CASE("every op of the batched kernel agrees with evalOp lane by lane, special values included",
          "[jit][batch][ops]") {
  // Each op alone as the loss over three inputs, no params: a row's sum is op(a, b, c).
  const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
  const std::vector<double> points = {0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 1e-310, 40.0, -40.0,
                                      700.0, -745.0, 1e300, inf, -inf, nan};
  jit::Session session(untiered(jit::OptLevel::O2));
  for (int i = 0; i < kOpCount; ++i) {
    const Op op = static_cast<Op>(i);
    if (arity(op) == 0) continue;
    Graph g;
    SymbolId a = g.addSymbol("a"), b = g.addSymbol("b"), c = g.addSymbol("c");
    NodeId va = g.variable(a), vb = g.variable(b), vc = g.variable(c);
    NodeId root = arity(op) == 1 ? g.make(op, va) : arity(op) == 2 ? g.make(op, va, vb) : g.make(op, va, vb, vc);
    Derivatives d;
    d.value = root;
    jit::FunctionOptions options;
    options.batched = true;
    const std::vector<SymbolId> args{a, b, c};
    jit::CompiledFunction f = jit::compileFunction(session, g, std::string(opName(op)), args, d, options);
    // All pairs (a, b), c cycling: one batch call over every row, then row by row.
    Data data;
    data.columns.assign(3, {});
    for (double x : points)
      for (double y : points) {
        data.columns[0].push_back(x);
        data.columns[1].push_back(y);
        data.columns[2].push_back(points[data.columns[2].size() % points.size()]);
      }
    data.rows = data.columns[0].size();
    for (auto &column : data.columns) data.pointers.push_back(column.data());
    double sum = 0;
    for (std::size_t r = 0; r < data.rows; ++r) {
      const double want = evalOp(op, data.columns[0][r], data.columns[1][r], data.columns[2][r]);
      f.batchSums({}, r, r + 1, data.pointers, std::span(&sum, 1));
      const bool same = sameDouble(sum, want) ||
                        (std::isfinite(want) && ulpDistance(sum, want) <= 4) ||
                        // glibc's vector pow, tan, ... may round a huge result either way of
                        // overflow or a tiny one to zero or a subnormal: within 4 ulps of the
                        // scalar function, measured in the larger of the two.
                        (!std::isnan(want) && !std::isnan(sum) &&
                         std::fabs(sum - want) <= 4 * std::numeric_limits<double>::epsilon() *
                                                      std::max(std::fabs(want), 1e-300) &&
                         std::isfinite(sum) == std::isfinite(want));
      if (!same)
        FAIL_CHECK(opName(op) << "(" << data.columns[0][r] << ", " << data.columns[1][r] << ", "
                              << data.columns[2][r] << "): batch " << sum << ", evalOp " << want);
    }
  }
}

TEST_CASE("powers with a constant exponent of 2, 1, 0 or -1 have the scalar entry point's bits in every lane",
          "[jit][batch][ops]") {
  // LLVM rewrites the scalar pow call for these exponents (x^2 is x*x); the vector code must
  // rewrite them the same way rather than call the vector pow.
  const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
  const std::vector<double> points = {0.0, -0.0, 1.0, -1.0, 0.1, -2.5, 3.0, 1e-310, -1e-160,
                                      1e200, -1e155, 7.3, inf, -inf, nan};
  jit::Session session(untiered(jit::OptLevel::O2));
  for (const char *text : {"(x + c)^2", "(x + c)^-1", "(x + c)^1", "(x + c)^0", "(x + c)^3"}) {
    Model m = compileModel(session, text, {}, {"x", "c"});
    Data data;
    data.columns.assign(2, {});
    for (double x : points) {
      data.columns[0].push_back(x);
      data.columns[1].push_back(0.0);
    }
    data.rows = points.size();
    for (auto &column : data.columns) data.pointers.push_back(column.data());
    std::vector<double> none;
    for (std::size_t r = 0; r < data.rows; ++r) {
      double sum = 0;
      m.f.batchSums({}, r, r + 1, data.pointers, std::span(&sum, 1));
      const double want = m.f.valueAndGrad(std::vector<double>{points[r], 0.0}, none);
      INFO(text << " at x = " << points[r] << ": batch " << sum << ", scalar " << want);
      if (std::string_view(text).ends_with("^3"))  // the vector pow: within 4 ulps of the scalar
        CHECK((sameDouble(sum, want) || (std::isfinite(want) && ulpDistance(sum, want) <= 4)));
      else  // a sum of one row is +0 for a -0 term
        CHECK((sameDouble(sum, want) || (sum == 0 && want == 0)));
    }
  }
}

TEST_CASE("threaded batches are reproducible and agree with one thread", "[jit][batch][threads]") {
  jit::Session session(jit::SessionOptions{.optLevel = jit::OptLevel::O2, .tiered = false, .threads = 2});
  REQUIRE(session.workers()->size() == 2);
  Model m = compileModel(session, kLogistic, {"w1", "w2", "w3", "b"}, {"x1", "x2", "x3", "t"});
  const std::vector<double> params{0.25, 0.5, -0.75, 0.2};
  Data data = randomData(4, 100003, 11);
  for (double &t : data.columns[3]) t = t > 0.3 ? 1 : 0;
  checkBatchAgainstScalar(m, params, data, 1);
  checkBatchAgainstScalar(m, params, data, 2);
  std::vector<double> g1(4), g2(4);
  const double v1 = m.f.batchMean(params, data.rows, data.pointers, g1, 2);
  const double v2 = m.f.batchMean(params, data.rows, data.pointers, g2, 2);
  CHECK(std::bit_cast<std::uint64_t>(v1) == std::bit_cast<std::uint64_t>(v2));
  CHECK(g1 == g2);

  // Several threads calling at once, each with the pool.
  std::vector<std::thread> callers;
  std::vector<int> agree(4, 0);
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&, t] {
      std::vector<double> g(4);
      const double v = m.f.batchMean(params, data.rows, data.pointers, g, 2);
      agree[t] = std::bit_cast<std::uint64_t>(v) == std::bit_cast<std::uint64_t>(v1) && g == g1;
    });
  for (std::thread &c : callers) c.join();
  CHECK(agree == std::vector<int>{1, 1, 1, 1});
}

TEST_CASE("batched kernels split into parts, with heap buffers, equal the scalar mean",
          "[jit][batch]") {
  jit::Session session(untiered(jit::OptLevel::O2));
  // Parts of three tape entries: every value goes through the vector frame.
  jit::FunctionOptions tiny;
  tiny.maxPartSize = 3;
  Model split = compileModel(session, kLogistic, {"w1", "w2", "w3", "b"}, {"x1", "x2", "x3", "t"}, tiny);
  Data data = randomData(4, 203, 5);
  checkBatchAgainstScalar(split, {0.5, -1.25, 0.75, 0.1}, data);

  // 2500 params: the accumulators (2501 vectors) no longer fit the 64 KiB kept on the stack.
  std::ostringstream text;
  std::vector<std::string> params;
  text << "(";
  for (int i = 0; i < 2500; ++i) {
    params.push_back("w" + std::to_string(i));
    text << (i ? " + " : "") << "w" << i << "*x" << i % 3;
  }
  text << " - y)^2";
  Model wide = compileModel(session, text.str(), params, {"x0", "x1", "x2", "y"});
  std::vector<double> at(2500);
  for (int i = 0; i < 2500; ++i) at[i] = std::sin(i) * 0.01;
  checkBatchAgainstScalar(wide, at, randomData(4, 21, 9));
}

TEST_CASE("a tiered session batches with both tiers", "[jit][batch][tiers]") {
  jit::Session session;
  Model m = compileModel(session, kLogistic, {"w1", "w2", "w3", "b"}, {"x1", "x2", "x3", "t"});
  Data data = randomData(4, 99, 3);
  checkBatchAgainstScalar(m, {0.5, -1.25, 0.75, 0.1}, data);
  REQUIRE(m.f.waitOptimized());
  checkBatchAgainstScalar(m, {0.5, -1.25, 0.75, 0.1}, data);
}

TEST_CASE("batch calls check their sizes and need the kernel", "[jit][batch]") {
  jit::Session session(untiered(jit::OptLevel::O0));
  Model m = compileModel(session, kLogistic, {"w1", "w2", "w3", "b"}, {"x1", "x2", "x3", "t"});
  Data data = randomData(4, 10, 1);
  std::vector<double> grad(4), params(4, 0.0), sums(5);
  CHECK_THROWS_AS(m.f.batchMean(std::vector<double>(3), 10, data.pointers, grad), std::invalid_argument);
  CHECK_THROWS_AS(m.f.batchMean(params, 10, std::span(data.pointers).first(3), grad), std::invalid_argument);
  CHECK_THROWS_AS(m.f.batchMean(params, 10, data.pointers, std::span(grad).first(2)), std::invalid_argument);
  CHECK_THROWS_AS(m.f.batchSums(params, 5, 4, data.pointers, sums), std::invalid_argument);
  // No rows: NaN, as for the mean of nothing.
  CHECK(std::isnan(m.f.batchMean(params, 0, data.pointers, grad)));
  CHECK(std::isnan(grad[0]));
  // An empty range sums to zero.
  m.f.batchSums(params, 4, 4, data.pointers, sums);
  CHECK(sums == std::vector<double>(5, 0.0));

  auto plain = differentiateText("x^2", {"x"}, false, true);
  REQUIRE(plain);
  jit::CompiledFunction f = jit::compileFunction(session, plain->program.graph, "f", plain->args, plain->d);
  CHECK_FALSE(f.hasBatch());
  CHECK(f.batchFn() == nullptr);
  CHECK_THROWS_AS(f.batchMean(std::vector<double>{1.0}, 1, std::span<const double *const>(), grad),
                  std::logic_error);
}

TEST_CASE("the batched kernel's IR is vector code with vector math calls", "[jit][batch][codegen]") {
  jit::Session session(untiered(jit::OptLevel::O2));
  // With a square: a multiplication in the vector code, not a call of the vector pow.
  const std::string text = std::string(kLogistic) + " + (w1*x1 - t)^2";
  auto diff = differentiateText(text, {"w1", "w2", "w3", "b"}, false, true);
  REQUIRE(diff);
  Graph &g = diff->program.graph;
  std::vector<SymbolId> args = diff->args;
  for (const char *name : {"x1", "x2", "x3", "t"})
    for (SymbolId s = 0; s < g.symbolCount(); ++s)
      if (g.symbolName(s) == name) args.push_back(s);
  REQUIRE(args.size() == 8);
  std::vector<NodeId> roots = allRoots(diff->d);
  codegen::TapeEntryPoint entry =
      codegen::bindEntryPoint(g, {"loss_batch", codegen::EntryKind::Array, roots}, args);
  codegen::BatchOptions options;
  options.lanes = session.vectorTarget().lanes;
  options.vectorMathPrefix = session.vectorTarget().mathPrefix;
  options.hasVectorMath = [&](std::string_view name) { return session.hasVectorMath(name); };
  llvm::LLVMContext context;
  llvm::Module module("batch", context);
  options.gatherName = "loss_batchg";
  codegen::emitBatchKernel(module, entry, 4, 4, options);
  codegen::verifyModule(module);
  const std::string ir = codegen::printModule(module);
  const std::string vec = "<" + std::to_string(options.lanes) + " x double>";
  INFO(ir.substr(0, 4000));
  CHECK(ir.find("fmul " + vec) != std::string::npos);
  CHECK(ir.find("fadd " + vec) != std::string::npos);
  CHECK(ir.find("load " + vec) != std::string::npos);
  CHECK(ir.find("define void @loss_batch(ptr") != std::string::npos);
  // The gathered kernel reads each input of a block's rows with one vector gather, and
  // prefetches the rows ahead.
  CHECK(ir.find("define void @loss_batchg(ptr") != std::string::npos);
  if (options.lanes > 1)
    CHECK(ir.find("@llvm.masked.gather.v" + std::to_string(options.lanes) + "f64") != std::string::npos);
  CHECK(ir.find("@llvm.prefetch") != std::string::npos);
  if (!options.vectorMathPrefix.empty() && session.hasVectorMath("exp")) {
    CHECK(ir.find(options.vectorMathPrefix + "v_exp(" + vec) != std::string::npos);
    CHECK(ir.find(options.vectorMathPrefix + "v_log1p(" + vec) != std::string::npos);
    CHECK(ir.find("call double @exp(") == std::string::npos);  // no lane-by-lane fallback
  }
  CHECK(ir.find("pow") == std::string::npos);
}

namespace {

std::uint64_t bits(double v) { return std::bit_cast<std::uint64_t>(v); }

/// The gathered batch against the column batch of the same rows: the same bits, value and
/// gradient, for every row count around the lane count. With fast math LLVM may contract the
/// inlined block differently in the two kernels: there they agree to 1e-12 relative.
void checkGatheredEqualsColumns(const Model &m, const std::vector<double> &params,
                                std::size_t stride, bool exact = true) {
  const std::size_t inputs = m.f.inputCount(), width = m.f.gradSize() + 1;
  for (std::size_t n : {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 1024, 1027}) {
    const Table t = randomTable(inputs, stride, 500, n, n + 17);
    const Data d = columnsOf(t, inputs);
    const jit::TableRows rows{t.cells.data(), t.stride, t.index.data()};
    auto same = [&](double a, double b) {
      return exact ? bits(a) == bits(b) : std::fabs(a - b) <= 1e-12 * std::max(std::fabs(b), 1.0);
    };
    std::vector<double> want(m.f.gradSize()), got(m.f.gradSize());
    // In one thread both add the rows in one chunk.
    const double v = m.f.batchMean(params, n, d.pointers, want, 1);
    const double u = m.f.batchMean(params, n, rows, got, 1);
    INFO(n << " rows, stride " << stride << ": columns " << v << ", gathered " << u);
    CHECK(same(u, v));
    for (std::size_t i = 0; i < got.size(); ++i) {
      INFO("gradient " << i << ": columns " << want[i] << ", gathered " << got[i]);
      CHECK(same(got[i], want[i]));
    }
    // Over two threads gathered rows split from 513 rows on, in chunks of whole 64-row blocks:
    // the same as the column sums of those chunks, added in order.
    const double split = m.f.batchMean(params, n, rows, got, 2);
    const bool twoThreads = std::thread::hardware_concurrency() >= 2; // the sessions' default
    const std::size_t per = n > 512 && twoThreads ? ((n + 1) / 2 + 63) / 64 * 64 : n;
    std::vector<double> first(width), second(width, 0.0);
    m.f.batchSums(params, 0, per, d.pointers, first);
    if (per < n) m.f.batchSums(params, per, n, d.pointers, second);
    INFO("two threads: gathered " << split << ", first chunk " << per << " rows");
    CHECK(same(split, (first[0] + second[0]) / static_cast<double>(n)));
    for (std::size_t i = 0; i < got.size(); ++i)
      CHECK(same(got[i], (first[1 + i] + second[1 + i]) / static_cast<double>(n)));
  }
}

}  // namespace

TEST_CASE("a batch of rows picked from a table equals the batch of the same rows as columns, bit for bit",
          "[jit][batch]") {
  const std::vector<std::string> params{"w1", "w2", "w3", "b"}, inputs{"x1", "x2", "x3", "t"};
  const std::vector<double> at{0.5, -1.25, 0.75, 0.1};
  for (jit::OptLevel level : {jit::OptLevel::O0, jit::OptLevel::O2, jit::OptLevel::O3}) {
    INFO("level " << static_cast<int>(level));
    jit::Session session(untiered(level));
    Model m = compileModel(session, kLogistic, params, inputs);
    REQUIRE(m.f.batchGatherFn() != nullptr);
    checkGatheredEqualsColumns(m, at, 4);
    checkGatheredEqualsColumns(m, at, 7);  // the inputs first, then columns nobody reads
  }
  jit::Session session(untiered(jit::OptLevel::O2));
  SECTION("fast math") {
    jit::FunctionOptions fast;
    fast.fastMath = true;
    Model m = compileModel(session, kLogistic, params, inputs, fast);
    checkGatheredEqualsColumns(m, at, 5, false);
  }
  SECTION("a body split into parts, with transcendental functions") {
    jit::FunctionOptions tiny;
    tiny.maxPartSize = 3;
    Model m = compileModel(session, "exp(w1*sin(x1)) + log1p(w2^2*x2^2) - t*atan(w3*x3 + b)",
                           params, inputs, tiny);
    checkGatheredEqualsColumns(m, at, 4);
  }
  SECTION("an input the loss does not read, and a single input") {
    Model unread = compileModel(session, "(w1*x1 - t)^2", {"w1"}, {"x1", "unused", "t"});
    checkGatheredEqualsColumns(unread, {0.75}, 3);
    Model one = compileModel(session, "(w1 - x1)^2", {"w1"}, {"x1"});
    checkGatheredEqualsColumns(one, {0.75}, 1);
    // No inputs at all: every row is the same.
    Model none = compileModel(session, "(w1 - 2)^2", {"w1"}, {});
    checkGatheredEqualsColumns(none, {0.75}, 1);
  }
}

TEST_CASE("gathered batches over threads equal the column batches, before and after tiering up",
          "[jit][batch][threads][tiers]") {
  const std::vector<std::string> params{"w1", "w2", "w3", "b"}, inputs{"x1", "x2", "x3", "t"};
  const std::vector<double> at{0.25, 0.5, -0.75, 0.2};
  {
    jit::Session session(jit::SessionOptions{.optLevel = jit::OptLevel::O2, .tiered = false, .threads = 2});
    Model m = compileModel(session, kLogistic, params, inputs);
    // Rows enough for two chunks.
    const Table t = randomTable(4, 4, 3000, 70001, 3);
    const Data d = columnsOf(t, 4);
    std::vector<double> want(4), got(4);
    const double v = m.f.batchMean(at, d.rows, d.pointers, want, 2);
    const double u = m.f.batchMean(at, d.rows, jit::TableRows{t.cells.data(), 4, t.index.data()}, got, 2);
    CHECK(bits(u) == bits(v));
    CHECK(got == want);
  }
  // The first tier of our own code generator has no batched kernels: rows go one by one through
  // the fused entry point (a session that stays there, so that both calls see the same code).
  {
    jit::Session session(jit::SessionOptions{.optLevel = jit::OptLevel::O2, .tiered = true,
                                             .baseline = true, .optimizeInBackground = false});
    Model m = compileModel(session, kLogistic, params, inputs);
    CHECK(m.f.batchGatherFn() == nullptr);
    checkGatheredEqualsColumns(m, at, 4);
  }
  jit::Session session;
  Model m = compileModel(session, kLogistic, params, inputs);
  REQUIRE(m.f.waitOptimized());
  REQUIRE(m.f.batchGatherFn() != nullptr);
  checkGatheredEqualsColumns(m, at, 4);
}

TEST_CASE("gathered batch calls check their table", "[jit][batch]") {
  jit::Session session(untiered(jit::OptLevel::O0));
  Model m = compileModel(session, kLogistic, {"w1", "w2", "w3", "b"}, {"x1", "x2", "x3", "t"});
  const Table t = randomTable(4, 4, 10, 10, 1);
  std::vector<double> grad(4), params(4, 0.0);
  // Rows narrower than the inputs, and a null table or index.
  CHECK_THROWS_AS(m.f.batchMean(params, 10, jit::TableRows{t.cells.data(), 3, t.index.data()}, grad),
                  std::invalid_argument);
  CHECK_THROWS_AS(m.f.batchMean(params, 10, jit::TableRows{nullptr, 4, t.index.data()}, grad),
                  std::invalid_argument);
  CHECK_THROWS_AS(m.f.batchMean(params, 10, jit::TableRows{t.cells.data(), 4, nullptr}, grad),
                  std::invalid_argument);
  CHECK_THROWS_AS(m.f.batchMean(std::vector<double>(3), 10, jit::TableRows{t.cells.data(), 4, t.index.data()}, grad),
                  std::invalid_argument);
  // No rows: NaN, whatever the pointers.
  CHECK(std::isnan(m.f.batchMean(params, 0, jit::TableRows{nullptr, 4, nullptr}, grad)));
  CHECK(std::isnan(grad[3]));
}
