// Lowered values compared with the same mathematics computed directly in C++.
#include "sema/support.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace nabla;
using namespace nabla::test;
using Catch::Matchers::Equals;

namespace {

LoweredProgram ok(const std::string &text, bool bare = false, const LowerOptions &options = {}) {
  Lowered l = lower(text, options, bare);
  INFO(l.rendered());
  REQUIRE(l.ok());
  return std::move(*l.program);
}

Shape shape(std::vector<std::uint32_t> dims) { return Shape{std::move(dims)}; }

}  // namespace

TEST_CASE("toString of shapes", "[sema]") {
  CHECK(toString(Shape{}) == "scalar");
  CHECK(toString(shape({3})) == "[3]");
  CHECK(toString(shape({2, 3})) == "[2][3]");
}

TEST_CASE("params become named graph symbols, row-major", "[sema]") {
  LoweredProgram p = ok("param b\nparam w[3]\nparam W[2][3]\n");
  REQUIRE(p.params.size() == 3);
  CHECK(p.params[0].vars.name == "b");
  CHECK(p.params[0].vars.shape.isScalar());
  CHECK(p.graph.symbolName(p.params[0].vars.symbols[0]) == "b");
  CHECK(p.graph.symbolName(p.params[1].vars.symbols[2]) == "w[2]");
  REQUIRE(p.params[2].vars.symbols.size() == 6);
  CHECK(p.graph.symbolName(p.params[2].vars.symbols[0]) == "W[0][0]");
  CHECK(p.graph.symbolName(p.params[2].vars.symbols[2]) == "W[0][2]");
  CHECK(p.graph.symbolName(p.params[2].vars.symbols[3]) == "W[1][0]");
  CHECK(p.graph.symbolName(p.params[2].vars.symbols[5]) == "W[1][2]");
  for (const ParamDecl &d : p.params) {
    CHECK(d.init == InitKind::Zero);
    for (std::size_t k = 0; k < d.vars.nodes.size(); ++k) {
      CHECK(p.graph[d.vars.nodes[k]].op == Op::Var);
      CHECK(p.graph[d.vars.nodes[k]].symbol == d.vars.symbols[k]);
    }
  }
}

TEST_CASE("param initializers", "[sema]") {
  LoweredProgram p = ok("const n = 3\n"
                        "param a = -1.5 * 2\n"
                        "param w[n] = 0.25\n"
                        "param v[n] = [1, 2, 2^3]\n"
                        "param M[2][2] = [[1, 2], [3, 4]]\n"
                        "param g[2] ~ normal(0, 0.01)\n"
                        "param u ~ uniform(-1, 2 * n)\n");
  REQUIRE(p.params.size() == 6);
  CHECK(p.params[0].init == InitKind::Value);
  CHECK_THAT(p.params[0].initValues, Equals(std::vector<double>{-3.0}));
  CHECK_THAT(p.params[1].initValues, Equals(std::vector<double>{0.25, 0.25, 0.25}));
  CHECK(p.params[1].vars.shape == shape({3}));
  CHECK_THAT(p.params[2].initValues, Equals(std::vector<double>{1, 2, 8}));
  CHECK_THAT(p.params[3].initValues, Equals(std::vector<double>{1, 2, 3, 4}));
  CHECK(p.params[4].init == InitKind::Normal);
  CHECK(p.params[4].initA == 0);
  CHECK(p.params[4].initB == 0.01);
  CHECK(p.params[5].init == InitKind::Uniform);
  CHECK(p.params[5].initA == -1);
  CHECK(p.params[5].initB == 6);
  REQUIRE(p.consts.size() == 1);
  CHECK(p.consts[0].name == "n");
  CHECK(p.graph[p.consts[0].value.elems[0]].value == 3);
}

TEST_CASE("input columns", "[sema]") {
  LoweredProgram p = ok("input y\ninput x[3]\ninput z[2] from (a, b)\n"
                        "input r[30] from (radius_mean .. fractal_dimension_worst)\n");
  REQUIRE(p.inputs.size() == 4);
  CHECK_THAT(p.inputs[0].columns, Equals(std::vector<std::string>{"y"}));
  CHECK_THAT(p.inputs[1].columns, Equals(std::vector<std::string>{"x0", "x1", "x2"}));
  CHECK_THAT(p.inputs[2].columns, Equals(std::vector<std::string>{"a", "b"}));
  CHECK_FALSE(p.inputs[2].columnRange);
  CHECK_THAT(p.inputs[3].columns,
             Equals(std::vector<std::string>{"radius_mean", "fractal_dimension_worst"}));
  CHECK(p.inputs[3].columnRange);
  CHECK(p.graph.symbolName(p.inputs[1].vars.symbols[1]) == "x[1]");
}

