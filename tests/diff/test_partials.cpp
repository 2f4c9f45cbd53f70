// Every op's derivative against central finite differences and against its textbook formula
// (written here with <cmath>, independently of the code under test), at random points; the
// conventions at kinks and ties; piecewise-constant ops contribute nothing.
#include "diff_test_util.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <optional>

using namespace nabla;
using namespace nabla::difftest;

namespace {

struct OpCase {
  std::vector<std::pair<double, double>> domain; // per argument: [lo, hi]
  /// The first derivatives at a point, from the textbook formula.
  std::function<std::vector<double>(const std::vector<double> &)> formula;
  /// Points too close to a kink or tie are skipped (FD would straddle it).
  std::function<bool(const std::vector<double> &)> avoid = nullptr;
};

double sq(double x) { return x * x; }
double sigm(double x) { return 1 / (1 + std::exp(-x)); }

std::map<Op, OpCase> smoothCases() {
  using V = std::vector<double>;
  std::map<Op, OpCase> m;
  auto unary = [&](Op op, double lo, double hi, double (*d)(double),
                   bool (*avoid)(double) = nullptr) {
    OpCase c;
    c.domain = {{lo, hi}};
    c.formula = [d](const V &x) { return V{d(x[0])}; };
    if (avoid)
      c.avoid = [avoid](const V &x) { return avoid(x[0]); };
    m[op] = c;
  };
  auto nearZero = [](double x) { return std::fabs(x) < 0.05; };
  unary(Op::Neg, -3, 3, [](double) { return -1.0; });
  unary(Op::Exp, -3, 3, [](double x) { return std::exp(x); });
  unary(Op::Log, 0.1, 5, [](double x) { return 1 / x; });
  unary(Op::Sqrt, 0.1, 5, [](double x) { return 0.5 / std::sqrt(x); });
  unary(Op::Sin, -3, 3, [](double x) { return std::cos(x); });
  unary(Op::Cos, -3, 3, [](double x) { return -std::sin(x); });
  unary(Op::Tan, -1.2, 1.2, [](double x) { return 1 / sq(std::cos(x)); });
  unary(Op::Asin, -0.9, 0.9, [](double x) { return 1 / std::sqrt(1 - x * x); });
  unary(Op::Acos, -0.9, 0.9, [](double x) { return -1 / std::sqrt(1 - x * x); });
  unary(Op::Atan, -3, 3, [](double x) { return 1 / (1 + x * x); });
  unary(Op::Sinh, -3, 3, [](double x) { return std::cosh(x); });
  unary(Op::Cosh, -3, 3, [](double x) { return std::sinh(x); });
  unary(Op::Tanh, -3, 3, [](double x) { return 1 / sq(std::cosh(x)); });
  unary(Op::Sigmoid, -6, 6, [](double x) { return std::exp(-x) / sq(1 + std::exp(-x)); });
  unary(Op::Softplus, -6, 6, [](double x) { return sigm(x); });
  unary(
      Op::Relu, -3, 3, [](double x) { return x > 0 ? 1.0 : 0.0; }, nearZero);
  unary(Op::Log1p, -0.8, 3, [](double x) { return 1 / (1 + x); });
  unary(Op::Expm1, -3, 3, [](double x) { return std::exp(x); });
  unary(
      Op::Abs, -3, 3, [](double x) { return x > 0 ? 1.0 : -1.0; }, nearZero);

  auto binary = [&](Op op, std::pair<double, double> da, std::pair<double, double> db,
                    std::function<V(const V &)> f, std::function<bool(const V &)> avoid = nullptr) {
    m[op] = OpCase{{da, db}, std::move(f), std::move(avoid)};
  };
  binary(Op::Add, {-3, 3}, {-3, 3}, [](const V &) { return V{1, 1}; });
  binary(Op::Sub, {-3, 3}, {-3, 3}, [](const V &) { return V{1, -1}; });
  binary(Op::Mul, {-3, 3}, {-3, 3}, [](const V &x) { return V{x[1], x[0]}; });
  binary(Op::Div, {-3, 3}, {0.3, 3}, [](const V &x) { return V{1 / x[1], -x[0] / sq(x[1])}; });
  binary(Op::Pow, {0.2, 3}, {-2, 2}, [](const V &x) {
    return V{x[1] * std::pow(x[0], x[1] - 1), std::pow(x[0], x[1]) * std::log(x[0])};
  });
  auto tie = [](const V &x) { return std::fabs(x[0] - x[1]) < 0.05; };
  binary(
      Op::Min, {-3, 3}, {-3, 3},
      [](const V &x) {
        return x[0] < x[1] ? V{1, 0} : V{0, 1};
      },
      tie);
  binary(
      Op::Max, {-3, 3}, {-3, 3},
      [](const V &x) {
        return x[0] > x[1] ? V{1, 0} : V{0, 1};
      },
      tie);
  binary(
      Op::Atan2, {-3, 3}, {-3, 3},
      [](const V &x) {
        double r2 = x[0] * x[0] + x[1] * x[1];
        return V{x[1] / r2, -x[0] / r2};
      },
      // FD must not straddle the branch cut on the negative x axis, nor the origin.
      [](const V &x) {
        return std::hypot(x[0], x[1]) < 0.2 || (x[1] < 0 && std::fabs(x[0]) < 0.1);
      });
  binary(
      Op::Hypot, {-3, 3}, {-3, 3},
      [](const V &x) {
        double h = std::sqrt(x[0] * x[0] + x[1] * x[1]);
        return V{x[0] / h, x[1] / h};
      },
      [](const V &x) { return std::hypot(x[0], x[1]) < 0.2; });
  binary(Op::LogAddExp, {-5, 5}, {-5, 5}, [](const V &x) {
    return V{sigm(x[0] - x[1]), sigm(x[1] - x[0])};
  });
  return m;
}

bool isZeroNode(const Graph &g, NodeId n) { return g.isConstant(n, 0.0); }

} // namespace

