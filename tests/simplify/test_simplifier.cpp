// The driver: whole expressions, fixed point, idempotence, determinism, statistics, limits, long
// chains without recursion, graph size, and random DAGs whose values must not change.
#include "simplify/simplifier.h"

#include "diff/reverse.h"
#include "graph/interp.h"

#include <catch2/catch.hpp>

#include <cfloat>
#include <cmath>
#include <iostream>
#include <limits>
#include <random>
#include <sstream>
#include <string>

using namespace nabla;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Expressions by operator overloading, so that tests read like the math.
struct E {
  Graph *g;
  NodeId id;
};
E operator+(E a, E b) { return {a.g, a.g->make(Op::Add, a.id, b.id)}; }
E operator-(E a, E b) { return {a.g, a.g->make(Op::Sub, a.id, b.id)}; }
E operator*(E a, E b) { return {a.g, a.g->make(Op::Mul, a.id, b.id)}; }
E operator/(E a, E b) { return {a.g, a.g->make(Op::Div, a.id, b.id)}; }
E operator-(E a) { return {a.g, a.g->make(Op::Neg, a.id)}; }
E operator+(E a, double b) { return a + E{a.g, a.g->constant(b)}; }
E operator*(E a, double b) { return a * E{a.g, a.g->constant(b)}; }
E operator+(double a, E b) { return E{b.g, b.g->constant(a)} + b; }
E operator-(double a, E b) { return E{b.g, b.g->constant(a)} - b; }
E operator*(double a, E b) { return E{b.g, b.g->constant(a)} * b; }
E operator/(E a, double b) { return a / E{a.g, a.g->constant(b)}; }
E operator/(double a, E b) { return E{b.g, b.g->constant(a)} / b; }
E call(Op op, E a) { return {a.g, a.g->make(op, a.id)}; }
E exp(E a) { return call(Op::Exp, a); }
E log(E a) { return call(Op::Log, a); }
E sigmoid(E a) { return call(Op::Sigmoid, a); }
E var(Graph &g, const std::string &name) { return {&g, g.variable(g.addSymbol(name))}; }

std::size_t countOp(const Graph &g, const std::vector<NodeId> &roots, Op op) {
  std::size_t n = 0;
  for (NodeId id : g.reachable(roots))
    n += g[id].op == op;
  return n;
}

