// The printed derivatives are nabla text: re-parsing each printed gradient entry and evaluating it
// gives the reference gradient (within the reference tolerance) at every point of every case.
#include "support/reference.h"

#include "graph/interp.h"
#include "graph/print.h"
#include "pipeline.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <map>

using namespace nabla;
using namespace nabla::test;

namespace {

CompileOptions exprOptions() {
  CompileOptions o;
  o.parse.allowBareExpression = true;
  return o;
}

/// Compiles a bare expression and evaluates it at named values.
double evalText(const std::string &text, const std::map<std::string, double> &at) {
  SourceBuffer buffer("<printed>", text);
  DiagnosticSink sink(buffer);
  std::optional<LoweredProgram> p = compileSource(buffer, sink, exprOptions());
  INFO(text << "\n" << renderDiagnostics(sink));
  REQUIRE(p.has_value());
  REQUIRE(p->bare.has_value());
  std::vector<double> values(p->graph.symbolCount(), 0.0);
  for (const VarGroup &arg : p->bare->args) values[arg.symbols.at(0)] = at.at(arg.name);
  return evaluate(p->graph, {p->bare->result.elems.at(0)}, values).at(0);
}

}  // namespace

TEST_CASE("printed derivatives re-parse to the same gradient", "[acceptance][print]") {
  for (const ReferenceCase &c : loadGradientCases()) {
    INFO(c.name << ": " << c.expr);
    SourceBuffer buffer("<expr>", c.expr);
    DiagnosticSink sink(buffer);
    std::optional<LoweredProgram> p = compileSource(buffer, sink, exprOptions());
    REQUIRE(p.has_value());
    std::map<std::string, NodeId> byName;
    for (const VarGroup &arg : p->bare->args) byName[arg.name] = arg.nodes.at(0);
    // A declared variable the expression does not use gets a fresh symbol: its derivative is 0.
    std::vector<NodeId> vars;
    for (const std::string &v : c.vars) {
      auto it = byName.find(v);
      vars.push_back(it != byName.end() ? it->second : p->graph.variable(p->graph.addSymbol(v)));
    }
    Derivatives d = differentiate(p->graph, p->bare->result.elems.at(0), vars, false, exprOptions());
    std::vector<std::string> printed;
    for (NodeId g : d.grad) printed.push_back(printExpr(p->graph, g));
    for (const ReferencePoint &point : c.points) {
      const double scale = scalesOf(point).grad;
      for (std::size_t i = 0; i < c.vars.size(); ++i) {
        INFO("d/d" << c.vars[i] << " = " << printed[i]);
        CHECK(entryMatches(evalText(printed[i], point.at), point.grad.at(c.vars[i]), scale));
      }
    }
  }
}
