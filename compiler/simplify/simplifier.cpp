#include "simplify/simplifier.h"
// Placeholder until the simplifier lands: the identity.
namespace nabla {
std::vector<NodeId> simplify(Graph &, const std::vector<NodeId> &roots, const SimplifyOptions &, SimplifyStats *) { return roots; }
}  // namespace nabla