bool sameValue(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

/// The reachable DAG as text with ids renumbered densely: equal text means equal structure.
std::string structure(const Graph &g, const std::vector<NodeId> &roots) {
  std::vector<NodeId> order = g.reachable(roots);
  std::vector<std::size_t> dense(order.empty() ? 0 : order.back().index + 1);
  std::ostringstream out;
  out.precision(17);
  for (std::size_t i = 0; i < order.size(); ++i) {
    dense[order[i].index] = i;
    const Node &n = g[order[i]];
    out << i << ' ' << opName(n.op);
    if (n.op == Op::Const)
      out << ' ' << n.value;
    if (n.op == Op::Var)
      out << ' ' << g.symbolName(n.symbol);
    for (NodeId a : n.args)
      if (a.valid())
        out << " " << dense[a.index];
    out << '\n';
  }
  for (NodeId r : roots)
    out << "root " << dense[r.index] << '\n';
  return out.str();
}

double randomValue(std::mt19937_64 &rng) {
  static const double kSpecial[] = {0.0, -0.0, kInf,    -kInf,        kNaN,  1.0,     -1.0,
                                    2.0, 0.5,  DBL_MAX, DBL_TRUE_MIN, 1e300, -1e-300, 710.0};
  switch (rng() % 4) {
  case 0:
    return kSpecial[rng() % std::size(kSpecial)];
  case 1:
    return static_cast<double>(static_cast<int>(rng() % 7) - 3);
  default:
    return std::uniform_real_distribution<double>(-5, 5)(rng);
  }
}

/// Whether evaluating the roots at `at` divides by zero (or raises zero to a power, or takes
/// atan2 of a zero): only there can the sign of a zero, which rules may change (+0 and -0 count
/// as one value), turn into different non-zero results.
bool dividesByZero(const Graph &g, const std::vector<NodeId> &roots,
                   const std::vector<double> &at) {
  std::vector<NodeId> order = g.reachable(roots);
  std::vector<double> value(order.empty() ? 0 : order.back().index + 1);
  bool found = false;
  for (NodeId id : order) {
    const Node &n = g[id];
    double a = n.args[0].valid() ? value[n.args[0].index] : 0;
    double b = n.args[1].valid() ? value[n.args[1].index] : 0;
    double c = n.args[2].valid() ? value[n.args[2].index] : 0;
    if ((n.op == Op::Div && b == 0) || (n.op == Op::Pow && a == 0) ||
        (n.op == Op::Atan2 && (a == 0 || b == 0)))
      found = true;
    value[id.index] = n.op == Op::Const ? n.value
                      : n.op == Op::Var ? at[n.symbol]
                                        : evalOp(n.op, a, b, c);
  }
  return found;
}

/// A random DAG over `vars` variables: each new node picks its operands among earlier nodes
/// (so subexpressions are shared), with the shapes the rules look for made likely.
std::vector<NodeId> randomDag(Graph &g, std::mt19937_64 &rng, int vars, int nodes, int roots) {
  std::vector<NodeId> pool;
  for (int i = 0; i < vars; ++i)
    pool.push_back(g.variable(g.addSymbol("x" + std::to_string(i))));
  const double kConstants[] = {0, 1, -1, 2, 0.5, 4, -3, -0.0};
  for (double c : kConstants)
    pool.push_back(g.constant(c));
  const Op kOps[] = {Op::Add, Op::Add,   Op::Sub, Op::Sub,  Op::Mul,   Op::Mul,    Op::Div, Op::Neg,
                     Op::Neg, Op::Neg,   Op::Pow, Op::Abs,  Op::Sign,  Op::Exp,    Op::Log, Op::Not,
                     Op::Lt,  Op::Where, Op::Max, Op::Relu, Op::Floor, Op::Sigmoid};
  auto pick = [&] {
    // Mostly recent nodes, so that the DAG is deep rather than flat.
    std::size_t n = pool.size();
    std::size_t back = std::min<std::size_t>(n, 1 + rng() % 12);
    return (rng() % 3) ? pool[n - back] : pool[rng() % n];
  };
  for (int i = 0; i < nodes; ++i) {
    Op op = kOps[rng() % std::size(kOps)];
    NodeId a = pick(), b = pick(), c = pick();
    if (op == Op::Pow && rng() % 2)
      b = g.constant(static_cast<double>(rng() % 3));
    NodeId n = arity(op) == 1   ? g.make(op, a)
               : arity(op) == 2 ? g.make(op, a, b)
                                : g.make(op, a, b, c);
    pool.push_back(n);
  }
  std::vector<NodeId> out;
  for (int i = 0; i < roots; ++i)
    out.push_back(pool[pool.size() - 1 - rng() % std::min<std::size_t>(pool.size(), 20)]);
  return out;
}

} // namespace

TEST_CASE("minus minus x times one plus zero is x", "[simplify]") {
  Graph g;
  E x = var(g, "x");
  E e = (-(-x)) * 1.0 + 0.0;
  SimplifyStats stats;
  auto out = simplify(g, {e.id}, {}, &stats);
  CHECK(out[0] == x.id);
  CHECK(stats.stop == StopReason::FixedPoint);
  CHECK(stats.fired["neg-neg"] == 1);
  CHECK(stats.fired["mul-one-right"] == 1);
  CHECK(stats.fired["add-zero"] == 1);
}

