// Forward mode over array nodes: one sweep from the params to the roots, each node's tangent (its
// derivative along a direction v of the params) made from its operands' tangents by the node's
// linearization: (A B)' = A' B + A B', slices of tangents, softmax's Jacobian applied as
// y * (t - sum(t * y)), and the elementwise maps' partials from the scalar level's rules
// (map_partials.h). Applied to the gradient's graph it gives the Hessian-vector product H v (what
// JAX writes jvp(grad(f))): nodes a few times the gradient's, never the Hessian's n^2 entries.
#include "array/array.h"
#include "array/map_partials.h"

namespace nabla::array {

namespace {

class Tangents {
public:
  Tangents(Graph &graph, std::uint32_t directionGroup) : g_(graph), directionGroup_(directionGroup) {}

  std::vector<Id> run(const std::vector<Id> &roots) {
    const std::vector<Id> order = reachable(g_, roots);
    tangent_.assign(g_.size(), kNone);
    for (Id id : order) tangent_[id] = make(id);
    std::vector<Id> out;
    for (Id r : roots) out.push_back(tangent_[r] == kNone ? zeros(g_[r].shape) : full(tangent_[r], g_[r].shape));
    return out;
  }

private:
  Id zeros(const Shape &shape) {
    return shape.isScalar() ? g_.constant(0.0)
                            : g_.constant(shape, std::vector<double>(shape.size(), 0.0));
  }
  /// A tangent with every element: a scalar one broadcast to `shape`.
  Id full(Id t, const Shape &shape) { return g_[t].shape == shape ? t : g_.broadcast(t, shape); }
  /// The tangent of `id`, or zeros when it has none (for rules that need one per operand).
  Id tangentOrZeros(Id id) {
    return tangent_[id] == kNone ? zeros(g_[id].shape) : full(tangent_[id], g_[id].shape);
  }
  Id add(Id a, Id b) { return a == kNone ? b : b == kNone ? a : g_.map(Op::Add, a, b); }

