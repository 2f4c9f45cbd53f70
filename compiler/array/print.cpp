// Array nodes as nabla text in matrix notation: `outer(t1, x)`, `transpose(W2) @ t2`, with the
// fewest parentheses the language's precedence allows, and each subexpression used more than
// once named after `where`, as the scalar printer does.
#include "array/array.h"
#include "support/number.h"

#include <algorithm>

namespace nabla::array {

namespace {

enum Level : int { Or = 1, And, Compare, Additive, Multiplicative, Prefix, Power, Atom };

struct Printed {
  std::string text;
  int level = Atom;
};

struct Infix {
  const char *spelling;
  int level;
};

std::optional<Infix> infixOf(Op op) {
  switch (op) {
  case Op::Add: return Infix{" + ", Additive};
  case Op::Sub: return Infix{" - ", Additive};
  case Op::Mul: return Infix{"*", Multiplicative};
  case Op::Div: return Infix{"/", Multiplicative};
  case Op::Pow: return Infix{"^", Power};
  case Op::Lt: return Infix{" < ", Compare};
  case Op::Le: return Infix{" <= ", Compare};
  case Op::Gt: return Infix{" > ", Compare};
  case Op::Ge: return Infix{" >= ", Compare};
  case Op::Eq: return Infix{" == ", Compare};
  case Op::Ne: return Infix{" != ", Compare};
  case Op::And: return Infix{" && ", And};
  case Op::Or: return Infix{" || ", Or};
  default: return std::nullopt;
  }
}

std::string wrap(const Printed &p, bool parens) { return parens ? "(" + p.text + ")" : p.text; }

std::string number(double v) {
  std::string s = formatNumber(v);
  return s;
}

class Printer {
public:
  Printer(const Program &program, const std::vector<Id> &roots) : p_(program), g_(program.graph) {
    order_ = reachable(g_, roots);
    std::vector<unsigned> uses(g_.size(), 0);
    for (Id id : order_) {
      const Node &n = g_[id];
      for (std::uint8_t k = 0; k < n.argCount; ++k) ++uses[n.args[k]];
      for (Id part : n.parts) ++uses[part];
    }
    for (Id r : roots) ++uses[r];
    printed_.resize(g_.size());
    named_.assign(g_.size(), false);
    for (Id id : order_) {
      printed_[id] = print(id);
      const Node &n = g_[id];
      const bool leaf = n.kind == Kind::Param || n.kind == Kind::Input ||
                        (n.kind == Kind::Const && n.shape.isScalar());
      if (uses[id] >= 2 && !leaf && printed_[id].text.size() > 3) {
        const std::string name = "t" + std::to_string(++temps_);
        where_ += "  " + name + " = " + printed_[id].text + "\n";
        printed_[id] = {name, Atom};
      }
    }
  }

  const Printed &operator[](Id id) const { return printed_[id]; }
  const std::string &where() const { return where_; }

private:
  std::string call(const char *name, std::initializer_list<Id> args) const {
    std::string s = std::string(name) + "(";
    bool first = true;
    for (Id a : args) {
      if (!first) s += ", ";
      s += printed_[a].text;
      first = false;
    }
    return s + ")";
  }

  std::string constant(const Node &n) const {
    if (n.shape.isScalar()) return number(n.values[0]);
    // A constant array whose elements are all one value reads as that value times ones: print
    // the literal, row by row.
    const std::size_t cols = n.shape.dims.back();
    std::string s = "[";
    for (std::size_t i = 0; i < n.values.size(); ++i) {
      if (n.shape.dims.size() == 2 && i % cols == 0) s += (i ? "], [" : "[");
      else if (i) s += ", ";
      s += number(n.values[i]);
    }
    if (n.shape.dims.size() == 2) s += "]";
    return s + "]";
  }

