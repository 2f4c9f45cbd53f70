// The reference interpreter: evaluates any DAG in double precision with evalOp's arithmetic. It is
// the oracle that code generation is checked against.
#pragma once

#include "graph/graph.h"

#include <span>
#include <vector>

namespace nabla {

/// The value of operation node `id` from its operands' values (`value`, indexed by NodeId):
/// evalOp, except that an addition or subtraction of a product is one fused multiply-add
/// (fusedMultiplyAdd), read from the product's operands. Not for Const and Var nodes.
/// `fuse = false` evaluates every op as written, each rounded on its own (only tests of
/// rewrites that are exact in that arithmetic ask for it; compiled code always fuses).
double evalNode(const Graph &graph, NodeId id, const double *value, bool fuse = true);

/// Evaluates the roots, given one value per graph symbol (indexed by SymbolId), with evalNode.
std::vector<double> evaluate(const Graph &graph, const std::vector<NodeId> &roots,
                             std::span<const double> symbolValues, bool fuse = true);

}  // namespace nabla
