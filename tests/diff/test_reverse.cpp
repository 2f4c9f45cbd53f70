// The adjoint sweep as a whole: the cheap-gradient size targets, no x*1 / x+0 / Neg clutter,
// Hessians (symmetric, against finite differences), variables f does not use, nested derivatives
// to order 10, very deep chains, determinism, and random expressions against finite differences.
#include "diff_test_util.h"

#include "simplify/simplifier.h"

#include <catch2/catch.hpp>

#include <bit>
#include <cmath>

using namespace nabla;
using namespace nabla::difftest;

namespace {

std::size_t countNodes(const Graph &g, std::vector<NodeId> roots) {
  return g.reachable(roots).size();
}

std::vector<NodeId> with(NodeId f, const std::vector<NodeId> &more) {
  std::vector<NodeId> out{f};
  out.insert(out.end(), more.begin(), more.end());
  return out;
}

/// Nodes of the derivative DAG that a careful builder never makes: x*1, 1*x, x+0, 0+x, x-0, and
/// Neg(Neg(x)). Returns how many there are, and counts the Neg nodes in `negs`.
int clutter(const Graph &g, const std::vector<NodeId> &roots, int &negs) {
  int bad = 0;
  negs = 0;
  for (NodeId id : g.reachable(roots)) {
    const Node &n = g[id];
    auto isC = [&](int i, double v) { return g.isConstant(n.args[i], v); };
    switch (n.op) {
    case Op::Mul:
      bad += isC(0, 1) || isC(1, 1) || isC(0, -1) || isC(1, -1);
      break;
    case Op::Add:
      bad += isC(0, 0) || isC(1, 0);
      break;
    case Op::Sub:
      bad += isC(1, 0);
      break;
    case Op::Neg:
      ++negs;
      bad += g[n.args[0]].op == Op::Neg;
      break;
    default:
      break;
    }
  }
  return bad;
}

/// sin(cos(sin(...(x)))), `depth` ops, innermost sin.
NodeId sinCosChain(Vars &vs, int depth) {
  NodeId f = vs.v[0];
  for (int k = 0; k < depth; ++k)
    f = vs.op(k % 2 == 0 ? Op::Sin : Op::Cos, f);
  return f;
}

NodeId rosenbrock(Vars &vs) {
  NodeId f;
  for (std::size_t i = 0; i + 1 < vs.v.size(); ++i) {
    NodeId a = vs.op(Op::Sub, vs.v[i + 1], vs.op(Op::Pow, vs.v[i], vs.c(2)));
    NodeId b = vs.op(Op::Sub, vs.c(1), vs.v[i]);
    NodeId term = vs.op(Op::Add, vs.op(Op::Mul, vs.c(100), vs.op(Op::Pow, a, vs.c(2))),
                        vs.op(Op::Pow, b, vs.c(2)));
    f = f.valid() ? vs.op(Op::Add, f, term) : term;
  }
  return f;
}

} // namespace

TEST_CASE("cheap gradient: a depth-30 sin/cos chain", "[diff][size]") {
  Vars vs(1);
  NodeId f = sinCosChain(vs, 30);
  REQUIRE(countNodes(vs.g, {f}) == 31);
  std::vector<NodeId> grad = gradient(vs.g, f, vs.v);
  CHECK(countNodes(vs.g, with(f, grad)) <= 93);
  int negs = 0;
  CHECK(clutter(vs.g, grad, negs) == 0);
  CHECK(negs <= 1);
  // Against the chain rule done by hand.
  double x = 0.37, u = x, d = 1;
  for (int k = 0; k < 30; ++k) {
    d *= k % 2 == 0 ? std::cos(u) : -std::sin(u);
    u = k % 2 == 0 ? std::sin(u) : std::cos(u);
  }
  CHECK(near(vs.eval(grad[0], {x}), d, 1e-13));
}

