/* The objective of a library at the array level (`nabla compile`, docs/aot.md): the executor's
 * schedule (array/exec.cpp) as a table of steps, which run() follows over a batch of rows,
 * calling the kernels of kernels.c (the executor's own) and the loops the library's object
 * defines. Included by the library's objective.c after its tables (steps, refs, consts) and
 * their sizes (STEP_COUNT, MAX_SLOTS, P, I, FIXED, PER_ROW, OUTPUTS, LOSS_BATCHED, CHUNK_ROWS);
 * it exports the three entry points, and nothing else (NABLA_RT_API is `static`). */
#include "kernels.c"
#include "program.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Where ref r points in a run over R rows. */
static double *where(const nabla_ref *r, const double *params, size_t R, double *ws, double *loss,
                     double *grad) {
  switch (r->base) {
  case NABLA_PARAM: return (double *)params + r->at;
  case NABLA_CONST: return (double *)consts + r->at;
  case NABLA_FIXED: return ws + r->at;
  case NABLA_ROWS: return ws + FIXED + R * r->at;
  case NABLA_OUT: return r->at == 0 ? loss : grad + (r->at - 1);
  default: return 0; /* NABLA_COLUMNS: the input step reads them */
  }
}

/* The steps of the loss and its gradient over R rows of the columns: the sums over the rows into
 * loss (1 double) and grad (P doubles). slots: MAX_SLOTS pointers. */
static void run(const double *params, size_t R, const double *const *columns, double *ws,
                double *loss, double *grad, double **slots) {
  for (size_t s = 0; s < STEP_COUNT; ++s) {
    const nabla_step *st = &steps[s];
    const size_t rows = st->rows ? R : 1;
    double *p[4] = {0, 0, 0, 0};
    for (unsigned k = 0; k < st->refCount && k < 4; ++k)
      p[k] = where(&refs[st->ref + k], params, R, ws, loss, grad);
    const size_t *a = st->a;
    switch (st->op) {
    case NABLA_STEP_INPUT: nabla_rt_input_columns(columns + a[0], a[1], p[0], R); break;
    case NABLA_STEP_LOOP:
      for (unsigned k = 0; k < st->refCount; ++k)
        slots[k] = where(&refs[st->ref + k], params, R, ws, loss, grad);
      st->loop(slots);
      break;
    case NABLA_STEP_MAP: {
      const unsigned n = st->refCount - 1u;
      for (size_t r = 0; r < rows; ++r) {
        double *q[4];
        for (unsigned k = 0; k < n; ++k) q[k] = p[k] + r * a[k];
        q[n] = p[n] + (st->rows ? r * a[3] : 0);
        st->loop(q);
      }
      break;
    }
    case NABLA_STEP_MATMUL:
      nabla_rt_matmul((int)a[0], (int)a[1], (int)a[2], p[0], (int)a[3], (int)a[4], p[1], (int)a[5],
                      (int)a[6], p[2], (int)rows);
      break;
    case NABLA_STEP_TRANSPOSE: nabla_rt_transpose(p[0], a[0], a[1], a[2], p[1], rows); break;
    case NABLA_STEP_OUTER: nabla_rt_outer(p[0], a[0], a[1], p[1], a[2], a[3], p[2], rows); break;
    case NABLA_STEP_OUTER_SUM: nabla_rt_outer_sum(p[0], (int)a[0], p[1], (int)a[1], (int)R, p[2]); break;
    case NABLA_STEP_REDUCE: nabla_rt_reduce((int)a[0], p[0], a[1], a[2], p[1], rows); break;
    case NABLA_STEP_EXTREME: nabla_rt_extreme((int)a[0], (int)a[1], p[0], a[2], a[3], p[1], rows); break;
    case NABLA_STEP_SOFTMAX: nabla_rt_softmax(p[0], a[0], a[1], p[1], 0, rows); break;
    case NABLA_STEP_SOFTMAX_ADJOINT:
      nabla_rt_softmax_adjoint(p[0], a[0], p[1], a[1], (int)a[2], p[2], a[3], rows);
      break;
    case NABLA_STEP_ONEHOT: nabla_rt_onehot(p[0], a[0], a[1], p[1], rows); break;
    case NABLA_STEP_BOX:
      nabla_rt_box((int)a[0], p[0], a[1], p[1], a[2], a[3], a[4], st->starts, a[5], rows);
      break;
    case NABLA_STEP_STACK_PART: nabla_rt_stack_part(p[0], a[0], a[1], a[2], p[1], a[3], rows); break;
    case NABLA_STEP_BROADCAST: nabla_rt_broadcast(p[0], a[0], p[1], a[1], rows); break;
    case NABLA_STEP_BATCH_SUM: nabla_rt_batch_sum(p[0], (int)a[0], p[1], a[1], R); break;
    case NABLA_STEP_COPY: memcpy(p[1], p[0], a[0] * sizeof(double)); break;
    }
  }
}

