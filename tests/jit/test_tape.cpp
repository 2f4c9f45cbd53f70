// The tape: reachable nodes only, in NodeId order, dense slots, roots and last uses; and its
// schedule for straight-line code.
#include "codegen/tape.h"

#include "jit_test_util.h"

#include "codegen/emit_llvm.h"
#include "jit/session.h"

#include <catch2/catch.hpp>

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>

using namespace nabla;
using namespace nabla::codegen;
using namespace nabla::jittest;

TEST_CASE("a tape holds the reachable nodes in topological order with dense slots", "[jit][tape]") {
  Graph g;
  NodeId x = g.variable(g.addSymbol("x"));
  NodeId y = g.variable(g.addSymbol("y"));
  NodeId unused = g.make(Op::Cos, y);  // not reachable from the roots below
  NodeId half = g.constant(0.5);
  NodeId s = g.make(Op::Sin, x);
  NodeId f = g.make(Op::Mul, s, half);
  NodeId h = g.make(Op::Add, f, s);
  (void)unused;

  Tape t = buildTape(g, std::vector<NodeId>{h, f, h});
  // x, half, sin, mul, add: y and cos(y) are not needed.
  REQUIRE(t.size() == 5);
  CHECK(t.entries[0].node == x);
  CHECK(t.entries[1].node == half);
  CHECK(t.entries[2].node == s);
  CHECK(t.entries[3].node == f);
  CHECK(t.entries[4].node == h);
  for (std::size_t i = 0; i < t.size(); ++i)
    for (std::uint32_t a : t.entries[i].args)
      if (a != Tape::kNoSlot) CHECK(a < i);  // arguments come earlier
  CHECK(t.entries[3].args[0] == 2);
  CHECK(t.entries[3].args[1] == 1);
  CHECK(t.entries[3].args[2] == Tape::kNoSlot);
  CHECK(t.roots == std::vector<std::uint32_t>{4, 3, 4});
  // sin is read last by the add; x by the sin; roots stay live to the end.
  CHECK(t.lastUse[0] == 2);
  CHECK(t.lastUse[1] == 3);
  CHECK(t.lastUse[2] == 4);
  CHECK(t.lastUse[3] == Tape::kLiveOut);
  CHECK(t.lastUse[4] == Tape::kLiveOut);

  CHECK(printTape(g, t) ==
        "%0 = var x\n%1 = const 0.5\n%2 = Sin %0\n%3 = Mul %2 %1\n%4 = Add %3 %2\nroots %4 %3 %4\n");
}

TEST_CASE("a tape of no roots is empty and a foreign root is a logic error", "[jit][tape]") {
  Graph g;
  NodeId x = g.variable(g.addSymbol("x"));
  CHECK(buildTape(g, std::vector<NodeId>{}).size() == 0);
  CHECK(buildTape(g, std::vector<NodeId>{x}).roots == std::vector<std::uint32_t>{0});
  CHECK_THROWS_AS(buildTape(g, std::vector<NodeId>{NodeId{7}}), std::logic_error);
  CHECK_THROWS_AS(buildTape(g, std::vector<NodeId>{NodeId{}}), std::logic_error);
}

TEST_CASE("a tape of a deep chain is built without recursion", "[jit][tape]") {
  Graph g;
  NodeId acc = g.variable(g.addSymbol("x"));
  for (int i = 0; i < 200000; ++i) acc = g.make(Op::Sin, acc);
  Tape t = buildTape(g, std::vector<NodeId>{acc});
  CHECK(t.size() == 200001);
  CHECK(t.entries.back().node == acc);
  CHECK(t.lastUse[199999] == 200000);
}

namespace {

/// Evaluates a tape directly (evalOp per entry), with `args` bound by argument position.
std::vector<double> runTape(const Tape &t, const std::vector<double> &args) {
  std::vector<double> v(t.size());
  for (std::size_t i = 0; i < t.size(); ++i) {
    const Tape::Entry &e = t.entries[i];
    if (e.op == Op::Const) v[i] = e.constant;
    else if (e.op == Op::Var) v[i] = args[e.argument];
    else
      v[i] = evalOp(e.op, e.args[0] == Tape::kNoSlot ? 0 : v[e.args[0]],
                    e.args[1] == Tape::kNoSlot ? 0 : v[e.args[1]],
                    e.args[2] == Tape::kNoSlot ? 0 : v[e.args[2]]);
  }
  std::vector<double> out;
  for (std::uint32_t r : t.roots) out.push_back(v[r]);
  return out;
}

/// The longest chain of entries, in entries.
std::size_t depth(const Tape &t) {
  std::vector<std::size_t> d(t.size(), 0);
  std::size_t deepest = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    for (std::uint32_t a : t.entries[i].args)
      if (a != Tape::kNoSlot) d[i] = std::max(d[i], d[a] + 1);
    deepest = std::max(deepest, d[i]);
  }
  return deepest;
}

