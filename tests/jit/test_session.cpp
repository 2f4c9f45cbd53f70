// The JIT session: removable modules, errors with messages, optimization levels, fast math,
// deterministic IR, concurrent compilation, a 10^5-node DAG, code mapped near the program, and
// the compile cache.
#include "jit_test_util.h"

#include "codegen/emit_llvm.h"
#include "graph/interp.h"
#include "jit/executable_memory.h"
#include "jit/near_memory.h"
#include "support/output_file.h"

#include <catch2/catch.hpp>

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <thread>

#include <malloc.h>
#include <sys/mman.h>
#include <sys/stat.h>

using namespace nabla;
using namespace nabla::jittest;

namespace {

using ValueFn = double (*)(const double *);

/// A module with one value entry point `name` computing x * k + 1.
jit::ModuleHandle addScaled(jit::Session &session, const std::string &name, double k) {
  Graph g;
  SymbolId x = g.addSymbol("x");
  NodeId root = g.make(Op::Add, g.make(Op::Mul, g.variable(x), g.constant(k)), g.constant(1));
  auto context = std::make_unique<llvm::LLVMContext>();
  codegen::EntryPoint entry{name, codegen::EntryKind::Value, {root}};
  std::vector<SymbolId> args{x};
  auto module = codegen::emitModule(*context, name, g, std::span(&entry, 1), args);
  return session.addModule(std::move(module), std::move(context), "'" + name + "'");
}

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("a module can be added, called, removed and added again under the same names",
          "[jit][session]") {
  jit::Session session;
  const double x = 3;
  jit::ModuleHandle h = addScaled(session, "scaled", 2);
  CHECK(h.loaded());
  CHECK(reinterpret_cast<ValueFn>(session.lookup("scaled"))(&x) == 7);

  // The name is taken while the module is loaded.
  CHECK_THROWS_AS(addScaled(session, "scaled", 5), jit::JitError);

  h.remove();
  CHECK_FALSE(h.loaded());
  CHECK_THROWS_AS(session.lookup("scaled"), jit::JitError);
  h.remove();  // no-op

  jit::ModuleHandle again = addScaled(session, "scaled", 5);
  CHECK(reinterpret_cast<ValueFn>(session.lookup("scaled"))(&x) == 16);

  // Destroying a handle removes its module too.
  { jit::ModuleHandle scoped = std::move(again); }
  CHECK_THROWS_AS(session.lookup("scaled"), jit::JitError);
  jit::ModuleHandle third = addScaled(session, "scaled", -1);
  CHECK(reinterpret_cast<ValueFn>(session.lookup("scaled"))(&x) == -2);

  // Moving over a loaded handle removes what it held.
  third = addScaled(session, "other", 10);
  CHECK_THROWS_AS(session.lookup("scaled"), jit::JitError);
  CHECK(reinterpret_cast<ValueFn>(session.lookup("other"))(&x) == 31);
}

TEST_CASE("a handle keeps its JIT alive after the session object is gone", "[jit][session]") {
  auto session = std::make_unique<jit::Session>();
  jit::ModuleHandle h = addScaled(*session, "kept", 4);
  auto fn = reinterpret_cast<ValueFn>(session->lookup("kept"));
  session.reset();
  const double x = 0.5;
  CHECK(fn(&x) == 3);
  h.remove();
}

TEST_CASE("a background compile interrupted by stopping frees its module before its context",
          "[jit][session][threads]") {
  // The job starts, waits until the session is stopping and then adds a module: addModule gives
  // up after optimizing it and throws, and what it owned must go in the right order (a module
  // destroyed after its context crashed, in builds whose compiler destroys parameters first to
  // last: a host of a clang-built libnabla.so exiting during a background compile).
  jit::Session session;
  std::atomic<bool> started{false}, threw{false};
  session.runInBackground([&] {
    started = true;
    while (!session.backgroundStopping()) std::this_thread::yield();
    try {
      (void)addScaled(session, "interrupted", 2);
    } catch (const jit::JitError &e) {
      threw = contains(e.what(), "the session stopped while 'interrupted' was being compiled");
    }
  });
  while (!started) std::this_thread::yield();
  session.stopBackground();
  CHECK(threw);
}

TEST_CASE("JIT errors say what was being compiled or looked up", "[jit][session]") {
  jit::Session session;
  try {
    session.lookup("no_such_function");
    FAIL("lookup of a missing name must throw");
  } catch (const jit::JitError &e) {
    CHECK(contains(e.what(), "'no_such_function'"));
  }
  jit::ModuleHandle h = addScaled(session, "twice", 1);
  try {
    (void)addScaled(session, "twice", 2);
    FAIL("a duplicate definition must throw");
  } catch (const jit::JitError &e) {
    CHECK(contains(e.what(), "'twice'"));
  }
}

TEST_CASE("codegen rejects inconsistent entry points with a message", "[jit][codegen]") {
  Graph g;
  SymbolId x = g.addSymbol("x"), y = g.addSymbol("y");
  NodeId f = g.make(Op::Add, g.variable(x), g.variable(y));
  llvm::LLVMContext context;
  std::vector<SymbolId> onlyX{x};
  auto message = [&](const codegen::EntryPoint &entry, std::span<const SymbolId> args) {
    try {
      (void)codegen::emitModule(context, "m", g, std::span(&entry, 1), args);
    } catch (const codegen::CodegenError &e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(contains(message({"f", codegen::EntryKind::Value, {f}}, onlyX),
                 "uses 'y', which is not one of its arguments"));
  std::vector<SymbolId> both{x, y}, twice{x, x};
  CHECK(contains(message({"f", codegen::EntryKind::Value, {f, f}}, both), "has 2 roots"));
  CHECK(contains(message({"f", codegen::EntryKind::ValueAndGrad, {}}, both), "has 0 roots"));
  CHECK(contains(message({"exp", codegen::EntryKind::Value, {f}}, both), "taken by the C library"));
  CHECK(contains(message({"", codegen::EntryKind::Value, {f}}, both), "needs a name"));
  CHECK(contains(message({"f", codegen::EntryKind::Value, {f}}, twice), "is two arguments"));
  CHECK(contains(message({"f", codegen::EntryKind::Value, {NodeId{99}}}, both), "outside the graph"));

  // Two entry points of one name in one module.
  std::vector<codegen::EntryPoint> dup{{"f", codegen::EntryKind::Value, {f}},
                                       {"f", codegen::EntryKind::Value, {f}}};
  CHECK_THROWS_AS(codegen::emitModule(context, "m", g, dup, both), codegen::CodegenError);
}

TEST_CASE("CompiledFunction checks sizes and follows a FunctionEntry's argument order",
          "[jit][session]") {
  jit::Session session;
  CompileOptions options;
  SourceBuffer buffer("<test>", "f(x, y) = (x^2 + y)^2 * (y - x*y)");
  DiagnosticSink sink(buffer);
  std::optional<LoweredProgram> program = compileSource(buffer, sink, options);
  INFO(renderDiagnostics(sink));
  REQUIRE(program);
  REQUIRE(program->functions.size() == 1);
  const FunctionEntry &entry = program->functions[0];
  std::vector<NodeId> vars;
  for (const VarGroup &g : entry.args) vars.insert(vars.end(), g.nodes.begin(), g.nodes.end());
  Derivatives d = differentiate(program->graph, entry.result.elems[0], vars, true, options);
  jit::CompiledFunction f = jit::compileFunction(session, program->graph, entry, d);
  CHECK(f.name() == "f");
  CHECK(f.argNames() == std::vector<std::string>{"x", "y"});

  // The seed function of the reference data at (0.5, -0.5): value -1/64, gradient (5/32, 5/32),
  // Hessian [[-3/4, -17/16], [-17/16, -1]] (exact in binary).
  const std::vector<double> at{0.5, -0.5};
  CHECK(f(at) == -0.015625);
  auto [v, grad] = f.valueAndGrad(at);
  CHECK(v == -0.015625);
  CHECK(grad == std::vector<double>{0.15625, 0.15625});
  CHECK(f.hessian(at) == std::vector<double>{-0.75, -1.0625, -1.0625, -1.0});

  const std::vector<double> tooFew{1.0};
  CHECK_THROWS_AS(f(tooFew), std::invalid_argument);
  std::vector<double> smallGrad(1);
  CHECK_THROWS_AS(f.valueAndGrad(at, smallGrad), std::invalid_argument);

  Derivatives noHessian = differentiate(program->graph, entry.result.elems[0], vars, false, options);
  jit::CompiledFunction g = jit::compileFunction(session, program->graph, entry, noHessian);
  CHECK_FALSE(g.hasHessian());
  CHECK(g.hessianFn() == nullptr);
  CHECK_THROWS_AS(g.hessian(at), std::logic_error);
  CHECK(g(at) == f(at));

  jit::CompiledFunction empty;
  CHECK_THROWS_AS(empty(std::vector<double>{}), std::logic_error);
  CHECK(empty.arity() == 0);

  Derivatives wrong = d;
  wrong.grad.push_back(wrong.grad.back());  // three gradient entries for two arguments
  CHECK_THROWS_AS(jit::compileFunction(session, program->graph, entry, wrong), codegen::CodegenError);
}

TEST_CASE("a function may differentiate only its first arguments and read the others",
          "[jit][session]") {
  // An objective's shape: params (w, b) differentiated, an input (x) only read.
  auto diff = differentiateText("softplus(w*x + b) - 0.5*(w*x + b)", {"w", "b"}, true, true);
  REQUIRE(diff);
  Graph &g = diff->program.graph;
  SymbolId x = g.symbolCount();
  for (SymbolId s = 0; s < g.symbolCount(); ++s)
    if (g.symbolName(s) == "x") x = s;
  REQUIRE(x < g.symbolCount());
  std::vector<SymbolId> args = diff->args;
  args.push_back(x);
  jit::Session session(jit::SessionOptions{jit::OptLevel::O2, false});
  jit::CompiledFunction f = jit::compileFunction(session, g, "loss", args, diff->d);
  CHECK(f.arity() == 3);
  CHECK(f.gradSize() == 2);
  CHECK(f.argNames() == std::vector<std::string>{"w", "b", "x"});
  const std::vector<double> at{0.75, -0.25, 2.0};
  std::vector<double> symbols(g.symbolCount(), std::nan(""));
  for (std::size_t k = 0; k < args.size(); ++k) symbols[args[k]] = at[k];
  std::vector<double> want = evaluate(g, allRoots(diff->d), symbols);
  auto [v, grad] = f.valueAndGrad(at);
  REQUIRE(grad.size() == 2);
  CHECK(ulpDistance(v, want[0]) <= 4);
  CHECK(ulpDistance(grad[0], want[1]) <= 4);
  CHECK(ulpDistance(grad[1], want[2]) <= 4);
  // Independent check: d/dw = x*(sigmoid(z) - 0.5), d/db = sigmoid(z) - 0.5 with z = w*x + b.
  const double z = 0.75 * 2.0 - 0.25, s = 1 / (1 + std::exp(-z));
  CHECK(grad[0] == Approx(2.0 * (s - 0.5)).epsilon(1e-14));
  CHECK(grad[1] == Approx(s - 0.5).epsilon(1e-14));
  const std::vector<double> hess = f.hessian(at);
  REQUIRE(hess.size() == 4);
  CHECK(hess[1] == Approx(2.0 * s * (1 - s)).epsilon(1e-14));
  std::vector<double> wrongGrad(3);
  CHECK_THROWS_AS(f.valueAndGrad(at, wrongGrad), std::invalid_argument);
}

TEST_CASE("a tiered function is callable at once and switches to the optimized code",
          "[jit][session][tiers]") {
  jit::Session session;  // O2, tiered
  REQUIRE(session.tiered());
  auto diff = differentiateText("(x^2 + y)^2 * (y - x*y) + softplus(x*y) + abs(x - y)", {"x", "y"},
                                true, true);
  REQUIRE(diff);
  jit::CompiledFunction f = jit::compileFunction(session, diff->program.graph, "f", diff->args, diff->d);
  const std::vector<double> at{0.5, -0.5};
  const std::vector<double> want = evaluate(diff->program.graph, allRoots(diff->d), at);
  auto check = [&] {
    auto [v, grad] = f.valueAndGrad(at);
    CHECK(ulpDistance(f(at), want[0]) <= 4);
    CHECK(ulpDistance(v, want[0]) <= 4);
    CHECK(ulpDistance(grad[0], want[1]) <= 4);
    CHECK(ulpDistance(grad[1], want[2]) <= 4);
    std::vector<double> hess = f.hessian(at);
    CHECK(ulpDistance(hess[1], want[4]) <= 4);
  };
  check();  // whichever tier is in
  auto firstGrad = f.valueAndGradFn();
  REQUIRE(f.waitOptimized());
  CHECK(f.optimized());
  CHECK(f.valueAndGradFn() != nullptr);
  CHECK(f.valueAndGradFn() != firstGrad);  // the O2 code replaced the O0 code
  check();
  CHECK(f.waitOptimized());  // returns at once now

  // Without tiers the function is optimized from the start.
  jit::Session direct(jit::SessionOptions{jit::OptLevel::O2, false});
  CHECK_FALSE(direct.tiered());
  jit::CompiledFunction g = jit::compileFunction(direct, diff->program.graph, "g", diff->args, diff->d);
  CHECK(g.optimized());
  CHECK(g.waitOptimized());
  // A session at O0 has nothing to tier up to.
  CHECK_FALSE(jit::Session(jit::SessionOptions{jit::OptLevel::O0, true}).tiered());
}

TEST_CASE("a function dropped before its optimized tier is compiled leaves the session sound",
          "[jit][session][tiers]") {
  jit::Session session;
  auto diff = differentiateText("sin(x) * exp(-x^2)", {"x"}, false, true);
  REQUIRE(diff);
  for (int i = 0; i < 20; ++i) {
    jit::CompiledFunction f = jit::compileFunction(session, diff->program.graph, "f", diff->args, diff->d);
    const double x = 0.1 * i;
    CHECK(ulpDistance(f(std::span(&x, 1)), std::sin(x) * std::exp(-x * x)) <= 4);
  }  // each f goes before (or while) its background job runs
  session.waitForBackground();
  jit::CompiledFunction kept = jit::compileFunction(session, diff->program.graph, "f", diff->args, diff->d);
  CHECK(kept.waitOptimized());
}

TEST_CASE("the same input gives byte-identical IR", "[jit][codegen]") {
  auto ir = []() {
    auto diff = differentiateText("sigmoid(x*y) + logsumexp([x, y, 1]) + min(x, y)^3", {"x", "y"},
                                  true, true);
    REQUIRE(diff);
    std::vector<NodeId> grad(diff->d.grad);
    std::vector<codegen::EntryPoint> entries{
        {"f", codegen::EntryKind::Value, {diff->d.value}},
        {"f_grad", codegen::EntryKind::ValueAndGrad, allRoots(Derivatives{diff->d.value, grad, {}})}};
    llvm::LLVMContext context;
    auto module = codegen::emitModule(context, "f", diff->program.graph, entries, diff->args);
    return codegen::printModule(*module);
  };
  const std::string first = ir();
  CHECK(first == ir());
  CHECK(contains(first, "define double @f_grad(ptr nocapture readonly %args, ptr nocapture writeonly %grad)"));
  CHECK_FALSE(contains(first, " fast "));
  CHECK_FALSE(contains(first, " nnan "));
}

TEST_CASE("fast math is opt-in, marks the IR and stays close to IEEE on smooth functions",
          "[jit][codegen]") {
  auto diff = differentiateText("100*(y - x^2)^2 + (1 - x)^2 + sin(x*y)*exp(-y)", {"x", "y"}, true, true);
  REQUIRE(diff);
  std::vector<codegen::EntryPoint> entries{{"f", codegen::EntryKind::Value, {diff->d.value}}};
  llvm::LLVMContext context;
  codegen::EmitOptions fast;
  fast.fastMath = true;
  auto module = codegen::emitModule(context, "f", diff->program.graph, entries, diff->args, fast);
  // Every fast-math flag but reassociation (the emitter balances sums itself).
  CHECK(contains(codegen::printModule(*module), " nnan ninf nsz arcp contract afn "));

  jit::SessionOptions o3;
  o3.optLevel = jit::OptLevel::O3;
  jit::Session session(o3);
  jit::CompiledFunction ieee = jit::compileFunction(session, diff->program.graph, "ieee", diff->args, diff->d);
  jit::FunctionOptions quickOptions;
  quickOptions.fastMath = true;
  jit::CompiledFunction quick =
      jit::compileFunction(session, diff->program.graph, "quick", diff->args, diff->d, quickOptions);
  for (double x : {-1.5, 0.25, 1.0, 2.0})
    for (double y : {-0.5, 0.5, 3.0}) {
      const std::vector<double> at{x, y};
      auto [v1, g1] = ieee.valueAndGrad(at);
      auto [v2, g2] = quick.valueAndGrad(at);
      INFO("at " << x << ", " << y);
      CHECK(v2 == Approx(v1).epsilon(1e-12));
      CHECK(g2[0] == Approx(g1[0]).epsilon(1e-12).margin(1e-12));
      CHECK(g2[1] == Approx(g1[1]).epsilon(1e-12).margin(1e-12));
    }
}

TEST_CASE("functions compile from several threads at once and run concurrently",
          "[jit][session][threads]") {
  jit::Session session;  // tiered: the background thread compiles while the others do too
  const std::vector<std::string> texts = {"x*y + sin(x)", "exp(x) / (1 + y^2)",
                                          "softplus(x - y) * tanh(y)", "sqrt(x^2 + y^2 + 1)"};
  constexpr int kPerThread = 6;
  std::vector<std::vector<std::string>> failures(texts.size());
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < texts.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kPerThread; ++round) {
        auto diff = differentiateText(texts[t], {"x", "y"}, true, true);
        if (!diff) {
          failures[t].push_back("does not compile");
          continue;
        }
        jit::CompiledFunction f =
            jit::compileFunction(session, diff->program.graph, "f", diff->args, diff->d);
        const std::vector<NodeId> roots = allRoots(diff->d);
        for (double x : {-1.0, 0.5, 2.0}) {
          std::vector<double> at{x, 0.25 * round};
          std::vector<double> want = evaluate(diff->program.graph, roots, at);
          auto [v, grad] = f.valueAndGrad(at);
          if (ulpDistance(v, want[0]) > 4 || ulpDistance(grad[0], want[1]) > 4 ||
              ulpDistance(grad[1], want[2]) > 4)
            failures[t].push_back(texts[t] + " differs at x = " + std::to_string(x));
        }
      }
    });
  }
  for (std::thread &th : threads) th.join();
  for (const auto &list : failures)
    for (const std::string &f : list) FAIL_CHECK(f);
}

