// Rewrite rules as named data: patterns in nabla syntax, parsed once, matched against the DAG.
//
// Pattern syntax: nabla expressions (the operators of graph/precedence.h with their precedence,
// but `@`; calls by op spelling or built-in name from ops.def: `sin(?x)`, `where(?c, ?a, ?b)`,
// `logaddexp(?a, ?b)`; `pow(?a, ?b)` is `?a ^ ?b`) where
//   ?x      matches any node (a letter a-z; a repeated ?x must match the same node),
//   #c      matches a constant node (a letter a-z),
//   2.5     matches a constant of that value (0 matches both +0 and -0; `-1` is a literal),
//   fold(e) in a replacement only: e over #constants and literals, computed to one constant.
#pragma once

#include "graph/graph.h"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace nabla::rules {

/// One node of a parsed pattern. Patterns are stored in post-order: children before parents.
struct PatternNode {
  enum class Kind : std::uint8_t { Any, Const, Literal, Apply, Fold };
  Kind kind = Kind::Literal;
  Op op = Op::Const;       // Apply
  std::uint8_t slot = 0;   // Any, Const: the letter, 0 for 'a'
  bool insideFold = false; // part of a fold(...) argument: computed, never built
  double value = 0;        // Literal
  std::array<std::int32_t, 3> args{-1, -1, -1}; // Apply (arity(op) of them), Fold (one)
};

struct Pattern {
  std::vector<PatternNode> nodes; // post-order; the root is last
  unsigned depth = 0;             // longest root-to-leaf chain of Apply nodes
  const PatternNode &root() const { return nodes.back(); }
};

/// Parses one pattern. `replacement` allows fold(...). On failure returns nothing and sets
/// `error` (lower-case, names the offending text).
std::optional<Pattern> parsePattern(std::string_view text, bool replacement, std::string &error);

/// Per-node facts that guards ask about. Nodes never change, so answers are memoized for the
/// life of the graph; every query is a loop (no recursion) and O(1) amortized.
class NodeFacts {
public:
  explicit NodeFacts(const Graph &graph) : graph_(&graph) {}
  /// An Add whose summands (through nested Adds) are all Exp nodes, positive finite constants
  /// times an Exp (`2*exp(x)`, what add-self makes of exp(x) + exp(x)) or positive finite
  /// constants (`exp(x) + 1`; constants fold, so one summand at least is not a constant):
  /// e^a + c*e^b + d + ... > 0.
  bool isSumOfExps(NodeId id);
  /// One summand of such a sum (an Exp or c * Exp, c > 0 finite), or such a sum.
  bool isExpTermOrSum(NodeId id);
  /// A comparison, && or ||: the value is 0 or 1, never NaN.
  bool isTruthValue(NodeId id) const;
  /// A truth value or a `!`: the value is 0, 1 or NaN.
  bool isBooleanOrNaN(NodeId id) const;

private:
  const Graph *graph_;
  // Answers by NodeId for the Adds asked about (a map, not a vector over the whole graph: one
  // simplify of a small expression late in a large graph costs that expression only).
  std::unordered_map<std::uint32_t, bool> sumOfExps_;
};

/// The bindings of a successful match.
struct Match {
  const Graph *graph = nullptr;
  NodeFacts *facts = nullptr;
  std::array<NodeId, 26> any{};   // ?a .. ?z
  std::array<NodeId, 26> konst{}; // #a .. #z, constant nodes
  NodeId node(char letter) const { return any[letter - 'a']; }
  double value(char letter) const { return (*graph)[konst[letter - 'a']].value; }
};

/// Matches `pattern` at `id`, adding to `match` (which must hold graph; bindings start empty).
/// Recursion is bounded by the pattern's depth, never by the DAG's.
bool matchPattern(const Pattern &pattern, NodeId id, Match &match);

/// The value of the fold(...) whose argument is node `index` of `pattern`.
double foldValue(const Pattern &pattern, std::int32_t index, const Match &match);

/// Builds a pattern's nodes with graph.make (constants fold), every slot taken from `match`.
/// A loop over the post-order nodes. Tests use it to build both sides of a rule.
NodeId buildPattern(Graph &graph, const Pattern &pattern, const Match &match);

struct Rule {
  std::string_view name; // in traces, counters, test failures; an interface
  std::string_view lhs, rhs;
  bool (*when)(const Match &) = nullptr; // guard; nullptr means "always"
};

struct RuleFamily {
  std::string_view name;
  std::span<const Rule> rules;
  bool stability = false; // a numerical-stability rewrite, off with SimplifyOptions::stability
};

/// Every family, in the order rules are tried (first match wins at a node).
std::span<const RuleFamily> ruleFamilies();

// The tables, one per rules_<family>.cpp.
std::span<const Rule> arithmeticRules();
std::span<const Rule> functionRules();
std::span<const Rule> selectRules();
std::span<const Rule> stabilityRules();

struct CompiledRule {
  const Rule *rule = nullptr;
  Pattern lhs, rhs;
  bool stability = false;
};

/// All rules parsed, built on first use. A rule whose patterns fail to parse is left out and
/// its error kept in `errors` (a test requires it to be empty).
struct RuleSet {
  std::vector<CompiledRule> rules;
  std::vector<std::string> errors;
  std::array<std::vector<std::uint32_t>, kOpCount> byRootOp; // rule indices, in table order
};
const RuleSet &ruleSet();

} // namespace nabla::rules
