// What the parser builds: precedence and associativity, every statement form, source ranges and
// the post-order arena. Expected trees are written by hand from DESIGN.md's grammar.
#include "parse_test_util.h"
#include "support/reference.h"

#include <catch2/catch.hpp>

using namespace nabla;
using nabla::test::parseText;
using nabla::test::sexpr;

namespace {

std::string tree(const std::string &text) {
  auto p = parseText(text, true);
  INFO(text << "\n" << p.rendered());
  REQUIRE(p.ok());
  REQUIRE(p.program->stmts.size() == 1);
  CHECK(nabla::test::checkInvariants(*p.program, text.size()).empty());
  return sexpr(*p.program, p.program->stmts[0].body);
}

double value(const std::string &text, std::map<std::string, double> vars = {}) {
  auto p = parseText(text, true);
  INFO(text << "\n" << p.rendered());
  REQUIRE(p.ok());
  return nabla::test::evaluate(*p.program, p.program->stmts[0].body, vars);
}

std::string slice(const std::string &text, SourceRange r) {
  return text.substr(r.begin, r.end - r.begin);
}

}  // namespace

TEST_CASE("power binds tighter than prefix minus and folds to the right", "[parse]") {
  CHECK(tree("-x^2") == "(- (x ^ 2))");
  CHECK(tree("x^y^z") == "(x ^ (y ^ z))");
  CHECK(tree("2^3^2") == "(2 ^ (3 ^ 2))");
  CHECK(value("2^3^2") == 512);
  CHECK(value("-2^2") == -4);
  CHECK(value("(-2)^2") == 4);
  // The exponent may start with prefix operators; they cover the rest of the chain.
  CHECK(tree("x^-2") == "(x ^ (- 2))");
  CHECK(tree("x^-y^z") == "(x ^ (- (y ^ z)))");
  CHECK(value("2^-1^2") == 0.5);  // 2^(-(1^2))
  CHECK(tree("a^b[i]") == "(a ^ b[i])");
  CHECK(tree("f(x)^2") == "(f(x) ^ 2)");
}

TEST_CASE("binary operators associate to the left, loosest first", "[parse]") {
  CHECK(tree("a-b-c") == "((a - b) - c)");
  CHECK(value("10-4-3") == 3);
  CHECK(tree("a/b/c") == "((a / b) / c)");
  CHECK(value("64/4/2") == 8);
  CHECK(tree("a+b*c") == "(a + (b * c))");
  CHECK(tree("a*b+c") == "((a * b) + c)");
  CHECK(tree("a@b*c") == "((a @ b) * c)");
  CHECK(tree("a*b@c") == "((a * b) @ c)");
  CHECK(tree("a+b@c") == "(a + (b @ c))");
  CHECK(tree("x < y == z") == "((x < y) == z)");
  CHECK(tree("a <= b != c >= d") == "(((a <= b) != c) >= d)");
  CHECK(tree("a > b + 1") == "(a > (b + 1))");
  CHECK(tree("a || b && c") == "(a || (b && c))");
  CHECK(tree("a && b || c && d") == "((a && b) || (c && d))");
  CHECK(tree("a < b && c > d") == "((a < b) && (c > d))");
  CHECK(tree("!a && b") == "((! a) && b)");
  CHECK(tree("-a*b") == "((- a) * b)");
  CHECK(tree("x*-y") == "(x * (- y))");
  CHECK(tree("x - -y") == "(x - (- y))");
  CHECK(tree("--x") == "(- (- x))");
  CHECK(tree("+x") == "(+ x)");
  CHECK(tree("-!x") == "(- (! x))");
}

TEST_CASE("postfix subscripts, calls, vectors and matrices", "[parse]") {
  CHECK(tree("m[i][j]") == "m[i][j]");
  CHECK(tree("f(a, b)[0]") == "f(a, b)[0]");
  CHECK(tree("[1, 2, 3]") == "[1, 2, 3]");
  CHECK(tree("[[1,2],[3,4]]") == "[[1, 2], [3, 4]]");
  CHECK(tree("[a, b][1]") == "[a, b][1]");
  CHECK(tree("sin()") == "sin()");  // arity is sema's business
  CHECK(tree("d(x^2, x)") == "d((x ^ 2), x)");
  CHECK(tree("where((p > 0.5) == (y > 0.5), 1, 0)") == "where(((p > 0.5) == (y > 0.5)), 1, 0)");
  CHECK(tree("f (x)") == "f(x)");
}

