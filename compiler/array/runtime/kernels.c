/* The array level's kernels: see kernels.h. C99; BLAS through its C interface (CBLAS), declared
 * here so that no BLAS header is needed where a library is compiled. */
#include "kernels.h"

#include <math.h>
#include <string.h>

/* CBLAS's constants (the same in every CBLAS). */
enum { NABLA_RT_ROW_MAJOR = 101, NABLA_RT_NO_TRANS = 111, NABLA_RT_TRANS = 112 };
#ifdef NABLA_RT_BLAS_POINTER
/* In nabla itself, BLAS is loaded when the array level first runs (array/exec.cpp), so that no
   other command pays for loading it: its cblas_dgemm, through this pointer. */
extern nabla_rt_dgemm_fn *nabla_rt_dgemm;
#define cblas_dgemm nabla_rt_dgemm
#else
void cblas_dgemm(int order, int transA, int transB, int m, int n, int k, double alpha,
                 const double *a, int lda, const double *b, int ldb, double beta, double *c,
                 int ldc);
#endif

NABLA_RT_API double nabla_rt_max(double a, double b) {
  return isnan(a) || isnan(b) ? a + b : (a >= b ? a : b);
}

NABLA_RT_API double nabla_rt_min(double a, double b) {
  return isnan(a) || isnan(b) ? a + b : (a <= b ? a : b);
}

static double nabla_rt_largest(const double *v, size_t S) {
  double m = v[0];
  for (size_t i = 1; i < S; ++i) m = nabla_rt_max(m, v[i]);
  return m;
}

/* The sum of exp(v_i - m) over the elements but the first largest one (index *top):
 * logsumexp(v) = m + log1p(rest), softmax(v)_i = exp(v_i - m) / (1 + rest), accurate where the
 * other elements are far below the largest (logsumexp([0, -700]) = 9.9e-305, not 0). */
static double nabla_rt_rest(const double *v, size_t S, double m, size_t *top) {
  size_t t = 0;
  while (t + 1 < S && !(v[t] == m)) ++t;
  *top = t;
  double s = 0;
  for (size_t i = 0; i < S; ++i)
    if (i != t) s += exp(v[i] - m);
  return s;
}

NABLA_RT_API double nabla_rt_sum(const double *v, size_t S) {
  double block = -0.0, group = -0.0, total = -0.0;
  for (size_t e = 0; e < S; ++e) {
    block += v[e];
    if ((e & (NABLA_RT_SUM_BLOCK - 1)) == NABLA_RT_SUM_BLOCK - 1) {
      group += block;
      block = -0.0;
      if ((e & (NABLA_RT_SUM_GROUP - 1)) == NABLA_RT_SUM_GROUP - 1) {
        total += group;
        group = -0.0;
      }
    }
  }
  return (total + group) + block;
}

NABLA_RT_API void nabla_rt_reduce(int kind, const double *in, size_t S, size_t rs, double *out,
                                  size_t R) {
  for (size_t r = 0; r < R; ++r) {
    const double *v = in + r * rs;
    switch (kind) {
    case NABLA_RT_SUM: out[r] = nabla_rt_sum(v, S); break;
    case NABLA_RT_MAX:
    case NABLA_RT_MIN: {
      double s = v[0];
      for (size_t i = 1; i < S; ++i) s = kind == NABLA_RT_MAX ? nabla_rt_max(s, v[i]) : nabla_rt_min(s, v[i]);
      out[r] = s;
      break;
    }
    case NABLA_RT_NORM: {
      /* The largest magnitude scales the squares: no overflow or underflow, as hypot. */
      double m = 0;
      for (size_t i = 0; i < S; ++i) m = nabla_rt_max(m, fabs(v[i]));
      if (m == 0 || !isfinite(m)) {
        out[r] = m;
        break;
      }
      double s = 0;
      for (size_t i = 0; i < S; ++i) s += (v[i] / m) * (v[i] / m);
      out[r] = m * sqrt(s);
      break;
    }
    default: { /* NABLA_RT_LOGSUMEXP */
      const double m = nabla_rt_largest(v, S);
      if (!isfinite(m)) { /* -inf: all -inf; inf, NaN: as they are */
        double s = 0;
        for (size_t i = 0; i < S; ++i) s += exp(v[i]);
        out[r] = isnan(m) ? m : m > 0 ? m : log(s);
        break;
      }
      size_t top;
      out[r] = m + log1p(nabla_rt_rest(v, S, m, &top));
      break;
    }
    }
  }
}

