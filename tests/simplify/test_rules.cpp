// The rule tables: every pattern parses, the pattern parser rejects bad text with a message, and
// every rule keeps values — a randomized property test per rule over ordinary, huge, tiny,
// signed-zero, infinite and NaN inputs. Identity rules must agree exactly (+0 and -0 count as
// equal, NaN as equal to NaN); stability rules must be at least as close as the pattern to a
// long double evaluation of the exact value, with the same NaN/infinity results except where
// the pattern overflows and the replacement is finite and right.
#include "simplify/rule.h"

#include "graph/interp.h"

#include <catch2/catch.hpp>

#include <cfloat>
#include <cmath>
#include <fstream>
#include <limits>
#include <random>
#include <set>
#include <sstream>
#include <string>

using namespace nabla;
using namespace nabla::rules;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Ordinary doubles, huge and tiny ones (subnormals too), ±0, ±inf, NaN, integers, powers of
/// two and values near the edges where exp, log1p and sigmoid change behaviour.
double randomValue(std::mt19937_64 &rng) {
  auto uniform = [&](double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng);
  };
  auto sign = [&] { return (rng() & 1) ? 1.0 : -1.0; };
  static const double kSpecial[] = {
      0.0,     -0.0,     kInf,    -kInf,    kNaN,         1.0,    -1.0,  2.0,    0.5,
      DBL_MAX, -DBL_MAX, DBL_MIN, -DBL_MIN, DBL_TRUE_MIN, 709.78, 710.0, -710.0, 745.2,
      -745.2,  1000.0,   -1000.0, 36.7,     -36.7,        1e-300, 1e300};
  switch (rng() % 9) {
  case 0:
    return uniform(-4, 4);
  case 1:
    return sign() * std::pow(10.0, uniform(-8, 8));
  case 2:
    return sign() * std::pow(10.0, uniform(-323, 308));
  case 3:
    return kSpecial[rng() % std::size(kSpecial)];
  case 4:
    return static_cast<double>(static_cast<int>(rng() % 11) - 5);
  case 5:
    return sign() * std::ldexp(1.0, static_cast<int>(rng() % 2098) - 1074);
  case 6:
    return uniform(-40, 40);
  case 7:
    return sign() * std::pow(10.0, uniform(-17, -1)) + ((rng() & 1) ? sign() : 0.0);
  default:
    return sign() * std::ldexp(1.0, static_cast<int>(rng() % 12));
  }
}