TEST_CASE("numbers are the IEEE double nearest their text", "[parse]") {
  CHECK(value("0.1") == 0.1);
  CHECK(value("1e-3") == 1e-3);
  CHECK(value("2.5e-1") == 0.25);
  CHECK(value("1E5") == 1e5);
  CHECK(value("1e+5") == 1e5);
  CHECK(value("1.7976931348623157e308") == 1.7976931348623157e308);
  // 2^-1074 is the smallest subnormal; 1e-400 underflows to 0: both accepted.
  CHECK(value("4.9406564584124654e-324") == std::ldexp(1.0, -1074));
  CHECK(value("1e-400") == 0.0);
  // A 100-digit literal rounds correctly: 2^332 written out in full.
  CHECK(value("874900289913204769749000890847048546141267772357284974570308242563981199679750369289"
              "4052708092215296") == std::ldexp(1.0, 332));
  CHECK(value("0.30000000000000004") == 0.1 + 0.2);
}

TEST_CASE("identifiers", "[parse]") {
  CHECK(tree("_a1 + B_2") == "(_a1 + B_2)");
  CHECK(tree("parameter + fromage + inputs") == "((parameter + fromage) + inputs)");
  std::string longName(1'000'000, 'a');
  auto p = parseText(longName, true);
  REQUIRE(p.ok());
  CHECK(p.program->exprs[0].name.size() == 1'000'000);
}

TEST_CASE("the reference gradient corpus parses, and evaluates to its reference values",
          "[parse]") {
  // An independent check of precedence: a wrong tree would give a different value.
  int checked = 0;
  for (const auto &c : nabla::test::loadGradientCases()) {
    auto p = parseText(c.expr, true);
    INFO(c.name << ": " << c.expr << "\n" << p.rendered());
    REQUIRE(p.ok());
    REQUIRE(p.program->stmts.size() == 1);
    CHECK(nabla::test::checkInvariants(*p.program, c.expr.size()).empty());
    for (const auto &point : c.points) {
      double got = nabla::test::evaluate(*p.program, p.program->stmts[0].body, point.at);
      INFO("value " << got << " reference " << point.value);
      CHECK(nabla::test::valueMatches(got, point.value));
      ++checked;
    }
  }
  CHECK(checked > 600);
}

