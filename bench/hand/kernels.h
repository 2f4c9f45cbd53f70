// Hand-written C++ with hand-derived gradients: the limit nabla's generated code is measured
// against. kernels.cpp is compiled three times (see bench/CMakeLists.txt): with -O3 -march=native
// into namespace hand_o3, with -ffp-contract=off added (no fused multiply-adds: IEEE arithmetic as
// written) into hand_ieee, and with -ffast-math added into hand_fast.
#pragma once

#include <cstddef>

#define NABLA_HAND_KERNELS(ns)                                                                     \
  namespace ns {                                                                                   \
  /* The seed function f(x, y) = (x^2 + y)^2 * (y - x*y): returns f, writes df/dx, df/dy. */       \
  double seedGrad(const double *args, double *grad);                                              \
  /* The seed at n points, row-major (x, y pairs): values[r], grads[2r], grads[2r + 1]. */         \
  void seedGradPoints(std::size_t n, const double *points, double *values, double *grads);        \
  /* Rosenbrock in n variables, sum_i (1 - x_i)^2 + 100 (x_{i+1} - x_i^2)^2, and its gradient. */ \
  double rosenbrockGrad(const double *x, double *grad, std::size_t n);                            \
  /* The same with n = 100 known when it is compiled, as nabla knows it. */                       \
  double rosenbrockGrad100(const double *x, double *grad);                                        \
  /* Logistic regression on 16 features: sums over rows [begin, end) of softplus(z) - y z,       \
     z = w.x + b, and of its gradient (w then b), for the columns x[j] and the label column y. */ \
  void logregSums(const double *w, double b, const double *const *x, const double *y,            \
                  std::size_t begin, std::size_t end, double *sums);                              \
  /* An MLP 4-16-1 with tanh: (W2 . tanh(W1 x + b1) + b2 - y)^2 summed over rows, and its        \
     gradient in the order W1 (row-major), b1, W2, b2 (97 entries). */                            \
  void mlpSums(const double *params, const double *const *x, const double *y, std::size_t begin, \
               std::size_t end, double *sums);                                                    \
  }

NABLA_HAND_KERNELS(hand_o3)
NABLA_HAND_KERNELS(hand_ieee)
NABLA_HAND_KERNELS(hand_fast)
