// Inputs far deeper or longer than any model: no stack overflow, right values.
#include "sema/support.h"

#include "diff/reverse.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <set>

using namespace nabla;
using namespace nabla::test;

namespace {

ast::ExprId push(ast::Program &p, ast::Expr e) {
  p.exprs.push_back(std::move(e));
  return static_cast<ast::ExprId>(p.exprs.size() - 1);
}

ast::Expr nameExpr(const std::string &name, SourceRange range) {
  ast::Expr e;
  e.kind = ast::ExprKind::Name;
  e.name = name;
  e.range = range;
  return e;
}

/// A program of one bare expression, `wrap` applied `depth` times around `x`, built directly in
/// post-order (a text parser is not what is tested here).
ast::Program nested(std::size_t depth, const std::function<ast::Expr(ast::ExprId)> &wrap) {
  ast::Program p;
  ast::ExprId e = push(p, nameExpr("x", SourceRange::of(0, 1)));
  for (std::size_t i = 0; i < depth; ++i) e = push(p, wrap(e));
  ast::Stmt s;
  s.kind = ast::StmtKind::Bare;
  s.body = e;
  s.bodyBegin = 0;
  s.range = SourceRange::of(0, 1);
  p.stmts.push_back(std::move(s));
  return p;
}

}  // namespace

TEST_CASE("a sum of 100000 terms", "[sema]") {
  std::string text = "param w\nminimize 0";
  for (int i = 1; i <= 100000; ++i) text += " + " + std::to_string(i % 7) + " * w";
  Lowered l = lower(text);
  INFO(l.firstError());
  REQUIRE(l.ok());
  long total = 0;
  for (int i = 1; i <= 100000; ++i) total += i % 7;
  CHECK(eval1(*l.program, l.program->objective->expr, {{"w", 0.5}}) == Approx(total * 0.5));
}

TEST_CASE("100000 nested unary minus", "[sema]") {
  ast::Program p = nested(100000, [](ast::ExprId a) {
    ast::Expr e;
    e.kind = ast::ExprKind::Unary;
    e.unaryOp = ast::UnaryOp::Neg;
    e.args = {a};
    e.range = SourceRange::of(0, 1);
    return e;
  });
  SourceBuffer buffer("deep", "x");
  DiagnosticSink sink(buffer);
  std::optional<LoweredProgram> lowered = lowerProgram(p, sink);
  REQUIRE(lowered);
  REQUIRE(lowered->bare);
  CHECK(eval1(*lowered, lowered->bare->result.elems[0], {{"x", 2.5}}) == 2.5);  // an even count
}

TEST_CASE("100000 nested calls", "[sema]") {
  ast::Program p = nested(100000, [](ast::ExprId a) {
    ast::Expr e;
    e.kind = ast::ExprKind::Call;
    e.name = "sin";
    e.args = {a};
    e.range = e.nameRange = SourceRange::of(0, 1);
    return e;
  });
  SourceBuffer buffer("deep", "x");
  DiagnosticSink sink(buffer);
  std::optional<LoweredProgram> lowered = lowerProgram(p, sink);
  REQUIRE(lowered);
  double x = 1.0;
  for (int i = 0; i < 100000; ++i) x = std::sin(x);
  CHECK(eval1(*lowered, lowered->bare->result.elems[0], {{"x", 1.0}}) == x);
}

TEST_CASE("a chain of 20000 definitions, each using the next", "[sema]") {
  std::string text = "param w\nminimize a0\n";
  const int n = 20000;
  for (int i = 0; i < n; ++i) text += "a" + std::to_string(i) + " = a" + std::to_string(i + 1) + " + 1\n";
  text += "a" + std::to_string(n) + " = w\n";
  Lowered l = lower(text);
  INFO(l.firstError());
  REQUIRE(l.ok());
  CHECK(eval1(*l.program, l.program->objective->expr, {{"w", 0.5}}) == n + 0.5);

  // The same chain closed into a cycle: one error, no stack overflow.
  std::string cyclic = "param w\n";
  for (int i = 0; i < n; ++i) cyclic += "a" + std::to_string(i) + " = a" + std::to_string((i + 1) % n) + " + 1\n";
  Lowered c = lower(cyclic);
  CHECK_FALSE(c.ok());
  CHECK(c.errors() == std::vector<std::string>{"recursive definition of 'a0'"});
}

