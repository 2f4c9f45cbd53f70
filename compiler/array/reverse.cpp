// Reverse mode over array nodes: one sweep from the loss back to the params, each node passing its
// adjoint to its operands by its transpose rule. The elementwise maps take their local derivatives
// from the scalar level's rules (map_partials.h), so that both levels follow the same conventions
// (relu'(0) = 0, where() differentiates the branch taken, ...). A contribution from a
// row-dependent adjoint to a value that is the same for every row (a param, W in W @ x) is summed
// over the rows: outer(δ, x) becomes Δᵀ X.
#include "array/array.h"
#include "array/map_partials.h"

namespace nabla::array {

namespace {

struct GiveUp {};

class Sweep {
public:
  explicit Sweep(Program &program) : p_(program), g_(program.graph) {}

  void run() {
    const std::vector<Id> order = reachable(g_, {p_.loss});
    // Which nodes depend on a param (only those need adjoints).
    std::vector<char> depends(g_.size(), 0);
    for (Id id : order) {
      const Node &n = g_[id];
      if (n.kind == Kind::Param) depends[id] = 1;
      for (std::uint8_t k = 0; k < n.argCount; ++k) depends[id] |= depends[n.args[k]];
      for (Id part : n.parts) depends[id] |= depends[part];
    }
    depends_ = &depends;
    adjoint_.assign(g_.size(), kNone);
    adjoint_[p_.loss] = g_.constant(1.0);
    for (std::size_t k = order.size(); k-- > 0;) {
      const Id id = order[k];
      const Id adj = adjoint_[id];
      if (adj == kNone || !depends[id]) continue;
      fromBatched_ = g_[id].batched;
      propagate(id, adj);
    }
    // One gradient per param, zeros for a param the loss does not read.
    p_.grads.assign(p_.paramShapes.size(), kNone);
    for (Id id : order)
      if (g_[id].kind == Kind::Param && adjoint_[id] != kNone)
        p_.grads[g_[id].group] = full(adjoint_[id], g_[id].shape);
    for (std::size_t k = 0; k < p_.grads.size(); ++k)
      if (p_.grads[k] == kNone)
        p_.grads[k] = g_.constant(p_.paramShapes[k], std::vector<double>(p_.paramShapes[k].size(), 0.0));
  }

  std::string whyNot;

private:
  [[noreturn]] void fail(std::string why) {
    whyNot = std::move(why);
    throw GiveUp{};
  }

  bool needs(Id id) const { return (*depends_)[id] != 0; }

  /// Adds `c` to the adjoint of `to`. The adjoint of a row-dependent node is per row (the loss's
  /// sum over the rows is implicit); passed to a node that is the same for every row, it is summed
  /// over the rows (B times it when it is the same for every row too).
  ///
  /// An adjoint may be a scalar where its node is an array: the same for every element (the
  /// adjoint of sum(v) passed to v). Rules that need every element ask full().
  void accumulate(Id to, Id c) {
    if (!needs(to)) return;
    if (fromBatched_ && !g_[to].batched) c = g_.batchSum(c);
    if (g_[c].shape != g_[to].shape && !g_[c].shape.isScalar()) fail("an adjoint of the wrong shape");
    adjoint_[to] = adjoint_[to] == kNone ? c : g_.map(Op::Add, adjoint_[to], c);
  }

  /// The adjoint `adj` of a node of `shape` with every element: a scalar adjoint broadcast.
  Id full(Id adj, const Shape &shape) {
    return g_[adj].shape == shape ? adj : g_.broadcast(adj, shape);
  }

  /// For an operand that was broadcast (a scalar in an elementwise map over an array of
  /// `shape`): the sum over the elements, which is n times a contribution the same for all.
  Id fit(Id c, Id operand, const Shape &shape) {
    if (!g_[operand].shape.isScalar() || shape.isScalar()) return c;
    if (!g_[c].shape.isScalar()) return g_.sum(c);
    return g_.map(Op::Mul, c, g_.constant(static_cast<double>(shape.size())));
  }

  void propagateMap(Id id, Id adj) {
    const Node n = g_[id];  // a copy: building nodes may move the graph's storage
    std::array<bool, 3> needed{};
    for (std::uint8_t k = (n.op == Op::Where ? 1 : 0); k < n.argCount; ++k) needed[k] = needs(n.args[k]);
    try {
      for (const MapPartials::Term &t : partials_.terms(id, adj, needed)) {
        const Id operand = n.args[t.arg];
        accumulate(operand, fit(t.term, operand, n.shape));
      }
    } catch (const Unsupported &u) {
      fail(u.why);
    }
  }

