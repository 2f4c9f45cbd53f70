#include "graph/graph.h"

#include "graph/libm.h"

#include <bit>
#include <cmath>
#include <stdexcept>

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

std::size_t Graph::KeyHash::operator()(const Key &k) const {
  std::uint64_t h = static_cast<std::uint64_t>(k.op) * 0x9E3779B97F4A7C15ull;
  auto mix = [&](std::uint64_t v) {
    h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
  };
  for (auto a : k.args) mix(a);
  mix(k.payload);
  return static_cast<std::size_t>(h);
}

SymbolId Graph::addSymbol(std::string name) {
  symbols_.push_back(std::move(name));
  return static_cast<SymbolId>(symbols_.size() - 1);
}

NodeId Graph::intern(const Node &n) {
  Key key{n.op, {n.args[0].index, n.args[1].index, n.args[2].index},
          n.op == Op::Const ? std::bit_cast<std::uint64_t>(n.value) : n.symbol};
  auto [it, inserted] = interned_.try_emplace(key, NodeId{static_cast<std::uint32_t>(nodes_.size())});
  if (inserted) nodes_.push_back(n);
  return it->second;
}

NodeId Graph::constant(double v) {
  Node n;
  n.op = Op::Const;
  n.value = v;
  return intern(n);
}

NodeId Graph::variable(SymbolId s) {
  if (s >= symbols_.size()) throw std::logic_error("nabla: variable of an unknown symbol");
  Node n;
  n.op = Op::Var;
  n.symbol = s;
  return intern(n);
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
  std::vector<char> mark(nodes_.size(), 0);
  std::size_t highest = 0;
  bool any = false;
  for (NodeId r : roots) {
    if (!r.valid()) continue;
    if (r.index >= nodes_.size())
      throw std::logic_error("nabla: Graph::reachable from a node not in the graph");
    mark[r.index] = 1;
    any = true;
    if (r.index > highest) highest = r.index;
  }
  std::vector<NodeId> out;
  if (!any) return out;
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
