// A NaN or inf of a branch not taken never reaches a derivative: where, max/min and relu masks
// stay outside every later factor (JAX, PyTorch and CasADi give NaN in several of these cases).
#include "diff_test_util.h"

#include <catch2/catch.hpp>

#include <cmath>

using namespace nabla;
using namespace nabla::difftest;

namespace {

struct Fixture {
  Vars vs{2};
  NodeId x = vs.v[0], y = vs.v[1];
  NodeId zero = vs.c(0), one = vs.c(1), two = vs.c(2);
  NodeId gt(NodeId a, NodeId b) { return vs.op(Op::Gt, a, b); }
  NodeId where(NodeId c, NodeId a, NodeId b) { return vs.op(Op::Where, c, a, b); }
  NodeId sqrtx() { return vs.op(Op::Sqrt, x); }
  std::vector<double> grad(NodeId f, std::vector<double> at) {
    return vs.eval(gradient(vs.g, f, vs.v), at);
  }
  /// The Hessian, row-major.
  std::vector<double> hess(NodeId f, std::vector<double> at) {
    std::vector<double> out;
    for (const auto &row : hessian(vs.g, f, vs.v))
      for (double v : vs.eval(row, at))
        out.push_back(v);
    return out;
  }
};

bool allFinite(const std::vector<double> &v) {
  for (double d : v)
    if (!std::isfinite(d))
      return false;
  return true;
}

} // namespace

TEST_CASE("where(x > 0, sqrt(x), 0): the branch not taken gives 0, not NaN", "[diff][where]") {
  Fixture t;
  NodeId f = t.where(t.gt(t.x, t.zero), t.sqrtx(), t.zero);
  CHECK(t.grad(f, {-1, 0}) == std::vector<double>{0, 0});
  CHECK(t.grad(f, {4, 0}) == std::vector<double>{0.25, 0});
  CHECK(t.hess(f, {-1, 0}) == std::vector<double>{0, 0, 0, 0});
  CHECK(t.hess(f, {4, 0})[0] == -1.0 / 32);
  // The else branch taken: where(x > 0, log(x), x) at -2.
  NodeId g = t.where(t.gt(t.x, t.zero), t.vs.op(Op::Log, t.x), t.x);
  CHECK(t.grad(g, {-2, 0}) == std::vector<double>{1, 0});
  CHECK(t.grad(g, {0.5, 0}) == std::vector<double>{2, 0});
}

TEST_CASE("masked inf partials: 1/x, exp overflow, log(0)", "[diff][where]") {
  Fixture t;
  NodeId ne = t.vs.op(Op::Ne, t.x, t.zero);
  NodeId inv = t.where(ne, t.vs.op(Op::Div, t.one, t.x), t.zero);
  CHECK(t.grad(inv, {0, 0}) == std::vector<double>{0, 0});
  CHECK(t.grad(inv, {2, 0}) == std::vector<double>{-0.25, 0});
  CHECK(t.hess(inv, {0, 0}) == std::vector<double>{0, 0, 0, 0});
  // exp(x*x) is inf at x = 100; the taken branch is 3*x.
  NodeId big =
      t.where(t.vs.op(Op::Lt, t.x, t.vs.c(10)), t.vs.op(Op::Exp, t.vs.op(Op::Mul, t.x, t.x)),
              t.vs.op(Op::Mul, t.vs.c(3), t.x));
  CHECK(t.grad(big, {100, 0}) == std::vector<double>{3, 0});
  CHECK(t.hess(big, {100, 0}) == std::vector<double>{0, 0, 0, 0});
  NodeId lg = t.where(t.gt(t.x, t.zero), t.vs.op(Op::Mul, t.y, t.vs.op(Op::Log, t.x)), t.y);
  CHECK(t.grad(lg, {0, 3}) == std::vector<double>{0, 1});
  CHECK(t.hess(lg, {0, 3}) == std::vector<double>{0, 0, 0, 0});
}