TEST_CASE("cheap gradient: the product of 30 variables", "[diff][size]") {
  Vars vs(30);
  NodeId f = vs.v[0];
  for (int i = 1; i < 30; ++i)
    f = vs.op(Op::Mul, f, vs.v[i]);
  std::size_t base = countNodes(vs.g, {f});
  std::vector<NodeId> grad = gradient(vs.g, f, vs.v);
  CHECK(countNodes(vs.g, with(f, grad)) <= 3 * base);
  int negs = 0;
  CHECK(clutter(vs.g, grad, negs) == 0);
  CHECK(negs == 0);
  std::vector<double> at;
  for (int i = 0; i < 30; ++i)
    at.push_back(0.8 + 0.02 * i - (i % 7 == 3 ? 2 : 0));
  std::vector<double> got = vs.eval(grad, at);
  for (int i = 0; i < 30; ++i) {
    double want = 1;
    for (int j = 0; j < 30; ++j)
      if (j != i)
        want *= at[j];
    CHECK(near(got[i], want, 1e-14));
  }
}

TEST_CASE("cheap gradient: Rosenbrock in 100 variables", "[diff][size]") {
  Vars vs(100);
  NodeId f = rosenbrock(vs);
  std::size_t base = countNodes(vs.g, {f});
  std::vector<NodeId> grad = gradient(vs.g, f, vs.v);
  CHECK(countNodes(vs.g, with(f, grad)) <= 3 * base);
  int negs = 0;
  CHECK(clutter(vs.g, grad, negs) == 0);
  CHECK(negs <= 1);
  std::vector<double> at;
  for (int i = 0; i < 100; ++i)
    at.push_back(std::sin(1.3 * i) * 1.2);
  std::vector<double> got = vs.eval(grad, at);
  for (int i = 0; i < 100; ++i) {
    double want = 0;
    if (i + 1 < 100)
      want += -400 * at[i] * (at[i + 1] - at[i] * at[i]) - 2 * (1 - at[i]);
    if (i > 0)
      want += 200 * (at[i] - at[i - 1] * at[i - 1]);
    CHECK(near(got[i], want, 1e-12));
  }
}

TEST_CASE("signs are carried, not built", "[diff]") {
  Vars vs(2);
  NodeId x = vs.v[0], y = vs.v[1];
  std::vector<NodeId> grad = gradient(vs.g, vs.op(Op::Sub, x, y), vs.v);
  CHECK(vs.g.isConstant(grad[0], 1.0));
  CHECK(vs.g.isConstant(grad[1], -1.0));
  // d(a - b*c)/db = -c: one node, no Neg of a product.
  grad = gradient(vs.g, vs.op(Op::Sub, x, vs.op(Op::Mul, y, vs.op(Op::Sin, x))), vs.v);
  CHECK(vs.g[grad[1]].op == Op::Neg);
  CHECK(vs.g[vs.g[grad[1]].args[0]].op == Op::Sin);
  // cos(cos(x)): two minus signs cancel, no Neg at all.
  grad = gradient(vs.g, vs.op(Op::Cos, vs.op(Op::Cos, x)), {x});
  int negs = 0;
  CHECK(clutter(vs.g, grad, negs) == 0);
  CHECK(negs == 0);
  CHECK(near(vs.eval(grad[0], {0.4, 0}), -std::sin(std::cos(0.4)) * -std::sin(0.4), 1e-15));
  // x^2 gives 2*x, and the seed adjoint 1 never appears as a factor.
  grad = gradient(vs.g, vs.op(Op::Pow, x, vs.c(2)), {x});
  CHECK(vs.g[grad[0]].op == Op::Mul);
  CHECK(vs.g.isConstant(vs.g[grad[0]].args[0], 2.0));
  CHECK(vs.g[grad[0]].args[1] == x);
}

