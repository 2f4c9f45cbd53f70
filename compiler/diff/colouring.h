// Star colouring of a symmetric sparsity pattern, and the direct recovery of a Hessian from its
// compressed products (Gebremedhin, Manne & Pothen, "What color is your Jacobian? Graph coloring
// for computing derivatives", SIAM Review 47(4), 2005, sections 4.2 and 6).
//
// A star colouring gives adjacent variables different colours and uses at least three colours on
// every path of four variables. Then C Hessian-vector products B = H D, D the n x C indicator of
// the colours (D[j][c] = 1 where colour(j) = c), determine every nonzero of H directly, with no
// system to solve: for an entry (i, j) of the pattern, either colour(j) is not shared with any
// other column of row i, and H_ij = B[i][colour(j)], or colour(i) is not shared with any other
// column of row j, and H_ij = H_ji = B[j][colour(i)].
#pragma once

#include "diff/sparsity.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace nabla {

struct StarColouring {
  std::size_t colours = 0;
  std::vector<std::int64_t> colour;  // per variable, 0 .. colours-1

  /// The variables of each colour, ascending: the colour classes.
  std::vector<std::vector<std::int64_t>> classes() const;
  /// D, n x colours, row-major: D[j * colours + c] = 1 where colour[j] = c, else 0. Column c is the
  /// direction of the c-th Hessian-vector product.
  std::vector<double> seedMatrix() const;
};

/// Greedy star colouring: variables in order 0 .. n-1, each taking the least colour that neither
/// a coloured neighbour has nor would make a path of four coloured variables two-coloured — with
/// v at its end (v-w-x-y, colour(x) = c and colour(y) = colour(w)) or inside it (w-v-x-y,
/// colour(w) = colour(x) and colour(y) = c). Exactly the colours a brute-force check of every
/// such path forbids, so no greedy colouring in this order uses fewer. The diagonal plays no part.
/// Time: about the nonzeros times the colours (each variable reads its neighbours' lists of at most
/// `colours` entries; each row is walked once per colour that reaches a second neighbour of it).
/// Memory: nine bytes a nonzero for those lists, kept beside the pattern's rows, and a hash table
/// of the colours around the variables that have more than 16. Walking every path of three edges
/// instead would cost the sum of the squared degrees: 10^12 for an arrowhead of 10^6 variables.
StarColouring starColouring(const HessianPattern &pattern);

/// The values of the pattern's entries (one per pattern.columns entry, in order) from the
/// compressed products B = H D: `compressed` is n x colours, row-major, compressed[i * colours + c]
/// = sum over j with colour(j) = c of H_ij. Throws std::invalid_argument when the sizes do not
/// fit or the colouring is not a star colouring of the pattern (an entry neither rule recovers).
std::vector<double> recoverHessian(const HessianPattern &pattern, const StarColouring &colouring,
                                   std::span<const double> compressed);
/// Where recoverHessian reads each entry: per pattern entry, its index i * colours + c into the
/// compressed products (the same for every point: made once, a recovery is then a gather).
/// Throws std::invalid_argument as recoverHessian does.
std::vector<std::int64_t> recoveryIndex(const HessianPattern &pattern,
                                        const StarColouring &colouring);

/// out = H d at the caller's point (n entries each).
using HessianProduct = std::function<void(std::span<const double> d, std::span<double> out)>;
/// The directions and products of sparseHessianByProducts, kept between calls by a caller that
/// makes many (n + n + n * colours doubles).
struct ProductScratch {
  std::vector<double> direction, column, compressed;
};
/// The pattern's entries (`values`, in its order) from one Hessian-vector product per colour:
/// `product` along each colour's indicator gives B = H D, and each entry is read where
/// `recovery` (recoveryIndex) says.
void sparseHessianByProducts(const StarColouring &colouring, std::span<const std::int64_t> recovery,
                             const HessianProduct &product, std::span<double> values,
                             ProductScratch &scratch);

}  // namespace nabla