void checkWellFormed(const Tape &t) {
  for (std::size_t i = 0; i < t.size(); ++i)
    for (std::uint32_t a : t.entries[i].args)
      if (a != Tape::kNoSlot) REQUIRE(a < i);
  for (std::uint32_t r : t.roots) {
    REQUIRE(r < t.size());
    CHECK(t.lastUse[r] == Tape::kLiveOut);
  }
}

}  // namespace

TEST_CASE("balanceSums turns a long sum into a tree of logarithmic depth over the same terms",
          "[jit][tape]") {
  Graph g;
  std::vector<SymbolId> args;
  NodeId sum;
  for (int i = 0; i < 100; ++i) {
    args.push_back(g.addSymbol("x" + std::to_string(i)));
    NodeId term = g.make(Op::Sin, g.variable(args.back()));
    sum = i == 0 ? term : g.make(Op::Add, sum, term);
  }
  // A partial sum that is also used elsewhere stays a value of its own.
  NodeId other = g.make(Op::Mul, sum, g.constant(2));
  Tape t = buildTape(g, std::vector<NodeId>{sum, other}, args, "test");
  REQUIRE(depth(t) >= 100);
  Tape b = balanceSums(t);
  checkWellFormed(b);
  CHECK(depth(b) <= 10);
  CHECK(b.size() == t.size());  // the same number of additions, arranged differently
  std::vector<double> at(100);
  double exact = 0;
  for (int i = 0; i < 100; ++i) {
    at[i] = 0.01 * i - 0.3;
    exact += std::sin(at[i]);
  }
  const std::vector<double> before = runTape(t, at), after = runTape(b, at);
  REQUIRE(after.size() == 2);
  CHECK(after[0] == Approx(exact).epsilon(1e-14));
  CHECK(after[1] == Approx(before[1]).epsilon(1e-14));

  // A sum whose inner partial sum is a root keeps that partial sum.
  Graph h;
  std::vector<SymbolId> hargs{h.addSymbol("a"), h.addSymbol("b"), h.addSymbol("c"), h.addSymbol("d")};
  NodeId ab = h.make(Op::Add, h.variable(hargs[0]), h.variable(hargs[1]));
  NodeId abc = h.make(Op::Add, ab, h.variable(hargs[2]));
  NodeId abcd = h.make(Op::Add, abc, h.variable(hargs[3]));
  Tape ht = balanceSums(buildTape(h, std::vector<NodeId>{abcd, ab}, hargs, "test"));
  checkWellFormed(ht);
  CHECK(runTape(ht, {1, 2, 4, 8}) == std::vector<double>{15, 3});
}

namespace {

/// Rosenbrock in n variables as text: f(x0, ..., x{n-1}) = sum of (1 - xi)^2 + 100 (x{i+1} - xi^2)^2.
std::string rosenbrock(int n, std::vector<std::string> &vars) {
  std::string text;
  for (int i = 0; i < n; ++i) vars.push_back("x" + std::to_string(i));
  for (int i = 0; i + 1 < n; ++i)
    text += (i ? " + " : "") + std::string("(1 - x") + std::to_string(i) + ")^2 + 100*(x" +
            std::to_string(i + 1) + " - x" + std::to_string(i) + "^2)^2";
  return text;
}

/// The most computed values live at once when each output is stored as soon as it is computed:
/// a value is live from its entry to its last reader among the computed entries.
std::size_t maxLive(const Tape &t) {
  std::vector<std::size_t> lastRead(t.size(), 0);
  std::vector<bool> read(t.size(), false);
  for (std::size_t i = 0; i < t.size(); ++i)
    for (std::uint32_t a : t.entries[i].args)
      if (a != Tape::kNoSlot) {
        lastRead[a] = i;
        read[a] = true;
      }
  std::vector<int> delta(t.size() + 1, 0);
  for (std::size_t i = 0; i < t.size(); ++i) {
    const Op op = t.entries[i].op;
    if (op == Op::Const || op == Op::Var || !read[i]) continue;
    ++delta[i];
    --delta[lastRead[i]];
  }
  std::size_t most = 0;
  long live = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    live += delta[i];
    most = std::max<std::size_t>(most, static_cast<std::size_t>(std::max(0L, live)));
  }
  return most;
}

}  // namespace