TEST_CASE("a DAG of 10^5 terms and its gradient compile and agree with the interpreter",
          "[jit][session][large]") {
  // f(x, y) = sum_i sin(c_i * x + y) with distinct c_i: a chain of 10^5 additions (4 * 10^5 nodes),
  // and its gradient by reverse mode over it.
  constexpr int kTerms = 100000;
  Graph g;
  SymbolId x = g.addSymbol("x"), y = g.addSymbol("y");
  NodeId vx = g.variable(x), vy = g.variable(y);
  NodeId sum = g.constant(0);
  for (int i = 1; i <= kTerms; ++i) {
    NodeId term = g.make(Op::Sin, g.make(Op::Add, g.make(Op::Mul, g.constant(1.0 + 1e-5 * i), vx), vy));
    sum = i == 1 ? term : g.make(Op::Add, sum, term);
  }
  REQUIRE(g.size() > 4 * static_cast<std::size_t>(kTerms));
  CompileOptions options;
  options.simplify = false;  // the point is the size; simplification has its own tests
  Derivatives d = differentiate(g, sum, {vx, vy}, false, options);

  // O0: this checks that nothing of ours or LLVM's recurses or grows faster than linearly over a
  // long chain (split into parts, see EmitOptions::maxPartSize); O2 takes about a minute here.
  jit::Session session(jit::SessionOptions{jit::OptLevel::O0});
  const std::vector<SymbolId> args{x, y};
  jit::CompiledFunction f = jit::compileFunction(session, g, "big", args, d);
  const std::vector<double> at{0.3, -0.2};
  std::vector<double> want = evaluate(g, {d.value, d.grad[0], d.grad[1]}, at);
  auto [v, grad] = f.valueAndGrad(at);
  CHECK(ulpDistance(v, want[0]) <= 4);
  CHECK(ulpDistance(grad[0], want[1]) <= 4);
  CHECK(ulpDistance(grad[1], want[2]) <= 4);
  CHECK(ulpDistance(f(at), want[0]) <= 4);
}

