// The Hessian's sparsity pattern (diff/sparsity.h) against the symbolic Hessian: on every case of
// the gradient reference data, the pattern holds every entry whose reference value is nonzero and
// equals the entries of the dense symbolic Hessian that are not the constant 0 (where it is wider,
// the difference is printed: a structural nonzero that the builder or the simplifier reduced to
// 0); on random sparse sums of small terms, the same; the chained Rosenbrock of 10^4 variables
// unrolled to scalars is tridiagonal; and the edge cases of the variables' list.
#include "diff_test_util.h"

#include "diff/sparsity.h"
#include "graph/print.h"
#include "pipeline.h"
#include "support/reference.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <iostream>
#include <set>

using namespace nabla;
using namespace nabla::difftest;

namespace {

using Entries = std::set<std::pair<std::size_t, std::size_t>>;

Entries entriesOf(const HessianPattern &p) {
  Entries out;
  for (std::size_t i = 0; i < p.n; ++i)
    for (std::int64_t j : p.row(i)) out.insert({i, static_cast<std::size_t>(j)});
  return out;
}

/// The entries of a dense symbolic Hessian that are not the constant 0.
Entries symbolicEntries(const Graph &g, const std::vector<std::vector<NodeId>> &h) {
  Entries out;
  for (std::size_t i = 0; i < h.size(); ++i)
    for (std::size_t j = 0; j < h[i].size(); ++j)
      if (!(g.isConstant(h[i][j]) && g[h[i][j]].value == 0)) out.insert({i, j});
  return out;
}

std::string show(const Entries &e) {
  std::string s;
  for (const auto &[i, j] : e) s += "(" + std::to_string(i) + "," + std::to_string(j) + ") ";
  return s;
}

/// The pattern is a valid CSR: n + 1 row starts, columns ascending, symmetric.
void checkWellFormed(const HessianPattern &p) {
  REQUIRE(p.rowStart.size() == p.n + 1);
  REQUIRE(p.rowStart.front() == 0);
  REQUIRE(static_cast<std::size_t>(p.rowStart.back()) == p.columns.size());
  for (std::size_t i = 0; i < p.n; ++i) {
    const auto r = p.row(i);
    for (std::size_t k = 1; k < r.size(); ++k) REQUIRE(r[k - 1] < r[k]);
    for (std::int64_t j : r) REQUIRE(p.contains(static_cast<std::size_t>(j), i));
  }
}

struct CaseResult {
  std::size_t cases = 0, wider = 0;
};

/// One reference case, its function simplified or not.
void checkCase(const test::ReferenceCase &c, bool simplifyOn, CaseResult &result) {
  CompileOptions options;
  options.parse.allowBareExpression = true;
  options.simplify = simplifyOn;
  options.lower.simplifyDerivatives = simplifyOn;
  SourceBuffer buffer("<" + c.name + ">", c.expr);
  DiagnosticSink sink(buffer);
  std::optional<LoweredProgram> program = compileSource(buffer, sink, options);
  INFO(c.name << " (" << c.expr << ")" << (simplifyOn ? "" : " [simplify off]"));
  REQUIRE(program);
  REQUIRE(program->bare);
  Graph &graph = program->graph;
  std::vector<NodeId> vars;
  for (const std::string &name : c.vars) {
    NodeId node;
    for (const VarGroup &arg : program->bare->args)
      if (arg.name == name && arg.nodes.size() == 1) node = arg.nodes[0];
    if (!node.valid()) node = graph.variable(graph.addSymbol(name));
    vars.push_back(node);
  }
  const Derivatives d = differentiate(graph, program->bare->result.elems[0], vars, true, options);
  // The pattern of the function the Hessian differentiated (simplified when simplifyOn).
  const HessianPattern p = hessianPattern(graph, d.value, vars);
  checkWellFormed(p);
  REQUIRE(p.n == c.vars.size());
  for (const test::ReferencePoint &point : c.points)
    for (std::size_t i = 0; i < p.n; ++i)
      for (std::size_t j = 0; j < p.n; ++j)
        if (point.hessian[i][j] != 0) {
          INFO("reference entry (" << i << ", " << j << ") = " << point.hessian[i][j]);
          CHECK(p.contains(i, j));
        }
  const Entries got = entriesOf(p), symbolic = symbolicEntries(graph, d.hessian);
  Entries missing, extra;
  std::set_difference(symbolic.begin(), symbolic.end(), got.begin(), got.end(),
                      std::inserter(missing, missing.end()));
  std::set_difference(got.begin(), got.end(), symbolic.begin(), symbolic.end(),
                      std::inserter(extra, extra.end()));
  INFO("symbolic entries the pattern lacks: " << show(missing));
  CHECK(missing.empty());
  ++result.cases;
  if (!extra.empty()) {
    ++result.wider;
    // Structural nonzeros the symbolic Hessian has as the constant 0: reported, not failed.
    std::cout << "  pattern wider than the symbolic Hessian" << (simplifyOn ? "" : " [simplify off]")
              << ": " << c.name << " (" << c.expr << "): " << show(extra) << "\n";
  }
}

}  // namespace

