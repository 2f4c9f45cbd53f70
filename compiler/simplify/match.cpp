// Patterns: the parser for rule text, the matcher, building a replacement, and the rule set.
#include "simplify/rule.h"

#include "graph/precedence.h"

#include <array>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <string>

namespace nabla::rules {

namespace {

// Pattern text is ours and short; a cap keeps hostile text from recursing deeply.
constexpr unsigned kMaxPatternNesting = 32;

/// A binary operator of graph/precedence.h that has a DAG op (all but `@`).
struct BinaryPattern {
  std::string_view spelling;
  Precedence level;
  Op op;
};

constexpr std::size_t countBinaryPatterns() {
  std::size_t n = 0;
  for (const OperatorSyntax &o : kBinaryOperators)
    n += findOp(o.spelling, 2).has_value();
  return n;
}

/// Longest spelling first, so that a level's `<=` is tried before its `<`.
constexpr auto kBinaryPatterns = [] {
  std::array<BinaryPattern, countBinaryPatterns()> out{};
  std::size_t n = 0;
  for (const OperatorSyntax &o : kBinaryOperators)
    if (std::optional<Op> op = findOp(o.spelling, 2))
      out[n++] = {o.spelling, o.level, *op};
  for (std::size_t i = 1; i < n; ++i) // insertion sort: stable
    for (std::size_t j = i; j > 0 && out[j - 1].spelling.size() < out[j].spelling.size(); --j)
      std::swap(out[j - 1], out[j]);
  return out;
}();

constexpr Op kPowerOp = *findOp(kPowerOperator, 2);

/// Recursive descent over nabla's expression grammar, with the levels of graph/precedence.h:
///   level   := tighter (op tighter)*        for each binary level below Prefix, loosest first:
///                                           || ; && ; < <= > >= == != ; + - ; * /
///   unary   := ('-' | '+' | '!') unary | power
///   power   := primary ('^' unary)?         (right-associative, tighter than unary minus)
///   primary := '?' letter | '#' letter | number | name '(' or (',' or)* ')' | '(' or ')'
class PatternParser {
public:
  PatternParser(std::string_view text, bool replacement) : text_(text), replacement_(replacement) {}

  std::optional<Pattern> parse(std::string &error) {
    std::int32_t root = parseOr();
    skipSpace();
    if (root >= 0 && pos_ != text_.size())
      fail("unexpected '" + std::string(text_.substr(pos_, 1)) + "'");
    if (root < 0)
      fail("empty pattern");
    if (!error_.empty()) {
      error = "in pattern '" + std::string(text_) + "': " + error_;
      return std::nullopt;
    }
    Pattern p;
    p.nodes = std::move(nodes_);
    std::vector<unsigned> depth(p.nodes.size(), 0);
    for (std::size_t i = 0; i < p.nodes.size(); ++i) {
      const PatternNode &n = p.nodes[i];
      if (n.kind != PatternNode::Kind::Apply && n.kind != PatternNode::Kind::Fold)
        continue;
      unsigned d = 0;
      for (std::int32_t a : n.args)
        if (a >= 0 && depth[a] > d)
          d = depth[a];
      depth[i] = d + 1;
    }
    p.depth = depth.back();
    return p;
  }

private:
  void fail(std::string message) {
    if (error_.empty())
      error_ = std::move(message);
  }
  bool failed() const { return !error_.empty(); }

