#include "graph/interp.h"

#include <stdexcept>

namespace nabla {

std::vector<double> evaluate(const Graph &graph, const std::vector<NodeId> &roots,
                             std::span<const double> symbolValues) {
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
    default: {
      double a = value[n.args[0].index];
      double b = n.args[1].valid() ? value[n.args[1].index] : 0;
      double c = n.args[2].valid() ? value[n.args[2].index] : 0;
      value[id.index] = evalOp(n.op, a, b, c);
    }
    }
  }
  std::vector<double> out;
  out.reserve(roots.size());
  for (NodeId r : roots) out.push_back(value[r.index]);
  return out;
}

}  // namespace nabla