TEST_CASE("nested where and a condition on another variable", "[diff][where]") {
  Fixture t;
  // where(x > 0, where(x < 1, sqrt(1 - x), log(x - 1)), y*y)
  NodeId inner =
      t.where(t.vs.op(Op::Lt, t.x, t.one), t.vs.op(Op::Sqrt, t.vs.op(Op::Sub, t.one, t.x)),
              t.vs.op(Op::Log, t.vs.op(Op::Sub, t.x, t.one)));
  NodeId f = t.where(t.gt(t.x, t.zero), inner, t.vs.op(Op::Mul, t.y, t.y));
  CHECK(t.grad(f, {-3, 2}) == std::vector<double>{0, 4});
  CHECK(t.grad(f, {0.75, 2}) == std::vector<double>{-1, 0}); // -1/(2 sqrt(0.25))
  CHECK(t.grad(f, {3, 2}) == std::vector<double>{0.5, 0});
  CHECK(t.hess(f, {-3, 2}) == std::vector<double>{0, 0, 0, 2});
  CHECK(t.hess(f, {3, 2}) == std::vector<double>{-0.25, 0, 0, 0});
  // The condition on y, the branch on x: where(y > 0, sqrt(x), x) at x = -1, y = -1.
  NodeId g = t.where(t.gt(t.y, t.zero), t.sqrtx(), t.x);
  CHECK(t.grad(g, {-1, -1}) == std::vector<double>{1, 0});
  CHECK(t.hess(g, {-1, -1}) == std::vector<double>{0, 0, 0, 0});
}

TEST_CASE("a masked node used again in other functions of x", "[diff][where]") {
  Fixture t;
  NodeId g = t.where(t.gt(t.x, t.zero), t.sqrtx(), t.zero);
  // f = g*g + exp(g) + sin(g) + x^2: at x = -1 only x^2 contributes.
  NodeId f = t.vs.op(Op::Add, t.vs.op(Op::Add, t.vs.op(Op::Mul, g, g), t.vs.op(Op::Exp, g)),
                     t.vs.op(Op::Add, t.vs.op(Op::Sin, g), t.vs.op(Op::Pow, t.x, t.two)));
  CHECK(t.grad(f, {-1, 0}) == std::vector<double>{-2, 0});
  CHECK(t.hess(f, {-1, 0}) == std::vector<double>{2, 0, 0, 0});
  // At x = 4 (g = 2): d/dx = (2g + e^g + cos g) / (2 sqrt x) + 2x.
  double gv = 2;
  double want = (2 * gv + std::exp(gv) + std::cos(gv)) / 4 + 8;
  CHECK(near(t.grad(f, {4, 0})[0], want, 1e-14));
}

TEST_CASE("masks survive sums of differently masked terms", "[diff][where]") {
  Fixture t;
  // One shared sqrt(x) under two different masks: (where(x>0,1,0) + where(x>1,2,0)) / (2 sqrt x)
  // would be 0 * NaN at x = -1; each mask must wrap its own product.
  NodeId s = t.sqrtx();
  NodeId f = t.vs.op(Op::Add, t.where(t.gt(t.x, t.zero), s, t.zero),
                     t.where(t.gt(t.x, t.one), t.vs.op(Op::Mul, t.two, s), t.zero));
  CHECK(t.grad(f, {-1, 0}) == std::vector<double>{0, 0});
  CHECK(t.hess(f, {-1, 0}) == std::vector<double>{0, 0, 0, 0});
  CHECK(t.grad(f, {0.25, 0}) == std::vector<double>{1, 0});
  CHECK(t.grad(f, {4, 0}) == std::vector<double>{0.75, 0});
  // A sum of masked and unmasked uses feeding log(x) through a shared product.
  NodeId l = t.vs.op(Op::Log, t.x);
  NodeId p = t.vs.op(Op::Mul, l, t.y);
  NodeId h =
      t.vs.op(Op::Add, t.where(t.gt(t.x, t.zero), p, t.y), t.where(t.gt(t.x, t.two), p, t.zero));
  CHECK(t.grad(h, {-1, 2}) == std::vector<double>{0, 1});
  CHECK(t.hess(h, {-1, 2}) == std::vector<double>{0, 0, 0, 0});
}

