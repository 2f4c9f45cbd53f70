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