TEST_CASE("the logistic regression of DESIGN.md", "[sema]") {
  LoweredProgram p = ok("param w[3] ~ normal(0, 0.01)\n"
                        "param b = 0\n"
                        "input x[3]\n"
                        "input y from (benign)\n"
                        "const lambda = 1e-3\n"
                        "p = sigmoid(dot(w, x) + b)\n"
                        "minimize -(y*log(p) + (1-y)*log(1-p)) + lambda*sum(w^2)\n"
                        "report acc = where((p > 0.5) == (y > 0.5), 1, 0)\n");
  REQUIRE(p.objective);
  CHECK_FALSE(p.objective->maximize);
  std::map<std::string, double> at{{"w[0]", 0.3}, {"w[1]", -0.2}, {"w[2]", 0.5}, {"b", 0.1},
                                   {"x[0]", 1.0}, {"x[1]", 2.0},  {"x[2]", -1.0}, {"y", 1.0}};
  double z = 0.3 * 1 - 0.2 * 2 + 0.5 * -1 + 0.1;
  double prob = 1 / (1 + std::exp(-z));
  double loss = -std::log(prob) + 1e-3 * (0.09 + 0.04 + 0.25);
  CHECK(eval1(p, p.objective->expr, at) == Approx(loss).epsilon(1e-14));
  REQUIRE(p.reports.size() == 1);
  CHECK(p.reports[0].name == "acc");
  CHECK(eval1(p, p.reports[0].value.elems[0], at) == (prob > 0.5 ? 1.0 : 0.0));
  at["y"] = 0.0;
  CHECK(eval1(p, p.reports[0].value.elems[0], at) == (prob > 0.5 ? 0.0 : 1.0));
}

TEST_CASE("maximize keeps the expression as written", "[sema]") {
  LoweredProgram p = ok("param t\nmaximize -(t - 2)^2");
  REQUIRE(p.objective);
  CHECK(p.objective->maximize);
  CHECK(eval1(p, p.objective->expr, {{"t", 5}}) == -9);
}

TEST_CASE("arithmetic broadcasts scalars over arrays", "[sema]") {
  LoweredProgram p = ok("param v[3]\n"
                        "a = v * 2 + 1\n"
                        "b = 10 - v\n"
                        "c = v / v[0]\n"
                        "e = v ^ 2\n"
                        "f = 2 ^ v\n"
                        "g = -v\n"
                        "h = +v\n");
  std::map<std::string, double> at{{"v[0]", 2}, {"v[1]", -3}, {"v[2]", 0.5}};
  CHECK_THAT(evalDef(p, "a", at), Equals(std::vector<double>{5, -5, 2}));
  CHECK_THAT(evalDef(p, "b", at), Equals(std::vector<double>{8, 13, 9.5}));
  CHECK_THAT(evalDef(p, "c", at), Equals(std::vector<double>{1, -1.5, 0.25}));
  CHECK_THAT(evalDef(p, "e", at), Equals(std::vector<double>{4, 9, 0.25}));
  CHECK_THAT(evalDef(p, "f", at), Equals(std::vector<double>{4, 0.125, std::sqrt(2.0)}));
  CHECK_THAT(evalDef(p, "g", at), Equals(std::vector<double>{-2, 3, -0.5}));
  CHECK_THAT(evalDef(p, "h", at), Equals(std::vector<double>{2, -3, 0.5}));
  CHECK(definition(p, "h").value.elems == p.params[0].vars.nodes);  // unary plus adds nothing
}

TEST_CASE("x^c with a constant c is one Pow node", "[sema]") {
  LoweredProgram p = ok("f(x) = x^3", false);
  NodeId r = function(p, "f").result.elems[0];
  CHECK(p.graph[r].op == Op::Pow);
  CHECK(p.graph.isConstant(p.graph[r].args[1], 3.0));
}