TEST_CASE("every statement form", "[parse]") {
  const std::string text = "# a model\n"
                           "param w[3][2] ~ normal(0, 0.01)   # trainable\n"
                           "param u ~ uniform(-1, 1)\n"
                           "param b = -1.5\n"
                           "param v[3] = [1, 2, 3]\n"
                           "param c\n"
                           "input x[3] from (first .. last)\n"
                           "input y from (benign)\n"
                           "input z[2] from (a, b); input t\n"
                           "const lambda = 1e-3\n"
                           "const k[2] = [1, 2]\n"
                           "p = sigmoid(w @ x + b)\n"
                           "f(a, b) = (a^2 + b)^2\n"
                           "minimize (p - y)^2\n"
                           "maximize -p\n"
                           "report acc = p > 0.5\n";
  auto r = parseText(text, false);
  INFO(r.rendered());
  REQUIRE(r.ok());
  const ast::Program &p = *r.program;
  CHECK(nabla::test::checkInvariants(p, text.size()).empty());
  REQUIRE(p.stmts.size() == 16);
  using K = ast::StmtKind;
  const ast::Stmt *s = p.stmts.data();

  CHECK(s[0].kind == K::Param);
  CHECK(s[0].name.text == "w");
  CHECK(slice(text, s[0].name.range) == "w");
  REQUIRE(s[0].dims.size() == 2);
  CHECK(sexpr(p, s[0].dims[0]) == "3");
  CHECK(sexpr(p, s[0].dims[1]) == "2");
  CHECK(s[0].init == ast::InitKind::Normal);
  REQUIRE(s[0].initArgs.size() == 2);
  CHECK(sexpr(p, s[0].initArgs[1]) == "0.01");
  CHECK(slice(text, s[0].initRange) == "~ normal(0, 0.01)");
  CHECK(slice(text, s[0].range) == "param w[3][2] ~ normal(0, 0.01)");

  CHECK(s[1].init == ast::InitKind::Uniform);
  CHECK(sexpr(p, s[1].initArgs[0]) == "(- 1)");
  CHECK(s[2].init == ast::InitKind::Value);
  CHECK(sexpr(p, s[2].initValue) == "(- 1.5)");
  CHECK(slice(text, s[2].initRange) == "= -1.5");
  CHECK(sexpr(p, s[3].initValue) == "[1, 2, 3]");
  CHECK(s[4].init == ast::InitKind::None);
  CHECK(s[4].dims.empty());
  CHECK(slice(text, s[4].range) == "param c");

  CHECK(s[5].kind == K::Input);
  CHECK(s[5].fromIsRange);
  REQUIRE(s[5].fromColumns.size() == 2);
  CHECK(s[5].fromColumns[0].text == "first");
  CHECK(slice(text, s[5].fromColumns[1].range) == "last");
  CHECK(s[6].fromColumns.size() == 1);
  CHECK(!s[6].fromIsRange);
  CHECK(s[7].fromColumns.size() == 2);
  CHECK(slice(text, s[7].range) == "input z[2] from (a, b)");
  CHECK(s[8].fromColumns.empty());
  CHECK(slice(text, s[8].range) == "input t");

  CHECK(s[9].kind == K::Const);
  CHECK(sexpr(p, s[9].body) == "0.001");
  CHECK(s[10].dims.size() == 1);
  CHECK(sexpr(p, s[10].body) == "[1, 2]");

  CHECK(s[11].kind == K::Define);
  CHECK(sexpr(p, s[11].body) == "sigmoid(((w @ x) + b))");
  CHECK(s[12].kind == K::Function);
  REQUIRE(s[12].params.size() == 2);
  CHECK(s[12].params[1].text == "b");
  CHECK(slice(text, s[12].params[1].range) == "b");
  CHECK(sexpr(p, s[12].body) == "(((a ^ 2) + b) ^ 2)");
  CHECK(s[13].kind == K::Minimize);
  CHECK(s[14].kind == K::Maximize);
  CHECK(sexpr(p, s[14].body) == "(- p)");
  CHECK(s[15].kind == K::Report);
  CHECK(s[15].name.text == "acc");
  CHECK(sexpr(p, s[15].body) == "(p > 0.5)");
}

TEST_CASE("expression ranges point at their text", "[parse]") {
  const std::string text = "loss = 2 * foo(a, (b + c)) + m[1] # comment";
  auto r = parseText(text, false);
  REQUIRE(r.ok());
  const ast::Program &p = *r.program;
  const ast::Stmt &s = p.stmts[0];
  CHECK(slice(text, s.range) == "loss = 2 * foo(a, (b + c)) + m[1]");
  CHECK(slice(text, s.name.range) == "loss");
  CHECK(slice(text, p[s.body].range) == "2 * foo(a, (b + c)) + m[1]");
  std::map<std::string, std::string> byKind;
  for (const ast::Expr &e : p.exprs) {
    if (e.kind == ast::ExprKind::Call) {
      CHECK(slice(text, e.range) == "foo(a, (b + c))");
      CHECK(slice(text, e.nameRange) == "foo");
      CHECK(slice(text, p[e.args[1]].range) == "b + c");
    }
    if (e.kind == ast::ExprKind::Index) CHECK(slice(text, e.range) == "m[1]");
    if (e.kind == ast::ExprKind::Binary && e.binaryOp == ast::BinaryOp::Mul)
      CHECK(slice(text, e.range) == "2 * foo(a, (b + c))");
  }
  // A parenthesized operand: its parent's range includes the parentheses.
  const std::string t2 = "(a + b) * -(c)";
  auto r2 = parseText(t2, true);
  REQUIRE(r2.ok());
  CHECK(slice(t2, (*r2.program)[r2.program->stmts[0].body].range) == t2);
}