  void skipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_])))
      ++pos_;
  }
  bool accept(std::string_view token) {
    skipSpace();
    if (text_.substr(pos_, token.size()) != token)
      return false;
    pos_ += token.size();
    return true;
  }
  bool peekIs(std::string_view token) {
    skipSpace();
    return text_.substr(pos_, token.size()) == token;
  }

  std::int32_t add(PatternNode n) {
    nodes_.push_back(n);
    return static_cast<std::int32_t>(nodes_.size() - 1);
  }
  std::int32_t apply(Op op, std::int32_t a, std::int32_t b = -1, std::int32_t c = -1) {
    if (a < 0 || (arity(op) > 1 && b < 0) || (arity(op) > 2 && c < 0))
      return -1;
    PatternNode n;
    n.kind = PatternNode::Kind::Apply;
    n.op = op;
    n.args = {a, b, c};
    return add(n);
  }

  struct Nest {
    PatternParser &p;
    explicit Nest(PatternParser &parser) : p(parser) {
      if (++p.nesting_ > kMaxPatternNesting)
        p.fail("pattern nested too deeply");
    }
    ~Nest() { --p.nesting_; }
  };

  /// level := tighter (op tighter)*  for each binary level below Prefix, loosest first
  /// (graph/precedence.h), all read left to right; Prefix and Power are parseUnary's.
  std::int32_t parseLevel(Precedence level) {
    if (level == Precedence::Prefix)
      return parseUnary();
    std::optional<Nest> nest;
    if (level == Precedence::Or) {
      nest.emplace(*this);
      if (failed())
        return -1;
    }
    std::int32_t lhs = parseLevel(tighter(level));
    while (lhs >= 0) {
      std::optional<Op> op = acceptBinary(level);
      if (!op)
        break;
      lhs = apply(*op, lhs, parseLevel(tighter(level)));
    }
    return lhs;
  }
  std::int32_t parseOr() { return parseLevel(Precedence::Or); }

  /// The longest operator of `level` with a DAG op at the current position (`<=` before `<`).
  std::optional<Op> acceptBinary(Precedence level) {
    for (const BinaryPattern &b : kBinaryPatterns)
      if (b.level == level && accept(b.spelling))
        return b.op;
    return std::nullopt;
  }

  std::int32_t parseUnary() {
    Nest nest(*this);
    if (failed())
      return -1;
    if (peekIs("!=")) {
      fail("expected an operand before '!='");
      return -1;
    }
    for (std::string_view prefix : kPrefixOperators) {
      if (!accept(prefix))
        continue;
      std::optional<Op> op = findOp(prefix, 1);
      std::int32_t operand = parseUnary();
      if (!op || operand < 0)
        return operand; // `+x` is x
      // `-1` is the constant -1 (the graph folds Neg of a constant), so it matches one.
      if (*op == Op::Neg && nodes_[operand].kind == PatternNode::Kind::Literal) {
        nodes_[operand].value = -nodes_[operand].value;
        return operand;
      }
      return apply(*op, operand);
    }
    return parsePower();
  }
  std::int32_t parsePower() {
    std::int32_t base = parsePrimary();
    if (base >= 0 && accept(kPowerOperator))
      return apply(kPowerOp, base, parseUnary());
    return base;
  }

  std::int32_t parseSlot(PatternNode::Kind kind, char sigil) {
    if (pos_ >= text_.size() || !std::islower(static_cast<unsigned char>(text_[pos_]))) {
      fail(std::string("expected a letter a-z after '") + sigil + "'");
      return -1;
    }
    PatternNode n;
    n.kind = kind;
    n.slot = static_cast<std::uint8_t>(text_[pos_++] - 'a');
    if (pos_ < text_.size() &&
        (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_')) {
      fail(std::string("a pattern variable is one letter: '") + sigil + text_[pos_ - 1] +
           "' then '" + text_[pos_] + "'");
      return -1;
    }
    return add(n);
  }

  std::int32_t parseNumber() {
    std::size_t start = pos_;
    while (pos_ < text_.size() &&
           (std::isdigit(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '.'))
      ++pos_;
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      std::size_t save = pos_++;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-'))
        ++pos_;
      if (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
        while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_])))
          ++pos_;
      } else {
        pos_ = save;
      }
    }
    std::string digits(text_.substr(start, pos_ - start));
    char *end = nullptr;
    double v = std::strtod(digits.c_str(), &end);
    if (digits.empty() || end != digits.c_str() + digits.size()) {
      fail("bad number '" + digits + "'");
      return -1;
    }
    PatternNode n;
    n.kind = PatternNode::Kind::Literal;
    n.value = v;
    return add(n);
  }

  std::int32_t parseCall(std::string_view name) {
    if (!accept("(")) {
      fail("expected '(' after '" + std::string(name) + "'");
      return -1;
    }
    std::size_t start = nodes_.size();
    std::vector<std::int32_t> args;
    if (!peekIs(")")) {
      do {
        std::int32_t a = parseOr();
        if (a < 0)
          return -1;
        args.push_back(a);
      } while (accept(","));
    }
    if (!accept(")")) {
      fail("expected ')' to close '" + std::string(name) + "('");
      return -1;
    }
    if (name == "fold") {
      if (!replacement_) {
        fail("fold(...) only in a replacement");
        return -1;
      }
      if (args.size() != 1) {
        fail("fold takes 1 argument, not " + std::to_string(args.size()));
        return -1;
      }
      for (std::size_t i = start; i < nodes_.size(); ++i) {
        if (nodes_[i].kind == PatternNode::Kind::Any || nodes_[i].kind == PatternNode::Kind::Fold) {
          fail("fold(...) takes only #constants and numbers");
          return -1;
        }
        nodes_[i].insideFold = true;
      }
      PatternNode n;
      n.kind = PatternNode::Kind::Fold;
      n.args[0] = args[0];
      return add(n);
    }
    std::optional<Op> op = findCall(name);
    if (!op) {
      fail("unknown function '" + std::string(name) + "'");
      return -1;
    }
    if (static_cast<int>(args.size()) != arity(*op)) {
      fail("'" + std::string(name) + "' takes " + std::to_string(arity(*op)) + " argument" +
           (arity(*op) == 1 ? "" : "s") + ", not " + std::to_string(args.size()));
      return -1;
    }
    args.resize(3, -1);
    return apply(*op, args[0], args[1], args[2]);
  }

  std::int32_t parsePrimary() {
    skipSpace();
    if (pos_ >= text_.size()) {
      fail("unexpected end of pattern");
      return -1;
    }
    char c = text_[pos_];
    if (c == '?') {
      ++pos_;
      return parseSlot(PatternNode::Kind::Any, '?');
    }
    if (c == '#') {
      ++pos_;
      return parseSlot(PatternNode::Kind::Const, '#');
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.')
      return parseNumber();
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::size_t start = pos_;
      while (pos_ < text_.size() &&
             (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_'))
        ++pos_;
      return parseCall(text_.substr(start, pos_ - start));
    }
    if (accept("(")) {
      std::int32_t inner = parseOr();
      if (inner >= 0 && !accept(")")) {
        fail("expected ')'");
        return -1;
      }
      return inner;
    }
    fail("unexpected '" + std::string(1, c) + "'");
    return -1;
  }

  std::string_view text_;
  bool replacement_;
  std::size_t pos_ = 0;
  unsigned nesting_ = 0;
  std::vector<PatternNode> nodes_;
  std::string error_;
};

bool matchAt(const Pattern &pattern, std::int32_t index, NodeId id, Match &m) {
  const PatternNode &p = pattern.nodes[index];
  const Node &n = (*m.graph)[id];
  switch (p.kind) {
  case PatternNode::Kind::Any: {
    NodeId &bound = m.any[p.slot];
    if (bound.valid())
      return bound == id;
    bound = id;
    return true;
  }
  case PatternNode::Kind::Const: {
    if (n.op != Op::Const)
      return false;
    NodeId &bound = m.konst[p.slot];
    if (bound.valid())
      return bound == id;
    bound = id;
    return true;
  }
  case PatternNode::Kind::Literal:
    return n.op == Op::Const && n.value == p.value; // 0 matches -0 too; NaN never
  case PatternNode::Kind::Apply:
    if (n.op != p.op)
      return false;
    for (int i = 0; i < arity(p.op); ++i)
      if (!matchAt(pattern, p.args[i], n.args[i], m))
        return false;
    return true;
  case PatternNode::Kind::Fold:
    return false; // replacement only
  }
  return false;
}

// Checks a rule's two patterns together: the lhs is an op applied to something, every slot of
// the rhs is bound by the lhs, and no letter is both ?x and #x.
std::string checkRule(const Pattern &lhs, const Pattern &rhs) {
  if (lhs.root().kind != PatternNode::Kind::Apply)
    return "the pattern must be an operation";
  std::array<char, 26> bound{}; // 0 unused, '?' or '#'
  for (const PatternNode &n : lhs.nodes) {
    if (n.kind != PatternNode::Kind::Any && n.kind != PatternNode::Kind::Const)
      continue;
    char sigil = n.kind == PatternNode::Kind::Any ? '?' : '#';
    if (bound[n.slot] && bound[n.slot] != sigil)
      return std::string("'") + static_cast<char>('a' + n.slot) + "' is both ?" +
             static_cast<char>('a' + n.slot) + " and #" + static_cast<char>('a' + n.slot);
    bound[n.slot] = sigil;
  }
  for (const PatternNode &n : rhs.nodes) {
    if (n.kind != PatternNode::Kind::Any && n.kind != PatternNode::Kind::Const)
      continue;
    char sigil = n.kind == PatternNode::Kind::Any ? '?' : '#';
    if (bound[n.slot] != sigil)
      return std::string("the replacement uses ") + sigil + static_cast<char>('a' + n.slot) +
             ", which the pattern does not bind";
  }
  return {};
}

} // namespace

