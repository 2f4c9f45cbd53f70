// Internal to diff/: signed adjoint terms, the node builder that keeps derivative DAGs small, and
// the local derivative rule of every op (partials.cpp).
#pragma once

#include "graph/graph.h"

#include <array>
#include <vector>

namespace nabla::diff {

/// `negative ? -node : node`, or zero when `node` is invalid. Carrying the sign beside the node
/// keeps Neg nodes out of derivatives (a - b instead of a + (-b)). A constant node is kept
/// non-negative (its sign lives in the flag), so coefficients print as `2*x`, never `-2*x` inside.
struct Signed {
  NodeId node;
  bool negative = false;
  bool isZero() const { return !node.valid(); }
};

/// Builds derivative nodes through Graph::make without creating `x*1`, `1*x`, `x+0` or Neg nodes.
/// Zero terms are dropped rather than built: a derivative that is 0 by the rules contributes
/// nothing, so `0 * inf` never appears.
class TermBuilder {
public:
  explicit TermBuilder(Graph &graph) : graph_(graph) {}
  Graph &graph() { return graph_; }

  /// The constant v as a signed term (zero when v is +-0).
  Signed constant(double v);
  /// `a * m`, folding constants and a factor of 1.
  Signed mul(Signed a, NodeId m);
  /// `a * c` for a constant c (`c` < 0 flips the sign; `c` == 0 gives zero).
  Signed scale(Signed a, double c);
  /// `c * (a * m)`, with a constant `a` folded into c: `200*u`, not `2*(100*u)`.
  Signed mulScaled(Signed a, NodeId m, double c);
  /// `a / d`.
  Signed div(Signed a, NodeId d);
  Signed negate(Signed a) { return {a.node, a.node.valid() ? !a.negative : false}; }
  /// `a + b` with the signs folded into Add/Sub.
  Signed add(Signed a, Signed b);
  /// The node of a signed term: a Neg (or a cheaper equivalent: a negated constant, `b - a` for a
  /// negated `a - b`) only when the sign is still negative here.
  NodeId materialize(Signed a);

  NodeId make(Op op, NodeId a, NodeId b = {}, NodeId c = {}) { return graph_.make(op, a, b, c); }
  NodeId num(double v) { return graph_.constant(v); }

private:
  Signed canonical(NodeId n, bool negative);
  Graph &graph_;
};

/// What one adjoint term of a node contributes to one of its arguments. `maskCond` (when valid)
/// restricts the contribution to where `maskCond != 0` equals `maskWhen`: the contribution is
/// where(maskCond, term, 0) or where(maskCond, 0, term), kept symbolic by the sweep so that later
/// factors are multiplied inside the mask and a NaN of a branch not taken never leaks.
struct Contribution {
  int arg = 0;
  Signed term;
  NodeId maskCond;
  bool maskWhen = true;
};

/// The contributions of the adjoint `adj` of node `n` to those of its arguments for which
/// `needed[arg]` is set, appended to `out`. One case per op of ops.def.
void partials(TermBuilder &b, NodeId n, Signed adj, const std::array<bool, 3> &needed,
              std::vector<Contribution> &out);

} // namespace nabla::diff
