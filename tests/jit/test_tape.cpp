// The tape: reachable nodes only, in NodeId order, dense slots, roots and last uses.
#include "codegen/tape.h"

#include <catch2/catch.hpp>

#include <stdexcept>

using namespace nabla;
using namespace nabla::codegen;

TEST_CASE("a tape holds the reachable nodes in topological order with dense slots", "[jit][tape]") {
  Graph g;
  NodeId x = g.variable(g.addSymbol("x"));
  NodeId y = g.variable(g.addSymbol("y"));
  NodeId unused = g.make(Op::Cos, y);  // not reachable from the roots below
  NodeId half = g.constant(0.5);
  NodeId s = g.make(Op::Sin, x);
  NodeId f = g.make(Op::Mul, s, half);
  NodeId h = g.make(Op::Add, f, s);
  (void)unused;

  Tape t = buildTape(g, std::vector<NodeId>{h, f, h});
  // x, half, sin, mul, add: y and cos(y) are not needed.
  REQUIRE(t.size() == 5);
  CHECK(t.entries[0].node == x);
  CHECK(t.entries[1].node == half);
  CHECK(t.entries[2].node == s);
  CHECK(t.entries[3].node == f);
  CHECK(t.entries[4].node == h);
  for (std::size_t i = 0; i < t.size(); ++i)
    for (std::uint32_t a : t.entries[i].args)
      if (a != Tape::kNoSlot) CHECK(a < i);  // arguments come earlier
  CHECK(t.entries[3].args[0] == 2);
  CHECK(t.entries[3].args[1] == 1);
  CHECK(t.entries[3].args[2] == Tape::kNoSlot);
  CHECK(t.roots == std::vector<std::uint32_t>{4, 3, 4});
  // sin is read last by the add; x by the sin; roots stay live to the end.
  CHECK(t.lastUse[0] == 2);
  CHECK(t.lastUse[1] == 3);
  CHECK(t.lastUse[2] == 4);
  CHECK(t.lastUse[3] == Tape::kLiveOut);
  CHECK(t.lastUse[4] == Tape::kLiveOut);

  CHECK(printTape(g, t) ==
        "%0 = var x\n%1 = const 0.5\n%2 = Sin %0\n%3 = Mul %2 %1\n%4 = Add %3 %2\nroots %4 %3 %4\n");
}

TEST_CASE("a tape of no roots is empty and a foreign root is a logic error", "[jit][tape]") {
  Graph g;
  NodeId x = g.variable(g.addSymbol("x"));
  CHECK(buildTape(g, std::vector<NodeId>{}).size() == 0);
  CHECK(buildTape(g, std::vector<NodeId>{x}).roots == std::vector<std::uint32_t>{0});
  CHECK_THROWS_AS(buildTape(g, std::vector<NodeId>{NodeId{7}}), std::logic_error);
  CHECK_THROWS_AS(buildTape(g, std::vector<NodeId>{NodeId{}}), std::logic_error);
}

TEST_CASE("a tape of a deep chain is built without recursion", "[jit][tape]") {
  Graph g;
  NodeId acc = g.variable(g.addSymbol("x"));
  for (int i = 0; i < 200000; ++i) acc = g.make(Op::Sin, acc);
  Tape t = buildTape(g, std::vector<NodeId>{acc});
  CHECK(t.size() == 200001);
  CHECK(t.entries.back().node == acc);
  CHECK(t.lastUse[199999] == 200000);
}
