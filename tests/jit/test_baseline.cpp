// The baseline tier (codegen/baseline_x86.h): nabla's own machine code from a tape. It performs
// evalOp's operations in the interpreter's order with the same C library functions, so its
// results are the interpreter's bit for bit, special values included.
#include "jit_test_util.h"

#include "codegen/baseline_x86.h"
#include "jit/executable_memory.h"
#include "support/reference.h"

#include <catch2/catch.hpp>

#include <limits>
#include <sstream>

using namespace nabla;
using namespace nabla::jittest;
using namespace nabla::test;

namespace {

const std::vector<double> &kPoints = kSpecialPoints;

/// A session whose functions keep their baseline code.
jit::SessionOptions baselineOnly() {
  jit::SessionOptions o;
  o.optimizeInBackground = false;
  return o;
}

}  // namespace

TEST_CASE("every op of the baseline tier equals evalOp bit for bit", "[jit][baseline]") {
  if (!codegen::baselineSupported()) {
    WARN("not checked: the baseline generator needs x86-64");
    return;
  }
  Graph g;
  SymbolId a = g.addSymbol("a"), b = g.addSymbol("b"), c = g.addSymbol("c");
  NodeId va = g.variable(a), vb = g.variable(b), vc = g.variable(c);
  const std::vector<SymbolId> args{a, b, c};
  std::vector<codegen::TapeEntryPoint> entries;
  std::vector<Op> ops;
  for (int i = 0; i < kOpCount; ++i) {
    const Op op = static_cast<Op>(i);
    NodeId root;
    switch (arity(op)) {
    case 0:
      if (op != Op::Var) continue;
      root = va;
      break;
    case 1: root = g.make(op, va); break;
    case 2: root = g.make(op, va, vb); break;
    default: root = g.make(op, va, vb, vc); break;
    }
    entries.push_back(codegen::bindEntryPoint(g, {"op", codegen::EntryKind::Value, {root}}, args));
    ops.push_back(op);
  }
  codegen::MachineCode code = codegen::emitBaseline(entries);
  REQUIRE(code.offsets.size() == entries.size());
  jit::ExecutableMemory memory(code.bytes);
  std::size_t checked = 0;
  for (std::size_t k = 0; k < ops.size(); ++k) {
    auto fn = reinterpret_cast<double (*)(const double *)>(memory.at(code.offsets[k]));
    const Op op = ops[k];
    const std::vector<double> &bs = arity(op) >= 2 ? kPoints : std::vector<double>{0.0};
    const std::vector<double> &cs = arity(op) >= 3 ? kPoints : std::vector<double>{0.0};
    for (double x : kPoints)
      for (double y : bs)
        for (double z : cs) {
          const double in[3] = {x, y, z};
          const double got = fn(in), want = evalOp(op, x, y, z);
          if (!sameDouble(got, want))
            FAIL_CHECK(opName(op) << "(" << show(x) << ", " << show(y) << ", " << show(z)
                                  << "): baseline " << show(got) << ", evalOp " << show(want));
          ++checked;
        }
  }
  CHECK(ops.size() == static_cast<std::size_t>(kOpCount) - 1);
  CHECK(checked > 10000);
}