  void propagate(Id id, Id adj) {
    const Node n = g_[id];
    if (n.kind != Kind::Map && n.kind != Kind::LogSumExp && n.kind != Kind::Softmax &&
        n.kind != Kind::BatchSum && n.kind != Kind::Broadcast && n.kind != Kind::Sum &&
        n.kind != Kind::Max && n.kind != Kind::Min && n.kind != Kind::Norm &&
        n.kind != Kind::ArgMax && n.kind != Kind::ArgMin)
      adj = full(adj, n.shape);
    switch (n.kind) {
    case Kind::Param:
    case Kind::Input:
    case Kind::Const:
    case Kind::Onehot: return;  // onehot's derivative in k is 0
    case Kind::Map: propagateMap(id, adj); return;
    case Kind::MatMul: {
      const Id a = n.args[0], b = n.args[1];
      const std::size_t ra = g_[a].shape.dims.size(), rb = g_[b].shape.dims.size();
      if (ra == 2 && rb == 1) {  // y = W x
        if (needs(a)) accumulate(a, g_.outer(adj, b));
        if (needs(b)) accumulate(b, g_.matmul(g_.transpose(a), adj));
      } else if (ra == 2 && rb == 2) {  // C = A B
        if (needs(a)) accumulate(a, g_.matmul(adj, g_.transpose(b)));
        if (needs(b)) accumulate(b, g_.matmul(g_.transpose(a), adj));
      } else if (ra == 1 && rb == 2) {  // y = x W
        if (needs(a)) accumulate(a, g_.matmul(b, adj));
        if (needs(b)) accumulate(b, g_.outer(a, adj));
      } else {  // s = x . y
        if (needs(a)) accumulate(a, g_.map(Op::Mul, adj, b));
        if (needs(b)) accumulate(b, g_.map(Op::Mul, adj, a));
      }
      return;
    }
    case Kind::Transpose: accumulate(n.args[0], g_.transpose(adj)); return;
    case Kind::Outer: {
      const Id u = n.args[0], v = n.args[1];
      if (needs(u)) accumulate(u, g_.matmul(adj, v));
      if (needs(v)) accumulate(v, g_.matmul(u, adj));
      return;
    }
    case Kind::Sum: accumulate(n.args[0], adj); return;  // the same for every element
    case Kind::LogSumExp:
      accumulate(n.args[0], g_.map(Op::Mul, adj, g_.softmax(n.args[0])));
      return;
    case Kind::Softmax: accumulate(n.args[0], g_.softmaxAdjoint(id, adj)); return;
    case Kind::SoftmaxAdjoint: fail("a derivative of the adjoint of softmax (a second derivative)");
    case Kind::Max:  // the first largest element takes it, as max(a, b) takes a on ties
    case Kind::Min:
      accumulate(n.args[0], g_.map(Op::Mul, adj, g_.firstExtreme(n.kind == Kind::Max ? Kind::FirstMax
                                                                                     : Kind::FirstMin,
                                                                  n.args[0])));
      return;
    case Kind::Norm: {  // v / norm(v), and 0 where the norm is 0 (hypot's subgradient)
      const Id v = n.args[0], zero = g_.constant(0.0);
      const Id unit = g_.map(Op::Where, g_.map(Op::Eq, id, zero), zero, g_.map(Op::Div, v, id));
      accumulate(v, g_.map(Op::Mul, adj, unit));
      return;
    }
    case Kind::FirstMax:
    case Kind::FirstMin:
    case Kind::ArgMax:
    case Kind::ArgMin: return;  // piecewise constant
    case Kind::Slice: accumulate(n.args[0], g_.embed(adj, g_[n.args[0]].shape, n.box)); return;
    case Kind::Embed: accumulate(n.args[0], g_.slice(adj, n.box)); return;
    case Kind::Stack: {
      const Shape &shape = n.shape;
      for (std::size_t i = 0; i < n.parts.size(); ++i) {
        std::vector<SliceDim> box{{static_cast<std::uint32_t>(i), 1, false}};
        for (std::size_t d = 1; d < shape.dims.size(); ++d) box.push_back({0, shape.dims[d], true});
        accumulate(n.parts[i], g_.slice(adj, std::move(box)));
      }
      return;
    }
    case Kind::Broadcast:
      accumulate(n.args[0], g_[adj].shape.isScalar()
                                ? g_.map(Op::Mul, adj, g_.constant(static_cast<double>(n.shape.size())))
                                : g_.sum(adj));
      return;
    case Kind::BatchSum: accumulate(n.args[0], adj); return;
    case Kind::OuterSum: fail("a summed outer product in a forward graph");
    }
  }

  Program &p_;
  Graph &g_;
  const std::vector<char> *depends_ = nullptr;
  bool fromBatched_ = false;  // whether the node whose adjoint is being passed on depends on rows
  std::vector<Id> adjoint_;
  MapPartials partials_{g_};
};

}  // namespace

bool differentiate(Program &program, std::string *whyNot) {
  Sweep sweep(program);
  try {
    sweep.run();
  } catch (const GiveUp &) {
    if (whyNot) *whyNot = sweep.whyNot;
    program.grads.clear();
    return false;
  }
  return true;
}

}  // namespace nabla::array
