// The printer on hand-built graphs: minimal parentheses, constants, shared temporaries, DOT, and
// no recursion over long chains. (Round trips through the parser live in tests/cli/.)
#include "graph/print.h"

#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>

using namespace nabla;

namespace {

struct Builder {
  Graph g;
  NodeId var(const std::string &name) { return g.variable(g.addSymbol(name)); }
  NodeId c(double v) { return g.constant(v); }
  NodeId op(Op o, NodeId a, NodeId b = {}, NodeId c = {}) { return g.make(o, a, b, c); }
  /// printExpr, checking on the way that printedLengths agrees with the text.
  std::string print(NodeId root) {
    std::string text = printExpr(g, root);
    CHECK(printedLengths(g, {root}).front() == text.size());
    return text;
  }
};

std::size_t count(const std::string &text, const std::string &what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

}  // namespace

TEST_CASE("precedence and associativity get minimal parentheses", "[print]") {
  Builder b;
  NodeId x = b.var("x"), y = b.var("y"), a = b.var("a"), bb = b.var("b"), c = b.var("c");
  NodeId two = b.c(2);

  CHECK(b.print(b.op(Op::Neg, b.op(Op::Pow, x, two))) == "-x^2");
  CHECK(b.print(b.op(Op::Pow, b.op(Op::Neg, x), two)) == "(-x)^2");
  CHECK(b.print(b.op(Op::Sub, a, b.op(Op::Sub, bb, c))) == "a - (b - c)");
  CHECK(b.print(b.op(Op::Sub, b.op(Op::Sub, a, bb), c)) == "a - b - c");
  CHECK(b.print(b.op(Op::Add, a, b.op(Op::Add, bb, c))) == "a + (b + c)");
  CHECK(b.print(b.op(Op::Add, b.op(Op::Sub, a, bb), c)) == "a - b + c");
  CHECK(b.print(b.op(Op::Div, a, b.op(Op::Mul, bb, c))) == "a/(b*c)");
  CHECK(b.print(b.op(Op::Mul, b.op(Op::Div, a, bb), c)) == "a/b*c");
  CHECK(b.print(b.op(Op::Div, b.op(Op::Mul, a, bb), c)) == "a*b/c");
  CHECK(b.print(b.op(Op::Pow, b.op(Op::Pow, a, bb), c)) == "(a^b)^c");
  CHECK(b.print(b.op(Op::Pow, a, b.op(Op::Pow, bb, c))) == "a^b^c");
  CHECK(b.print(b.op(Op::Mul, b.op(Op::Mul, two, x), b.op(Op::Add, y, b.c(1)))) == "2*x*(y + 1)");
  CHECK(b.print(b.op(Op::Pow, b.op(Op::Add, b.op(Op::Pow, x, two), y), two)) == "(x^2 + y)^2");
  CHECK(b.print(b.op(Op::Mul, b.op(Op::Add, a, bb), b.op(Op::Sub, c, x))) == "(a + b)*(c - x)");
  CHECK(b.print(b.op(Op::Add, b.op(Op::Mul, a, bb), b.op(Op::Div, c, x))) == "a*b + c/x");
  CHECK(b.print(b.op(Op::Neg, b.op(Op::Add, a, bb))) == "-(a + b)");
  CHECK(b.print(b.op(Op::Neg, b.op(Op::Mul, a, bb))) == "-(a*b)");
  CHECK(b.print(b.op(Op::Mul, b.op(Op::Neg, a), bb)) == "-a*b");
  CHECK(b.print(b.op(Op::Sub, b.op(Op::Neg, x), y)) == "-x - y");
  CHECK(b.print(b.op(Op::Pow, b.op(Op::Exp, x), two)) == "exp(x)^2");
  CHECK(b.print(b.op(Op::Exp, b.op(Op::Add, x, y))) == "exp(x + y)");
}

TEST_CASE("a prefix operator never follows another operator", "[print]") {
  Builder b;
  NodeId x = b.var("x"), y = b.var("y");
  CHECK(b.print(b.op(Op::Neg, b.op(Op::Neg, x))) == "-(-x)");
  CHECK(b.print(b.op(Op::Add, x, b.op(Op::Neg, y))) == "x + (-y)");
  CHECK(b.print(b.op(Op::Sub, x, b.op(Op::Neg, y))) == "x - (-y)");
  CHECK(b.print(b.op(Op::Mul, x, b.op(Op::Neg, y))) == "x*(-y)");
  CHECK(b.print(b.op(Op::Pow, x, b.op(Op::Neg, y))) == "x^(-y)");
  // The right operand's text would start with '-' even though `*` binds tighter than `+`.
  CHECK(b.print(b.op(Op::Add, x, b.op(Op::Mul, b.op(Op::Neg, x), y))) == "x + (-x*y)");
  CHECK(b.print(b.op(Op::Not, b.op(Op::Not, x))) == "!(!x)");
  CHECK(b.print(b.op(Op::Neg, b.op(Op::Pow, b.op(Op::Neg, x), b.c(2)))) == "-(-x)^2");
}

TEST_CASE("negative constants print as prefix minus, parenthesized after an operator", "[print]") {
  Builder b;
  NodeId x = b.var("x");
  CHECK(b.print(b.op(Op::Mul, x, b.c(-2))) == "x*(-2)");
  CHECK(b.print(b.op(Op::Mul, b.c(-2), x)) == "-2*x");
  CHECK(b.print(b.op(Op::Pow, x, b.c(-2))) == "x^(-2)");
  CHECK(b.print(b.op(Op::Pow, b.c(-2), x)) == "(-2)^x");
  CHECK(b.print(b.op(Op::Add, x, b.c(-0.5))) == "x + (-0.5)");
  CHECK(b.print(b.op(Op::Neg, b.op(Op::Sub, b.c(-1), x))) == "-(-1 - x)");
  CHECK(b.print(b.op(Op::Exp, b.op(Op::Mul, b.c(-1), x))) == "exp(-1*x)");
}

TEST_CASE("built-ins, comparisons and logic print by their spelling", "[print]") {
  Builder b;
  NodeId x = b.var("x"), y = b.var("y"), z = b.var("z");
  CHECK(b.print(b.op(Op::Where, b.op(Op::Lt, x, y), x, y)) == "where(x < y, x, y)");
  CHECK(b.print(b.op(Op::LogAddExp, x, b.op(Op::Neg, y))) == "logaddexp(x, -y)");
  CHECK(b.print(b.op(Op::Atan2, y, x)) == "atan2(y, x)");
  CHECK(b.print(b.op(Op::Softplus, b.op(Op::Neg, x))) == "softplus(-x)");
  CHECK(b.print(b.op(Op::Not, x)) == "!x");
  CHECK(b.print(b.op(Op::Not, b.op(Op::Lt, x, y))) == "!(x < y)");
  CHECK(b.print(b.op(Op::Lt, b.op(Op::Lt, x, y), z)) == "(x < y) < z");
  CHECK(b.print(b.op(Op::Le, b.op(Op::Add, x, y), b.op(Op::Mul, y, z))) == "x + y <= y*z");
  CHECK(b.print(b.op(Op::Eq, x, b.op(Op::Neg, y))) == "x == (-y)");
  CHECK(b.print(b.op(Op::Or, b.op(Op::And, x, y), z)) == "x && y || z");
  CHECK(b.print(b.op(Op::And, b.op(Op::Or, x, y), z)) == "(x || y) && z");
  CHECK(b.print(b.op(Op::And, x, b.op(Op::And, y, z))) == "x && (y && z)");
  CHECK(b.print(b.op(Op::Or, b.op(Op::Ne, x, y), b.op(Op::Ge, y, z))) == "x != y || y >= z");
  CHECK(b.print(b.op(Op::Mul, b.op(Op::Gt, x, y), z)) == "(x > y)*z");
}

TEST_CASE("constants print as the shortest decimal that round-trips", "[print]") {
  Builder b;
  CHECK(b.print(b.c(0.1)) == "0.1");
  CHECK(b.print(b.c(2)) == "2");
  CHECK(b.print(b.c(1e20)) == "1e20");
  CHECK(b.print(b.c(1e-5)) == "1e-5");
  CHECK(b.print(b.c(-1e-300)) == "-1e-300");
  CHECK(b.print(b.c(1.0 / 3)) == "0.3333333333333333");
  CHECK(b.print(b.c(0.1 + 0.2)) == "0.30000000000000004");
  CHECK(b.print(b.c(std::numeric_limits<double>::infinity())) == "(1/0)");
  CHECK(b.print(b.c(-std::numeric_limits<double>::infinity())) == "(-1/0)");
  CHECK(b.print(b.c(std::nan(""))) == "(0/0)");
  CHECK(b.print(b.c(-0.0)) == "(-0)");
  CHECK(b.print(b.c(0.0)) == "0");
  CHECK(b.print(b.c(std::numeric_limits<double>::denorm_min())) == "(1*2^(-1074))");
  CHECK(b.print(b.op(Op::Mul, b.var("x"), b.c(-0.0))) == "x*(-0)");

  // Random bit patterns: the text is at most 17 digits and strtod gives back the same bits.
  std::mt19937_64 rng(20261128);
  for (int i = 0; i < 5000; ++i) {
    double v = std::bit_cast<double>(rng());
    if (!std::isfinite(v) || std::fabs(v) < std::numeric_limits<double>::min())
      continue;
    std::string text = printExpr(b.g, b.c(v));
    INFO(text);
    CHECK(std::bit_cast<std::uint64_t>(std::strtod(text.c_str(), nullptr)) ==
          std::bit_cast<std::uint64_t>(v));
    CHECK(text.find('+') == std::string::npos);
    CHECK(text.find("e0") == std::string::npos);
    CHECK(text.find("e-0") == std::string::npos);
  }
}

TEST_CASE("long chains print without recursion", "[print]") {
  Builder b;
  const int n = 100000;
  NodeId x = b.var("x");
  NodeId sum = x;
  for (int i = 0; i < n; ++i)
    sum = b.op(Op::Add, sum, b.op(Op::Mul, b.c(i % 7 + 2), x));
  std::string text = b.print(sum);
  CHECK(count(text, " + ") == static_cast<std::size_t>(n));
  CHECK(text.find('(') == std::string::npos);  // left-associative: no parentheses needed

  NodeId nested = x;
  for (int i = 0; i < n; ++i)
    nested = b.op(Op::Sin, nested);
  text = b.print(nested);
  CHECK(text.size() == static_cast<std::size_t>(n) * 5 + 1);

  NodeId negs = x;
  for (int i = 0; i < n; ++i)
    negs = b.op(Op::Neg, negs);
  text = b.print(negs);
  CHECK(count(text, "-(") == static_cast<std::size_t>(n - 1));

  NodeId right = x;  // a - (b - (c - ...)): every level parenthesized
  for (int i = 0; i < n; ++i)
    right = b.op(Op::Sub, b.c(i + 1), right);
  text = b.print(right);
  CHECK(count(text, "(") == static_cast<std::size_t>(n - 1));
}

TEST_CASE("shared subexpressions become temporaries in dependency order", "[print]") {
  Builder b;
  NodeId x = b.var("x"), y = b.var("y");
  NodeId s = b.op(Op::Add, x, y);
  NodeId e = b.op(Op::Exp, s);
  NodeId f = b.op(Op::Add, b.op(Op::Mul, e, s), e);
  PrintedSet set = printShared(b.g, {f});
  REQUIRE(set.temporaries.size() == 2);
  CHECK(set.temporaries[0] == std::pair<std::string, std::string>{"t1", "x + y"});
  CHECK(set.temporaries[1] == std::pair<std::string, std::string>{"t2", "exp(t1)"});
  REQUIRE(set.exprs.size() == 1);
  CHECK(set.exprs[0] == "t2*t1 + t2");

  // A named operand is an atom: no parentheses around it.
  NodeId g1 = b.op(Op::Mul, s, b.c(2));
  NodeId g2 = b.op(Op::Pow, s, b.c(3));
  set = printShared(b.g, {g1, g2});
  REQUIRE(set.temporaries.size() == 1);
  CHECK(set.exprs == std::vector<std::string>{"t1*2", "t1^3"});

  // Leaves and negated leaves are never named; a tree without sharing has no temporaries.
  NodeId nx = b.op(Op::Neg, x);
  set = printShared(b.g, {b.op(Op::Mul, nx, b.op(Op::Add, nx, x))});
  CHECK(set.temporaries.empty());
  CHECK(set.exprs[0] == "-x*(-x + x)");
}

TEST_CASE("temporary names never shadow a variable", "[print]") {
  Builder b;
  NodeId t1 = b.var("t1"), t2 = b.var("t3");
  NodeId s = b.op(Op::Sin, b.op(Op::Mul, t1, t2));
  PrintedSet set = printShared(b.g, {b.op(Op::Mul, s, s)});
  REQUIRE(set.temporaries.size() == 1);
  CHECK(set.temporaries[0].first == "t2");
  CHECK(set.exprs[0] == "t2*t2");
}

TEST_CASE("an exponentially large tree is measured without printing it", "[print]") {
  Builder b;
  NodeId x = b.var("x");
  NodeId p = b.op(Op::Sin, x);
  for (int i = 0; i < 200; ++i)
    p = b.op(Op::Mul, p, b.op(Op::Cos, p));
  CHECK(printedLengths(b.g, {p}).front() == UINT64_MAX);
  PrintedSet set = printShared(b.g, {p});
  CHECK(set.temporaries.size() == 200);
  std::size_t total = set.exprs[0].size();
  for (const auto &t : set.temporaries)
    total += t.second.size();
  CHECK(total < 200 * 40);
}

TEST_CASE("DOT output lists every reachable node once, deterministically", "[print]") {
  Builder b;
  NodeId x = b.var("x"), y = b.var("y");
  NodeId d = b.op(Op::Sub, b.op(Op::Mul, x, y), b.c(2.5));
  NodeId w = b.op(Op::Where, b.op(Op::Gt, x, y), d, x);
  std::string dot = printDot(b.g, {d, w}, {"f", "say \"hi\""});
  CHECK(dot.rfind("digraph", 0) == 0);
  CHECK(dot.back() == '\n');
  CHECK(count(dot, "shape=") == b.g.reachable({d, w}).size() + 2);
  CHECK(count(dot, "shape=box") == 2);
  CHECK(dot.find("label=\"say \\\"hi\\\"\"") != std::string::npos);
  CHECK(dot.find("label=\"2.5\"") != std::string::npos);
  CHECK(dot.find("label=\"where\"") != std::string::npos);
  // Operand positions for the non-commutative ops (Sub: 2, Gt: 2, Where: 3), not for Mul.
  CHECK(count(dot, "[label=\"1\"]") == 3);
  CHECK(count(dot, "[label=\"3\"]") == 1);
  CHECK(dot == printDot(b.g, {d, w}, {"f", "say \"hi\""}));
}