TEST_CASE("sparsity: the pattern of every reference Hessian", "[diff][sparsity]") {
  std::vector<test::ReferenceCase> cases = test::loadGradientCases();
  const std::vector<test::ReferenceCase> qa = test::loadGradientCases("reference/gradients_qa.json");
  cases.insert(cases.end(), qa.begin(), qa.end());
  for (bool simplifyOn : {false, true}) {
    CaseResult result;
    for (const test::ReferenceCase &c : cases) checkCase(c, simplifyOn, result);
    std::cout << "sparsity: " << result.cases << " reference cases"
              << (simplifyOn ? " (simplified)" : " (not simplified)") << ", " << result.wider
              << " with a pattern wider than the symbolic Hessian\n";
    // Where the pattern is wider, the symbolic builder saw a cancellation across two paths (the
    // derivative of v in v - (u + v) is 1 - 1): few cases, printed above.
    CHECK(result.wider * 50 < result.cases);
  }
}

namespace {

/// A random term of the variables `v` (1 to 3 of them): a small tree of random ops.
NodeId randomTerm(Vars &x, std::mt19937 &rng, const std::vector<NodeId> &v, int depth) {
  std::uniform_int_distribution<int> pick(0, 99);
  if (depth == 0 || pick(rng) < 20) {
    if (pick(rng) < 15) return x.c(std::uniform_real_distribution<double>(-2, 2)(rng));
    return v[std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng)];
  }
  static const Op unary[] = {Op::Exp,  Op::Sin,   Op::Tanh, Op::Sigmoid, Op::Softplus, Op::Relu,
                             Op::Abs,  Op::Neg,   Op::Atan, Op::Sign,    Op::Floor,    Op::Cosh,
                             Op::Log1p, Op::Sqrt, Op::Log};
  static const Op binary[] = {Op::Add, Op::Sub,   Op::Mul,   Op::Mul,       Op::Div,
                              Op::Pow, Op::Min,   Op::Max,   Op::Hypot,     Op::Atan2,
                              Op::LogAddExp, Op::Lt, Op::Mul};
  const int kind = pick(rng);
  if (kind < 35) {
    const Op op = unary[std::uniform_int_distribution<std::size_t>(0, std::size(unary) - 1)(rng)];
    return x.op(op, randomTerm(x, rng, v, depth - 1));
  }
  if (kind < 90) {
    const Op op = binary[std::uniform_int_distribution<std::size_t>(0, std::size(binary) - 1)(rng)];
    NodeId a = randomTerm(x, rng, v, depth - 1);
    NodeId b = op == Op::Pow && pick(rng) < 60
                   ? x.c(static_cast<double>(std::uniform_int_distribution<int>(0, 3)(rng)))
                   : randomTerm(x, rng, v, depth - 1);
    return x.op(op, a, b);
  }
  NodeId c = x.op(Op::Gt, randomTerm(x, rng, v, depth - 1), x.c(0));
  return x.op(Op::Where, c, randomTerm(x, rng, v, depth - 1), randomTerm(x, rng, v, depth - 1));
}

}  // namespace

