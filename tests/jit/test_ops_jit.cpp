// Every op of ops.def compiled alone, at points that include ±0, ±inf, NaN, subnormals and the
// overflow edges of exp: the JIT equals evalOp bit for bit (any NaN equals any NaN), at every
// optimization level.
#include "jit_test_util.h"

#include "codegen/emit_llvm.h"

#include <catch2/catch.hpp>

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <limits>
#include <sstream>

using namespace nabla;
using namespace nabla::jittest;

namespace {

const std::vector<double> &kPoints = kSpecialPoints;

/// A few points for the third argument of where: its values only need to come through.
const std::vector<double> kThirdPoints = {0.0, -0.0, -2.5, kInf, kNaN};

using Fn3 = double (*)(const double *);

/// One module with an entry point per op (`op.Add`, ...) over the arguments a, b, c, emitted as
/// for the O0 tier (`forFastIsel`) or as for the others.
void checkAllOps(jit::OptLevel level, bool forFastIsel = false) {
  Graph g;
  SymbolId a = g.addSymbol("a"), b = g.addSymbol("b"), c = g.addSymbol("c");
  NodeId va = g.variable(a), vb = g.variable(b), vc = g.variable(c);
  std::vector<codegen::EntryPoint> entries;
  std::vector<Op> ops;
  for (int i = 0; i < kOpCount; ++i) {
    Op op = static_cast<Op>(i);
    NodeId root;
    switch (arity(op)) {
    case 0:
      // A leaf: Var is the argument itself; constants are checked below.
      if (op != Op::Var) continue;
      root = va;
      break;
    case 1: root = g.make(op, va); break;
    case 2: root = g.make(op, va, vb); break;
    default: root = g.make(op, va, vb, vc); break;
    }
    entries.push_back({"op." + std::string(opName(op)), codegen::EntryKind::Value, {root}});
    ops.push_back(op);
  }
  const std::vector<SymbolId> args{a, b, c};

  jit::Session session(jit::SessionOptions{level});
  auto context = std::make_unique<llvm::LLVMContext>();
  codegen::EmitOptions options;
  options.forFastIsel = forFastIsel;
  auto module = codegen::emitModule(*context, "ops", g, entries, args, options);
  jit::ModuleHandle handle = session.addModule(std::move(module), std::move(context), "the op table");

  std::size_t checked = 0;
  for (std::size_t k = 0; k < ops.size(); ++k) {
    const Op op = ops[k];
    auto fn = reinterpret_cast<Fn3>(session.lookup(entries[k].name));
    const std::vector<double> &bs = arity(op) >= 2 ? kPoints : std::vector<double>{0.0};
    const std::vector<double> &cs = arity(op) >= 3 ? kThirdPoints : std::vector<double>{0.0};
    for (double x : kPoints)
      for (double y : bs)
        for (double z : cs) {
          const double in[3] = {x, y, z};
          const double got = fn(in);
          const double want = evalOp(op, x, y, z);
          if (!sameDouble(got, want)) {
            FAIL_CHECK(opName(op) << "(" << show(x) << ", " << show(y) << ", " << show(z)
                                  << "): jit " << show(got) << ", evalOp " << show(want));
          }
          ++checked;
        }
  }
  CHECK(ops.size() == static_cast<std::size_t>(kOpCount) - 1);  // all but Const
  CHECK(checked > 1000);
}

}  // namespace

TEST_CASE("every op equals evalOp bit for bit at O2", "[jit][ops]") { checkAllOps(jit::OptLevel::O2); }

TEST_CASE("every op equals evalOp bit for bit at O0, O1 and O3", "[jit][ops]") {
  checkAllOps(jit::OptLevel::O0);
  checkAllOps(jit::OptLevel::O0, true);  // as the first tier emits it
  checkAllOps(jit::OptLevel::O2, true);
  checkAllOps(jit::OptLevel::O1);
  checkAllOps(jit::OptLevel::O3);
}

TEST_CASE("constants come through bit for bit, NaN payloads included", "[jit][ops]") {
  jit::Session session;
  for (double v : {0.0, -0.0, 1.5, -1e-310, 1e308, kInf, -kInf, kNaN}) {
    Graph g;
    NodeId k = g.constant(v);
    auto context = std::make_unique<llvm::LLVMContext>();
    const std::string name = session.uniqueName("constant");
    codegen::EntryPoint entry{name, codegen::EntryKind::Value, {k}};
    auto module = codegen::emitModule(*context, name, g, std::span(&entry, 1), {});
    jit::ModuleHandle h = session.addModule(std::move(module), std::move(context), "a constant");
    auto fn = reinterpret_cast<Fn3>(session.lookup(name));
    const double got = fn(nullptr);
    INFO(show(v) << " -> " << show(got));
    CHECK(std::bit_cast<std::uint64_t>(got) == std::bit_cast<std::uint64_t>(v));
  }
}

TEST_CASE("composed ops keep evalOp's arithmetic: the stable forms at their edges",
          "[jit][ops]") {
  // Expressions where a naive formula would differ from evalOp's branchy one (overflow of exp,
  // cancellation), compiled with derivatives and compared to the interpreter bit for bit: each
  // of these graphs has a single evaluation order, so IEEE code has no freedom left.
  jit::Session session;  // tiered: both tiers are checked
  const std::vector<std::string> texts = {
      "sigmoid(x) * softplus(-x)", "softplus(x) - softplus(x - 1000)",
      "min(x, 0) + max(x, 1) + abs(x)", "where(x > 0, log(x), -x)", "atan2(x, 1 - x) + hypot(x, 3)",
      "log1p(exp(-x)) + expm1(x / 1000)", "tanh(x) * sinh(x / 100) / cosh(x / 100)",
      "relu(x) * sign(x) + floor(x)", "x^3 - 0.5*x^4 + (x - 1)^3"};
  for (const std::string &text : texts) {
    INFO(text);
    auto diff = differentiateText(text, {"x"}, true, true);
    REQUIRE(diff);
    jit::CompiledFunction f = jit::compileFunction(session, diff->program.graph, text, diff->args, diff->d);
    const std::vector<NodeId> roots = allRoots(diff->d);
    for (int tier = 0; tier < 2; ++tier) {
    if (tier == 1) REQUIRE(f.waitOptimized());
    INFO((tier == 0 ? "first code" : "optimized tier"));
    for (double x : kPoints) {
      std::vector<double> symbols(diff->program.graph.symbolCount(), kNaN);
      symbols[diff->args[0]] = x;
      std::vector<double> want = evaluate(diff->program.graph, roots, symbols);
      double grad = 0, hess = 0;
      double value = f.valueAndGrad(std::span(&x, 1), std::span(&grad, 1));
      f.hessian(std::span(&x, 1), std::span(&hess, 1));
      INFO("x = " << show(x) << ": value " << show(value) << " / " << show(want[0]) << ", grad "
                  << show(grad) << " / " << show(want[1]) << ", hessian " << show(hess) << " / "
                  << show(want[2]));
      CHECK(sameDouble(value, want[0]));
      CHECK(sameDouble(f(std::span(&x, 1)), want[0]));
      CHECK(sameDouble(grad, want[1]));
      CHECK(sameDouble(hess, want[2]));
    }
    }
  }
}