  Printed print(Id id) const {
    const Node &n = g_[id];
    switch (n.kind) {
    case Kind::Param: return {p_.paramNames.at(n.group), Atom};
    case Kind::Input: return {p_.inputNames.at(n.group), Atom};
    case Kind::Const: {
      std::string s = constant(n);
      return {s, s[0] == '-' ? Prefix : Atom};
    }
    case Kind::Map: {
      const Printed &a = printed_[n.args[0]];
      if (n.op == Op::Neg || n.op == Op::Not)
        return {(n.op == Op::Neg ? "-" : "!") + wrap(a, a.level <= Prefix), Prefix};
      if (std::optional<Infix> infix = infixOf(n.op)) {
        const Printed &b = printed_[n.args[1]];
        const bool right = n.op == Op::Pow;
        // A product `@` inside `*` or `/` is parenthesized for the reader (the same parse).
        const bool matmul = g_[n.args[0]].kind == Kind::MatMul && a.level == Multiplicative &&
                            infix->level == Multiplicative;
        const bool left = right ? a.level <= infix->level : a.level < infix->level || matmul;
        const bool rparens = right ? b.level < infix->level : b.level <= infix->level;
        return {wrap(a, left) + infix->spelling + wrap(b, rparens), infix->level};
      }
      std::string s = std::string(opInfo(n.op).spelling) + "(" + a.text;
      for (std::uint8_t k = 1; k < n.argCount; ++k) s += ", " + printed_[n.args[k]].text;
      return {s + ")", Atom};
    }
    case Kind::MatMul: {
      const Printed &a = printed_[n.args[0]], &b = printed_[n.args[1]];
      return {wrap(a, a.level < Multiplicative) + " @ " + wrap(b, b.level <= Multiplicative),
              Multiplicative};
    }
    case Kind::Transpose: return {call("transpose", {n.args[0]}), Atom};
    case Kind::Outer: return {call("outer", {n.args[0], n.args[1]}), Atom};
    case Kind::Sum: return {call("sum", {n.args[0]}), Atom};
    case Kind::Max: return {call("max", {n.args[0]}), Atom};
    case Kind::Min: return {call("min", {n.args[0]}), Atom};
    case Kind::Norm: return {call("norm", {n.args[0]}), Atom};
    case Kind::FirstMax:
    case Kind::FirstMin: return firstExtreme(n);
    case Kind::ArgMax: return {call("argmax", {n.args[0]}), Atom};
    case Kind::ArgMin: return {call("argmin", {n.args[0]}), Atom};
    case Kind::LogSumExp: return {call("logsumexp", {n.args[0]}), Atom};
    case Kind::Softmax: return {call("softmax", {n.args[0]}), Atom};
    case Kind::SoftmaxAdjoint: {  // its value, as the language writes it
      const Printed &y = printed_[n.args[0]], &g = printed_[n.args[1]];
      return {wrap(y, y.level < Multiplicative) + "*(" + g.text + " - sum(" +
                  wrap(g, g.level < Multiplicative) + "*" + wrap(y, y.level <= Multiplicative) + "))",
              Multiplicative};
    }
    case Kind::Onehot:
      return {"onehot(" + printed_[n.args[0]].text + ", " + std::to_string(n.group) + ")", Atom};
    case Kind::Slice: {
      const Printed &a = printed_[n.args[0]];
      const Shape &s = g_[n.args[0]].shape;
      std::size_t last = n.box.size();  // trailing whole dimensions are left out
      while (last > 1 && n.box[last - 1].keep && n.box[last - 1].start == 0 &&
             n.box[last - 1].count == s.dims[last - 1])
        --last;
      std::string sub;
      for (std::size_t d = 0; d < last; ++d) {
        if (d) sub += ", ";
        const SliceDim &b = n.box[d];
        if (!b.keep) {
          sub += std::to_string(b.start);
          continue;
        }
        if (b.start) sub += std::to_string(b.start);
        sub += ":";
        if (b.start + b.count != s.dims[d]) sub += std::to_string(b.start + b.count);
      }
      return {wrap(a, a.level < Atom) + "[" + sub + "]", Atom};
    }
    case Kind::Embed: return embed(n);
    case Kind::Stack: {
      std::string s = "[";
      for (std::size_t k = 0; k < n.parts.size(); ++k) s += (k ? ", " : "") + printed_[n.parts[k]].text;
      return {s + "]", Atom};
    }
    case Kind::Broadcast: return printed_[n.args[0]];  // a scalar stands for all elements
    case Kind::BatchSum: return {call("batchsum", {n.args[0]}), Atom};
    case Kind::OuterSum: return {call("outersum", {n.args[0], n.args[1]}), Atom};
    }
    return {"?", Atom};
  }

