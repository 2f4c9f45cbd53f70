// The DAG: interning (structurally equal nodes are one node), constant folding as nodes are made,
// where() with a constant condition, arity checks, topological order and reachable().
#include "graph/graph.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <map>
#include <stdexcept>

using namespace nabla;

TEST_CASE("ops.def: arity, spelling and names", "[graph]") {
  CHECK(arity(Op::Const) == 0);
  CHECK(arity(Op::Sin) == 1);
  CHECK(arity(Op::Atan2) == 2);
  CHECK(arity(Op::Where) == 3);
  CHECK(spelling(Op::Pow) == "^");
  CHECK(spelling(Op::LogAddExp) == "logaddexp");
  CHECK(opName(Op::Sigmoid) == "Sigmoid");
  for (Op op : {Op::Lt, Op::Le, Op::Gt, Op::Ge, Op::Eq, Op::Ne, Op::And, Op::Or, Op::Not, Op::Sign,
                Op::Floor})
    CHECK(isPiecewiseConstant(op));
  for (Op op : {Op::Abs, Op::Relu, Op::Max, Op::Where, Op::Add, Op::Exp})
    CHECK_FALSE(isPiecewiseConstant(op));
}

TEST_CASE("structurally equal nodes are one node", "[graph]") {
  Graph g;
  NodeId x = g.variable(g.addSymbol("x"));
  NodeId y = g.variable(g.addSymbol("y"));
  CHECK(g.variable(0) == x);
  CHECK(x != y);
  NodeId a = g.make(Op::Add, x, y);
  CHECK(g.make(Op::Add, x, y) == a);
  CHECK(g.make(Op::Add, y, x) != a); // interning is structural, not algebraic
  CHECK(g.make(Op::Sin, a) == g.make(Op::Sin, g.make(Op::Add, x, y)));
  std::size_t size = g.size();
  g.make(Op::Sin, a);
  CHECK(g.size() == size);
  CHECK(g.symbolName(1) == "y");
  CHECK(g.symbolCount() == 2);
}

TEST_CASE("constants are interned by bit pattern", "[graph]") {
  Graph g;
  NodeId zero = g.constant(0.0), negZero = g.constant(-0.0);
  CHECK(zero != negZero);
  CHECK(g.isConstant(zero, 0.0));
  CHECK_FALSE(g.isConstant(negZero, 0.0)); // 0 matches only +0
  CHECK(g.isConstant(negZero, -0.0));
  CHECK(g.constant(1.5) == g.constant(1.5));
  NodeId nan = g.constant(std::nan(""));
  CHECK(g.constant(std::nan("")) == nan);
  CHECK(g.isConstant(nan));
  CHECK(std::isnan(g[nan].value));
}

TEST_CASE("make folds when every argument is a constant", "[graph]") {
  Graph g;
  NodeId x = g.variable(g.addSymbol("x"));
  NodeId two = g.constant(2), three = g.constant(3);
  NodeId six = g.make(Op::Mul, two, three);
  CHECK(g.isConstant(six, 6.0));
  CHECK(g.isConstant(g.make(Op::Pow, two, three), 8.0));
  CHECK(g.isConstant(g.make(Op::Sqrt, g.constant(-1))));
  CHECK(std::isnan(g[g.make(Op::Sqrt, g.constant(-1))].value));
  CHECK(g.isConstant(g.make(Op::Div, g.constant(1), g.constant(0)),
                     std::numeric_limits<double>::infinity()));
  // Not folded: a variable argument, even with identities like x*1.
  NodeId m = g.make(Op::Mul, x, g.constant(1));
  CHECK(g[m].op == Op::Mul);
  CHECK(g[m].args[0] == x);
}

TEST_CASE("where with a constant condition is the chosen branch", "[graph]") {
  Graph g;
  NodeId x = g.variable(g.addSymbol("x"));
  NodeId y = g.variable(g.addSymbol("y"));
  CHECK(g.make(Op::Where, g.constant(1), x, y) == x);
  CHECK(g.make(Op::Where, g.constant(-2), x, y) == x);
  CHECK(g.make(Op::Where, g.constant(0), x, y) == y);
  CHECK(g.make(Op::Where, g.constant(-0.0), x, y) == y);
  // A NaN condition is not decided at build time.
  NodeId w = g.make(Op::Where, g.constant(std::nan("")), x, y);
  CHECK(g[w].op == Op::Where);
  NodeId c = g.make(Op::Gt, x, y);
  CHECK(g[g.make(Op::Where, c, x, y)].op == Op::Where);
}

