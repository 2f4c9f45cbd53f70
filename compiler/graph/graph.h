// The scalar DAG: hash-consed nodes in topological order, constant folding as nodes are built.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
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

/// Facts about an op (the flags column of ops.def).
using OpFlags = std::uint8_t;
inline constexpr OpFlags kCommutative = 1;  // the operands may be swapped
inline constexpr OpFlags kTruthValue = 2;   // the value is 0 or 1, never NaN

/// How an op is computed: the macro of its line in ops.def.
enum class OpKind : std::uint8_t { Leaf, Arith, Libm, Step, Fused };

/// One line of ops.def.
struct OpInfo {
  std::string_view name;          // "Add", "Sin", ... (dumps, DOT, rule traces)
  int arity;
  std::string_view spelling;      // "+", "sin", "where", ...
  std::string_view builtin;       // the elementwise built-in function, or empty
  OpKind kind;
  OpFlags flags;
  std::string_view libmFunction;  // OpKind::Libm: the C library function, else empty
};

inline constexpr OpInfo kOpInfo[] = {
#define NABLA_LEAF(name, spelling) {#name, 0, spelling, "", OpKind::Leaf, 0, ""},
#define NABLA_ARITH(name, arity, spelling, builtin, flags)                                         \
  {#name, arity, spelling, builtin, OpKind::Arith, flags, ""},
#define NABLA_LIBM(name, arity, spelling, builtin, flags, function)                                \
  {#name, arity, spelling, builtin, OpKind::Libm, flags, #function},
#define NABLA_STEP(name, arity, spelling, builtin, flags)                                          \
  {#name, arity, spelling, builtin, OpKind::Step, flags, ""},
#define NABLA_FUSED(name, spelling) {#name, 3, spelling, "", OpKind::Fused, 0, ""},
#include "graph/ops.def"
};
static_assert(std::size(kOpInfo) == kOpCount);

constexpr const OpInfo &opInfo(Op op) { return kOpInfo[static_cast<int>(op)]; }
constexpr int arity(Op op) { return opInfo(op).arity; }
constexpr std::string_view spelling(Op op) { return opInfo(op).spelling; }  // "+", "sin", ...
constexpr std::string_view opName(Op op) { return opInfo(op).name; }        // "Add", "Sin", ...
/// True for ops whose derivative is 0 everywhere it exists (comparisons, logic, sign, floor).
constexpr bool isPiecewiseConstant(Op op) { return opInfo(op).kind == OpKind::Step; }
constexpr bool hasFlag(Op op, OpFlags flag) { return (opInfo(op).flags & flag) != 0; }

/// The fused multiply-adds (Fma, Fms, Fnma): ops of tapes and of the interpreter's arithmetic,
/// never nodes of a graph.
constexpr bool isFusedMultiplyAdd(Op op) { return opInfo(op).kind == OpKind::Fused; }

/// The op of that spelling and arity (`-` with 1 is Neg, with 2 Sub); nullopt if none.
constexpr std::optional<Op> findOp(std::string_view spelling, int arity) {
  for (int i = 0; i < kOpCount; ++i)
    if (kOpInfo[i].arity == arity && kOpInfo[i].spelling == spelling) return static_cast<Op>(i);
  return std::nullopt;
}

/// The op of a call `name(...)`: the op spelled `name`, or whose built-in function is `name`
/// (`pow` is `^`); nullopt if none.
constexpr std::optional<Op> findCall(std::string_view name) {
  for (int i = 0; i < kOpCount; ++i) {
    const OpInfo &info = kOpInfo[i];
    if (info.arity > 0 && (info.spelling == name || info.builtin == name))
      return static_cast<Op>(i);
  }
  return std::nullopt;
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
  /// Room for `count` more symbols and their Var nodes: a large declaration then adds its
  /// elements without regrowing the vectors.
  void reserveVariables(std::size_t count);
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
  /// A slot of the interning table: the node's id + 1 (0: empty) and the upper half of its hash,
  /// which rules out most other nodes without reading them.
  struct Slot {
    std::uint32_t node = 0;
    std::uint32_t tag = 0;
  };
  NodeId intern(const Node &n);
  void growTable();

  std::vector<Node> nodes_;  // a child is always interned before its parent
  /// Every node by (op, args, payload): open addressing with linear probing, a power of two in
  /// size and at most half full. Flat, so that interning costs one or two cache misses and a graph
  /// of millions of nodes is freed at once.
  std::vector<Slot> table_;
  std::vector<std::string> symbols_;
  std::vector<NodeId> varNodes_;  // the Var node of each symbol (invalid until made)
  std::size_t interned_ = 0;      // nodes in table_ (all but the Var nodes)
};

/// The value of one op on scalars: the single definition of nabla's arithmetic, used by constant
/// folding and by the interpreter (and matched by code generation). Unused arguments are ignored.
double evalOp(Op op, double a, double b = 0, double c = 0);

/// The operands of a fused multiply-add: Fma(a, b, c) = a*b + c, Fms = a*b - c, Fnma = c - a*b.
template <class Id> struct FusedOperands {
  Op op;
  Id a, b, c;
};

/// How an addition or subtraction with a product operand is evaluated, everywhere (interpreter,
/// JIT, AOT): as one fused multiply-add, rounded once, like C's fma and what compilers make of
/// `a*b + c` by default. A product is a multiplication a*b or a square a^2 (that is a*a):
/// a*b + c and c + a*b are Fma(a, b, c), a*b - c is Fms(a, b, c), c - a*b is Fnma(a, b, c).
/// When both operands are products the left one fuses, unless the right one reads it (as in
/// t - t*x, where fusing t*x leaves t off the critical path). Nothing (nullopt) for any other
/// node. The rule looks at the node and its operands alone, so that a node has the same value in
/// every function and entry point it is part of, and in every graph of the same expression
/// (printed and parsed again).
///
/// One definition for the graph (the interpreter) and the tape (code generation): `dag.op(x)`,
/// `dag.arg(x, k)` and `dag.isTwo(x)` (x is the constant 2) read either.
template <class Dag, class Id>
std::optional<FusedOperands<Id>> fusedMultiplyAdd(const Dag &dag, Id node) {
  const Op op = dag.op(node);
  if (op != Op::Add && op != Op::Sub) return std::nullopt;
  const Id left = dag.arg(node, 0), right = dag.arg(node, 1);
  auto isProduct = [&](Id x) {
    return dag.op(x) == Op::Mul || (dag.op(x) == Op::Pow && dag.isTwo(dag.arg(x, 1)));
  };
  int side;
  if (isProduct(left) && isProduct(right))
    side = dag.arg(right, 0) == left || dag.arg(right, 1) == left ? 1 : 0;
  else if (isProduct(left))
    side = 0;
  else if (isProduct(right))
    side = 1;
  else
    return std::nullopt;
  const Id product = side == 0 ? left : right;
  const Id second = dag.op(product) == Op::Pow ? dag.arg(product, 0) : dag.arg(product, 1);
  const Op fused = op == Op::Add ? Op::Fma : side == 0 ? Op::Fms : Op::Fnma;
  return FusedOperands<Id>{fused, dag.arg(product, 0), second, side == 0 ? right : left};
}

/// The positions of the nodes of an increasing list (Graph::reachable's), by node id: a flat table
/// over the ids up to the largest when the list holds a fair share of them, else a binary search
/// of the list. Making it costs what the list costs, not the graph below it, so that a walk over a
/// small part of a large graph (one of many functions, one small derivative) stays small.
class NodePositions {
public:
  static constexpr std::uint32_t kNone = UINT32_MAX;
  explicit NodePositions(const std::vector<NodeId> &order) : order_(order) {
    const std::size_t span = order.empty() ? 0 : std::size_t{order.back().index} + 1;
    flat_ = span <= 8 * order.size() + 256;
    if (flat_) {
      table_.assign(span, kNone);
      for (std::uint32_t k = 0; k < order.size(); ++k) table_[order[k].index] = k;
    }
  }
  /// The position of `id` in the list, or kNone.
  std::uint32_t operator[](NodeId id) const {
    if (flat_) return id.index < table_.size() ? table_[id.index] : kNone;
    std::size_t lo = 0, hi = order_.size();
    while (lo < hi) {
      const std::size_t mid = lo + (hi - lo) / 2;
      if (order_[mid].index < id.index) lo = mid + 1;
      else hi = mid;
    }
    return lo < order_.size() && order_[lo].index == id.index ? static_cast<std::uint32_t>(lo) : kNone;
  }

private:
  const std::vector<NodeId> &order_;
  bool flat_ = true;
  std::vector<std::uint32_t> table_;
};

}  // namespace nabla
