// Simplification: rewrite rules held as named data (pattern -> replacement, guard), applied to a
// fixed point by a bounded driver. No rule of the default set changes a value for any input.
#pragma once

#include "graph/graph.h"

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace nabla {

struct SimplifyLimits {
  unsigned maxPasses = 32;        // sweeps over the DAG
  std::size_t maxNewNodes = 1u << 22;
};

enum class StopReason { FixedPoint, PassLimit, NodeLimit };

struct SimplifyStats {
  StopReason stop = StopReason::FixedPoint;
  unsigned passes = 0;
  std::map<std::string, std::size_t> fired;  // rule name -> count
};

struct SimplifyOptions {
  SimplifyLimits limits;
  bool trace = false;  // --trace=rewrites: each rewrite, by rule name, to stderr
};

/// Rewrites everything reachable from `roots`; returns the simplified roots in the same order.
/// New nodes are added to `graph`; old ones stay valid.
std::vector<NodeId> simplify(Graph &graph, const std::vector<NodeId> &roots,
                             const SimplifyOptions &options = {}, SimplifyStats *stats = nullptr);

}  // namespace nabla