/* The sums over rows [begin, end) into loss and grad, chunk by chunk as nabla fit takes them;
 * 1 when a scratch array cannot be had (they are then NaN). */
static int sums(const double *params, size_t begin, size_t end, const double *const *columns,
                double *loss, double *grad) {
  const size_t n = end > begin ? end - begin : 0;
  const size_t chunk = n < CHUNK_ROWS ? (n ? n : 1) : CHUNK_ROWS;
  const int chunked = LOSS_BATCHED && n > chunk;
  double *ws = (double *)malloc((FIXED + chunk * PER_ROW + (chunked ? 1 + P : 0) + 1) * sizeof(double));
  const double **cols = (const double **)malloc((I + 1) * sizeof(double *));
  double **slots = (double **)malloc((MAX_SLOTS + 1) * sizeof(double *));
  if (!ws || !cols || !slots) {
    free(ws);
    free((void *)cols);
    free(slots);
    *loss = NAN;
    for (size_t i = 0; i < P; ++i) grad[i] = NAN;
    return 1;
  }
  if (!LOSS_BATCHED) {
    run(params, 1, columns, ws, loss, grad, slots);
  } else if (!chunked) {
    for (size_t k = 0; k < I; ++k) cols[k] = columns[k] + begin;
    if (n) {
      run(params, n, cols, ws, loss, grad, slots);
    } else {
      *loss = 0;
      for (size_t i = 0; i < P; ++i) grad[i] = 0;
    }
  } else {
    double *partLoss = ws + FIXED + chunk * PER_ROW, *partGrad = partLoss + 1;
    *loss = 0;
    for (size_t i = 0; i < P; ++i) grad[i] = 0;
    for (size_t at = begin; at < end; at += chunk) {
      const size_t rows = end - at < chunk ? end - at : chunk;
      for (size_t k = 0; k < I; ++k) cols[k] = columns[k] + at;
      run(params, rows, cols, ws, partLoss, partGrad, slots);
      *loss += *partLoss;
      for (size_t i = 0; i < P; ++i) grad[i] += partGrad[i];
    }
  }
  free(ws);
  free((void *)cols);
  free(slots);
  return 0;
}

#define NABLA_EXPORT __attribute__((visibility("default")))

NABLA_EXPORT double nabla_objective(const double *params, const double *inputs, double *grad) {
  const double **columns = (const double **)malloc((I + 1) * sizeof(double *));
  double *scratch = grad ? NULL : (double *)malloc((P + 1) * sizeof(double));
  if (!columns || (!grad && !scratch)) {
    free((void *)columns);
    free(scratch);
    if (grad)
      for (size_t i = 0; i < P; ++i) grad[i] = NAN;
    return NAN;
  }
  for (size_t k = 0; k < I; ++k) columns[k] = inputs + k;
  double value;
  sums(params, 0, 1, columns, &value, grad ? grad : scratch);
  free((void *)columns);
  free(scratch);
  return value;
}

NABLA_EXPORT void nabla_objective_batch_sums(const double *params, size_t begin, size_t end,
                                             const double *const *columns, double *out) {
  if (sums(params, begin, end, columns, out, out + 1) || LOSS_BATCHED) return;
  /* The same value for every row: n times it. */
  const double n = (double)(end > begin ? end - begin : 0);
  for (size_t i = 0; i < OUTPUTS; ++i) out[i] *= n;
}

NABLA_EXPORT double nabla_objective_batch(const double *params, size_t n,
                                          const double *const *columns, double *grad) {
  double *scratch = grad ? NULL : (double *)malloc((P + 1) * sizeof(double));
  if (n == 0 || (!grad && !scratch)) {
    free(scratch);
    if (grad)
      for (size_t i = 0; i < P; ++i) grad[i] = NAN;
    return NAN;
  }
  double *g = grad ? grad : scratch, value;
  sums(params, 0, n, columns, &value, g);
  /* Means as nabla fit takes them: the sums times 1/n (a value the same for every row as it is). */
  const double scale = LOSS_BATCHED ? 1.0 / (double)n : 1.0;
  value *= scale;
  if (grad)
    for (size_t i = 0; i < P; ++i) grad[i] *= scale;
  free(scratch);
  return value;
}