NABLA_RT_API void nabla_rt_softmax(const double *in, size_t S, size_t rs, double *out,
                                   size_t begin, size_t end) {
  for (size_t r = begin; r < end; ++r) {
    const double *v = in + r * rs;
    double *o = out + r * S;
    const double m = nabla_rt_largest(v, S);
    size_t top;
    const double total = 1 + nabla_rt_rest(v, S, m, &top);
    for (size_t i = 0; i < S; ++i) o[i] = (i == top ? 1.0 : exp(v[i] - m)) / total;
  }
}

NABLA_RT_API void nabla_rt_softmax_adjoint(const double *y0, size_t ys, const double *g0,
                                           size_t gs, int gScalar, double *out, size_t S,
                                           size_t R) {
  /* x_i = y_i (g_i - sum_j g_j y_j), written around the largest y_k, which is at least 1/S:
   * g_i - sum_j g_j y_j = (g_i - g_k) y_k + g_i S' - T', with S' and T' the sums of y_j and
   * g_j y_j over j != k, so that no difference of nearly equal terms loses a small result. */
  for (size_t r = 0; r < R; ++r) {
    const double *y = y0 + r * ys, *g = g0 + r * gs;
#define NABLA_RT_G(i) (gScalar ? g[0] : g[i])
    size_t k = 0;
    for (size_t i = 1; i < S; ++i)
      if (y[i] > y[k]) k = i;
    double sOther = 0, tOther = 0;
    for (size_t j = 0; j < S; ++j) {
      if (j == k) continue;
      sOther += y[j];
      tOther += NABLA_RT_G(j) * y[j];
    }
    for (size_t i = 0; i < S; ++i)
      out[r * S + i] = y[i] * ((NABLA_RT_G(i) - NABLA_RT_G(k)) * y[k] + NABLA_RT_G(i) * sOther - tOther);
#undef NABLA_RT_G
  }
}

NABLA_RT_API void nabla_rt_extreme(int mask, int max, const double *in, size_t S, size_t rs,
                                   double *out, size_t R) {
  if (mask) memset(out, 0, R * S * sizeof(double));
  for (size_t r = 0; r < R; ++r) {
    const double *v = in + r * rs;
    /* The first element equal to the largest (least) one, as the scalar level folds evalOp's
     * max (min); S when none is (a NaN among them). */
    double best = v[0];
    for (size_t i = 1; i < S; ++i) best = max ? nabla_rt_max(best, v[i]) : nabla_rt_min(best, v[i]);
    size_t i = 0;
    while (i < S && !(v[i] == best)) ++i;
    if (mask && i < S) out[r * S + i] = 1.0;
    if (!mask) out[r] = i < S ? (double)i : nan("");
  }
}

NABLA_RT_API void nabla_rt_matmul(int m, int k, int cols, const double *a, int aTrans,
                                  int aBatched, const double *b, int bTrans, int bBatched,
                                  double *out, int R) {
  const int lda = aTrans ? m : k, ldb = bTrans ? k : cols;
  const int ta = aTrans ? NABLA_RT_TRANS : NABLA_RT_NO_TRANS;
  const int tb = bTrans ? NABLA_RT_TRANS : NABLA_RT_NO_TRANS;
  if (!aBatched && !bBatched) {
    cblas_dgemm(NABLA_RT_ROW_MAJOR, ta, tb, m, cols, k, 1.0, a, lda, b, ldb, 0.0, out, cols);
  } else if (!aBatched && cols == 1 && !bTrans) {
    /* y_r = A x_r for every row: Y = X Aᵀ. */
    cblas_dgemm(NABLA_RT_ROW_MAJOR, NABLA_RT_NO_TRANS, aTrans ? NABLA_RT_NO_TRANS : NABLA_RT_TRANS,
                R, m, k, 1.0, b, k, a, lda, 0.0, out, m);
  } else if (aBatched && !bBatched && !aTrans) {
    /* The rows' A_r stacked: (R m) x k times k x cols. */
    cblas_dgemm(NABLA_RT_ROW_MAJOR, NABLA_RT_NO_TRANS, tb, R * m, cols, k, 1.0, a, k, b, ldb, 0.0,
                out, cols);
  } else {
    const size_t sa = aBatched ? (size_t)m * k : 0, sb = bBatched ? (size_t)k * cols : 0;
    for (int r = 0; r < R; ++r)
      cblas_dgemm(NABLA_RT_ROW_MAJOR, ta, tb, m, cols, k, 1.0, a + r * sa, lda, b + r * sb, ldb,
                  0.0, out + (size_t)r * m * cols, cols);
  }
}

