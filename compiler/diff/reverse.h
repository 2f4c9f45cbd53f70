// Reverse-mode symbolic differentiation over the DAG: one backwards sweep accumulates adjoints, and
// the derivative nodes reuse every forward node.
#pragma once

#include "graph/cancel.h"
#include "graph/graph.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace nabla {

/// d f / d v for each Var node v in `wrt` (a node that is not a Var gets derivative 0 — callers
/// check). New nodes are added to `graph`; nothing existing changes. Conventions (DESIGN.md):
/// abs'(0) = 0, relu'(0) = 0, max/min follow their first argument on ties, sign/floor/comparisons
/// have derivative 0, where(c, a, b) differentiates only the chosen branch and a NaN or inf of the
/// branch not taken never reaches the result. When `cancel` is set, throws Cancelled (checked
/// every kCancelCheckEvery nodes of the sweep).
std::vector<NodeId> gradient(Graph &graph, NodeId f, const std::vector<NodeId> &wrt,
                             const std::atomic<bool> *cancel = nullptr);

/// Second derivatives: entry [i][j] = d^2 f / d wrt[i] d wrt[j], symmetric by construction. One
/// gradient sweep per row: once the rows have added more than `maxNewNodes` nodes to the graph
/// (checked after each row), throws std::length_error, leaving the nodes made so far in the graph.
std::vector<std::vector<NodeId>> hessian(Graph &graph, NodeId f, const std::vector<NodeId> &wrt,
                                         std::size_t maxNewNodes = SIZE_MAX,
                                         const std::atomic<bool> *cancel = nullptr);

}  // namespace nabla
