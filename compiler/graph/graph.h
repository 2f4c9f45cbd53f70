// The scalar DAG: hash-consed nodes in topological order, constant folding as nodes are built.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace nabla {

enum class Op : std::uint8_t {
#define NABLA_OP(name, arity, spelling) name,
#include "graph/ops.def"
#undef NABLA_OP
};
inline constexpr int kOpCount = 0
#define NABLA_OP(name, arity, spelling) +1
#include "graph/ops.def"
#undef NABLA_OP
    ;

int arity(Op op);
std::string_view spelling(Op op);  // "+", "sin", "where", ...
std::string_view opName(Op op);    // "Add", "Sin", ... (dumps, DOT, rule traces)
/// True for ops whose result is 0 or 1 and whose derivative is 0 everywhere (comparisons, logic,
/// sign, floor).
bool isPiecewiseConstant(Op op);

/// How an addition or subtraction with a product operand is evaluated, everywhere (interpreter,
/// JIT, AOT): as one fused multiply-add, rounded once, like C's fma and what compilers make of
/// `a*b + c` by default. A product is a multiplication a*b or a square a^2 (that is a*a).
/// `side` is the operand that is the product: a*b + c and c + a*b are Fma(a, b, c), a*b - c is
/// Fms(a, b, c), c - a*b is Fnma(a, b, c). When both are products the left one fuses, unless
/// the right one reads it (`rightReadsLeft`, as in t - t*x, where fusing t*x leaves t off the
/// critical path). `op` is Op::Add (side -1) when nothing fuses. A rule on the structure of the
/// node and its operands alone, so that a node has the same value in every function and entry
/// point it is part of, and in every graph of the same expression (printed and parsed again).
struct FusedForm {
  Op op = Op::Add;
  int side = -1;
};
constexpr FusedForm fusedMultiplyAdd(Op op, bool leftIsProduct, bool rightIsProduct,
                                     bool rightReadsLeft) {
  if (op != Op::Add && op != Op::Sub) return {};
  const int side = leftIsProduct && rightIsProduct ? (rightReadsLeft ? 1 : 0)
                   : leftIsProduct                 ? 0
                   : rightIsProduct                ? 1
                                                   : -1;
  if (side < 0) return {};
  if (op == Op::Add) return {Op::Fma, side};
  return {side == 0 ? Op::Fms : Op::Fnma, side};
}
/// The fused multiply-adds (Fma, Fms, Fnma): ops of tapes and of the interpreter's arithmetic,
/// never nodes of a graph.
constexpr bool isFusedMultiplyAdd(Op op) { return op == Op::Fma || op == Op::Fms || op == Op::Fnma; }
/// A product for fusedMultiplyAdd: Mul, or Pow whose exponent is the constant 2.
constexpr bool isFusableProduct(Op op, bool exponentIsTwo) {
  return op == Op::Mul || (op == Op::Pow && exponentIsTwo);
}

struct NodeId {
  std::uint32_t index = UINT32_MAX;
  bool valid() const { return index != UINT32_MAX; }
  friend bool operator==(NodeId a, NodeId b) { return a.index == b.index; }
  friend bool operator!=(NodeId a, NodeId b) { return a.index != b.index; }
  friend bool operator<(NodeId a, NodeId b) { return a.index < b.index; }
};

/// A scalar variable of the graph: a function argument, a free variable, or one element of a
/// param/input array (`w[3]`, `W[1][2]`).
using SymbolId = std::uint32_t;

/// Immutable once interned: equal (op, args, payload) means equal NodeId.
struct Node {
  Op op = Op::Const;
  std::array<NodeId, 3> args{};  // unused slots stay invalid
  double value = 0;              // Op::Const; interned by bit pattern (-0.0 != 0.0, NaNs by payload)
  SymbolId symbol = 0;           // Op::Var
};

class Graph {
public:
  Graph() = default;

  SymbolId addSymbol(std::string name);
  std::size_t symbolCount() const { return symbols_.size(); }
  const std::string &symbolName(SymbolId s) const { return symbols_[s]; }

  NodeId constant(double v);
  NodeId variable(SymbolId s);
  /// Checks arity, folds when every argument is a constant, then interns.
  NodeId make(Op op, NodeId a = {}, NodeId b = {}, NodeId c = {});

  const Node &operator[](NodeId id) const { return nodes_[id.index]; }
  std::size_t size() const { return nodes_.size(); }
  bool isConstant(NodeId id) const { return nodes_[id.index].op == Op::Const; }
  bool isConstant(NodeId id, double v) const;  // same bit pattern, except that 0 matches only +0

  /// Nodes reachable from the roots, in increasing id (topological) order.
  std::vector<NodeId> reachable(const std::vector<NodeId> &roots) const;

private:
  struct Key {
    Op op;
    std::array<std::uint32_t, 3> args;
    std::uint64_t payload;
    friend bool operator==(const Key &a, const Key &b) {
      return a.op == b.op && a.args == b.args && a.payload == b.payload;
    }
  };
  struct KeyHash {
    std::size_t operator()(const Key &k) const;
  };
  NodeId intern(const Node &n);

  std::vector<Node> nodes_;  // a child is always interned before its parent
  std::unordered_map<Key, NodeId, KeyHash> interned_;
  std::vector<std::string> symbols_;
};

/// The value of one op on scalars: the single definition of nabla's arithmetic, used by constant
/// folding and by the interpreter (and matched by code generation). Unused arguments are ignored.
double evalOp(Op op, double a, double b = 0, double c = 0);

}  // namespace nabla
