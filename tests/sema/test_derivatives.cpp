// d, grad and hessian as sema expands them, against reference data, closed forms and finite
// differences.
#include "sema/support.h"
#include "support/reference.h"

#include <catch2/catch.hpp>

#include <cmath>

using namespace nabla;
using namespace nabla::test;

namespace {

LoweredProgram ok(const std::string &text, bool bare = false, const LowerOptions &options = {}) {
  Lowered l = lower(text, options, bare);
  INFO(l.rendered());
  REQUIRE(l.ok());
  return std::move(*l.program);
}

/// Central difference of a scalar root in one symbol (by name).
double finiteDifference(const LoweredProgram &p, NodeId root, std::map<std::string, double> at,
                        const std::string &var, double h = 1e-6) {
  const double x = at[var];
  at[var] = x + h;
  double up = eval1(p, root, at);
  at[var] = x - h;
  double down = eval1(p, root, at);
  return (up - down) / (2 * h);
}

}  // namespace

TEST_CASE("grad and hessian of every reference case, through a function call", "[sema][diff]") {
  std::vector<ReferenceCase> cases = loadGradientCases();
  REQUIRE(cases.size() > 100);
  for (const ReferenceCase &c : cases) {
    std::string args;
    for (const std::string &v : c.vars) args += (args.empty() ? "" : ", ") + v;
    // g and h call f, so the derivatives are taken after substitution of g's own arguments.
    // Names no reference variable uses ("F__" ...), since a function argument shadows a function.
    std::string text = "F__(" + args + ") = " + c.expr + "\n" + "G__(" + args + ") = grad(F__(" +
                       args + "))\n" + "H__(" + args + ") = hessian(F__(" + args + "))\n";
    INFO("case " << c.name << ": " << text);
    LoweredProgram p = ok(text);
    const FunctionEntry &f = function(p, "F__"), &g = function(p, "G__"), &h = function(p, "H__");
    const std::size_t n = c.vars.size();
    REQUIRE(g.result.shape == Shape{{static_cast<std::uint32_t>(n)}});
    REQUIRE(h.result.shape == (Shape{{static_cast<std::uint32_t>(n), static_cast<std::uint32_t>(n)}}));
    for (const ReferencePoint &point : c.points) {
      double value = eval1(p, f.result.elems[0], point.at);
      CHECK(valueMatches(value, point.value));
      std::vector<double> grad = eval(p, g.result.elems, point.at);
      double gScale = 0;
      for (const auto &[name, v] : point.grad) gScale = std::max(gScale, std::fabs(v));
      for (std::size_t i = 0; i < n; ++i) {
        INFO("d/d" << c.vars[i] << " got " << grad[i] << " want " << point.grad.at(c.vars[i]));
        CHECK(entryMatches(grad[i], point.grad.at(c.vars[i]), gScale));
      }
      std::vector<double> hess = eval(p, h.result.elems, point.at);
      double hScale = 0;
      for (const auto &row : point.hessian)
        for (double v : row) hScale = std::max(hScale, std::fabs(v));
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) {
          INFO("H[" << i << "][" << j << "] got " << hess[i * n + j] << " want " << point.hessian[i][j]);
          CHECK(entryMatches(hess[i * n + j], point.hessian[i][j], hScale));
        }
    }
  }
}

TEST_CASE("d of a bare expression", "[sema][diff]") {
  LoweredProgram p = ok("d(sin(x) * x^2 + y, x)", true);
  REQUIRE(p.bare);
  const double x = 0.8;
  CHECK(eval1(p, p.bare->result.elems[0], {{"x", x}, {"y", 5}}) ==
        Approx(std::cos(x) * x * x + 2 * x * std::sin(x)).epsilon(1e-14));
}

TEST_CASE("grad of the Rosenbrock function", "[sema][diff]") {
  // The reference README's example point: gradient (-155, -50), Hessian [[1902, 600], [600, 200]].
  LoweredProgram p = ok("param x\nparam y\nr = (1-x)^2 + 100*(y-x^2)^2\ng = grad(r)\nh = hessian(r)\n");
  std::map<std::string, double> at{{"x", -1.5}, {"y", 2.0}};
  CHECK(evalDef(p, "r", at) == std::vector<double>{12.5});
  CHECK(evalDef(p, "g", at) == std::vector<double>{-155, -50});
  CHECK(evalDef(p, "h", at) == std::vector<double>{1902, 600, 600, 200});
  CHECK(definition(p, "h").value.shape == (Shape{{2, 2}}));
}