TEST_CASE("every op has a derivative rule that matches finite differences and its formula",
          "[diff]") {
  const std::map<Op, OpCase> cases = smoothCases();
  std::mt19937_64 rng(20261128);
  int checkedOps = 0;
  for (int o = 0; o < kOpCount; ++o) {
    const Op op = static_cast<Op>(o);
    if (op == Op::Const || op == Op::Var || op == Op::Where || isPiecewiseConstant(op) ||
        isFusedMultiplyAdd(op)) // never differentiated (tapes only)
      continue;
    INFO("op " << opName(op));
    auto it = cases.find(op);
    REQUIRE(it != cases.end()); // a new op in ops.def needs a case here
    const OpCase &c = it->second;
    const int n = arity(op);
    Vars vs(n);
    NodeId f = n == 1 ? vs.op(op, vs.v[0]) : vs.op(op, vs.v[0], vs.v[1]);
    std::vector<NodeId> grad = gradient(vs.g, f, vs.v);
    std::vector<std::vector<NodeId>> hess = hessian(vs.g, f, vs.v);
    int points = 0;
    for (int trial = 0; points < 25 && trial < 1000; ++trial) {
      std::vector<double> at;
      for (auto [lo, hi] : c.domain)
        at.push_back(std::uniform_real_distribution<double>(lo, hi)(rng));
      if (c.avoid && c.avoid(at))
        continue;
      ++points;
      INFO("at " << at[0] << (n > 1 ? ", " + std::to_string(at[1]) : std::string()));
      std::vector<double> got = vs.eval(grad, at);
      std::vector<double> formula = c.formula(at);
      for (int i = 0; i < n; ++i) {
        INFO("d/dx" << i);
        double fd =
            finiteDifference([&](const std::vector<double> &p) { return vs.eval(f, p); }, at, i);
        CHECK(near(got[i], formula[i], 1e-13));
        CHECK(near(got[i], fd, 1e-8));
        for (int j = 0; j < n; ++j) {
          INFO("d2/dx" << i << "dx" << j);
          double hfd = finiteDifference(
              [&](const std::vector<double> &p) { return vs.eval(grad[i], p); }, at, j);
          CHECK(near(vs.eval(hess[i][j], at), hfd, 1e-7));
        }
      }
    }
    CHECK(points == 25);
    ++checkedOps;
  }
  CHECK(checkedOps == static_cast<int>(cases.size()));
}