TEST_CASE("precedence reaches sema intact", "[sema]") {
  LoweredProgram p = ok("f(x) = -x^2 + 2^3^2", false);
  CHECK(eval1(p, function(p, "f").result.elems[0], {{"x", 3}}) == -9 + 512);
}

TEST_CASE("comparisons and logic give 0 or 1", "[sema]") {
  LoweredProgram p = ok("param a\nparam b\n"
                        "r = [a < b, a <= b, a > b, a >= b, a == b, a != b, a && b, a || b, !a]\n");
  CHECK_THAT(evalDef(p, "r", {{"a", 1}, {"b", 2}}),
             Equals(std::vector<double>{1, 1, 0, 0, 0, 1, 1, 1, 0}));
  CHECK_THAT(evalDef(p, "r", {{"a", 0}, {"b", 0}}),
             Equals(std::vector<double>{0, 1, 0, 1, 1, 0, 0, 0, 1}));
}

TEST_CASE("matrix products of every shape", "[sema]") {
  LoweredProgram p = ok("param A[2][3] = [[1, 2, 3], [4, 5, 6]]\n"
                        "param B[3][2]\nparam u[3]\nparam v[2]\n"
                        "AB = A @ B\nAu = A @ u\nvA = v @ A\nuu = u @ u\n");
  std::map<std::string, double> at;
  double A[2][3] = {{1, 2, 3}, {4, 5, 6}}, B[3][2] = {{7, -1}, {0.5, 2}, {-3, 4}};
  double u[3] = {1, -2, 0.5}, v[2] = {3, -1};
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) at["A[" + std::to_string(i) + "][" + std::to_string(j) + "]"] = A[i][j];
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 2; ++j) at["B[" + std::to_string(i) + "][" + std::to_string(j) + "]"] = B[i][j];
  for (int i = 0; i < 3; ++i) at["u[" + std::to_string(i) + "]"] = u[i];
  for (int i = 0; i < 2; ++i) at["v[" + std::to_string(i) + "]"] = v[i];

  CHECK(definition(p, "AB").value.shape == shape({2, 2}));
  std::vector<double> ab;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) ab.push_back(A[i][0] * B[0][j] + A[i][1] * B[1][j] + A[i][2] * B[2][j]);
  CHECK_THAT(evalDef(p, "AB", at), Equals(ab));
  CHECK(definition(p, "Au").value.shape == shape({2}));
  CHECK_THAT(evalDef(p, "Au", at), Equals(std::vector<double>{1 - 4 + 1.5, 4 - 10 + 3}));
  CHECK(definition(p, "vA").value.shape == shape({3}));
  CHECK_THAT(evalDef(p, "vA", at), Equals(std::vector<double>{3 - 4, 6 - 5, 9 - 6}));
  CHECK(definition(p, "uu").value.shape.isScalar());
  CHECK_THAT(evalDef(p, "uu", at), Equals(std::vector<double>{1 + 4 + 0.25}));
}

TEST_CASE("indexing and vector literals", "[sema]") {
  LoweredProgram p = ok("param M[2][3]\nconst k = 1\n"
                        "row = M[1]\nel = M[k][2]\nlit = [[1, 2], [3, 4]]\nlitEl = lit[1][0]\n"
                        "col = [M[0][0], M[1][0]]\n");
  CHECK(definition(p, "row").value.shape == shape({3}));
  CHECK(definition(p, "row").value.elems ==
        std::vector<NodeId>(p.params[0].vars.nodes.begin() + 3, p.params[0].vars.nodes.end()));
  CHECK(definition(p, "el").value.elems[0] == p.params[0].vars.nodes[5]);
  CHECK(definition(p, "lit").value.shape == shape({2, 2}));
  CHECK_THAT(evalDef(p, "lit"), Equals(std::vector<double>{1, 2, 3, 4}));
  CHECK_THAT(evalDef(p, "litEl"), Equals(std::vector<double>{3}));
  CHECK(definition(p, "col").value.elems ==
        std::vector<NodeId>{p.params[0].vars.nodes[0], p.params[0].vars.nodes[3]});
}

