// The local derivative of every op, applied to one signed adjoint term. Forward nodes are reused
// wherever the derivative is a function of the node itself (exp, sqrt, tanh, sigmoid, a/b, u^v), so
// value and gradient together stay a small multiple of the value alone.
#include "diff/partials.h"

#include <cmath>
#include <stdexcept>

namespace nabla::diff {

// ---- TermBuilder ----------------------------------------------------------------------------

Signed TermBuilder::canonical(NodeId n, bool negative) {
  if (!n.valid())
    return {};
  const Node &node = graph_[n];
  if (node.op != Op::Const)
    return {n, negative};
  double v = node.value;
  if (v == 0)
    return {}; // a zero term contributes nothing (and must not meet an inf)
  if (v < 0)
    return {graph_.constant(-v), !negative};
  return {n, negative};
}

Signed TermBuilder::constant(double v) { return canonical(graph_.constant(v), false); }

Signed TermBuilder::scale(Signed a, double c) {
  if (a.isZero() || c == 0)
    return {};
  bool negative = a.negative != (c < 0);
  c = std::fabs(c);
  if (graph_.isConstant(a.node))
    return canonical(graph_.constant(graph_[a.node].value * c), negative);
  if (c == 1)
    return {a.node, negative};
  return {graph_.make(Op::Mul, graph_.constant(c), a.node), negative};
}

Signed TermBuilder::mul(Signed a, NodeId m) {
  if (a.isZero())
    return {};
  if (graph_.isConstant(m))
    return scale(a, graph_[m].value);
  if (graph_.isConstant(a.node)) {
    if (graph_.isConstant(a.node, 1.0))
      return {m, a.negative};
    return {graph_.make(Op::Mul, a.node, m), a.negative}; // constant first: `2*x`
  }
  return {graph_.make(Op::Mul, a.node, m), a.negative};
}

Signed TermBuilder::mulScaled(Signed a, NodeId m, double c) {
  if (a.isZero() || c == 0)
    return {};
  if (graph_.isConstant(a.node))
    return scale({m, a.negative}, graph_[a.node].value * c);
  return scale(mul(a, m), c);
}

Signed TermBuilder::div(Signed a, NodeId d) {
  if (a.isZero())
    return {};
  bool negative = a.negative;
  if (graph_.isConstant(d)) {
    double v = graph_[d].value;
    if (v == 1)
      return a;
    if (v < 0) {
      negative = !negative;
      d = graph_.constant(-v);
      if (-v == 1)
        return {a.node, negative};
    }
  }
  return canonical(graph_.make(Op::Div, a.node, d), negative);
}

Signed TermBuilder::add(Signed a, Signed b) {
  if (a.isZero())
    return b;
  if (b.isZero())
    return a;
  if (a.negative == b.negative)
    return canonical(graph_.make(Op::Add, a.node, b.node), a.negative);
  if (!a.negative)
    return canonical(graph_.make(Op::Sub, a.node, b.node), false);
  return canonical(graph_.make(Op::Sub, b.node, a.node), false);
}

NodeId TermBuilder::materialize(Signed a) {
  if (a.isZero())
    return graph_.constant(0.0);
  if (!a.negative)
    return a.node;
  const Node n = graph_[a.node]; // a copy: making nodes may move the storage
  switch (n.op) {
  case Op::Const:
    return graph_.constant(-n.value);
  case Op::Neg:
    return n.args[0];
  case Op::Sub:
    return graph_.make(Op::Sub, n.args[1], n.args[0]); // -(x - y) is exactly y - x
  case Op::Mul:
  case Op::Div:
    // -(c*x) and -(c/x) are exactly (-c)*x and (-c)/x.
    if (graph_.isConstant(n.args[0]))
      return graph_.make(n.op, graph_.constant(-graph_[n.args[0]].value), n.args[1]);
    return graph_.make(Op::Neg, a.node);
  default:
    return graph_.make(Op::Neg, a.node);
  }
}

// ---- partials -------------------------------------------------------------------------------

void partials(TermBuilder &b, NodeId id, Signed adj, const std::array<bool, 3> &needed,
              std::vector<Contribution> &out) {
  if (adj.isZero())
    return;
  const Node &node = b.graph()[id];
  // Copies: making nodes below may move the graph's node storage.
  const Op op = node.op;
  const NodeId u = node.args[0], v = node.args[1];
  auto push = [&](int arg, Signed term, NodeId maskCond = {}, bool maskWhen = true) {
    if (needed[arg] && !term.isZero())
      out.push_back({arg, term, maskCond, maskWhen});
  };
  auto one = [&] { return b.num(1.0); };

  switch (op) {
  case Op::Const:
  case Op::Var:
    return;
    // Piecewise constant (NABLA_STEP in ops.def): derivative 0 by convention, so no contribution.
#define NABLA_STEP(name, arity, spelling, builtin, flags) case Op::name:
#include "graph/ops.def"
    return;

  case Op::Neg:
    push(0, b.negate(adj));
    return;
  case Op::Exp:
    push(0, b.mul(adj, id));
    return;
  case Op::Log:
    push(0, b.div(adj, u));
    return;
  case Op::Sqrt:
    push(0, b.div(b.scale(adj, 0.5), id));
    return; // 1/(2 sqrt u), reusing sqrt u
  case Op::Sin:
    push(0, b.mul(adj, b.make(Op::Cos, u)));
    return;
  case Op::Cos:
    push(0, b.negate(b.mul(adj, b.make(Op::Sin, u))));
    return;
  case Op::Tan:
    push(0, b.mul(adj, b.make(Op::Add, one(), b.make(Op::Mul, id, id))));
    return;
  case Op::Asin:
  case Op::Acos: {
    // (1-u)(1+u) rather than 1-u*u: no cancellation as |u| -> 1.
    NodeId root =
        b.make(Op::Sqrt, b.make(Op::Mul, b.make(Op::Sub, one(), u), b.make(Op::Add, one(), u)));
    Signed d = b.div(adj, root);
    push(0, op == Op::Asin ? d : b.negate(d));
    return;
  }
  case Op::Atan:
    push(0, b.div(adj, b.make(Op::Add, one(), b.make(Op::Mul, u, u))));
    return;
  case Op::Sinh:
    push(0, b.mul(adj, b.make(Op::Cosh, u)));
    return;
  case Op::Cosh:
    push(0, b.mul(adj, b.make(Op::Sinh, u)));
    return;
  case Op::Tanh: {
    // sech(u)^2 = (1/cosh(u))^2, accurate to a few ulps everywhere: 1 - tanh(u)^2 cancels as
    // tanh(u) -> ±1 (9e-9 relative error at u = 10, and 0 from u = 19 where the exact value is
    // 1e-16). 1/cosh(u) never overflows, and its square underflows only with the exact value.
    NodeId sech = b.make(Op::Div, one(), b.make(Op::Cosh, u));
    push(0, b.mul(adj, b.make(Op::Mul, sech, sech)));
    return;
  }
  case Op::Sigmoid:
    // s(u)*s(-u), not s*(1 - s), which cancels as s -> 1 (whatever the simplifier would do).
    push(0, b.mul(adj, b.make(Op::Mul, id, b.make(Op::Sigmoid, b.make(Op::Neg, u)))));
    return;
  case Op::Softplus:
    push(0, b.mul(adj, b.make(Op::Sigmoid, u)));
    return;
  case Op::Relu:
    push(0, adj, b.make(Op::Gt, u, b.num(0.0)), true);
    return; // relu'(0) = 0
  case Op::Log1p:
    push(0, b.div(adj, b.make(Op::Add, one(), u)));
    return;
  // exp(u) rather than expm1(u) + 1, which cancels for very negative u.
  case Op::Expm1:
    push(0, b.mul(adj, b.make(Op::Exp, u)));
    return;
  case Op::Abs:
    push(0, b.mul(adj, b.make(Op::Sign, u)));
    return; // sign(0) = 0: abs'(0) = 0

  case Op::Add:
    push(0, adj);
    push(1, adj);
    return;
  case Op::Sub:
    push(0, adj);
    push(1, b.negate(adj));
    return;
  case Op::Mul:
    if (u == v) {
      push(0, b.mulScaled(adj, u, 2)); // x*x: one 2*adj*x, not adj*x + adj*x
      return;
    }
    if (needed[0])
      push(0, b.mul(adj, v));
    if (needed[1])
      push(1, b.mul(adj, u));
    return;
  case Op::Div:
    // q = u/v: dq/du = 1/v, dq/dv = -q/v; adj/v is shared by both.
    if (needed[0]) {
      Signed t = b.div(adj, v);
      push(0, t);
      if (needed[1])
        push(1, b.negate(b.mul(t, id)));
    } else if (needed[1]) {
      push(1, b.negate(b.div(b.mul(adj, id), v)));
    }
    return;
  case Op::Pow: {
    const Graph &g = b.graph();
    if (g.isConstant(v)) {
      // c*u^(c-1) with c-1 folded; never exp(c*log(u)), so negative bases with integer
      // exponents keep their derivative.
      double c = g[v].value;
      if (!needed[0] || c == 0)
        return;
      if (c == 1)
        push(0, adj);
      else if (c == 2)
        push(0, b.mulScaled(adj, u, 2));
      else
        push(0, b.mulScaled(adj, b.make(Op::Pow, u, b.num(c - 1)), c));
      return;
    }
    // At u = 0 (docs/language.md, "Derivative conventions"): v -> 0^v is piecewise constant
    // (inf for v < 0, 1 at 0, 0 for v > 0), so d/dv is 0 there, for a constant 0 and a variable
    // u = 0 alike, not 0 * -inf = NaN or 1 * -inf; and u -> u^0 is 1 for every u, so d/du is 0
    // where v = 0, not 0 * 0^-1 = NaN.
    if (needed[0])
      push(0, b.mul(b.mul(adj, v), b.make(Op::Pow, u, b.make(Op::Sub, v, one()))),
           b.make(Op::Ne, v, b.num(0.0)), true);
    if (needed[1]) {
      if (g.isConstant(u)) {
        // c^v: the derivative c^v*log(c) with log(c) folded; 0 for c = 0, as above.
        double c = g[u].value;
        if (c != 0)
          push(1, b.mulScaled(adj, id, std::log(c)));
      } else {
        push(1, b.mul(b.mul(adj, id), b.make(Op::Log, u)), b.make(Op::Ne, u, b.num(0.0)), true);
      }
    }
    return;
  }
  case Op::Min:
  case Op::Max: {
    // Ties follow the first argument: min takes a when a <= b, max when a >= b.
    NodeId takeFirst = b.make(op == Op::Min ? Op::Le : Op::Ge, u, v);
    push(0, adj, takeFirst, true);
    push(1, adj, takeFirst, false);
    return;
  }
  case Op::Atan2: {
    // atan2(y, x): d/dy = x/(x^2+y^2) = (x/h)/h, d/dx = -(y/h)/h with h = hypot(y, x): the
    // squares would overflow from |x| = 1e154 (derivative 0 for 1e-154) and underflow below
    // 1e-162 (0/0); x/h is in [-1, 1].
    NodeId h = b.make(Op::Hypot, u, v);
    Signed t = b.div(adj, h);
    if (needed[0])
      push(0, b.mul(t, b.make(Op::Div, v, h)));
    if (needed[1])
      push(1, b.negate(b.mul(t, b.make(Op::Div, u, h))));
    return;
  }
  case Op::Hypot: {
    // d/da = a/h, d/db = b/h; at the origin 0 (like abs'(0) = 0) rather than 0/0.
    // a/h is in [-1, 1] and rounds once (3/5 is 0.6, where (1/5)*3 is 0.6000000000000001).
    NodeId nonzero = b.make(Op::Gt, id, b.num(0.0));
    if (needed[0])
      push(0, b.mul(adj, b.make(Op::Div, u, id)), nonzero, true);
    if (needed[1])
      push(1, b.mul(adj, b.make(Op::Div, v, id)), nonzero, true);
    return;
  }
  case Op::LogAddExp:
    // r = log(e^a + e^b): dr/da = e^a/(e^a + e^b) = sigmoid(a - b), in (0, 1]. Not e^(a - r):
    // r is rounded to the magnitude of a, so at a = b = 1e15 a - r is -0.75 for -log(2) and the
    // derivative 0.47 for 0.5; a - b is as exact as the operands.
    if (needed[0])
      push(0, b.mul(adj, b.make(Op::Sigmoid, b.make(Op::Sub, u, v))));
    if (needed[1])
      push(1, b.mul(adj, b.make(Op::Sigmoid, b.make(Op::Sub, v, u))));
    return;
  case Op::Where:
    // Only the chosen branch; the condition has derivative 0.
    push(1, adj, u, true);
    push(2, adj, u, false);
    return;
#define NABLA_FUSED(name, spelling) case Op::name:
#include "graph/ops.def"
    // Made by code generation from a tape (and evaluated by the interpreter) after every
    // derivative is taken; never a node of a graph that is differentiated.
    throw std::logic_error("differentiate: a fused multiply-add in the graph");
  }
}

} // namespace nabla::diff
