/* The C API's objective from C: a weighted least-squares model with a vector, a scalar and a
   matrix param, checked against the same loss written out here by hand, its gradient against
   central differences, the batch mean against the mean of the rows, the error paths, and a few
   steps of gradient descent that lower the loss. Prints `ok` and exits 0, or names the failed
   check and exits 1. Built and run by tests/api/test_hosts.cpp. */
#include <nabla/nabla.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

static int failures = 0;

static void check(int ok, const char *what) {
  if (!ok) {
    printf("failed: %s (%s)\n", what, nabla_last_error());
    ++failures;
  }
}

static const char *const kModel =
    "param w[2]\n"
    "param b = 0.5\n"
    "param M[2][2] = [[1, 0], [0, 1]]\n"
    "input x[2]\n"
    "input y\n"
    "minimize (dot(w, M @ x) + b - y)^2 + 0.1*sum(w^2)\n";

/* The same loss by hand: r = w . (M x) + b - y. */
static double byHand(const double *p, const double *in) {
  const double *w = p, b = p[2], *M = p + 3;
  const double mx0 = M[0] * in[0] + M[1] * in[1], mx1 = M[2] * in[0] + M[3] * in[1];
  const double r = w[0] * mx0 + w[1] * mx1 + b - in[2];
  return r * r + 0.1 * (w[0] * w[0] + w[1] * w[1]);
}

