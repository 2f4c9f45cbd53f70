// The exact sparsity of a Hessian, read off the graph (DESIGN.md, "Second order at scale"): which
// entries d^2 f / d x_i d x_j can be nonzero, without building the n^2 symbolic entries.
//
// The pattern is structural: an entry is in it when some op on the way from the variables to f
// couples them nonlinearly (x*y, u/v, u^v, f(u) for a nonlinear f) and first derivatives carry
// both sides to f. It is exact but conservative: an entry of the pattern may be numerically zero
// at a point (x*y - y*x written so that the two products stay apart), but an entry outside it is
// zero everywhere, for every value of the variables and of any other symbol (an objective's
// inputs). The rules follow the derivative conventions of diff/partials.cpp: relu, abs, min, max
// and where() are piecewise linear (their second derivatives are 0), sign, floor, comparisons and
// where()'s condition have derivative 0.
#pragma once

#include "graph/graph.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

namespace nabla {

/// A symmetric sparsity pattern in compressed sparse rows: row i holds the columns
/// columns[rowStart[i] .. rowStart[i+1]), ascending, both triangles (the diagonal where it is
/// nonzero). rowStart has n + 1 entries, rowStart[0] = 0.
struct HessianPattern {
  std::size_t n = 0;
  std::vector<std::int64_t> rowStart{0};
  std::vector<std::int64_t> columns;

  std::size_t nonzeros() const { return columns.size(); }
  std::span<const std::int64_t> row(std::size_t i) const {
    return {columns.data() + rowStart[i], columns.data() + rowStart[i + 1]};
  }
  /// Whether (i, j) is in the pattern (a binary search of row i).
  bool contains(std::size_t i, std::size_t j) const;
  friend bool operator==(const HessianPattern &, const HessianPattern &) = default;
};

/// The pattern of n variables from pairs (i, j) of coupled variables, given once per unordered
/// pair in either order (duplicates allowed): both (i, j) and (j, i) are entered. Every index
/// must be below n.
HessianPattern patternFromPairs(std::size_t n,
                                std::span<const std::pair<std::uint32_t, std::uint32_t>> pairs);
/// The same from pairs held in chunks, each freed as soon as it has been read (the pairs of a
/// large problem are its largest temporary).
HessianPattern patternFromPairs(std::size_t n,
                                std::vector<std::vector<std::pair<std::uint32_t, std::uint32_t>>> chunks);
/// The distinct pairs among chunks of pairs given in either order (each chunk freed once read),
/// each as (smaller, larger), ascending: the sort of patternFromPairs, one triangle only. Every
/// index must be below n.
std::vector<std::pair<std::uint32_t, std::uint32_t>> distinctPairs(
    std::size_t n, std::vector<std::vector<std::pair<std::uint32_t, std::uint32_t>>> chunks);

/// The limit of both levels' patterns (`maxPairs`) is on the pairs of coupled variables the
/// pattern has (an entry of one triangle, the diagonal included, is one pair), however often the
/// sweep meets each. Its work is bounded too: it stops once it has met kPatternWorkPerPair pairs
/// per pair of the limit, counting each meeting. At the array level a sum of squares of
/// residuals over overlapping windows meets a pair once per window that holds it (Moré, Garbow
/// and Hillstrom's Broyden banded function: about 4 times); the scalar level also meets the
/// pairs of the nodes between (about 20 per pair of that pattern), and its graph is bounded by
/// the node limit. Either way it throws std::length_error.
inline constexpr std::size_t kPatternWorkPerPair = 8;

/// The pairs a sweep under a limit of `maxPairs` may meet: kPatternWorkPerPair times it, at most
/// SIZE_MAX.
constexpr std::size_t patternWork(std::size_t maxPairs) {
  return maxPairs > SIZE_MAX / kPatternWorkPerPair ? SIZE_MAX : maxPairs * kPatternWorkPerPair;
}

/// The structural nonzeros of the Hessian of `f` with respect to `vars` (Var nodes; row and
/// column k are vars[k]; an entry that is not a Var, or a variable f does not read, has an empty
/// row). Reverse "edge pushing" over the nodes f reaches (Gower & Mello 2012; the pattern version
/// of Walther 2008's nonlinear interaction domains): one backwards sweep carries pairs of
/// coupled nodes down to the variables, each node's pairs freed when it is passed. Time and memory
/// are about linear in the graph plus the pairs met, which for a sparse Hessian are a few times
/// its nonzeros; nothing is n^2 unless the Hessian is dense. Throws std::length_error where the
/// pattern has more than `maxPairs` pairs or the sweep meets more than kPatternWorkPerPair times
/// that (bounds on the work and memory: a dense Hessian of 10^6 variables has 10^12 entries).
HessianPattern hessianPattern(const Graph &graph, NodeId f, const std::vector<NodeId> &vars,
                              std::size_t maxPairs = SIZE_MAX);

namespace sparsity {

/// The operands of one op that are constants, and their values (nullopt: not a constant).
using Constants = std::array<std::optional<double>, 3>;

/// Whether the first derivative of an `op` node with respect to its operand `arg` is not 0 by
/// the rules alone (structurally, whatever the operand depends on): false for piecewise-constant
/// ops, where()'s condition, a product with the constant 0, u^0 in u, and 0^v and 1^v in v.
bool carries(Op op, int arg, const Constants &constants);

/// Whether at most one operand's first derivative is nonzero at any point (min, max and where(),
/// whose derivatives follow the operand chosen): the products of two operands' derivatives, which
/// a node's own second derivative in f would multiply, are then 0.
bool exclusiveOperands(Op op);

/// The pairs of operands (a <= b, operand positions) whose second derivative d^2 node / d a d b
/// is not 0 by the rules: (0, 0) for a nonlinear unary op and for x*x (`sameOperands`), (0, 1)
/// for a product of two different nodes, (0, 1) and (1, 1) for a quotient, all three for u^v,
/// atan2, hypot and logaddexp, (0, 0) for u^c and (1, 1) for c^v (none for c = 0 or 1 where
/// those are linear or constant); none for the linear and piecewise-linear ops (+, -, negation,
/// relu, abs, min, max, where). Returns how many it wrote to `out`.
int secondPairs(Op op, bool sameOperands, const Constants &constants, std::pair<int, int> out[3]);

}  // namespace sparsity

}  // namespace nabla
