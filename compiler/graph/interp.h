// The reference interpreter: evaluates any DAG in double precision with evalOp's arithmetic. It is
// the oracle that code generation is checked against.
#pragma once

#include "graph/graph.h"

#include <span>
#include <vector>

namespace nabla {

/// Evaluates the roots, given one value per graph symbol (indexed by SymbolId).
std::vector<double> evaluate(const Graph &graph, const std::vector<NodeId> &roots,
                             std::span<const double> symbolValues);

}  // namespace nabla
