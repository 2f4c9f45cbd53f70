// Simplification: rewrite rules held as named data (pattern -> replacement, guard), applied to a
// fixed point by a bounded driver. No rule of the default set changes a value for any input.
#pragma once

#include "graph/cancel.h"
#include "graph/graph.h"

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace nabla {

struct SimplifyLimits {
  unsigned maxPasses = 32; // sweeps over the DAG
  std::size_t maxNewNodes = 1u << 22;
};

enum class StopReason { FixedPoint, PassLimit, NodeLimit };

struct SimplifyStats {
  StopReason stop = StopReason::FixedPoint;
  unsigned passes = 0;
  std::map<std::string, std::size_t> fired; // rule name -> count
};

struct SimplifyOptions {
  SimplifyLimits limits;
  bool trace = false; // --trace=rewrites: each rewrite, by rule name, to stderr
  /// The numerical-stability rewrites (log(1 + x) -> log1p(x), ...): exact values replaced by
  /// more accurate ones, finite where the original overflows. See docs/simplifier.md.
  bool stability = true;
  /// Set: the sweeps stop (throwing Cancelled, graph/cancel.h), checked every kCancelCheckEvery
  /// nodes.
  const std::atomic<bool> *cancel = nullptr;
};

/// Rewrites everything reachable from `roots`; returns the simplified roots in the same order.
/// New nodes are added to `graph`; old ones stay valid. Bottom-up sweeps in NodeId order (no
/// recursion over the DAG) until one changes nothing (FixedPoint) or a limit stops it; on
/// NodeLimit the roots of the last complete sweep are returned. Deterministic. An invalid root
/// stays invalid; a root that is not a node of `graph` throws std::logic_error.
std::vector<NodeId> simplify(Graph &graph, const std::vector<NodeId> &roots,
                             const SimplifyOptions &options = {}, SimplifyStats *stats = nullptr);

} // namespace nabla