TEST_CASE("a function called many times", "[sema]") {
  std::string text = "param w\nf(x) = x^2 + sin(x)\nminimize 0";
  for (int i = 0; i < 2000; ++i) text += " + f(w + " + std::to_string(i) + ")";
  Lowered l = lower(text);
  INFO(l.firstError());
  REQUIRE(l.ok());
  double want = 0;
  for (int i = 0; i < 2000; ++i) want += (0.5 + i) * (0.5 + i) + std::sin(0.5 + i);
  CHECK(eval1(*l.program, l.program->objective->expr, {{"w", 0.5}}) == Approx(want).epsilon(1e-12));
}

TEST_CASE("exponential growth through functions hits the node limit", "[sema]") {
  // Each level doubles the tree, but hash-consing keeps the DAG linear; a matrix product of large
  // operands is what really grows, and it stops at the limit with a located error.
  LowerOptions options;
  options.maxNodes = 100000;
  Lowered l = lower("param A[300][300]\nB = A @ A\n", options);
  CHECK_FALSE(l.ok());
  CHECK(l.firstError() == "2:5: the expression graph exceeds 100000 nodes (raise the limit with --max-nodes)");
}

TEST_CASE("many references to a large array", "[sema]") {
  // Each `w` names 100000 elements; a reference shares them instead of copying.
  std::string text = "param w[100000]\nminimize 0";
  for (int i = 0; i < 20000; ++i) text += " + w[" + std::to_string(i * 5) + "]";
  Lowered l = lower(text);
  INFO(l.firstError());
  REQUIRE(l.ok());
  std::map<std::string, double> at;
  for (int i = 0; i < 20000; ++i) at["w[" + std::to_string(i * 5) + "]"] = 1.0;
  CHECK(eval1(*l.program, l.program->objective->expr, at) == 20000);
}

TEST_CASE("hessian() that grows the graph past the limit stops at once", "[sema]") {
  // Each row of the Hessian of sin(sin(...prod(w)...)) sweeps the chain again and adds nodes
  // along it: thousands for 10 variables, more than the limit, which the sweep notices after the
  // row that crosses it.
  std::string text = "param w[10]\na0 = prod(w)\n";
  for (int k = 1; k <= 300; ++k)
    text += "a" + std::to_string(k) + " = sin(a" + std::to_string(k - 1) + ")\n";
  text += "h = hessian(a300)\nminimize h[0][1]\n";
  LowerOptions options;
  options.maxNodes = 3000;
  Lowered l = lower(text, options);
  CHECK_FALSE(l.ok());
  CHECK(l.firstError() == "303:5: the expression graph exceeds 3000 nodes (raise the limit with --max-nodes)");
  options.maxNodes = 1u << 20;
  Lowered big = lower(text, options);
  INFO(big.firstError());
  REQUIRE(big.ok());
  // At w = 0 every second derivative of the chain is 0 (see tests/diff/test_limits.cpp).
  std::map<std::string, double> at;
  for (int i = 0; i < 10; ++i) at["w[" + std::to_string(i) + "]"] = 0.0;
  CHECK(eval1(*big.program, big.program->objective->expr, at) == 0);
}

namespace {

/// The values of `roots` with symbol k (of the graph) at symbolValue(k).
std::vector<double> evalAt(const LoweredProgram &p, const std::vector<NodeId> &roots,
                           const std::function<double(SymbolId)> &symbolValue) {
  std::vector<double> symbols(p.graph.symbolCount());
  for (SymbolId s = 0; s < symbols.size(); ++s) symbols[s] = symbolValue(s);
  return evaluate(p.graph, roots, symbols);
}

/// The variable nodes of a function's arguments, in order.
std::vector<NodeId> argNodes(const FunctionEntry &f) {
  std::vector<NodeId> out;
  for (const VarGroup &g : f.args) out.insert(out.end(), g.nodes.begin(), g.nodes.end());
  return out;
}

}  // namespace

