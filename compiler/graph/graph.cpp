#include "graph/graph.h"

#include "graph/libm.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>
#include <unordered_set>

namespace nabla {

namespace {
double truth(bool b) { return b ? 1.0 : 0.0; }

/// The value of a NABLA_LIBM op: a direct call of its C function.
template <Op op> double libmValue(double a, double b) {
  constexpr LibmFunction f = libmFunction(op);
  if constexpr (arity(op) == 1)
    return f.unary(a);
  else
    return f.binary(a, b);
}
}  // namespace

double evalOp(Op op, double a, double b, double c) {
  switch (op) {
  case Op::Const:
  case Op::Var:
    return a;
  // The C library's functions (NABLA_LIBM in ops.def), which compiled code calls too.
#define NABLA_LIBM(name, arity, spelling, builtin, flags, function)                                \
  case Op::name: return libmValue<Op::name>(a, b);
#include "graph/ops.def"
  case Op::Neg: return -a;
  case Op::Not: return std::isnan(a) ? a : truth(a == 0);
  case Op::Sqrt: return std::sqrt(a);
  case Op::Sigmoid:
    // Two forms so that exp never overflows into inf/inf.
    return a >= 0 ? 1 / (1 + std::exp(-a)) : std::exp(a) / (1 + std::exp(a));
  case Op::Softplus:
    // log(1 + e^a) without overflow for large a and without losing e^a for very negative a.
    return a > 0 ? a + std::log1p(std::exp(-a)) : std::log1p(std::exp(a));
  case Op::Relu: return a > 0 ? a : (std::isnan(a) ? a : 0.0);
  case Op::Abs: return std::fabs(a);
  case Op::Sign: return a > 0 ? 1.0 : (a < 0 ? -1.0 : a);  // keeps ±0 and NaN
  case Op::Floor: return std::floor(a);
  case Op::Add: return a + b;
  case Op::Sub: return a - b;
  case Op::Mul: return a * b;
  case Op::Div: return a / b;
  // min/max never hide a NaN (unlike fmin/fmax); on ties they return the first argument, which is
  // also the argument the derivative follows.
  case Op::Min: return std::isnan(a) || std::isnan(b) ? a + b : (a <= b ? a : b);
  case Op::Max: return std::isnan(a) || std::isnan(b) ? a + b : (a >= b ? a : b);
  case Op::LogAddExp: {
    if (std::isnan(a) || std::isnan(b)) return a + b;
    double m = a >= b ? a : b;
    if (std::isinf(m)) return m;  // both -inf gives -inf; any +inf gives +inf
    return m + std::log1p(std::exp(-std::fabs(a - b)));
  }
  case Op::Lt: return truth(a < b);
  case Op::Le: return truth(a <= b);
  case Op::Gt: return truth(a > b);
  case Op::Ge: return truth(a >= b);
  case Op::Eq: return truth(a == b);
  case Op::Ne: return truth(a != b);
  case Op::And: return truth(a != 0 && b != 0);
  case Op::Or: return truth(a != 0 || b != 0);
  case Op::Where: return a != 0 ? b : c;
  case Op::Fma: return std::fma(a, b, c);
  case Op::Fms: return std::fma(a, b, -c);
  case Op::Fnma: return std::fma(-a, b, c);
  }
  return std::nan("");
}

namespace {

/// What makes a node itself besides its op and arguments: a constant's bit pattern (-0.0 is not
/// 0.0, NaNs differ by payload), a variable's symbol.
std::uint64_t payload(const Node &n) {
  return n.op == Op::Const ? std::bit_cast<std::uint64_t>(n.value) : n.symbol;
}

bool sameNode(const Node &a, const Node &b) {
  return a.op == b.op && a.args[0] == b.args[0] && a.args[1] == b.args[1] &&
         a.args[2] == b.args[2] && payload(a) == payload(b);
}

std::uint64_t hashNode(const Node &n) {
  std::uint64_t h = static_cast<std::uint64_t>(n.op);
  for (std::uint64_t v : {std::uint64_t{n.args[0].index}, std::uint64_t{n.args[1].index},
                          std::uint64_t{n.args[2].index}, payload(n)}) {
    h = (h ^ v) * 0x9E3779B97F4A7C15ull;
    h ^= h >> 29;
  }
  // MurmurHash3's finalizer: every input bit reaches the low bits that pick the slot.
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDull;
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53ull;
  return h ^ (h >> 33);
}

}  // namespace

SymbolId Graph::addSymbol(std::string name) {
  symbols_.push_back(std::move(name));
  return static_cast<SymbolId>(symbols_.size() - 1);
}

NodeId Graph::intern(const Node &n) {
  if (2 * (interned_ + 1) > table_.size()) growTable();
  const std::uint64_t h = hashNode(n);
  const auto tag = static_cast<std::uint32_t>(h >> 32);
  const std::size_t mask = table_.size() - 1;
  for (std::size_t i = h & mask;; i = (i + 1) & mask) {
    Slot &slot = table_[i];
    if (slot.node == 0) {
      if (nodes_.size() >= UINT32_MAX - 1) throw std::length_error("nabla: graph too large");
      nodes_.push_back(n);
      ++interned_;
      slot = {static_cast<std::uint32_t>(nodes_.size()), tag};
      return NodeId{slot.node - 1};
    }
    if (slot.tag == tag && sameNode(nodes_[slot.node - 1], n)) return NodeId{slot.node - 1};
  }
}

void Graph::reserveVariables(std::size_t count) {
  // Geometric growth, as push_back would: one group of one element after another (10^5 free
  // variables) must not reallocate on every call.
  auto grow = [count](auto &v) {
    if (v.size() + count > v.capacity()) v.reserve(std::max(v.size() + count, 2 * v.capacity()));
  };
  grow(symbols_);
  grow(nodes_);
  grow(varNodes_);
}

void Graph::growTable() {
  std::vector<Slot> bigger(std::max<std::size_t>(64, 2 * table_.size()));
  const std::size_t mask = bigger.size() - 1;
  for (std::size_t id = 0; id < nodes_.size(); ++id) {
    if (nodes_[id].op == Op::Var) continue;  // found by variable(), not by the table
    const std::uint64_t h = hashNode(nodes_[id]);
    std::size_t i = h & mask;
    while (bigger[i].node != 0) i = (i + 1) & mask;
    bigger[i] = {static_cast<std::uint32_t>(id + 1), static_cast<std::uint32_t>(h >> 32)};
  }
  table_ = std::move(bigger);
}

NodeId Graph::constant(double v) {
  Node n;
  n.op = Op::Const;
  n.value = v;
  return intern(n);
}

NodeId Graph::variable(SymbolId s) {
  if (s >= symbols_.size()) throw std::logic_error("nabla: variable of an unknown symbol");
  // One Var node per symbol, found by the symbol (never in the hash table: a declaration of 10^6
  // elements appends them in order instead of scattering them over the table).
  if (s < varNodes_.size() && varNodes_[s].valid()) return varNodes_[s];
  if (nodes_.size() >= UINT32_MAX - 1) throw std::length_error("nabla: graph too large");
  Node n;
  n.op = Op::Var;
  n.symbol = s;
  nodes_.push_back(n);
  if (varNodes_.size() <= s) varNodes_.resize(symbols_.size());
  varNodes_[s] = NodeId{static_cast<std::uint32_t>(nodes_.size() - 1)};
  return varNodes_[s];
}

bool Graph::isConstant(NodeId id, double v) const {
  const Node &n = nodes_[id.index];
  return n.op == Op::Const && std::bit_cast<std::uint64_t>(n.value) == std::bit_cast<std::uint64_t>(v);
}

NodeId Graph::make(Op op, NodeId a, NodeId b, NodeId c) {
  const int k = arity(op);
  const NodeId args[3] = {a, b, c};
  for (int i = 0; i < 3; ++i) {
    bool given = args[i].valid();
    if (given != (i < k) || (given && args[i].index >= nodes_.size()))
      throw std::logic_error("nabla: Graph::make with wrong arguments for " + std::string(opName(op)));
  }
  if (k == 0) throw std::logic_error("nabla: Graph::make of a leaf; use constant() or variable()");

  // where(c, x, y) with a constant condition is exactly the chosen branch.
  if (op == Op::Where && isConstant(a)) {
    double cond = nodes_[a.index].value;
    if (!std::isnan(cond)) return cond != 0 ? b : c;
  }
  bool allConstant = true;
  for (int i = 0; i < k; ++i) allConstant = allConstant && isConstant(args[i]);
  if (allConstant) {
    return constant(evalOp(op, nodes_[a.index].value, k > 1 ? nodes_[b.index].value : 0,
                           k > 2 ? nodes_[c.index].value : 0));
  }
  Node n;
  n.op = op;
  n.args = {a, b, c};
  return intern(n);
}

std::vector<NodeId> Graph::reachable(const std::vector<NodeId> &roots) const {
  std::size_t highest = 0;
  bool any = false;
  for (NodeId r : roots) {
    if (!r.valid()) continue;
    if (r.index >= nodes_.size())
      throw std::logic_error("nabla: Graph::reachable from a node not in the graph");
    any = true;
    if (r.index > highest) highest = r.index;
  }
  std::vector<NodeId> out;
  if (!any) return out;

  // A walk from the roots, in time in proportion to what it reaches: a function's body or one
  // derivative late in a graph of millions of nodes must not cost the whole graph (a file of
  // 10^5 functions would take quadratic time). Once it has reached a 64th of the ids below the
  // highest root, the backwards pass below costs about as much, and takes over.
  const std::size_t sparseLimit = (highest + 1) / 64;
  if (sparseLimit > roots.size()) {
    std::unordered_set<std::uint32_t> seen;
    std::vector<std::uint32_t> stack;
    for (NodeId r : roots)
      if (r.valid() && seen.insert(r.index).second) stack.push_back(r.index);
    while (!stack.empty() && seen.size() <= sparseLimit) {
      const Node &n = nodes_[stack.back()];
      stack.pop_back();
      for (NodeId arg : n.args)
        if (arg.valid() && seen.insert(arg.index).second) stack.push_back(arg.index);
    }
    if (seen.size() <= sparseLimit) {
      out.reserve(seen.size());
      for (std::uint32_t i : seen) out.push_back(NodeId{i});
      std::sort(out.begin(), out.end());
      return out;
    }
  }

  std::vector<char> mark(highest + 1, 0);
  for (NodeId r : roots)
    if (r.valid()) mark[r.index] = 1;
  // Children have smaller ids than parents, so one backwards pass marks everything reachable.
  for (std::size_t i = highest + 1; i-- > 0;) {
    if (!mark[i]) continue;
    for (NodeId arg : nodes_[i].args)
      if (arg.valid()) mark[arg.index] = 1;
  }
  for (std::size_t i = 0; i <= highest; ++i)
    if (mark[i]) out.push_back(NodeId{static_cast<std::uint32_t>(i)});
  return out;
}

}  // namespace nabla