TEST_CASE("the chain rule through each unary op", "[diff]") {
  // op(u) with u = 0.3*x*y + 0.2*y, checked against finite differences of the composite.
  const std::map<Op, OpCase> cases = smoothCases();
  std::mt19937_64 rng(7);
  for (const auto &[op, c] : cases) {
    if (arity(op) != 1)
      continue;
    INFO("op " << opName(op));
    Vars vs(2);
    NodeId u = vs.op(Op::Add, vs.op(Op::Mul, vs.c(0.3), vs.op(Op::Mul, vs.v[0], vs.v[1])),
                     vs.op(Op::Mul, vs.c(0.2), vs.v[1]));
    NodeId f = vs.op(op, u);
    std::vector<NodeId> grad = gradient(vs.g, f, vs.v);
    int points = 0;
    for (int trial = 0; points < 10 && trial < 10000; ++trial) {
      std::vector<double> at{std::uniform_real_distribution<double>(-2, 2)(rng),
                             std::uniform_real_distribution<double>(0.5, 2)(rng)};
      double uv = 0.3 * at[0] * at[1] + 0.2 * at[1];
      auto [lo, hi] = c.domain[0];
      if (uv < lo || uv > hi || (c.avoid && c.avoid({uv})))
        continue;
      ++points;
      double du = c.formula({uv})[0];
      std::vector<double> got = vs.eval(grad, at);
      CHECK(near(got[0], du * 0.3 * at[1], 1e-12));
      CHECK(near(got[1], du * (0.3 * at[0] + 0.2), 1e-12));
    }
    CHECK(points == 10);
  }
}

TEST_CASE("piecewise-constant ops contribute exactly nothing", "[diff]") {
  for (int o = 0; o < kOpCount; ++o) {
    const Op op = static_cast<Op>(o);
    if (!isPiecewiseConstant(op))
      continue;
    INFO("op " << opName(op));
    Vars vs(2);
    NodeId f = arity(op) == 1 ? vs.op(op, vs.v[0]) : vs.op(op, vs.v[0], vs.v[1]);
    std::vector<NodeId> grad = gradient(vs.g, f, vs.v);
    CHECK(isZeroNode(vs.g, grad[0]));
    CHECK(isZeroNode(vs.g, grad[1]));
    // Also inside an expression: d(x * sign(x) + floor(x)*y)/dx = sign(x), no NaN from the kink.
    NodeId h = vs.op(Op::Mul, vs.v[0], f);
    std::vector<NodeId> gh = gradient(vs.g, h, {vs.v[0]});
    double a = 1.7, b = -0.4;
    CHECK(vs.eval(gh[0], {a, b}) == evalOp(op, a, b));
  }
}

TEST_CASE("where differentiates the chosen branch only", "[diff]") {
  Vars vs(3);
  NodeId f = vs.op(Op::Where, vs.v[0], vs.v[1], vs.v[2]);
  std::vector<NodeId> grad = gradient(vs.g, f, vs.v);
  CHECK(isZeroNode(vs.g, grad[0])); // the condition has derivative 0
  for (double cond : {-1.0, 0.0, 2.0, -0.0}) {
    INFO("condition " << cond);
    std::vector<double> got = vs.eval(grad, {cond, 5, 7});
    CHECK(got[1] == (cond != 0 ? 1.0 : 0.0));
    CHECK(got[2] == (cond != 0 ? 0.0 : 1.0));
  }
}

