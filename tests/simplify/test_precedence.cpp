// One precedence for all three readers and writers of operators: the grammar (through the real
// parser and sema), the rewrite rules' pattern parser and the printer. Printed text of every pair
// of operators in every operand position, and of random deeper expressions, must read back as the
// same DAG through both parsers; and the grouping of unparenthesized text must be DESIGN.md's.
#include "graph/precedence.h"
#include "graph/print.h"
#include "pipeline.h"
#include "simplify/rule.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

using namespace nabla;

namespace {

/// DESIGN.md's operators that have a DAG op, and their precedence: `||`; `&&`; comparisons;
/// `+ -`; `* /`; prefix `- !`; `^` (right-associative, tighter than a prefix on its left).
struct DesignOperator {
  std::string_view spelling;
  int level;
};
const DesignOperator kDesign[] = {{"||", 1}, {"&&", 2}, {"<", 3},  {"<=", 3}, {">", 3},
                                  {">=", 3}, {"==", 3}, {"!=", 3}, {"+", 4},  {"-", 4},
                                  {"*", 5},  {"/", 5},  {"^", 7}};
constexpr int kDesignCompare = 3, kDesignPrefix = 6;

int designLevel(std::string_view spelling) {
  for (const DesignOperator &o : kDesign)
    if (o.spelling == spelling)
      return o.level;
  FAIL("'" << spelling << "' is not an operator of DESIGN.md");
  return 0;
}

/// The DAG ops written as operators: binary, then prefix.
std::vector<Op> binaryOps() {
  std::vector<Op> out;
  for (const OperatorSyntax &o : kBinaryOperators)
    if (std::optional<Op> op = findOp(o.spelling, 2))
      out.push_back(*op);
  return out;
}
std::vector<Op> prefixOps() {
  std::vector<Op> out;
  for (std::string_view p : kPrefixOperators)
    if (std::optional<Op> op = findOp(p, 1))
      out.push_back(*op);
  return out;
}

/// Structural equality of two DAGs of different graphs, variables compared by name.
bool sameDag(const Graph &g, NodeId x, const Graph &h, NodeId y) {
  const Node &a = g[x], &b = h[y];
  if (a.op != b.op)
    return false;
  if (a.op == Op::Var)
    return g.symbolName(a.symbol) == h.symbolName(b.symbol);
  if (a.op == Op::Const)
    return std::bit_cast<std::uint64_t>(a.value) == std::bit_cast<std::uint64_t>(b.value);
  for (int k = 0; k < arity(a.op); ++k)
    if (!sameDag(g, a.args[k], h, b.args[k]))
      return false;
  return true;
}

/// Variables of one graph, named by one letter each (none a built-in: `d` is one), and what the
/// two parsers make of a text over them.
struct Exprs {
  static constexpr std::string_view kNames = "abcxyz";
  Graph g;
  std::vector<NodeId> vars;

  Exprs() {
    for (char c : kNames)
      vars.push_back(g.variable(g.addSymbol(std::string(1, c))));
  }
  NodeId var(int k) const { return vars[k]; }

  /// Checks that the grammar and sema read `text` as the DAG `want`.
  void checkGrammar(const std::string &text, NodeId want) {
    SourceBuffer buffer("<printed>", text);
    DiagnosticSink sink(buffer);
    CompileOptions options;
    options.parse.allowBareExpression = true;
    std::optional<LoweredProgram> program = compileSource(buffer, sink, options);
    INFO(text << "\n" << renderDiagnostics(sink));
    REQUIRE(program.has_value());
    REQUIRE(program->bare.has_value());
    REQUIRE(program->bare->result.elems.size() == 1);
    CHECK(sameDag(g, want, program->graph, program->bare->result.elems[0]));
  }

  /// Checks that the pattern parser reads `text`, its names made pattern variables (`a` is
  /// `?a`), as the DAG `want`.
  void checkPattern(const std::string &text, NodeId want) {
    std::string pattern;
    for (char c : text) {
      if (c >= 'a' && c <= 'z')
        pattern += '?';
      pattern += c;
    }
    std::string error;
    std::optional<rules::Pattern> parsed = rules::parsePattern(pattern, false, error);
    INFO(pattern << ": " << error);
    REQUIRE(parsed.has_value());
    rules::Match match;
    match.graph = &g;
    for (std::size_t k = 0; k < vars.size(); ++k)
      match.any[kNames[k] - 'a'] = vars[k];
    CHECK(rules::buildPattern(g, *parsed, match) == want);
  }

