// The printer: DAG -> nabla text with minimal parentheses, shared temporaries, Graphviz DOT.
//
// Printing never recurses over the DAG. Per-node layout facts (precedence level of the printed
// text, whether it starts with a prefix operator, its length) are computed in one forward loop over
// NodeIds (children first); the text is then emitted from an explicit stack of pending pieces.

#include "graph/print.h"

#include "support/number.h"

#include "graph/precedence.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string_view>
#include <unordered_set>

namespace nabla {

namespace {

// Precedence of printed text (graph/precedence.h), as ints: a child printed at a lower level
// than its context needs parentheses.
constexpr int levelOf(Precedence p) { return static_cast<int>(p); }
constexpr int kPrefix = levelOf(Precedence::Prefix);  // also negative constants, printed `-2`
constexpr int kAtom = levelOf(Precedence::Atom);

enum class Form : std::uint8_t { Leaf, Prefix, Infix, Call };

/// How an op prints: its form and, for infix ops, its level and the operator with its spacing
/// (spaces around the loose operators only: `2*x*(y + 1)`, `(x^2 + y)^2`).
struct Syntax {
  Form form = Form::Call;
  std::uint8_t level = kAtom;
  Assoc assoc = Assoc::Left;
  std::uint8_t infixSize = 0;
  char infix[6] = {};  // the operator, with a space on each side at a spaced level

