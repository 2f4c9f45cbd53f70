// Printing DAGs: as nabla text with minimal parentheses (re-parsing gives the same function), with
// shared subexpressions as named temporaries, and as Graphviz DOT.
#pragma once

#include "graph/graph.h"

#include <cstdint>
#include <string>
#include <vector>

namespace nabla {

/// One self-contained expression over the graph's symbol names.
std::string printExpr(const Graph &graph, NodeId root);

/// printExpr of each root, sharing one pass over the graph between them.
std::vector<std::string> printExprs(const Graph &graph, const std::vector<NodeId> &roots);

/// The length in bytes of printExpr(graph, root) for each root, computed without printing
/// (saturating at UINT64_MAX). A tree can be exponentially larger than its DAG: check this first.
std::vector<std::uint64_t> printedLengths(const Graph &graph, const std::vector<NodeId> &roots);

/// Several roots that share subexpressions: a subexpression used more than once (and worth
/// naming) is printed once as a temporary `t1 = ...`; `exprs` refer to the temporaries.
struct PrintedSet {
  std::vector<std::pair<std::string, std::string>> temporaries;  // name, expression, in order
  std::vector<std::string> exprs;                                 // one per root
};
PrintedSet printShared(const Graph &graph, const std::vector<NodeId> &roots);

/// Graphviz DOT of everything reachable from the roots, the roots labelled with `rootNames`.
std::string printDot(const Graph &graph, const std::vector<NodeId> &roots,
                     const std::vector<std::string> &rootNames);

}  // namespace nabla