/// The Var nodes of param `name`'s elements at `indices` (row-major offsets).
std::vector<NodeId> elementsOf(const LoweredProgram &p, const std::string &name,
                               const std::vector<std::size_t> &indices) {
  for (const ParamDecl &d : p.params)
    if (d.vars.name == name) {
      std::vector<NodeId> out;
      for (std::size_t i : indices) out.push_back(d.vars.nodes.at(i));
      return out;
    }
  FAIL("no param " << name);
  return {};
}

TEST_CASE("slices and subscripts per dimension take the elements they name", "[sema]") {
  // v has 5 elements, M is 3 x 4 (element (i, j) at 4i + j).
  LoweredProgram p = ok("param v[5]\nparam M[3][4]\n"
                        "tail = v[1:]\nhead = v[:-1]\nmid = v[1:3]\nall = v[:]\nlast = v[-1]\n"
                        "back = v[-3:-1]\ncol = M[:, 2]\nrow = M[1, :]\nrow2 = M[1]\nel = M[2, 1]\n"
                        "neg = M[-1, -2]\nblock = M[1:, 1:3]\nrowsOf = M[:2]\nchained = M[1:, 1:][0, 1]\n");
  auto elems = [&](const char *name) { return definition(p, name).value.elems; };
  auto dims = [&](const char *name) { return definition(p, name).value.shape; };
  CHECK(dims("tail") == shape({4}));
  CHECK(elems("tail") == elementsOf(p, "v", {1, 2, 3, 4}));
  CHECK(elems("head") == elementsOf(p, "v", {0, 1, 2, 3}));
  CHECK(elems("mid") == elementsOf(p, "v", {1, 2}));
  CHECK(elems("all") == elementsOf(p, "v", {0, 1, 2, 3, 4}));
  CHECK(dims("last").isScalar());
  CHECK(elems("last") == elementsOf(p, "v", {4}));
  CHECK(elems("back") == elementsOf(p, "v", {2, 3}));
  CHECK(dims("col") == shape({3}));
  CHECK(elems("col") == elementsOf(p, "M", {2, 6, 10}));
  CHECK(elems("row") == elementsOf(p, "M", {4, 5, 6, 7}));
  CHECK(elems("row2") == elems("row"));
  CHECK(elems("el") == elementsOf(p, "M", {9}));
  CHECK(elems("neg") == elementsOf(p, "M", {10}));
  CHECK(dims("block") == shape({2, 2}));
  CHECK(elems("block") == elementsOf(p, "M", {5, 6, 9, 10}));
  CHECK(dims("rowsOf") == shape({2, 4}));
  CHECK(elems("rowsOf") == elementsOf(p, "M", {0, 1, 2, 3, 4, 5, 6, 7}));
  CHECK(elems("chained") == elementsOf(p, "M", {6}));
}

TEST_CASE("transpose and outer", "[sema]") {
  LoweredProgram p = ok("param M[2][3]\nparam u[2]\nparam w[3]\n"
                        "t = transpose(M)\ntt = transpose(transpose(M))\no = outer(u, w)\n"
                        "mtu = transpose(M) @ u\n");
  CHECK(definition(p, "t").value.shape == shape({3, 2}));
  CHECK(definition(p, "t").value.elems == elementsOf(p, "M", {0, 3, 1, 4, 2, 5}));
  CHECK(definition(p, "tt").value.elems == elementsOf(p, "M", {0, 1, 2, 3, 4, 5}));
  CHECK(definition(p, "o").value.shape == shape({2, 3}));
  std::map<std::string, double> at;
  const double u[2] = {1.5, -2}, w[3] = {0.25, 3, -1}, M[2][3] = {{1, 2, 3}, {4, 5, 6}};
  for (int i = 0; i < 2; ++i) at["u[" + std::to_string(i) + "]"] = u[i];
  for (int j = 0; j < 3; ++j) at["w[" + std::to_string(j) + "]"] = w[j];
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      at["M[" + std::to_string(i) + "][" + std::to_string(j) + "]"] = M[i][j];
  std::vector<double> outer, mtu;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) outer.push_back(u[i] * w[j]);
  for (int j = 0; j < 3; ++j) mtu.push_back(M[0][j] * u[0] + M[1][j] * u[1]);
  CHECK_THAT(evalDef(p, "o", at), Equals(outer));
  CHECK_THAT(evalDef(p, "mtu", at), Equals(mtu));
}

