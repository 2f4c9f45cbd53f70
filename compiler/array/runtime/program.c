/* The objective of a library at the array level (`nabla compile`, docs/aot.md): the executor's
 * schedule (array/exec.cpp) as tables of steps, which run() follows over a batch of rows,
 * calling the kernels of kernels.c (the executor's own) and the loops the library's object
 * defines. Included by the library's objective.c after its programs (nabla_program objective,
 * and with NABLA_HAS_HVP the Hessian-vector product's, hvp) and the sizes P and I; it exports
 * the entry points, and nothing else (NABLA_RT_API is `static`). */
#include "kernels.c"
#include "program.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Where ref r of program g points in a run over R rows. */
static double *where(const nabla_program *g, const nabla_ref *r, const double *params, size_t R,
                     double *ws, double *loss, double *grad) {
  switch (r->base) {
  case NABLA_PARAM: return (double *)params + r->at;
  case NABLA_CONST: return (double *)g->consts + r->at;
  case NABLA_FIXED: return ws + r->at;
  case NABLA_ROWS: return ws + g->fixed + R * r->at;
  case NABLA_OUT: return r->at == 0 ? loss : grad + (r->at - 1);
  default: return 0; /* NABLA_COLUMNS: the input step reads them */
  }
}

/* The steps of program g over R rows of the columns: the sums over the rows into loss (1 double)
 * and grad (the rest of its outputs: the gradient, or H v). slots: g->maxSlots pointers. */
static void run(const nabla_program *g, const double *params, size_t R,
                const double *const *columns, double *ws, double *loss, double *grad,
                double **slots) {
  for (size_t s = 0; s < g->stepCount; ++s) {
    const nabla_step *st = &g->steps[s];
    const size_t rows = st->rows ? R : 1;
    double *p[4] = {0, 0, 0, 0};
    for (unsigned k = 0; k < st->refCount && k < 4; ++k)
      p[k] = where(g, &g->refs[st->ref + k], params, R, ws, loss, grad);
    const size_t *a = st->a;
    switch (st->op) {
    case NABLA_STEP_INPUT: nabla_rt_input_columns(columns + a[0], a[1], p[0], R); break;
    case NABLA_STEP_LOOP:
      for (unsigned k = 0; k < st->refCount; ++k)
        slots[k] = where(g, &g->refs[st->ref + k], params, R, ws, loss, grad);
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
  const nabla_program *g = &objective;
  const size_t n = end > begin ? end - begin : 0;
  const size_t chunk = n < g->chunkRows ? (n ? n : 1) : g->chunkRows;
  const int chunked = g->lossBatched && n > chunk;
  double *ws = (double *)malloc((g->fixed + chunk * g->perRow + (chunked ? 1 + P : 0) + 1) * sizeof(double));
  const double **cols = (const double **)malloc((I + 1) * sizeof(double *));
  double **slots = (double **)malloc((g->maxSlots + 1) * sizeof(double *));
  if (!ws || !cols || !slots) {
    free(ws);
    free((void *)cols);
    free(slots);
    *loss = NAN;
    for (size_t i = 0; i < P; ++i) grad[i] = NAN;
    return 1;
  }
  if (!g->lossBatched) {
    run(g, params, 1, columns, ws, loss, grad, slots);
  } else if (!chunked) {
    for (size_t k = 0; k < I; ++k) cols[k] = columns[k] + begin;
    if (n) {
      run(g, params, n, cols, ws, loss, grad, slots);
    } else {
      *loss = 0;
      for (size_t i = 0; i < P; ++i) grad[i] = 0;
    }
  } else {
    double *partLoss = ws + g->fixed + chunk * g->perRow, *partGrad = partLoss + 1;
    *loss = 0;
    for (size_t i = 0; i < P; ++i) grad[i] = 0;
    for (size_t at = begin; at < end; at += chunk) {
      const size_t rows = end - at < chunk ? end - at : chunk;
      for (size_t k = 0; k < I; ++k) cols[k] = columns[k] + at;
      run(g, params, rows, cols, ws, partLoss, partGrad, slots);
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
  if (sums(params, begin, end, columns, out, out + 1) || objective.lossBatched) return;
  /* The same value for every row: n times it. */
  const double n = (double)(end > begin ? end - begin : 0);
  for (size_t i = 0; i < objective.outputs; ++i) out[i] *= n;
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
  const double scale = objective.lossBatched ? 1.0 / (double)n : 1.0;
  value *= scale;
  if (grad)
    for (size_t i = 0; i < P; ++i) grad[i] *= scale;
  free(scratch);
  return value;
}

#ifdef NABLA_HAS_HVP
/* H v at one row: the Hessian-vector product's program over the params and v (packed, as its
 * tables read them) and the row's inputs. NaN throughout when its scratch cannot be had. */
NABLA_EXPORT void nabla_objective_hvp(const double *params, const double *inputs, const double *v,
                                      double *hv) {
  const nabla_program *g = &hvp;
  double *packed = (double *)malloc((2 * P + 1) * sizeof(double));
  double *ws = (double *)malloc((g->fixed + g->perRow + 1) * sizeof(double));
  const double **columns = (const double **)malloc((I + 1) * sizeof(double *));
  double **slots = (double **)malloc((g->maxSlots + 1) * sizeof(double *));
  if (packed && ws && columns && slots) {
    memcpy(packed, params, P * sizeof(double));
    memcpy(packed + P, v, P * sizeof(double));
    for (size_t k = 0; k < I; ++k) columns[k] = inputs + k;
    run(g, packed, 1, columns, ws, NULL, hv, slots);
  } else {
    for (size_t i = 0; i < P; ++i) hv[i] = NAN;
  }
  free(packed);
  free(ws);
  free((void *)columns);
  free(slots);
}
#endif