TEST_CASE("negation moves out and cancels", "[simplify]") {
  Graph g;
  E a = var(g, "a"), b = var(g, "b"), c = var(g, "c");
  // (-a)*(-b) = a*b;  a - (-b) = a + b;  a + (-(b*c)) = a - b*c;  -(a - b) = b - a.
  auto out = simplify(
      g, {((-a) * (-b)).id, (a - (-b)).id, (a + (-b) * c).id, (-(a - b)).id, (0.0 - a).id});
  CHECK(out[0] == (a * b).id);
  CHECK(out[1] == (a + b).id);
  CHECK(out[2] == (a - b * c).id);
  CHECK(out[3] == (b - a).id);
  CHECK(out[4] == (-a).id);
}

TEST_CASE("constant factors gather where exact", "[simplify]") {
  Graph g;
  E x = var(g, "x");
  auto out = simplify(g, {(x + x + (x + x)).id, (x / 4.0 - 2.0 * x).id, (3.0 * (3.0 * x)).id});
  CHECK(out[0] == (4.0 * x).id);            // x+x -> 2x; 2x + 2x -> 2(2x) -> 4x
  CHECK(out[1] == (0.25 * x - 2.0 * x).id); // dividing by 4 is multiplying by 0.25
  CHECK(out[2] == (3.0 * (3.0 * x)).id);    // 3*(3*x) rounds differently from 9*x: kept
}

TEST_CASE("the gradient of minus x times log sigmoid z gets softplus", "[simplify]") {
  Graph g;
  E x = var(g, "x"), z = var(g, "z");
  E f = -(x * log(sigmoid(z)));
  std::vector<NodeId> roots{f.id};
  for (NodeId d : gradient(g, f.id, {x.id, z.id}))
    roots.push_back(d);
  std::vector<NodeId> raw = roots;
  SimplifyStats stats;
  auto out = simplify(g, roots, {}, &stats);
  CHECK(stats.stop == StopReason::FixedPoint);
  CHECK(stats.fired["log-sigmoid"] >= 1);
  CHECK(countOp(g, out, Op::Softplus) >= 1);
  CHECK(countOp(g, {out[0], out[1]}, Op::Log) == 0);
  // f = x * softplus(-z) and df/dx = softplus(-z) = log1p(exp(-z)), in long double.
  for (double zv : {-800.0, -40.0, -3.0, -1e-8, 0.0, 0.5, 20.0, 800.0}) {
    INFO("z = " << zv);
    long double sp = zv < 0 ? -zv + std::log1p(std::exp(static_cast<long double>(zv)))
                            : std::log1p(std::exp(-static_cast<long double>(zv)));
    std::vector<double> at{1.5, zv};
    std::vector<double> simplified = evaluate(g, out, at);
    std::vector<double> original = evaluate(g, raw, at);
    CHECK(simplified[1] == Approx(static_cast<double>(sp)).epsilon(1e-15));
    CHECK(simplified[0] == Approx(static_cast<double>(1.5L * sp)).epsilon(1e-15));
    // Never less accurate than the unsimplified gradient.
    if (std::isfinite(original[1]))
      CHECK(std::fabs(simplified[1] - sp) <=
            std::fabs(original[1] - sp) +
                4 * std::numeric_limits<double>::epsilon() * std::fabs(static_cast<double>(sp)));
    // d/dz = -x * (1 - sigmoid(z)) = -x * sigmoid(-z), in long double; far out, how the
    // differentiator writes it decides, not the simplifier.
    long double sig = 1 / (1 + std::exp(static_cast<long double>(zv)));
    if (std::fabs(zv) <= 40)
      CHECK(simplified[2] == Approx(static_cast<double>(-1.5L * sig)).epsilon(1e-13));
  }
}