  /// Prints `root` and reads it back through both parsers.
  void checkRoundTrip(NodeId root) {
    const std::string text = printExpr(g, root);
    checkGrammar(text, root);
    checkPattern(text, root);
  }
};

}  // namespace

TEST_CASE("the operators and their order of precedence are DESIGN.md's", "[simplify][print]") {
  CHECK(binaryOps().size() == std::size(kDesign));
  auto level = [](Op op) { return kBinaryOperators[findBinaryOperator(spelling(op))].level; };
  for (Op p : binaryOps()) {
    for (Op q : binaryOps()) {
      INFO(spelling(p) << " " << spelling(q));
      CHECK((level(p) < level(q)) == (designLevel(spelling(p)) < designLevel(spelling(q))));
      CHECK((level(p) == level(q)) == (designLevel(spelling(p)) == designLevel(spelling(q))));
    }
    INFO(spelling(p));
    CHECK((level(p) < Precedence::Prefix) == (designLevel(spelling(p)) < kDesignPrefix));
  }
  CHECK(prefixOps() == std::vector<Op>{Op::Neg, Op::Not});
}

TEST_CASE("unparenthesized operators group as DESIGN.md says, in both parsers",
          "[simplify][print]") {
  for (Op p : binaryOps()) {
    for (Op q : binaryOps()) {
      // a p b q c: q binds first when it is tighter, or as tight and right-associative (^).
      Exprs e;
      const int lp = designLevel(spelling(p)), lq = designLevel(spelling(q));
      const bool right = lq > lp || (lq == lp && spelling(q) == "^");
      const NodeId want = right ? e.g.make(p, e.var(0), e.g.make(q, e.var(1), e.var(2)))
                                : e.g.make(q, e.g.make(p, e.var(0), e.var(1)), e.var(2));
      const std::string text =
          "a " + std::string(spelling(p)) + " b " + std::string(spelling(q)) + " c";
      e.checkGrammar(text, want);
      e.checkPattern(text, want);
      // Printed without parentheses, but where comparisons would chain.
      const bool chained = lp == kDesignCompare && lq == kDesignCompare;
      INFO(text);
      CHECK((printExpr(e.g, want).find('(') != std::string::npos) == chained);
    }
    for (Op u : prefixOps()) {
      // u a p b: the prefix binds first, except under ^.
      Exprs e;
      const bool power = designLevel(spelling(p)) > kDesignPrefix;
      const NodeId want = power ? e.g.make(u, e.g.make(p, e.var(0), e.var(1)))
                                : e.g.make(p, e.g.make(u, e.var(0)), e.var(1));
      const std::string text = std::string(spelling(u)) + "a " + std::string(spelling(p)) + " b";
      e.checkGrammar(text, want);
      e.checkPattern(text, want);
      INFO(text);
      CHECK(printExpr(e.g, want).find('(') == std::string::npos);
    }
  }
}

TEST_CASE("printed operator pairs read back as the same DAG through the grammar and the patterns",
          "[simplify][print]") {
  std::vector<Op> ops = binaryOps();
  for (Op u : prefixOps())
    ops.push_back(u);
  for (Op outer : ops) {
    for (Op inner : ops) {
      for (int pos = 0; pos < arity(outer); ++pos) {
        Exprs e;
        const NodeId in =
            arity(inner) == 2 ? e.g.make(inner, e.var(0), e.var(1)) : e.g.make(inner, e.var(0));
        NodeId root;
        if (arity(outer) == 1)
          root = e.g.make(outer, in);
        else
          root = pos == 0 ? e.g.make(outer, in, e.var(2)) : e.g.make(outer, e.var(2), in);
        e.checkRoundTrip(root);
      }
    }
  }
}

TEST_CASE("printed random operator expressions read back as the same DAG", "[simplify][print]") {
  std::vector<Op> ops = binaryOps();
  for (Op u : prefixOps())
    ops.push_back(u);
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 600; ++trial) {
    Exprs e;
    std::vector<NodeId> pool(e.vars.begin(), e.vars.begin() + 4);
    NodeId root = pool[0];
    const int steps = 1 + static_cast<int>(rng() % 6);
    for (int i = 0; i < steps; ++i) {
      const Op op = ops[rng() % ops.size()];
      auto pick = [&] {
        return pool[pool.size() - 1 - rng() % std::min<std::size_t>(pool.size(), 3)];
      };
      const NodeId a = pick();
      root = arity(op) == 2 ? e.g.make(op, a, pick()) : e.g.make(op, a);
      pool.push_back(root);
    }
    e.checkRoundTrip(root);
  }
}