TEST_CASE("functions over the size cap keep their first code; stopping settles the rest",
          "[jit][session][tiers]") {
  // A few thousand tape entries: split, so its optimized tier takes the lean IR pipeline.
  std::string text = "x";
  for (int i = 1; i <= 400; ++i) text += " + sin(" + std::to_string(i) + "*x + y)*exp(-y^2/" + std::to_string(i) + ")";
  auto diff = differentiateText(text, {"x", "y"}, false, true);
  REQUIRE(diff);
  const std::vector<double> at{0.3, -0.7};
  const std::vector<double> want = evaluate(diff->program.graph, allRoots(diff->d), at);
  auto check = [&](const jit::CompiledFunction &f) {
    auto [v, grad] = f.valueAndGrad(at);
    CHECK(ulpDistance(v, want[0]) <= 4);
    CHECK(ulpDistance(grad[0], want[1]) <= 4);
    CHECK(ulpDistance(grad[1], want[2]) <= 4);
  };

  jit::SessionOptions capped;
  capped.maxOptimizedEntries = 100;
  jit::Session small(capped);
  jit::CompiledFunction big = jit::compileFunction(small, diff->program.graph, "big", diff->args, diff->d);
  CHECK_FALSE(big.waitOptimized());  // at once: over the cap
  check(big);

  jit::Session session;
  jit::CompiledFunction lean = jit::compileFunction(session, diff->program.graph, "lean", diff->args, diff->d);
  REQUIRE(lean.waitOptimized());
  check(lean);

  // Stopping the background thread while jobs are queued or running: every function settles
  // (none waits forever) and keeps working code.
  std::vector<jit::CompiledFunction> pending;
  for (int i = 0; i < 4; ++i)
    pending.push_back(jit::compileFunction(session, diff->program.graph, "p", diff->args, diff->d));
  session.stopBackground();
  CHECK(session.backgroundStopping());
  for (const jit::CompiledFunction &f : pending) {
    (void)f.waitOptimized();
    check(f);
  }
  // Later functions are not optimized at all.
  jit::CompiledFunction after = jit::compileFunction(session, diff->program.graph, "q", diff->args, diff->d);
  CHECK_FALSE(after.waitOptimized());
  check(after);
}