TEST_CASE("sparsity: random sparse sums against the dense symbolic Hessian", "[diff][sparsity]") {
  std::mt19937 rng(2024);
  std::size_t wider = 0;
  for (int trial = 0; trial < 60; ++trial) {
    const int n = 4 + trial % 20;
    Vars x(n);
    NodeId f = x.c(0);
    const int terms = 1 + trial % 12;
    for (int t = 0; t < terms; ++t) {
      std::vector<NodeId> v;
      const int k = 1 + static_cast<int>(rng() % 3);
      const int base = static_cast<int>(rng() % static_cast<unsigned>(n));
      for (int i = 0; i < k; ++i) v.push_back(x.v[static_cast<std::size_t>((base + i * (1 + rng() % 3)) % n)]);
      f = x.op(Op::Add, f, randomTerm(x, rng, v, 1 + trial % 4));
    }
    // Every variable, and one listed twice (the same rows and columns as its first listing).
    std::vector<NodeId> vars = x.v;
    vars.push_back(x.v[0]);
    const HessianPattern p = hessianPattern(x.g, f, vars);
    checkWellFormed(p);
    const Entries got = entriesOf(p);
    const Entries symbolic = symbolicEntries(x.g, hessian(x.g, f, vars));
    Entries missing;
    std::set_difference(symbolic.begin(), symbolic.end(), got.begin(), got.end(),
                        std::inserter(missing, missing.end()));
    INFO("trial " << trial << ": missing " << show(missing));
    CHECK(missing.empty());
    if (got != symbolic) {
      ++wider;
      Entries extra;
      std::set_difference(got.begin(), got.end(), symbolic.begin(), symbolic.end(),
                          std::inserter(extra, extra.end()));
      std::cout << "  random trial " << trial << ": pattern wider than the symbolic Hessian: "
                << show(extra) << "\n    f = " << printExpr(x.g, f) << "\n";
    }
  }
  // Wider only where the builder cancelled a derivative of two paths (x - x, atan2(x, x)).
  CHECK(wider <= 8);
}

TEST_CASE("sparsity: the chained Rosenbrock of 10^4 variables is tridiagonal", "[diff][sparsity]") {
  const int n = 10000;
  Vars x(n);
  NodeId f = x.c(0);
  for (int i = 0; i + 1 < n; ++i) {
    NodeId xi = x.v[static_cast<std::size_t>(i)], next = x.v[static_cast<std::size_t>(i) + 1];
    NodeId r = x.op(Op::Sub, next, x.op(Op::Pow, xi, x.c(2)));
    NodeId s = x.op(Op::Sub, x.c(1), xi);
    f = x.op(Op::Add, f,
             x.op(Op::Add, x.op(Op::Mul, x.c(100), x.op(Op::Pow, r, x.c(2))), x.op(Op::Pow, s, x.c(2))));
  }
  const auto start = std::chrono::steady_clock::now();
  const HessianPattern p = hessianPattern(x.g, f, x.v);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "sparsity: chained Rosenbrock, n = " << n << ": " << p.nonzeros() << " nonzeros in "
            << seconds << " s\n";
  REQUIRE(p.n == static_cast<std::size_t>(n));
  REQUIRE(p.nonzeros() == static_cast<std::size_t>(3 * n - 2));
  for (int i = 0; i < n; ++i) {
    std::vector<std::int64_t> want;
    for (int j = std::max(0, i - 1); j <= std::min(n - 1, i + 1); ++j) want.push_back(j);
    const auto r = p.row(static_cast<std::size_t>(i));
    REQUIRE(std::vector<std::int64_t>(r.begin(), r.end()) == want);
  }
}

