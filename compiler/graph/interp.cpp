#include "graph/interp.h"

#include <stdexcept>

namespace nabla {

namespace {

bool isProduct(const Graph &graph, NodeId id) {
  const Node &n = graph[id];
  return isFusableProduct(n.op, n.op == Op::Pow && graph.isConstant(n.args[1]) &&
                                    graph[n.args[1]].value == 2);
}

} // namespace

double evalNode(const Graph &graph, const Node &n, const double *value, bool fuse) {
  if (fuse && (n.op == Op::Add || n.op == Op::Sub)) {
    const FusedForm fused =
        fusedMultiplyAdd(n.op, isProduct(graph, n.args[0]), isProduct(graph, n.args[1]),
                         graph[n.args[1]].args[0] == n.args[0] || graph[n.args[1]].args[1] == n.args[0]);
    if (fused.side >= 0) {
      // a*b, or a^2 as a*a.
      const Node &product = graph[n.args[fused.side]];
      const NodeId second = product.op == Op::Pow ? product.args[0] : product.args[1];
      return evalOp(fused.op, value[product.args[0].index], value[second.index],
                    value[n.args[1 - fused.side].index]);
    }
  }
  const double a = n.args[0].valid() ? value[n.args[0].index] : 0;
  const double b = n.args[1].valid() ? value[n.args[1].index] : 0;
  const double c = n.args[2].valid() ? value[n.args[2].index] : 0;
  return evalOp(n.op, a, b, c);
}

std::vector<double> evaluate(const Graph &graph, const std::vector<NodeId> &roots,
                             std::span<const double> symbolValues, bool fuse) {
  for (NodeId r : roots) {
    if (!r.valid() || r.index >= graph.size())
      throw std::logic_error("evaluate: a root that is not a node of the graph");
  }
  std::vector<NodeId> order = graph.reachable(roots);
  if (order.empty()) return std::vector<double>(roots.size(), 0.0);
  // Values indexed by NodeId over the reachable prefix of the graph; one forward loop, no recursion.
  std::vector<double> value(order.back().index + 1, 0.0);
  for (NodeId id : order) {
    const Node &n = graph[id];
    switch (n.op) {
    case Op::Const: value[id.index] = n.value; break;
    case Op::Var:
      if (n.symbol >= symbolValues.size())
        throw std::out_of_range("evaluate: no value for symbol '" + graph.symbolName(n.symbol) + "'");
      value[id.index] = symbolValues[n.symbol];
      break;
    default: value[id.index] = evalNode(graph, n, value.data(), fuse);
    }
  }
  std::vector<double> out;
  out.reserve(roots.size());
  for (NodeId r : roots) out.push_back(value[r.index]);
  return out;
}

}  // namespace nabla