NABLA_RT_API void nabla_rt_outer_sum(const double *u, int m, const double *v, int k, int R,
                                     double *out) {
  cblas_dgemm(NABLA_RT_ROW_MAJOR, NABLA_RT_TRANS, NABLA_RT_NO_TRANS, m, k, R, 1.0, u, m, v, k, 0.0,
              out, k);
}

NABLA_RT_API void nabla_rt_outer(const double *u, size_t m, size_t su, const double *v, size_t k,
                                 size_t sv, double *out, size_t R) {
  for (size_t r = 0; r < R; ++r)
    for (size_t i = 0; i < m; ++i)
      for (size_t j = 0; j < k; ++j) out[(r * m + i) * k + j] = u[r * su + i] * v[r * sv + j];
}

NABLA_RT_API void nabla_rt_transpose(const double *in, size_t rows, size_t cols, size_t rs,
                                     double *out, size_t R) {
  const size_t S = rows * cols;
  for (size_t r = 0; r < R; ++r)
    for (size_t i = 0; i < rows; ++i)
      for (size_t j = 0; j < cols; ++j) out[r * S + j * rows + i] = in[r * rs + i * cols + j];
}

NABLA_RT_API void nabla_rt_box(int embed, const double *in0, size_t inStride, double *out,
                               size_t bigSize, size_t small, size_t run, const size_t *starts,
                               size_t runs, size_t R) {
  if (embed) memset(out, 0, R * bigSize * sizeof(double));
  for (size_t r = 0; r < R; ++r) {
    const double *in = in0 + r * inStride;
    if (run == 1) {  /* a column: single elements, without a call of memcpy for each */
      double *o = out + r * (embed ? bigSize : small);
      for (size_t e = 0; e < runs; ++e) {
        if (embed)
          o[starts[e]] = in[e];
        else
          o[e] = in[starts[e]];
      }
      continue;
    }
    for (size_t e = 0; e < runs; ++e) {
      if (embed)
        memcpy(out + r * bigSize + starts[e], in + e * run, run * sizeof(double));
      else
        memcpy(out + r * small + e * run, in + starts[e], run * sizeof(double));
    }
  }
}

NABLA_RT_API void nabla_rt_onehot(const double *k, size_t ks, size_t count, double *out,
                                  size_t R) {
  for (size_t r = 0; r < R; ++r)
    for (size_t j = 0; j < count; ++j) out[r * count + j] = k[r * ks] == (double)j ? 1.0 : 0.0;
}

NABLA_RT_API void nabla_rt_stack_part(const double *in, size_t rs, size_t part, size_t p,
                                      double *out, size_t S, size_t R) {
  for (size_t r = 0; r < R; ++r) memcpy(out + r * S + p * part, in + r * rs, part * sizeof(double));
}

NABLA_RT_API void nabla_rt_broadcast(const double *in, size_t rs, double *out, size_t S,
                                     size_t R) {
  for (size_t r = 0; r < R; ++r)
    for (size_t i = 0; i < S; ++i) out[r * S + i] = in[r * rs];
}

NABLA_RT_API void nabla_rt_batch_sum(const double *in, int batched, double *out, size_t S,
                                     size_t R) {
  if (!batched) {
    for (size_t i = 0; i < S; ++i) out[i] = in[i] * (double)R;
    return;
  }
  for (size_t i = 0; i < S; ++i) out[i] = 0.0;
  for (size_t r = 0; r < R; ++r)
    for (size_t i = 0; i < S; ++i) out[i] += in[r * S + i];
}

NABLA_RT_API void nabla_rt_input_columns(const double *const *columns, size_t S, double *out,
                                         size_t R) {
  for (size_t j = 0; j < S; ++j) {
    const double *col = columns[j];
    for (size_t r = 0; r < R; ++r) out[r * S + j] = col[r];
  }
}
