/* The array level's kernels (compiler/array/): plain C over arrays of doubles, so that the same
 * code runs in two places: the executor that nabla fit and the APIs use (array/exec.cpp calls
 * these functions), and the libraries that `nabla compile` makes of array programs, whose C
 * source includes this file and kernels.c (with NABLA_RT_API defined as `static`, so that the
 * library exports none of them). The same code gives the same bits in both.
 *
 * A row-dependent value holds its R rows one after the other; `rs` (a row stride) is 0 for an
 * operand that is the same for every row. */
#ifndef NABLA_ARRAY_KERNELS_H
#define NABLA_ARRAY_KERNELS_H

#include <stddef.h>

#ifndef NABLA_RT_API
#define NABLA_RT_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* CBLAS's cblas_dgemm, as a type (nabla loads BLAS lazily through it: kernels.c). */
typedef void nabla_rt_dgemm_fn(int order, int transA, int transB, int m, int n, int k,
                               double alpha, const double *a, int lda, const double *b, int ldb,
                               double beta, double *c, int ldc);

/* Reductions of each row's S elements (from in + r * rs) into out[r]. */
enum {
  NABLA_RT_SUM = 0,
  NABLA_RT_MAX = 1,
  NABLA_RT_MIN = 2,
  NABLA_RT_NORM = 3,      /* scaled by the largest magnitude (no overflow), as hypot */
  NABLA_RT_LOGSUMEXP = 4  /* shifted by the largest element */
};

/* evalOp's max and min (graph/graph.cpp): a NaN operand gives NaN. */
NABLA_RT_API double nabla_rt_max(double a, double b);
NABLA_RT_API double nabla_rt_min(double a, double b);

/* The sum of S elements in three levels: blocks of NABLA_RT_SUM_BLOCK consecutive elements, each
 * added in order from -0 (so that a sum of fewer elements is the plain sum in order), groups of
 * NABLA_RT_SUM_GROUP elements adding their blocks' sums, and the groups' sums: (total + group) +
 * block at the end. The fused loops (codegen/loop_kernel.h) add in the same way, bit for bit.
 * Each addition rounds a partial sum no larger than its level's: on 1,048,499 numbers spread
 * over [0, 1) this is 4.6e-11 from the exact sum, adding them in order 8.1e-9
 * (tests/array/test_array.cpp, "long sums add in blocks"). */
enum { NABLA_RT_SUM_BLOCK = 256, NABLA_RT_SUM_GROUP = 65536 };
NABLA_RT_API double nabla_rt_sum(const double *v, size_t S);
NABLA_RT_API void nabla_rt_reduce(int kind, const double *in, size_t S, size_t rs, double *out,
                                  size_t R);

/* softmax of rows [begin, end). */
NABLA_RT_API void nabla_rt_softmax(const double *in, size_t S, size_t rs, double *out,
                                   size_t begin, size_t end);

/* y * (g - sum(g * y)) per row, y = softmax(v); g a scalar per row when gScalar (gs its row
 * stride). */
NABLA_RT_API void nabla_rt_softmax_adjoint(const double *y, size_t ys, const double *g,
                                           size_t gs, int gScalar, double *out, size_t S,
                                           size_t R);

/* The first largest (max != 0) or least element of each row: a mask of it (mask != 0: 1 there,
 * 0 elsewhere, all 0 when a NaN hides it), or its index (NaN when none). */
NABLA_RT_API void nabla_rt_extreme(int mask, int max, const double *in, size_t S, size_t rs,
                                   double *out, size_t R);

/* y = a @ b as the language defines it, a [m][k], b [k][cols] (vectors as a row or a column),
 * over R rows: an operand read transposed (trans) is a matrix the same for every row, stored as
 * its transpose; a batched operand has one matrix per row. */
NABLA_RT_API void nabla_rt_matmul(int m, int k, int cols, const double *a, int aTrans,
                                  int aBatched, const double *b, int bTrans, int bBatched,
                                  double *out, int R);

/* The sum over R rows of outer(u_r, v_r): Uᵀ V (m x k). */
NABLA_RT_API void nabla_rt_outer_sum(const double *u, int m, const double *v, int k, int R,
                                     double *out);

NABLA_RT_API void nabla_rt_outer(const double *u, size_t m, size_t su, const double *v, size_t k,
                                 size_t sv, double *out, size_t R);

NABLA_RT_API void nabla_rt_transpose(const double *in, size_t rows, size_t cols, size_t rs,
                                     double *out, size_t R);

/* Copies between a box of a larger array (bigSize elements per row) and a dense smaller one
 * (small per row): `runs` runs of `run` elements, the larger array's run e at starts[e]. embed:
 * the smaller into the larger, which is zero elsewhere; else the larger's box out. */
NABLA_RT_API void nabla_rt_box(int embed, const double *in, size_t inStride, double *out,
                               size_t bigSize, size_t small, size_t run, const size_t *starts,
                               size_t runs, size_t R);

/* onehot(k, count) per row (k's row stride ks). */
NABLA_RT_API void nabla_rt_onehot(const double *k, size_t ks, size_t count, double *out,
                                  size_t R);

/* Part p of a stack: each row's `part` elements at p * part of the row's S. */
NABLA_RT_API void nabla_rt_stack_part(const double *in, size_t rs, size_t part, size_t p,
                                      double *out, size_t S, size_t R);

/* A scalar per row (stride rs) repeated S times. */
NABLA_RT_API void nabla_rt_broadcast(const double *in, size_t rs, double *out, size_t S,
                                     size_t R);

/* out = the sum of R rows of S elements, in order of the rows (or, for an operand the same for
 * every row, R times it). */
NABLA_RT_API void nabla_rt_batch_sum(const double *in, int batched, double *out, size_t S,
                                     size_t R);

/* The rows of an input of S elements from the data by column: out[r * S + j] = columns[j][r]. */
NABLA_RT_API void nabla_rt_input_columns(const double *const *columns, size_t S, double *out,
                                         size_t R);

#ifdef __cplusplus
}
#endif

#endif