TEST_CASE("a bare expression over 100000 distinct free variables", "[sema]") {
  // Each name is looked up among 10^5 others: once a scan, now an index.
  const int n = 100000;
  std::string sum, squares;
  for (int i = 0; i < n; ++i) {
    sum += (i ? " + v" : "v") + std::to_string(i);
    squares += (i ? " + v" : "v") + std::to_string(i) + "^2";
  }
  Lowered l = lower(sum, {}, true);
  INFO(l.firstError());
  REQUIRE(l.ok());
  const FunctionEntry &f = *l.program->bare;
  REQUIRE(f.args.size() == n);
  for (int i : {0, 1, 4711, n - 1}) CHECK(f.args[i].name == "v" + std::to_string(i));
  // The value and the gradient (reverse mode over the lowered graph) by the interpreter: every
  // partial derivative of the sum is 1, whatever the point.
  const std::vector<NodeId> vars = argNodes(f);
  std::vector<NodeId> roots = gradient(l.program->graph, f.result.elems[0], vars);
  roots.push_back(f.result.elems[0]);
  auto at = [&](SymbolId s) { return 0.25 * s - 3; };
  const std::vector<double> values = evalAt(*l.program, roots, at);
  double want = 0;
  for (int i = 0; i < n; ++i) want += 0.25 * l.program->graph[vars[i]].symbol - 3;
  CHECK(values.back() == want);
  std::size_t ones = 0;
  for (int i = 0; i < n; ++i) ones += values[i] == 1.0;
  CHECK(ones == n);

  // grad() inside the expression differentiates wrt the free variables, in their order.
  Lowered g = lower("grad(" + squares + ")", {}, true);
  INFO(g.firstError());
  REQUIRE(g.ok());
  const FunctionEntry &h = *g.program->bare;
  REQUIRE(h.result.elems.size() == n);
  const std::vector<NodeId> hv = argNodes(h);
  const std::vector<double> grads = evalAt(*g.program, h.result.elems, at);
  std::size_t right = 0;
  for (int i = 0; i < n; ++i) right += grads[i] == 2 * (0.25 * g.program->graph[hv[i]].symbol - 3);
  CHECK(right == n);

  // A free variable is still not a function, and d() still takes one.
  Lowered call = lower(sum + " + v77(1)", {}, true);
  CHECK(call.errors() == std::vector<std::string>{"'v77' is not a function"});
  Lowered d = lower(sum + " + d(v5 * v99998, v99998)", {}, true);
  INFO(d.firstError());
  REQUIRE(d.ok());
  CHECK(evalAt(*d.program, d.program->bare->result.elems, [](SymbolId) { return 1.0; })[0] ==
        n + 1);
}

TEST_CASE("a function of 50000 arguments", "[sema]") {
  const int n = 50000;
  std::string params, body;
  for (int i = 0; i < n; ++i) {
    params += (i ? ", a" : "a") + std::to_string(i);
    body += (i ? " + " : "") + std::to_string(i % 5 + 1) + "*a" + std::to_string(i);
  }
  Lowered l = lower("f(" + params + ") = " + body + "\n");
  INFO(l.firstError());
  REQUIRE(l.ok());
  const FunctionEntry &f = function(*l.program, "f");
  REQUIRE(f.args.size() == n);
  const std::vector<NodeId> vars = argNodes(f);
  std::vector<NodeId> grads = gradient(l.program->graph, f.result.elems[0], vars);
  const std::vector<double> values =
      evalAt(*l.program, grads, [](SymbolId s) { return std::sqrt(s + 1.0); });
  std::size_t right = 0;
  for (int i = 0; i < n; ++i) right += values[i] == i % 5 + 1;
  CHECK(right == n);

  // An argument named like a global shadows it; an argument called is not a function.
  Lowered shadow = lower("param a7 = 0\nf(" + params + ") = a7 * a3\nminimize a7\n");
  INFO(shadow.firstError());
  REQUIRE(shadow.ok());
  Lowered called = lower("f(" + params + ") = a49999(a1)\n");
  CHECK(called.errors() == std::vector<std::string>{"'a49999' is not a function"});

  // A repeated argument is an error at the repetition, with a note at the first.
  Lowered twice = lower("f(" + params + ", a123) = a0\n");
  REQUIRE(twice.errors() == std::vector<std::string>{"duplicate argument 'a123'"});
  const Diagnostic &dup = twice.diagnostic();
  REQUIRE(dup.notes.size() == 1);
  CHECK(twice.at(dup.notes[0].range) == "1:" + std::to_string(params.find("a123,") + 3));
}

TEST_CASE("a file of 20000 functions is lowered in time for their bodies", "[sema]") {
  // Each function's body was once found by a pass over the whole graph below it.
  const int n = 20000;
  std::string text = "param w = 0.5\n";
  for (int k = 0; k < n; ++k)
    text += "f" + std::to_string(k) + "(x) = x * " + std::to_string(k + 1) + " + sin(x)\n";
  text += "minimize f0(w) + f" + std::to_string(n / 2) + "(w) + f" + std::to_string(n - 1) +
          "(w)\n";
  Lowered l = lower(text);
  INFO(l.firstError());
  REQUIRE(l.ok());
  REQUIRE(l.program->functions.size() == n);
  const double w = 0.5;
  CHECK(eval1(*l.program, l.program->objective->expr, {{"w", w}}) ==
        Approx(w * (1 + (n / 2 + 1) + n) + 3 * std::sin(w)).epsilon(1e-14));
  const FunctionEntry &last = function(*l.program, "f" + std::to_string(n - 1));
  CHECK(eval1(*l.program, last.result.elems[0], {{"x", 2.0}}) == 2.0 * n + std::sin(2.0));
}