TEST_CASE("log of a sum of exps becomes nested logaddexp", "[simplify]") {
  Graph g;
  E a = var(g, "a"), b = var(g, "b"), c = var(g, "c"), d = var(g, "d");
  E e = log(exp(a) + exp(b) + exp(c) + exp(d));
  SimplifyStats stats;
  auto out = simplify(g, {e.id}, {}, &stats);
  CHECK(g[out[0]].op == Op::LogAddExp);
  CHECK(countOp(g, out, Op::LogAddExp) == 3);
  CHECK(countOp(g, out, Op::Exp) == 0);
  CHECK(countOp(g, out, Op::Log) == 0);
  CHECK(stats.passes == 2); // the expansion finishes in the first sweep
  const double kPoints[][4] = {{0, 1, 2, 3},
                               {1000, 999, -5, 1000},
                               {-1000, -1001, -1000, -999.5},
                               {-kInf, -kInf, -kInf, -kInf},
                               {-kInf, 2, -kInf, 3},
                               {kInf, 1, 2, 3}};
  for (const auto &p : kPoints) {
    std::vector<double> at(p, p + 4);
    long double m = std::max({at[0], at[1], at[2], at[3]});
    long double ref = m;
    if (std::isfinite(m)) {
      long double s = 0;
      for (double v : at)
        s += std::exp(static_cast<long double>(v) - m);
      ref = m + std::log(s);
    }
    double got = evaluate(g, out, at)[0];
    INFO(at[0] << ' ' << at[1] << ' ' << at[2] << ' ' << at[3]);
    CHECK(got == Approx(static_cast<double>(ref)).epsilon(4e-16));
  }
}

TEST_CASE("stability rules can be turned off", "[simplify]") {
  Graph g;
  E x = var(g, "x");
  E e = log(1.0 + x);
  SimplifyOptions options;
  options.stability = false;
  auto off = simplify(g, {e.id}, options);
  CHECK(g[off[0]].op == Op::Log);
  CHECK(off[0] == log(x + 1.0).id); // the constant moved last, nothing more
  auto on = simplify(g, {e.id});
  CHECK(g[on[0]].op == Op::Log1p);
}

TEST_CASE("rules that would change a value are not applied", "[simplify]") {
  Graph g;
  E x = var(g, "x");
  std::vector<NodeId> roots{(0.0 * x).id, (x - x).id, (x / x).id, exp(log(x)).id, (0.0 / x).id};
  auto out = simplify(g, roots);
  CHECK(out == roots);
  // log(exp(x)) is x only as a stability rewrite (log(exp(710)) is inf): kept without them.
  SimplifyOptions noStability;
  noStability.stability = false;
  std::vector<NodeId> logExp{log(exp(x)).id};
  CHECK(simplify(g, logExp, noStability) == logExp);
  CHECK(simplify(g, logExp) == std::vector<NodeId>{x.id});
}

TEST_CASE("simplify reaches a fixed point and is idempotent and deterministic", "[simplify]") {
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    Graph g1;
    std::vector<NodeId> roots1 = randomDag(g1, rng, 3, 60, 4);
    SimplifyStats stats;
    auto once = simplify(g1, roots1, {}, &stats);
    CHECK(stats.stop == StopReason::FixedPoint);
    SimplifyStats again;
    auto twice = simplify(g1, once, {}, &again);
    CHECK(twice == once);
    CHECK(again.fired.empty());
    CHECK(again.passes == 1);

    std::mt19937_64 rng2(seed);
    Graph g2;
    std::vector<NodeId> roots2 = randomDag(g2, rng2, 3, 60, 4);
    auto other = simplify(g2, roots2);
    CHECK(structure(g1, once) == structure(g2, other));
  }
}

