#include "graph/interp.h"

#include <stdexcept>

namespace nabla {

namespace {

/// The graph as fusedMultiplyAdd reads it.
struct GraphDag {
  const Graph &graph;
  Op op(NodeId x) const { return graph[x].op; }
  NodeId arg(NodeId x, int k) const { return graph[x].args[k]; }
  bool isTwo(NodeId x) const { return graph.isConstant(x, 2.0); }
};

} // namespace

double evalNode(const Graph &graph, NodeId id, const double *value, bool fuse) {
  if (fuse)
    if (auto f = fusedMultiplyAdd(GraphDag{graph}, id))
      return evalOp(f->op, value[f->a.index], value[f->b.index], value[f->c.index]);
  const Node &n = graph[id];
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
    default: value[id.index] = evalNode(graph, id, value.data(), fuse);
    }
  }
  std::vector<double> out;
  out.reserve(roots.size());
  for (NodeId r : roots) out.push_back(value[r.index]);
  return out;
}

}  // namespace nabla