TEST_CASE("variables f does not depend on get the constant 0", "[diff]") {
  Vars vs(3);
  NodeId x = vs.v[0], y = vs.v[1], z = vs.v[2];
  NodeId f = vs.op(Op::Add, vs.op(Op::Mul, x, x), vs.op(Op::Mul, vs.c(3), x));
  std::vector<NodeId> grad = gradient(vs.g, f, {y, x, z, vs.c(2), f});
  CHECK(vs.g.isConstant(grad[0], 0.0));
  CHECK(vs.g.isConstant(grad[2], 0.0));
  CHECK(vs.g.isConstant(grad[3], 0.0)); // not a Var
  CHECK(vs.g.isConstant(grad[4], 0.0)); // not a Var
  CHECK(vs.eval(grad[1], {2, 0, 0}) == 7);
  // y only through a comparison, floor or a where condition: still exactly 0.
  NodeId g = vs.op(Op::Where, vs.op(Op::Gt, y, vs.c(0)), vs.op(Op::Mul, x, vs.op(Op::Floor, y)), x);
  grad = gradient(vs.g, g, {x, y});
  CHECK(vs.g.isConstant(grad[1], 0.0));
  CHECK(vs.eval(grad[0], {1, 2.5, 0}) == 2);
  // A constant function.
  grad = gradient(vs.g, vs.c(4), {x, y});
  CHECK(vs.g.isConstant(grad[0], 0.0));
  CHECK(vs.g.isConstant(grad[1], 0.0));
  std::vector<std::vector<NodeId>> h = hessian(vs.g, f, {x, y});
  CHECK(vs.eval(h[0][0], {5, 0, 0}) == 2);
  CHECK(vs.g.isConstant(h[0][1], 0.0));
  CHECK(vs.g.isConstant(h[1][1], 0.0));
  // Contributions that cancel exactly: d(x - x)/dx, also next to a masked term.
  CHECK(vs.g.isConstant(gradient(vs.g, vs.op(Op::Sub, x, x), {x})[0], 0.0));
  NodeId masked =
      vs.op(Op::Add, vs.op(Op::Sub, x, x), vs.op(Op::Where, vs.op(Op::Gt, x, vs.c(0)), y, x));
  grad = gradient(vs.g, masked, {x, y});
  CHECK(vs.eval(grad[0], {-1, 2, 0}) == 1);
  CHECK(vs.eval(grad[0], {1, 2, 0}) == 0);
  CHECK(vs.eval(grad[1], {1, 2, 0}) == 1);
  // A variable repeated in wrt gets the same derivative twice.
  grad = gradient(vs.g, f, {x, x});
  CHECK(grad[0] == grad[1]);
}

TEST_CASE("gradient only adds nodes", "[diff]") {
  Vars vs(2);
  NodeId f = rosenbrock(vs);
  std::vector<Node> before;
  for (std::uint32_t i = 0; i < vs.g.size(); ++i)
    before.push_back(vs.g[NodeId{i}]);
  hessian(vs.g, f, vs.v);
  REQUIRE(vs.g.size() >= before.size());
  for (std::uint32_t i = 0; i < before.size(); ++i) {
    CHECK(vs.g[NodeId{i}].op == before[i].op);
    CHECK(vs.g[NodeId{i}].args == before[i].args);
  }
}

TEST_CASE("the output is deterministic", "[diff]") {
  auto build = [] {
    auto vs = std::make_unique<Vars>(5);
    NodeId f = rosenbrock(*vs);
    f = vs->op(Op::Add, f, vs->op(Op::Max, vs->op(Op::Relu, vs->v[0]), vs->op(Op::Tanh, vs->v[3])));
    hessian(vs->g, f, vs->v);
    return vs;
  };
  auto a = build(), b = build();
  REQUIRE(a->g.size() == b->g.size());
  for (std::uint32_t i = 0; i < a->g.size(); ++i) {
    const Node &p = a->g[NodeId{i}], &q = b->g[NodeId{i}];
    CHECK((p.op == q.op && p.args == q.args && p.symbol == q.symbol &&
           std::bit_cast<std::uint64_t>(p.value) == std::bit_cast<std::uint64_t>(q.value)));
  }
}

TEST_CASE("a chain 100000 deep needs no recursion", "[diff]") {
  Vars vs(1);
  NodeId f = vs.v[0];
  const int depth = 100000;
  for (int k = 0; k < depth; ++k)
    f = vs.op(Op::Sin, f);
  std::vector<NodeId> grad = gradient(vs.g, f, vs.v);
  std::vector<double> us{0.9};
  for (int k = 0; k < depth; ++k)
    us.push_back(std::sin(us.back()));
  double d = 1;
  for (int k = depth; k-- > 0;)
    d *= std::cos(us[k]);
  CHECK(near(vs.eval(grad[0], {0.9}), d, 1e-10));
  CHECK(countNodes(vs.g, with(f, grad)) <= 3 * static_cast<std::size_t>(depth + 1));
}