TEST_CASE("the chained Rosenbrock written with slices is the sum written term by term", "[sema]") {
  // The graph is hash-consed: the same terms, summed in the same order, are the same node.
  std::string terms;
  for (int i = 0; i < 5; ++i)
    terms += (i ? ", " : "") + std::string("100*(x[") + std::to_string(i + 1) + "] - x[" +
             std::to_string(i) + "]^2)^2 + (1 - x[" + std::to_string(i) + "])^2";
  LoweredProgram p = ok("param x[6]\nsliced = sum(100*(x[1:] - x[:-1]^2)^2 + (1 - x[:-1])^2)\n"
                        "written = sum([" + terms + "])\n");
  CHECK(definition(p, "sliced").value.elems == definition(p, "written").value.elems);
  std::map<std::string, double> at;
  double expected = 0;
  const double x[6] = {-1.2, 1, 0.5, 2, -0.3, 1.1};
  for (int i = 0; i < 6; ++i) at["x[" + std::to_string(i) + "]"] = x[i];
  for (int i = 0; i < 5; ++i)
    expected += 100 * (x[i + 1] - x[i] * x[i]) * (x[i + 1] - x[i] * x[i]) + (1 - x[i]) * (1 - x[i]);
  CHECK(evalDef(p, "sliced", at).at(0) == Approx(expected).epsilon(1e-14));
}

TEST_CASE("elementwise built-ins match the C library", "[sema]") {
  LoweredProgram p = ok("param x\nparam y\n"
                        "r = [exp(x), log(x), sqrt(x), sin(x), cos(x), tan(x), asin(x/2), acos(x/2),"
                        " atan(x), sinh(x), cosh(x), tanh(x), sigmoid(-x), softplus(x), relu(-x),"
                        " log1p(x), expm1(x), abs(-x), sign(-x), floor(x), pow(x, y), min(x, y),"
                        " max(x, y), atan2(x, y), hypot(x, y), logaddexp(x, y)]\n");
  const double x = 0.7, y = -1.3;
  std::vector<double> want{std::exp(x),  std::log(x),   std::sqrt(x),  std::sin(x),
                           std::cos(x),  std::tan(x),   std::asin(x / 2), std::acos(x / 2),
                           std::atan(x), std::sinh(x),  std::cosh(x),  std::tanh(x),
                           1 / (1 + std::exp(x)), std::log1p(std::exp(x)), 0.0,
                           std::log1p(x), std::expm1(x), x, -1.0, 0.0, std::pow(x, y), y, x,
                           std::atan2(x, y), std::hypot(x, y), std::log(std::exp(x) + std::exp(y))};
  std::vector<double> got = evalDef(p, "r", {{"x", x}, {"y", y}});
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    INFO("element " << i);
    CHECK(got[i] == Approx(want[i]).epsilon(1e-15).margin(1e-300));
  }
}

TEST_CASE("binary built-ins broadcast", "[sema]") {
  LoweredProgram p = ok("param v[3]\nm = max(v, 0)\nq = pow(2, v)\nw = where(v > 0, v, [7, 8, 9])\n");
  std::map<std::string, double> at{{"v[0]", -1}, {"v[1]", 2}, {"v[2]", 0}};
  CHECK_THAT(evalDef(p, "m", at), Equals(std::vector<double>{0, 2, 0}));
  CHECK_THAT(evalDef(p, "q", at), Equals(std::vector<double>{0.5, 4, 1}));
  CHECK_THAT(evalDef(p, "w", at), Equals(std::vector<double>{7, 2, 9}));
}

