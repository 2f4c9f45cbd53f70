// Tape -> a batched kernel: the tape's roots summed over rows of data, with the row loop
// vectorized across rows (each value is a vector of `lanes` rows) and glibc's vector math library
// for the transcendental functions.
//
//   void NAME(const double *params, uint64_t begin, uint64_t end,
//             const double *const *columns, double *sums)
//
// Arguments [0, paramCount) of the tape are params[...], the same for every row; argument
// paramCount + c is columns[c][row]. For every root k, sums[k] = the sum over rows begin <= row <
// end of root k (each lane adds its rows in order, then the lanes are added in order: the result
// depends only on begin, end and the lane count). Rows beyond a multiple of the lane count are
// copied into a zero-padded block and masked out of the sums. Nothing is written but `sums`.
#pragma once

#include "codegen/emit_llvm.h"

#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace nabla::codegen {

struct BatchOptions {
  unsigned lanes = 4;  // rows per vector: 2 (SSE), 4 (AVX2), 8 (AVX-512)
  /// libmvec's name prefix for `lanes` (`_ZGVdN4`), or empty to call the scalar functions lane by
  /// lane. `hasVectorMath(name)` says whether the vector variant of `exp`, `pow`, ... is there.
  std::string vectorMathPrefix;
  std::function<bool(std::string_view)> hasVectorMath;
  bool fastMath = false;
  /// Bodies longer than this are split into part functions, as for scalar entry points.
  std::size_t maxPartSize = 256;
  std::size_t splitAbove = 0;
  bool forFastIsel = false;
  /// When not empty, emitBatchKernel also adds the gathered kernel of that name:
  ///   void NAME(const double *params, uint64_t begin, uint64_t end, const double *table,
  ///             uint64_t stride, const uint64_t *index, double *sums)
  /// Row r of it (begin <= r < end) is row index[r] of the row-major `table`: its input c is
  /// table[index[r] * stride + c]. The sums have the same bits as the kernel's over columns that
  /// hold those rows at positions begin..end. The rows a few blocks ahead are prefetched.
  std::string gatherName;
};

/// The math functions glibc's libmvec has vector variants of (since glibc 2.35), by scalar name.
bool libmvecHas(std::string_view name);

/// Adds the kernel `entry.name` over `entry.tape` (its roots are what is summed) to `module`.
/// Throws CodegenError (a name already defined, an argument beyond paramCount + inputCount).
llvm::Function *emitBatchKernel(llvm::Module &module, const TapeEntryPoint &entry,
                                std::size_t paramCount, std::size_t inputCount,
                                const BatchOptions &options);

/// Adds `double name(const double *params, size_t n, const double *const *columns, double *grad)`
/// over the kernel `sums` (made by emitBatchKernel, with 1 + gradSize roots: the loss, then its
/// gradient): the mean loss over rows [0, n), returned, and the mean gradient, written to grad
/// unless it is null. n == 0 gives NaN (0/0). Throws CodegenError when `name` is taken.
llvm::Function *emitBatchMean(llvm::Module &module, const std::string &name, llvm::Function &sums,
                              std::size_t gradSize);

/// Adds the map kernel `entry.name`: the tape's roots at every point of a range, stored, with
/// the points computed `lanes` at a time (what JAX calls vmap).
///
///   int32_t NAME(uint64_t begin, uint64_t end, const double *in, uint64_t inLd,
///                double *const *out, const uint64_t *outLd)
///
/// Argument c of point r (the tape's argument c, c < arity) is in[r * arity + c] when inLd is 0
/// (row-major points), else in[c * inLd + r]. The roots form consecutive groups of the given
/// widths (a value, a gradient, a Hessian); entry j of group g at point r goes to
/// out[g][r * width + j] when outLd[g] is 0, else to out[g][j * outLd[g] + r]. Only points
/// begin <= r < end are read and written. Whole blocks of row-major data move as one wide load
/// or store and shuffles; the last, partial block is copied into a padded block and its results
/// out of one, so that the body is emitted once. Returns 0, or 1 when its scratch could not be
/// allocated (nothing written then). Throws CodegenError.
llvm::Function *emitMapKernel(llvm::Module &module, const TapeEntryPoint &entry,
                              std::size_t arity, std::span<const std::size_t> groups,
                              const BatchOptions &options);

}  // namespace nabla::codegen