TEST_CASE("random DAGs keep their values exactly and do not grow", "[simplify]") {
  SimplifyOptions exactOnly;
  exactOnly.stability = false;
  std::size_t totalBefore = 0, totalAfter = 0, compared = 0;
  for (std::uint64_t seed = 100; seed < 400; ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    Graph g;
    std::vector<NodeId> roots = randomDag(g, rng, 3, 40, 3);
    auto out = simplify(g, roots, exactOnly);
    std::size_t before = g.reachable(roots).size(), after = g.reachable(out).size();
    totalBefore += before;
    totalAfter += after;
    CHECK(after <= before + before / 4 + 2);
    for (int draw = 0; draw < 40; ++draw) {
      std::vector<double> at{randomValue(rng), randomValue(rng), randomValue(rng)};
      if (dividesByZero(g, roots, at) || dividesByZero(g, out, at))
        continue;
      ++compared;
      // Each op as written, rounded on its own: the arithmetic in which every rule is exact. (In
      // the interpreter's fused arithmetic a rule may change whether its parent fuses.)
      auto want = evaluate(g, roots, at, false), got = evaluate(g, out, at, false);
      for (std::size_t i = 0; i < roots.size(); ++i) {
        INFO("root " << i << " at " << at[0] << ", " << at[1] << ", " << at[2]);
        CHECK(sameValue(want[i], got[i]));
      }
    }
  }
  CHECK(totalAfter < totalBefore);
  CHECK(compared >= 6000);
}

TEST_CASE("a shared negation pushed out grows the graph by at most half", "[simplify]") {
  Graph g;
  E a = var(g, "a");
  E n = -a;
  std::vector<NodeId> roots;
  for (int i = 0; i < 50; ++i)
    roots.push_back((n * var(g, "b" + std::to_string(i))).id);
  std::size_t before = g.reachable(roots).size();
  auto out = simplify(g, roots);
  CHECK(g.reachable(out).size() <= before + before / 2);
}

TEST_CASE("statistics count each rule's fires", "[simplify]") {
  Graph g;
  E x = var(g, "x"), y = var(g, "y");
  SimplifyStats stats;
  simplify(g, {(x * 1.0 + y * 1.0).id, (-(-y)).id}, {}, &stats);
  CHECK(stats.stop == StopReason::FixedPoint);
  CHECK(stats.passes == 2);
  CHECK(stats.fired.size() == 2);
  CHECK(stats.fired["mul-one-right"] == 2);
  CHECK(stats.fired["neg-neg"] == 1);
}

TEST_CASE("limits stop the driver with the right reason", "[simplify]") {
  Graph g;
  E a = var(g, "a"), b = var(g, "b");
  E e = (-a) * b; // needs two new nodes, -(a*b)

  SimplifyOptions onePass;
  onePass.limits.maxPasses = 1;
  SimplifyStats stats;
  auto out = simplify(g, {e.id}, onePass, &stats);
  CHECK(stats.stop == StopReason::PassLimit);
  CHECK(stats.passes == 1);
  CHECK(out[0] == (-(a * b)).id); // the one pass did its work

  SimplifyOptions noNodes;
  noNodes.limits.maxNewNodes = 0;
  E fresh = (-a) * (a + b);
  SimplifyStats limited;
  out = simplify(g, {fresh.id}, noNodes, &limited);
  CHECK(limited.stop == StopReason::NodeLimit);
  CHECK(limited.passes == 0);
  CHECK(out[0] == fresh.id); // the roots of the last complete sweep: the input
  CHECK(limited.fired.empty());

  SimplifyOptions zeroPasses;
  zeroPasses.limits.maxPasses = 0;
  SimplifyStats none;
  out = simplify(g, {fresh.id}, zeroPasses, &none);
  CHECK(none.stop == StopReason::PassLimit);
  CHECK(out[0] == fresh.id);
}

TEST_CASE("invalid and foreign roots", "[simplify]") {
  Graph g;
  E x = var(g, "x");
  auto out = simplify(g, {NodeId{}, (x * 1.0).id});
  CHECK_FALSE(out[0].valid());
  CHECK(out[1] == x.id);
  CHECK(simplify(g, {}).empty());
  CHECK_THROWS_AS(simplify(g, {NodeId{12345}}), std::logic_error);
}