  constexpr std::string_view infixText() const { return {infix, infixSize}; }
};

/// Made from ops.def and precedence.h: an op whose spelling is an operator of the language prints
/// as that operator, any other op with operands as a call.
constexpr std::array<Syntax, kOpCount> kSyntax = [] {
  std::array<Syntax, kOpCount> table{};
  for (int i = 0; i < kOpCount; ++i) {
    const OpInfo &op = kOpInfo[i];
    Syntax &s = table[i];
    if (op.arity == 0) {
      s.form = Form::Leaf;
    } else if (op.arity == 1 && findPrefixOperator(op.spelling) >= 0) {
      s.form = Form::Prefix;
      s.level = kPrefix;
    } else if (int k = op.arity == 2 ? findBinaryOperator(op.spelling) : -1; k >= 0) {
      const Precedence level = kBinaryOperators[k].level;
      const LevelSyntax syntax = levelSyntax(level);
      s.form = Form::Infix;
      s.level = static_cast<std::uint8_t>(levelOf(level));
      s.assoc = syntax.assoc;
      std::size_t n = 0;
      if (syntax.spaced)
        s.infix[n++] = ' ';
      for (char c : op.spelling)
        s.infix[n++] = c;
      if (syntax.spaced)
        s.infix[n++] = ' ';
      s.infixSize = static_cast<std::uint8_t>(n);
    }
  }
  return table;
}();

/// Whether every op printed as a call re-parses as one: its spelling is a name.
constexpr bool callsAreNames() {
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  for (int i = 0; i < kOpCount; ++i) {
    const std::string_view name = kOpInfo[i].spelling;
    if (kSyntax[i].form != Form::Call)
      continue;
    if (name.empty() || !letter(name[0]))
      return false;
    for (char c : name)
      if (!letter(c) && !digit(c))
        return false;
  }
  return true;
}
static_assert(callsAreNames(), "an op spelled like an operator that precedence.h does not list");

constexpr const Syntax &syntaxOf(Op op) { return kSyntax[static_cast<int>(op)]; }
Form formOf(Op op) { return syntaxOf(op).form; }
int infixLevel(Op op) { return syntaxOf(op).level; }
std::string_view infixText(Op op) { return syntaxOf(op).infixText(); }

/// Whether operand `pos` of `parent` needs parentheses, given the operand's printed level and
/// whether its text starts with a prefix operator. Operands after an operator never start with
/// one (`x*(-2)`, `a - (-b)`, `-(-x)`, `x^(-2)`): the language leaves `x*-y` and `--x` to the
/// implementation, so the printer does not rely on them.
bool needsParens(Op parent, int pos, int childLevel, bool childPrefix) {
  const Syntax &s = syntaxOf(parent);
  switch (s.form) {
  case Form::Leaf:
  case Form::Call: return false;
  case Form::Prefix: return childLevel < kPrefix || childPrefix;
  case Form::Infix: break;
  }
  // An operand of a looser level needs parentheses; one of the same level needs them unless the
  // operator groups toward it: a - b - c but a - (b - c), a^b^c but (a^b)^c, and comparisons
  // (Unchained) on either side. Power is tighter than a prefix minus: (-x)^2.
  const int level = s.level;
  if (pos == 0)
    return childLevel < level || (childLevel == level && s.assoc != Assoc::Left);
  return childLevel < level || (childLevel == level && s.assoc != Assoc::Right) || childPrefix;
}


/// The text of a constant and the level it prints at.
struct ConstantText {
  std::string text;
  int level = kAtom;
  bool prefix = false;
};

ConstantText constantText(double v) {
  if (std::isnan(v))
    return {"(0/0)"};
  if (std::isinf(v))
    return {v > 0 ? "(1/0)" : "(-1/0)"};
  if (v == 0)
    return {std::signbit(v) ? "(-0)" : "0"};
  if (std::fabs(v) < std::numeric_limits<double>::min()) {
    // Subnormal: strtod flags these as underflow (ERANGE), so spell the exact value as an integer
    // multiple of the smallest subnormal, which constant folding evaluates exactly.
    char buf[64];
    std::snprintf(buf, sizeof buf, "(%.0f*2^(-1074))", std::ldexp(v, 1074));
    return {buf};
  }
  ConstantText out{formatNumber(v)};
  if (v < 0) {
    out.level = kPrefix;
    out.prefix = true;
  }
  return out;
}

std::uint64_t saturatingAdd(std::uint64_t a, std::uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/// Layout facts for every node reachable from a set of roots, and the emitter.
class ExprPrinter {
public:
  /// `reached` is graph.reachable(roots), which the caller may have needed too. `temps` (with
  /// `names`) are printed by name wherever they occur as operands.
  ExprPrinter(const Graph &graph, std::vector<NodeId> reached,
              const std::vector<NodeId> &temps = {}, std::vector<std::string> names = {})
      : graph_(graph), tempNames_(std::move(names)), order_(std::move(reached)),
        position_(order_) {
    // The tables are indexed by position in order_ (what the roots reach), not by node id: their
    // size is what is printed, not the graph below it.
    const std::size_t n = order_.size();
    level_.assign(n, kAtom);
    prefix_.assign(n, 0);
    length_.assign(n, 0);
    tempIndex_.assign(n, -1);
    for (std::size_t k = 0; k < temps.size(); ++k)
      if (std::uint32_t at = position_[temps[k]]; at != NodePositions::kNone)
        tempIndex_[at] = static_cast<int>(k);
    for (NodeId id : order_)
      layout(id);
  }

  std::uint64_t length(NodeId id) const { return length_[at(id)]; }
  /// The temporary's name if `id` is one, else empty.
  std::string_view nameOf(NodeId id) const {
    int t = tempIndex_[at(id)];
    return t >= 0 ? std::string_view(tempNames_[t]) : std::string_view();
  }

  /// The text of `root`, expanding it even if it is a named temporary (its definition).
  std::string print(NodeId root) const {
    std::string out;
    std::size_t expected =
        static_cast<std::size_t>(std::min<std::uint64_t>(length_[at(root)], 1u << 26));
    out.reserve(expected);
    std::vector<Piece> stack;
    expand(root, stack);
    while (!stack.empty()) {
      Piece p = stack.back();
      stack.pop_back();
      if (!p.node.valid()) {
        out.append(p.text);
        continue;
      }
      if (int t = tempIndex_[at(p.node)]; t >= 0) {
        out.append(tempNames_[t]);
        continue;
      }
      const Node &n = graph_[p.node];
      if (n.op == Op::Const) {
        out.append(constantText(n.value).text);
      } else if (n.op == Op::Var) {
        out.append(graph_.symbolName(n.symbol));
      } else {
        expand(p.node, stack);
      }
    }
    return out;
  }

private:
  struct Piece {
    NodeId node;            // a node to print, or invalid for literal text
    std::string_view text;  // literal text (static storage or the graph's names)
  };

  /// The position of a node the roots reach.
  std::size_t at(NodeId id) const { return position_[id]; }
  int childLevel(NodeId c) const {
    const std::size_t i = at(c);
    return tempIndex_[i] >= 0 ? int{kAtom} : int{level_[i]};
  }
  bool childPrefix(NodeId c) const {
    const std::size_t i = at(c);
    return tempIndex_[i] < 0 && prefix_[i];
  }
  std::uint64_t childLength(NodeId c) const {
    const std::size_t i = at(c);
    int t = tempIndex_[i];
    return t >= 0 ? tempNames_[t].size() : length_[i];
  }
  bool parens(const Node &n, int pos) const {
    NodeId c = n.args[pos];
    return needsParens(n.op, pos, childLevel(c), childPrefix(c));
  }

  void layout(NodeId id) {
    const Node &n = graph_[id];
    const std::size_t i = at(id);
    switch (formOf(n.op)) {
    case Form::Leaf:
      if (n.op == Op::Const) {
        ConstantText c = constantText(n.value);
        level_[i] = c.level;
        prefix_[i] = c.prefix;
        length_[i] = c.text.size();
      } else {
        length_[i] = graph_.symbolName(n.symbol).size();
      }
      return;
    case Form::Prefix:
      level_[i] = kPrefix;
      prefix_[i] = 1;
      length_[i] = saturatingAdd(1 + (parens(n, 0) ? 2 : 0), childLength(n.args[0]));
      return;
    case Form::Infix: {
      bool left = parens(n, 0), right = parens(n, 1);
      level_[i] = infixLevel(n.op);
      prefix_[i] = !left && childPrefix(n.args[0]);
      std::uint64_t len = infixText(n.op).size() + (left ? 2 : 0) + (right ? 2 : 0);
      len = saturatingAdd(len, childLength(n.args[0]));
      length_[i] = saturatingAdd(len, childLength(n.args[1]));
      return;
    }
    case Form::Call: {
      level_[i] = kAtom;
      const int k = arity(n.op);
      std::uint64_t len = spelling(n.op).size() + 2 + 2 * (k - 1);  // name ( args, ... )
      for (int a = 0; a < k; ++a)
        len = saturatingAdd(len, childLength(n.args[a]));
      length_[i] = len;
      return;
    }
    }
  }

  /// Pushes the pieces of one node's text, last piece first.
  void expand(NodeId id, std::vector<Piece> &stack) const {
    const Node &n = graph_[id];
    auto text = [&](std::string_view t) { stack.push_back({NodeId{}, t}); };
    auto operand = [&](int pos, bool paren) {
      if (paren)
        text(")");
      stack.push_back({n.args[pos], {}});
      if (paren)
        text("(");
    };
    switch (formOf(n.op)) {
    case Form::Leaf:
      // Leaves are resolved by the caller; a root leaf is printed here.
      stack.push_back({id, {}});  // print()'s leaf branches (leaves are never temporaries)
      return;
    case Form::Prefix:
      operand(0, parens(n, 0));
      text(spelling(n.op));
      return;
    case Form::Infix:
      operand(1, parens(n, 1));
      text(infixText(n.op));
      operand(0, parens(n, 0));
      return;
    case Form::Call: {
      const int k = arity(n.op);
      text(")");
      for (int a = k - 1; a >= 0; --a) {
        stack.push_back({n.args[a], {}});
        if (a > 0)
          text(", ");
      }
      text("(");
      text(spelling(n.op));
      return;
    }
    }
  }

  const Graph &graph_;
  std::vector<std::uint8_t> level_;
  std::vector<std::uint8_t> prefix_;
  std::vector<std::uint64_t> length_;
  std::vector<int> tempIndex_;
  std::vector<std::string> tempNames_;
  std::vector<NodeId> order_;  // what the roots reach
  NodePositions position_;     // over order_
};

}  // namespace

std::string printExpr(const Graph &graph, NodeId root) { return printExprs(graph, {root}).front(); }

namespace {

/// f(printer, root) for each root, with one printer (one layout pass) for them all.
template <class F>
auto forEachRoot(const Graph &graph, const std::vector<NodeId> &roots, const F &f) {
  ExprPrinter printer(graph, graph.reachable(roots));
  std::vector<decltype(f(printer, NodeId{}))> out;
  out.reserve(roots.size());
  for (NodeId r : roots)
    out.push_back(f(printer, r));
  return out;
}

}  // namespace

std::vector<std::string> printExprs(const Graph &graph, const std::vector<NodeId> &roots) {
  return forEachRoot(graph, roots, [](const ExprPrinter &p, NodeId r) { return p.print(r); });
}

std::vector<std::uint64_t> printedLengths(const Graph &graph, const std::vector<NodeId> &roots) {
  return forEachRoot(graph, roots, [](const ExprPrinter &p, NodeId r) { return p.length(r); });
}

PrintedSet printShared(const Graph &graph, const std::vector<NodeId> &roots) {
  std::vector<NodeId> order = graph.reachable(roots);
  PrintedSet out;
  if (order.empty())
    return out;

  // Uses among the roots' trees, by position in order: one per operand slot of a reachable
  // parent, one per root.
  const std::vector<std::uint32_t> uses = [&] {
    const NodePositions position(order);
    std::vector<std::uint32_t> count(order.size(), 0);
    for (NodeId id : order)
      for (NodeId a : graph[id].args)
        if (a.valid())
          ++count[position[a]];
    for (NodeId r : roots)
      if (r.valid())
        ++count[position[r]];
    return count;
  }();

  auto trivial = [&](NodeId id) {
    const Node &n = graph[id];
    if (n.op == Op::Const || n.op == Op::Var)
      return true;
    return n.op == Op::Neg && arity(graph[n.args[0]].op) == 0;
  };

  // Temporary names must not shadow the graph's own symbols.
  std::unordered_set<std::string> taken;
  for (SymbolId s = 0; s < graph.symbolCount(); ++s)
    taken.insert(graph.symbolName(s));
  std::size_t counter = 0;
  auto freshName = [&] {
    std::string name;
    do
      name = "t" + std::to_string(++counter);
    while (taken.count(name));
    return name;
  };

  std::vector<NodeId> temps;
  std::vector<std::string> names;
  for (std::size_t k = 0; k < order.size(); ++k) {  // increasing ids: dependency order
    const NodeId id = order[k];
    if (uses[k] < 2 || trivial(id))
      continue;
    temps.push_back(id);
    names.push_back(freshName());
  }
  ExprPrinter printer(graph, std::move(order), temps, names);
  for (std::size_t k = 0; k < temps.size(); ++k)
    out.temporaries.emplace_back(names[k], printer.print(temps[k]));
  for (NodeId r : roots) {
    std::string_view name = printer.nameOf(r);
    out.exprs.push_back(name.empty() ? printer.print(r) : std::string(name));
  }
  return out;
}

namespace {

/// A DOT string literal's contents.
std::string dotEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}


/// Operands whose order matters get their position on the edge.
bool labelsOperands(Op op) { return arity(op) > 1 && !hasFlag(op, kCommutative); }

}  // namespace

std::string printDot(const Graph &graph, const std::vector<NodeId> &roots,
                     const std::vector<std::string> &rootNames) {
  std::string out = "digraph nabla {\n  node [fontname=\"Helvetica\"];\n";
  for (NodeId id : graph.reachable(roots)) {
    const Node &n = graph[id];
    std::string node = "n" + std::to_string(id.index);
    out += "  " + node + " [label=\"";
    if (n.op == Op::Const) {
      out += dotEscape(formatNumber(n.value)) + "\", shape=plaintext];\n";
    } else if (n.op == Op::Var) {
      out += dotEscape(graph.symbolName(n.symbol)) + "\", shape=ellipse, style=bold];\n";
    } else {
      out += dotEscape(spelling(n.op)) + "\", shape=circle];\n";
    }
    const int k = arity(n.op);
    for (int a = 0; a < k; ++a) {
      out += "  " + node + " -> n" + std::to_string(n.args[a].index);
      if (labelsOperands(n.op))
        out += " [label=\"" + std::to_string(a + 1) + "\"]";
      out += ";\n";
    }
  }
  for (std::size_t r = 0; r < roots.size(); ++r) {
    if (!roots[r].valid())
      continue;
    std::string name = r < rootNames.size() ? rootNames[r] : "root " + std::to_string(r + 1);
    out += "  r" + std::to_string(r) + " [label=\"" + dotEscape(name) + "\", shape=box];\n";
    out += "  r" + std::to_string(r) + " -> n" + std::to_string(roots[r].index) + ";\n";
  }
  out += "}\n";
  return out;
}

}  // namespace nabla
