// The exact sparsity of the objective's Hessian at the array level (diff/sparsity.h's pattern,
// without unrolling to scalars): per element of each array node, the params it depends on, and
// the pairs that nonlinear nodes couple.
#pragma once

#include "array/array.h"
#include "diff/sparsity.h"

namespace nabla::array {

/// The structural nonzeros of the Hessian of the loss with respect to every param element,
/// flattened in declaration order, arrays row-major (program.paramShapes). For a loss that depends
/// on the rows of a batch, the union over the rows, which does not depend on the data: inputs
/// carry no params. Empty (n params, no entries) for a program without an objective.
///
/// The same rules as the scalar level's hessianPattern, applied per element, so that on programs
/// both levels take the two patterns agree, with one exception: the scalar level pairs the
/// operands of min, max and where() only with themselves where their result is differentiated
/// twice (one of them is chosen at each point), while here a node's dependency set is the union
/// of its operands', so the array level may add those cross pairs (a superset: never a miss).
///
/// Two passes over the nodes the loss reaches: backwards, which elements are live (a first
/// derivative reaches the loss from them) and which nodes' dependency sets are needed (by a
/// nonlinear node, or by a needed node); forwards, those sets per element (compressed rows of
/// param indices), freed after their last use, and the pairs of the live nonlinear elements.
/// Time and memory are linear in the elements times their sets, plus the pairs (for a matrix
/// product, its multiply-adds times the sets' sizes); the chained Rosenbrock of 10^6 params
/// written with slices takes well under a second. Throws std::length_error before the pairs met
/// exceed `maxPairs` (the Hessian of sum(x)^2 over 10^6 params has 10^12 entries).
HessianPattern hessianPattern(const Program &program, std::size_t maxPairs = SIZE_MAX);

}  // namespace nabla::array