TEST_CASE("constants, outputs and the three kinds of entry point come through bit for bit",
          "[jit][baseline]") {
  if (!codegen::baselineSupported()) {
    WARN("not checked: the baseline generator needs x86-64");
    return;
  }
  Graph g;
  SymbolId x = g.addSymbol("x");
  NodeId vx = g.variable(x);
  std::vector<NodeId> roots;
  for (double v : {0.0, -0.0, 1.5, -1e-310, 1e308, kInf, -kInf}) roots.push_back(g.constant(v));
  roots.push_back(g.make(Op::Mul, vx, g.constant(3)));
  const std::vector<SymbolId> args{x};
  std::vector<codegen::TapeEntryPoint> entries{
      codegen::bindEntryPoint(g, {"v", codegen::EntryKind::Value, {roots.back()}}, args),
      codegen::bindEntryPoint(g, {"g", codegen::EntryKind::ValueAndGrad, roots}, args),
      codegen::bindEntryPoint(g, {"a", codegen::EntryKind::Array, roots}, args)};
  codegen::MachineCode code = codegen::emitBaseline(entries);
  jit::ExecutableMemory memory(code.bytes);
  const double in = 0.25;
  CHECK(reinterpret_cast<double (*)(const double *)>(memory.at(code.offsets[0]))(&in) == 0.75);
  std::vector<double> out(roots.size(), kNaN);
  const double first = reinterpret_cast<double (*)(const double *, double *)>(memory.at(code.offsets[1]))(&in, out.data());
  CHECK(std::bit_cast<std::uint64_t>(first) == std::bit_cast<std::uint64_t>(0.0));
  CHECK(out[0] == 0.0);
  CHECK(std::signbit(out[0]));  // -0.0, the second root
  CHECK(out[roots.size() - 2] == 0.75);
  reinterpret_cast<void (*)(const double *, double *)>(memory.at(code.offsets[2]))(&in, out.data());
  CHECK(std::bit_cast<std::uint64_t>(out[1]) == std::bit_cast<std::uint64_t>(-0.0));
  CHECK(out[3] == -1e-310);
  CHECK(out[5] == kInf);
  CHECK(out[7] == 0.75);
  // The output may be the argument array itself: every argument is read first.
  std::vector<double> shared(roots.size(), 0.0);
  shared[0] = 2.0;
  reinterpret_cast<void (*)(const double *, double *)>(memory.at(code.offsets[2]))(shared.data(), shared.data());
  CHECK(shared[7] == 6.0);
}

TEST_CASE("the baseline tier equals the interpreter bit for bit on every gradient case",
          "[jit][baseline][reference]") {
  if (!codegen::baselineSupported()) {
    WARN("not checked: the baseline generator needs x86-64");
    return;
  }
  jit::Session session(baselineOnly());
  REQUIRE(session.baselineFirstTier());
  REQUIRE_FALSE(session.optimizesInBackground());
  std::size_t points = 0;
  for (const ReferenceCase &c : loadGradientCases()) {
    auto diff = differentiateText(c.expr, c.vars, true, true);
    INFO(c.name << ": " << c.expr);
    REQUIRE(diff);
    const Graph &graph = diff->program.graph;
    jit::CompiledFunction f = jit::compileFunction(session, graph, c.name, diff->args, diff->d);
    CHECK_FALSE(f.optimized());
    CHECK_FALSE(f.waitOptimized());  // at once: nothing is compiled in the background
    const std::vector<NodeId> roots = allRoots(diff->d);
    for (const ReferencePoint &p : c.points) {
      std::vector<double> at;
      std::vector<double> symbols(graph.symbolCount(), kNaN);
      for (std::size_t i = 0; i < c.vars.size(); ++i) {
        at.push_back(p.at.at(c.vars[i]));
        symbols[diff->args[i]] = at.back();
      }
      const std::vector<double> want = evaluate(graph, roots, symbols);
      auto [value, grad] = f.valueAndGrad(at);
      const std::vector<double> hess = f.hessian(at);
      bool same = sameDouble(value, want[0]) && sameDouble(f(at), want[0]);
      for (std::size_t i = 0; i < grad.size(); ++i) same = same && sameDouble(grad[i], want[1 + i]);
      for (std::size_t k = 0; k < hess.size(); ++k)
        same = same && sameDouble(hess[k], want[1 + grad.size() + k]);
      INFO(describe(c, p));
      CHECK(same);
      ++points;
    }
  }
  CHECK(points >= 607);
}

TEST_CASE("a baseline frame too large for the stack comes from the heap", "[jit][baseline]") {
  if (!codegen::baselineSupported()) {
    WARN("not checked: the baseline generator needs x86-64");
    return;
  }
  // sum_i sin(c_i * x + y) over 20000 terms: about 10^5 tape entries, a frame of 800 KB.
  constexpr int kTerms = 20000;
  Graph g;
  SymbolId x = g.addSymbol("x"), y = g.addSymbol("y");
  NodeId vx = g.variable(x), vy = g.variable(y);
  NodeId sum;
  for (int i = 1; i <= kTerms; ++i) {
    NodeId term = g.make(Op::Sin, g.make(Op::Add, g.make(Op::Mul, g.constant(1.0 + 1e-4 * i), vx), vy));
    sum = i == 1 ? term : g.make(Op::Add, sum, term);
  }
  CompileOptions options;
  options.simplify = false;
  Derivatives d = differentiate(g, sum, {vx, vy}, false, options);
  jit::Session session(baselineOnly());
  const std::vector<SymbolId> args{x, y};
  jit::CompiledFunction f = jit::compileFunction(session, g, "big", args, d);
  const std::vector<double> at{0.3, -0.2};
  const std::vector<double> want = evaluate(g, {d.value, d.grad[0], d.grad[1]}, at);
  auto [v, grad] = f.valueAndGrad(at);
  CHECK(sameDouble(v, want[0]));
  CHECK(sameDouble(grad[0], want[1]));
  CHECK(sameDouble(grad[1], want[2]));
  CHECK(sameDouble(f(at), want[0]));
}

