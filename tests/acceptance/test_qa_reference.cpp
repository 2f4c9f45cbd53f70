// More reference cases of the kinds that are held back for acceptance: tests/reference/
// gradients_qa.json (random expressions and a few hand-picked stability cases, references from
// 50-digit arithmetic; see tests/reference/README.md). Each case goes through the compiler's own
// path (compileSource, differentiate, the interpreter) with simplification on and off, and each
// printed gradient and Hessian entry is re-parsed and evaluated (round trip), all checked with
// the reference tolerance rule.
#include "pipeline.h"

#include "graph/interp.h"
#include "graph/print.h"
#include "support/reference.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

using namespace nabla;
using namespace nabla::test;

namespace {

CompileOptions exprOptions(bool simplifyOn) {
  CompileOptions o;
  o.parse.allowBareExpression = true;
  o.simplify = simplifyOn;
  o.lower.simplifyDerivatives = simplifyOn;
  return o;
}

/// A compiled bare expression with the case's variables (a fresh symbol for one it does not use).
struct Compiled {
  std::optional<LoweredProgram> program;
  std::vector<NodeId> vars;
};
Compiled compileCase(const ReferenceCase &c, const CompileOptions &options) {
  Compiled out;
  SourceBuffer buffer("<" + c.name + ">", c.expr);
  DiagnosticSink sink(buffer);
  out.program = compileSource(buffer, sink, options);
  INFO(c.name << " (" << c.expr << ")\n" << renderDiagnostics(sink));
  REQUIRE(out.program.has_value());
  REQUIRE(out.program->bare.has_value());
  REQUIRE(out.program->bare->result.elems.size() == 1);
  Graph &graph = out.program->graph;
  for (const std::string &name : c.vars) {
    NodeId node;
    for (const VarGroup &arg : out.program->bare->args)
      if (arg.name == name && arg.nodes.size() == 1) node = arg.nodes[0];
    if (!node.valid()) node = graph.variable(graph.addSymbol(name));
    out.vars.push_back(node);
  }
  return out;
}

std::vector<double> symbolValues(const Graph &graph, const std::vector<NodeId> &vars,
                                 const ReferenceCase &c, const ReferencePoint &p) {
  std::vector<double> values(graph.symbolCount(), std::nan(""));
  for (std::size_t i = 0; i < vars.size(); ++i) values[graph[vars[i]].symbol] = p.at.at(c.vars[i]);
  return values;
}

/// Compiles printed text as a bare expression and evaluates it at the point.
double evalPrinted(const std::string &text, const std::map<std::string, double> &at) {
  SourceBuffer buffer("<printed>", text);
  DiagnosticSink sink(buffer);
  std::optional<LoweredProgram> p = compileSource(buffer, sink, exprOptions(true));
  INFO("printed: " << text << "\n" << renderDiagnostics(sink));
  REQUIRE(p.has_value());
  REQUIRE(p->bare.has_value());
  std::vector<double> values(p->graph.symbolCount(), std::nan(""));
  for (const VarGroup &arg : p->bare->args) {
    REQUIRE(at.count(arg.name) == 1);
    values[arg.symbols.at(0)] = at.at(arg.name);
  }
  return evaluate(p->graph, {p->bare->result.elems.at(0)}, values).at(0);
}

const std::vector<ReferenceCase> &qaCases() {
  static const std::vector<ReferenceCase> cases = loadGradientCases("reference/gradients_qa.json");
  return cases;
}

}  // namespace

TEST_CASE("the qa reference cases through compileSource, differentiate and the interpreter",
          "[acceptance][reference][diff]") {
  REQUIRE(qaCases().size() >= 250);
  for (bool simplifyOn : {true, false}) {
    for (const ReferenceCase &c : qaCases()) {
      // The qa_stable_* cases are accurate only through the stability rewrites of the simplifier.
      if (!simplifyOn && c.name.rfind("qa_stable_", 0) == 0) continue;
      Compiled compiled = compileCase(c, exprOptions(simplifyOn));
      Graph &graph = compiled.program->graph;
      const std::size_t n = c.vars.size();
      Derivatives d = differentiate(graph, compiled.program->bare->result.elems[0], compiled.vars,
                                    true, exprOptions(simplifyOn));
      REQUIRE(d.grad.size() == n);
      REQUIRE(d.hessian.size() == n);
      std::vector<NodeId> roots{d.value};
      roots.insert(roots.end(), d.grad.begin(), d.grad.end());
      for (const auto &row : d.hessian) roots.insert(roots.end(), row.begin(), row.end());
      for (const ReferencePoint &p : c.points) {
        INFO(describe(c, p) << (simplifyOn ? "" : " [simplify off]"));
        std::vector<double> got = evaluate(graph, roots, symbolValues(graph, compiled.vars, c, p));
        ReferenceScales s = scalesOf(p);
        INFO("value " << got[0] << " want " << p.value);
        CHECK(valueMatches(got[0], p.value));
        for (std::size_t i = 0; i < n; ++i) {
          INFO("d/d" << c.vars[i] << " = " << got[1 + i] << " want " << p.grad.at(c.vars[i]));
          CHECK(entryMatches(got[1 + i], p.grad.at(c.vars[i]), s.grad));
          for (std::size_t j = 0; j < n; ++j) {
            double h = got[1 + n + i * n + j];
            INFO("d2/d" << c.vars[i] << "d" << c.vars[j] << " = " << h << " want " << p.hessian[i][j]);
            CHECK(entryMatches(h, p.hessian[i][j], s.hess));
          }
        }
      }
    }
  }
}

TEST_CASE("the qa reference cases: printed gradients and Hessians re-parse to the same values",
          "[acceptance][reference][print]") {
  for (const ReferenceCase &c : qaCases()) {
    Compiled compiled = compileCase(c, exprOptions(true));
    Graph &graph = compiled.program->graph;
    const std::size_t n = c.vars.size();
    Derivatives d = differentiate(graph, compiled.program->bare->result.elems[0], compiled.vars,
                                  true, exprOptions(true));
    std::vector<NodeId> roots = d.grad;
    for (const auto &row : d.hessian) roots.insert(roots.end(), row.begin(), row.end());
    std::vector<std::string> printed = printExprs(graph, roots);
    REQUIRE(printed.size() == n + n * n);
    for (const ReferencePoint &p : c.points) {
      INFO(describe(c, p));
      ReferenceScales s = scalesOf(p);
      for (std::size_t i = 0; i < n; ++i) {
        INFO("d/d" << c.vars[i] << " = " << printed[i]);
        CHECK(entryMatches(evalPrinted(printed[i], p.at), p.grad.at(c.vars[i]), s.grad));
        for (std::size_t j = i; j < n; ++j) {
          INFO("d2/d" << c.vars[i] << "d" << c.vars[j] << " = " << printed[n + i * n + j]);
          CHECK(entryMatches(evalPrinted(printed[n + i * n + j], p.at), p.hessian[i][j], s.hess));
        }
      }
    }
  }
}