bool sameValue(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

std::string show(double v) {
  std::ostringstream out;
  out.precision(17);
  out << v;
  return out.str();
}

/// evalOp again, in long double: the reference for the stability rules (independent code).
long double evalLong(Op op, long double a, long double b, long double c) {
  switch (op) {
  case Op::Neg:
    return -a;
  case Op::Exp:
    return std::exp(a);
  case Op::Log:
    return std::log(a);
  case Op::Log1p:
    return std::log1p(a);
  case Op::Expm1:
    return std::expm1(a);
  case Op::Sigmoid:
    return a >= 0 ? 1 / (1 + std::exp(-a)) : std::exp(a) / (1 + std::exp(a));
  case Op::Softplus:
    return a > 0 ? a + std::log1p(std::exp(-a)) : std::log1p(std::exp(a));
  case Op::LogAddExp: {
    if (std::isnan(a) || std::isnan(b))
      return a + b;
    long double m = std::fmax(a, b);
    if (std::isinf(m))
      return m;
    return m + std::log1p(std::exp(-std::fabs(a - b)));
  }
  case Op::Add:
    return a + b;
  case Op::Sub:
    return a - b;
  case Op::Mul:
    return a * b;
  case Op::Div:
    return a / b;
  case Op::Where:
    return a != 0 ? b : c; // NaN counts as true
  default:
    // Operand shapes only (comparisons, `!`): their values are exact in double.
    return evalOp(op, static_cast<double>(a), static_cast<double>(b), static_cast<double>(c));
  }
}

/// The rule's replacement in long double, its operands (the nodes bound to slots) taken at
/// their double values: the rule is an identity on those values, whatever computed them.
long double evaluateLong(const Graph &g, NodeId root, const std::vector<double> &symbols,
                         const Match &m) {
  std::vector<NodeId> order = g.reachable({root});
  std::vector<long double> value(root.index + 1);
  std::vector<char> isOperand(root.index + 1, 0);
  std::vector<NodeId> operands;
  for (NodeId id : m.any)
    if (id.valid() && id.index <= root.index)
      operands.push_back(id);
  std::vector<double> operandValues = evaluate(g, operands, symbols);
  for (std::size_t i = 0; i < operands.size(); ++i)
    isOperand[operands[i].index] = 1;
  for (NodeId id : order) {
    const Node &n = g[id];
    if (isOperand[id.index]) {
      for (std::size_t i = 0; i < operands.size(); ++i)
        if (operands[i] == id)
          value[id.index] = operandValues[i];
    } else if (n.op == Op::Const)
      value[id.index] = n.value;
    else if (n.op == Op::Var)
      value[id.index] = symbols[n.symbol];
    else
      value[id.index] =
          evalLong(n.op, value[n.args[0].index], n.args[1].valid() ? value[n.args[1].index] : 0,
                   n.args[2].valid() ? value[n.args[2].index] : 0);
  }
  return value[root.index];
}

long double ulp(double x) {
  x = std::fabs(x);
  if (!std::isfinite(x))
    return kInf;
  if (x == DBL_MAX)
    return std::ldexp(1.0L, 971);
  return static_cast<long double>(std::nextafter(x, kInf)) - x;
}

/// Empty when the stability rule's replacement `rhs` is acceptable against pattern value `lhs`.
/// `scale` is the largest magnitude the replacement combines where a few ulps of it is the
/// attainable accuracy (logaddexp(a, b) = m + log1p(...) is accurate to ulps of m, whatever
/// cancellation leaves of the result); 0 elsewhere.
std::string stabilityProblem(double lhs, double rhs, long double ref, double scale) {
  if (std::isnan(lhs) || std::isnan(rhs))
    return std::isnan(lhs) && std::isnan(rhs) ? "" : "NaN on one side only";
  if (lhs == rhs)
    return "";
  double refDouble = static_cast<double>(ref);
  if (std::isinf(rhs))
    return rhs == refDouble ? "" : "replacement is infinite";
  long double tolerance = 4 * ulp(refDouble) + 4 * ulp(scale);
  long double rhsError = std::fabs(static_cast<long double>(rhs) - ref);
  if (std::isinf(lhs)) {
    // The pattern overflowed in an intermediate; the replacement must be finite and right.
    if (std::isinf(refDouble))
      return "pattern infinite like the exact value, replacement finite";
    return rhsError <= tolerance ? "" : "replacement finite but inaccurate";
  }
  long double lhsError = std::fabs(static_cast<long double>(lhs) - ref);
  return rhsError <= lhsError + tolerance ? "" : "replacement less accurate than the pattern";
}

/// The largest |max(a, b)| over the logaddexp(a, b) nodes of `root`, in double.
double logAddExpScale(const Graph &g, NodeId root, const std::vector<double> &symbols) {
  double scale = 0;
  for (NodeId id : g.reachable({root})) {
    if (g[id].op != Op::LogAddExp)
      continue;
    std::vector<double> ab = evaluate(g, {g[id].args[0], g[id].args[1]}, symbols);
    double m = std::fmax(std::fabs(ab[0]), std::fabs(ab[1]));
    if (std::isfinite(m) && m > scale)
      scale = m;
  }
  return scale;
}

/// Something for a ?slot: mostly a plain variable, sometimes a shape that guards look for.
/// Products (cases 8-10) only for the stability rules: an addition of a product is evaluated
/// fused, so `a + -(2*e)` and `a - 2*e` round differently while both are right.
NodeId randomOperand(Graph &g, std::mt19937_64 &rng, bool stability) {
  auto var = [&] { return g.variable(g.addSymbol("v" + std::to_string(g.symbolCount()))); };
  std::uint64_t pick = rng() % 16;
  if (!stability && pick >= 8 && pick <= 10)
    pick = 15;
  switch (pick) {
  case 0:
    return g.make(Op::Lt, var(), var());
  case 1:
    return g.make(Op::Eq, var(), var());
  case 2:
    return g.make(Op::Not, var());
  case 3:
    return g.make(Op::Add, g.make(Op::Exp, var()), g.make(Op::Exp, var()));
  case 4:
    return g.make(Op::Add, g.make(Op::Add, g.make(Op::Exp, var()), g.make(Op::Exp, var())),
                  g.make(Op::Exp, var()));
  case 5:
    return g.make(Op::Neg, var());
  case 6:
    return g.make(Op::Exp, var());
  case 7:
    return g.constant(randomValue(rng));
  case 8: // what add-self and add-scaled-self make of exp(v) + exp(v) (+ exp(v))
    return g.make(Op::Mul, g.constant(rng() % 2 ? 2.0 : 3.0), g.make(Op::Exp, var()));
  case 9: // a sum of exps with a constant, as add-const-last leaves it
    return g.make(Op::Add, g.make(Op::Add, g.make(Op::Exp, var()), g.make(Op::Exp, var())),
                  g.constant(rng() % 2 ? 1.0 : 0.25));
  case 10:
    return g.make(Op::Add, g.make(Op::Mul, g.constant(2.0), g.make(Op::Exp, var())),
                  g.make(Op::Exp, var()));
  default:
    return var();
  }
}

struct RuleReport {
  int accepted = 0, checked = 0, failures = 0;
  std::string firstFailure;
};

RuleReport checkRule(const CompiledRule &rule, std::uint64_t seed) {
  RuleReport report;
  std::mt19937_64 rng(seed);
  for (int trial = 0; trial < 6000 && report.accepted < 600; ++trial) {
    Graph g;
    NodeFacts facts(g);
    Match bind;
    bind.graph = &g;
    bind.facts = &facts;
    for (const PatternNode &p : rule.lhs.nodes) {
      if (p.kind == PatternNode::Kind::Any && !bind.any[p.slot].valid())
        bind.any[p.slot] = randomOperand(g, rng, rule.stability);
      if (p.kind == PatternNode::Kind::Const && !bind.konst[p.slot].valid())
        bind.konst[p.slot] = g.constant(randomValue(rng));
    }
    NodeId lhs = buildPattern(g, rule.lhs, bind);
    Match m;
    m.graph = &g;
    m.facts = &facts;
    if (!matchPattern(rule.lhs, lhs, m))
      continue; // constant operands folded the pattern away
    if (rule.rule->when && !rule.rule->when(m))
      continue;
    NodeId rhs = buildPattern(g, rule.rhs, m);
    ++report.accepted;
    std::vector<double> symbols(g.symbolCount());
    for (int draw = 0; draw < 8; ++draw) {
      for (double &s : symbols)
        s = randomValue(rng);
      std::vector<double> out = evaluate(g, {lhs, rhs}, symbols);
      std::string problem;
      if (!rule.stability) {
        if (!sameValue(out[0], out[1]))
          problem = "values differ";
      } else {
        problem = stabilityProblem(out[0], out[1], evaluateLong(g, rhs, symbols, m),
                                   logAddExpScale(g, rhs, symbols));
      }
      ++report.checked;
      if (problem.empty())
        continue;
      if (report.failures++ == 0) {
        std::ostringstream text;
        text << problem << ": pattern " << show(out[0]) << ", replacement " << show(out[1])
             << " at";
        for (std::size_t i = 0; i < symbols.size(); ++i)
          text << ' ' << g.symbolName(i) << '=' << show(symbols[i]);
        for (int s = 0; s < 26; ++s)
          if (m.konst[s].valid())
            text << " #" << static_cast<char>('a' + s) << '=' << show(g[m.konst[s]].value);
        report.firstFailure = text.str();
      }
    }
  }
  return report;
}

} // namespace