std::optional<Pattern> parsePattern(std::string_view text, bool replacement, std::string &error) {
  return PatternParser(text, replacement).parse(error);
}

bool NodeFacts::isTruthValue(NodeId id) const { return hasFlag((*graph_)[id].op, kTruthValue); }

bool NodeFacts::isBooleanOrNaN(NodeId id) const {
  return isTruthValue(id) || (*graph_)[id].op == Op::Not;
}

namespace {
// c * exp(x) with c > 0 finite: what add-self and add-scaled-self make of a sum of equal exps.
bool isScaledExp(const Graph &g, NodeId id) {
  const Node &n = g[id];
  if (n.op != Op::Mul || g[n.args[1]].op != Op::Exp || !g.isConstant(n.args[0]))
    return false;
  double c = g[n.args[0]].value;
  return c > 0 && std::isfinite(c);
}
// A constant c > 0 finite: exp(log(c)), a term of a sum of exps.
bool isPositiveConstant(const Graph &g, NodeId id) {
  return g[id].op == Op::Const && g[id].value > 0 && std::isfinite(g[id].value);
}
} // namespace

bool NodeFacts::isSumOfExps(NodeId id) {
  const Graph &g = *graph_;
  if (g[id].op != Op::Add)
    return false;
  // Post-order over the Adds below `id` with an explicit stack: a long sum is a long chain.
  std::vector<NodeId> stack{id};
  while (!stack.empty()) {
    NodeId top = stack.back();
    if (sumOfExps_.count(top.index)) {
      stack.pop_back();
      continue;
    }
    bool pending = false, ok = true;
    for (int i = 0; i < 2 && ok; ++i) {
      NodeId child = g[top].args[i];
      Op op = g[child].op;
      if (op == Op::Exp || isScaledExp(g, child) || isPositiveConstant(g, child))
        continue;
      auto known = sumOfExps_.find(child.index);
      if (op != Op::Add)
        ok = false;
      else if (known != sumOfExps_.end() && !known->second)
        ok = false;
      else if (known == sumOfExps_.end()) {
        stack.push_back(child);
        pending = true;
      }
    }
    if (!ok) {
      sumOfExps_[top.index] = false;
      stack.pop_back();
    } else if (!pending) {
      sumOfExps_[top.index] = true;
      stack.pop_back();
    }
  }
  return sumOfExps_[id.index];
}