TEST_CASE("max, min and relu masks keep the branch not taken out", "[diff][where]") {
  Fixture t;
  NodeId pos = t.gt(t.x, t.zero);
  // max(log(x), -1) at x = -1 is NaN itself; under a where that is not taken it must not leak.
  NodeId m = t.where(pos, t.vs.op(Op::Max, t.vs.op(Op::Log, t.x), t.vs.c(-1)), t.y);
  CHECK(t.grad(m, {-1, 0}) == std::vector<double>{0, 1});
  CHECK(t.grad(m, {std::exp(1.0), 0})[0] == 1 / std::exp(1.0));
  CHECK(t.grad(m, {0.1, 0}) == std::vector<double>{0, 0});
  NodeId r = t.where(pos, t.vs.op(Op::Relu, t.vs.op(Op::Log, t.x)), t.zero);
  CHECK(t.grad(r, {-1, 0}) == std::vector<double>{0, 0});
  CHECK(t.grad(r, {2, 0})[0] == 0.5);
  CHECK(t.hess(r, {-1, 0}) == std::vector<double>{0, 0, 0, 0});
  // min(sqrt(x), y): the branch taken decides alone.
  NodeId mn = t.vs.op(Op::Min, t.vs.op(Op::Sqrt, t.x), t.y);
  CHECK(t.grad(mn, {9, 1}) == std::vector<double>{0, 1});
  CHECK(t.grad(mn, {0.25, 1}) == std::vector<double>{1, 0});
  // max(2x, sqrt(x - 5)) at x = 5: the branch not taken has an infinite partial.
  NodeId mx = t.vs.op(Op::Max, t.vs.op(Op::Mul, t.two, t.x),
                      t.vs.op(Op::Sqrt, t.vs.op(Op::Sub, t.x, t.vs.c(5))));
  CHECK(t.grad(mx, {5, 0}) == std::vector<double>{2, 0});
}

TEST_CASE("many masks fanning into one node stay finite and correct", "[diff][where]") {
  // More mask groups than the sweep keeps apart: 20 relus of one shared tanh(x*y).
  Vars vs(2);
  NodeId h = vs.op(Op::Tanh, vs.op(Op::Mul, vs.v[0], vs.v[1]));
  NodeId f = vs.c(0);
  for (int k = 0; k < 20; ++k)
    f = vs.op(Op::Add, f, vs.op(Op::Relu, vs.op(Op::Sub, h, vs.c(-0.95 + 0.1 * k))));
  std::vector<NodeId> grad = gradient(vs.g, f, vs.v);
  for (double x : {-1.3, -0.2, 0.4, 1.1}) {
    std::vector<double> at{x, 0.7};
    double hv = std::tanh(x * 0.7);
    int active = 0;
    for (int k = 0; k < 20; ++k)
      active += hv - (-0.95 + 0.1 * k) > 0;
    double dh = 1 - hv * hv;
    std::vector<double> got = vs.eval(grad, at);
    CHECK(near(got[0], active * dh * 0.7, 1e-13));
    CHECK(near(got[1], active * dh * x, 1e-13));
  }
  // And the graph stays linear in the number of relus.
  CHECK(vs.g.reachable(grad).size() < 400);
}