TEST_CASE("reductions", "[sema]") {
  LoweredProgram p = ok("param v[4]\nparam M[2][2]\n"
                        "s = sum(v)\nm = mean(v)\npr = prod(v)\nn = norm(v)\nmx = max(v)\nmn = min(v)\n"
                        "dd = dot(v, v)\nsm = sum(M)\nd2 = dot(M, M)\n");
  const double v[4] = {1.5, -2, 3.25, 0.5};
  std::map<std::string, double> at;
  for (int i = 0; i < 4; ++i) at["v[" + std::to_string(i) + "]"] = v[i];
  at["M[0][0]"] = 1; at["M[0][1]"] = 2; at["M[1][0]"] = 3; at["M[1][1]"] = 4;
  CHECK(evalDef(p, "s", at)[0] == Approx(3.25));
  CHECK(evalDef(p, "m", at)[0] == Approx(3.25 / 4));
  CHECK(evalDef(p, "pr", at)[0] == Approx(1.5 * -2 * 3.25 * 0.5));
  CHECK(evalDef(p, "n", at)[0] == Approx(std::sqrt(2.25 + 4 + 3.25 * 3.25 + 0.25)));
  CHECK(evalDef(p, "mx", at)[0] == 3.25);
  CHECK(evalDef(p, "mn", at)[0] == -2);
  CHECK(evalDef(p, "dd", at)[0] == Approx(2.25 + 4 + 3.25 * 3.25 + 0.25));
  CHECK(evalDef(p, "sm", at)[0] == 10);
  CHECK(evalDef(p, "d2", at)[0] == 30);
  for (const char *name : {"s", "m", "pr", "n", "mx", "mn", "dd", "sm", "d2"})
    CHECK(definition(p, name).value.shape.isScalar());
}

TEST_CASE("logsumexp is stable at large inputs", "[sema]") {
  LoweredProgram p = ok("param v[3]\nparam u[2]\nl = logsumexp(v)\nl2 = logsumexp(u)\nl1 = logsumexp(v[0])\n");
  // Reference in long double around the largest element: log(sum exp(v)) = m + log(sum exp(v - m)).
  auto reference = [](std::vector<long double> v) {
    long double m = *std::max_element(v.begin(), v.end()), s = 0;
    for (long double x : v) s += std::exp(x - m);
    return static_cast<double>(m + std::log(s));
  };
  for (double scale : {1.0, 500.0, 1000.0, -1000.0}) {
    std::map<std::string, double> at{{"v[0]", 1 * scale}, {"v[1]", 1.5 * scale}, {"v[2]", 0.2 * scale},
                                     {"u[0]", 2 * scale}, {"u[1]", 2.1 * scale}};
    INFO("scale " << scale);
    double got = evalDef(p, "l", at)[0];
    CHECK(std::isfinite(got));
    CHECK(got == Approx(reference({1 * scale, 1.5 * scale, 0.2 * scale})).epsilon(1e-14));
    CHECK(evalDef(p, "l2", at)[0] == Approx(reference({2 * scale, 2.1 * scale})).epsilon(1e-14));
    CHECK(evalDef(p, "l1", at)[0] == 1 * scale);
  }
  // Two elements lower to the shift plus the LogAddExp op of the shifted elements.
  const Node &l2 = p.graph[definition(p, "l2").value.elems[0]];
  REQUIRE(l2.op == Op::Add);
  CHECK(p.graph[l2.args[1]].op == Op::LogAddExp);
}

TEST_CASE("softmax is stable and sums to one", "[sema]") {
  LoweredProgram p = ok("param v[3]\ns = softmax(v)\n");
  CHECK(definition(p, "s").value.shape == shape({3}));
  for (double scale : {1.0, 800.0}) {
    const double v[3] = {1 * scale, 3 * scale, -2 * scale};
    std::map<std::string, double> at{{"v[0]", v[0]}, {"v[1]", v[1]}, {"v[2]", v[2]}};
    long double m = v[1], s = 0;
    for (double x : v) s += std::exp(static_cast<long double>(x) - m);
    std::vector<double> got = evalDef(p, "s", at);
    double total = 0;
    for (int i = 0; i < 3; ++i) {
      INFO("scale " << scale << " element " << i);
      CHECK(got[i] == Approx(static_cast<double>(std::exp(v[i] - m) / s)).epsilon(1e-14).margin(1e-300));
      total += got[i];
    }
    CHECK(total == Approx(1.0).epsilon(1e-15));
  }
}

TEST_CASE("onehot", "[sema]") {
  LoweredProgram p = ok("input k\nconst classes = 4\no = onehot(k, classes)\nc = onehot(2, 3)\n");
  CHECK(definition(p, "o").value.shape == shape({4}));
  CHECK_THAT(evalDef(p, "o", {{"k", 2}}), Equals(std::vector<double>{0, 0, 1, 0}));
  CHECK_THAT(evalDef(p, "o", {{"k", 0}}), Equals(std::vector<double>{1, 0, 0, 0}));
  CHECK_THAT(evalDef(p, "o", {{"k", 7}}), Equals(std::vector<double>{0, 0, 0, 0}));
  for (NodeId n : definition(p, "c").value.elems) CHECK(p.graph.isConstant(n));
  CHECK_THAT(evalDef(p, "c"), Equals(std::vector<double>{0, 0, 1}));
}