TEST_CASE("every rule table parses", "[simplify]") {
  const RuleSet &set = ruleSet();
  for (const std::string &e : set.errors)
    FAIL_CHECK(e);
  std::size_t total = 0;
  std::set<std::string_view> names;
  for (const RuleFamily &family : ruleFamilies()) {
    CHECK_FALSE(family.rules.empty());
    for (const Rule &r : family.rules) {
      ++total;
      INFO(r.name);
      CHECK(names.insert(r.name).second); // names are an interface: unique
      std::string error;
      auto lhs = parsePattern(r.lhs, false, error);
      CHECK(lhs.has_value());
      auto rhs = parsePattern(r.rhs, true, error);
      CHECK(rhs.has_value());
      CHECK(error.empty());
    }
  }
  CHECK(set.rules.size() == total);
  CHECK(total >= 40);
}

TEST_CASE("patterns parse with nabla's precedence", "[simplify]") {
  std::string error;
  // -?x^2 is -(x^2); ?a - ?b - ?c is (a - b) - c; ?x^?y^?z is x^(y^z).
  auto p = parsePattern("-?x^2", false, error);
  REQUIRE(p);
  CHECK(p->root().op == Op::Neg);
  CHECK(p->nodes[p->root().args[0]].op == Op::Pow);

  p = parsePattern("?a - ?b - ?c", false, error);
  REQUIRE(p);
  CHECK(p->root().op == Op::Sub);
  CHECK(p->nodes[p->root().args[0]].op == Op::Sub);

  p = parsePattern("?x ^ ?y ^ ?z", false, error);
  REQUIRE(p);
  CHECK(p->nodes[p->root().args[1]].op == Op::Pow);

  p = parsePattern("?a + ?b * ?c < 1 && !?d || ?e", false, error);
  REQUIRE(p);
  CHECK(p->root().op == Op::Or);
  CHECK(p->nodes[p->root().args[0]].op == Op::And);

  p = parsePattern("where(?c, logaddexp(?a, -1), pow(?a, 2.5e-1))", false, error);
  REQUIRE(p);
  CHECK(p->root().op == Op::Where);
  const PatternNode &lae = p->nodes[p->root().args[1]];
  CHECK(lae.op == Op::LogAddExp);
  CHECK(p->nodes[lae.args[1]].kind == PatternNode::Kind::Literal);
  CHECK(p->nodes[lae.args[1]].value == -1.0);
  CHECK(p->nodes[p->nodes[p->root().args[2]].args[1]].value == 0.25);
  CHECK(p->depth == 2);
}

