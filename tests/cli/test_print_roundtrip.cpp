// The printer's promise: printed text re-parses (through the real parser and sema) to a function
// that computes the same bits as the DAG it came from, for random DAGs over every operation.
#include "graph/interp.h"
#include "graph/print.h"
#include "pipeline.h"

#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <regex>

using namespace nabla;

namespace {

const Op kOps[] = {
#define NABLA_OP(name, arity, spelling) Op::name,
#include "graph/ops.def"
#undef NABLA_OP
};

double randomConstant(std::mt19937_64 &rng) {
  const double special[] = {0.0,
                            -0.0,
                            1,
                            -1,
                            2,
                            -2,
                            0.5,
                            3,
                            1e-3,
                            2.5e-1,
                            1e20,
                            -1e-300,
                            1e300,
                            std::numeric_limits<double>::infinity(),
                            -std::numeric_limits<double>::infinity(),
                            std::numeric_limits<double>::quiet_NaN(),
                            std::numeric_limits<double>::denorm_min() * 12345,
                            0.1,
                            1.0 / 3};
  switch (rng() % 3) {
  case 0: return special[rng() % std::size(special)];
  case 1: return std::uniform_real_distribution<double>(-10, 10)(rng);
  default: {
    double v = std::bit_cast<double>(rng());
    return std::isnan(v) ? 0.75 : v;
  }
  }
}

/// A random DAG over x, y, z: each new node takes its operands mostly from recent nodes, so
/// results are deep and shared.
NodeId randomDag(Graph &g, std::mt19937_64 &rng, int steps) {
  std::vector<NodeId> pool;
  for (const char *name : {"x", "y", "z"})
    pool.push_back(g.variable(g.addSymbol(name)));
  for (int i = 0; i < 3; ++i)
    pool.push_back(g.constant(randomConstant(rng)));
  auto pick = [&]() {
    std::size_t n = pool.size();
    std::size_t back = rng() % 4 == 0 ? rng() % n : rng() % std::min<std::size_t>(n, 4);
    return pool[n - 1 - back];
  };
  for (int i = 0; i < steps; ++i) {
    Op op;
    do
      op = kOps[rng() % std::size(kOps)];
    while (isFusedMultiplyAdd(op)); // ops of tapes, not of the language
    if (arity(op) == 0) {
      pool.push_back(rng() % 2 ? g.constant(randomConstant(rng)) : pool[rng() % 3]);
      continue;
    }
    NodeId a = pick(), b = arity(op) > 1 ? pick() : NodeId{}, c = arity(op) > 2 ? pick() : NodeId{};
    pool.push_back(g.make(op, a, b, c));
  }
  return pool.back();
}

bool sameBits(double a, double b) {
  if (std::isnan(a) && std::isnan(b))
    return true;  // NaN payloads are not part of the promise
  return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

struct Reparsed {
  std::optional<LoweredProgram> program;
  std::map<std::string, SymbolId> symbols;
};

Reparsed reparse(const std::string &text) {
  SourceBuffer buffer("<printed>", text);
  DiagnosticSink sink(buffer);
  CompileOptions options;
  options.parse.allowBareExpression = true;
  Reparsed out;
  out.program = compileSource(buffer, sink, options);
  INFO(text << "\n" << renderDiagnostics(sink));
  REQUIRE(out.program.has_value());
  REQUIRE(out.program->bare.has_value());
  REQUIRE(out.program->bare->result.elems.size() == 1);
  for (const VarGroup &arg : out.program->bare->args)
    out.symbols[arg.name] = arg.symbols.at(0);
  return out;
}

void checkSameFunction(const Graph &g, NodeId root, const std::string &text, std::mt19937_64 &rng) {
  Reparsed r = reparse(text);
  const Graph &h = r.program->graph;
  NodeId back = r.program->bare->result.elems[0];
  std::uniform_real_distribution<double> coordinate(-3, 3);
  for (int k = 0; k < 12; ++k) {
    double point[3];
    for (double &p : point)
      p = k == 0 ? 0.0 : (k == 1 ? std::round(coordinate(rng)) : coordinate(rng));
    double want = evaluate(g, {root}, point).front();
    std::vector<double> values(h.symbolCount(), 0.0);
    const char *names[] = {"x", "y", "z"};
    for (int v = 0; v < 3; ++v)
      if (auto it = r.symbols.find(names[v]); it != r.symbols.end())
        values[it->second] = point[v];
    double got = evaluate(h, {back}, values).front();
    INFO(text << "\nat x=" << point[0] << " y=" << point[1] << " z=" << point[2] << ": " << want
              << " vs " << got);
    CHECK(sameBits(want, got));
  }
}

}  // namespace

TEST_CASE("printed random DAGs re-parse to the same function, bit for bit", "[cli][print]") {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 400; ++trial) {
    Graph g;
    NodeId root = randomDag(g, rng, 1 + static_cast<int>(rng() % 30));
    checkSameFunction(g, root, printExpr(g, root), rng);
  }
}

TEST_CASE("the shared form expands back to the same function", "[cli][print]") {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 150; ++trial) {
    Graph g;
    NodeId root = randomDag(g, rng, 1 + static_cast<int>(rng() % 20));
    PrintedSet set = printShared(g, {root});
    // Substitute the temporaries back, newest first (a temporary may use older ones).
    std::string text = set.exprs.at(0);
    for (std::size_t k = set.temporaries.size(); k-- > 0;) {
      const auto &[name, def] = set.temporaries[k];
      text = std::regex_replace(text, std::regex("\\b" + name + "\\b"), "(" + def + ")");
    }
    checkSameFunction(g, root, text, rng);
  }
}