TEST_CASE("argmax and argmin: the index of the first extreme, NaN when there is none", "[sema]") {
  LoweredProgram p = ok("input v[4]\ninput M[2][3]\na = argmax(v)\nb = argmin(v)\nc = argmax(M)\n");
  CHECK(definition(p, "a").value.shape.isScalar());
  const std::map<std::string, double> v{{"v[0]", 1}, {"v[1]", 5}, {"v[2]", 5}, {"v[3]", -2}};
  CHECK(evalDef(p, "a", v)[0] == 1);  // the first of the two largest
  CHECK(evalDef(p, "b", v)[0] == 3);
  std::map<std::string, double> nan = v;
  nan["v[2]"] = std::nan("");
  CHECK(std::isnan(evalDef(p, "a", nan)[0]));
  std::map<std::string, double> m;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) m["M[" + std::to_string(i) + "][" + std::to_string(j) + "]"] = i == 1 && j == 0 ? 9 : i + j;
  CHECK(evalDef(p, "c", m)[0] == 3);  // row-major: M[1, 0]
}

TEST_CASE("pad puts zeros around a vector or a matrix", "[sema]") {
  LoweredProgram p = ok("input v[2]\ninput M[2][2]\na = pad(v, 1, 2)\nb = pad(M, 0, 1, 2, 0)\n");
  CHECK(definition(p, "a").value.shape == shape({5}));
  CHECK_THAT(evalDef(p, "a", {{"v[0]", 3}, {"v[1]", 4}}), Equals(std::vector<double>{0, 3, 4, 0, 0}));
  CHECK(definition(p, "b").value.shape == shape({3, 4}));
  CHECK_THAT(evalDef(p, "b", {{"M[0][0]", 1}, {"M[0][1]", 2}, {"M[1][0]", 3}, {"M[1][1]", 4}}),
             Equals(std::vector<double>{0, 0, 1, 2, 0, 0, 3, 4, 0, 0, 0, 0}));
}

TEST_CASE("constants fold", "[sema]") {
  LoweredProgram p = ok("const a = 2 * 3 + sum([1, 2])\nconst v = [a, a^2]\nparam w[v[0] - 6 + 2]\n");
  CHECK(p.graph[p.consts[0].value.elems[0]].value == 9);
  CHECK(p.graph[p.consts[1].value.elems[1]].value == 81);
  CHECK(p.params[0].vars.shape == shape({5}));
}

TEST_CASE("definitions may use names defined later", "[sema]") {
  LoweredProgram p = ok("minimize loss\nloss = (a - 1)^2\na = 2 * w\nparam w\n");
  REQUIRE(p.objective);
  CHECK(eval1(p, p.objective->expr, {{"w", 3}}) == 25);
  REQUIRE(p.definitions.size() == 2);
  CHECK(p.definitions[0].name == "loss");  // declaration order
  CHECK(p.definitions[1].name == "a");
}

TEST_CASE("functions inline by substitution", "[sema]") {
  LoweredProgram p = ok("param w\n"
                        "sq(t) = t * t\n"
                        "f(x, y) = (x^2 + y)^2 * (y - x*y)\n"
                        "g(a) = f(a, 2 * a) + sq(w)\n"
                        "c = g(w + 1)\n");
  REQUIRE(p.functions.size() == 3);
  const FunctionEntry &f = function(p, "f");
  REQUIRE(f.args.size() == 2);
  CHECK(f.args[0].name == "x");
  CHECK(f.args[1].name == "y");
  auto fRef = [](double x, double y) { return (x * x + y) * (x * x + y) * (y - x * y); };
  CHECK(eval1(p, f.result.elems[0], {{"x", 1.5}, {"y", -0.5}}) == Approx(fRef(1.5, -0.5)));
  const double w = 0.75, a = w + 1;
  CHECK(evalDef(p, "c", {{"w", w}})[0] == Approx(fRef(a, 2 * a) + w * w).epsilon(1e-15));
  // The call does not depend on the templates' argument symbols any more.
  for (NodeId n : p.graph.reachable(definition(p, "c").value.elems))
    if (p.graph[n].op == Op::Var) CHECK(p.graph.symbolName(p.graph[n].symbol) == "w");
}

