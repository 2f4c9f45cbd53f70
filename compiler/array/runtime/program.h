/* The types of a library's tables at the array level (program.c). Included by the library's
 * objective.c before its tables, which program.c then follows. */
#ifndef NABLA_ARRAY_PROGRAM_H
#define NABLA_ARRAY_PROGRAM_H

#include <stddef.h>

typedef void nabla_loop(double *const *);

/* Where a step's array is: params + at, a constant, the scratch the same for every row (ws +
 * at), the scratch per row (ws + fixed + R * at), the columns of the inputs (columns + at), or
 * the output: at 0 the loss, at 1 + i element i of the rest (the gradient, or H v). */
enum { NABLA_PARAM, NABLA_CONST, NABLA_FIXED, NABLA_ROWS, NABLA_COLUMNS, NABLA_OUT };
typedef struct {
  unsigned char base;
  size_t at;
} nabla_ref;

enum {
  NABLA_STEP_INPUT,        /* ref 0 out; a0 the first column, a1 S */
  NABLA_STEP_LOOP,         /* refs: the fused loop's slots */
  NABLA_STEP_MAP,          /* refs: operands, then out; a0..a2 their row strides, a3 S */
  NABLA_STEP_MATMUL,       /* refs a, b, out; a0 m, a1 k, a2 cols, a3 a's trans, a4 a batched,
                              a5 b's trans, a6 b batched */
  NABLA_STEP_TRANSPOSE,    /* refs in, out; a0 rows, a1 cols, a2 rs */
  NABLA_STEP_OUTER,        /* refs u, v, out; a0 m, a1 su, a2 k, a3 sv */
  NABLA_STEP_OUTER_SUM,    /* refs u, v, out; a0 m, a1 k */
  NABLA_STEP_REDUCE,       /* refs in, out; a0 kind, a1 S, a2 rs */
  NABLA_STEP_EXTREME,      /* refs in, out; a0 mask, a1 max, a2 S, a3 rs */
  NABLA_STEP_SOFTMAX,      /* refs in, out; a0 S, a1 rs */
  NABLA_STEP_SOFTMAX_ADJOINT, /* refs y, g, out; a0 ys, a1 gs, a2 gScalar, a3 S */
  NABLA_STEP_ONEHOT,       /* refs k, out; a0 ks, a1 count */
  NABLA_STEP_BOX,          /* refs in, out; a0 embed, a1 inStride, a2 bigSize, a3 small, a4 run,
                              a5 runs; starts */
  NABLA_STEP_STACK_PART,   /* refs in, out; a0 rs, a1 part, a2 p, a3 S */
  NABLA_STEP_BROADCAST,    /* refs in, out; a0 rs, a1 S */
  NABLA_STEP_BATCH_SUM,    /* refs in, out; a0 batched, a1 S: sums over the R rows */
  NABLA_STEP_COPY          /* refs in, out; a0 S */
};

typedef struct {
  unsigned char op;
  unsigned char rows; /* 1: the step's value has a row per row of the batch */
  unsigned short refCount;
  size_t ref;         /* its first in refs[] */
  nabla_loop *loop;
  const size_t *starts;
  size_t a[7];
} nabla_step;

/* One program's tables and sizes: the objective's (the loss, then the gradient) or the
 * Hessian-vector product's (H v per param, over the params followed by v, packed). */
typedef struct {
  const nabla_step *steps;
  const nabla_ref *refs;
  const double *consts;
  size_t stepCount, maxSlots;
  size_t fixed, perRow; /* scratch: doubles the same for every row, doubles per row */
  size_t outputs;       /* doubles written: 1 + P (loss, gradient) or P (H v) */
  size_t chunkRows;     /* rows at a time within the memory budget */
  int lossBatched;      /* whether the first output depends on the rows */
} nabla_program;

#endif
