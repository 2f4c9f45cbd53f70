// The stability rewrites on the forms that other rules make first (docs/simplifier.md, "Stability
// rewrites and the rules before them"): exp(x) + exp(x) is 2*exp(x) before log() is looked at,
// three equal exps are 3*exp(x), constants move last. Each variant goes through compileSource
// (simplification on), differentiate and the interpreter at large and very different arguments,
// against the exact value in long double (closed forms: log(k e^x + m e^y + c) and its partials).
// Tolerance: 4 ulps times max(1, |x|, |y|), relative: what a rounding of x or y moves these
// functions by (logaddexp is accurate to ulps of its larger argument, docs/simplifier.md); an
// exact value below the normal range may come out 0 or subnormal.
#include "pipeline.h"

#include "graph/interp.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

using namespace nabla;

namespace {

struct Variant {
  std::string text;
  // S(x, y) = k e^(a x) + m e^y + c, written through its pieces: f = log(S).
  long double k, a, m, c;
};

// Every variant is log(k*exp(a*x) + m*exp(y) + c) in some spelling that the arithmetic rules
// reshape before the log is rewritten.
const std::vector<Variant> kVariants = {
    {"log(exp(x) + exp(x))", 2, 1, 0, 0},
    {"log(exp(2*x) + exp(x+x))", 2, 2, 0, 0},
    {"log(exp(x) + exp(x) + exp(x))", 3, 1, 0, 0},
    {"log(2*exp(x) + exp(x))", 3, 1, 0, 0},
    {"log(exp(x) + 2*exp(x))", 3, 1, 0, 0},
    {"log(exp(x) + exp(x) + exp(x) + exp(x))", 4, 1, 0, 0},
    {"log(exp(x + 1) + exp(1 + x))", 2 * std::exp(1.0L), 1, 0, 0},
    {"log(exp(x) + exp(x) + exp(y))", 2, 1, 1, 0},
    {"log(exp(y) + exp(x) + exp(x))", 2, 1, 1, 0},
    {"log(exp(x) + exp(y) + exp(x))", 2, 1, 1, 0},
    {"log(exp(x) + exp(x) + 1)", 2, 1, 0, 1},
    {"log(1 + exp(x) + exp(x))", 2, 1, 0, 1},
    {"log(exp(x) + 1 + exp(x))", 2, 1, 0, 1},
    {"log(exp(x) + exp(y) + 1)", 1, 1, 1, 1},
    {"log(1 + exp(x) + exp(y))", 1, 1, 1, 1},
    {"log(exp(x) + 2)", 1, 1, 0, 2},
    {"log(3 + exp(x) + exp(x))", 2, 1, 0, 3},
    {"log(exp(x) + exp(x) + exp(y) + exp(y))", 2, 1, 2, 0},
    {"logsumexp([x, x])", 2, 1, 0, 0},
    {"logsumexp([x, x, y])", 2, 1, 1, 0},
};

bool close(double got, long double want, long double scale) {
  if (std::isnan(got))
    return false;
  if (std::fabs(want) < DBL_MIN)
    return std::fabs(got - want) <= DBL_MIN;
  return std::fabs(got - want) <= 4 * DBL_EPSILON * scale * std::fabs(want);
}

} // namespace

TEST_CASE("stability rewrites hold on sums that other rules reshape first",
          "[simplify][numerics]") {
  const std::vector<std::pair<double, double>> points = {
      {1000, 1000}, {-1000, -1000}, {1000, -1000}, {-1000, 1000}, {0.5, -0.25},
      {-40, -40},   {700, 710},     {1e5, 1e5},    {-1e5, 3}};
  for (const Variant &v : kVariants) {
    CompileOptions options;
    options.parse.allowBareExpression = true;
    SourceBuffer buffer("<variant>", v.text);
    DiagnosticSink sink(buffer);
    std::optional<LoweredProgram> program = compileSource(buffer, sink, options);
    INFO(v.text << "\n" << renderDiagnostics(sink));
    REQUIRE(program.has_value());
    REQUIRE(program->bare.has_value());
    Graph &graph = program->graph;
    NodeId x = graph.variable(graph.addSymbol("x")), y = graph.variable(graph.addSymbol("y"));
    for (const VarGroup &arg : program->bare->args)
      (arg.name == "x" ? x : y) = arg.nodes.at(0);
    Derivatives d = differentiate(graph, program->bare->result.elems.at(0), {x, y}, false, options);
    for (auto [px, py] : points) {
      INFO("at x = " << px << ", y = " << py);
      std::vector<double> symbols(graph.symbolCount(), 0.0);
      symbols[graph[x].symbol] = px;
      symbols[graph[y].symbol] = py;
      std::vector<double> got = evaluate(graph, {d.value, d.grad[0], d.grad[1]}, symbols);
      // log(k e^(a x) + m e^y + c) = M + log(k e^(a x - M) + m e^(y - M) + c e^-M).
      long double ax = v.a * px, M = ax;
      if (v.m > 0)
        M = std::fmax(M, static_cast<long double>(py));
      if (v.c > 0)
        M = std::fmax(M, 0.0L);
      long double tx = v.k * std::exp(ax - M), ty = v.m > 0 ? v.m * std::exp(py - M) : 0,
                  tc = v.c > 0 ? v.c * std::exp(-M) : 0, s = tx + ty + tc;
      // log(s) as log1p(s - 1), with the largest term (k, m or c: its exponent is 0) first, so
      // that s - 1 is exact where s is near 1.
      long double t[3] = {tx, ty, tc};
      std::sort(t, t + 3, [](long double p, long double q) { return p > q; });
      long double value = M + std::log1p(((t[0] - 1) + t[1]) + t[2]);
      long double dx = v.a * tx / s, dy = ty / s;
      long double scale = std::fmax(1.0L, std::fmax(std::fabs(ax), std::fabs(py)));
      INFO("f = " << got[0] << ", want " << static_cast<double>(value));
      CHECK(close(got[0], value, scale));
      INFO("df/dx = " << got[1] << ", want " << static_cast<double>(dx));
      CHECK(close(got[1], dx, scale));
      INFO("df/dy = " << got[2] << ", want " << static_cast<double>(dy));
      CHECK(close(got[2], dy, scale));
    }
  }
}