TEST_CASE("compiled code is mapped near the program's own code", "[jit][session]") {
  // This test program is position-independent (Debian's default), so there is room below it.
  const auto program = reinterpret_cast<std::uintptr_t>(&addScaled);
  auto distance = [&](const void *p) {
    const auto at = reinterpret_cast<std::uintptr_t>(p);
    return at > program ? at - program : program - at;
  };
  constexpr std::uintptr_t kNear = std::uintptr_t{1} << 31;  // within a 32-bit displacement
  jit::Session session(jit::SessionOptions{jit::OptLevel::O2, false});
  for (int round = 0; round < 3; ++round) {
    jit::ModuleHandle h = addScaled(session, "near", 2.0);
    auto fn = reinterpret_cast<ValueFn>(session.lookup("near"));
    INFO("code at " << reinterpret_cast<const void *>(fn) << ", program at "
                    << reinterpret_cast<const void *>(program));
    CHECK(distance(reinterpret_cast<const void *>(fn)) < kNear);
    const double x = 1.5;
    CHECK(fn(&x) == 4.0);
    h.remove();
  }
  // The baseline tier's pages too.
  jit::ExecutableMemory page(std::vector<std::uint8_t>{0xc3});  // ret
  CHECK(distance(page.at(0)) < kNear);
  void *raw = jit::mapNearProgram(4096);
  REQUIRE(raw != nullptr);
  CHECK(distance(raw) < kNear);
  static_cast<char *>(raw)[4095] = 1;  // writable
  munmap(raw, 4096);
}