  Id make(Id id) {
    const Node n = g_[id];  // a copy: building nodes may move the graph's storage
    auto t = [&](std::uint8_t k) { return tangent_[n.args[k]]; };
    switch (n.kind) {
    case Kind::Param:
      // A direction's own params (a graph that already has them) are constants of the sweep.
      if (n.group >= directionGroup_) return kNone;
      return g_.param(directionGroup_ + n.group, n.shape);
    case Kind::Input:
    case Kind::Const:
    case Kind::Onehot:
    case Kind::FirstMax:
    case Kind::FirstMin:
    case Kind::ArgMax:
    case Kind::ArgMin: return kNone;  // constant, or piecewise constant
    case Kind::Map: {
      std::array<bool, 3> needed{};
      bool any = false;
      for (std::uint8_t k = (n.op == Op::Where ? 1 : 0); k < n.argCount; ++k) {
        needed[k] = t(k) != kNone;
        any = any || needed[k];
      }
      if (!any) return kNone;
      Id out = kNone;
      for (const MapPartials::Term &term : partials_.terms(id, g_.constant(1.0), needed))
        out = add(out, g_.map(Op::Mul, term.term, t(term.arg)));
      return out;
    }
    case Kind::MatMul: {
      Id out = kNone;
      if (t(0) != kNone) out = add(out, g_.matmul(full(t(0), g_[n.args[0]].shape), n.args[1]));
      if (t(1) != kNone) out = add(out, g_.matmul(n.args[0], full(t(1), g_[n.args[1]].shape)));
      return out;
    }
    case Kind::Transpose:
      return t(0) == kNone ? kNone : g_.transpose(full(t(0), g_[n.args[0]].shape));
    case Kind::Outer: {
      Id out = kNone;
      if (t(0) != kNone) out = add(out, g_.outer(full(t(0), g_[n.args[0]].shape), n.args[1]));
      if (t(1) != kNone) out = add(out, g_.outer(n.args[0], full(t(1), g_[n.args[1]].shape)));
      return out;
    }
    case Kind::OuterSum: {
      Id out = kNone;
      if (t(0) != kNone) out = add(out, g_.batchSum(g_.outer(full(t(0), g_[n.args[0]].shape), n.args[1])));
      if (t(1) != kNone) out = add(out, g_.batchSum(g_.outer(n.args[0], full(t(1), g_[n.args[1]].shape))));
      return out;
    }
    case Kind::Sum: return t(0) == kNone ? kNone : g_.sum(full(t(0), g_[n.args[0]].shape));
    case Kind::BatchSum: return t(0) == kNone ? kNone : g_.batchSum(t(0));
    case Kind::Broadcast: return t(0) == kNone ? kNone : g_.broadcast(t(0), n.shape);
    case Kind::Max:
    case Kind::Min: {
      if (t(0) == kNone) return kNone;
      const Id mask = g_.firstExtreme(n.kind == Kind::Max ? Kind::FirstMax : Kind::FirstMin, n.args[0]);
      return g_.sum(g_.map(Op::Mul, mask, full(t(0), g_[n.args[0]].shape)));
    }
    case Kind::Norm: {  // v / norm(v) . t, and 0 where the norm is 0 (as reverse mode)
      if (t(0) == kNone) return kNone;
      const Id v = n.args[0], zero = g_.constant(0.0);
      const Id unit = g_.map(Op::Where, g_.map(Op::Eq, id, zero), zero, g_.map(Op::Div, v, id));
      return g_.sum(g_.map(Op::Mul, unit, full(t(0), g_[v].shape)));
    }
    case Kind::LogSumExp:
      if (t(0) == kNone) return kNone;
      return g_.sum(g_.map(Op::Mul, g_.softmax(n.args[0]), full(t(0), g_[n.args[0]].shape)));
    case Kind::Softmax:  // J t = y * (t - sum(t * y))
      if (t(0) == kNone) return kNone;
      return g_.softmaxAdjoint(id, full(t(0), n.shape));
    case Kind::SoftmaxAdjoint: {
      // z = y * (a - s), s = sum(a * y) (a may be a scalar, the same for every element):
      // z' = y' * (a - s) + y * (a' - s'), s' = sum(a' * y + a * y').
      const Id y = n.args[0], a = n.args[1];
      const Id ty = t(0), ta = t(1);
      if (ty == kNone && ta == kNone) return kNone;
      const Id s = g_.sum(g_.map(Op::Mul, a, y));
      Id ts = kNone;
      if (ta != kNone) ts = add(ts, g_.sum(g_.map(Op::Mul, ta, y)));
      if (ty != kNone) ts = add(ts, g_.sum(g_.map(Op::Mul, a, full(ty, g_[y].shape))));
      Id out = kNone;
      if (ty != kNone) out = add(out, g_.map(Op::Mul, full(ty, g_[y].shape), g_.map(Op::Sub, a, s)));
      const Id inner = ta == kNone ? g_.map(Op::Neg, ts) : g_.map(Op::Sub, ta, ts);
      out = add(out, g_.map(Op::Mul, y, inner));
      return out;
    }
    case Kind::Slice: return t(0) == kNone ? kNone : g_.slice(full(t(0), g_[n.args[0]].shape), n.box);
    case Kind::Embed:
      return t(0) == kNone ? kNone : g_.embed(full(t(0), g_[n.args[0]].shape), n.shape, n.box);
    case Kind::Stack: {
      bool any = false;
      for (Id part : n.parts) any = any || tangent_[part] != kNone;
      if (!any) return kNone;
      std::vector<Id> parts;
      for (Id part : n.parts) parts.push_back(tangentOrZeros(part));
      return g_.stack(parts);
    }
    }
    return kNone;
  }

  Graph &g_;
  std::uint32_t directionGroup_;
  std::vector<Id> tangent_;
  MapPartials partials_{g_};
};

}  // namespace

std::optional<std::vector<Id>> tangents(Graph &graph, const std::vector<Id> &roots,
                                        std::uint32_t directionGroup, std::string *whyNot) {
  try {
    return Tangents(graph, directionGroup).run(roots);
  } catch (const Unsupported &u) {
    if (whyNot) *whyNot = u.why;
  } catch (const std::logic_error &e) {  // a builder's check (Graph's require)
    if (whyNot) *whyNot = e.what();
  }
  return std::nullopt;
}

bool addHessianVectorProduct(Program &program, std::string *whyNot) {
  if (program.grads.size() != program.paramShapes.size()) {
    if (whyNot) *whyNot = "the program is not differentiated";
    return false;
  }
  std::optional<std::vector<Id>> t =
      tangents(program.graph, program.grads,
               static_cast<std::uint32_t>(program.paramShapes.size()), whyNot);
  if (!t) return false;
  program.hvp = std::move(*t);
  return true;
}

}  // namespace nabla::array