TEST_CASE("a function argument shadows a global", "[sema]") {
  LoweredProgram p = ok("param x\nf(x) = 2 * x\nc = f(3)\n");
  CHECK(evalDef(p, "c", {{"x", 100}})[0] == 6);
}

TEST_CASE("functions may return arrays", "[sema]") {
  LoweredProgram p = ok("f(a, b) = [a + b, a * b]\nc = f(2, 5)\n");
  CHECK(definition(p, "c").value.shape == shape({2}));
  CHECK_THAT(evalDef(p, "c"), Equals(std::vector<double>{7, 10}));
}

TEST_CASE("a program of one function", "[sema]") {
  LoweredProgram p = ok("f(x, y) = (x^2 + y)^2 * (y - x*y)");
  REQUIRE(p.functions.size() == 1);
  CHECK_FALSE(p.objective);
  CHECK(p.params.empty());
}

TEST_CASE("bare expressions get free variables in order of first appearance", "[sema]") {
  LoweredProgram p = ok("y * sin(x) + x^2 - z / y", true);
  REQUIRE(p.bare);
  REQUIRE(p.bare->args.size() == 3);
  CHECK(p.bare->args[0].name == "y");
  CHECK(p.bare->args[1].name == "x");
  CHECK(p.bare->args[2].name == "z");
  CHECK(eval1(p, p.bare->result.elems[0], {{"x", 0.5}, {"y", 2}, {"z", 3}}) ==
        Approx(2 * std::sin(0.5) + 0.25 - 1.5));
}

TEST_CASE("the symbol table is deterministic", "[sema]") {
  const char *text = "param w[2]\ninput x[2]\nf(a) = a^2\nminimize f(dot(w, x))\n";
  LoweredProgram a = ok(text), b = ok(text);
  REQUIRE(a.graph.size() == b.graph.size());
  REQUIRE(a.graph.symbolCount() == b.graph.symbolCount());
  for (SymbolId s = 0; s < a.graph.symbolCount(); ++s) CHECK(a.graph.symbolName(s) == b.graph.symbolName(s));
  CHECK(a.objective->expr == b.objective->expr);
}

TEST_CASE("softmax regression: the objective is the cross-entropy", "[sema]") {
  LoweredProgram p = ok("param W[3][4]\nparam c[3]\ninput x[4] from (sepal_length .. petal_width)\n"
                        "input species\n"
                        "z = W @ x + c\n"
                        "minimize logsumexp(z) - dot(onehot(species, 3), z)\n"
                        "report acc = where(max(z) == dot(onehot(species, 3), z), 1, 0)\n");
  const double W[3][4] = {{0.5, -1, 0.25, 2}, {-0.3, 0.8, 1.5, -0.5}, {1, 1, -1, 0.1}};
  const double c[3] = {0.1, -0.2, 0.3}, x[4] = {5.1, 3.5, 1.4, 0.2};
  std::map<std::string, double> at;
  double z[3];
  for (int i = 0; i < 3; ++i) {
    z[i] = c[i];
    at["c[" + std::to_string(i) + "]"] = c[i];
    for (int j = 0; j < 4; ++j) {
      at["W[" + std::to_string(i) + "][" + std::to_string(j) + "]"] = W[i][j];
      z[i] += W[i][j] * x[j];
    }
  }
  for (int j = 0; j < 4; ++j) at["x[" + std::to_string(j) + "]"] = x[j];
  const int best = static_cast<int>(std::max_element(z, z + 3) - z);
  for (int k = 0; k < 3; ++k) {
    at["species"] = k;
    // -log softmax(z)_k, in long double.
    long double s = 0;
    for (double zi : z) s += std::exp(static_cast<long double>(zi));
    double want = static_cast<double>(std::log(s) - z[k]);
    INFO("class " << k);
    CHECK(eval1(p, p.objective->expr, at) == Approx(want).epsilon(1e-13));
    CHECK(eval1(p, p.reports[0].value.elems[0], at) == (k == best ? 1.0 : 0.0));
  }
  CHECK(p.inputs[0].columnRange);
}