TEST_CASE("functions that swapped in their optimized tier and are gone leave no memory behind",
          "[jit][session][tiers]") {
  // The heap in use, by the C library's count (0 where a sanitizer's allocator replaces it).
  auto inUse = [] { return static_cast<double>(mallinfo2().uordblks); };
  if (inUse() == 0) {
    WARN("the allocator gives no count of bytes in use here; skipped");
    return;
  }
  jit::Session session;
  REQUIRE(session.optimizesInBackground());
  auto diff = differentiateText("sin(x) * exp(-x^2) + y/(1 + x^2)", {"x", "y"}, false, true);
  REQUIRE(diff);
  auto compileOne = [&](int i) {
    jit::CompiledFunction f = jit::compileFunction(session, diff->program.graph, "f", diff->args, diff->d);
    REQUIRE(f.waitOptimized());  // the optimized tier replaced the first
    CHECK(f.optimized());
    const double at[2] = {0.01 * i, 2.0};
    const double x = at[0];
    CHECK(ulpDistance(f(std::span(at, 2)), std::sin(x) * std::exp(-x * x) + 2 / (1 + x * x)) <= 4);
  };
  for (int i = 0; i < 300; ++i) compileOne(i);  // LLVM's lazily made state, the allocator's pools
  const double before = inUse();
  const int n = 1500;
  for (int i = 0; i < n; ++i) compileOne(i);
  const double perCompile = (inUse() - before) / n;
  INFO("bytes kept per compilation: " << perCompile);
  // Each compilation once kept the names of its optimized module's symbols (about 130 bytes).
  // What grows now does not grow with the count (about 30 KB of pools and caches, the same
  // after 600 compilations as after 4,800): under 20 bytes a compilation here.
  CHECK(perCompile < 40);
}