TEST_CASE("20000 derivatives of small expressions in one objective", "[sema]") {
  // Each d() simplifies and differentiates a small expression late in a growing graph.
  const int n = 20000;
  std::string text = "param w = 0.5\nminimize 0";
  for (int k = 1; k <= n; ++k) text += " + d(sin(w * " + std::to_string(k) + "), w)";
  Lowered l = lower(text);
  INFO(l.firstError());
  REQUIRE(l.ok());
  double want = 0;
  for (int k = 1; k <= n; ++k) want += k * std::cos(0.5 * k);
  CHECK(eval1(*l.program, l.program->objective->expr, {{"w", 0.5}}) ==
        Approx(want).epsilon(1e-9));
}

TEST_CASE("the nodes reachable from a few roots of a large graph; hash-consing in it",
          "[sema]") {
  const int n = 100000;
  std::string sum;
  for (int i = 0; i < n; ++i) sum += (i ? " + v" : "v") + std::to_string(i);
  // The same sum twice is one node: the difference has equal operands.
  Lowered l = lower("(" + sum + ") - (" + sum + ") + sin(v3 * v99999) * v17", {}, true);
  INFO(l.firstError());
  REQUIRE(l.ok());
  const Graph &g = l.program->graph;
  const NodeId root = l.program->bare->result.elems[0];
  REQUIRE(g[root].op == Op::Add);
  const Node &difference = g[g[root].args[0]];
  REQUIRE(difference.op == Op::Sub);
  CHECK(difference.args[0] == difference.args[1]);

  // reachable() against an independent walk with a std::set, for roots whose subgraphs are
  // small (found by a walk) and large (by a pass over the ids), and both at once.
  auto byHand = [&](const std::vector<NodeId> &roots) {
    std::set<std::uint32_t> seen;
    std::vector<NodeId> stack;
    for (NodeId r : roots)
      if (seen.insert(r.index).second) stack.push_back(r);
    while (!stack.empty()) {
      const Node node = g[stack.back()];
      stack.pop_back();
      for (NodeId a : node.args)
        if (a.valid() && seen.insert(a.index).second) stack.push_back(a);
    }
    std::vector<NodeId> out;
    for (std::uint32_t i : seen) out.push_back(NodeId{i});
    return out;
  };
  const NodeId product = g[root].args[1];
  for (const std::vector<NodeId> &roots :
       {std::vector<NodeId>{product}, std::vector<NodeId>{root},
        std::vector<NodeId>{difference.args[0], product}, std::vector<NodeId>{product, product},
        std::vector<NodeId>{NodeId{}, product}}) {
    std::vector<NodeId> valid;
    for (NodeId r : roots)
      if (r.valid()) valid.push_back(r);
    const std::vector<NodeId> got = g.reachable(roots), want = byHand(valid);
    CHECK(got.size() == want.size());
    CHECK(got == want);
  }
  CHECK(g.reachable({product}).size() == 6);  // v3, v99999, *, sin, v17, *
}

TEST_CASE("the same derivative of a large expression written 500 times", "[sema]") {
  // Computed once: the others are the same nodes (hash-consing), found without another sweep.
  const int n = 5000, k = 500;
  std::string text = "param w = 0.5\ne = 0";
  for (int i = 1; i <= n; ++i) text += " + sin(w * " + std::to_string(i) + ")";
  text += "\nminimize 0";
  for (int j = 0; j < k; ++j) text += j % 2 ? " + d(e, w)" : " + grad(e)[0]";
  text += " + d(e + w, w)\n";  // another derivative: computed
  Lowered l = lower(text);
  INFO(l.firstError());
  REQUIRE(l.ok());
  double de = 0;
  for (int i = 1; i <= n; ++i) de += i * std::cos(0.5 * i);
  CHECK(eval1(*l.program, l.program->objective->expr, {{"w", 0.5}}) ==
        Approx(k * de + de + 1).epsilon(1e-9));
}
