// A sum of 10^6 terms, a chain 10^6 deep in the AST and in the DAG: every stage works on it
// without recursion (a stack overflow would end the test with a signal). The command line evaluates it with its gradient and Hessian by compiled code;
// the library lowers it, differentiates it with and without the simplifier, interprets it, prints
// it and reads the printed text back. All values are exact (multiples of 1/4 far below 2^53).
#include "support/process.h"

#include "graph/interp.h"
#include "graph/print.h"
#include "pipeline.h"

#include <catch2/catch.hpp>
#include <llvm/Support/JSON.h>

#include <string>

using nabla::test::ProcessResult;
using nabla::test::runNabla;
using namespace nabla;

namespace {

// Under a sanitizer 2*10^5 terms (ten times slower per term; its larger stack frames would show
// any recursion at a smaller depth anyway).
#if defined(NABLA_ASAN) || defined(NABLA_TSAN)
constexpr int kTerms = 200000;
#else
constexpr int kTerms = 1000000;
#endif

/// `1*x + 2*y + 3*x + 1*y + ...`: term k is (k % 3 + 1) times x (k even) or y (k odd).
std::string chain(double &value, double &dx, double &dy, double x, double y) {
  std::string text;
  text.reserve(static_cast<std::size_t>(kTerms) * 6);
  value = dx = dy = 0;
  for (int k = 0; k < kTerms; ++k) {
    const int c = k % 3 + 1;
    if (k) text += " + ";
    text += std::to_string(c) + (k % 2 ? "*y" : "*x");
    (k % 2 ? dy : dx) += c;
    value += c * (k % 2 ? y : x);
  }
  return text;
}

}  // namespace

TEST_CASE("a chain of 10^6 additions compiles, differentiates, runs and prints", "[acceptance][stress]") {
  double value = 0, dx = 0, dy = 0;
  const std::string text = chain(value, dx, dy, 0.5, 0.25);

  SECTION("nabla eval: parse, lower, simplify, gradient, Hessian, compiled code") {
    ProcessResult r = runNabla({"eval", "-", "--at", "x=0.5,y=0.25", "--grad", "--hessian", "--json"},
                               text);
    INFO(r.err);
    REQUIRE(r.exitCode == 0);
    llvm::Expected<llvm::json::Value> json = llvm::json::parse(r.out);
    REQUIRE(static_cast<bool>(json));
    const llvm::json::Object &o = *json->getAsObject();
    CHECK(o.getNumber("value") == value);
    CHECK(o.getObject("grad")->getNumber("x") == dx);
    CHECK(o.getObject("grad")->getNumber("y") == dy);
    const llvm::json::Array &h = *o.getArray("hessian");
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 2; ++j) CHECK((*h[i].getAsArray())[j].getAsNumber() == 0.0);
  }

  SECTION("the library: derivatives with and without the simplifier, interpreter, printer") {
    SourceBuffer buffer("<chain>", text);
    DiagnosticSink sink(buffer);
    CompileOptions options;
    options.parse.allowBareExpression = true;
    std::optional<LoweredProgram> p = compileSource(buffer, sink, options);
    INFO(renderDiagnostics(sink));
    REQUIRE(p.has_value());
    Graph &g = p->graph;
    const NodeId f = p->bare->result.elems.at(0);
    std::vector<NodeId> vars;
    for (const VarGroup &v : p->bare->args) vars.push_back(v.nodes.at(0));
    REQUIRE(vars.size() == 2);
    std::vector<double> at(g.symbolCount());
    at[p->bare->args[0].symbols[0]] = 0.5;
    at[p->bare->args[1].symbols[0]] = 0.25;

    for (bool simplify : {false, true}) {
      CompileOptions o = options;
      o.simplify = simplify;
      Derivatives d = differentiate(g, f, vars, true, o);
      std::vector<double> r = evaluate(g, {d.value, d.grad[0], d.grad[1], d.hessian[0][1]}, at);
      CHECK(r == std::vector<double>{value, dx, dy, 0});
    }

    // The value printed as one expression 10^6 terms long, read back and evaluated.
    const std::uint64_t length = printedLengths(g, {f}).at(0);
    const std::string printed = printExpr(g, f);
    CHECK(printed.size() == length);
    SourceBuffer again("<printed>", printed);
    DiagnosticSink sink2(again);
    std::optional<LoweredProgram> q = compileSource(again, sink2, options);
    INFO(renderDiagnostics(sink2));
    REQUIRE(q.has_value());
    std::vector<double> at2(q->graph.symbolCount());
    for (const VarGroup &v : q->bare->args) at2[v.symbols[0]] = v.name == "x" ? 0.5 : 0.25;
    CHECK(evaluate(q->graph, {q->bare->result.elems.at(0)}, at2).at(0) == value);
    CHECK(printShared(g, {f}).exprs.size() == 1);
  }
}