  /// The mask of the first largest (smallest) element: onehot(argmax(v), n) for a vector; for a
  /// matrix, the row and the column of the row-major index t = argmax(W).
  Printed firstExtreme(const Node &n) const {
    const std::string arg = std::string(n.kind == Kind::FirstMax ? "argmax(" : "argmin(") +
                            printed_[n.args[0]].text + ")";
    if (n.shape.dims.size() == 1)
      return {"onehot(" + arg + ", " + std::to_string(n.shape.dims[0]) + ")", Atom};
    const std::string rows = std::to_string(n.shape.dims[0]), cols = std::to_string(n.shape.dims[1]);
    const std::string row = "floor(" + arg + "/" + cols + ")";
    return {"outer(onehot(" + row + ", " + rows + "), onehot(" + arg + " - " + cols + "*" + row +
                ", " + cols + "))",
            Atom};
  }

  /// Zeros of the node's shape with the operand in the box, in the language: pad() where every
  /// dimension of the box is a range, onehot() where a subscript dropped one (`W[:, 2]`).
  Printed embed(const Node &n) const {
    const Printed &a = printed_[n.args[0]];
    // The operand padded along the box's ranges: its kept dimensions, in order.
    std::string padding;
    bool padded = false;
    for (std::size_t d = 0; d < n.box.size(); ++d) {
      const SliceDim &b = n.box[d];
      if (!b.keep) continue;
      const std::uint32_t after = n.shape.dims[d] - b.start - b.count;
      padding += ", " + std::to_string(b.start) + ", " + std::to_string(after);
      padded = padded || b.start || after;
    }
    std::string inner = padded ? "pad(" + a.text + padding + ")" : a.text;
    auto onehot = [&](std::size_t d) {
      return "onehot(" + std::to_string(n.box[d].start) + ", " + std::to_string(n.shape.dims[d]) + ")";
    };
    const std::size_t rank = n.box.size();
    if (rank == 1 && n.box[0].keep) return {inner, padded ? Atom : a.level};
    if (rank == 1) return {wrap(a, a.level < Multiplicative) + "*" + onehot(0), Multiplicative};
    if (!n.box[0].keep && !n.box[1].keep)
      return {wrap(a, a.level < Multiplicative) + "*outer(" + onehot(0) + ", " + onehot(1) + ")",
              Multiplicative};
    if (!n.box[0].keep) return {"outer(" + onehot(0) + ", " + inner + ")", Atom};
    if (!n.box[1].keep) return {"outer(" + inner + ", " + onehot(1) + ")", Atom};
    return {inner, padded ? Atom : a.level};
  }

  const Program &p_;
  const Graph &g_;
  std::vector<Id> order_;
  std::vector<Printed> printed_;
  std::vector<bool> named_;
  std::string where_;
  unsigned temps_ = 0;
};

}  // namespace

std::string printRoots(const Program &program, const std::vector<std::string> &labels,
                       const std::vector<Id> &roots) {
  Printer printer(program, roots);
  std::string out;
  for (std::size_t k = 0; k < roots.size(); ++k)
    out += (labels[k].empty() ? "" : labels[k] + " = ") + printer[roots[k]].text + "\n";
  if (!printer.where().empty()) out += "where\n" + printer.where();
  return out;
}

}  // namespace nabla::array
