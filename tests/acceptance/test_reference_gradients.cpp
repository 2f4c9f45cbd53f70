// Every case of the gradient reference data through the compiler's own path: compileSource (parse
// and lower a bare expression), differentiate (gradient and Hessian) and the interpreter, checked
// with the reference tolerance rule -- once with simplification and once without, so that a
// simplifier bug cannot hide a differentiation bug (or the reverse).
#include "pipeline.h"

#include "graph/interp.h"
#include "support/reference.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>

using namespace nabla;
using namespace nabla::test;

namespace {

/// Checks every point of one case; returns the number of points checked.
std::size_t checkCase(const ReferenceCase &c, bool simplifyOn) {
  CompileOptions options;
  options.parse.allowBareExpression = true;
  options.simplify = simplifyOn;
  options.lower.simplifyDerivatives = simplifyOn;
  SourceBuffer buffer("<" + c.name + ">", c.expr);
  DiagnosticSink sink(buffer);
  std::optional<LoweredProgram> program = compileSource(buffer, sink, options);
  INFO(c.name << " (" << c.expr << ")\n" << renderDiagnostics(sink));
  // A failing case is reported and the others still run.
  if (!program || !program->bare || program->bare->result.elems.size() != 1) {
    FAIL_CHECK("no scalar bare entry point");
    return 0;
  }
  const FunctionEntry &bare = *program->bare;
  Graph &graph = program->graph;

  // The case's variables by name; one the expression does not mention is a fresh symbol whose
  // derivative must come out exactly 0.
  std::vector<NodeId> vars;
  std::vector<bool> unused;
  for (const std::string &name : c.vars) {
    NodeId node;
    for (const VarGroup &arg : bare.args)
      if (arg.name == name && arg.nodes.size() == 1)
        node = arg.nodes[0];
    unused.push_back(!node.valid());
    if (!node.valid())
      node = graph.variable(graph.addSymbol(name));
    vars.push_back(node);
  }
  for (const VarGroup &arg : bare.args) {
    INFO("free variable '" << arg.name << "'");
    CHECK(std::find(c.vars.begin(), c.vars.end(), arg.name) != c.vars.end());
  }

  Derivatives d = differentiate(graph, bare.result.elems[0], vars, true, options);
  if (d.grad.size() != c.vars.size() || d.hessian.size() != c.vars.size()) {
    FAIL_CHECK("differentiate returned the wrong number of entries");
    return 0;
  }

  std::vector<NodeId> roots{d.value};
  roots.insert(roots.end(), d.grad.begin(), d.grad.end());
  for (const auto &row : d.hessian)
    roots.insert(roots.end(), row.begin(), row.end());

  for (const ReferencePoint &p : c.points) {
    INFO(describe(c, p) << (simplifyOn ? "" : " [simplify off]"));
    std::vector<double> symbols(graph.symbolCount(), std::nan(""));
    for (std::size_t i = 0; i < vars.size(); ++i)
      symbols[graph[vars[i]].symbol] = p.at.at(c.vars[i]);
    std::vector<double> got = evaluate(graph, roots, symbols);

    INFO("value " << got[0] << " want " << p.value);
    CHECK(valueMatches(got[0], p.value));
    const auto [gScale, hScale] = scalesOf(p);
    const std::size_t n = c.vars.size();
    for (std::size_t i = 0; i < n; ++i) {
      double ref = p.grad.at(c.vars[i]);
      INFO("d/d" << c.vars[i] << " = " << got[1 + i] << " want " << ref);
      CHECK(entryMatches(got[1 + i], ref, gScale));
      if (unused[i])
        CHECK(got[1 + i] == 0);
      for (std::size_t j = 0; j < n; ++j) {
        double href = p.hessian[i][j];
        double h = got[1 + n + i * n + j];
        INFO("d2/d" << c.vars[i] << "d" << c.vars[j] << " = " << h << " want " << href);
        CHECK(entryMatches(h, href, hScale));
        if (unused[i] || unused[j])
          CHECK(h == 0);
      }
    }
  }
  return c.points.size();
}

} // namespace

TEST_CASE("the gradient reference data through compileSource and differentiate",
          "[acceptance][reference][diff]") {
  std::vector<ReferenceCase> cases = loadGradientCases();
  REQUIRE(cases.size() >= 305);
  std::size_t points = 0;
  for (const ReferenceCase &c : cases)
    points += checkCase(c, true);
  CHECK(points >= 607);
}

TEST_CASE("the gradient reference data with simplification off", "[acceptance][reference][diff]") {
  std::size_t points = 0;
  for (const ReferenceCase &c : loadGradientCases())
    points += checkCase(c, false);
  CHECK(points >= 607);
}