TEST_CASE("statement separators, blank lines, comments and line ends", "[parse]") {
  auto r = parseText(
      "x = 1; y = 2\n\n   \n# only a comment\nz = (x +\n  y)  # inside\r\nw = [1,\r\n 2]\r\n",
      false);
  INFO(r.rendered());
  REQUIRE(r.ok());
  REQUIRE(r.program->stmts.size() == 4);
  CHECK(sexpr(*r.program, r.program->stmts[2].body) == "(x + y)");
  CHECK(sexpr(*r.program, r.program->stmts[3].body) == "[1, 2]");
  // Non-ASCII text is fine inside comments.
  auto c = parseText("x = 1  # θ ≤ π, résumé, 😀, \xff\xfe bytes too\n", false);
  INFO(c.rendered());
  CHECK(c.ok());
  // An empty program is fine for a file (sema decides whether it means anything).
  CHECK(parseText("", false).ok());
  CHECK(parseText("\n# nothing\n\n", false).ok());
  CHECK(parseText(";;", false).ok());
}

TEST_CASE("'=' is not the start of '=='; definitions versus expressions", "[parse]") {
  CHECK(tree("x == 1") == "(x == 1)");
  auto r = parseText("f(x) == 1", true);
  REQUIRE(r.ok());
  CHECK(r.program->stmts[0].kind == ast::StmtKind::Bare);
  auto d = parseText("f(x) = 1", true);
  REQUIRE(d.ok());
  CHECK(d.program->stmts[0].kind == ast::StmtKind::Function);
  auto e = parseText("y = x == 1", false);
  REQUIRE(e.ok());
  CHECK(sexpr(*e.program, e.program->stmts[0].body) == "(x == 1)");
}

TEST_CASE("long chains parse without deep recursion", "[parse]") {
  auto repeat = [](const std::string &s, int n) {
    std::string out;
    for (int i = 0; i < n; ++i) out += s;
    return out;
  };
  {
    auto p = parseText(repeat("x+", 99'999) + "x", true);
    REQUIRE(p.ok());
    CHECK(nabla::test::evaluate(*p.program, p.program->stmts[0].body, {{"x", 1.0}}) == 100'000);
    CHECK(nabla::test::checkInvariants(*p.program, 199'999).empty());
  }
  {
    auto p = parseText(repeat("x*", 99'999) + "x", true);
    REQUIRE(p.ok());
    CHECK(nabla::test::evaluate(*p.program, p.program->stmts[0].body, {{"x", 1.0}}) == 1);
  }
  {
    // Right-folded: the root is x ^ (rest), and x^x^x at x = 2 is 2^(2^2) = 16.
    auto p = parseText(repeat("x^", 10'000) + "x", true);
    REQUIRE(p.ok());
    const ast::Program &prog = *p.program;
    const ast::Expr &root = prog[prog.stmts[0].body];
    REQUIRE(root.kind == ast::ExprKind::Binary);
    CHECK(prog[root.args[0]].kind == ast::ExprKind::Name);
    CHECK(prog[root.args[1]].kind == ast::ExprKind::Binary);
    CHECK(value("x^x^x", {{"x", 2.0}}) == 16);
  }
  {
    auto p = parseText(repeat("-", 100'000) + "x", true);
    REQUIRE(p.ok());
    CHECK(nabla::test::evaluate(*p.program, p.program->stmts[0].body, {{"x", 3.0}}) == 3);
    p = parseText(repeat("-", 99'999) + "x", true);
    REQUIRE(p.ok());
    CHECK(nabla::test::evaluate(*p.program, p.program->stmts[0].body, {{"x", 3.0}}) == -3);
  }
  {
    // Nesting up to the limit is fine.
    auto p = parseText(repeat("(", 256) + "x" + repeat(")", 256), true);
    INFO(p.rendered());
    CHECK(p.ok());
    p = parseText(repeat("sin(", 256) + "x" + repeat(")", 256), true);
    CHECK(p.ok());
    p = parseText(repeat("[", 256) + "x" + repeat("]", 256), true);
    CHECK(p.ok());
  }
}