bool NodeFacts::isExpTermOrSum(NodeId id) {
  const Graph &g = *graph_;
  return g[id].op == Op::Exp || isScaledExp(g, id) || isSumOfExps(id);
}

bool matchPattern(const Pattern &pattern, NodeId id, Match &match) {
  return matchAt(pattern, static_cast<std::int32_t>(pattern.nodes.size() - 1), id, match);
}

double foldValue(const Pattern &pattern, std::int32_t index, const Match &match) {
  const PatternNode &p = pattern.nodes[index];
  switch (p.kind) {
  case PatternNode::Kind::Literal:
    return p.value;
  case PatternNode::Kind::Const:
    return (*match.graph)[match.konst[p.slot]].value;
  case PatternNode::Kind::Apply: {
    double v[3] = {0, 0, 0};
    for (int i = 0; i < arity(p.op); ++i)
      v[i] = foldValue(pattern, p.args[i], match);
    return evalOp(p.op, v[0], v[1], v[2]);
  }
  case PatternNode::Kind::Any:
  case PatternNode::Kind::Fold:
    break; // rejected by the parser
  }
  return std::nan("");
}

NodeId buildPattern(Graph &graph, const Pattern &pattern, const Match &match) {
  std::vector<NodeId> built(pattern.nodes.size());
  for (std::size_t i = 0; i < pattern.nodes.size(); ++i) {
    const PatternNode &p = pattern.nodes[i];
    if (p.insideFold)
      continue;
    switch (p.kind) {
    case PatternNode::Kind::Any:
      built[i] = match.any[p.slot];
      break;
    case PatternNode::Kind::Const:
      built[i] = match.konst[p.slot];
      break;
    case PatternNode::Kind::Literal:
      built[i] = graph.constant(p.value);
      break;
    case PatternNode::Kind::Fold:
      built[i] = graph.constant(foldValue(pattern, p.args[0], match));
      break;
    case PatternNode::Kind::Apply: {
      NodeId a[3];
      for (int k = 0; k < arity(p.op); ++k)
        a[k] = built[p.args[k]];
      built[i] = graph.make(p.op, a[0], a[1], a[2]);
      break;
    }
    }
  }
  return built.back();
}

std::span<const RuleFamily> ruleFamilies() {
  static const RuleFamily kFamilies[] = {
      {"arithmetic", arithmeticRules(), false},
      {"function", functionRules(), false},
      {"select", selectRules(), false},
      {"stability", stabilityRules(), true},
  };
  return kFamilies;
}

const RuleSet &ruleSet() {
  static const RuleSet kSet = [] {
    RuleSet set;
    for (const RuleFamily &family : ruleFamilies()) {
      for (const Rule &rule : family.rules) {
        std::string error;
        std::optional<Pattern> lhs = parsePattern(rule.lhs, false, error);
        std::optional<Pattern> rhs = lhs ? parsePattern(rule.rhs, true, error) : std::nullopt;
        if (lhs && rhs)
          error = checkRule(*lhs, *rhs);
        if (!error.empty()) {
          set.errors.push_back("rule '" + std::string(rule.name) + "': " + error);
          continue;
        }
        auto index = static_cast<std::uint32_t>(set.rules.size());
        set.byRootOp[static_cast<int>(lhs->root().op)].push_back(index);
        set.rules.push_back({&rule, std::move(*lhs), std::move(*rhs), family.stability});
      }
    }
    return set;
  }();
  return kSet;
}

} // namespace nabla::rules