TEST_CASE("Hessians are exactly symmetric and match finite differences of the gradient", "[diff]") {
  Vars vs(3);
  NodeId x = vs.v[0], y = vs.v[1], z = vs.v[2];
  // (x^2+y)^2*(y-x*y) + sin(x*z)/(1+y^2) + z*exp(-x)
  NodeId a = vs.op(Op::Mul, vs.op(Op::Pow, vs.op(Op::Add, vs.op(Op::Pow, x, vs.c(2)), y), vs.c(2)),
                   vs.op(Op::Sub, y, vs.op(Op::Mul, x, y)));
  NodeId b = vs.op(Op::Div, vs.op(Op::Sin, vs.op(Op::Mul, x, z)),
                   vs.op(Op::Add, vs.c(1), vs.op(Op::Mul, y, y)));
  NodeId c = vs.op(Op::Mul, z, vs.op(Op::Exp, vs.op(Op::Neg, x)));
  NodeId f = vs.op(Op::Add, vs.op(Op::Add, a, b), c);
  std::vector<NodeId> grad = gradient(vs.g, f, vs.v);
  std::vector<std::vector<NodeId>> h = hessian(vs.g, f, vs.v);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      CHECK(h[i][j] == h[j][i]);
  for (std::vector<double> at :
       {std::vector<double>{0.5, -0.5, 1.2}, {1.3, 0.7, -0.4}, {-0.8, 1.9, 2.5}}) {
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) {
        double fd = finiteDifference(
            [&](const std::vector<double> &p) { return vs.eval(grad[i], p); }, at, j);
        CHECK(near(vs.eval(h[i][j], at), fd, 1e-8));
      }
  }
  // The seed function's Hessian at (0.5, -0.5) from the reference data (z terms aside, in a
  // fresh graph): [[-0.75, -1.0625], [-1.0625, -1.0]].
  Vars w(2);
  NodeId s =
      w.op(Op::Mul, w.op(Op::Pow, w.op(Op::Add, w.op(Op::Pow, w.v[0], w.c(2)), w.v[1]), w.c(2)),
           w.op(Op::Sub, w.v[1], w.op(Op::Mul, w.v[0], w.v[1])));
  std::vector<std::vector<NodeId>> hs = hessian(w.g, s, w.v);
  CHECK(w.eval(hs[0][0], {0.5, -0.5}) == -0.75);
  CHECK(w.eval(hs[0][1], {0.5, -0.5}) == -1.0625);
  CHECK(w.eval(hs[1][1], {0.5, -0.5}) == -1.0);
}

TEST_CASE("the 10th derivative of sin(x)^7", "[diff][nested]") {
  Vars vs(1);
  NodeId d = vs.op(Op::Pow, vs.op(Op::Sin, vs.v[0]), vs.c(7));
  for (int k = 0; k < 10; ++k)
    d = simplify(vs.g, gradient(vs.g, d, vs.v))[0];
  // 50-digit value (mpmath): -3944825.65744244656383...
  double got = vs.eval(d, {0.7});
  CHECK(std::fabs(got - -3944825.6574424466) <= 1e-9 * 3944825.6574424466);
}

TEST_CASE("nested derivatives of where keep the mask", "[diff][nested]") {
  Vars vs(1);
  NodeId x = vs.v[0];
  // where(x > 0, sqrt(x)^5, 0): five derivatives at x = -1 are 0, at x = 4 they follow x^2.5.
  NodeId d = vs.op(Op::Where, vs.op(Op::Gt, x, vs.c(0)),
                   vs.op(Op::Pow, vs.op(Op::Sqrt, x), vs.c(5)), vs.c(0));
  double coef = 1, p = 2.5;
  for (int k = 0; k < 5; ++k) {
    d = gradient(vs.g, d, vs.v)[0];
    coef *= p;
    p -= 1;
    INFO("order " << k + 1);
    CHECK(vs.eval(d, {-1}) == 0);
    CHECK(near(vs.eval(d, {4}), coef * std::pow(4.0, p), 1e-12));
  }
}