TEST_CASE("conventions at kinks and ties", "[diff]") {
  Vars vs(2);
  NodeId x = vs.v[0], y = vs.v[1];
  auto d = [&](NodeId f, const std::vector<double> &at) {
    return vs.eval(gradient(vs.g, f, vs.v), at);
  };
  auto d2 = [&](NodeId f, const std::vector<double> &at) {
    std::vector<double> out;
    for (const auto &row : hessian(vs.g, f, vs.v))
      for (double v : vs.eval(row, at))
        out.push_back(v);
    return out;
  };
  SECTION("abs'(0) = 0") {
    CHECK(d(vs.op(Op::Abs, x), {0, 0})[0] == 0);
    CHECK(d(vs.op(Op::Abs, x), {-0.0, 0})[0] == 0);
    CHECK(d(vs.op(Op::Abs, vs.op(Op::Sub, x, y)), {1.5, 1.5}) == std::vector<double>{0, 0});
    CHECK(d2(vs.op(Op::Abs, x), {0, 0}) == std::vector<double>{0, 0, 0, 0});
    CHECK(d(vs.op(Op::Abs, x), {-2, 0})[0] == -1);
  }
  SECTION("relu'(0) = 0") {
    CHECK(d(vs.op(Op::Relu, x), {0, 0})[0] == 0);
    CHECK(d(vs.op(Op::Relu, x), {1e-300, 0})[0] == 1);
    CHECK(d(vs.op(Op::Relu, x), {-1e-300, 0})[0] == 0);
    CHECK(d2(vs.op(Op::Relu, x), {0, 0}) == std::vector<double>{0, 0, 0, 0});
  }
  SECTION("max follows its first argument on ties") {
    CHECK(d(vs.op(Op::Max, x, y), {1, 1}) == std::vector<double>{1, 0});
    CHECK(d(vs.op(Op::Max, y, x), {1, 1}) == std::vector<double>{0, 1});
    CHECK(d(vs.op(Op::Max, x, y), {1, 2}) == std::vector<double>{0, 1});
    CHECK(d(vs.op(Op::Max, x, vs.c(0)), {0, 0})[0] == 1);
  }
  SECTION("min follows its first argument on ties") {
    CHECK(d(vs.op(Op::Min, x, y), {1, 1}) == std::vector<double>{1, 0});
    CHECK(d(vs.op(Op::Min, y, x), {1, 1}) == std::vector<double>{0, 1});
    CHECK(d(vs.op(Op::Min, x, y), {3, 2}) == std::vector<double>{0, 1});
  }
  SECTION("hypot at the origin has derivative 0, like abs") {
    CHECK(d(vs.op(Op::Hypot, x, y), {0, 0}) == std::vector<double>{0, 0});
    CHECK(d(vs.op(Op::Hypot, x, vs.c(0)), {-3, 0})[0] == -1);
  }
  SECTION("sign and floor have derivative 0 everywhere") {
    CHECK(d(vs.op(Op::Sign, x), {0, 0})[0] == 0);
    CHECK(d(vs.op(Op::Floor, x), {2, 0})[0] == 0);
  }
}

TEST_CASE("pow with a constant exponent never goes through log", "[diff]") {
  Vars vs(1);
  NodeId x = vs.v[0];
  auto d = [&](double c, double at) {
    NodeId f = vs.op(Op::Pow, x, vs.c(c));
    return vs.eval(gradient(vs.g, f, vs.v)[0], {at});
  };
  auto dd = [&](double c, double at) {
    NodeId f = vs.op(Op::Pow, x, vs.c(c));
    return vs.eval(hessian(vs.g, f, vs.v)[0][0], {at});
  };
  CHECK(d(3, -2) == 12);
  CHECK(dd(3, -2) == -12);
  CHECK(d(2, -1.5) == -3);
  CHECK(d(-1, -2) == -0.25);
  CHECK(dd(-1, -2) == -0.25);
  CHECK(d(-2, -2) == 0.25);
  CHECK(d(1, -5) == 1);
  CHECK(d(0, -5) == 0);
  CHECK(d(0.5, 4) == 0.25);
  CHECK(d(4, 0) == 0);
  CHECK(dd(2, 0) == 2);
  // (1 - x)^2 at x = 1.5, the reference's example: -2*(1 - x) = 1.
  NodeId rb = vs.op(Op::Pow, vs.op(Op::Sub, vs.c(1), x), vs.c(2));
  CHECK(vs.eval(gradient(vs.g, rb, vs.v)[0], {1.5}) == 1);
  // A constant base: d 2^x = log(2) 2^x; 1^x and 0^x have derivative 0.
  CHECK(near(vs.eval(gradient(vs.g, vs.op(Op::Pow, vs.c(2), x), vs.v)[0], {3}), 8 * std::log(2.0),
             1e-15));
  CHECK(vs.eval(gradient(vs.g, vs.op(Op::Pow, vs.c(1), x), vs.v)[0], {3}) == 0);
  CHECK(vs.eval(gradient(vs.g, vs.op(Op::Pow, vs.c(0), x), vs.v)[0], {3}) == 0);
}
