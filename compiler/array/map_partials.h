// The local derivatives of the array level's elementwise maps, from the scalar level's rules
// (diff::partials) applied to a one-op template and translated to maps, so that both levels follow
// the same conventions (relu'(0) = 0, where() differentiates the branch taken, ...). Reverse mode
// (reverse.cpp) seeds them with a node's adjoint, forward mode (forward.cpp) with 1 and multiplies
// by each operand's tangent.
#pragma once

#include "array/array.h"
#include "diff/partials.h"

#include <array>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace nabla::array {

/// What a map's partials cannot be made of (an op whose template folds): the reason.
struct Unsupported {
  std::string why;
};

class MapPartials {
public:
  explicit MapPartials(Graph &graph) : g_(graph) {}

  /// One operand's term: seed times the map's partial derivative in operand `arg`, masked as the
  /// rules say (where(c, term, 0)), the shape of the map (or a scalar).
  struct Term {
    std::uint8_t arg = 0;
    Id term = kNone;
  };
  /// The terms of map node `id` for the operands `needed` says, seeded with `seed`. Throws
  /// Unsupported.
  std::vector<Term> terms(Id id, Id seed, std::array<bool, 3> needed);

private:
  /// A scalar graph with a variable per operand, one for the op's value and one for the seed, and
  /// diff::partials' contributions over them; built once per op and operands needed.
  struct Template {
    nabla::Graph graph;
    NodeId args[3], value, seed;
    std::vector<diff::Contribution> contributions;
  };
  const Template &templateOf(Op op, std::uint8_t count, std::array<bool, 3> needed);
  Id translate(const Template &t, NodeId n, const Id vars[5], std::map<std::uint32_t, Id> &memo);

  Graph &g_;
  std::map<std::tuple<int, bool, bool, bool>, Template> templates_;
};

}  // namespace nabla::array