TEST_CASE("sparsity: products, quotients and powers couple what they should", "[diff][sparsity]") {
  Vars x(4);
  auto entries = [&](NodeId f) { return entriesOf(hessianPattern(x.g, f, x.v)); };
  const NodeId a = x.v[0], b = x.v[1], c = x.v[2], d = x.v[3];
  // x*y + z^2: (0,1), (1,0), (2,2).
  CHECK(entries(x.op(Op::Add, x.op(Op::Mul, a, b), x.op(Op::Pow, c, x.c(2)))) ==
        Entries{{0, 1}, {1, 0}, {2, 2}});
  // Linear and piecewise linear: nothing.
  CHECK(entries(x.op(Op::Add, x.op(Op::Mul, x.c(3), a), x.op(Op::Relu, x.op(Op::Sub, b, c)))).empty());
  CHECK(entries(x.op(Op::Max, x.op(Op::Abs, a), x.op(Op::Where, x.op(Op::Lt, a, b), c, d))).empty());
  // a/b: (0,1), (1,1); a/3 linear; 3/b: (1,1).
  CHECK(entries(x.op(Op::Div, a, b)) == Entries{{0, 1}, {1, 0}, {1, 1}});
  CHECK(entries(x.op(Op::Div, a, x.c(3))).empty());
  CHECK(entries(x.op(Op::Div, x.c(3), b)) == Entries{{1, 1}});
  // u^1 is linear, 1^v constant, 2^v nonlinear in v.
  CHECK(entries(x.op(Op::Pow, x.op(Op::Mul, a, x.c(2)), x.c(1))).empty());
  CHECK(entries(x.op(Op::Pow, x.c(1), b)).empty());
  CHECK(entries(x.op(Op::Pow, x.c(2), b)) == Entries{{1, 1}});
  // sin of a product: the product's own pair and its operands' squares.
  CHECK(entries(x.op(Op::Sin, x.op(Op::Mul, a, b))) == Entries{{0, 0}, {0, 1}, {1, 0}, {1, 1}});
  // floor and comparisons stop derivatives: nothing reaches the variables through them.
  CHECK(entries(x.op(Op::Mul, x.op(Op::Floor, x.op(Op::Mul, a, b)), c)).empty());
  CHECK(entries(x.op(Op::Sign, x.op(Op::Exp, x.op(Op::Mul, a, b)))).empty());
  // where's condition is not differentiated; its branches are, under it.
  CHECK(entries(x.op(Op::Where, x.op(Op::Gt, x.op(Op::Mul, a, b), x.c(0)), x.op(Op::Exp, c), d)) ==
        Entries{{2, 2}});
  // x*0 has derivative 0 by the builder's rules.
  CHECK(entries(x.op(Op::Exp, x.op(Op::Mul, a, x.c(0)))).empty());
}

TEST_CASE("sparsity: variables that are not variables, unused or absent", "[diff][sparsity]") {
  Vars x(3);
  const NodeId f = x.op(Op::Mul, x.v[0], x.v[1]);
  // A constant where a variable should be, a variable f does not read, f's own product node.
  const HessianPattern p = hessianPattern(x.g, f, {x.c(2), x.v[2], x.v[1], f, x.v[0]});
  checkWellFormed(p);
  CHECK(entriesOf(p) == Entries{{2, 4}, {4, 2}});
  // No variables at all; a constant function.
  CHECK(hessianPattern(x.g, f, {}).n == 0);
  CHECK(hessianPattern(x.g, x.c(1), x.v).nonzeros() == 0);
  // f a variable itself: linear.
  CHECK(hessianPattern(x.g, x.v[0], x.v).nonzeros() == 0);
}