TEST_CASE("bad patterns are rejected with a message", "[simplify]") {
  struct Bad {
    const char *text;
    bool replacement;
    const char *says;
  };
  const Bad cases[] = {
      {"?x +", false, "unexpected end"},
      {"foo(?x)", false, "unknown function 'foo'"},
      {"sin(?x, ?y)", false, "'sin' takes 1 argument, not 2"},
      {"where(?c, ?a)", false, "takes 3 arguments"},
      {"?X", false, "letter a-z"},
      {"?xy", false, "one letter"},
      {"(?x", false, "expected ')'"},
      {"?x ?y", false, "unexpected '?'"},
      {"fold(#a)", false, "only in a replacement"},
      {"fold(?a + 1)", true, "only #constants"},
      {"", false, "unexpected end"},
      {"1..2", false, "bad number"},
      {"((((((((((((((((((((((((((((((((((?x))))))))))))))))))))))))))))))))))", false,
       "too deeply"},
  };
  for (const Bad &b : cases) {
    INFO(b.text);
    std::string error;
    CHECK_FALSE(parsePattern(b.text, b.replacement, error).has_value());
    CHECK_THAT(error, Catch::Matchers::Contains(b.says));
  }
}

TEST_CASE("every rule keeps values on random inputs", "[simplify]") {
  const RuleSet &set = ruleSet();
  for (std::size_t i = 0; i < set.rules.size(); ++i) {
    const CompiledRule &rule = set.rules[i];
    INFO("rule " << rule.rule->name << ": " << rule.rule->lhs << " -> " << rule.rule->rhs);
    RuleReport report = checkRule(rule, 0x5EED0000u + i);
    INFO(report.firstFailure);
    CHECK(report.failures == 0);
    // The guard must let enough cases through for the test to mean something.
    CHECK(report.accepted >= 100);
    CHECK(report.checked >= 800);
  }
}

TEST_CASE("stability rules are more accurate where it matters", "[simplify]") {
  // Fixed points where the pattern is visibly wrong; the replacement must be right.
  auto rhsValue = [](std::string_view name, std::vector<double> symbols) {
    for (const CompiledRule &rule : ruleSet().rules) {
      if (rule.rule->name != name)
        continue;
      Graph g;
      NodeFacts facts(g);
      Match m;
      m.graph = &g;
      m.facts = &facts;
      for (const PatternNode &p : rule.lhs.nodes)
        if (p.kind == PatternNode::Kind::Any && !m.any[p.slot].valid())
          m.any[p.slot] = g.variable(g.addSymbol(std::string(1, static_cast<char>('a' + p.slot))));
      NodeId lhs = buildPattern(g, rule.lhs, m);
      NodeId rhs = buildPattern(g, rule.rhs, m);
      return evaluate(g, {lhs, rhs}, symbols);
    }
    FAIL("no rule " << name);
    return std::vector<double>{};
  };
  auto v = rhsValue("log1p", {1e-20});
  CHECK(v[0] == 0.0);
  CHECK(v[1] == 1e-20);
  v = rhsValue("softplus-right", {1000});
  CHECK(std::isinf(v[0]));
  CHECK(v[1] == 1000.0);
  v = rhsValue("log-sigmoid", {-800});
  CHECK(v[0] == -kInf);
  CHECK(v[1] == -800.0);
  v = rhsValue("expm1", {1e-10});
  CHECK(std::fabs(v[1] - 1.00000000005e-10) <= 1e-25);
  CHECK(std::fabs(v[0] - 1.00000000005e-10) > 1e-18);
  v = rhsValue("logaddexp", {1000, 1000});
  CHECK(std::isinf(v[0]));
  CHECK(v[1] == Approx(1000 + std::log(2.0)).epsilon(1e-15));
  v = rhsValue("one-minus-sigmoid", {40});
  CHECK(v[0] == 0.0);
  CHECK(v[1] == Approx(std::exp(-40.0)).epsilon(1e-14));
}

TEST_CASE("docs/simplifier.md lists every rule", "[simplify]") {
  std::ifstream in(std::string(NABLA_SOURCE_DIR) + "/docs/simplifier.md");
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  for (const CompiledRule &rule : ruleSet().rules) {
    INFO(rule.rule->name);
    CHECK_THAT(text.str(), Catch::Matchers::Contains("`" + std::string(rule.rule->name) + "`"));
  }
}