int main(void) {
  nabla_module *m = NULL;
  nabla_objective *L = NULL;
  if (nabla_compile(kModel, NULL, &m) != NABLA_OK) {
    printf("compile failed: %s\n", nabla_last_error());
    return 1;
  }
  check(nabla_module_has_objective(m) == 1, "the module has an objective");
  check(nabla_module_objective(m, &L) == NABLA_OK && L != NULL, "the objective handle");
  if (!L) return 1;
  nabla_module_free(m); /* the handle keeps its code alive */
  check(nabla_objective_param_count(L) == 7, "7 scalar params");
  check(nabla_objective_input_count(L) == 3, "3 scalar inputs");
  check(strcmp(nabla_objective_param_name(L, 0), "w[0]") == 0, "param 0 is w[0]");
  check(strcmp(nabla_objective_param_name(L, 6), "M[1][1]") == 0, "param 6 is M[1][1]");
  check(nabla_objective_param_name(L, 7) == NULL, "no param 7");
  check(strcmp(nabla_objective_input_name(L, 2), "y") == 0, "input 2 is y");
  check(nabla_objective_maximize(L) == 0, "minimize");
  check(nabla_objective_has_hessian(L) == 1, "a Hessian by default");

  double params[7] = {0.3, -0.7, 0.25, 1.1, 0.2, -0.4, 0.9};
  const double rows[4][3] = {{1, 2, 0.5}, {-1, 0.5, 2}, {0.25, -3, 1}, {2, 2, -1}};
  double value, grad[7], hess[49], probe[7];
  /* One row against the hand-written loss, and central differences of the gradient. */
  for (int r = 0; r < 4; ++r) {
    check(nabla_objective_value_grad(L, params, 7, rows[r], 3, &value, grad) == NABLA_OK, "value_grad");
    check(fabs(value - byHand(params, rows[r])) <= 1e-12 * (1 + fabs(value)), "the row's value");
    for (int i = 0; i < 7; ++i) {
      memcpy(probe, params, sizeof probe);
      const double h = 1e-6;
      probe[i] = params[i] + h;
      const double up = byHand(probe, rows[r]);
      probe[i] = params[i] - h;
      const double fd = (up - byHand(probe, rows[r])) / (2 * h);
      check(fabs(grad[i] - fd) <= 1e-6 * (1 + fabs(fd)), "a gradient entry against differences");
    }
    double alone;
    check(nabla_objective_value_grad(L, params, 7, rows[r], 3, &alone, NULL) == NABLA_OK &&
              alone == value, "the value alone");
  }
  check(nabla_objective_hessian(L, params, 7, rows[0], 3, hess) == NABLA_OK, "the Hessian");
  /* d2L/db2 = 2 (the residual is linear in b). */
  check(fabs(hess[2 * 7 + 2] - 2) <= 1e-12, "d2L/db2 = 2");

  /* The batch mean against the mean of the rows. */
  double x0[4], x1[4], y[4], mean = 0, meanGrad[7] = {0}, batchGrad[7];
  for (int r = 0; r < 4; ++r) {
    x0[r] = rows[r][0];
    x1[r] = rows[r][1];
    y[r] = rows[r][2];
    nabla_objective_value_grad(L, params, 7, rows[r], 3, &value, grad);
    mean += value / 4;
    for (int i = 0; i < 7; ++i) meanGrad[i] += grad[i] / 4;
  }
  const double *columns[3] = {x0, x1, y};
  check(nabla_objective_batch(L, params, 7, 4, columns, 3, &value, batchGrad) == NABLA_OK, "batch");
  check(fabs(value - mean) <= 1e-12 * (1 + fabs(mean)), "the batch mean");
  for (int i = 0; i < 7; ++i)
    check(fabs(batchGrad[i] - meanGrad[i]) <= 1e-12 * (1 + fabs(meanGrad[i])), "the batch gradient");

  /* The sums over rows [1, 4) against the rows one by one. */
  double sums[8], want[8] = {0};
  check(nabla_objective_batch_sums(L, params, 7, 1, 4, columns, 3, sums) == NABLA_OK, "batch sums");
  for (int r = 1; r < 4; ++r) {
    nabla_objective_value_grad(L, params, 7, rows[r], 3, &value, grad);
    want[0] += value;
    for (int i = 0; i < 7; ++i) want[1 + i] += grad[i];
  }
  for (int i = 0; i < 8; ++i)
    check(fabs(sums[i] - want[i]) <= 1e-12 * (1 + fabs(want[i])), "a batch sum");
  check(nabla_objective_batch_sums(L, params, 7, 3, 1, columns, 3, sums) == NABLA_ERROR_ARGUMENT,
        "reversed rows refused");
  check(nabla_objective_batch_sums(L, params, 7, 0, 4, columns, 3, NULL) == NABLA_ERROR_ARGUMENT,
        "NULL sums refused");

  /* Errors: the wrong counts, NULL pointers, an empty batch; nothing crashes. */
  check(nabla_objective_value_grad(L, params, 6, rows[0], 3, &value, grad) == NABLA_ERROR_ARGUMENT,
        "6 params refused");
  check(strstr(nabla_last_error(), "param") != NULL, "the message names the params");
  check(nabla_objective_value_grad(L, params, 7, rows[0], 2, &value, grad) == NABLA_ERROR_ARGUMENT,
        "2 inputs refused");
  check(nabla_objective_value_grad(L, NULL, 7, rows[0], 3, &value, grad) == NABLA_ERROR_ARGUMENT,
        "NULL params refused");
  check(nabla_objective_batch(L, params, 7, 0, columns, 3, &value, batchGrad) == NABLA_ERROR_ARGUMENT,
        "an empty batch refused");
  check(nabla_objective_batch(L, params, 7, 4, columns, 2, &value, batchGrad) == NABLA_ERROR_ARGUMENT,
        "2 columns refused");
  check(nabla_objective_batch(NULL, params, 7, 4, columns, 3, &value, batchGrad) == NABLA_ERROR_ARGUMENT,
        "a NULL objective refused");
  nabla_objective *none = L;
  check(nabla_module_objective(NULL, &none) == NABLA_ERROR_ARGUMENT && none == NULL, "a NULL module");

  /* Training: gradient descent on the batch lowers the loss. */
  double first = 0, last = 0;
  for (int step = 0; step < 200; ++step) {
    nabla_objective_batch(L, params, 7, 4, columns, 3, &value, batchGrad);
    if (step == 0) first = value;
    last = value;
    for (int i = 0; i < 7; ++i) params[i] -= 0.02 * batchGrad[i];
  }
  check(last < 0.5 * first, "gradient descent halves the loss");
  nabla_objective_free(L);

  /* A large model compiled without Hessians runs at the array level (BLAS): the same calls. */
  {
    nabla_options options = nabla_options_default();
    options.hessian = 0;
    nabla_module *big = NULL;
    nabla_objective *A = NULL;
    check(nabla_compile("param W[20][30]\nparam v[20]\ninput x[30]\ninput y\n"
                        "minimize (dot(v, tanh(W @ x)) - y)^2\n", &options, &big) == NABLA_OK,
          "the large model compiles");
    check(nabla_module_objective(big, &A) == NABLA_OK, "its objective");
    enum { BP = 620, BI = 31, BN = 5 };
    static double bp[BP], data[BI][BN], bg[BP], bs[BP + 1], bwant[BP + 1], row[BI];
    const double *bcols[BI];
    for (int i = 0; i < BP; ++i) bp[i] = 0.01 * ((i * 37) % 19 - 9);
    for (int k = 0; k < BI; ++k) {
      for (int r = 0; r < BN; ++r) data[k][r] = 0.1 * ((k * 7 + r * 3) % 11 - 5);
      bcols[k] = data[k];
    }
    check(nabla_objective_param_count(A) == BP, "620 params");
    check(nabla_objective_batch_sums(A, bp, BP, 1, BN, bcols, BI, bs) == NABLA_OK, "its sums");
    for (int r = 1; r < BN; ++r) {
      for (int k = 0; k < BI; ++k) row[k] = data[k][r];
      check(nabla_objective_value_grad(A, bp, BP, row, BI, &value, bg) == NABLA_OK, "a row");
      bwant[0] += value;
      for (int i = 0; i < BP; ++i) bwant[1 + i] += bg[i];
    }
    int close = 1;
    for (int i = 0; i <= BP; ++i) close &= fabs(bs[i] - bwant[i]) <= 1e-12 * (1 + fabs(bwant[i]));
    check(close, "the array level's sums against its rows");
    nabla_objective_free(A);
    nabla_module_free(big);
  }

  /* A program without an objective. */
  nabla_compile("f(x) = x^2", NULL, &m);
  check(nabla_module_has_objective(m) == 0, "no objective");
  check(nabla_module_objective(m, &L) == NABLA_ERROR_NOT_FOUND && L == NULL, "NOT_FOUND");
  nabla_module_free(m);
  if (failures) return 1;
  printf("ok\n");
  return 0;
}