TEST_CASE("grad is over all params in declaration order, even declared later", "[sema][diff]") {
  LoweredProgram p = ok("g = grad(w[0] * b^2 + 3 * w[1])\nparam w[2]\nparam b\n");
  REQUIRE(definition(p, "g").value.shape == Shape{{3}});
  std::map<std::string, double> at{{"w[0]", 2}, {"w[1]", -1}, {"b", 3}};
  CHECK(evalDef(p, "g", at) == std::vector<double>{9, 3, 12});
}

TEST_CASE("d with respect to an array gives an array of its shape", "[sema][diff]") {
  LoweredProgram p = ok("param v[3]\nparam M[2][2]\ninput x\n"
                        "gv = d(sum(v^2) * x, v)\ngm = d(M[0][1] * M[1][0], M)\ngx = d(x * v[1], x)\n"
                        "row = d(sum(M[1]) * M[0][0], M[1])\n");
  std::map<std::string, double> at{{"v[0]", 1}, {"v[1]", -2}, {"v[2]", 0.5}, {"x", 3},
                                   {"M[0][0]", 5}, {"M[0][1]", 6}, {"M[1][0]", 7}, {"M[1][1]", 8}};
  CHECK(definition(p, "gv").value.shape == Shape{{3}});
  CHECK(evalDef(p, "gv", at) == std::vector<double>{6, -12, 3});
  CHECK(definition(p, "gm").value.shape == (Shape{{2, 2}}));
  CHECK(evalDef(p, "gm", at) == std::vector<double>{0, 7, 6, 0});
  CHECK(evalDef(p, "gx", at) == std::vector<double>{-2});
  CHECK(evalDef(p, "row", at) == std::vector<double>{5, 5});
}

TEST_CASE("d inside a function is the derivative at the actual arguments", "[sema][diff]") {
  LoweredProgram p = ok("param w\n"
                        "df(x) = d(x^3 + w * x, x)\n"
                        "c = df(2 * w)\n"
                        "gf(a, b) = grad(a * b^2)\n"
                        "e = gf(w, 3)\n");
  const double w = 1.25;
  // d/dx (x^3 + w x) = 3x^2 + w, at x = 2w; then d/dw of the result is not what c means.
  CHECK(evalDef(p, "c", {{"w", w}})[0] == Approx(3 * 4 * w * w + w).epsilon(1e-15));
  CHECK(evalDef(p, "e", {{"w", w}}) == std::vector<double>{9, 6 * w});
  // And it agrees with a finite difference of the function itself.
  LoweredProgram q = ok("f(x) = sin(x) * exp(x / 3)\ndf(x) = d(f(x), x)\n");
  NodeId fn = function(q, "f").result.elems[0], dfn = function(q, "df").result.elems[0];
  for (double x : {-1.0, 0.3, 2.5})
    CHECK(eval1(q, dfn, {{"x", x}}) == Approx(finiteDifference(q, fn, {{"x", x}}, "x")).epsilon(1e-8));
}

TEST_CASE("nested derivatives stay small", "[sema][diff]") {
  // sin^7 x = (35 sin x - 21 sin 3x + 7 sin 5x - sin 7x) / 64, and the tenth derivative of
  // sin(kx) is -k^10 sin(kx).
  std::string e = "sin(x)^7";
  for (int i = 0; i < 10; ++i) e = "d(" + e + ", x)";
  LowerOptions options;
  options.maxNodes = 1u << 20;
  LoweredProgram p = ok(e, true, options);
  INFO("graph nodes: " << p.graph.size());
  // Differentiating a tree ten times would give millions of nodes; the DAG stays in thousands.
  CHECK(p.graph.size() < 50000);
  for (double x : {0.3, -1.1, 2.0}) {
    double want = -(35 * std::sin(x) - 21 * std::pow(3.0, 10) * std::sin(3 * x) +
                    7 * std::pow(5.0, 10) * std::sin(5 * x) - std::pow(7.0, 10) * std::sin(7 * x)) /
                  64;
    CHECK(eval1(p, p.bare->result.elems[0], {{"x", x}}) == Approx(want).epsilon(1e-9));
  }
}

TEST_CASE("derivatives without simplification are still right", "[sema][diff]") {
  LowerOptions raw;
  raw.simplifyDerivatives = false;
  LoweredProgram p = ok("d(d(x^3 * y, x), y)", true, raw);
  CHECK(eval1(p, p.bare->result.elems[0], {{"x", 1.5}, {"y", 7}}) == Approx(3 * 1.5 * 1.5));
}