TEST_CASE("second derivatives through where stay finite where the function is finite",
          "[diff][where]") {
  Fixture t;
  // where(x > 0, x^1.5 * log(x), x^3)
  NodeId f = t.where(t.gt(t.x, t.zero),
                     t.vs.op(Op::Mul, t.vs.op(Op::Pow, t.x, t.vs.c(1.5)), t.vs.op(Op::Log, t.x)),
                     t.vs.op(Op::Pow, t.x, t.vs.c(3)));
  for (double x : {-2.0, -0.5, 0.0}) {
    INFO("x = " << x);
    CHECK(allFinite(t.grad(f, {x, 0})));
    std::vector<double> h = t.hess(f, {x, 0});
    CHECK(allFinite(h));
    CHECK(h[0] == 6 * x);
  }
  // On the other side, against finite differences.
  std::vector<NodeId> grad = gradient(t.vs.g, f, t.vs.v);
  double x = 1.7;
  double fd = finiteDifference([&](const std::vector<double> &p) { return t.vs.eval(grad[0], p); },
                               {x, 0}, 0);
  CHECK(near(t.hess(f, {x, 0})[0], fd, 1e-8));
}

TEST_CASE("deep chains of masks and wide sums of masks stay linear", "[diff][where]") {
  SECTION("relu(relu(...relu(x - h)... - h)), 100000 deep") {
    Vars vs(1);
    NodeId f = vs.v[0];
    const int depth = 100000;
    for (int k = 0; k < depth; ++k)
      f = vs.op(Op::Relu, vs.op(Op::Sub, f, vs.c(1e-5)));
    std::vector<NodeId> grad = gradient(vs.g, f, vs.v);
    CHECK(vs.eval(grad[0], {2}) == 1);   // stays positive all the way
    CHECK(vs.eval(grad[0], {0.5}) == 0); // reaches 0 halfway
    CHECK(vs.g.reachable({f, grad[0]}).size() < 8 * static_cast<std::size_t>(depth));
  }
  SECTION("a sum of 100000 relu(x - c_k)") {
    Vars vs(1);
    NodeId f = vs.c(0);
    const int n = 100000;
    for (int k = 0; k < n; ++k)
      f = vs.op(Op::Add, f, vs.op(Op::Relu, vs.op(Op::Sub, vs.v[0], vs.c(k))));
    std::vector<NodeId> grad = gradient(vs.g, f, vs.v);
    CHECK(vs.eval(grad[0], {1234.5}) == 1235);
    CHECK(vs.g.reachable({f, grad[0]}).size() < 10 * static_cast<std::size_t>(n));
  }
}

TEST_CASE("both sides of one condition become one where", "[diff][where]") {
  Vars vs(2);
  NodeId x = vs.v[0], y = vs.v[1];
  NodeId f = vs.op(Op::Max, vs.op(Op::Mul, x, y), vs.op(Op::Tanh, y));
  std::vector<NodeId> grad = gradient(vs.g, f, vs.v);
  const Node &dy = vs.g[grad[1]];
  REQUIRE(dy.op == Op::Where);
  CHECK(dy.args[1] == x); // where(x*y >= tanh(y), x, (1/cosh(y))^2)
  CHECK(vs.eval(grad[1], {2, 0.5}) == 2);
  const double sech = 1 / std::cosh(0.5);
  CHECK(vs.eval(grad[1], {-2, 0.5}) == sech * sech);
  // Same for where(c, u, u) and nested where with both branches depending on x.
  NodeId c = vs.op(Op::Gt, y, vs.c(0));
  NodeId w = vs.op(Op::Where, c, vs.op(Op::Sin, x), vs.op(Op::Mul, x, x));
  grad = gradient(vs.g, w, vs.v);
  CHECK(vs.g[grad[0]].op == Op::Where); // where(y > 0, cos(x), 2*x)
  CHECK(vs.g.reachable({grad[0]}).size() <= 8);
  CHECK(vs.eval(grad[0], {0.3, 1}) == std::cos(0.3));
  CHECK(vs.eval(grad[0], {0.3, -1}) == 0.6);
  // Opposite signs are summed instead: where(y > 0, cos(x), 0) - where(y > 0, 0, sin(x)).
  grad = gradient(vs.g, vs.op(Op::Where, c, vs.op(Op::Sin, x), vs.op(Op::Cos, x)), vs.v);
  CHECK(vs.eval(grad[0], {0.3, 1}) == std::cos(0.3));
  CHECK(vs.eval(grad[0], {0.3, -1}) == -std::sin(0.3));
}