TEST_CASE("make checks arity", "[graph]") {
  Graph g;
  NodeId x = g.variable(g.addSymbol("x"));
  CHECK_THROWS_AS(g.make(Op::Sin), std::logic_error);
  CHECK_THROWS_AS(g.make(Op::Sin, x, x), std::logic_error);
  CHECK_THROWS_AS(g.make(Op::Add, x), std::logic_error);
  CHECK_THROWS_AS(g.make(Op::Where, x, x), std::logic_error);
  CHECK_THROWS_AS(g.make(Op::Const), std::logic_error);
  CHECK_THROWS_AS(g.make(Op::Sin, NodeId{12345}), std::logic_error);
  CHECK_THROWS_AS(g.variable(7), std::logic_error);
}

TEST_CASE("children come before parents, and reachable() is in id order", "[graph]") {
  Graph g;
  NodeId x = g.variable(g.addSymbol("x"));
  NodeId y = g.variable(g.addSymbol("y"));
  NodeId unrelated = g.make(Op::Cos, y);
  NodeId s = g.make(Op::Sin, x);
  NodeId f = g.make(Op::Mul, s, g.make(Op::Add, s, g.constant(1)));
  for (std::uint32_t i = 0; i < g.size(); ++i)
    for (NodeId a : g[NodeId{i}].args)
      if (a.valid())
        CHECK(a.index < i);
  std::vector<NodeId> r = g.reachable({f});
  CHECK(r.size() == 5); // x, sin x, 1, sin x + 1, f
  CHECK(std::is_sorted(r.begin(), r.end()));
  CHECK(std::find(r.begin(), r.end(), unrelated) == r.end());
  CHECK(std::find(r.begin(), r.end(), y) == r.end());
  CHECK(r.back() == f);
  std::vector<NodeId> both = g.reachable({unrelated, f, f});
  CHECK(both.size() == 7);
  CHECK(g.reachable({}).empty());
  CHECK(g.reachable({NodeId{}}).empty());
  CHECK_THROWS_AS(g.reachable({NodeId{static_cast<std::uint32_t>(g.size())}}), std::logic_error);
}

TEST_CASE("a long chain is built and walked without recursion", "[graph]") {
  Graph g;
  NodeId f = g.variable(g.addSymbol("x"));
  for (int i = 0; i < 200000; ++i)
    f = g.make(i % 2 ? Op::Sin : Op::Tanh, f);
  CHECK(g.reachable({f}).size() == 200001);
}

TEST_CASE("NodePositions finds each node of a reachable set, and no other, dense or sparse",
          "[graph]") {
  Graph g;
  NodeId x = g.variable(g.addSymbol("x"));
  // A long chain, then a small expression on top: the second set is a sliver of the ids below
  // its largest (the search), the first covers them all (the table).
  NodeId chain = x;
  for (int i = 0; i < 5000; ++i) chain = g.make(Op::Add, chain, g.constant(i + 1.5));
  NodeId y = g.variable(g.addSymbol("y"));
  NodeId small = g.make(Op::Mul, g.make(Op::Sin, y), x);
  for (const std::vector<NodeId> &roots : {std::vector<NodeId>{chain}, std::vector<NodeId>{small},
                                           std::vector<NodeId>{small, chain}, std::vector<NodeId>{}}) {
    const std::vector<NodeId> order = g.reachable(roots);
    const NodePositions positions(order);
    std::map<std::uint32_t, std::uint32_t> expected;  // independent: id -> position
    for (std::uint32_t k = 0; k < order.size(); ++k) expected[order[k].index] = k;
    for (std::uint32_t id = 0; id < g.size() + 3; ++id) {
      auto found = expected.find(id);
      CHECK(positions[NodeId{id}] == (found == expected.end() ? NodePositions::kNone : found->second));
    }
  }
}