TEST_CASE("an entry point beyond the baseline's frame is a limit error naming it",
          "[jit][baseline]") {
  if (!codegen::baselineSupported()) {
    WARN("not checked: the baseline generator needs x86-64");
    return;
  }
  // The bound (kBaselineMaxSlots, 2^27 entries) lowered to 4: a size limit of the input, which the
  // driver reports as ErrorKind::Limit, never as a bug (codegen::CodegenLimitError).
  Graph g;
  SymbolId x = g.addSymbol("x");
  NodeId vx = g.variable(x);
  NodeId root = g.make(Op::Sin, g.make(Op::Mul, g.make(Op::Add, vx, g.constant(1)), vx));
  const std::vector<SymbolId> args{x};
  std::vector<codegen::TapeEntryPoint> entries{
      codegen::bindEntryPoint(g, {"big", codegen::EntryKind::Value, {root}}, args)};
  CHECK(codegen::emitBaseline(entries, 16).offsets.size() == 1);
  try {
    codegen::emitBaseline(entries, 4);
    FAIL("no error");
  } catch (const codegen::CodegenLimitError &e) {
    CHECK(std::string(e.what()) ==
          "entry point 'big' has 5 tape entries, more than the 4 that the baseline code "
          "generator addresses");
  }
}

TEST_CASE("batches before the optimized tier run row by row with the same sums",
          "[jit][baseline][batch]") {
  if (!codegen::baselineSupported()) {
    WARN("not checked: the baseline generator needs x86-64");
    return;
  }
  jit::Session session(baselineOnly());
  auto diff = differentiateText("(w*x + b - y)^2", {"w", "b"}, false, true);
  REQUIRE(diff);
  Graph &g = diff->program.graph;
  std::vector<SymbolId> args = diff->args;
  for (const char *name : {"x", "y"})
    for (SymbolId s = 0; s < g.symbolCount(); ++s)
      if (g.symbolName(s) == name) args.push_back(s);
  jit::FunctionOptions options;
  options.batched = true;
  jit::CompiledFunction f = jit::compileFunction(session, g, "loss", args, diff->d, options);
  REQUIRE(f.hasBatch());
  CHECK(f.batchFn() == nullptr);  // no kernel in the first tier
  const std::vector<double> xs{1, 2, 3, 4, 5}, ys{2, 4, 6, 8, 11};
  const std::vector<const double *> columns{xs.data(), ys.data()};
  const std::vector<double> params{2.0, 0.0};
  std::vector<double> grad(2);
  // Residuals 0, 0, 0, 0, -1: mean loss 0.2; d/dw = mean(2 r x) = -2, d/db = mean(2 r) = -0.4.
  CHECK(f.batchMean(params, 5, columns, grad) == Approx(0.2).epsilon(1e-15));
  CHECK(grad[0] == Approx(-2.0).epsilon(1e-15));
  CHECK(grad[1] == Approx(-0.4).epsilon(1e-15));
  std::vector<double> sums(3);
  f.batchSums(params, 4, 5, columns, sums);
  CHECK(sums == std::vector<double>{1.0, -10.0, -2.0});
}

TEST_CASE("a session destroyed with compilations queued settles its functions",
          "[jit][session][tiers]") {
  std::vector<jit::CompiledFunction> functions;
  {
    jit::Session session;
    auto diff = differentiateText("sin(x) * exp(-x^2) + tanh(x)", {"x"}, false, true);
    REQUIRE(diff);
    for (int i = 0; i < 8; ++i)
      functions.push_back(jit::compileFunction(session, diff->program.graph, "f", diff->args, diff->d));
  }  // the session goes: queued jobs are dropped, the running one finishes
  for (const jit::CompiledFunction &f : functions) {
    (void)f.waitOptimized();  // must return, whichever way it settled
    const double x = 0.5;
    CHECK(ulpDistance(f(std::span(&x, 1)), std::sin(x) * std::exp(-x * x) + std::tanh(x)) <= 4);
  }
}