TEST_CASE("random expressions: gradient and Hessian against finite differences", "[diff][random]") {
  std::mt19937_64 rng(12345);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); };
  for (int trial = 0; trial < 60; ++trial) {
    Vars vs(3);
    std::vector<NodeId> pool = vs.v;
    // Ops that are smooth and finite on all of R, so any random point is fine.
    for (int step = 0; step < 14; ++step) {
      NodeId a = pool[pool.size() - 1 - pick(std::min<int>(4, pool.size()))];
      NodeId b = pool[pick(pool.size())];
      NodeId one = vs.c(1);
      NodeId n;
      switch (pick(14)) {
      case 0:
        n = vs.op(Op::Add, a, b);
        break;
      case 1:
        n = vs.op(Op::Sub, a, b);
        break;
      case 2:
        n = vs.op(Op::Mul, a, vs.op(Op::Tanh, b));
        break;
      case 3:
        n = vs.op(Op::Sin, a);
        break;
      case 4:
        n = vs.op(Op::Cos, vs.op(Op::Mul, a, b));
        break;
      case 5:
        n = vs.op(Op::Div, a, vs.op(Op::Add, one, vs.op(Op::Mul, b, b)));
        break;
      case 6:
        n = vs.op(Op::Log, vs.op(Op::Add, one, vs.op(Op::Mul, a, a)));
        break;
      case 7:
        n = vs.op(Op::Sqrt, vs.op(Op::Add, one, vs.op(Op::Pow, a, vs.c(2))));
        break;
      case 8:
        n = vs.op(Op::Sigmoid, vs.op(Op::Sub, a, b));
        break;
      case 9:
        n = vs.op(Op::Softplus, a);
        break;
      case 10:
        n = vs.op(Op::Atan, vs.op(Op::Mul, a, b));
        break;
      case 11:
        n = vs.op(Op::LogAddExp, a, vs.op(Op::Neg, b));
        break;
      case 12:
        n = vs.op(Op::Pow, vs.op(Op::Tanh, a), vs.c(3));
        break;
      default:
        n = vs.op(Op::Exp, vs.op(Op::Sin, a));
        break;
      }
      pool.push_back(n);
    }
    NodeId f = pool.back();
    std::vector<NodeId> grad = gradient(vs.g, f, vs.v);
    std::vector<std::vector<NodeId>> h = hessian(vs.g, f, vs.v);
    std::vector<double> at{std::uniform_real_distribution<double>(-1.5, 1.5)(rng),
                           std::uniform_real_distribution<double>(-1.5, 1.5)(rng),
                           std::uniform_real_distribution<double>(-1.5, 1.5)(rng)};
    INFO("trial " << trial << " at " << at[0] << ", " << at[1] << ", " << at[2]);
    std::vector<double> g = vs.eval(grad, at);
    double gScale = 1, hScale = 1;
    std::vector<double> gfd(3), hfd(9), hv(9);
    for (int i = 0; i < 3; ++i) {
      gfd[i] = finiteDifference([&](const std::vector<double> &p) { return vs.eval(f, p); }, at, i);
      gScale = std::max(gScale, std::fabs(gfd[i]));
      for (int j = 0; j < 3; ++j) {
        hfd[3 * i + j] = finiteDifference(
            [&](const std::vector<double> &p) { return vs.eval(grad[i], p); }, at, j);
        hv[3 * i + j] = vs.eval(h[i][j], at);
        hScale = std::max(hScale, std::fabs(hfd[3 * i + j]));
      }
    }
    for (int i = 0; i < 3; ++i)
      CHECK(std::fabs(g[i] - gfd[i]) <= 1e-8 * gScale);
    for (int k = 0; k < 9; ++k)
      CHECK(std::fabs(hv[k] - hfd[k]) <= 1e-7 * hScale);
    CHECK(countNodes(vs.g, with(f, grad)) <= 4 * countNodes(vs.g, {f}));
  }
}