TEST_CASE("scheduling keeps every entry and root, in a topological order, with few values live",
          "[jit][tape]") {
  std::vector<std::string> vars;
  auto diff = differentiateText(rosenbrock(100, vars), vars, false, true);
  REQUIRE(diff);
  const Graph &g = diff->program.graph;
  const Tape tape = buildTape(g, allRoots(diff->d), diff->args, "rosenbrock");
  const Tape scheduled = scheduleForRegisters(tape);
  REQUIRE(scheduled.size() == tape.size());
  std::vector<std::uint32_t> nodes, again;
  for (const Tape::Entry &e : tape.entries) nodes.push_back(e.node.index);
  for (std::size_t i = 0; i < scheduled.size(); ++i) {
    const Tape::Entry &e = scheduled.entries[i];
    again.push_back(e.node.index);
    for (int k = 0; k < 3; ++k) {
      if (e.args[k] == Tape::kNoSlot) continue;
      CHECK(e.args[k] < i);
      // The same operands as in the graph.
      CHECK(scheduled.entries[e.args[k]].node == g[e.node].args[k]);
    }
    if (e.op == Op::Var) CHECK(e.argument != Tape::kNoSlot);
  }
  std::sort(nodes.begin(), nodes.end());
  std::sort(again.begin(), again.end());
  CHECK(nodes == again);
  REQUIRE(scheduled.roots.size() == tape.roots.size());
  for (std::size_t r = 0; r < tape.roots.size(); ++r) {
    CHECK(scheduled.entries[scheduled.roots[r]].node == tape.entries[tape.roots[r]].node);
    CHECK(scheduled.lastUse[scheduled.roots[r]] == Tape::kLiveOut);
  }
  // In graph order the forward pass keeps its values for the backward pass: about a hundred
  // live at once. Scheduled, each term's gradient follows its forward values.
  INFO("live at most: " << maxLive(tape) << " in graph order, " << maxLive(scheduled) << " scheduled");
  CHECK(maxLive(tape) >= 100);
  CHECK(maxLive(scheduled) <= 12);
}

TEST_CASE("straight-line entry points compute the same bits scheduled or not, also when the "
          "outputs overlap the arguments", "[jit][tape]") {
  for (int n : {2, 8, 9, 40}) {
    std::vector<std::string> vars;
    auto diff = differentiateText(rosenbrock(n, vars), vars, false, true);
    REQUIRE(diff);
    std::vector<NodeId> roots = allRoots(diff->d);
    const std::vector<codegen::EntryPoint> entries{
        {"scheduled", codegen::EntryKind::ValueAndGrad, roots}};
    jit::Session session(jit::SessionOptions{jit::OptLevel::O2, false});
    auto compile = [&](bool schedule, const char *name) {
      auto context = std::make_unique<llvm::LLVMContext>();
      codegen::EmitOptions options;
      options.schedule = schedule;
      std::vector<codegen::EntryPoint> named = entries;
      named[0].name = name;
      auto module = codegen::emitModule(*context, name, diff->program.graph, named, diff->args, options);
      return session.addModule(std::move(module), std::move(context), name);
    };
    jit::ModuleHandle a = compile(true, "scheduled"), b = compile(false, "in.order");
    using Grad = double (*)(const double *, double *);
    auto scheduled = reinterpret_cast<Grad>(session.lookup("scheduled"));
    auto inOrder = reinterpret_cast<Grad>(session.lookup("in.order"));
    std::vector<double> x(n), g1(n), g2(n);
    for (int i = 0; i < n; ++i) x[i] = 0.5 + 0.3 * std::sin(i + 1.0);
    const double v1 = scheduled(x.data(), g1.data()), v2 = inOrder(x.data(), g2.data());
    INFO(n << " variables");
    CHECK(std::bit_cast<std::uint64_t>(v1) == std::bit_cast<std::uint64_t>(v2));
    CHECK(g1 == g2);
    // The gradient written over the arguments, and over them shifted by one.
    for (std::size_t shift : {0, 1}) {
      std::vector<double> buffer(n + 1, 0.0);
      std::copy(x.begin(), x.end(), buffer.begin() + static_cast<std::ptrdiff_t>(shift));
      const double v = scheduled(buffer.data() + shift, buffer.data());
      INFO("outputs " << shift << " before the arguments");
      CHECK(std::bit_cast<std::uint64_t>(v) == std::bit_cast<std::uint64_t>(v1));
      CHECK(std::vector<double>(buffer.begin(), buffer.begin() + n) == g1);
    }
  }
}