TEST_CASE("long chains simplify without recursion", "[simplify]") {
  Graph g;
  E x = var(g, "x"), y = var(g, "y");
  // 100,000 additions, each of a negation: s + (-y) -> s - y all the way down.
  E s = x;
  for (int i = 0; i < 100000; ++i)
    s = s + (-y) * 1.0;
  SimplifyStats stats;
  auto out = simplify(g, {s.id}, {}, &stats);
  CHECK(stats.stop == StopReason::FixedPoint);
  CHECK(stats.fired["add-neg"] == 100000);
  CHECK(countOp(g, out, Op::Neg) == 0);
  CHECK(evaluate(g, out, std::vector<double>{1.0, 0.25})[0] == 1.0 - 100000 * 0.25);

  // 100,000 nested negations collapse to x.
  E n = x;
  for (int i = 0; i < 100000; ++i)
    n = -n;
  CHECK(simplify(g, {n.id})[0] == x.id);

  // log of a sum of 3,000 exps: a nested logaddexp chain 2,999 deep.
  E sum = exp(x) + exp(y);
  for (int i = 0; i < 2998; ++i)
    sum = sum + exp(var(g, "v" + std::to_string(i)));
  auto lse = simplify(g, {log(sum).id});
  CHECK(countOp(g, lse, Op::LogAddExp) == 2999);
  std::vector<double> zeros(g.symbolCount(), 0.0);
  CHECK(evaluate(g, lse, zeros)[0] == Approx(std::log(3000.0)).epsilon(1e-12));
}

TEST_CASE("trace names each rewrite", "[simplify]") {
  Graph g;
  E x = var(g, "x");
  SimplifyOptions options;
  options.trace = true;
  std::ostringstream captured;
  std::streambuf *old = std::cerr.rdbuf(captured.rdbuf());
  simplify(g, {(x * 1.0).id}, options);
  std::cerr.rdbuf(old);
  CHECK_THAT(captured.str(), Catch::Matchers::Contains("rewrite mul-one-right:"));
  CHECK_THAT(captured.str(), Catch::Matchers::Contains("Mul("));
  CHECK_THAT(captured.str(), Catch::Matchers::Contains(" x\n"));
}

TEST_CASE("simplified gradients of random DAGs keep their values and shrink", "[simplify]") {
  SimplifyOptions exactOnly;
  exactOnly.stability = false;
  std::size_t compared = 0, totalBefore = 0, totalAfter = 0;
  for (std::uint64_t seed = 1000; seed < 1150; ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    Graph g;
    std::vector<NodeId> f = randomDag(g, rng, 3, 30, 1);
    std::vector<NodeId> vars{g.variable(0), g.variable(1), g.variable(2)};
    std::vector<NodeId> roots = f;
    for (NodeId d : gradient(g, f[0], vars))
      roots.push_back(d);
    SimplifyStats stats;
    auto out = simplify(g, roots, exactOnly, &stats);
    CHECK(stats.stop == StopReason::FixedPoint);
    totalBefore += g.reachable(roots).size();
    totalAfter += g.reachable(out).size();
    CHECK(g.reachable(out).size() <= g.reachable(roots).size() + 2);
    for (int draw = 0; draw < 30; ++draw) {
      std::vector<double> at{randomValue(rng), randomValue(rng), randomValue(rng)};
      if (dividesByZero(g, roots, at) || dividesByZero(g, out, at))
        continue;
      ++compared;
      auto want = evaluate(g, roots, at), got = evaluate(g, out, at);
      for (std::size_t i = 0; i < roots.size(); ++i) {
        INFO("root " << i << " at " << at[0] << ", " << at[1] << ", " << at[2]);
        CHECK(sameValue(want[i], got[i]));
      }
    }
    // With the stability rules too: still a fixed point, and idempotent.
    SimplifyStats full;
    auto stable = simplify(g, roots, {}, &full);
    CHECK(full.stop == StopReason::FixedPoint);
    CHECK(simplify(g, stable) == stable);
  }
  CHECK(compared >= 1500);
  CHECK(totalAfter < totalBefore);
}