TEST_CASE("the compile cache loads an object it kept, and never a damaged one", "[jit][session]") {
  char pattern[] = "/tmp/nabla-cache-test-XXXXXX";
  REQUIRE(mkdtemp(pattern));
  const std::string root = pattern, folder = root + "/cache";
  jit::SessionOptions options;
  options.tiered = false;  // LLVM for every module: what the cache keeps
  options.cacheDir = folder;
  const double x = 3;
  auto objects = [&] {
    std::vector<std::string> files;
    for (const auto &e : std::filesystem::directory_iterator(folder))
      if (e.path().extension() == ".o") files.push_back(e.path().string());
    return files;
  };
  {
    jit::Session session(options);
    CHECK(session.cacheProblem().empty());
    jit::ModuleHandle h = addScaled(session, "cached", 2);
    CHECK(reinterpret_cast<ValueFn>(session.lookup("cached"))(&x) == 7);
    CHECK(session.cacheHits() == 0);
    CHECK(session.cacheMisses() == 1);
  }
  REQUIRE(objects().size() == 1);
  // The folder is the user's alone.
  struct stat st {};
  REQUIRE(::stat(folder.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  {
    // Another session (as another process would): the same module comes from the cache, and
    // another constant is another key.
    jit::Session session(options);
    jit::ModuleHandle h = addScaled(session, "cached", 2);
    CHECK(reinterpret_cast<ValueFn>(session.lookup("cached"))(&x) == 7);
    CHECK(session.cacheHits() == 1);
    jit::ModuleHandle other = addScaled(session, "other", 5);
    CHECK(reinterpret_cast<ValueFn>(session.lookup("other"))(&x) == 16);
    CHECK(session.cacheMisses() == 1);
  }
  CHECK(objects().size() == 2);
  // Damage every entry (a flipped byte of the object, a truncated file): each is compiled again,
  // gives the right value, and is replaced by a sound entry.
  {
    std::vector<std::string> files = objects();
    std::string first = readWholeFile(files[0]);
    first[first.size() - 10] ^= 0x40;
    writeFileAtomically(files[0], first);
    std::string second = readWholeFile(files[1]);
    writeFileAtomically(files[1], second.substr(0, second.size() / 2));
  }
  {
    jit::Session session(options);
    jit::ModuleHandle h = addScaled(session, "cached", 2);
    jit::ModuleHandle other = addScaled(session, "other", 5);
    CHECK(reinterpret_cast<ValueFn>(session.lookup("cached"))(&x) == 7);
    CHECK(reinterpret_cast<ValueFn>(session.lookup("other"))(&x) == 16);
    CHECK(session.cacheHits() == 0);
    CHECK(session.cacheMisses() == 2);
  }
  {
    jit::Session session(options);
    jit::ModuleHandle h = addScaled(session, "cached", 2);
    CHECK(session.cacheHits() == 1);
  }
  // A folder others can write to is not used; nothing is written there.
  const std::string open = root + "/open";
  REQUIRE(::mkdir(open.c_str(), 0700) == 0);
  REQUIRE(::chmod(open.c_str(), 0777) == 0);
  options.cacheDir = open;
  {
    jit::Session session(options);
    CHECK(session.cacheProblem() == "others can write to it");
    jit::ModuleHandle h = addScaled(session, "cached", 2);
    CHECK(reinterpret_cast<ValueFn>(session.lookup("cached"))(&x) == 7);
    CHECK(session.cacheMisses() == 0);
  }
  CHECK(std::filesystem::is_empty(open));
  // A file where the folder should be.
  options.cacheDir = root + "/file";
  writeFileAtomically(options.cacheDir, "x");
  {
    jit::Session session(options);
    CHECK(session.cacheProblem() == "it is not a folder");
  }
  std::filesystem::remove_all(root);
}