TEST_CASE("sums and differences of products become fused multiply-adds in the tape",
          "[jit][tape]") {
  Graph g;
  NodeId x = g.variable(g.addSymbol("x")), y = g.variable(g.addSymbol("y")),
         z = g.variable(g.addSymbol("z"));
  NodeId xy = g.make(Op::Mul, x, y);
  NodeId sq = g.make(Op::Pow, z, g.constant(2));
  NodeId fma = g.make(Op::Add, z, xy);   // z + x*y
  NodeId fms = g.make(Op::Sub, sq, x);   // z^2 - x
  NodeId fnma = g.make(Op::Sub, y, xy);  // y - x*y
  {
    // Each product read only by the sum that fuses it disappears.
    Tape t = fuseMultiplyAdds(buildTape(g, std::vector<NodeId>{fma, fms}));
    std::vector<Op> ops;
    for (const Tape::Entry &e : t.entries) ops.push_back(e.op);
    CHECK(std::count(ops.begin(), ops.end(), Op::Mul) == 0);
    CHECK(std::count(ops.begin(), ops.end(), Op::Pow) == 0);
    REQUIRE(t.roots.size() == 2);
    const Tape::Entry &a = t.entries[t.roots[0]], &b = t.entries[t.roots[1]];
    CHECK(a.op == Op::Fma);
    CHECK(a.node == fma);
    CHECK(t.entries[a.args[0]].node == x);
    CHECK(t.entries[a.args[1]].node == y);
    CHECK(t.entries[a.args[2]].node == z);
    CHECK(b.op == Op::Fms);
    CHECK(t.entries[b.args[0]].node == z); // z^2 as z*z
    CHECK(t.entries[b.args[1]].node == z);
    CHECK(t.entries[b.args[2]].node == x);
    for (std::size_t i = 0; i < t.size(); ++i)
      for (std::uint32_t arg : t.entries[i].args)
        if (arg != Tape::kNoSlot) CHECK(arg < i);
    CHECK(t.lastUse[t.roots[0]] == Tape::kLiveOut);
  }
  {
    // A product that is also a root, or read by something else, stays.
    Tape t = fuseMultiplyAdds(buildTape(g, std::vector<NodeId>{fnma, xy}));
    REQUIRE(t.roots.size() == 2);
    CHECK(t.entries[t.roots[0]].op == Op::Fnma);
    CHECK(t.entries[t.roots[1]].op == Op::Mul);
    CHECK(t.lastUse[t.roots[1]] == Tape::kLiveOut);
  }
}

TEST_CASE("compiled code rounds fused multiply-adds once, like the interpreter", "[jit][tape]") {
  // Inputs where x*y rounds to 1: a separate rounding would give 0 for each of these.
  const std::string text = "(x*y - z) + 1e-300*(z - x*y) + (x^2 - z)*(z - y^2)";
  std::vector<std::string> vars{"x", "y", "z"};
  auto diff = differentiateText(text, vars, false, true);
  REQUIRE(diff);
  const double e = 0x1p-30;
  const std::vector<double> at{1 + e, 1 - e, 1.0};
  const std::vector<NodeId> roots = allRoots(diff->d);
  const std::vector<double> want = evaluate(diff->program.graph, roots, at);
  CHECK(want[0] != 0);
  for (bool baseline : {true, false}) {
    jit::SessionOptions options{jit::OptLevel::O2, false};
    options.tiered = baseline;
    options.baseline = baseline;
    options.optimizeInBackground = false;
    jit::Session session(options);
    jit::CompiledFunction f = jit::compileFunction(session, diff->program.graph, "f", diff->args,
                                                   diff->d, jit::FunctionOptions{});
    std::vector<double> grad(3);
    const double v = f.valueAndGrad(at, grad);
    INFO((baseline ? "baseline tier" : "O2"));
    CHECK(std::bit_cast<std::uint64_t>(v) == std::bit_cast<std::uint64_t>(want[0]));
    CHECK(std::bit_cast<std::uint64_t>(f(at)) == std::bit_cast<std::uint64_t>(want[0]));
    for (int i = 0; i < 3; ++i) CHECK(std::bit_cast<std::uint64_t>(grad[i]) == std::bit_cast<std::uint64_t>(want[1 + i]));
  }
}
